// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: uevents on the platform device.
 *
 * A KOBJ_CHANGE uevent on /sys/devices/platform/dsmil for each device state
 * change, emergency stop, SMI FAULTED and recovery, so that udev rules can
 * act on them (tools/udev/60-dsmil.rules).  Producers post a struct
 * dsmil_event through the callback dsmil_main.c wires in; they do so where
 * it happens, often under their own locks (a state change is committed
 * under the state machine's mutex inside a seqcount write section, where
 * nothing may sleep), while kobject_uevent_env() allocates with GFP_KERNEL
 * and sends on netlink.  So posting only queues the event (a bounded ring
 * under a spinlock) and a work item sends it, in process context with no
 * lock of the driver held.
 *
 * A flood cannot storm udev: each kind of event has a budget per interval
 * (dsmil_uevent.h); what is over it, or finds the queue full, is dropped
 * and counted, and the first drop of an interval is itself signalled by
 * one DSMIL_EVENT=dropped event.  Documentation/dsmil-uevents.rst is the
 * contract for the keys.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/miscdevice.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dsmil_priv.h"
#include "dsmil_names.h"

static const char *const dsmil_uevent_kinds[DSMIL_EVENT_KINDS] = {
	[DSMIL_EVENT_STATE]		= "state",
	[DSMIL_EVENT_ESTOP]		= "estop",
	[DSMIL_EVENT_SMI_FAULTED]	= "smi-faulted",
	[DSMIL_EVENT_SMI_RECOVERED]	= "smi-recovered",
};

static const char *const dsmil_uevent_states[DSMIL_DEV_NUM_STATES] =
	DSMIL_DEV_STATE_NAMES;
static const char *const dsmil_uevent_reasons[DSMIL_REASON_COUNT] =
	DSMIL_REASON_NAMES;
static const char *const dsmil_uevent_sources[] = DSMIL_SOURCE_NAMES;

#define DSMIL_UEVENT_WORD(tbl, v) \
	((v) < ARRAY_SIZE(tbl) && (tbl)[v] ? (tbl)[v] : "unknown")

/* Room for the keys of any event, each "KEY=value". */
#define DSMIL_UEVENT_KEYS	10
#define DSMIL_UEVENT_KEY_LEN	48

/*
 * State events have one budget, emergency stops their own (the event the
 * example rule acts on: a backend faulting and recovering in a loop must
 * not use it up), SMI faults and recoveries the third.
 */
static unsigned int dsmil_uevent_budget_of(const struct dsmil_event *ev)
{
	switch (ev->kind) {
	case DSMIL_EVENT_STATE:
		return DSMIL_UEVENT_B_STATE;
	case DSMIL_EVENT_ESTOP:
		return DSMIL_UEVENT_B_ESTOP;
	default:
		return DSMIL_UEVENT_B_SMI;
	}
}

static const unsigned int dsmil_uevent_bursts[DSMIL_UEVENT_BUDGETS] = {
	[DSMIL_UEVENT_B_STATE]	= DSMIL_UEVENT_STATE_BURST,
	[DSMIL_UEVENT_B_ESTOP]	= DSMIL_UEVENT_ESTOP_BURST,
	[DSMIL_UEVENT_B_SMI]	= DSMIL_UEVENT_SMI_BURST,
};

/*
 * Does the event fit its budget?  A window opens at the first event after
 * the last one closed and admits a burst.  Called with @ue->lock held.
 */
static bool dsmil_uevent_admit(struct dsmil_uevents *ue,
			       const struct dsmil_event *ev)
{
	unsigned int b = dsmil_uevent_budget_of(ev);
	struct dsmil_uevent_budget *bd = &ue->budget[b];
	unsigned int burst = dsmil_uevent_bursts[b];

	lockdep_assert_held(&ue->lock);
	if (!bd->used || time_after_eq(jiffies, bd->start +
				msecs_to_jiffies(DSMIL_UEVENT_INTERVAL_MS))) {
		bd->start = jiffies;
		bd->used = 0;
	}
	if (bd->used >= burst)
		return false;
	bd->used++;
	return true;
}

/*
 * Count a dropped event; the first drop of an interval asks the worker for
 * a "dropped" event.  Called with @ue->lock held; returns true if the
 * worker must run.
 */
static bool dsmil_uevent_drop(struct dsmil_uevents *ue)
{
	lockdep_assert_held(&ue->lock);
	atomic64_inc(&ue->dropped);
	if (ue->drop_pending || time_before(jiffies, ue->drop_next))
		return false;
	ue->drop_pending = true;
	ue->drop_next = jiffies + msecs_to_jiffies(DSMIL_UEVENT_INTERVAL_MS);
	return true;
}

