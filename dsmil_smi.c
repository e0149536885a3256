// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: SMI engine.
 *
 * Token reads and writes go to a backend shaped like a polled SMI interface
 * (submit, poll a status register, abort, reset).  The engine guarantees:
 *
 *  - one request at the hardware at a time: whoever holds hw_owned is the
 *    only context that calls the backend.  A caller that finds the engine
 *    idle drives its own request (no context switch on the common path);
 *    everything else is queued for an ordered workqueue item that drains the
 *    queue.  Synchronous backends (a call that cannot be interrupted) always
 *    run from the worker, so their callers can still give up in time.
 *  - a bounded wait for every caller: a request carries a deadline (arrival
 *    + smi_timeout_ms) that covers queueing, spacing, busy retries and
 *    polling; the owner enforces it at the hardware (abort), the caller
 *    enforces it while queued (removal, nothing touched), and a fatal signal
 *    ends either wait.
 *  - no use-after-free when a caller leaves: queued requests are
 *    refcounted; a caller driving its own request keeps it on its stack and,
 *    if it must leave while the SMI runs, hands the worker a copy.  A
 *    request at the hardware whose caller left stays owned by the engine
 *    (and pins the module) until the backend lets go of it.
 *  - the hand-off check: immediately before every submit, on every path
 *    (caller-driven, worker, after the spacing wait, before each busy
 *    retry), the request is checked again against its device's current
 *    state and the write policy under the lock every state change takes
 *    (dsmil_state_handoff_begin()); a write that passes is counted until
 *    the hardware is done with it, so an emergency stop waits for it, and
 *    one that fails ends untouched.  A request checked once on arrival may
 *    have waited long enough for the device to be stopped.
 *  - hang detection: busy with an unchanged status for smi_hang_ms is a hang,
 *    declared before the deadline; garbage status counts as a fault.  A
 *    timeout at the hardware puts the device in ERROR only if the request
 *    had smi_hang_ms there (one handed over with less time left ran out
 *    of it in the queue); it is a fault towards FAULTED either way.
 *  - no invented outcomes: a synchronous call (which cannot be aborted)
 *    still running at its caller's deadline is reported as in doubt
 *    (-EINPROGRESS, with the request id), and its final outcome is recorded
 *    under that id when the call returns (DSMIL_IOC_SMI_RESULT, counters,
 *    one "smi-late" line).  A call that returns a result keeps it, however
 *    slow (a slow one counts towards FAULTED, never as a hang).
 *    The same holds on a polled backend when the caller's verdict wait
 *    ends with its request still at the hardware, and when an abort fails:
 *    that request may still run until a reset, so a write keeps its
 *    hand-off open (a stop reports it in doubt) and its outcome is
 *    recorded as unknown when DSMIL_IOC_SMI_RECOVER resets the interface.
 *  - FAULTED after smi_fault_limit consecutive faults (or one failed abort):
 *    requests fail at once until DSMIL_IOC_SMI_RECOVER resets the backend,
 *    with exponential backoff between failed recoveries.
 *  - Dell timing: smi_min_interval_us between the end of one SMI and the
 *    start of the next, and bounded retries with backoff for busy-at-submit
 *    only, never for errors.
 *
 * Every request is counted exactly once, when it finishes, under the lock;
 * see struct dsmil_smi_status for the counters and their identity.  The
 * counting, the log lines, the outcome ring and the status snapshot are in
 * dsmil_smi_stats.c; which backend the engine drives, and the token
 * requests made of it, are the token layer's (dsmil_smi_token.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

/* Poll by spinning this long after submit, then sleep (iopoll style). */
#define DSMIL_SMI_SPIN_NS	(5 * NSEC_PER_USEC)
#define DSMIL_SMI_POLL_MIN_NS	(10 * NSEC_PER_USEC)
#define DSMIL_SMI_POLL_MAX_NS	(1 * NSEC_PER_MSEC)
/* Backoff between retries of a busy-at-submit, doubling. */
#define DSMIL_SMI_RETRY_MIN_NS	(50 * NSEC_PER_USEC)
#define DSMIL_SMI_RETRY_MAX_NS	(2 * NSEC_PER_MSEC)
/* Backoff after a failed recovery, doubling. */
#define DSMIL_SMI_BACKOFF_MIN_MS	100
#define DSMIL_SMI_BACKOFF_MAX_MS	10000

/* Incident, refused-input and state lines: 10 per 5 s, each its own. */
#define DSMIL_SMI_RL_INTERVAL	(5 * HZ)
#define DSMIL_SMI_RL_BURST	10

static int dsmil_smi_outcome_errno(const struct dsmil_smi_req *req)
{
	switch (req->outcome) {
	case DSMIL_SMI_OUT_SUCCESS:
		return 0;
	case DSMIL_SMI_OUT_ERROR_STATUS:
		return dsmil_smi_status_errno(req->status);
	case DSMIL_SMI_OUT_BUSY:
		return -EBUSY;
	case DSMIL_SMI_OUT_CANCELLED:
		return -EINTR;
	case DSMIL_SMI_OUT_TIMEOUT:
	case DSMIL_SMI_OUT_QUEUE_TIMEOUT:
	case DSMIL_SMI_OUT_HANG:
		return -ETIMEDOUT;
	case DSMIL_SMI_OUT_FAULTED:
		return -ESHUTDOWN;
	case DSMIL_SMI_OUT_REFUSED:
		return req->refused;
	default:
		return -EIO;
	}
}

void dsmil_smi_req_release(struct kref *ref)
{
	kfree(container_of(ref, struct dsmil_smi_req, ref));
}

/* Enter FAULTED.  Called with smi->lock held; returns true if it just did. */
static bool dsmil_smi_set_faulted(struct dsmil_smi *smi)
{
	lockdep_assert_held(&smi->lock);
	if (smi->faulted)
		return false;
	WRITE_ONCE(smi->faulted, true);
	smi->faulted_since = ktime_get();
	smi->cnt.faulted_entries++;
	return true;
}

/*
 * Does a timeout at the hardware say something about its device?  Only if
 * @req had at least smi_hang_ms there: one the queue (or the spacing)
 * handed over with less time left spent its deadline waiting behind
 * others, and ran out of time for the engine's queueing, not for anything
 * the device did.  Its caller still gets -ETIMEDOUT and the device keeps
 * its state.  The interface is judged either way: every timeout at the
 * hardware is a fault towards FAULTED, so one that never answers is taken
 * out of service however loaded its queue.
 */
static bool dsmil_smi_timeout_blames(const struct dsmil_smi *smi,
				     const struct dsmil_smi_req *req)
{
	return ktime_to_ns(ktime_sub(req->deadline, req->submit_time)) >=
	       smi->hang_ns;
}

/*
 * Book a finished request: counters, fault accounting, FAULTED.  Called with
 * smi->lock held.  Returns true if the backend just became FAULTED.
 */
