// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: what the SMI engine (dsmil_smi.c) tells about its requests: the
 * counters, the documented log lines (Documentation/dsmil-messages.rst),
 * the tracepoint, the ring of final outcomes (DSMIL_IOC_SMI_RESULT) and the
 * status snapshot (DSMIL_IOC_SMI_STATUS).  Nothing here drives the
 * hardware or changes the engine's state: the engine calls this file, and
 * it calls nothing of the engine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kcsan-checks.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/pid.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

#define CREATE_TRACE_POINTS
#include "dsmil_smi_trace.h"

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

/* Count one request outcome.  Called with smi->lock held. */
void dsmil_smi_count(struct dsmil_smi *smi, enum dsmil_smi_outcome out, u64 ns)
{
	struct dsmil_smi_counters *c = &smi->cnt;

	lockdep_assert_held(&smi->lock);
	/*
	 * Nobody reads or writes the counters without the lock: lockdep
	 * checks that this writer holds it, KCSAN (an assertion, reported
	 * whether or not the value visibly changed) that no other CPU
	 * touches them meanwhile.
	 */
	ASSERT_EXCLUSIVE_ACCESS(c->requests);

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

static void dsmil_smi_dev_name(char *buf, size_t len, unsigned int dev)
{
	snprintf(buf, len, "DSMIL%uD%X", dev / DSMIL_DEVS_PER_GROUP,
		 dev % DSMIL_DEVS_PER_GROUP);
}

/*
 * Why @req made the backend FAULTED, in the word of the smi-faulted line
 * and uevent: a string with static storage.
 */
static const char *dsmil_smi_fault_word(const struct dsmil_smi_req *req)
{
	if (req->aborted < 0)
		return "abort-failed";
	if (req->slow)
		return "slow-call";
	return dsmil_smi_outcome_word(req->outcome);
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
		dsmil_warn(dsmil_smi_dev(smi), "smi-late: token=%#06x op=%s backend=%s dev=%s id=%llu call_us=%llu outcome=%s errno=%d\n",
			   tok, op, be, dev, req->id, call_us,
			   dsmil_smi_outcome_word(req->outcome), req->result);
		return;
	}
	if (req->slow) {
		/* A synchronous call's answer stands: errno is its own. */
		dsmil_warn(dsmil_smi_dev(smi), "smi-hang: token=%#06x op=%s backend=%s dev=%s call_us=%llu reason=slow-call errno=%d\n",
			   tok, op, be, dev, call_us, req->result);
		return;
	}
	switch (req->outcome) {
	case DSMIL_SMI_OUT_TIMEOUT:
	case DSMIL_SMI_OUT_QUEUE_TIMEOUT:
		dsmil_warn(dsmil_smi_dev(smi), "smi-timeout: token=%#06x op=%s backend=%s dev=%s waited_us=%llu reason=%s errno=%d\n",
			   tok, op, be, dev, waited_us,
			   req->outcome == DSMIL_SMI_OUT_QUEUE_TIMEOUT ? "queued" :
			   req->late_start ? "deadline-late" : "deadline",
			   req->result);
		break;
	case DSMIL_SMI_OUT_HANG:
		dsmil_warn(dsmil_smi_dev(smi), "smi-hang: token=%#06x op=%s backend=%s dev=%s status=%#04x stuck_us=%llu waited_us=%llu reason=status-stuck errno=%d\n",
			   tok, op, be, dev, req->status,
			   ktime_to_us(ktime_sub(req->end, req->last_change)), waited_us,
			   req->result);
		break;
	case DSMIL_SMI_OUT_ERROR_STATUS:
		dsmil_warn(dsmil_smi_dev(smi), "smi-error: token=%#06x op=%s backend=%s dev=%s status=%#04x reason=error-status errno=%d\n",
			   tok, op, be, dev, req->status, req->result);
		break;
	case DSMIL_SMI_OUT_GARBAGE:
		dsmil_warn(dsmil_smi_dev(smi), "smi-error: token=%#06x op=%s backend=%s dev=%s status=%#04x reason=garbage-status errno=%d\n",
			   tok, op, be, dev, req->status, req->result);
		break;
	case DSMIL_SMI_OUT_BUSY:
		dsmil_warn(dsmil_smi_dev(smi), "smi-error: token=%#06x op=%s backend=%s dev=%s retries=%u reason=busy errno=%d\n",
			   tok, op, be, dev, req->retries, req->result);
		break;
	case DSMIL_SMI_OUT_SUBMIT_FAILED:
		dsmil_warn(dsmil_smi_dev(smi), "smi-error: token=%#06x op=%s backend=%s dev=%s reason=submit-failed errno=%d\n",
			   tok, op, be, dev, req->result);
		break;
	default:
		break;
	}
	if (req->aborted > 0)
		dsmil_warn(dsmil_smi_dev(smi), "smi-abort: token=%#06x op=%s backend=%s dev=%s reason=%s result=ok\n",
			   tok, op, be, dev, dsmil_smi_outcome_word(req->outcome));
	else if (req->aborted < 0)
		dsmil_warn(dsmil_smi_dev(smi), "smi-abort: token=%#06x op=%s backend=%s dev=%s reason=%s result=failed errno=%d\n",
			   tok, op, be, dev, dsmil_smi_outcome_word(req->outcome), req->abort_err);
}

