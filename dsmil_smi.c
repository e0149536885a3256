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
 *    declared before the deadline; garbage status counts as a fault.
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
 * see struct dsmil_smi_status for the counters and their identity.
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
#include <linux/string.h>
#include <linux/workqueue.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

#define CREATE_TRACE_POINTS
#include "dsmil_smi_trace.h"

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

/* Incident lines: 10 per 5 s for requests, the same for state changes. */
#define DSMIL_SMI_RL_INTERVAL	(5 * HZ)
#define DSMIL_SMI_RL_BURST	10

static const struct dsmil_smi_ops *const dsmil_smi_backends[] = {
	&dsmil_smi_sim_ops,
	&dsmil_smi_dell_ops,
};

static const char *dsmil_smi_op_name(u8 op)
{
	return op == DSMIL_SMI_OP_WRITE ? "write" : "read";
}

/**
 * dsmil_smi_token_of - the token of (group, position), and its device.
 * @group:  group 0..5.
 * @pos:    position: DSMIL_TOKEN_POWER, _MEMORY, _STORAGE or _SENSOR.
 * @token:  out: DSMIL_TOKEN_BASE + 12 * @group + @pos.
 * @dev_id: out: global id of the owning device, @group * 12 + @pos.
 *
 * Return: 0, or -EINVAL when (@group, @pos) names no token.
 */
VISIBLE_IF_KUNIT int dsmil_smi_token_of(unsigned int group, unsigned int pos,
					u16 *token, unsigned int *dev_id)
{
	if (group >= DSMIL_NUM_GROUPS || pos >= DSMIL_DEVS_PER_GROUP ||
	    pos % (DSMIL_DEVS_PER_GROUP / DSMIL_TOKENS_PER_GROUP))
		return -EINVAL;
	*token = DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * group + pos;
	*dev_id = group * DSMIL_DEVS_PER_GROUP + pos;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_of);

/**
 * dsmil_smi_token_index - dense index of a token, for per-token tables.
 * @token: token id.
 *
 * Return: 0..DSMIL_NUM_TOKENS - 1 (group * 4 + position / 3), or -EINVAL
 * when @token is not one of the 24 DSMIL tokens.
 */
int dsmil_smi_token_index(u16 token)
{
	unsigned int off, pos;

	if (token < DSMIL_TOKEN_BASE)
		return -EINVAL;
	off = token - DSMIL_TOKEN_BASE;
	pos = off % DSMIL_DEVS_PER_GROUP;
	if (off >= DSMIL_NUM_DEVICES || pos % 3)
		return -EINVAL;
	return off / DSMIL_DEVS_PER_GROUP * DSMIL_TOKENS_PER_GROUP + pos / 3;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_index);

enum dsmil_smi_st_class {
	DSMIL_ST_DONE,
	DSMIL_ST_BUSY,
	DSMIL_ST_ERROR,
	DSMIL_ST_GARBAGE,
};

static enum dsmil_smi_st_class dsmil_smi_classify(u8 st)
{
	if (st == DSMIL_SMI_ST_DONE)
		return DSMIL_ST_DONE;
	switch (st & (DSMIL_SMI_ST_BUSY | DSMIL_SMI_ST_ERROR)) {
	case DSMIL_SMI_ST_BUSY:
		return DSMIL_ST_BUSY;
	case DSMIL_SMI_ST_ERROR:
		return DSMIL_ST_ERROR;
	default:
		/* 0xff, busy and error at once, or code bits alone. */
		return DSMIL_ST_GARBAGE;
	}
}

/**
 * dsmil_smi_status_errno - what a final status register value means.
 * @status: DSMIL_SMI_ST_* value.
 *
 * Return: 0 (done), -ENXIO (the firmware rejected the token), -EOPNOTSUPP
 * (not supported), -EINVAL (unknown result code), -ERANGE (value outside
 * the token's range), -EIO (any other error, garbage), -EBUSY (still busy).
 */
