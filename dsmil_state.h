/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: device model and state machine (dsmil_state.c), its ioctls and
 * sysfs attributes (dsmil_state_ioc.c).
 */
#ifndef _DSMIL_STATE_H
#define _DSMIL_STATE_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/ratelimit_types.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "dsmil_ioctl.h"

struct dsmil_event;

/**
 * struct dsmil_state_dev - one device's mutable state.
 * @state:       enum dsmil_dev_state.  Written with WRITE_ONCE() under
 *               &dsmil_state.lock inside a &dsmil_state.seq write section;
 *               read with READ_ONCE() by anyone, lock or not.
 * @gen:         bumped on every change of @state (under the lock), so that
 *               a transition that dropped the lock can tell whether the
 *               device moved meanwhile, even if it came back to the same
 *               state.
 * @transitions: state changes of this device since load (under the lock;
 *               READ_ONCE() without it).
 */
struct dsmil_state_dev {
	u8 state;
	u32 gen;
	u64 transitions;
};

/**
 * struct dsmil_state_verifier - what the state machine asks of the layer
 * that reaches the devices' hardware; given to dsmil_state_init(), so that
 * the state machine calls nothing above or beside it.
 * @verify:      INITIALIZING -> READY: does device @id answer?  Called
 *               without the state lock held; may sleep.  0 or the errno
 *               of the failed check.
 * @token_flags: optional: DSMIL_DEVF_TOKEN_* of device token @token, for a
 *               device's description.
 *
 * @ctx, as given with the verifier, is passed to both.
 */
struct dsmil_state_verifier {
	int (*verify)(void *ctx, unsigned int id);
	u16 (*token_flags)(void *ctx, u16 token);
};

/**
 * struct dsmil_state - the device model of one driver instance.
 * @lock:        serialises every state change, the dependency checks that
 *               go with it and the audit ring.  Never held while calling
 *               into the SMI layer.
 * @seq:         lets readers copy all 72 states consistently without @lock
 *               (list, sysfs summary, group states).
 * @dev:         per-device state.
 * @dead:        set by dsmil_state_exit(); later fault reports are ignored.
 * @verifier:    how devices are verified and described
 *               (dsmil_state_init()); a KUnit suite may put its own in
 *               while no transition runs, to inject failures and delays.
 * @verifier_ctx: passed to @verifier's operations.
 * @transitions: accepted state changes, all devices and sources.
 * @rs_refusal:  rate limit of refused-transition/refused-access/
 *               refused-input lines.
 * @rs_event:    rate limit of device-error/emergency-stop lines, so that a
 *               flood of refusals cannot hide them.
 * @audit_next:  sequence number of the next audit entry (from 1).
 * @audit:       the last DSMIL_AUDIT_DEPTH entries; entry with sequence
 *               number s lives at (s - 1) % DSMIL_AUDIT_DEPTH.
 * @fence:       makes the hand-off check and a state change exclusive: a
 *               write passes dsmil_state_handoff_begin() either before a
 *               change (and is then counted in @writing, which an emergency
 *               stop waits for) or after it (and sees the new state).
 *               Taken inside @lock by state changes; a leaf, never held
 *               while calling anything that sleeps.
 * @writing:     per device, writes between handoff_begin and handoff_end
 *               (under @fence).
 * @drained:     woken when a device's @writing count drops to zero.
 * @write_policy: the dispatcher's write policy (lockdown, allow_writes),
 *               asked again at every write hand-off because both can
 *               change while a request waits; NULL allows.  Set by
 *               dsmil_init() for the module's instance; NULL in KUnit
 *               instances unless a test sets one.
 * @handoffs:    dsmil_state_handoff_begin() calls.
 * @handoff_refused: hand-offs refused (state, quarantine or policy) after
 *               the request's first check had passed.
 * @in_doubt:    writes an emergency stop gave up waiting for.
 * @notify:      told of every state change (but those of an emergency
 *               stop, told as one stop, and of unload) and every emergency
 *               stop, with @notify_ctx; called under @lock inside a @seq
 *               write section for a change, with no lock held for a stop:
 *               must not sleep.  Set by dsmil_create() (the uevent
 *               sender); NULL: nobody is told.
 * @notify_ctx:  passed to @notify.
 */
struct dsmil_state {
	struct mutex lock;		/* state changes, their checks, audit */
	seqcount_mutex_t seq;
	struct dsmil_state_dev dev[DSMIL_NUM_DEVICES];
	bool dead;
	const struct dsmil_state_verifier *verifier;
	void *verifier_ctx;
	atomic64_t transitions;
	struct ratelimit_state rs_refusal;
	struct ratelimit_state rs_event;
	u64 audit_next;
	struct dsmil_audit_entry audit[DSMIL_AUDIT_DEPTH];
	spinlock_t fence;		/* hand-off vs state change */
	unsigned int writing[DSMIL_NUM_DEVICES];
	wait_queue_head_t drained;
	int (*write_policy)(struct dsmil_state *st);
	atomic64_t handoffs;
	atomic64_t handoff_refused;
	atomic64_t in_doubt;
	void (*notify)(void *ctx, const struct dsmil_event *ev);
	void *notify_ctx;
};

/*
 * How long an emergency stop waits for writes already at the hardware: more
 * than any SMI the engine lets a caller wait for (smi_timeout_ms <= 1000)
 * and any page copy.  A write still running after that (a synchronous
 * firmware call that does not return) is reported as in doubt.
 */
#define DSMIL_ESTOP_DRAIN_MS	2000

/**
 * struct dsmil_state_result - outcome of dsmil_state_transition().
 * @prev:    state before the request.
 * @state:   state after it.
 * @reason:  enum dsmil_reason (DSMIL_REASON_NONE when accepted).
 * @blocker: id of the dependency or dependent that refused it, or -1.
 */