/**
 * dsmil_uevent_post - queue an event for its uevent.
 * @ctx: the instance's struct dsmil_uevents.
 * @ev:  what happened; copied.
 *
 * Never sleeps and takes only a leaf spinlock: callable under the state
 * machine's locks and from any context.  An instance without a device
 * (KUnit) sends nothing.
 */
void dsmil_uevent_post(void *ctx, const struct dsmil_event *ev)
{
	struct dsmil_uevents *ue = ctx;
	unsigned long flags;
	bool kick = false;

	if (!ue->dev || ev->kind >= DSMIL_EVENT_KINDS)
		return;

	spin_lock_irqsave(&ue->lock, flags);
	if (ue->dead) {
		spin_unlock_irqrestore(&ue->lock, flags);
		return;
	}
	if (!dsmil_uevent_admit(ue, ev) || ue->len == DSMIL_UEVENT_QUEUE) {
		kick = dsmil_uevent_drop(ue);
	} else {
		ue->q[(ue->head + ue->len) % DSMIL_UEVENT_QUEUE] = *ev;
		ue->len++;
		kick = true;
	}
	/*
	 * Scheduled under the lock, where @dead was seen false: once
	 * dsmil_uevent_exit() has set it, no post can schedule the work
	 * after its flush_work() (schedule_work() does not sleep).
	 */
	if (kick)
		schedule_work(&ue->work);
	spin_unlock_irqrestore(&ue->lock, flags);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_uevent_post);

/* Append "KEY=value" to @keys; the values are short (ids, words). */
static void __printf(4, 5) dsmil_uevent_key(char (*keys)[DSMIL_UEVENT_KEY_LEN],
					    char **envp, unsigned int *n,
					    const char *fmt, ...)
{
	va_list ap;

	if (WARN_ON_ONCE(*n >= DSMIL_UEVENT_KEYS))
		return;
	va_start(ap, fmt);
	vsnprintf(keys[*n], DSMIL_UEVENT_KEY_LEN, fmt, ap);
	va_end(ap);
	envp[*n] = keys[*n];
	(*n)++;
}

/* DEVICE=, DEVICE_NAME=, GROUP= of device @id. */
static void dsmil_uevent_device_keys(char (*keys)[DSMIL_UEVENT_KEY_LEN],
				     char **envp, unsigned int *n, u8 id)
{
	if (id >= DSMIL_NUM_DEVICES) {
		dsmil_uevent_key(keys, envp, n, "DEVICE=none");
		return;
	}
	dsmil_uevent_key(keys, envp, n, "DEVICE=%u", id);
	dsmil_uevent_key(keys, envp, n, "DEVICE_NAME=DSMIL%uD%X",
			 id / DSMIL_DEVS_PER_GROUP, id % DSMIL_DEVS_PER_GROUP);
	dsmil_uevent_key(keys, envp, n, "GROUP=%u", id / DSMIL_DEVS_PER_GROUP);
}

/* Build the keys of @ev (or of a "dropped" event if NULL) and send it. */
static int dsmil_uevent_send(struct dsmil_uevents *ue,
			     const struct dsmil_event *ev)
{
	char keys[DSMIL_UEVENT_KEYS][DSMIL_UEVENT_KEY_LEN];
	char *envp[DSMIL_UEVENT_KEYS + 1];
	unsigned int n = 0, g, len;
	char list[2 * DSMIL_NUM_GROUPS];

	if (!ev) {
		dsmil_uevent_key(keys, envp, &n, "DSMIL_EVENT=dropped");
		dsmil_uevent_key(keys, envp, &n, "DROPPED=%llu",
				 (u64)atomic64_read(&ue->dropped));
		goto send;
	}

	dsmil_uevent_key(keys, envp, &n, "DSMIL_EVENT=%s",
			 dsmil_uevent_kinds[ev->kind]);
	switch (ev->kind) {
	case DSMIL_EVENT_STATE:
		dsmil_uevent_device_keys(keys, envp, &n, ev->device);
		dsmil_uevent_key(keys, envp, &n, "FROM=%s",
				 DSMIL_UEVENT_WORD(dsmil_uevent_states, ev->from));
		dsmil_uevent_key(keys, envp, &n, "TO=%s",
				 DSMIL_UEVENT_WORD(dsmil_uevent_states, ev->to));
		dsmil_uevent_key(keys, envp, &n, "REASON=%s",
				 DSMIL_UEVENT_WORD(dsmil_uevent_reasons, ev->reason));
		dsmil_uevent_key(keys, envp, &n, "SOURCE=%s",
				 DSMIL_UEVENT_WORD(dsmil_uevent_sources, ev->source));
		break;
	case DSMIL_EVENT_ESTOP:
		for (g = 0, len = 0, list[0] = '\0'; g < DSMIL_NUM_GROUPS; g++)
			if (ev->groups & BIT(g))
				len += scnprintf(list + len, sizeof(list) - len,
						 "%s%u", len ? "," : "", g);
		dsmil_uevent_key(keys, envp, &n, "GROUP=%u", ev->group);
		dsmil_uevent_key(keys, envp, &n, "GROUPS=%s", list);
		dsmil_uevent_key(keys, envp, &n, "SCOPE=%s",
				 ev->groups == GENMASK(DSMIL_NUM_GROUPS - 1, 0) ?
				 "global" : "group");
		dsmil_uevent_key(keys, envp, &n, "LOCKED=%u", ev->locked);
		dsmil_uevent_key(keys, envp, &n, "IN_DOUBT=%u", ev->in_doubt);
		break;
	case DSMIL_EVENT_SMI_FAULTED:
		dsmil_uevent_device_keys(keys, envp, &n, ev->device);
		dsmil_uevent_key(keys, envp, &n, "TOKEN=%#06x", ev->token);
		dsmil_uevent_key(keys, envp, &n, "REASON=%s",
				 ev->why ?: "unknown");
		break;
	case DSMIL_EVENT_SMI_RECOVERED:
		dsmil_uevent_key(keys, envp, &n, "FAULTED_MS=%llu", ev->ms);
		break;
	}
send:
	envp[n] = NULL;
	return kobject_uevent_env(&ue->dev->kobj, KOBJ_CHANGE, envp);
}