VISIBLE_IF_KUNIT int dsmil_smi_status_errno(u8 status)
{
	switch (dsmil_smi_classify(status)) {
	case DSMIL_ST_DONE:
		return 0;
	case DSMIL_ST_BUSY:
		return -EBUSY;
	case DSMIL_ST_ERROR:
		switch (status & DSMIL_SMI_ST_CODE) {
		case DSMIL_SMI_ERR_INVALID:
			return -ENXIO;
		case DSMIL_SMI_ERR_UNSUPPORTED:
			return -EOPNOTSUPP;
		case DSMIL_SMI_ERR_UNKNOWN:
			return -EINVAL;
		case DSMIL_SMI_ERR_RANGE:
			return -ERANGE;
		default:
			return -EIO;
		}
	default:
		return -EIO;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_status_errno);

/**
 * dsmil_smi_hist_bucket - latency histogram bucket of a request.
 * @ns: the request's duration.
 *
 * Return: 0 below 1 us, b for [2^(b-1), 2^b) us, the last bucket for
 * everything from 2^(DSMIL_SMI_HIST_BUCKETS - 2) us up.
 */
VISIBLE_IF_KUNIT unsigned int dsmil_smi_hist_bucket(u64 ns)
{
	return min_t(unsigned int, fls64(div_u64(ns, NSEC_PER_USEC)),
		     DSMIL_SMI_HIST_BUCKETS - 1);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_hist_bucket);

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

static const char *dsmil_smi_outcome_word(enum dsmil_smi_outcome out)
{
	switch (out) {
	case DSMIL_SMI_OUT_SUCCESS:
		return "success";
	case DSMIL_SMI_OUT_ERROR_STATUS:
		return "error-status";
	case DSMIL_SMI_OUT_GARBAGE:
		return "garbage-status";
	case DSMIL_SMI_OUT_TIMEOUT:
		return "timeout";
	case DSMIL_SMI_OUT_HANG:
		return "hang";
	default:
		return "fault";
	}
}

static void dsmil_smi_req_release(struct kref *ref)
{
	kfree(container_of(ref, struct dsmil_smi_req, ref));
}

/* Count one request outcome.  Called with smi->lock held. */
static void dsmil_smi_count(struct dsmil_smi *smi, enum dsmil_smi_outcome out,
			    u64 ns)
{
	struct dsmil_smi_counters *c = &smi->cnt;

	c->requests++;
	switch (out) {
	case DSMIL_SMI_OUT_SUCCESS:
		c->successes++;
		break;
	case DSMIL_SMI_OUT_ERROR_STATUS:
		c->errors++;
		c->error_status++;
		break;
	case DSMIL_SMI_OUT_GARBAGE:
		c->errors++;
		c->garbage++;
		break;
	case DSMIL_SMI_OUT_BUSY:
		c->errors++;
		c->busy_failures++;
		break;
	case DSMIL_SMI_OUT_SUBMIT_FAILED:
		c->errors++;
		c->submit_failures++;
		break;
	case DSMIL_SMI_OUT_CANCELLED:
		c->errors++;
		c->cancelled++;
		break;
	case DSMIL_SMI_OUT_TIMEOUT:
		c->timeouts++;
		break;
	case DSMIL_SMI_OUT_QUEUE_TIMEOUT:
		c->timeouts++;
		c->queue_timeouts++;
		break;
	case DSMIL_SMI_OUT_HANG:
		c->hangs++;
		break;
	case DSMIL_SMI_OUT_FAULTED:
		c->faulted_rejects++;
		break;
	case DSMIL_SMI_OUT_REFUSED:
		c->refused++;
		/* Refusals are not timed: they never reached the engine. */
		return;
	}
	c->hist[dsmil_smi_hist_bucket(ns)]++;
	c->max_latency_ns = max(c->max_latency_ns, ns);
}

/* Enter FAULTED.  Called with smi->lock held; returns true if it just did. */
static bool dsmil_smi_set_faulted(struct dsmil_smi *smi)
{
	if (smi->faulted)
		return false;
	WRITE_ONCE(smi->faulted, true);
	smi->faulted_since = ktime_get();
	smi->cnt.faulted_entries++;
	return true;
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

static void dsmil_smi_dev_name(char *buf, size_t len, unsigned int dev)
{
	snprintf(buf, len, "DSMIL%uD%X", dev / DSMIL_DEVS_PER_GROUP,
		 dev % DSMIL_DEVS_PER_GROUP);
}

/* The rate-limited incident line of a request that ended as it should not. */
static void dsmil_smi_log_incident(struct dsmil_smi *smi,
				   const struct dsmil_smi_req *req,
				   const char *op, const char *dev)
{
	const char *be = smi->backend_name;
	u16 tok = req->cmd.token;
	u64 waited_us = ktime_to_us(ktime_sub(req->end, req->start));
	u64 call_us = req->submitted ?
		      ktime_to_us(ktime_sub(req->end, req->submit_time)) : 0;

	if (req->in_doubt && req->aborted >= 0) {
		/* The one line of an outcome its caller was never told. */
		pr_warn("smi-late: token=%#06x op=%s backend=%s dev=%s id=%llu call_us=%llu outcome=%s errno=%d\n",
			tok, op, be, dev, req->id, call_us,
			dsmil_smi_outcome_word(req->outcome), req->result);
		return;
	}
	if (req->slow) {
		/* A synchronous call's answer stands: errno is its own. */
		pr_warn("smi-hang: token=%#06x op=%s backend=%s dev=%s call_us=%llu reason=slow-call errno=%d\n",
			tok, op, be, dev, call_us, req->result);
		return;
	}
	switch (req->outcome) {
	case DSMIL_SMI_OUT_TIMEOUT:
	case DSMIL_SMI_OUT_QUEUE_TIMEOUT:
		pr_warn("smi-timeout: token=%#06x op=%s backend=%s dev=%s waited_us=%llu reason=%s errno=%d\n",
			tok, op, be, dev, waited_us,
			req->outcome == DSMIL_SMI_OUT_TIMEOUT ?
			"deadline" : "queued", req->result);
		break;
	case DSMIL_SMI_OUT_HANG:
		pr_warn("smi-hang: token=%#06x op=%s backend=%s dev=%s status=%#04x stuck_us=%llu waited_us=%llu reason=status-stuck errno=%d\n",
			tok, op, be, dev, req->status,
			ktime_to_us(ktime_sub(req->end, req->last_change)),
			waited_us, req->result);
		break;
	case DSMIL_SMI_OUT_ERROR_STATUS:
		pr_warn("smi-error: token=%#06x op=%s backend=%s dev=%s status=%#04x reason=error-status errno=%d\n",
			tok, op, be, dev, req->status, req->result);
		break;
	case DSMIL_SMI_OUT_GARBAGE:
		pr_warn("smi-error: token=%#06x op=%s backend=%s dev=%s status=%#04x reason=garbage-status errno=%d\n",
			tok, op, be, dev, req->status, req->result);
		break;
	case DSMIL_SMI_OUT_BUSY:
		pr_warn("smi-error: token=%#06x op=%s backend=%s dev=%s retries=%u reason=busy errno=%d\n",
			tok, op, be, dev, req->retries, req->result);
		break;
	case DSMIL_SMI_OUT_SUBMIT_FAILED:
		pr_warn("smi-error: token=%#06x op=%s backend=%s dev=%s reason=submit-failed errno=%d\n",
			tok, op, be, dev, req->result);
		break;
	default:
		break;
	}
	if (req->aborted > 0)
		pr_warn("smi-abort: token=%#06x op=%s backend=%s dev=%s reason=%s result=ok\n",
			tok, op, be, dev, dsmil_smi_outcome_word(req->outcome));
	else if (req->aborted < 0)
		pr_warn("smi-abort: token=%#06x op=%s backend=%s dev=%s reason=%s result=failed errno=%d\n",
			tok, op, be, dev, dsmil_smi_outcome_word(req->outcome),
			req->abort_err);
}

/* The rate-limited incident lines of one finished request. */
static void dsmil_smi_log(struct dsmil_smi *smi, const struct dsmil_smi_req *req,
			  bool became_faulted)
{
	const char *op, *why;
	char dev[24];
	bool print;

	/*
	 * The common case says nothing: keep it cheap.  A hand-off refusal
	 * was logged by the state machine (refused-access ... at=handoff).
	 */
	switch (req->outcome) {
	case DSMIL_SMI_OUT_SUCCESS:
	case DSMIL_SMI_OUT_CANCELLED:
	case DSMIL_SMI_OUT_FAULTED:
	case DSMIL_SMI_OUT_REFUSED:
		print = req->slow || req->in_doubt;
		break;
	default:
		print = true;
		break;
	}
	if (!print && !became_faulted)
		return;
	op = dsmil_smi_op_name(req->cmd.op);
	dsmil_smi_dev_name(dev, sizeof(dev), req->dev_id);

	if (print && __ratelimit(&smi->rs_io))
		dsmil_smi_log_incident(smi, req, op, dev);

	if (became_faulted && __ratelimit(&smi->rs_state)) {
		why = req->aborted < 0 ? "abort-failed" :
		      req->slow ? "slow-call" :
		      dsmil_smi_outcome_word(req->outcome);
		pr_err("smi-faulted: backend=%s token=%#06x dev=%s consecutive=%u limit=%u reason=%s errno=%d\n",
		       smi->backend_name, req->cmd.token, dev,
		       smi->consecutive, smi->cfg.fault_limit, why,
		       -ESHUTDOWN);
	}
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
 * Keep @req's final outcome for DSMIL_IOC_SMI_RESULT.  Called with
 * smi->lock held.
 */
static void dsmil_smi_record(struct dsmil_smi *smi,
			     const struct dsmil_smi_req *req)
{
	struct dsmil_smi_outcome_rec *r;

	lockdep_assert_held(&smi->lock);
	r = &smi->outcomes[smi->n_outcomes++ % DSMIL_SMI_RESULTS];
	r->id = req->id;
	r->duration_ns = ktime_to_ns(ktime_sub(req->end, req->start));
	r->result = req->result;
	/* As the reply has it: a write's value is the one before (dell). */
	r->value = !req->result && (req->cmd.op == DSMIL_SMI_OP_READ ||
				    smi->ops->activate) ? req->value : 0;
	r->token = req->cmd.token;
	r->flags = (req->cmd.op == DSMIL_SMI_OP_WRITE ?
		    DSMIL_SMI_RESULT_F_WRITE : 0) |
		   (req->in_doubt ? DSMIL_SMI_RESULT_F_IN_DOUBT : 0) |
		   (req->abandoned ? DSMIL_SMI_RESULT_F_ABANDONED : 0);
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
	trace_dsmil_smi_request(req->cmd.token, req->cmd.op, smi->backend_name,
				req->result,
				ktime_to_ns(ktime_sub(req->end, req->start)));
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
	if (!req->in_doubt && !req->abandoned) {
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
	struct dsmil_smi_outcome_rec *r;
	struct dsmil_smi_stuck sk;
	ktime_t now = ktime_get();
	char dev[24];

	spin_lock(&smi->lock);
	sk = smi->stuck;
	smi->stuck.id = 0;
	if (sk.id) {
		r = &smi->outcomes[smi->n_outcomes++ % DSMIL_SMI_RESULTS];
		*r = (struct dsmil_smi_outcome_rec){
			.id = sk.id,
			.duration_ns = ktime_to_ns(ktime_sub(now, sk.start)),
			.result = -ETIMEDOUT,
			.token = sk.token,
			.flags = (sk.op == DSMIL_SMI_OP_WRITE ?
				  DSMIL_SMI_RESULT_F_WRITE : 0) |
				 (sk.in_doubt ? DSMIL_SMI_RESULT_F_IN_DOUBT : 0) |
				 DSMIL_SMI_RESULT_F_UNKNOWN |
				 (sk.abandoned ? DSMIL_SMI_RESULT_F_ABANDONED : 0),
		};
		if (sk.in_doubt)
			smi->cnt.late_failures++;
	}
	spin_unlock(&smi->lock);
	if (!sk.id)
		return;

	trace_dsmil_smi_request(sk.token, sk.op, smi->backend_name, -ETIMEDOUT,
				ktime_to_ns(ktime_sub(now, sk.start)));
	if (sk.fenced)
		dsmil_state_handoff_end(&dsmil_from_smi(smi)->state, sk.dev_id,
					sk.op == DSMIL_SMI_OP_WRITE);
	if (sk.op == DSMIL_SMI_OP_WRITE)
		dsmil_waudit_late(&dsmil_from_smi(smi)->waudit, sk.id,
				  sk.dev_id, sk.token, -ETIMEDOUT, true);
	if (sk.in_doubt && __ratelimit(&smi->rs_io)) {
		dsmil_smi_dev_name(dev, sizeof(dev), sk.dev_id);
		pr_warn("smi-late: token=%#06x op=%s backend=%s dev=%s id=%llu outcome=unknown errno=%d\n",
			sk.token, dsmil_smi_op_name(sk.op), smi->backend_name,
			dev, sk.id, -ETIMEDOUT);
	}
	module_put(THIS_MODULE);
}

/*
 * Finish @req with @out: end its hand-off, count and record it, release
 * the hardware if @owner, log, report a device fault, wake the caller and
 * drop the engine's reference.  Called with no lock held.
 */
static void dsmil_smi_finish(struct dsmil_smi *smi, struct dsmil_smi_req *req,
			     enum dsmil_smi_outcome out, bool owner)
{
	bool became_faulted, kick, pinned;
	/* Its abort failed: the interface may still be running it. */
	bool stuck = req->aborted < 0;
	int err;

	/*
	 * First: a stop waiting for this write may go on (unless it may
	 * still land), and dsmil_state_report_fault() below takes the state
	 * machine's lock.
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

	spin_lock(&smi->lock);
	if (stuck)
		dsmil_smi_keep_stuck(smi, req);
	became_faulted = dsmil_smi_account(smi, req);
	if (!stuck)
		dsmil_smi_record(smi, req);
	req->stage = DSMIL_SMI_FINISHED;
	smi->in_flight--;
	if (owner) {
		smi->hw_owned = false;
		smi->hw_id = 0;
	}
	kick = !list_empty(&smi->queue) && current_work() != &smi->work;
	pinned = req->pinned;
	spin_unlock(&smi->lock);

	if (kick)
		queue_work(smi->wq, &smi->work);

	dsmil_smi_log(smi, req, became_faulted);
	if (!stuck)
		dsmil_smi_outcome_known(smi, req);

	/* Before waking the caller, so that it sees the device in ERROR. */
	if ((out == DSMIL_SMI_OUT_TIMEOUT || out == DSMIL_SMI_OUT_HANG) &&
	    !(req->flags & DSMIL_SMI_F_NOREPORT))
		dsmil_state_report_fault(&dsmil_from_smi(smi)->state,
					 req->dev_id, DSMIL_REASON_SMI_FAULT,
					 err);

	/* Its caller is the one finishing it: nobody to wake, no references. */
	if (req->onstack)
		return;
	complete(&req->done);
	kref_put(&req->ref, dsmil_smi_req_release);
	/*
	 * Only the worker finishes abandoned requests, and dsmil_smi_exit()
	 * destroys its workqueue before the module text can go away.
	 */
	if (pinned)
		module_put(THIS_MODULE);
}

/*
 * Count and trace a request that ends before it has a struct dsmil_smi_req;
 * @start 0: a refusal, not timed.
 */
static void dsmil_smi_count_early(struct dsmil_smi *smi,
				  enum dsmil_smi_outcome out, u16 token, u8 op,
				  int result, ktime_t start)
{
	u64 ns = start ? ktime_to_ns(ktime_sub(ktime_get(), start)) : 0;

	spin_lock(&smi->lock);
	dsmil_smi_count(smi, out, ns);
	spin_unlock(&smi->lock);
	trace_dsmil_smi_request(token, op, smi->backend_name, result, ns);
}

/*
 * A request the backend's check refused: counted, traced and (unless
 * @flags says it is the state machine's verification) logged.
 */
static void dsmil_smi_refuse(struct dsmil_smi *smi,
			     const struct dsmil_smi_cmd *cmd,
			     unsigned int dev_id, unsigned int flags, int err)
{
	struct dsmil *dsm = dsmil_from_smi(smi);

	dsmil_smi_count_early(smi, DSMIL_SMI_OUT_REFUSED, cmd->token, cmd->op,
			      err, 0);
	if (flags & DSMIL_SMI_F_NOREPORT)
		return;
	atomic64_inc(&dsm->bad_input);
	dsmil_count_refusal(dsm, DSMIL_REASON_BAD_ARG);
	if (__ratelimit(&smi->rs_io))
		pr_warn("refused-input: cmd=token-%s pid=%d token=%#06x dev=DSMIL%uD%X why=%s errno=%d\n",
			dsmil_smi_op_name(cmd->op), task_tgid_nr(current),
			cmd->token, dev_id / DSMIL_DEVS_PER_GROUP,
			dev_id % DSMIL_DEVS_PER_GROUP,
			err == -EACCES ? "dell-filter" : "token-absent", err);
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

/* The hardware owner for queued and handed-off requests. */
static void dsmil_smi_work(struct work_struct *work)
{
	struct dsmil_smi *smi = container_of(work, struct dsmil_smi, work);
	struct dsmil_smi_req *req;
	bool reject;

	for (;;) {
		reject = false;
		spin_lock(&smi->lock);
		if (!smi->handoff &&
		    (smi->hw_owned || list_empty(&smi->queue))) {
			/* The owner kicks us again when it is done. */
			spin_unlock(&smi->lock);
			return;
		}
		if (smi->handoff) {
			/* The hardware is ours already. */
			req = smi->handoff;
			smi->handoff = NULL;
		} else {
			req = list_first_entry(&smi->queue, struct dsmil_smi_req,
					       node);
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
static int dsmil_smi_wait(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	s64 left = ktime_to_ns(ktime_sub(req->deadline, ktime_get()));
	/* A jiffies timeout may end up to a tick early: never before. */
	unsigned long tmo = left > 0 ? nsecs_to_jiffies(left) + 1 : 0;
	long w;

	w = wait_for_completion_killable_timeout(&req->done, tmo);
	if (w > 0)
		return req->result;

	spin_lock(&smi->lock);
	if (!w && req->stage == DSMIL_SMI_RUNNING && !smi->ops->synchronous) {
		/*
		 * A polled request at the hardware: the engine enforces the
		 * same deadline itself and is aborting it now, or has just
		 * seen it complete.  Wait briefly for its verdict, so that
		 * -ETIMEDOUT means "aborted, device in ERROR" and a request
		 * that did complete is not reported as timed out.
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
		/* Never reached the hardware: take it back. */
		list_del_init(&req->node);
		req->stage = DSMIL_SMI_RUNNING;
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
 * holds.  Sleeps; returns within smi_timeout_ms (plus one tick).
 *
 * Return: 0 or a negative errno as DSMIL_IOC_TOKEN_READ documents.
 */
VISIBLE_IF_KUNIT int dsmil_smi_exec(struct dsmil_smi *smi,
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
	idle = !rejected && !smi->hw_owned && list_empty(&smi->queue) &&
	       !smi->ops->synchronous;
	if (idle) {
		smi->in_flight++;
		smi->hw_owned = true;
		smi->hw_id = here.id;
	}
	spin_unlock(&smi->lock);
	if (rejected)
		goto faulted;
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

	spin_lock(&smi->lock);
	rejected = smi->faulted || smi->dying;
	if (!rejected) {
		smi->in_flight++;
		kref_get(&req->ref);	/* the engine's */
		list_add_tail(&req->node, &smi->queue);
	}
	spin_unlock(&smi->lock);
	if (rejected) {
		kfree(req);
		goto faulted;
	}

	/* The worker drives the queue whenever the hardware is free. */
	queue_work(smi->wq, &smi->work);
	ret = dsmil_smi_wait(smi, req);
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
 * dsmil_smi_token_rw - a token request as the ioctls make it.
 * @smi:   SMI engine.
 * @tr:    the request: group, position, value (write); gets token,
 *         value (read) and duration_ns.
 * @write: write rather than read.
 *
 * Checks the token, then the owning device's state (READY/ACTIVE for a
 * read, ACTIVE and not quarantined for a write), before anything reaches
 * the engine; refusals are counted and touch no hardware.  The engine
 * checks the state again at the hand-off.
 *
 * Return: 0 or a negative errno as DSMIL_IOC_TOKEN_READ/WRITE document;
 * with -EINPROGRESS, @tr->flags has DSMIL_TOKEN_F_IN_DOUBT.
 */
VISIBLE_IF_KUNIT int dsmil_smi_token_rw(struct dsmil_smi *smi,
					struct dsmil_token_req *tr, bool write)
{
	struct dsmil *dsm = dsmil_from_smi(smi);
	struct dsmil_smi_cmd cmd = {
		.op = write ? DSMIL_SMI_OP_WRITE : DSMIL_SMI_OP_READ,
		.value = write ? tr->value : 0,
	};
	struct dsmil_smi_reply rep;
	unsigned int dev;
	const char *why = "bad-token";
	int ret;

	tr->token = 0;
	tr->duration_ns = 0;
	tr->old_value = 0;
	tr->request_id = 0;
	/* Out only: a reply sent again as it came back is not refused. */
	tr->flags &= ~DSMIL_TOKEN_F_IN_DOUBT;
	ret = dsmil_smi_token_of(tr->group, tr->position, &cmd.token, &dev);
	if (!ret && tr->flags & ~(write ? DSMIL_TOKEN_F_ACTIVATE : 0)) {
		ret = -EINVAL;
		why = "bad-flags";
	} else if (!ret && tr->flags & DSMIL_TOKEN_F_ACTIVATE) {
		if (smi->ops->activate) {
			cmd.flags |= DSMIL_SMI_CMD_ACTIVATE;
			cmd.value = 0;
		} else {
			ret = -EOPNOTSUPP;
			why = "no-activate";
		}
	}
	if (ret) {
		atomic64_inc(&dsm->bad_input);
		dsmil_count_refusal(dsm, DSMIL_REASON_BAD_ARG);
		if (__ratelimit(&smi->rs_io))
			pr_warn("refused-input: cmd=token-%s pid=%d group=%u position=%u why=%s errno=%d\n",
				dsmil_smi_op_name(cmd.op),
				task_tgid_nr(current), tr->group, tr->position,
				why, ret);
		dsmil_smi_count_early(smi, DSMIL_SMI_OUT_REFUSED, 0, cmd.op,
				      ret, 0);
		return ret;
	}
	tr->token = cmd.token;

	/* Counted and logged by the state machine when it refuses. */
	ret = dsmil_state_check_access(&dsm->state, dev, write);
	if (ret) {
		dsmil_smi_count_early(smi, DSMIL_SMI_OUT_REFUSED, cmd.token,
				      cmd.op, ret, 0);
		return ret;
	}

	ret = dsmil_smi_exec(smi, &cmd, dev, 0, &rep);
	tr->duration_ns = rep.duration_ns;
	tr->request_id = rep.id;
	if (rep.in_doubt)
		tr->flags |= DSMIL_TOKEN_F_IN_DOUBT;
	if (!ret && !write)
		tr->value = rep.value;
	if (!ret && write && smi->ops->activate)
		tr->old_value = rep.value;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_rw);

/*
 * A token write ended before the engine saw it (at @stage: refused, or its
 * read before failed): counted as refused, so that every token call is one
 * request in the engine's counters.
 */
static int dsmil_smi_write_refused(struct dsmil_smi *smi,
				   struct dsmil_write_record *rec, u8 stage,
				   int ret)
{
	dsmil_smi_count_early(smi, DSMIL_SMI_OUT_REFUSED, rec->token,
			      DSMIL_SMI_OP_WRITE, ret, 0);
	rec->stage = stage;
	rec->error = -ret;
	dsmil_waudit_add(&dsmil_from_smi(smi)->waudit, rec);
	return ret;
}

/**
 * dsmil_smi_token_write_audited - DSMIL_IOC_TOKEN_WRITE, audited.
 * @smi: SMI engine.
 * @tr:  the request, as dsmil_smi_token_rw() takes it.
 *
 * A write whose arguments are valid leaves one record in the write audit,
 * whatever becomes of it: the device's state is checked on arrival, the
 * token is read (the value before; a backend that reports it with the write
 * is not read separately), the token is written, and read back; a
 * read-back that differs from the value written is a write-mismatch (-EIO).
 * The write passes the engine's hand-off (dsmil_smi_fence()) right before
 * the backend sees it, and an emergency stop waits for that one SMI, not
 * for the read before: a stop that comes meanwhile refuses the write
 * there.  A write whose caller leaves before it ends (in doubt, killed)
 * gets a second record, stage LATE, when the engine learns its outcome.
 *
 * Return: 0 or a negative errno as DSMIL_IOC_TOKEN_WRITE documents.
 */
VISIBLE_IF_KUNIT int dsmil_smi_token_write_audited(struct dsmil_smi *smi,
						   struct dsmil_token_req *tr)
{
	struct dsmil *dsm = dsmil_from_smi(smi);
	struct dsmil_write_audit *wa = &dsm->waudit;
	struct dsmil_write_record rec = { .kind = DSMIL_WREC_TOKEN };
	struct dsmil_token_req rd;
	bool activate, alone;
	unsigned int dev;
	u64 cookie;
	u16 token;
	int ret;

	/*
	 * Out only, as dsmil_smi_token_rw() takes them: a reply sent again
	 * as it came back (a retry of a write in doubt) is a write like any
	 * other, audited, and an early refusal must not echo an old id.
	 */
	tr->flags &= ~DSMIL_TOKEN_F_IN_DOUBT;
	tr->request_id = 0;
	activate = tr->flags & DSMIL_TOKEN_F_ACTIVATE;
	/* Bad arguments: refused (and counted) as ever, not a write. */
	if (dsmil_smi_token_of(tr->group, tr->position, &token, &dev) ||
	    tr->flags & ~DSMIL_TOKEN_F_ACTIVATE ||
	    (activate && !smi->ops->activate))
		return dsmil_smi_token_rw(smi, tr, true);

	/* The engine's id for the write, once its replies carry one. */
	rec.request_id = dsmil_next_request_id(dsm);
	rec.device = dev;
	rec.token = token;
	if (activate)
		rec.flags |= DSMIL_WREC_F_ACTIVATE;
	else
		rec.flags |= DSMIL_WREC_F_VALUE;
	rec.value = activate ? 0 : tr->value;
	tr->token = token;
	tr->old_value = 0;
	tr->duration_ns = 0;

	/* Counted and logged by the state machine when it refuses. */
	ret = dsmil_state_check_access(&dsm->state, dev, true);
	if (ret)
		return dsmil_smi_write_refused(smi, &rec,
					       DSMIL_WREC_AT_REFUSED, ret);

	cookie = dsmil_waudit_begin(wa, dev);
	if (!smi->ops->activate) {
		rd = (struct dsmil_token_req){
			.group = tr->group, .position = tr->position,
		};
		atomic64_inc(&wa->reads);
		ret = dsmil_smi_token_rw(smi, &rd, false);
		/*
		 * A read before that ended in doubt did not answer in time;
		 * the write itself was never sent, so its outcome is known.
		 * -EINPROGRESS would tell the caller it might still land.
		 */
		if (ret == -EINPROGRESS)
			ret = -ETIMEDOUT;
		if (ret) {
			dsmil_waudit_end(wa, dev, cookie);
			return dsmil_smi_write_refused(smi, &rec,
						       DSMIL_WREC_AT_OLD, ret);
		}
		rec.old_value = rd.value;
		rec.flags |= DSMIL_WREC_F_OLD;
	}

	/*
	 * The hand-off is the engine's (dsmil_smi_fence(), right before the
	 * backend sees the write, ended when the request ends, whether or
	 * not its caller still waits): a write a stop overtook during the
	 * read before comes back -ENODEV from there, unsent.
	 */
	ret = dsmil_smi_token_rw(smi, tr, true);
	/* The engine's id, which its log lines and SMI_RESULT know. */
	if (tr->request_id)
		rec.request_id = tr->request_id;
	if (ret) {
		dsmil_waudit_end(wa, dev, cookie);
		/* What TOKEN_WRITE documents as "nothing sent". */
		rec.stage = ret == -ENODEV || ret == -EPERM || ret == -EACCES ?
			    DSMIL_WREC_AT_REFUSED : DSMIL_WREC_AT_WRITE;
		rec.error = -ret;
		dsmil_waudit_add(wa, &rec);
		return ret;
	}
	if (smi->ops->activate) {
		/* The backend read it within the write. */
		rec.old_value = tr->old_value;
		rec.flags |= DSMIL_WREC_F_OLD;
	} else {
		tr->old_value = rec.old_value;
	}

	rec.stage = DSMIL_WREC_AT_READBACK;
	rd = (struct dsmil_token_req){
		.group = tr->group, .position = tr->position,
	};
	atomic64_inc(&wa->reads);
	ret = dsmil_smi_token_rw(smi, &rd, false);
	alone = dsmil_waudit_end(wa, dev, cookie);
	if (ret) {
		/* The write stands; the record says it could not be checked. */
		rec.readback_error = -ret;
		dsmil_waudit_add(wa, &rec);
		return 0;
	}
	rec.readback = rd.value;
	rec.flags |= DSMIL_WREC_F_READBACK;
	if (!activate && !alone) {
		rec.flags |= DSMIL_WREC_F_CONCURRENT;
	} else if (!activate && rec.readback != rec.value) {
		rec.flags |= DSMIL_WREC_F_MISMATCH;
		rec.error = EIO;
	}
	dsmil_waudit_add(wa, &rec);
	return -(int)rec.error;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_write_audited);

/**
 * dsmil_smi_recover - reset a FAULTED backend (DSMIL_IOC_SMI_RECOVER).
 * @smi: SMI engine.
 *
 * Return: 0 (recovered, or was not FAULTED), -EAGAIN (inside the backoff of
 * a failed recovery), -EBUSY (a request is still at the hardware), -EIO (the
 * reset failed; the backoff doubles).
 */
VISIBLE_IF_KUNIT int dsmil_smi_recover(struct dsmil_smi *smi)
{
	unsigned int backoff = 0;
	ktime_t now = ktime_get();
	u64 faulted_ms = 0;
	bool kick;
	int ret;

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

	if (!ret) {
		if (__ratelimit(&smi->rs_state))
			pr_info("smi-recovered: backend=%s faulted_ms=%llu\n",
				smi->backend_name, faulted_ms);
		return 0;
	}
	if (__ratelimit(&smi->rs_state))
		pr_warn("smi-recover-failed: backend=%s backoff_ms=%u reset_errno=%d errno=%d\n",
			smi->backend_name, backoff, ret, -EIO);
	return -EIO;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_recover);

/**
 * dsmil_smi_get_status - snapshot of the engine (DSMIL_IOC_SMI_STATUS).
 * @smi: SMI engine.
 * @st:  filled in; the caller zeroed it.
 */
VISIBLE_IF_KUNIT void dsmil_smi_get_status(struct dsmil_smi *smi,
					   struct dsmil_smi_status *st)
{
	const struct dsmil_smi_counters *c = &smi->cnt;
	ktime_t now = ktime_get();
	unsigned int i;

	strscpy(st->backend, smi->backend_name, sizeof(st->backend));
	st->timeout_ms = smi->cfg.timeout_ms;
	st->hang_ms = smi->cfg.hang_ms;
	st->min_interval_us = smi->cfg.min_interval_us;
	st->fault_limit = smi->cfg.fault_limit;
	st->busy_retries = smi->cfg.busy_retries;

	/* One consistent snapshot: the counter identity holds in it. */
	spin_lock(&smi->lock);
	st->state = smi->faulted ? DSMIL_SMI_FAULTED : DSMIL_SMI_OK;
	st->consecutive_faults = smi->consecutive;
	st->in_flight = smi->in_flight;
	st->recover_backoff_ms = smi->backoff_ms;
	if (smi->faulted && ktime_before(now, smi->recover_after))
		st->recover_wait_ms =
			DIV_ROUND_UP_ULL(ktime_to_ns(ktime_sub(smi->recover_after,
							       now)),
					 NSEC_PER_MSEC);
	st->requests = c->requests;
	st->successes = c->successes;
	st->errors = c->errors;
	st->timeouts = c->timeouts;
	st->hangs = c->hangs;
	st->aborts = c->aborts;
	st->abort_failures = c->abort_failures;
	st->faulted_entries = c->faulted_entries;
	st->faulted_rejects = c->faulted_rejects;
	st->recoveries = c->recoveries;
	st->recovery_failures = c->recovery_failures;
	st->retries = c->retries;
	st->spacing_waits = c->spacing_waits;
	st->refused = c->refused;
	for (i = 0; i < DSMIL_SMI_HIST_BUCKETS; i++)
		st->latency_hist[i] = c->hist[i];
	st->error_status = c->error_status;
	st->garbage = c->garbage;
	st->busy_failures = c->busy_failures;
	st->submit_failures = c->submit_failures;
	st->cancelled = c->cancelled;
	st->queue_timeouts = c->queue_timeouts;
	st->abandoned = c->abandoned;
	st->spacing_wait_us = div_u64(c->spacing_wait_ns, NSEC_PER_USEC);
	st->max_latency_us = div_u64(c->max_latency_ns, NSEC_PER_USEC);
	st->in_doubt = c->in_doubt;
	st->late_successes = c->late_successes;
	st->late_failures = c->late_failures;
	spin_unlock(&smi->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_get_status);

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
 * dsmil_smi_verify_device - check device @id answers through its token.
 * @smi: SMI engine.
 * @id:  global device id.
 *
 * See dsmil_smi.h.  The read goes through the engine like any other request
 * (bounded wait, counters, FAULTED) but is checked at the hand-off for a
 * device still INITIALIZING (DSMIL_SMI_F_VERIFY) rather than READY, and
 * reports no fault: the state machine decides what a failure means.
 *
 * Return: 0, -EINVAL for an @id out of range, or the request's errno.
 */
int dsmil_smi_verify_device(struct dsmil_smi *smi, unsigned int id)
{
	struct dsmil_smi_cmd cmd = { .op = DSMIL_SMI_OP_READ };
	struct dsmil_smi_reply rep;
	unsigned int dev;
	int ret;

	if (id >= DSMIL_NUM_DEVICES)
		return -EINVAL;
	if (dsmil_smi_token_of(id / DSMIL_DEVS_PER_GROUP,
			       id % DSMIL_DEVS_PER_GROUP, &cmd.token, &dev))
		return 0;	/* no token: nothing to verify */
	ret = dsmil_smi_exec(smi, &cmd, id,
			     DSMIL_SMI_F_NOREPORT | DSMIL_SMI_F_VERIFY, &rep);
	/* A device that did not answer in time did not verify. */
	if (ret == -EINPROGRESS)
		return -ETIMEDOUT;
	/*
	 * A token the backend refuses to send (absent from the firmware,
	 * refused by the kernel's filter) cannot be verified and is not
	 * sent: the device is like one without a token, and its token
	 * requests stay refused.
	 */
	if (ret == -ENOENT || ret == -EACCES)
		return 0;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_verify_device);

/**
 * dsmil_smi_result - the final outcome of a request, by id
 * (DSMIL_IOC_SMI_RESULT).
 * @smi: SMI engine.
 * @res: request_id in; the rest out.
 *
 * Return: 0, -EINVAL (id 0), -EINPROGRESS (not ended yet) or -ENOENT (not
 * a request among the last DSMIL_SMI_RESULTS).
 */
VISIBLE_IF_KUNIT int dsmil_smi_result(struct dsmil_smi *smi,
				      struct dsmil_smi_result *res)
{
	const struct dsmil_smi_outcome_rec *r;
	struct dsmil_smi_req *q;
	unsigned int i;
	int ret = -ENOENT;

	if (!res->request_id)
		return -EINVAL;
	spin_lock(&smi->lock);
	for (i = 0; i < DSMIL_SMI_RESULTS; i++) {
		r = &smi->outcomes[i];
		if (r->id != res->request_id)
			continue;
		res->token = r->token;
		res->flags = r->flags;
		res->error = -r->result;
		res->value = r->value;
		res->duration_ns = r->duration_ns;
		ret = 0;
		break;
	}
	if (ret && ((smi->hw_owned && smi->hw_id == res->request_id) ||
		    smi->stuck.id == res->request_id))
		ret = -EINPROGRESS;
	if (ret)
		list_for_each_entry(q, &smi->queue, node)
			if (q->id == res->request_id)
				ret = -EINPROGRESS;
	spin_unlock(&smi->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_result);

static int dsmil_smi_ioc_result(struct dsmil *dsm, void *arg)
{
	return dsmil_smi_result(&dsm->smi, arg);
}

static int dsmil_smi_ioc_read(struct dsmil *dsm, void *arg)
{
	return dsmil_smi_token_rw(&dsm->smi, arg, false);
}

static int dsmil_smi_ioc_write(struct dsmil *dsm, void *arg)
{
	return dsmil_smi_token_write_audited(&dsm->smi, arg);
}

static int dsmil_smi_ioc_status(struct dsmil *dsm, void *arg)
{
	dsmil_smi_get_status(&dsm->smi, arg);
	return 0;
}

static int dsmil_smi_ioc_recover(struct dsmil *dsm, void *arg)
{
	return dsmil_smi_recover(&dsm->smi);
}

/**
 * dsmil_smi_token_flags - what discovery says about @token.
 * @smi:   SMI engine.
 * @token: token id.
 *
 * Return: DSMIL_DEVF_TOKEN_ABSENT, DSMIL_DEVF_TOKEN_FILTERED or 0.
 */
u16 dsmil_smi_token_flags(struct dsmil_smi *smi, u16 token)
{
	if (!smi->ops || !smi->ops->token_flags)
		return 0;
	return smi->ops->token_flags(smi->priv, token);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_flags);

/**
 * dsmil_smi_rescan - ask the backend again which tokens exist.
 * @smi: SMI engine.
 *
 * Return: 0, or -EOPNOTSUPP when the backend has no discovery.
 */
VISIBLE_IF_KUNIT int dsmil_smi_rescan(struct dsmil_smi *smi)
{
	if (!smi->ops->rescan)
		return -EOPNOTSUPP;
	return smi->ops->rescan(smi->priv);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_rescan);

static int dsmil_smi_ioc_rescan(struct dsmil *dsm, void *arg)
{
	return dsmil_smi_rescan(&dsm->smi);
}

static const struct dsmil_ioctl_desc dsmil_smi_ioctl_desc[] = {
	{
		.cmd = DSMIL_IOC_TOKEN_READ,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_smi_ioc_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_token_req, reserved),
		},
		.name = "token-read",
	},
	{
		.cmd = DSMIL_IOC_TOKEN_WRITE,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_WRITE | DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_smi_ioc_write,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_token_req, reserved),
		},
		.name = "token-write",
	},
	{
		.cmd = DSMIL_IOC_SMI_STATUS,
		.handler = dsmil_smi_ioc_status,
		.name = "smi-status",
	},
	{
		.cmd = DSMIL_IOC_SMI_RECOVER,
		.policy = DSMIL_POL_ADMIN | DSMIL_POL_RAWIO,
		.handler = dsmil_smi_ioc_recover,
		.name = "smi-recover",
	},
	{
		.cmd = DSMIL_IOC_SMI_RESCAN,
		.policy = DSMIL_POL_ADMIN | DSMIL_POL_RAWIO,
		.handler = dsmil_smi_ioc_rescan,
		.name = "smi-rescan",
	},
	{
		.cmd = DSMIL_IOC_SMI_RESULT,
		.policy = DSMIL_POL_RAWIO,
		.handler = dsmil_smi_ioc_result,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_smi_result, reserved0),
			DSMIL_RSVD(struct dsmil_smi_result, reserved1),
			DSMIL_RSVD(struct dsmil_smi_result, reserved),
		},
		.name = "smi-result",
	},
};

const struct dsmil_ioctl_table dsmil_smi_ioctls = {
	.desc = dsmil_smi_ioctl_desc,
	.count = ARRAY_SIZE(dsmil_smi_ioctl_desc),
};

static int dsmil_smi_check_config(const struct dsmil_smi_config *cfg)
{
	if (!cfg->timeout_ms || cfg->timeout_ms > DSMIL_SMI_TIMEOUT_MAX_MS) {
		pr_err("smi_timeout_ms=%u is outside 1..%u\n",
		       cfg->timeout_ms, DSMIL_SMI_TIMEOUT_MAX_MS);
		return -EINVAL;
	}
	if (!cfg->hang_ms || cfg->hang_ms >= cfg->timeout_ms) {
		pr_err("smi_hang_ms=%u must be 1..%u (below smi_timeout_ms=%u, so a hang is caught before the timeout)\n",
		       cfg->hang_ms, cfg->timeout_ms - 1, cfg->timeout_ms);
		return -EINVAL;
	}
	if (cfg->min_interval_us > DSMIL_SMI_INTERVAL_MAX_US ||
	    cfg->min_interval_us >= cfg->timeout_ms * USEC_PER_MSEC) {
		pr_err("smi_min_interval_us=%u must be at most %u and below smi_timeout_ms=%u\n",
		       cfg->min_interval_us, DSMIL_SMI_INTERVAL_MAX_US,
		       cfg->timeout_ms);
		return -EINVAL;
	}
	if (!cfg->fault_limit || cfg->fault_limit > DSMIL_SMI_FAULT_LIMIT_MAX) {
		pr_err("smi_fault_limit=%u is outside 1..%u\n",
		       cfg->fault_limit, DSMIL_SMI_FAULT_LIMIT_MAX);
		return -EINVAL;
	}
	if (cfg->busy_retries > DSMIL_SMI_RETRIES_MAX) {
		pr_err("smi_busy_retries=%u is above %u\n",
		       cfg->busy_retries, DSMIL_SMI_RETRIES_MAX);
		return -EINVAL;
	}
	return 0;
}

static const struct dsmil_smi_ops *dsmil_smi_find_backend(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dsmil_smi_backends); i++)
		if (!strcmp(dsmil_smi_backends[i]->name, name))
			return dsmil_smi_backends[i];
	return NULL;
}

/**
 * dsmil_smi_init - validate the configuration and start the engine.
 * @smi:     engine to set up (zeroed, inside a struct dsmil).
 * @cfg:     configuration; copied.
 * @debugfs: the instance's debugfs directory (backend knobs), or NULL.
 *
 * Return: 0, -EINVAL for a bad configuration or unknown backend, -ENODEV
 * when the backend cannot run here, -ENOMEM.
 */
int dsmil_smi_init(struct dsmil_smi *smi, const struct dsmil_smi_config *cfg,
		   struct dentry *debugfs)
{
	const struct dsmil_smi_ops *ops;
	struct dsmil_smi_config c = *cfg;
	void *priv = NULL;
	int ret;

	ops = cfg->ops ?: dsmil_smi_find_backend(cfg->backend);
	if (!ops) {
		pr_err("unknown smi_backend '%s' (auto, sim, dell-smbios)\n",
		       cfg->backend);
		return -EINVAL;
	}
	/* Not given at load: the backend's own default, from its figures. */
	if (c.backend_timeout && ops->timeout_ms)
		c.timeout_ms = ops->timeout_ms;
	if (c.backend_hang && ops->hang_ms)
		c.hang_ms = ops->hang_ms;
	ret = dsmil_smi_check_config(&c);
	if (ret)
		return ret;

	if (cfg->ops) {
		priv = cfg->ops_priv;
	} else {
		ret = ops->init(smi, debugfs, &priv);
		if (ret)
			return ret;
	}
	cfg = &c;

	smi->cfg = *cfg;
	smi->timeout_ns = (u64)cfg->timeout_ms * NSEC_PER_MSEC;
	smi->hang_ns = (u64)cfg->hang_ms * NSEC_PER_MSEC;
	smi->interval_ns = (u64)cfg->min_interval_us * NSEC_PER_USEC;
	spin_lock_init(&smi->lock);
	INIT_LIST_HEAD(&smi->queue);
	INIT_WORK(&smi->work, dsmil_smi_work);
	ratelimit_state_init(&smi->rs_io, DSMIL_SMI_RL_INTERVAL,
			     DSMIL_SMI_RL_BURST);
	ratelimit_state_init(&smi->rs_state, DSMIL_SMI_RL_INTERVAL,
			     DSMIL_SMI_RL_BURST);

	smi->wq = alloc_ordered_workqueue("dsmil-smi", 0);
	if (!smi->wq) {
		ret = -ENOMEM;
		goto exit_backend;
	}
	smi->ops = ops;
	smi->priv = priv;
	smi->backend_name = ops->name;
	return 0;

exit_backend:
	if (!cfg->ops && ops->exit)
		ops->exit(priv);
	return ret;
}

/**
 * dsmil_smi_exit - stop the engine.
 * @smi: engine from dsmil_smi_init().
 *
 * Waits for the worker, which finishes whatever request it still owns
 * (including ones whose caller left), then releases the backend.
 */
void dsmil_smi_exit(struct dsmil_smi *smi)
{
	spin_lock(&smi->lock);
	smi->dying = true;
	spin_unlock(&smi->lock);

	destroy_workqueue(smi->wq);
	/* Nothing is left at an interface the engine lets go of. */
	dsmil_smi_end_stuck(smi);
	if (!smi->cfg.ops && smi->ops->exit)
		smi->ops->exit(smi->priv);
}