static bool dsmil_smi_account(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	struct dsmil_smi_counters *c = &smi->cnt;
	bool fault = false;
	u64 ns = ktime_to_ns(ktime_sub(req->end, req->start));

	lockdep_assert_held(&smi->lock);

	/* An orphan's caller was counted when it left (single-flight). */
	if (!req->orphaned)
		dsmil_smi_count(smi, req->outcome, ns);
	c->retries += req->retries;
	if (req->spacing_ns) {
		c->spacing_waits++;
		c->spacing_wait_ns += req->spacing_ns;
	}
	if (req->aborted) {
		c->aborts++;
		if (req->aborted < 0)
			c->abort_failures++;
	}
	if (req->abandoned)
		c->abandoned++;
	/*
	 * Its caller was told "in doubt": this is the outcome, late.  Not
	 * for one a failed abort left running: dsmil_smi_end_stuck() counts
	 * it when a reset ends it.
	 */
	if (req->in_doubt && req->aborted >= 0) {
		if (req->outcome == DSMIL_SMI_OUT_SUCCESS)
			c->late_successes++;
		else
			c->late_failures++;
	}

	switch (req->outcome) {
	case DSMIL_SMI_OUT_SUCCESS:
	case DSMIL_SMI_OUT_ERROR_STATUS:
		/*
		 * A well-formed answer: the interface works.  Unless a
		 * synchronous call took longer than smi_hang_ms to give it:
		 * the answer stands (the firmware did what it says), but a
		 * firmware that stalls the machine that long again and again
		 * is taken out of service like one that hangs.
		 */
		if (req->slow) {
			smi->consecutive++;
			fault = true;
		} else {
			smi->consecutive = 0;
		}
		break;
	case DSMIL_SMI_OUT_GARBAGE:
	case DSMIL_SMI_OUT_TIMEOUT:
	case DSMIL_SMI_OUT_HANG:
		smi->consecutive++;
		fault = true;
		break;
	default:
		/* Never reached the hardware, or it was only busy. */
		break;
	}

	/*
	 * After a failed abort nobody knows whether the SMI still runs: stop
	 * sending until an administrator resets the interface.
	 */
	if (req->aborted < 0 ||
	    (fault && smi->consecutive >= smi->cfg.fault_limit))
		return dsmil_smi_set_faulted(smi);
	return false;
}

/*
 * The hand-off: the last check of @req before the hardware sees it, made
 * by the hardware owner immediately before every ->submit() (so after any
 * wait: the queue, the spacing, a busy retry's backoff).  It asks the state
 * machine under the lock every state change takes
 * (dsmil_state_handoff_begin()): the device must still allow the access,
 * and for a write allow_writes and lockdown are asked again.  A write that
 * passes is counted there until dsmil_smi_unfence(), and an emergency stop
 * waits for it; one that fails is ended untouched.  Called with no lock
 * held: the check may call the LSM (lockdown) and takes the state machine's
 * spinlock.
 *
 * Return: 0, or the errno refusing the request (-ENODEV, -EPERM, -EACCES).
 */
static int dsmil_smi_fence(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	struct dsmil_state *st = &dsmil_from_smi(smi)->state;
	int ret;

	if (WARN_ON_ONCE(req->fenced))
		return 0;
	if (req->flags & DSMIL_SMI_F_VERIFY) {
		/*
		 * The INITIALIZING -> READY verification reads a device that
		 * is INITIALIZING by design, which the read rule (READY or
		 * ACTIVE) would refuse: check for that state instead.  It is
		 * a read, which a stop does not wait for, and the state
		 * machine commits its result only if the device did not move
		 * meanwhile; this only keeps it off the hardware once a stop
		 * (or anything else) has moved the device on.
		 */
		if (READ_ONCE(st->dev[req->dev_id].state) !=
		    DSMIL_DEV_INITIALIZING)
			return -ENODEV;
		return 0;
	}
	ret = dsmil_state_handoff_begin(st, req->dev_id,
					req->cmd.op == DSMIL_SMI_OP_WRITE);
	if (!ret)
		req->fenced = true;
	return ret;
}

/* The hardware is done with @req (or never took it): a stop need not wait. */
static void dsmil_smi_unfence(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	if (!req->fenced)
		return;
	req->fenced = false;
	dsmil_state_handoff_end(&dsmil_from_smi(smi)->state, req->dev_id,
				req->cmd.op == DSMIL_SMI_OP_WRITE);
}

/*
 * The final outcome of @req is known: id, token, op, value (req->value),
 * result, and whether its caller was told it was in doubt.  Called exactly
 * once for every request that reached the engine (queued or at the
 * hardware, refused at the hand-off included), by whoever finishes it,
 * with no lock held, after the hardware was released and before a waiting
 * caller is woken.  This is the hook for the write audit trail.
 */
static void dsmil_smi_outcome_known(struct dsmil_smi *smi,
				    const struct dsmil_smi_req *req)
{
	dsmil_smi_trace_req(smi, req);
	/*
	 * A write whose caller left before it ended (told -EINPROGRESS, or
	 * killed) has an audit record that could not say how it ended: this
	 * one does, under the same request id.
	 */
	if (req->cmd.op == DSMIL_SMI_OP_WRITE &&
	    (req->in_doubt || req->abandoned))
		dsmil_waudit_late(&dsmil_from_smi(smi)->waudit, req->id,
				  req->dev_id, req->cmd.token, req->result,
				  false);
}

/*
 * @req's abort failed: nobody knows whether the interface still runs it,
 * and only a reset will end it for sure.  A caller still waiting is told it
 * is in doubt (one that left was told -EINTR, or -EINPROGRESS already); a
 * write keeps its hand-off open (an emergency stop reports it in doubt
 * rather than pretend it is over); the module stays pinned, as for any
 * request at the hardware; its outcome is recorded when the reset ends it
 * (dsmil_smi_end_stuck()).  Called with smi->lock held; the engine is
 * FAULTED from now on, so there is never a second one.
 */
static void dsmil_smi_keep_stuck(struct dsmil_smi *smi,
				 struct dsmil_smi_req *req)
{
	lockdep_assert_held(&smi->lock);
	WARN_ON_ONCE(smi->stuck.id);
	if (!req->in_doubt && !req->abandoned && !req->orphaned) {
		req->in_doubt = true;
		smi->cnt.in_doubt++;
	}
	if (!req->pinned)
		__module_get(THIS_MODULE);
	smi->stuck = (struct dsmil_smi_stuck){
		.id = req->id,
		.start = req->start,
		.dev_id = req->dev_id,
		.token = req->cmd.token,
		.op = req->cmd.op,
		.fenced = req->fenced,
		.abandoned = req->abandoned,
		.in_doubt = req->in_doubt,
	};
	/* The engine holds the hand-off and the module now, not @req. */
	req->fenced = false;
	req->pinned = false;
}

