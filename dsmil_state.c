// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: device model and state machine.
 *
 * 72 devices in 6 groups of 12.  Every device has a state; requests move it
 * along the transition table below, subject to the group and device
 * dependencies and to quarantine.  The rules are data (the tables) and one
 * function applies them (dsmil_state_check_transition()), always under the
 * state lock together with the state change it allows, so that no two
 * requests can each pass a check the other one invalidates.
 *
 * The invariant everything here keeps: no device is ACTIVE while a device
 * it depends on is not ACTIVE.  Requests keep it through the checks;
 * emergency stop, fault reports and unload keep it by changing dependents
 * before what they depend on, in one critical section.  A dependent always
 * has a higher id than what it depends on (checked by the KUnit suite), so
 * "dependents first" is "descending id".
 *
 * States are bytes read with READ_ONCE() by anyone; a seqcount lets readers
 * that need all 72 at once (list, sysfs, group states) get a consistent
 * copy without the lock.
 *
 * Documentation/dsmil-state.rst describes the model, the ioctls, the
 * audit trail and the messages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "dsmil_priv.h"
#include "dsmil_logic.h"
#include "dsmil_names.h"

#define DSMIL_DEV_ID(g, i)	((g) * DSMIL_DEVS_PER_GROUP + (i))

static const char *const dsmil_functions[DSMIL_DEVS_PER_GROUP] = {
	"Controller", "Crypto Engine", "Secure Storage", "Network Filter",
	"Audit Logger", "TPM Interface", "Secure Boot", "Memory Protection",
	"Tactical Comm", "Emergency Wipe", "JROTC Training",
	"Hidden Operations",
};

static const char *const dsmil_dev_state_names[DSMIL_DEV_NUM_STATES] =
	DSMIL_DEV_STATE_NAMES;
static const char *const dsmil_group_state_names[] = DSMIL_GROUP_STATE_NAMES;
static const char *const dsmil_reason_names[DSMIL_REASON_COUNT] =
	DSMIL_REASON_NAMES;

/* What a refusal of dsmil_state_check_transition() returns to the caller. */
static const int dsmil_reason_errno[DSMIL_REASON_COUNT] = {
	[DSMIL_REASON_ILLEGAL]		= -EINVAL,
	[DSMIL_REASON_DEPENDENCY]	= -ENOLINK,
	[DSMIL_REASON_DEPENDENT]	= -EBUSY,
	[DSMIL_REASON_QUARANTINED]	= -EPERM,
	[DSMIL_REASON_BAD_ARG]		= -EINVAL,
};

/**
 * dsmil_state_name - name of a device state, for messages and sysfs.
 * @state: enum dsmil_dev_state.
 *
 * Return: the name, or "INVALID".
 */
VISIBLE_IF_KUNIT const char *dsmil_state_name(unsigned int state)
{
	return state < DSMIL_DEV_NUM_STATES ? dsmil_dev_state_names[state] :
					      "INVALID";
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_name);

/**
 * dsmil_state_reason_name - the word for a reason in the driver's messages.
 * @reason: enum dsmil_reason.
 *
 * Return: the word, or "unknown".
 */
VISIBLE_IF_KUNIT const char *dsmil_state_reason_name(unsigned int reason)
{
	return reason < DSMIL_REASON_COUNT ? dsmil_reason_names[reason] :
					     "unknown";
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_reason_name);

/**
 * dsmil_state_quarantined - is device @id one that may never be ACTIVE nor
 * written?
 * @id: global device id (< DSMIL_NUM_DEVICES).
 *
 * Return: true for the quarantined devices.
 */
VISIBLE_IF_KUNIT bool dsmil_state_quarantined(unsigned int id)
{
	return dsmil_logic_quarantined(id);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_quarantined);

static u8 dsmil_state_read(struct dsmil_state *st, unsigned int id)
{
	return READ_ONCE(st->dev[id].state);
}

/* Who asked: the calling process, or 0/0 for the kernel's own threads. */
static void dsmil_state_who(u32 *pid, u32 *uid)
{
	if (current->flags & PF_KTHREAD) {
		*pid = 0;
		*uid = 0;
		return;
	}
	*pid = task_tgid_nr(current);
	*uid = from_kuid_munged(&init_user_ns, current_uid());
}

/*
 * The transition check: may device @id go from @from to @to now?  Applies
 * the transition table, then what the table entry asks for.  Must be called
 * with the lock held and the answer acted on before dropping it: the
 * dependency checks are only true while nobody else can change a state.
 *
 * Returns DSMIL_REASON_NONE, or the reason of the refusal with *@blocker set
 * to the first dependency (or dependent) in the way, else -1.
 */