/* The rate-limited incident lines of one finished request. */
void dsmil_smi_log(struct dsmil_smi *smi, const struct dsmil_smi_req *req,
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
		why = dsmil_smi_fault_word(req);
		dsmil_err(dsmil_smi_dev(smi), "smi-faulted: backend=%s token=%#06x dev=%s consecutive=%u limit=%u reason=%s errno=%d\n",
			  smi->backend_name, req->cmd.token, dev, smi->consecutive,
			  smi->cfg.fault_limit, why, -ESHUTDOWN);
	}
}

/*
 * Keep @req's final outcome for DSMIL_IOC_SMI_RESULT.  Called with
 * smi->lock held.
 */
void dsmil_smi_record(struct dsmil_smi *smi, const struct dsmil_smi_req *req)
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
 * Keep the outcome of the request a failed abort left at the interface,
 * once a reset ended it (dsmil_smi_end_stuck()): -ETIMEDOUT, how it ended
 * is not known.  Called with smi->lock held.
 */
void dsmil_smi_record_stuck(struct dsmil_smi *smi,
			    const struct dsmil_smi_stuck *sk, ktime_t now)
{
	struct dsmil_smi_outcome_rec *r;

	lockdep_assert_held(&smi->lock);
	r = &smi->outcomes[smi->n_outcomes++ % DSMIL_SMI_RESULTS];
	*r = (struct dsmil_smi_outcome_rec){
		.id = sk->id,
		.duration_ns = ktime_to_ns(ktime_sub(now, sk->start)),
		.result = -ETIMEDOUT,
		.token = sk->token,
		.flags = (sk->op == DSMIL_SMI_OP_WRITE ?
			  DSMIL_SMI_RESULT_F_WRITE : 0) |
			 (sk->in_doubt ? DSMIL_SMI_RESULT_F_IN_DOUBT : 0) |
			 DSMIL_SMI_RESULT_F_UNKNOWN |
			 (sk->abandoned ? DSMIL_SMI_RESULT_F_ABANDONED : 0),
	};
	if (sk->in_doubt)
		smi->cnt.late_failures++;
	smi->cnt.late_failures += sk->joined_in_doubt;
}

/* Trace and log the end of a stuck request.  Called with no lock held. */
void dsmil_smi_log_stuck(struct dsmil_smi *smi,
			 const struct dsmil_smi_stuck *sk, ktime_t now)
{
	char dev[24];

	trace_dsmil_smi_request(sk->token, sk->op, smi->backend_name,
				-ETIMEDOUT,
				ktime_to_ns(ktime_sub(now, sk->start)));
	if (sk->in_doubt && __ratelimit(&smi->rs_io)) {
		dsmil_smi_dev_name(dev, sizeof(dev), sk->dev_id);
		dsmil_warn(dsmil_smi_dev(smi), "smi-late: token=%#06x op=%s backend=%s dev=%s id=%llu outcome=unknown errno=%d\n",
			   sk->token, dsmil_smi_op_name(sk->op), smi->backend_name, dev, sk->id,
			   -ETIMEDOUT);
	}
}

/* Trace a request whose final outcome is known. */
void dsmil_smi_trace_req(struct dsmil_smi *smi, const struct dsmil_smi_req *req)
{
	trace_dsmil_smi_request(req->cmd.token, req->cmd.op, smi->backend_name,
				req->result,
				ktime_to_ns(ktime_sub(req->end, req->start)));
}

/*
 * Tell the listener (the uevent sender) that the backend became FAULTED
 * because of @req.  Called with no engine lock held.
 */
void dsmil_smi_event_faulted(struct dsmil_smi *smi,
			     const struct dsmil_smi_req *req)
{
	struct dsmil_event ev = {
		.kind = DSMIL_EVENT_SMI_FAULTED,
		.device = req->dev_id < DSMIL_NUM_DEVICES ? req->dev_id :
			  DSMIL_EVENT_NO_DEVICE,
		.token = req->cmd.token,
		.why = dsmil_smi_fault_word(req),
	};

	if (smi->cfg.report_event)
		smi->cfg.report_event(smi->cfg.event_ctx, &ev);
}