/*
 * The backend was reset: a request a failed abort left at the interface
 * has ended, how is not known.  (At exit, for a KUnit instance, the engine
 * lets go of it unreset: the module's own instance cannot get there, the
 * request pins the module.)  Record it (DSMIL_SMI_RESULT_F_UNKNOWN,
 * -ETIMEDOUT), count a late failure if its caller was told it was in
 * doubt, end its hand-off, audit and log it, unpin the module.  Called
 * with no lock held by the context that owns the hardware (or at exit).
 */
static void dsmil_smi_end_stuck(struct dsmil_smi *smi)
{
	struct dsmil_smi_stuck sk;
	ktime_t now = ktime_get();

	spin_lock(&smi->lock);
	sk = smi->stuck;
	smi->stuck.id = 0;
	if (sk.id)
		dsmil_smi_record_stuck(smi, &sk, now);
	spin_unlock(&smi->lock);
	if (!sk.id)
		return;

	if (sk.fenced)
		dsmil_state_handoff_end(&dsmil_from_smi(smi)->state, sk.dev_id,
					sk.op == DSMIL_SMI_OP_WRITE);
	if (sk.op == DSMIL_SMI_OP_WRITE)
		dsmil_waudit_late(&dsmil_from_smi(smi)->waudit, sk.id,
				  sk.dev_id, sk.token, -ETIMEDOUT, true);
	/* Last, as before the split: the line names what is now recorded. */
	dsmil_smi_log_stuck(smi, &sk, now);
	module_put(THIS_MODULE);
}

/*
 * Finish @req with @out: end its hand-off, count and record it, release
 * the hardware if @owner, log, report a device fault, wake the caller and
 * drop the engine's reference.  Called with no lock held.
 */
void dsmil_smi_finish(struct dsmil_smi *smi, struct dsmil_smi_req *req,
		      enum dsmil_smi_outcome out, bool owner)
{
	struct dsmil_smi_share *sh;
	bool became_faulted, kick, pinned, wake = false;
	/* Its abort failed: the interface may still be running it. */
	bool stuck = req->aborted < 0;
	int err;

	/*
	 * First: a stop waiting for this write may go on (unless it may
	 * still land), and the fault report below takes the state machine's
	 * lock.
	 */
	if (!stuck)
		dsmil_smi_unfence(smi, req);
	req->outcome = out;
	err = dsmil_smi_outcome_errno(req);
	/*
	 * A timeout whose abort failed is not known to have failed: a
	 * caller still waiting hears "in doubt", and the outcome waits for
	 * the reset.  Set before the request is seen FINISHED below.
	 */
	req->result = stuck && !req->abandoned ? -EINPROGRESS : err;
	req->end = ktime_get();
	req->late_start = out == DSMIL_SMI_OUT_TIMEOUT &&
			  !dsmil_smi_timeout_blames(smi, req);

	spin_lock(&smi->lock);
	if (stuck)
		dsmil_smi_keep_stuck(smi, req);
	became_faulted = dsmil_smi_account(smi, req);
	/* Out of its slot in the same section that frees the hardware. */
	sh = dsmil_smi_flight_publish(smi, req, stuck);
	if (!stuck)
		dsmil_smi_record(smi, req);
	req->stage = DSMIL_SMI_FINISHED;
	if (!req->orphaned)
		smi->in_flight--;
	if (owner) {
		smi->hw_owned = false;
		smi->hw_id = 0;
		/* A suspend waits for the hardware to be let go. */
		wake = smi->suspended;
	}
	kick = !list_empty(&smi->queue) && current_work() != &smi->work;
	pinned = req->pinned;
	spin_unlock(&smi->lock);

	if (kick)
		queue_work(smi->wq, &smi->work);
	if (wake)
		wake_up_all(&smi->idle_wq);

	dsmil_smi_log(smi, req, became_faulted);
	if (became_faulted)
		dsmil_smi_event_faulted(smi, req);
	if (!stuck)
		dsmil_smi_outcome_known(smi, req);

	/* Before waking the caller, so that it sees the device in ERROR. */
	if ((out == DSMIL_SMI_OUT_HANG ||
	     (out == DSMIL_SMI_OUT_TIMEOUT && !req->late_start)) &&
	    !(req->flags & DSMIL_SMI_F_NOREPORT) && smi->cfg.report_fault)
		smi->cfg.report_fault(smi->cfg.fault_ctx, req->dev_id, err);

	/* The callers that joined it, then its own. */
	dsmil_smi_flight_done(sh);
	/* Its caller is the one finishing it: nobody to wake, no references. */
	if (req->onstack)
		return;
	/* An asynchronous request: its submitter hears it here. */
	if (req->complete)
		req->complete(req, req->complete_ctx);
	complete(&req->done);
	kref_put(&req->ref, dsmil_smi_req_release);
	/*
	 * Only the worker finishes abandoned requests, and dsmil_smi_exit()
	 * destroys its workqueue before the module text can go away.
	 */
	if (pinned)
		module_put(THIS_MODULE);
}

/* Sleep until @until (absolute); a fatal signal ends it early if @killable. */
static void dsmil_smi_sleep_until(ktime_t until, u64 slack_ns, bool killable)
{
	__set_current_state(killable ? TASK_KILLABLE : TASK_UNINTERRUPTIBLE);
	schedule_hrtimeout_range(&until, slack_ns, HRTIMER_MODE_ABS);
}

static void dsmil_smi_abort(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	int ret = smi->ops->abort ? smi->ops->abort(smi->priv) : -EOPNOTSUPP;

	req->aborted = ret ? -1 : 1;
	req->abort_err = ret;
}

/*
 * Spacing, then the hand-off check and submit, with bounded busy retries
 * (each checked again).  Returns SUCCESS when the backend accepted @req
 * (a passed hand-off then stays open until dsmil_smi_finish()), else the
 * outcome that ends it (hardware untouched, no hand-off open).
 */