static enum dsmil_reason dsmil_state_check_transition(struct dsmil_state *st,
						      unsigned int id,
						      unsigned int from,
						      unsigned int to, int *blocker)
{
	u8 states[DSMIL_NUM_DEVICES];
	unsigned int j;

	lockdep_assert_held(&st->lock);
	/* The lock holds every state still: the copy is the states now. */
	for (j = 0; j < DSMIL_NUM_DEVICES; j++)
		states[j] = dsmil_state_read(st, j);
	return dsmil_logic_check_transition(states, id, from, to, blocker);
}

/* Append one entry to the audit ring; the oldest is overwritten. */
static void dsmil_state_audit(struct dsmil_state *st, unsigned int id,
			      unsigned int from, unsigned int to, int err,
			      enum dsmil_reason reason, u8 source)
{
	struct dsmil_audit_entry *e;

	lockdep_assert_held(&st->lock);
	e = &st->audit[(st->audit_next - 1) % DSMIL_AUDIT_DEPTH];
	memset(e, 0, sizeof(*e));
	e->seq = st->audit_next++;
	e->time_ns = ktime_get_real_ns();
	dsmil_state_who(&e->pid, &e->uid);
	e->device = id;
	e->from = from;
	e->to = to;
	e->error = -err;
	e->reason = reason;
	e->source = source;
}

/* Tell whoever listens (the uevent sender): never sleeps. */
static void dsmil_state_notify(struct dsmil_state *st,
			       const struct dsmil_event *ev)
{
	if (st->notify)
		st->notify(st->notify_ctx, ev);
}

/*
 * Commit a state change.  Called with the lock held, inside a write section
 * of st->seq, after whatever check the change needed.  Listeners hear of it
 * here, but for an emergency stop (one event for the whole stop, from
 * dsmil_state_estop()) and unload (the device goes away).
 */
static void dsmil_state_set(struct dsmil_state *st, unsigned int id,
			    unsigned int to, enum dsmil_reason reason,
			    u8 source)
{
	struct dsmil_state_dev *d = &st->dev[id];
	u8 from = d->state;
	struct dsmil_event ev = {
		.kind = DSMIL_EVENT_STATE,
		.device = id,
		.from = from,
		.to = to,
		.reason = reason,
		.source = source,
	};

	lockdep_assert_held(&st->lock);
	/* Hand-offs see the old state and are counted, or see this one. */
	spin_lock(&st->fence);
	WRITE_ONCE(d->state, to);
	spin_unlock(&st->fence);
	d->gen++;
	WRITE_ONCE(d->transitions, d->transitions + 1);
	atomic64_inc(&st->transitions);
	dsmil_state_audit(st, id, from, to, 0, reason, source);
	if (source != DSMIL_SRC_ESTOP && source != DSMIL_SRC_UNLOAD)
		dsmil_state_notify(st, &ev);
}

static void dsmil_state_log_refused(struct dsmil_state *st,
				    unsigned int id, unsigned int from,
				    unsigned int to,
				    enum dsmil_reason reason, int err,
				    int blocker)
{
	char blk[32] = "";	/* room for any int @blocker */
	u32 pid, uid;

	if (!__ratelimit(&st->rs_refusal))
		return;
	dsmil_state_who(&pid, &uid);
	if (blocker >= 0)
		snprintf(blk, sizeof(blk), " blocker=DSMIL%uD%X",
			 DSMIL_DEV_GROUP(blocker), DSMIL_DEV_INDEX(blocker));
	dsmil_notice(dsmil_state_dev(st), "refused-transition: dev=DSMIL%uD%X from=%s to=%s reason=%s errno=%d pid=%u uid=%u%s\n",
		     DSMIL_DEV_GROUP(id), DSMIL_DEV_INDEX(id), dsmil_state_name(from),
		     dsmil_state_name(to), dsmil_state_reason_name(reason), err, pid, uid, blk);
}

static void dsmil_state_log_error(struct dsmil_state *st, unsigned int id,
				  unsigned int from, enum dsmil_reason reason,
				  int err, unsigned int demoted)
{
	if (!__ratelimit(&st->rs_event))
		return;
	dsmil_warn(dsmil_state_dev(st), "device-error: dev=DSMIL%uD%X from=%s to=ERROR reason=%s errno=%d demoted=%u\n",
		   DSMIL_DEV_GROUP(id), DSMIL_DEV_INDEX(id), dsmil_state_name(from),
		   dsmil_state_reason_name(reason), err, demoted);
}

/* What a failed verification returns; -EINTR leaves the device alone. */
static int dsmil_state_verify_errno(int err)
{
	switch (err) {
	case -ETIMEDOUT:
	case -ESHUTDOWN:
	case -EINTR:
		return err;
	case -ERESTARTSYS:
		return -EINTR;
	default:
		return -EIO;
	}
}

