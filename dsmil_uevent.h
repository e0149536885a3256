/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: uevents on the platform device (dsmil_uevent.c).
 *
 * The state machine and the SMI engine describe what happened in a struct
 * dsmil_event and hand it to a callback that dsmil_main.c wires to
 * dsmil_uevent_post(); neither calls this part directly, so the call graph
 * keeps its direction.  Documentation/dsmil-uevents.rst lists the events
 * and their keys.
 */
#ifndef _DSMIL_UEVENT_H
#define _DSMIL_UEVENT_H

#include <linux/atomic.h>
#include <linux/spinlock_types.h>
#include <linux/sysfs.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct device;

/* DSMIL_EVENT=... of a uevent. */
enum dsmil_event_kind {
	DSMIL_EVENT_STATE,		/* a device changed state */
	DSMIL_EVENT_ESTOP,		/* an emergency stop */
	DSMIL_EVENT_SMI_FAULTED,	/* the SMI backend became FAULTED */
	DSMIL_EVENT_SMI_RECOVERED,	/* ... and was recovered */
	DSMIL_EVENT_KINDS,
};

/* struct dsmil_event.device when the event is about no device. */
#define DSMIL_EVENT_NO_DEVICE	0xffU

/**
 * struct dsmil_event - what happened, as its producer saw it.
 * @kind:     enum dsmil_event_kind.
 * @device:   state, smi-faulted: global device id, or DSMIL_EVENT_NO_DEVICE.
 * @from:     state: the state before.
 * @to:       state: the state after.
 * @reason:   state: enum dsmil_reason of the change.
 * @source:   state: DSMIL_SRC_* of the change.
 * @group:    estop: the group asked for.
 * @groups:   estop: bit g set for every group it locked.
 * @token:    smi-faulted: the token of the request that made it FAULTED.
 * @locked:   estop: devices it moved to LOCKED.
 * @in_doubt: estop: writes it gave up waiting for.
 * @ms:       smi-recovered: how long the backend was FAULTED.
 * @why:      smi-faulted: the word of the fault (a string with static
 *            storage: "hang", "timeout", "abort-failed"...).
 */
struct dsmil_event {
	u8 kind;
	u8 device;
	u8 from;
	u8 to;
	u8 reason;
	u8 source;
	u8 group;
	u8 groups;
	u16 token;
	u32 locked;
	u32 in_doubt;
	u64 ms;
	const char *why;
};

/*
 * The budget, per kind of event: DSMIL_UEVENT_STATE_BURST state events,
 * DSMIL_UEVENT_ESTOP_BURST emergency stops and DSMIL_UEVENT_SMI_BURST SMI
 * faults and recoveries per DSMIL_UEVENT_INTERVAL_MS, each window starting
 * with its first event.  Separate, so that a flood of state changes, or a
 * backend faulting and recovering in a loop, cannot crowd out an emergency
 * stop.  What is over budget is dropped and counted; the first drop of an
 * interval sends one DSMIL_EVENT=dropped.
 */
#define DSMIL_UEVENT_INTERVAL_MS	1000
#define DSMIL_UEVENT_STATE_BURST	16
#define DSMIL_UEVENT_ESTOP_BURST	8
#define DSMIL_UEVENT_SMI_BURST		8
/* Events waiting for the worker: more than one interval's budgets. */
#define DSMIL_UEVENT_QUEUE		48

/* The budgets: state events, emergency stops, SMI faults and recoveries. */
enum {
	DSMIL_UEVENT_B_STATE,
	DSMIL_UEVENT_B_ESTOP,
	DSMIL_UEVENT_B_SMI,
	DSMIL_UEVENT_BUDGETS
};

/**
 * struct dsmil_uevent_budget - one budget's current window.
 * @start: jiffies at the window's first event.
 * @used:  events admitted in the window.
 */
struct dsmil_uevent_budget {
	unsigned long start;
	unsigned int used;
};

/**
 * struct dsmil_uevents - the uevent sender of one instance.
 * @dev:       the platform device the events are sent on; NULL (a KUnit
 *             instance): nothing is queued or sent.
 * @lock:      protects @q, @head, @len, @budget, @drop_next,
 *             @drop_pending and @dead.  A leaf, taken with interrupts off:
 *             producers post from under their own locks (the state
 *             machine's mutex and seqcount write section).
 * @q:         events waiting for @work, oldest at @head.
 * @head:      index of the oldest queued event.
 * @len:       events queued.
 * @budget:    one window per budget (DSMIL_UEVENT_B_*).
 * @drop_next: jiffies before which no further "dropped" event is sent.
 * @drop_pending: @work is to send a "dropped" event.
 * @dead:      set by dsmil_uevent_exit(): nothing more is queued.
 * @work:      sends the queued events (kobject_uevent_env() may sleep).
 * @sent:      events sent, by kind.
 * @dropped:   events dropped (over budget, queue full, send failed).
 */
struct dsmil_uevents {
	struct device *dev;
	spinlock_t lock;		/* queue, budgets, drop signal */
	struct dsmil_event q[DSMIL_UEVENT_QUEUE];
	unsigned int head;
	unsigned int len;
	struct dsmil_uevent_budget budget[DSMIL_UEVENT_BUDGETS];
	unsigned long drop_next;
	bool drop_pending;
	bool dead;
	struct work_struct work;
	atomic64_t sent[DSMIL_EVENT_KINDS];
	atomic64_t dropped;
};

void dsmil_uevent_init(struct dsmil_uevents *ue, struct device *dev);
void dsmil_uevent_exit(struct dsmil_uevents *ue);
void dsmil_uevent_post(void *ctx, const struct dsmil_event *ev);

/* uevents_sent and uevents_dropped of /sys/class/misc/dsmil. */
extern const struct attribute_group dsmil_uevent_attr_group;

#endif /* _DSMIL_UEVENT_H */