static enum dsmil_smi_outcome dsmil_smi_start(struct dsmil_smi *smi,
					      struct dsmil_smi_req *req,
					      ktime_t now, bool killable)
{
	u64 backoff = DSMIL_SMI_RETRY_MIN_NS;
	ktime_t t;
	int ret;

	for (;; now = ktime_get()) {
		if (!ktime_before(now, req->deadline))
			return DSMIL_SMI_OUT_QUEUE_TIMEOUT;

		/* Dell timing: the firmware wants a pause between SMIs. */
		t = ktime_add_ns(smi->last_end, smi->interval_ns);
		if (smi->interval_ns && ktime_before(now, t)) {
			if (!ktime_before(t, req->deadline))
				return DSMIL_SMI_OUT_QUEUE_TIMEOUT;
			dsmil_smi_sleep_until(t, 0, killable);
			req->spacing_ns += ktime_to_ns(ktime_sub(ktime_get(),
								 now));
			if (killable && fatal_signal_pending(current))
				return DSMIL_SMI_OUT_CANCELLED;
			continue;
		}

		/* The check that holds: after every wait, before the hardware. */
		ret = dsmil_smi_fence(smi, req);
		if (ret) {
			req->refused = ret;
			return DSMIL_SMI_OUT_REFUSED;
		}
		req->submit_time = now;
		ret = smi->ops->submit(smi->priv, &req->cmd);
		if (ret != -EBUSY)
			break;

		/*
		 * Busy at submit: someone else has the interface; retry,
		 * checked again then (the device may be stopped meanwhile).
		 */
		dsmil_smi_unfence(smi, req);
		if (req->retries >= smi->cfg.busy_retries)
			return DSMIL_SMI_OUT_BUSY;
		t = ktime_add_ns(ktime_get(), backoff);
		if (!ktime_before(t, req->deadline))
			return DSMIL_SMI_OUT_BUSY;
		req->retries++;
		dsmil_smi_sleep_until(t, backoff / 4, killable);
		if (killable && fatal_signal_pending(current))
			return DSMIL_SMI_OUT_CANCELLED;
		backoff = min_t(u64, backoff * 2, DSMIL_SMI_RETRY_MAX_NS);
	}

	if (ret) {
		dsmil_smi_unfence(smi, req);
		return DSMIL_SMI_OUT_SUBMIT_FAILED;
	}
	req->submitted = true;
	req->last_status = UINT_MAX;	/* no status read yet */
	req->last_change = now;
	return DSMIL_SMI_OUT_SUCCESS;
}

/* Map a final (non-busy) status to an outcome. */
static enum dsmil_smi_outcome dsmil_smi_final(struct dsmil_smi *smi,
					      struct dsmil_smi_req *req,
					      u8 st, u32 value)
{
	req->status = st;
	switch (dsmil_smi_classify(st)) {
	case DSMIL_ST_DONE:
		req->value = value;
		return DSMIL_SMI_OUT_SUCCESS;
	case DSMIL_ST_ERROR:
		return DSMIL_SMI_OUT_ERROR_STATUS;
	default:
		/* Nobody knows what the interface is doing: stop it. */
		if (!smi->ops->synchronous)
			dsmil_smi_abort(smi, req);
		return DSMIL_SMI_OUT_GARBAGE;
	}
}

/*
 * A synchronous backend did the whole SMI in ->submit(): judge the call by
 * what it returned.  However long it took, the firmware did what it says:
 * a result is never turned into a hang (the device would go to ERROR for a
 * write that was applied).  A call longer than smi_hang_ms is only marked
 * slow: logged, and counted towards FAULTED.
 */
static enum dsmil_smi_outcome dsmil_smi_judge_sync(struct dsmil_smi *smi,
						   struct dsmil_smi_req *req)
{
	u64 call_ns = ktime_to_ns(ktime_sub(ktime_get(), req->submit_time));
	u32 value = 0;
	u8 st;

	req->slow = call_ns > smi->hang_ns;
	st = smi->ops->status(smi->priv, &value);
	if (dsmil_smi_classify(st) == DSMIL_ST_BUSY)
		st = DSMIL_SMI_ST_GARBAGE;	/* "still busy" makes no sense */
	return dsmil_smi_final(smi, req, st, value);
}

/*
 * The caller of on-stack @req is dying while its SMI runs: give the worker
 * a copy that it finishes (and the hardware with it), pinning the module
 * until then.  Returns false when there is no memory for the copy; the
 * caller then finishes the SMI itself, still within its deadline.
 */
static bool dsmil_smi_handoff(struct dsmil_smi *smi,
			      const struct dsmil_smi_req *req)
{
	struct dsmil_smi_req *copy;

	if (WARN_ON_ONCE(!req->onstack))
		return false;
	/*
	 * No reclaim: this context owns the hardware and enforces the
	 * deadline; it must not stall in the allocator.
	 */
	copy = kmemdup(req, sizeof(*req), GFP_NOWAIT | __GFP_NOWARN);
	if (!copy)
		return false;
	/*
	 * The copy carries the request's open hand-off (@fenced) with it:
	 * the worker ends it when the SMI ends, and the original, whose
	 * caller only returns, never does.
	 */
	copy->onstack = false;
	kref_init(&copy->ref);		/* the engine's: the caller has left */
	INIT_LIST_HEAD(&copy->node);
	init_completion(&copy->done);

	spin_lock(&smi->lock);
	/* Readers that joined it wait on: the copy publishes to them. */
	dsmil_smi_flight_moved(smi, req, copy);
	copy->abandoned = true;
	copy->pinned = true;
	__module_get(THIS_MODULE);
	smi->handoff = copy;
	spin_unlock(&smi->lock);
	queue_work(smi->wq, &smi->work);
	return true;
}

/*
 * Drive @req at the hardware from @now on; the caller owns the hardware.
 * Returns true when @req is finished (and the hardware released), false
 * when a fatal signal made a @killable caller hand it, still running, to the
 * worker.
 */
static bool dsmil_smi_drive(struct dsmil_smi *smi, struct dsmil_smi_req *req,
			    ktime_t now, bool killable)
{
	const struct dsmil_smi_ops *ops = smi->ops;
	u64 interval = DSMIL_SMI_POLL_MIN_NS;
	enum dsmil_smi_outcome out;
	ktime_t t, spin_end;
	u32 value;
	u8 st;

	if (!req->submitted) {
		out = dsmil_smi_start(smi, req, now, killable);
		if (out != DSMIL_SMI_OUT_SUCCESS)
			goto finish;
		if (ops->synchronous) {
			out = dsmil_smi_judge_sync(smi, req);
			goto ended;
		}
	}

	spin_end = ktime_add_ns(req->submit_time, DSMIL_SMI_SPIN_NS);
	for (;;) {
		value = 0;
		st = ops->status(smi->priv, &value);
		if (dsmil_smi_classify(st) != DSMIL_ST_BUSY) {
			out = dsmil_smi_final(smi, req, st, value);
			goto ended;
		}
		now = ktime_get();
		req->status = st;
		if (st != req->last_status) {
			req->last_status = st;
			req->last_change = now;
		} else if (ktime_to_ns(ktime_sub(now, req->last_change)) >=
			   smi->hang_ns) {
			dsmil_smi_abort(smi, req);
			out = DSMIL_SMI_OUT_HANG;
			goto ended;
		}
		if (!ktime_before(now, req->deadline)) {
			dsmil_smi_abort(smi, req);
			out = DSMIL_SMI_OUT_TIMEOUT;
			goto ended;
		}

		/* Short SMIs: spin a few microseconds before sleeping. */
		if (ktime_before(now, spin_end)) {
			udelay(1);
			continue;
		}
		if (killable && fatal_signal_pending(current)) {
			if (dsmil_smi_handoff(smi, req))
				return false;
			killable = false;
		}

		/* Wake for the next poll, the hang threshold or the deadline. */
		t = ktime_add_ns(now, interval);
		t = min_t(ktime_t, t,
			  ktime_add_ns(req->last_change, smi->hang_ns));
		t = min_t(ktime_t, t, req->deadline);
		dsmil_smi_sleep_until(t, interval / 4, killable);
		interval = min_t(u64, interval * 2, DSMIL_SMI_POLL_MAX_NS);
	}

ended:
	/* Only the spacing needs to know when the last SMI ended. */
	if (smi->interval_ns)
		smi->last_end = ktime_get();
finish:
	dsmil_smi_finish(smi, req, out, true);
	return true;
}