/* Send what is queued, then the "dropped" event if one is due. */
static void dsmil_uevent_work(struct work_struct *work)
{
	struct dsmil_uevents *ue = container_of(work, struct dsmil_uevents,
						work);
	struct dsmil_event ev;
	bool drop;

	for (;;) {
		spin_lock_irq(&ue->lock);
		if (!ue->len) {
			drop = ue->drop_pending;
			ue->drop_pending = false;
			spin_unlock_irq(&ue->lock);
			break;
		}
		ev = ue->q[ue->head];
		ue->head = (ue->head + 1) % DSMIL_UEVENT_QUEUE;
		ue->len--;
		spin_unlock_irq(&ue->lock);

		if (dsmil_uevent_send(ue, &ev))
			atomic64_inc(&ue->dropped);
		else
			atomic64_inc(&ue->sent[ev.kind]);
	}
	/* Last, so that DROPPED= includes what this round could not send. */
	if (drop)
		dsmil_uevent_send(ue, NULL);
}

/**
 * dsmil_uevent_init - set up the sender.
 * @ue:  zeroed, inside a struct dsmil.
 * @dev: the device to send on; NULL for none (KUnit).
 */
void dsmil_uevent_init(struct dsmil_uevents *ue, struct device *dev)
{
	ue->dev = dev;
	spin_lock_init(&ue->lock);
	INIT_WORK(&ue->work, dsmil_uevent_work);
	ue->drop_next = jiffies;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_uevent_init);

/**
 * dsmil_uevent_exit - stop queueing and send what is queued.
 * @ue: the sender.
 *
 * Called while the device still exists.  A post racing with it either
 * queued (and scheduled the work) before @dead was set, and the flush
 * sends it, or sees @dead and queues nothing: the work never runs after
 * this returns.
 */
void dsmil_uevent_exit(struct dsmil_uevents *ue)
{
	spin_lock_irq(&ue->lock);
	ue->dead = true;
	spin_unlock_irq(&ue->lock);
	flush_work(&ue->work);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_uevent_exit);

static struct dsmil *dsmil_uevent_from_dev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct dsmil, misc);
}

static ssize_t uevents_sent_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct dsmil_uevents *ue = &dsmil_uevent_from_dev(dev)->uevents;
	u64 sum = 0;
	unsigned int k;

	for (k = 0; k < DSMIL_EVENT_KINDS; k++)
		sum += atomic64_read(&ue->sent[k]);
	return sysfs_emit(buf, "%llu\n", sum);
}
static DEVICE_ATTR_RO(uevents_sent);

static ssize_t uevents_dropped_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct dsmil_uevents *ue = &dsmil_uevent_from_dev(dev)->uevents;

	return sysfs_emit(buf, "%llu\n", (u64)atomic64_read(&ue->dropped));
}
static DEVICE_ATTR_RO(uevents_dropped);

static struct attribute *dsmil_uevent_attrs[] = {
	&dev_attr_uevents_sent.attr,
	&dev_attr_uevents_dropped.attr,
	NULL,
};

const struct attribute_group dsmil_uevent_attr_group = {
	.attrs = dsmil_uevent_attrs,
};