/**
 * dsmil_state_transition - request that device @id go to state @target.
 * @st:     state machine.
 * @id:     global device id.
 * @target: enum dsmil_dev_state wanted.
 * @res:    out: states before and after, reason, blocker.
 *
 * The check and the change happen under the lock, so that they are atomic
 * with respect to every other request.  INITIALIZING -> READY is done in
 * two phases, because verifying the device goes through the SMI layer,
 * which may take up to its timeout and must never be called with the state
 * lock held: check under the lock, drop it, verify, take it again and
 * commit only if the device has not moved meanwhile.  A failed verification
 * puts the device in ERROR (except -EINTR: the device stays INITIALIZING).
 *
 * Every request, accepted or refused, is audited; refusals are also
 * counted and logged (rate-limited).
 *
 * Return: 0; -EINVAL (bad id or target, illegal transition); -EPERM
 * (quarantined device to ACTIVE); -ENOLINK (a dependency is not up); -EBUSY
 * (a dependent is ACTIVE); -EIO, -ETIMEDOUT, -ESHUTDOWN (verification
 * failed; the device is now ERROR); -EINTR (verification interrupted);
 * -EAGAIN (the device changed state during verification; nothing done);
 * -ENODEV (after dsmil_state_exit()).
 */
int dsmil_state_transition(struct dsmil_state *st, unsigned int id,
			   unsigned int target, struct dsmil_state_result *res)
{
	struct dsmil *dsm = dsmil_from_state(st);
	enum dsmil_reason reason;
	bool to_error = false;
	int blocker, ret, verr = 0;
	unsigned int from;
	u32 gen, pid, uid;

	memset(res, 0, sizeof(*res));
	res->blocker = -1;

	if (id >= DSMIL_NUM_DEVICES) {
		res->reason = DSMIL_REASON_BAD_ARG;
		dsmil_count_refusal(dsm, DSMIL_REASON_BAD_ARG);
		if (__ratelimit(&st->rs_refusal)) {
			dsmil_state_who(&pid, &uid);
			dsmil_notice(dsmil_dev(dsm), "refused-transition: id=%u to=%s reason=%s errno=%d pid=%u uid=%u\n",
				     id, dsmil_state_name(target),
				     dsmil_state_reason_name(DSMIL_REASON_BAD_ARG),
				     -EINVAL, pid, uid);
		}
		return -EINVAL;
	}

	/*
	 * Released by hand on each return below: scoped_guard() would do it,
	 * but the driver also builds against 6.1, which has no <linux/cleanup.h>.
	 */
	mutex_lock(&st->lock);
	if (st->dead) {
		mutex_unlock(&st->lock);
		return -ENODEV;
	}
	from = st->dev[id].state;
	res->prev = from;

	reason = dsmil_state_check_transition(st, id, from, target, &blocker);
	if (reason != DSMIL_REASON_NONE) {
		ret = dsmil_reason_errno[reason];
		goto refuse;
	}

	if (dsmil_logic_verifies(from, target)) {
		gen = st->dev[id].gen;
		mutex_unlock(&st->lock);
		verr = st->verifier->verify(st->verifier_ctx, id);
		mutex_lock(&st->lock);
		/*
		 * Another request, an emergency stop or a fault report may
		 * have moved the device while the lock was dropped (even away
		 * and back to INITIALIZING): then this verification is about a
		 * past state and must not be committed.
		 */
		if (st->dev[id].gen != gen) {
			reason = DSMIL_REASON_STATE;
			ret = -EAGAIN;
			goto refuse;
		}
		if (verr) {
			reason = DSMIL_REASON_VERIFY_FAILED;
			ret = dsmil_state_verify_errno(verr);
			to_error = ret != -EINTR;
			goto refuse;
		}
	}

	write_seqcount_begin(&st->seq);
	dsmil_state_set(st, id, target, DSMIL_REASON_NONE, DSMIL_SRC_IOCTL);
	write_seqcount_end(&st->seq);
	res->state = target;
	mutex_unlock(&st->lock);
	return 0;

refuse:
	dsmil_state_audit(st, id, from, target, ret, reason, DSMIL_SRC_IOCTL);
	if (to_error) {
		/* The driver's own step, audited as such after the refusal. */
		write_seqcount_begin(&st->seq);
		dsmil_state_set(st, id, DSMIL_DEV_ERROR, reason,
				DSMIL_SRC_INTERNAL);
		write_seqcount_end(&st->seq);
	}
	res->state = st->dev[id].state;
	mutex_unlock(&st->lock);

	res->reason = reason;
	res->blocker = blocker;
	dsmil_count_refusal(dsm, reason);
	dsmil_state_log_refused(st, id, from, target, reason, ret,
				blocker);
	if (to_error)
		dsmil_state_log_error(st, id, from, reason, verr, 0);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_transition);