/*
 * The worker waits out the spacing before it chooses the next request, not
 * after: the readers the last call answered come back meanwhile, and the
 * choice (dsmil_smi_flight_pick()) sees their reads.  Not when the queue
 * is to be refused (FAULTED, dying: at once, as ever), nor when the oldest
 * request's deadline ends within the pause (dsmil_smi_start() ends it as
 * a queue timeout then, without waiting).  Returns true, and the end of
 * the pause in @until, if the worker is to sleep first.
 */
static bool dsmil_smi_spacing_first(struct dsmil_smi *smi, ktime_t *until)
{
	struct dsmil_smi_req *head;

	lockdep_assert_held(&smi->lock);
	if (!smi->interval_ns || smi->faulted || smi->dying)
		return false;
	*until = ktime_add_ns(smi->last_end, smi->interval_ns);
	if (!ktime_before(ktime_get(), *until))
		return false;
	head = list_first_entry(&smi->queue, struct dsmil_smi_req, node);
	return ktime_before(*until, head->deadline);
}

/* The hardware owner for queued and handed-off requests. */
static void dsmil_smi_work(struct work_struct *work)
{
	struct dsmil_smi *smi = container_of(work, struct dsmil_smi, work);
	struct dsmil_smi_req *req;
	ktime_t spacing, t0;
	u64 slept = 0;
	bool reject;

	for (;;) {
		reject = false;
		spin_lock(&smi->lock);
		/*
		 * A hand-off is at the hardware already: finish it, suspended
		 * or not.  The queue waits while suspended (resume kicks us).
		 */
		if (!smi->handoff &&
		    (smi->hw_owned || smi->suspended ||
		     list_empty(&smi->queue))) {
			/* The owner kicks us again when it is done. */
			spin_unlock(&smi->lock);
			return;
		}
		if (smi->handoff) {
			/* The hardware is ours already. */
			req = smi->handoff;
			smi->handoff = NULL;
		} else {
			if (dsmil_smi_spacing_first(smi, &spacing)) {
				spin_unlock(&smi->lock);
				t0 = ktime_get();
				dsmil_smi_sleep_until(spacing, 0, false);
				slept += ktime_to_ns(ktime_sub(ktime_get(), t0));
				continue;
			}
			req = dsmil_smi_flight_pick(smi);
			/* The pause it had, even if it was not first then. */
			req->spacing_ns += slept;
			slept = 0;
			list_del_init(&req->node);
			req->stage = DSMIL_SMI_RUNNING;
			reject = smi->faulted || smi->dying;
			if (!reject) {
				smi->hw_owned = true;
				smi->hw_id = req->id;
			}
		}
		spin_unlock(&smi->lock);

		if (reject)
			dsmil_smi_finish(smi, req, DSMIL_SMI_OUT_FAULTED, false);
		else
			dsmil_smi_drive(smi, req, ktime_get(), false);
		cond_resched();
	}
}

/*
 * How long past its deadline a caller waits for the engine's verdict on a
 * polled request at the hardware: two ticks cover the engine's poll
 * interval; a synchronous backend cannot be waited for (see below).
 */
#define DSMIL_SMI_VERDICT_WAIT	2

/*
 * Wait for a queued request; returns its result or why the wait ended:
 * -EINPROGRESS (and @req->in_doubt) when the deadline passed with the
 * request at the hardware and no verdict, -EINTR for a fatal signal.
 */
/*
 * One killable wait for @req's completion, of at most @tmo jiffies (a KUnit
 * seam: a test makes it end early, as a jiffies timer can).
 */
VISIBLE_IF_KUNIT long dsmil_smi_wait_done(struct dsmil_smi_req *req,
					  unsigned long tmo)
{
	KUNIT_STATIC_STUB_REDIRECT(dsmil_smi_wait_done, req, tmo);
	return wait_for_completion_killable_timeout(&req->done, tmo);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_wait_done);

static int dsmil_smi_wait(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	long w;

	/*
	 * The deadline is ktime; the wait counts jiffies, which can end a
	 * tick early and, on a periodic tick, run a little fast against
	 * ktime (0.2% under TCG).  Wait again until the deadline has passed:
	 * a caller told "in doubt" before its deadline was told too early.
	 */
	do {
		s64 left = ktime_to_ns(ktime_sub(req->deadline, ktime_get()));

		w = dsmil_smi_wait_done(req, left > 0 ?
					nsecs_to_jiffies(left) + 1 : 0);
	} while (!w && ktime_before(ktime_get(), req->deadline));
	if (w > 0)
		return req->result;

	spin_lock(&smi->lock);
	if (!w && req->stage == DSMIL_SMI_RUNNING && !smi->ops->synchronous) {
		/*
		 * A polled request at the hardware: the engine enforces the
		 * same deadline itself and is aborting it now, or has just
		 * seen it complete.  Wait briefly for its verdict, so that
		 * -ETIMEDOUT means "aborted" (its device in ERROR if it had
		 * smi_hang_ms there) and a request that did complete is not
		 * reported as timed out.
		 */
		spin_unlock(&smi->lock);
		w = wait_for_completion_killable_timeout(&req->done,
							 DSMIL_SMI_VERDICT_WAIT);
		if (w > 0)
			return req->result;
		spin_lock(&smi->lock);
	}
	switch (req->stage) {
	case DSMIL_SMI_QUEUED:
		/* Callers joined it: it stays queued for them. */
		if (dsmil_smi_flight_orphan(smi, req, w ?
					    DSMIL_SMI_OUT_CANCELLED :
					    DSMIL_SMI_OUT_QUEUE_TIMEOUT)) {
			spin_unlock(&smi->lock);
			return w ? -EINTR : -ETIMEDOUT;
		}
		/* Never reached the hardware: take it back. */
		list_del_init(&req->node);
		req->stage = DSMIL_SMI_RUNNING;
		dsmil_smi_flight_untrack(smi, req);
		spin_unlock(&smi->lock);
		dsmil_smi_finish(smi, req, w ? DSMIL_SMI_OUT_CANCELLED :
				 DSMIL_SMI_OUT_QUEUE_TIMEOUT, false);
		return req->result;
	case DSMIL_SMI_RUNNING:
		/* At the hardware: the engine keeps it until it ends. */
		req->abandoned = true;
		if (!req->pinned) {
			req->pinned = true;
			__module_get(THIS_MODULE);
		}
		/*
		 * A synchronous call cannot be aborted: it may still complete
		 * (and a write land).  A polled request with no verdict after
		 * the verdict wait has an owner that is late (preempted, or
		 * stuck in the backend's abort): it may complete too.  Saying
		 * -ETIMEDOUT would invent an outcome; say it is unknown, and
		 * record it when it is known.
		 */
		if (w) {
			spin_unlock(&smi->lock);
			return -EINTR;
		}
		req->in_doubt = true;
		smi->cnt.in_doubt++;
		spin_unlock(&smi->lock);
		return -EINPROGRESS;
	default:
		/* It finished as we gave up. */
		spin_unlock(&smi->lock);
		return req->result;
	}
}