struct dsmil_state_result {
	u8 prev;
	u8 state;
	u8 reason;
	int blocker;
};

int dsmil_state_init(struct dsmil_state *st,
		     const struct dsmil_state_verifier *verifier, void *ctx);
void dsmil_state_exit(struct dsmil_state *st);
u64 dsmil_state_transitions(struct dsmil_state *st);
unsigned int dsmil_state_resume(struct dsmil_state *st, unsigned int *demoted);

/*
 * Interfaces for the SMI engine and the MMIO mapper.  Neither may be called
 * with a lock of the caller's held that the state machine could need.
 */

/**
 * dsmil_state_check_access - may device @id's hardware be touched now?
 * @st:    state machine.
 * @id:    global device id (< DSMIL_NUM_DEVICES).
 * @write: false for a read (READY or ACTIVE), true for a write (ACTIVE and
 *         not quarantined).
 *
 * Reads the state without the lock: the answer holds for the moment of the
 * call; an access already at the hardware is not stopped by a later state
 * change (an SMI cannot be interrupted anyway).  Refusals are counted and
 * logged here.  Does not sleep; callable from any context.
 *
 * Return: 0, -EINVAL (bad id), -ENODEV (state) or -EPERM (quarantined write).
 */
int dsmil_state_check_access(struct dsmil_state *st, unsigned int id,
			     bool write);

/**
 * dsmil_state_report_fault - a layer below saw device @id's hardware fail.
 * @st:     state machine.
 * @id:     global device id.
 * @reason: DSMIL_REASON_SMI_FAULT and the like.
 * @err:    the negative errno the layer returned.
 *
 * Moves the device to ERROR if it is INITIALIZING, READY or ACTIVE (an
 * OFFLINE, ERROR or LOCKED device keeps its state), after moving every
 * ACTIVE device that depends on it back to READY, all in one step; logs
 * why.  Called by the SMI engine with none of its locks held.  May sleep.
 */
void dsmil_state_report_fault(struct dsmil_state *st, unsigned int id,
			      enum dsmil_reason reason, int err);

/**
 * dsmil_state_handoff_begin - the last check before device @id's hardware
 * is touched, made where the request is handed to a backend.
 * @st:    state machine.
 * @id:    global device id.
 * @write: the access writes (token write, MMIO write chunk or page).
 *
 * A request is checked when it arrives (dsmil_state_check_access()), but
 * it may wait (queued behind other SMIs, SMI spacing, busy retries, chunk
 * mapping) while the device is stopped, faulted or deactivated, lockdown
 * is raised or allow_writes is cleared.  This check is the one that holds:
 * the device's state is read under @st->fence, the lock every state change
 * takes, and a write that passes is counted until dsmil_state_handoff_end()
 * so that an emergency stop waits for it: once the stop has returned,
 * nothing more is written to the devices it locked.  Refusals are counted
 * (@st->handoff_refused and the reason) and logged, rate-limited.  Does not
 * sleep (the write policy may call into the LSM, which does not either).
 *
 * Return: 0 (the caller must call dsmil_state_handoff_end()), -EINVAL (bad
 * id), -ENODEV (state), -EPERM (quarantined write, lockdown) or -EACCES
 * (allow_writes cleared).
 */
int dsmil_state_handoff_begin(struct dsmil_state *st, unsigned int id,
			      bool write);
void dsmil_state_handoff_end(struct dsmil_state *st, unsigned int id,
			     bool write);

/**
 * dsmil_state_write_policy - the write policy at a hand-off, alone.
 * @st: state machine.
 *
 * allow_writes and lockdown, asked again where a write is handed to a
 * backend: dsmil_state_handoff_begin() asks them for a device's write, and
 * the mapper for the bytes of a raw write outside every device window,
 * which no device's state covers.  A refusal is counted
 * (@st->handoff_refused, the dispatcher's denied) but not logged: the
 * caller logs it with what was refused.  May call into the LSM; does not
 * sleep.
 *
 * Return: 0, -EACCES (allow_writes cleared) or -EPERM (lockdown).
 */
int dsmil_state_write_policy(struct dsmil_state *st);

/* The sysfs attributes of /dev/dsmil (dsmil_state_ioc.c). */
extern const struct attribute_group dsmil_state_attr_group;

/*
 * What the ioctl half (dsmil_state_ioc.c) calls of the state machine; the
 * KUnit suite (tests/dsmil_state_test.c) calls them too.
 */
int dsmil_state_transition(struct dsmil_state *st, unsigned int id,
			   unsigned int target, struct dsmil_state_result *res);
int dsmil_state_estop(struct dsmil_state *st, unsigned int group,
		      unsigned int *locked, unsigned int *in_doubt);
void dsmil_state_snapshot(struct dsmil_state *st, u8 *states);
void dsmil_state_describe(struct dsmil_state *st, unsigned int id,
			  const u8 *states, struct dsmil_dev_info *di);
unsigned int dsmil_state_audit_copy(struct dsmil_state *st, u64 since,
				    struct dsmil_audit_entry *out,
				    unsigned int max, u64 *next_seq,
				    u64 *dropped);
int dsmil_state_format_summary(struct dsmil_state *st, char *buf,
			       size_t size);

#if IS_ENABLED(CONFIG_KUNIT)
/* Internals the KUnit suite (tests/dsmil_state_test.c) calls. */

void dsmil_state_shutdown(struct dsmil_state *st);
u8 dsmil_state_group(const u8 *states, unsigned int group);
bool dsmil_state_quarantined(unsigned int id);
const char *dsmil_state_name(unsigned int state);
const char *dsmil_state_reason_name(unsigned int reason);
#endif

#endif /* _DSMIL_STATE_H */