/* Writes at the hardware on the devices of @groups (under the fence). */
static unsigned int dsmil_state_writing(struct dsmil_state *st, u8 groups)
{
	unsigned int id, n = 0;

	spin_lock(&st->fence);
	for (id = 0; id < DSMIL_NUM_DEVICES; id++)
		if (groups & BIT(DSMIL_DEV_GROUP(id)))
			n += st->writing[id];
	spin_unlock(&st->fence);
	return n;
}

/**
 * dsmil_state_estop - emergency stop: lock every device of @group and of
 * every group that depends on it, in one step.
 * @st:     state machine.
 * @group:  group 0..5.
 * @locked: out: devices moved to LOCKED (those already LOCKED not counted).
 * @in_doubt: out: writes that were already at the hardware of those devices
 *          and still had not come back after DSMIL_ESTOP_DRAIN_MS (or when
 *          the caller was killed): they may still land.
 *
 * The devices are LOCKED under the fence, so no write passes a hand-off to
 * them afterwards; then the stop waits for the writes that passed before,
 * so that when it returns with *@in_doubt == 0 nothing more is written to
 * any device it locked.  "LOCKED leaves only for ERROR" keeps it so.
 *
 * Return: 0, -EINVAL (bad group) or -ENODEV (after dsmil_state_exit()).
 */