/* dsmil_smi_wait_joined(): the joiner starts over as a caller of its own. */
#define DSMIL_SMI_REJOIN	1

/*
 * The read @w joined ended unsent for its own caller's reason
 * (dsmil_smi_flight.c): start over, unless @w's own wait is over too (its
 * deadline, a fatal signal): then it ends here, counted as it would have
 * been had it made its own request, with no id (none keeps its outcome).
 */
static int dsmil_smi_joined_unsent(struct dsmil_smi *smi,
				   const struct dsmil_smi_waiter *w,
				   struct dsmil_smi_reply *rep)
{
	enum dsmil_smi_outcome out;
	ktime_t now = ktime_get();

	if (fatal_signal_pending(current))
		out = DSMIL_SMI_OUT_CANCELLED;
	else if (!ktime_before(now, w->deadline))
		out = DSMIL_SMI_OUT_QUEUE_TIMEOUT;
	else
		return DSMIL_SMI_REJOIN;
	spin_lock(&smi->lock);
	dsmil_smi_count(smi, out, ktime_to_ns(ktime_sub(now, w->start)));
	spin_unlock(&smi->lock);
	rep->id = 0;
	rep->duration_ns = ktime_to_ns(ktime_sub(now, w->start));
	return out == DSMIL_SMI_OUT_CANCELLED ? -EINTR : -ETIMEDOUT;
}

/*
 * Wait as a caller that joined another's read (dsmil_smi_flight.c): its
 * own deadline and fatal signals bound the wait, as for a request of its
 * own, and leaving never ends the call for the others.  Fills @rep (the
 * shared request's id) and returns the caller's result, or
 * DSMIL_SMI_REJOIN when the read ended unsent and the caller must start
 * over (@rep untouched).
 */
static int dsmil_smi_wait_joined(struct dsmil_smi *smi,
				 struct dsmil_smi_share *sh,
				 struct dsmil_smi_waiter *w,
				 struct dsmil_smi_reply *rep)
{
	struct dsmil_smi_req *drop;
	bool unsent;
	long t;
	int ret;

	/* As dsmil_smi_wait(): jiffies may end a tick early; wait again. */
	do {
		s64 left = ktime_to_ns(ktime_sub(w->deadline, ktime_get()));

		t = wait_for_completion_killable_timeout(&sh->done, left > 0 ?
							 nsecs_to_jiffies(left) + 1 : 0);
	} while (!t && ktime_before(ktime_get(), w->deadline));
	if (t > 0) {
		ret = sh->result;
		goto ended;
	}

	spin_lock(&smi->lock);
	if (!t && sh->req && sh->req->stage == DSMIL_SMI_RUNNING &&
	    !smi->ops->synchronous) {
		/* A polled call at the hardware: its verdict is due now. */
		spin_unlock(&smi->lock);
		t = wait_for_completion_killable_timeout(&sh->done,
							 DSMIL_SMI_VERDICT_WAIT);
		if (t > 0) {
			ret = sh->result;
			goto ended;
		}
		spin_lock(&smi->lock);
	}
	/* Published meanwhile (sh->req gone): read under the same lock. */
	ret = dsmil_smi_flight_leave(smi, sh, w, t < 0, &drop);
	unsent = !sh->req && sh->unsent;
	spin_unlock(&smi->lock);
	/* An orphan nobody waits for: ended untouched, not counted again. */
	if (drop)
		dsmil_smi_finish(smi, drop, t < 0 ? DSMIL_SMI_OUT_CANCELLED :
				 DSMIL_SMI_OUT_QUEUE_TIMEOUT, false);
	goto out;
ended:
	/* Set before the completion that woke us. */
	unsent = sh->unsent;
out:
	if (unsent) {
		dsmil_smi_flight_put(sh);
		return dsmil_smi_joined_unsent(smi, w, rep);
	}
	rep->id = sh->id;
	rep->duration_ns = ktime_to_ns(ktime_sub(ktime_get(), w->start));
	rep->value = ret ? 0 : sh->value;
	rep->in_doubt = ret == -EINPROGRESS;
	dsmil_smi_flight_put(sh);
	return ret;
}

/**
 * dsmil_smi_enqueue - hand a heap request to the worker.
 * @smi:      SMI engine.
 * @req:      QUEUED, its caller's reference held; the engine takes its own.
 * @joinable: later reads of its token may share its call
 *            (dsmil_smi_flight.c); false for asynchronous requests, which
 *            a cancel by id may take back.
 *
 * Return: true when queued (and the worker kicked); false, with nothing
 * queued or counted, when the engine is FAULTED or going away.
 */
bool dsmil_smi_enqueue(struct dsmil_smi *smi, struct dsmil_smi_req *req,
		       bool joinable)
{
	bool rejected;

	spin_lock(&smi->lock);
	rejected = smi->faulted || smi->dying;
	if (!rejected) {
		smi->in_flight++;
		kref_get(&req->ref);	/* the engine's */
		list_add_tail(&req->node, &smi->queue);
		if (joinable)
			dsmil_smi_flight_track(smi, req);
	}
	spin_unlock(&smi->lock);
	if (rejected)
		return false;
	/* The worker drives the queue whenever the hardware is free. */
	queue_work(smi->wq, &smi->work);
	return true;
}

/**
 * dsmil_smi_exec - run one token request through the engine.
 * @smi:         SMI engine.
 * @cmd:         what to do; the token must be valid.
 * @dev_id:      device owning the token (hand-off check, fault reports,
 *               logs).
 * @flags:       DSMIL_SMI_F_*.
 * @rep:         out: request id, the caller's whole wait, the value read,
 *               whether the outcome is in doubt.
 *
 * The caller checks policy and the device's state first (refusing early
 * is cheap); the engine checks the state again at the hand-off, where it
 * holds.  A plain read (@flags 0) of a token that another read, queued or
 * at the hardware, is fetching shares that read's call
 * (dsmil_smi_flight.c); @rep then carries that request's id.  Sleeps;
 * returns within smi_timeout_ms (plus one tick).
 *
 * Return: 0 or a negative errno as DSMIL_IOC_TOKEN_READ documents.
 */