/* ... and that a recovery ended FAULTED after @faulted_ms. */
void dsmil_smi_event_recovered(struct dsmil_smi *smi, u64 faulted_ms)
{
	struct dsmil_event ev = {
		.kind = DSMIL_EVENT_SMI_RECOVERED,
		.device = DSMIL_EVENT_NO_DEVICE,
		.ms = faulted_ms,
	};

	if (smi->cfg.report_event)
		smi->cfg.report_event(smi->cfg.event_ctx, &ev);
}

/* The line of a recovery attempt (DSMIL_IOC_SMI_RECOVER), rate-limited. */
void dsmil_smi_log_recover(struct dsmil_smi *smi, int reset_err,
			   u64 faulted_ms, unsigned int backoff_ms)
{
	if (!__ratelimit(&smi->rs_state))
		return;
	if (!reset_err)
		dsmil_info(dsmil_smi_dev(smi), "smi-recovered: backend=%s faulted_ms=%llu\n",
			   smi->backend_name, faulted_ms);
	else
		dsmil_warn(dsmil_smi_dev(smi), "smi-recover-failed: backend=%s backoff_ms=%u reset_errno=%d errno=%d\n",
			   smi->backend_name, backoff_ms, reset_err, -EIO);
}

/*
 * Count and trace a request that ends before it has a struct dsmil_smi_req;
 * @start 0: a refusal, not timed.
 */
void dsmil_smi_count_early(struct dsmil_smi *smi, enum dsmil_smi_outcome out,
			   u16 token, u8 op, int result, ktime_t start)
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
void dsmil_smi_refuse(struct dsmil_smi *smi, const struct dsmil_smi_cmd *cmd,
		      unsigned int dev_id, unsigned int flags, int err)
{
	struct dsmil *dsm = dsmil_from_smi(smi);

	dsmil_smi_count_early(smi, DSMIL_SMI_OUT_REFUSED, cmd->token, cmd->op,
			      err, 0);
	if (flags & DSMIL_SMI_F_NOREPORT)
		return;
	atomic64_inc(&dsm->bad_input);
	dsmil_count_refusal(dsm, DSMIL_REASON_BAD_ARG);
	if (__ratelimit(&smi->rs_input))
		dsmil_warn(dsmil_dev(dsm), "refused-input: cmd=token-%s pid=%d token=%#06x dev=DSMIL%uD%X why=%s errno=%d\n",
			   dsmil_smi_op_name(cmd->op), task_tgid_nr(current), cmd->token,
			   dev_id / DSMIL_DEVS_PER_GROUP, dev_id % DSMIL_DEVS_PER_GROUP,
			   err == -EACCES ? "dell-filter" : "token-absent", err);
}

/**
 * dsmil_smi_get_status - snapshot of the engine (DSMIL_IOC_SMI_STATUS).
 * @smi: SMI engine.
 * @st:  filled in; the caller zeroed it.
 */
void dsmil_smi_get_status(struct dsmil_smi *smi,
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

	/*
	 * One consistent snapshot: the counter identity holds in it.  (The
	 * KCSAN stage's positive control, a test-only build, takes it
	 * without the lock: a data race KCSAN must report, see Kbuild.)
	 */
#ifndef DSMIL_KCSAN_CONTROL
	spin_lock(&smi->lock);
#endif
	/*
	 * No writer while the lock is held.  A plain read racing a write is
	 * found by KCSAN but only reported if the watcher sees the value
	 * change; under TCG the racing write lands after its re-read, so the
	 * control's race went unreported (Documentation/dsmil-kcsan.rst).
	 * An assertion is reported on any overlap.
	 */
	ASSERT_EXCLUSIVE_WRITER(c->requests);
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
	st->coalesced = c->coalesced;
#ifndef DSMIL_KCSAN_CONTROL
	spin_unlock(&smi->lock);
#endif
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_get_status);

/**
 * dsmil_smi_result - the final outcome of a request, by id
 * (DSMIL_IOC_SMI_RESULT).
 * @smi: SMI engine.
 * @res: request_id in; the rest out.
 *
 * Return: 0, -EINVAL (id 0), -EINPROGRESS (not ended yet) or -ENOENT (not
 * a request among the last DSMIL_SMI_RESULTS).
 */
int dsmil_smi_result(struct dsmil_smi *smi,
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