int dsmil_state_estop(struct dsmil_state *st, unsigned int group,
		      unsigned int *locked, unsigned int *in_doubt)
{
	char list[2 * DSMIL_NUM_GROUPS] = "";
	struct dsmil_event ev = { .kind = DSMIL_EVENT_ESTOP };
	unsigned int id, g, n = 0, len = 0, left;
	u32 pid, uid;
	u8 groups;

	*locked = 0;
	*in_doubt = 0;
	if (group >= DSMIL_NUM_GROUPS)
		return -EINVAL;
	groups = dsmil_logic_estop_groups(group);

	mutex_lock(&st->lock);
	if (st->dead) {
		mutex_unlock(&st->lock);
		return -ENODEV;
	}
	write_seqcount_begin(&st->seq);
	/* Dependents first, so the audit trail never shows the invariant broken. */
	for (id = DSMIL_NUM_DEVICES; id-- > 0; ) {
		if (!(groups & BIT(DSMIL_DEV_GROUP(id))) ||
		    st->dev[id].state == DSMIL_DEV_LOCKED)
			continue;
		dsmil_state_set(st, id, DSMIL_DEV_LOCKED,
				DSMIL_REASON_EMERGENCY_STOP, DSMIL_SRC_ESTOP);
		n++;
	}
	write_seqcount_end(&st->seq);
	mutex_unlock(&st->lock);
	*locked = n;

	/* Writes that passed their hand-off before the stop: wait them out. */
	wait_event_killable_timeout(st->drained, !dsmil_state_writing(st, groups),
				    msecs_to_jiffies(DSMIL_ESTOP_DRAIN_MS));
	left = dsmil_state_writing(st, groups);
	*in_doubt = left;
	atomic64_add(left, &st->in_doubt);
	/* Once its outcome is known: the event says what may still land. */
	ev.group = group;
	ev.groups = groups;
	ev.locked = n;
	ev.in_doubt = left;
	dsmil_state_notify(st, &ev);

	if (__ratelimit(&st->rs_event) || left) {
		for (g = 0; g < DSMIL_NUM_GROUPS; g++)
			if (groups & BIT(g))
				len += scnprintf(list + len, sizeof(list) - len,
						 "%s%u", len ? "," : "", g);
		dsmil_state_who(&pid, &uid);
		dsmil_warn(dsmil_state_dev(st), "emergency-stop: group=%u groups=%s locked=%u in_doubt=%u pid=%u uid=%u\n",
			   group, list, n, left, pid, uid);
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_estop);

/*
 * The access rule: a read needs READY or ACTIVE; a write needs ACTIVE and a
 * device that is not quarantined.  Returns 0 or the errno, with *@reason.
 */
static int dsmil_state_access_verdict(u8 state, unsigned int id, bool write,
				      enum dsmil_reason *reason)
{
	return dsmil_logic_access(state, id, write, reason);
}

/* Count and log (rate-limited) a refused access; @where: "" or " at=handoff". */
static int dsmil_state_refuse_access(struct dsmil_state *st, unsigned int id,
				     bool write, u8 state, enum dsmil_reason reason,
				     const char *where, int ret)
{
	const char *access = write ? "write" : "read";
	u32 pid, uid;

	dsmil_count_refusal(dsmil_from_state(st), reason);
	if (!__ratelimit(&st->rs_refusal))
		return ret;
	dsmil_state_who(&pid, &uid);
	if (id >= DSMIL_NUM_DEVICES)
		dsmil_notice(dsmil_state_dev(st), "refused-access: id=%u access=%s reason=%s errno=%d pid=%u uid=%u%s\n",
			     id, access, dsmil_state_reason_name(reason), ret, pid, uid, where);
	else
		dsmil_notice(dsmil_state_dev(st), "refused-access: dev=DSMIL%uD%X access=%s state=%s reason=%s errno=%d pid=%u uid=%u%s\n",
			     DSMIL_DEV_GROUP(id), DSMIL_DEV_INDEX(id), access,
			     dsmil_state_name(state), dsmil_state_reason_name(reason),
			     ret, pid, uid, where);
	return ret;
}

int dsmil_state_check_access(struct dsmil_state *st, unsigned int id,
			     bool write)
{
	enum dsmil_reason reason;
	u8 state;
	int ret;

	if (id >= DSMIL_NUM_DEVICES)
		return dsmil_state_refuse_access(st, id, write, 0,
						 DSMIL_REASON_BAD_ARG, "", -EINVAL);
	state = dsmil_state_read(st, id);
	ret = dsmil_state_access_verdict(state, id, write, &reason);
	if (ret)
		return dsmil_state_refuse_access(st, id, write, state, reason, "",
						 ret);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_check_access);

int dsmil_state_write_policy(struct dsmil_state *st)
{
	int ret;

	if (!st->write_policy)
		return 0;
	ret = st->write_policy(st);
	if (ret) {
		atomic64_inc(&st->handoff_refused);
		atomic64_inc(&dsmil_from_state(st)->denied);
	}
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_write_policy);

int dsmil_state_handoff_begin(struct dsmil_state *st, unsigned int id,
			      bool write)
{
	enum dsmil_reason reason;
	u32 pid, uid;
	u8 state;
	int ret;

	atomic64_inc(&st->handoffs);
	if (id >= DSMIL_NUM_DEVICES) {
		atomic64_inc(&st->handoff_refused);
		return dsmil_state_refuse_access(st, id, write, 0,
						 DSMIL_REASON_BAD_ARG, " at=handoff",
						 -EINVAL);
	}
	/*
	 * Lockdown and allow_writes can change while a request waits.  Both
	 * are asked before taking the fence, to keep the LSM hook out of the
	 * spinlock; neither is part of a stop's guarantee.
	 */
	if (write) {
		ret = dsmil_state_write_policy(st);
		if (ret) {
			if (__ratelimit(&st->rs_refusal)) {
				dsmil_state_who(&pid, &uid);
				dsmil_notice(dsmil_state_dev(st), "refused-access: dev=DSMIL%uD%X access=write reason=policy errno=%d pid=%u uid=%u at=handoff\n",
					     DSMIL_DEV_GROUP(id), DSMIL_DEV_INDEX(id), ret, pid,
					     uid);
			}
			return ret;
		}
	}

	spin_lock(&st->fence);
	state = st->dev[id].state;
	ret = dsmil_state_access_verdict(state, id, write, &reason);
	if (!ret && write)
		st->writing[id]++;
	spin_unlock(&st->fence);
	if (!ret)
		return 0;
	atomic64_inc(&st->handoff_refused);
	return dsmil_state_refuse_access(st, id, write, state, reason, " at=handoff",
					 ret);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_handoff_begin);

void dsmil_state_handoff_end(struct dsmil_state *st, unsigned int id,
			     bool write)
{
	bool wake;

	if (!write || WARN_ON_ONCE(id >= DSMIL_NUM_DEVICES))
		return;
	spin_lock(&st->fence);
	if (WARN_ON_ONCE(!st->writing[id]))
		wake = false;
	else
		wake = !--st->writing[id];
	spin_unlock(&st->fence);
	if (wake)
		wake_up_all(&st->drained);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_handoff_end);

void dsmil_state_report_fault(struct dsmil_state *st, unsigned int id,
			      enum dsmil_reason reason, int err)
{
	DECLARE_BITMAP(affected, DSMIL_NUM_DEVICES);
	unsigned int from, j, k, demoted = 0;

	if (id >= DSMIL_NUM_DEVICES)
		return;
	if (reason >= DSMIL_REASON_COUNT)
		reason = DSMIL_REASON_SMI_FAULT;

	mutex_lock(&st->lock);
	from = st->dev[id].state;
	if (st->dead || (from != DSMIL_DEV_INITIALIZING &&
			 from != DSMIL_DEV_READY && from != DSMIL_DEV_ACTIVE)) {
		mutex_unlock(&st->lock);
		return;
	}

	write_seqcount_begin(&st->seq);
	if (from == DSMIL_DEV_ACTIVE) {
		/*
		 * Whatever is ACTIVE and needs this device, directly or through
		 * another affected device, loses its footing: back to READY,
		 * dependents first, in the same step as the fault.
		 */
		bitmap_zero(affected, DSMIL_NUM_DEVICES);
		__set_bit(id, affected);
		for (j = id + 1; j < DSMIL_NUM_DEVICES; j++) {
			if (st->dev[j].state != DSMIL_DEV_ACTIVE)
				continue;
			for_each_set_bit(k, affected, j) {
				if (dsmil_logic_needs(j, k)) {
					__set_bit(j, affected);
					break;
				}
			}
		}
		for (j = DSMIL_NUM_DEVICES - 1; j > id; j--) {
			if (!test_bit(j, affected))
				continue;
			dsmil_state_set(st, j, DSMIL_DEV_READY,
					DSMIL_REASON_DEPENDENCY, DSMIL_SRC_SMI);
			demoted++;
		}
	}
	dsmil_state_set(st, id, DSMIL_DEV_ERROR, reason, DSMIL_SRC_SMI);
	write_seqcount_end(&st->seq);
	mutex_unlock(&st->lock);

	dsmil_state_log_error(st, id, from, reason, err, demoted);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_report_fault);

/* Has device @id an SMI token (positions 0, 3, 6, 9 of its group)? */
static bool dsmil_state_has_token(unsigned int id)
{
	switch (DSMIL_DEV_INDEX(id)) {
	case DSMIL_TOKEN_POWER:
	case DSMIL_TOKEN_MEMORY:
	case DSMIL_TOKEN_STORAGE:
	case DSMIL_TOKEN_SENSOR:
		return true;
	default:
		return false;
	}
}

/**
 * dsmil_state_resume - after a system sleep: devices with a token verify
 * again before their hardware is touched.
 * @st:      state machine.
 * @demoted: out: ACTIVE devices without a token that went back to READY
 *           because something they depend on must verify again.
 *
 * Across a sleep the firmware may have been reset (the BIOS restores tokens
 * on an S3 resume) and nothing the verification established still holds.
 * Every device with a token that is READY or ACTIVE goes to INITIALIZING,
 * the state whose only way on is the existing verification
 * (INITIALIZING -> READY reads the token through the verifier), so that
 * neither token nor MMIO access reaches it until its owner has verified it
 * again (and activated it again).  Every ACTIVE device that depends on one
 * of them, directly or through another, goes back to READY first, in the
 * same step, so that no ACTIVE device ever has a dependency down.  OFFLINE,
 * INITIALIZING, ERROR and LOCKED devices keep their state (a LOCKED one
 * above all: an emergency stop outlives a sleep).  Audited with source
 * DSMIL_SRC_RESUME and reason DSMIL_REASON_RESUME.  A verification in
 * flight across the sleep is not committed (the device's generation moved).
 *
 * Return: devices moved to INITIALIZING (to verify again).
 */
unsigned int dsmil_state_resume(struct dsmil_state *st, unsigned int *demoted)
{
	DECLARE_BITMAP(reverify, DSMIL_NUM_DEVICES);
	DECLARE_BITMAP(affected, DSMIL_NUM_DEVICES);
	unsigned int id, k, n = 0;
	u8 s;

	*demoted = 0;
	bitmap_zero(reverify, DSMIL_NUM_DEVICES);
	bitmap_zero(affected, DSMIL_NUM_DEVICES);

	mutex_lock(&st->lock);
	if (st->dead) {
		mutex_unlock(&st->lock);
		return 0;
	}
	/* Dependencies only point to lower ids: one ascending pass closes it. */
	for (id = 0; id < DSMIL_NUM_DEVICES; id++) {
		s = st->dev[id].state;
		if (dsmil_state_has_token(id) &&
		    (s == DSMIL_DEV_READY || s == DSMIL_DEV_ACTIVE)) {
			__set_bit(id, reverify);
			__set_bit(id, affected);
			continue;
		}
		if (s != DSMIL_DEV_ACTIVE)
			continue;
		for_each_set_bit(k, affected, id) {
			if (dsmil_logic_needs(id, k)) {
				__set_bit(id, affected);
				break;
			}
		}
	}

	write_seqcount_begin(&st->seq);
	/* Dependents first, as everywhere: the audit never shows it broken. */
	for (id = DSMIL_NUM_DEVICES; id-- > 0; ) {
		if (test_bit(id, reverify)) {
			dsmil_state_set(st, id, DSMIL_DEV_INITIALIZING,
					DSMIL_REASON_RESUME, DSMIL_SRC_RESUME);
			n++;
		} else if (test_bit(id, affected)) {
			dsmil_state_set(st, id, DSMIL_DEV_READY,
					DSMIL_REASON_RESUME, DSMIL_SRC_RESUME);
			(*demoted)++;
		}
	}
	write_seqcount_end(&st->seq);
	mutex_unlock(&st->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_resume);

/**
 * dsmil_state_snapshot - copy all device states consistently, lock-free.
 * @st:     state machine.
 * @states: out: DSMIL_NUM_DEVICES states, as of one moment.
 */
void dsmil_state_snapshot(struct dsmil_state *st, u8 *states)
{
	unsigned int seq, id;

	do {
		seq = read_seqcount_begin(&st->seq);
		for (id = 0; id < DSMIL_NUM_DEVICES; id++)
			states[id] = dsmil_state_read(st, id);
	} while (read_seqcount_retry(&st->seq, seq));
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_snapshot);

/**
 * dsmil_state_group - a group's state, derived from its members' states.
 * @states: all device states (a snapshot).
 * @group:  group 0..5.
 *
 * In order: EMERGENCY_STOP when every member is LOCKED; ERROR when a member
 * is ERROR or LOCKED; ACTIVE when the controller is ACTIVE (the group is
 * up); READY when the controller is READY; DISABLED when every member is
 * OFFLINE; else INITIALIZING.
 *
 * Return: enum dsmil_group_state.
 */
VISIBLE_IF_KUNIT u8 dsmil_state_group(const u8 *states, unsigned int group)
{
	const u8 *s = &states[DSMIL_DEV_ID(group, 0)];
	unsigned int i, locked = 0, offline = 0;
	bool error = false;

	for (i = 0; i < DSMIL_DEVS_PER_GROUP; i++) {
		switch (s[i]) {
		case DSMIL_DEV_LOCKED:
			locked++;
			error = true;
			break;
		case DSMIL_DEV_ERROR:
			error = true;
			break;
		case DSMIL_DEV_OFFLINE:
			offline++;
			break;
		}
	}
	if (locked == DSMIL_DEVS_PER_GROUP)
		return DSMIL_GROUP_EMERGENCY_STOP;
	if (error)
		return DSMIL_GROUP_ERROR;
	if (s[DSMIL_CONTROLLER] == DSMIL_DEV_ACTIVE)
		return DSMIL_GROUP_ACTIVE;
	if (s[DSMIL_CONTROLLER] == DSMIL_DEV_READY)
		return DSMIL_GROUP_READY;
	if (offline == DSMIL_DEVS_PER_GROUP)
		return DSMIL_GROUP_DISABLED;
	return DSMIL_GROUP_INITIALIZING;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_group);

/**
 * dsmil_state_describe - fill the uapi description of device @id.
 * @st:     state machine.
 * @id:     global device id (< DSMIL_NUM_DEVICES).
 * @states: all device states (a snapshot), for the state and group state.
 * @di:     out: the description; every other field zeroed.
 */
void dsmil_state_describe(struct dsmil_state *st, unsigned int id,
			  const u8 *states, struct dsmil_dev_info *di)
{
	/* u8: lets the compiler see that the name fits. */
	u8 g = DSMIL_DEV_GROUP(id), i = DSMIL_DEV_INDEX(id);

	memset(di, 0, sizeof(*di));
	di->id = id;
	di->group = g;
	di->index = i;
	di->state = states[id];
	di->group_state = dsmil_state_group(states, g);
	if (dsmil_state_quarantined(id))
		di->flags |= DSMIL_DEVF_QUARANTINED;
	if (dsmil_state_has_token(id)) {
		di->flags |= DSMIL_DEVF_HAS_TOKEN;
		di->token = DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * g + i;
		if (st->verifier->token_flags)
			di->flags |= st->verifier->token_flags(st->verifier_ctx,
							       di->token);
	}
	di->dep_groups = dsmil_logic_dep_groups(id);
	di->dep_devices = dsmil_logic_dep_devices(id);
	di->transitions = READ_ONCE(st->dev[id].transitions);
	snprintf((char *)di->name, sizeof(di->name), "DSMIL%uD%X", g, i);
	strscpy((char *)di->function, dsmil_functions[i], sizeof(di->function));
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_describe);

/**
 * dsmil_state_audit_copy - copy audit entries out of the ring.
 * @st:       state machine.
 * @since:    first sequence number wanted (0 or 1: all kept).
 * @out:      room for @max entries.
 * @max:      entries @out holds.
 * @next_seq: out: sequence number the next entry will get.
 * @dropped:  out: entries at or after @since lost to wrap-around.
 *
 * Return: entries copied, oldest first.
 */
unsigned int dsmil_state_audit_copy(struct dsmil_state *st, u64 since,
				    struct dsmil_audit_entry *out,
				    unsigned int max, u64 *next_seq,
				    u64 *dropped)
{
	unsigned int n = 0;
	u64 oldest, next, s;

	since = max_t(u64, since, 1);
	mutex_lock(&st->lock);
	next = st->audit_next;
	oldest = next > DSMIL_AUDIT_DEPTH ? next - DSMIL_AUDIT_DEPTH : 1;
	for (s = max(since, oldest); s < next && n < max; s++)
		out[n++] = st->audit[(s - 1) % DSMIL_AUDIT_DEPTH];
	mutex_unlock(&st->lock);

	*next_seq = next;
	*dropped = since < oldest ? oldest - since : 0;
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_audit_copy);

/**
 * dsmil_state_format_summary - the sysfs summary: one line per group.
 * @st:   state machine.
 * @buf:  output.
 * @size: room in @buf (PAGE_SIZE is plenty: about 1.8 KiB at most).
 *
 * Line format: "group=<g> state=<GROUP_STATE> DSMIL<g>D<i>=<STATE> ..." with
 * the group's 12 devices in index order.
 *
 * Return: bytes written, without the terminating NUL.
 */
int dsmil_state_format_summary(struct dsmil_state *st, char *buf, size_t size)
{
	u8 states[DSMIL_NUM_DEVICES];
	unsigned int g, i;
	int len = 0;

	dsmil_state_snapshot(st, states);
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		len += scnprintf(buf + len, size - len, "group=%u state=%s", g,
				 dsmil_group_state_names[dsmil_state_group(states, g)]);
		for (i = 0; i < DSMIL_DEVS_PER_GROUP; i++)
			len += scnprintf(buf + len, size - len, " DSMIL%uD%X=%s",
					 g, i,
					 dsmil_state_name(states[DSMIL_DEV_ID(g, i)]));
		len += scnprintf(buf + len, size - len, "\n");
	}
	return len;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_format_summary);

/**
 * dsmil_state_init - set up the device model: every device OFFLINE.
 * @st:       state machine, zeroed, inside a struct dsmil.
 * @verifier: how devices are verified and described (the token layer's,
 *            wired by dsmil_create()).
 * @ctx:      passed to @verifier's operations.
 *
 * Return: 0.
 */
int dsmil_state_init(struct dsmil_state *st,
		     const struct dsmil_state_verifier *verifier, void *ctx)
{
	unsigned int id;

	mutex_init(&st->lock);
	seqcount_mutex_init(&st->seq, &st->lock);
	spin_lock_init(&st->fence);
	init_waitqueue_head(&st->drained);
	for (id = 0; id < DSMIL_NUM_DEVICES; id++)
		st->dev[id].state = DSMIL_DEV_OFFLINE;
	st->verifier = verifier;
	st->verifier_ctx = ctx;
	atomic64_set(&st->transitions, 0);
	ratelimit_state_init(&st->rs_refusal, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
	ratelimit_state_init(&st->rs_event, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
	st->audit_next = 1;
	return 0;
}

/**
 * dsmil_state_shutdown - take every device down, dependents first.
 * @st: state machine.
 *
 * In descending id order (dependents before what they depend on) an ACTIVE
 * device is deactivated (ACTIVE -> READY) and every device that is not
 * OFFLINE is released to OFFLINE, all audited with source
 * DSMIL_SRC_UNLOAD.  Release is not a transition a request could make: it
 * is the driver letting go of the device.  Afterwards the state machine
 * refuses requests (-ENODEV) and ignores fault reports.  Idempotent.
 */
VISIBLE_IF_KUNIT void dsmil_state_shutdown(struct dsmil_state *st)
{
	unsigned int id;

	mutex_lock(&st->lock);
	if (st->dead) {
		mutex_unlock(&st->lock);
		return;
	}
	write_seqcount_begin(&st->seq);
	for (id = DSMIL_NUM_DEVICES; id-- > 0; ) {
		if (st->dev[id].state == DSMIL_DEV_ACTIVE)
			dsmil_state_set(st, id, DSMIL_DEV_READY,
					DSMIL_REASON_UNLOAD, DSMIL_SRC_UNLOAD);
		if (st->dev[id].state != DSMIL_DEV_OFFLINE)
			dsmil_state_set(st, id, DSMIL_DEV_OFFLINE,
					DSMIL_REASON_UNLOAD, DSMIL_SRC_UNLOAD);
	}
	st->dead = true;
	write_seqcount_end(&st->seq);
	mutex_unlock(&st->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_shutdown);

/**
 * dsmil_state_exit - take every device down at unload.
 * @st: state machine.
 *
 * The lock is deliberately not destroyed: the SMI engine is torn down
 * after this and may still report a fault for a request that finishes
 * late; dsmil_state_report_fault() takes the lock and finds the state
 * machine dead.
 */
void dsmil_state_exit(struct dsmil_state *st)
{
	dsmil_state_shutdown(st);
}

/**
 * dsmil_state_transitions - accepted state changes since load.
 * @st: state machine.
 *
 * Return: the count, over all devices and sources.
 */
u64 dsmil_state_transitions(struct dsmil_state *st)
{
	return atomic64_read(&st->transitions);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_transitions);