int dsmil_smi_exec(struct dsmil_smi *smi,
		   const struct dsmil_smi_cmd *cmd,
		   unsigned int dev_id, unsigned int flags,
		   struct dsmil_smi_reply *rep)
{
	ktime_t start = ktime_get();
	struct dsmil_smi_req *req, here = {
		.onstack = true,
		.cmd = *cmd,
		.dev_id = dev_id,
		.flags = flags,
		.stage = DSMIL_SMI_RUNNING,
		.start = start,
		.deadline = ktime_add_ns(start, smi->timeout_ns),
	};
	struct dsmil_smi_waiter me = {
		.start = start,
		.deadline = here.deadline,
	};
	struct dsmil_smi_share *sh = NULL;
	bool idle, rejected;
	int ret;

	memset(rep, 0, sizeof(*rep));
	/*
	 * What the backend refuses outright (a token the firmware does not
	 * have, one the kernel's Dell filter refuses) goes nowhere.
	 */
	if (smi->ops->check) {
		ret = smi->ops->check(smi->priv, cmd);
		if (ret) {
			dsmil_smi_refuse(smi, cmd, dev_id, flags, ret);
			return ret;
		}
	}
	here.id = dsmil_next_request_id(dsmil_from_smi(smi));
again:
	rep->id = here.id;

	/* FAULTED: fail at once, touch nothing (re-checked under the lock). */
	if (READ_ONCE(smi->faulted))
		goto faulted;

	/*
	 * The common case: a polled backend nobody is using.  Drive the SMI
	 * here, from the stack: no allocation, no context switch, nobody to
	 * wake.
	 */
	spin_lock(&smi->lock);
	rejected = smi->faulted || smi->dying;
	/* A read of this token on its way: share its call. */
	if (!rejected)
		sh = dsmil_smi_flight_join(smi, cmd, flags, &me);
	/* Suspended: queue it, held until resume or its deadline. */
	idle = !rejected && !sh && !smi->hw_owned &&
	       list_empty(&smi->queue) && !smi->ops->synchronous &&
	       !smi->suspended;
	if (idle) {
		smi->in_flight++;
		smi->hw_owned = true;
		smi->hw_id = here.id;
		dsmil_smi_flight_track(smi, &here);
	}
	spin_unlock(&smi->lock);
	if (rejected)
		goto faulted;
	if (sh) {
		ret = dsmil_smi_wait_joined(smi, sh, &me, rep);
		if (ret != DSMIL_SMI_REJOIN)
			return ret;
		/*
		 * The read ended unsent for its caller's reason: a request
		 * of our own (its id was never used), or a join of a read
		 * newer than ours, within our own deadline.
		 */
		sh = NULL;
		goto again;
	}
	if (idle) {
		if (!dsmil_smi_drive(smi, &here, start, true)) {
			/* Dying: the worker finishes a copy of it. */
			rep->duration_ns = ktime_to_ns(ktime_sub(ktime_get(),
								 start));
			return -EINTR;
		}
		rep->duration_ns = ktime_to_ns(ktime_sub(here.end, start));
		if (!here.result)
			rep->value = here.value;
		rep->in_doubt = here.result == -EINPROGRESS;
		return here.result;
	}

	/* Someone is at the hardware, or it must not be driven here: queue. */
	req = kmemdup(&here, sizeof(here), GFP_KERNEL);
	if (!req) {
		dsmil_smi_count_early(smi, DSMIL_SMI_OUT_SUBMIT_FAILED,
				      cmd->token, cmd->op, -ENOMEM, start);
		rep->id = 0;	/* nothing is kept under it */
		rep->duration_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
		return -ENOMEM;
	}
	req->onstack = false;
	req->stage = DSMIL_SMI_QUEUED;
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);

	if (!dsmil_smi_enqueue(smi, req, true)) {
		kfree(req);
		goto faulted;
	}
	ret = dsmil_smi_wait(smi, req);
	/*
	 * Left to its joiners (orphaned): it may yet succeed for them, and
	 * DSMIL_IOC_SMI_RESULT would report that under its id, not this
	 * caller's -EINTR or -ETIMEDOUT; nothing of this caller's outcome is
	 * kept, so no id is given, as for a request turned away.  Set under
	 * the lock before dsmil_smi_wait() returned.
	 */
	if (req->orphaned)
		rep->id = 0;
	rep->duration_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	if (!ret)
		rep->value = req->value;
	rep->in_doubt = ret == -EINPROGRESS;
	kref_put(&req->ref, dsmil_smi_req_release);
	return ret;

faulted:
	dsmil_smi_count_early(smi, DSMIL_SMI_OUT_FAULTED, cmd->token, cmd->op,
			      -ESHUTDOWN, start);
	/*
	 * Turned away before it reached the engine: no outcome is kept
	 * under its id (DSMIL_IOC_SMI_RESULT would say -ENOENT), so none is
	 * given.
	 */
	rep->id = 0;
	rep->duration_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	return -ESHUTDOWN;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_exec);

/**
 * dsmil_smi_recover - reset a FAULTED backend (DSMIL_IOC_SMI_RECOVER).
 * @smi: SMI engine.
 *
 * Return: 0 (recovered, or was not FAULTED), -EAGAIN (inside the backoff of
 * a failed recovery), -EBUSY (a request is still at the hardware), -EIO (the
 * reset failed; the backoff doubles).
 */
int dsmil_smi_recover(struct dsmil_smi *smi)
{
	unsigned int backoff = 0;
	ktime_t now = ktime_get();
	u64 faulted_ms = 0;
	bool kick, wake;
	int ret;

	/*
	 * Released by hand on each return below: scoped_guard() would do it,
	 * but the driver also builds against 6.1, which has no <linux/cleanup.h>.
	 */
	spin_lock(&smi->lock);
	if (!smi->faulted) {
		spin_unlock(&smi->lock);
		return 0;
	}
	if (ktime_before(now, smi->recover_after)) {
		spin_unlock(&smi->lock);
		return -EAGAIN;
	}
	if (smi->hw_owned || smi->dying) {
		spin_unlock(&smi->lock);
		return -EBUSY;
	}
	smi->hw_owned = true;
	spin_unlock(&smi->lock);

	ret = smi->ops->reset ? smi->ops->reset(smi->priv) : 0;
	/* A request a failed abort left behind has ended now. */
	if (!ret)
		dsmil_smi_end_stuck(smi);
	now = ktime_get();

	spin_lock(&smi->lock);
	smi->hw_owned = false;
	wake = smi->suspended;
	smi->last_end = now;
	if (!ret) {
		WRITE_ONCE(smi->faulted, false);
		smi->consecutive = 0;
		smi->backoff_ms = 0;
		smi->recover_after = 0;
		smi->cnt.recoveries++;
		faulted_ms = ktime_to_ms(ktime_sub(now, smi->faulted_since));
	} else {
		smi->backoff_ms = smi->backoff_ms ?
			min_t(unsigned int, smi->backoff_ms * 2,
			      DSMIL_SMI_BACKOFF_MAX_MS) :
			DSMIL_SMI_BACKOFF_MIN_MS;
		smi->recover_after = ktime_add_ms(now, smi->backoff_ms);
		smi->cnt.recovery_failures++;
		backoff = smi->backoff_ms;
	}
	kick = !list_empty(&smi->queue);
	spin_unlock(&smi->lock);

	if (kick)
		queue_work(smi->wq, &smi->work);
	if (wake)
		wake_up_all(&smi->idle_wq);

	dsmil_smi_log_recover(smi, ret, faulted_ms, backoff);
	if (!ret)
		dsmil_smi_event_recovered(smi, faulted_ms);
	return ret ? -EIO : 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_recover);

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * dsmil_smi_flush - wait until the worker has nothing left (KUnit).
 * @smi: SMI engine.
 */
void dsmil_smi_flush(struct dsmil_smi *smi)
{
	flush_workqueue(smi->wq);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_flush);
#endif

/**
 * dsmil_smi_resolve_config - the configuration the engine would run with.
 * @dev: the instance's device (its lines name it), or NULL.
 * @cfg: configuration; a timing not given at load (@backend_timeout,
 *       @backend_hang) becomes the backend's default.
 * @ops: the backend.
 *
 * Lets whoever sets the backend up refuse a bad configuration before it
 * does; dsmil_smi_init() makes the same check.
 *
 * Return: 0, or -EINVAL (logged) for a value outside its limits.
 */
int dsmil_smi_resolve_config(struct device *dev, struct dsmil_smi_config *cfg,
			     const struct dsmil_smi_ops *ops)
{
	/* Not given at load: the backend's own default, from its figures. */
	if (cfg->backend_timeout && ops->timeout_ms)
		cfg->timeout_ms = ops->timeout_ms;
	if (cfg->backend_hang && ops->hang_ms)
		cfg->hang_ms = ops->hang_ms;
	if (!cfg->timeout_ms || cfg->timeout_ms > DSMIL_SMI_TIMEOUT_MAX_MS) {
		dsmil_err(dev, "smi_timeout_ms=%u is outside 1..%u\n", cfg->timeout_ms,
			  DSMIL_SMI_TIMEOUT_MAX_MS);
		return -EINVAL;
	}
	if (!cfg->hang_ms || cfg->hang_ms >= cfg->timeout_ms) {
		dsmil_err(dev, "smi_hang_ms=%u must be 1..%u (below smi_timeout_ms=%u, so a hang is caught before the timeout)\n",
			  cfg->hang_ms, cfg->timeout_ms - 1, cfg->timeout_ms);
		return -EINVAL;
	}
	if (cfg->min_interval_us > DSMIL_SMI_INTERVAL_MAX_US ||
	    cfg->min_interval_us >= cfg->timeout_ms * USEC_PER_MSEC) {
		dsmil_err(dev, "smi_min_interval_us=%u must be at most %u and below smi_timeout_ms=%u\n",
			  cfg->min_interval_us, DSMIL_SMI_INTERVAL_MAX_US, cfg->timeout_ms);
		return -EINVAL;
	}
	if (!cfg->fault_limit || cfg->fault_limit > DSMIL_SMI_FAULT_LIMIT_MAX) {
		dsmil_err(dev, "smi_fault_limit=%u is outside 1..%u\n", cfg->fault_limit,
			  DSMIL_SMI_FAULT_LIMIT_MAX);
		return -EINVAL;
	}
	if (cfg->busy_retries > DSMIL_SMI_RETRIES_MAX) {
		dsmil_err(dev, "smi_busy_retries=%u is above %u\n", cfg->busy_retries,
			  DSMIL_SMI_RETRIES_MAX);
		return -EINVAL;
	}
	return 0;
}

/**
 * dsmil_smi_init - validate the configuration and start the engine.
 * @smi: engine to set up (zeroed, inside a struct dsmil).
 * @cfg: configuration; copied.
 * @tp:  the backend to drive and its data, set up by the caller (the token
 *       layer, dsmil_smi_tokens_init()), who releases it after
 *       dsmil_smi_exit().
 *
 * Return: 0, -EINVAL for a bad configuration, -ENOMEM.
 */
int dsmil_smi_init(struct dsmil_smi *smi, const struct dsmil_smi_config *cfg,
		   const struct dsmil_smi_transport *tp)
{
	struct dsmil_smi_config c = *cfg;
	int ret;

	ret = dsmil_smi_resolve_config(dsmil_smi_dev(smi), &c,
				       tp->ops);
	if (ret)
		return ret;

	smi->cfg = c;
	smi->timeout_ns = (u64)c.timeout_ms * NSEC_PER_MSEC;
	smi->hang_ns = (u64)c.hang_ms * NSEC_PER_MSEC;
	smi->interval_ns = (u64)c.min_interval_us * NSEC_PER_USEC;
	spin_lock_init(&smi->lock);
	INIT_LIST_HEAD(&smi->queue);
	INIT_WORK(&smi->work, dsmil_smi_work);
	init_waitqueue_head(&smi->idle_wq);
	ratelimit_state_init(&smi->rs_io, DSMIL_SMI_RL_INTERVAL,
			     DSMIL_SMI_RL_BURST);
	ratelimit_state_init(&smi->rs_input, DSMIL_SMI_RL_INTERVAL,
			     DSMIL_SMI_RL_BURST);
	ratelimit_state_init(&smi->rs_state, DSMIL_SMI_RL_INTERVAL,
			     DSMIL_SMI_RL_BURST);

	smi->wq = alloc_ordered_workqueue("dsmil-smi", 0);
	if (!smi->wq)
		return -ENOMEM;
	smi->ops = tp->ops;
	smi->priv = tp->priv;
	smi->backend_name = tp->ops->name;
	return 0;
}

/**
 * dsmil_smi_exit - stop the engine.
 * @smi: engine from dsmil_smi_init().
 *
 * Waits for the worker, which finishes whatever request it still owns
 * (including ones whose caller left).  The backend is the caller's to
 * release afterwards.
 */
void dsmil_smi_exit(struct dsmil_smi *smi)
{
	spin_lock(&smi->lock);
	smi->dying = true;
	spin_unlock(&smi->lock);

	destroy_workqueue(smi->wq);
	/* Nothing is left at an interface the engine lets go of. */
	dsmil_smi_end_stuck(smi);
}
