// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the token layer over the SMI engine (dsmil_smi.c), shaped like
 * dell-smbios-base over its transports: which backend the engine drives
 * (smi_backend=, or one the caller hands in), the map from (group,
 * position) to token and device, the token policy (the device's state on
 * arrival, activate, the backend's discovery), the audited write (read
 * before, write, read back), the state machine's verification read, and
 * the SMI ioctls.  Everything here calls down: into the engine and its
 * statistics, the state machine's checks and the write audit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

static const struct dsmil_smi_ops *const dsmil_smi_backends[] = {
	&dsmil_smi_sim_ops,
	&dsmil_smi_dell_ops,
};

static const struct dsmil_smi_ops *dsmil_smi_find_backend(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dsmil_smi_backends); i++)
		if (!strcmp(dsmil_smi_backends[i]->name, name))
			return dsmil_smi_backends[i];
	return NULL;
}

/**
 * dsmil_smi_tokens_init - choose the SMI backend and start the engine on it.
 * @smi:     engine to set up (zeroed, inside a struct dsmil).
 * @cfg:     configuration; copied.
 * @tp:      the backend to drive with its data, set up by the caller, who
 *           keeps it (KUnit's fakes); NULL: the one @cfg->backend names,
 *           set up here and released by dsmil_smi_tokens_exit().
 * @debugfs: the instance's debugfs directory (backend knobs), or NULL.
 *
 * Return: 0, -EINVAL for a bad configuration or unknown backend, -ENODEV
 * when the backend cannot run here, -ENOMEM.
 */
int dsmil_smi_tokens_init(struct dsmil_smi *smi,
			  const struct dsmil_smi_config *cfg,
			  const struct dsmil_smi_transport *tp,
			  struct dentry *debugfs)
{
	struct dsmil_smi_tokens *tk = &dsmil_from_smi(smi)->smi_tokens;
	struct dsmil_smi_config c = *cfg;
	int ret;

	if (tp) {
		tk->tp = *tp;
		tk->owned = false;
		return dsmil_smi_init(smi, cfg, tp);
	}
	tk->tp.ops = dsmil_smi_find_backend(cfg->backend);
	if (!tk->tp.ops) {
		dsmil_err(dsmil_smi_dev(smi), "unknown smi_backend '%s' (auto, sim, dell-smbios)\n",
			  cfg->backend);
		return -EINVAL;
	}
	/* A bad configuration sets no backend up (nor loads dell-smbios). */
	ret = dsmil_smi_resolve_config(dsmil_smi_dev(smi), &c,
				       tk->tp.ops);
	if (ret)
		return ret;
	ret = tk->tp.ops->init(dsmil_smi_dev(smi), debugfs,
			       &tk->tp.priv);
	if (ret)
		return ret;
	ret = dsmil_smi_init(smi, cfg, &tk->tp);
	if (ret)
		goto exit_backend;
	tk->owned = true;
	return 0;

exit_backend:
	if (tk->tp.ops->exit)
		tk->tp.ops->exit(tk->tp.priv);
	return ret;
}

/**
 * dsmil_smi_tokens_exit - stop the engine, then release the backend if
 * dsmil_smi_tokens_init() set it up.
 * @smi: engine from dsmil_smi_tokens_init().
 */
void dsmil_smi_tokens_exit(struct dsmil_smi *smi)
{
	struct dsmil_smi_tokens *tk = &dsmil_from_smi(smi)->smi_tokens;

	dsmil_smi_exit(smi);
	if (tk->owned && tk->tp.ops->exit)
		tk->tp.ops->exit(tk->tp.priv);
	tk->owned = false;
}

/*
 * The checks a token request meets on arrival, synchronous or not: the
 * token, the flags, then the owning device's state (READY/ACTIVE for a
 * read, ACTIVE and not quarantined for a write).  Refusals are counted
 * (and the argument ones logged) and touch no hardware.  On success, the
 * command and the owning device in @cmdp and @devp.
 */
static int dsmil_smi_token_prepare(struct dsmil_smi *smi,
				   struct dsmil_token_req *tr, bool write,
				   struct dsmil_smi_cmd *cmdp, unsigned int *devp)
{
	struct dsmil *dsm = dsmil_from_smi(smi);
	struct dsmil_smi_cmd cmd = {
		.op = write ? DSMIL_SMI_OP_WRITE : DSMIL_SMI_OP_READ,
		.value = write ? tr->value : 0,
	};
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
		if (__ratelimit(&smi->rs_input))
			dsmil_warn(dsmil_dev(dsm), "refused-input: cmd=token-%s pid=%d group=%u position=%u why=%s errno=%d\n",
				   dsmil_smi_op_name(cmd.op), task_tgid_nr(current), tr->group,
				   tr->position, why, ret);
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
	*cmdp = cmd;
	*devp = dev;
	return 0;
}

/*
 * A token request as the ioctls make it (dsmil_smi_token_rw()), with the
 * engine's DSMIL_SMI_F_* @smi_flags.
 */
static int dsmil_smi_token_call(struct dsmil_smi *smi,
				struct dsmil_token_req *tr, bool write,
				unsigned int smi_flags)
{
	struct dsmil_smi_cmd cmd;
	struct dsmil_smi_reply rep;
	unsigned int dev;
	int ret;

	ret = dsmil_smi_token_prepare(smi, tr, write, &cmd, &dev);
	if (ret)
		return ret;

	ret = dsmil_smi_exec(smi, &cmd, dev, smi_flags, &rep);
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
 * checks the state again at the hand-off.  A read may share the call of
 * a read of the same token already on its way (single-flight).
 *
 * Return: 0 or a negative errno as DSMIL_IOC_TOKEN_READ/WRITE document;
 * with -EINPROGRESS, @tr->flags has DSMIL_TOKEN_F_IN_DOUBT.
 */
VISIBLE_IF_KUNIT int dsmil_smi_token_rw(struct dsmil_smi *smi,
					struct dsmil_token_req *tr, bool write)
{
	return dsmil_smi_token_call(smi, tr, write, 0);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_rw);

/*
 * A token write ended before the engine saw it (at @stage: refused, or its
 * read before failed): counted as refused, so that every token call is one
 * request in the engine's counters.  Its record names @who's writer (NULL:
 * the caller).
 */
static int dsmil_smi_write_refused(struct dsmil_smi *smi,
				   struct dsmil_write_record *rec,
				   const struct dsmil_write_record *who,
				   u8 stage, int ret)
{
	dsmil_smi_count_early(smi, DSMIL_SMI_OUT_REFUSED, rec->token,
			      DSMIL_SMI_OP_WRITE, ret, 0);
	rec->stage = stage;
	rec->error = -ret;
	dsmil_waudit_add_as(&dsmil_from_smi(smi)->waudit, rec, who);
	return ret;
}

/*
 * DSMIL_IOC_TOKEN_WRITE, audited (see dsmil_smi_token_write_audited()), its
 * records naming @who's writer (NULL: the caller).
 */
static int dsmil_smi_write_audited_as(struct dsmil_smi *smi,
				      struct dsmil_token_req *tr,
				      const struct dsmil_write_record *who)
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
		return dsmil_smi_write_refused(smi, &rec, who,
					       DSMIL_WREC_AT_REFUSED, ret);

	cookie = dsmil_waudit_begin(wa, dev);
	if (!smi->ops->activate) {
		rd = (struct dsmil_token_req){
			.group = tr->group, .position = tr->position,
		};
		atomic64_inc(&wa->reads);
		/* The write's own evidence: a call of its own (F_ALONE). */
		ret = dsmil_smi_token_call(smi, &rd, false, DSMIL_SMI_F_ALONE);
		/*
		 * A read before that ended in doubt did not answer in time;
		 * the write itself was never sent, so its outcome is known.
		 * -EINPROGRESS would tell the caller it might still land.
		 */
		if (ret == -EINPROGRESS)
			ret = -ETIMEDOUT;
		if (ret) {
			dsmil_waudit_end(wa, dev, cookie);
			return dsmil_smi_write_refused(smi, &rec, who,
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
		dsmil_waudit_add_as(wa, &rec, who);
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
	ret = dsmil_smi_token_call(smi, &rd, false, DSMIL_SMI_F_ALONE);
	alone = dsmil_waudit_end(wa, dev, cookie);
	if (ret) {
		/* The write stands; the record says it could not be checked. */
		rec.readback_error = -ret;
		dsmil_waudit_add_as(wa, &rec, who);
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
	dsmil_waudit_add_as(wa, &rec, who);
	return -(int)rec.error;
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
int dsmil_smi_token_write_audited(struct dsmil_smi *smi,
				  struct dsmil_token_req *tr)
{
	return dsmil_smi_write_audited_as(smi, tr, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_write_audited);

/**
 * dsmil_smi_token_submit_read - DSMIL_IOC_TOKEN_SUBMIT of a read.
 * @smi:      SMI engine.
 * @tr:       group, position, flags (zero); gets the token.
 * @complete: the completion hook (dsmil_smi_submit()).
 * @ctx:      passed to @complete.
 *
 * The read is checked on arrival as dsmil_smi_token_rw() checks it, then
 * queued (dsmil_smi_submit(), which adds the backend's own check and
 * FAULTED) and left to the engine, which checks it again at the hand-off.
 *
 * Return: the request (the caller holds a reference) or an ERR_PTR with
 * the errno DSMIL_IOC_TOKEN_READ would have returned on arrival.
 */
struct dsmil_smi_req *
dsmil_smi_token_submit_read(struct dsmil_smi *smi, struct dsmil_token_req *tr,
			    void (*complete)(struct dsmil_smi_req *req,
					     void *ctx),
			    void *ctx)
{
	struct dsmil_smi_cmd cmd;
	unsigned int dev;
	int ret;

	ret = dsmil_smi_token_prepare(smi, tr, false, &cmd, &dev);
	if (ret)
		return ERR_PTR(ret);
	return dsmil_smi_submit(smi, &cmd, dev, 0, complete, ctx);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_submit_read);

/*
 * An asynchronous write's audit record, as the audited write starts one
 * (its writer is named when it is added).
 */
static void dsmil_smi_write_rec(struct dsmil_smi *smi,
				const struct dsmil_token_req *tr, u16 token,
				unsigned int dev, struct dsmil_write_record *rec)
{
	bool activate = tr->flags & DSMIL_TOKEN_F_ACTIVATE;

	*rec = (struct dsmil_write_record){ .kind = DSMIL_WREC_TOKEN };
	rec->request_id = dsmil_next_request_id(dsmil_from_smi(smi));
	rec->device = dev;
	rec->token = token;
	rec->flags = activate ? DSMIL_WREC_F_ACTIVATE : DSMIL_WREC_F_VALUE;
	rec->value = activate ? 0 : tr->value;
}

/**
 * dsmil_smi_token_write_check - DSMIL_IOC_TOKEN_SUBMIT of a write, on
 * arrival.
 * @smi: SMI engine.
 * @tr:  the write, as dsmil_smi_token_write_audited() takes it; gets the
 *       token.
 * @who: who asked (dsmil_waudit_who()), for the audit record.
 *
 * The checks DSMIL_IOC_TOKEN_WRITE makes on arrival, with the same
 * bookkeeping: bad arguments are refused and counted as ever; a write the
 * device's state refuses is counted and leaves its audit record (stage
 * REFUSED).  Then the checks the engine makes before it takes a request
 * (the backend's own, FAULTED), here, in the submitter's context: the Dell
 * filter asks capable() of the current task, which in the writer would be
 * a kernel worker, and DSMIL_IOC_TOKEN_SUBMIT promises that a write they
 * refuse is not queued.  Such a refusal is counted as the engine counts it
 * and leaves its audit record (stage REFUSED).  A write that passes is
 * queued by the caller and made later by dsmil_smi_token_write_queued(),
 * which checks it all again.
 *
 * Return: 0 (may be queued) or the errno refusing it.
 */
int dsmil_smi_token_write_check(struct dsmil_smi *smi,
				struct dsmil_token_req *tr,
				const struct dsmil_write_record *who)
{
	struct dsmil_write_record rec;
	struct dsmil_smi_cmd cmd;
	unsigned int dev;
	u16 token;
	int ret;

	tr->flags &= ~DSMIL_TOKEN_F_IN_DOUBT;
	tr->request_id = 0;
	if (dsmil_smi_token_of(tr->group, tr->position, &token, &dev) ||
	    tr->flags & ~DSMIL_TOKEN_F_ACTIVATE ||
	    (tr->flags & DSMIL_TOKEN_F_ACTIVATE && !smi->ops->activate))
		/* Refused for its arguments (and counted) there. */
		return dsmil_smi_token_prepare(smi, tr, true, &cmd, &dev);
	tr->token = token;

	/* Counted and logged by the state machine when it refuses. */
	ret = dsmil_state_check_access(&dsmil_from_smi(smi)->state, dev, true);
	if (ret) {
		dsmil_smi_write_rec(smi, tr, token, dev, &rec);
		return dsmil_smi_write_refused(smi, &rec, who,
					       DSMIL_WREC_AT_REFUSED, ret);
	}

	cmd = (struct dsmil_smi_cmd){
		.op = DSMIL_SMI_OP_WRITE,
		.token = token,
	};
	if (tr->flags & DSMIL_TOKEN_F_ACTIVATE)
		cmd.flags |= DSMIL_SMI_CMD_ACTIVATE;
	else
		cmd.value = tr->value;
	ret = smi->ops->check ? smi->ops->check(smi->priv, &cmd) : 0;
	if (ret) {
		/* Counted and logged as dsmil_smi_exec() does. */
		dsmil_smi_refuse(smi, &cmd, dev, 0, ret);
	} else if (READ_ONCE(smi->faulted)) {
		ret = -ESHUTDOWN;
		dsmil_smi_count_early(smi, DSMIL_SMI_OUT_FAULTED, token,
				      DSMIL_SMI_OP_WRITE, ret, 0);
	}
	if (ret) {
		/* Counted above: the record only (nothing was sent). */
		dsmil_smi_write_rec(smi, tr, token, dev, &rec);
		rec.stage = DSMIL_WREC_AT_REFUSED;
		rec.error = -ret;
		dsmil_waudit_add_as(&dsmil_from_smi(smi)->waudit, &rec, who);
	}
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_write_check);

/**
 * dsmil_smi_token_write_unsent - an asynchronous write that ends unsent.
 * @smi: SMI engine.
 * @tr:  the write, checked by dsmil_smi_token_write_check().
 * @who: who asked, for the audit record.
 * @err: -ECANCELED (cancelled while queued) or -ETIMEDOUT (still queued
 *       at its deadline).
 *
 * Counted as the engine counts such a request (@cancelled, or
 * @queue_timeouts), and audited (stage REFUSED: nothing was written).
 */
void dsmil_smi_token_write_unsent(struct dsmil_smi *smi,
				  const struct dsmil_token_req *tr,
				  const struct dsmil_write_record *who, int err)
{
	struct dsmil_write_record rec;
	unsigned int dev;
	u16 token;

	if (WARN_ON_ONCE(dsmil_smi_token_of(tr->group, tr->position, &token,
					    &dev)))
		return;
	dsmil_smi_count_early(smi, err == -ETIMEDOUT ?
			      DSMIL_SMI_OUT_QUEUE_TIMEOUT :
			      DSMIL_SMI_OUT_CANCELLED,
			      token, DSMIL_SMI_OP_WRITE, err, 0);
	dsmil_smi_write_rec(smi, tr, token, dev, &rec);
	rec.stage = DSMIL_WREC_AT_REFUSED;
	rec.error = -err;
	dsmil_waudit_add_as(&dsmil_from_smi(smi)->waudit, &rec, who);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_write_unsent);

/**
 * dsmil_smi_token_write_queued - make an asynchronous write.
 * @smi:       SMI engine.
 * @tr:        the write, checked by dsmil_smi_token_write_check().
 * @who:       who asked, for the audit records.
 * @submitted: when it was submitted.
 *
 * The audited write of DSMIL_IOC_TOKEN_WRITE (every check again, the read
 * before, the write through the engine's hand-off, the read-back, one
 * audit record), made from the asynchronous writer.  A write that waited
 * there past its bound (smi_timeout_ms from @submitted) ends as a queue
 * timeout, unsent, as a request still queued at its deadline does.
 *
 * Return: 0 or the errno DSMIL_IOC_TOKEN_WRITE would have returned.
 */
int dsmil_smi_token_write_queued(struct dsmil_smi *smi,
				 struct dsmil_token_req *tr,
				 const struct dsmil_write_record *who,
				 ktime_t submitted)
{
	ktime_t deadline = ktime_add_ns(submitted, smi->timeout_ns);

	if (!ktime_before(ktime_get(), deadline)) {
		dsmil_smi_token_write_unsent(smi, tr, who, -ETIMEDOUT);
		return -ETIMEDOUT;
	}
	return dsmil_smi_write_audited_as(smi, tr, who);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_token_write_queued);

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

static int dsmil_smi_verifier_verify(void *ctx, unsigned int id)
{
	return dsmil_smi_verify_device(ctx, id);
}

static u16 dsmil_smi_verifier_token_flags(void *ctx, u16 token)
{
	return dsmil_smi_token_flags(ctx, token);
}

/*
 * What the state machine is given to verify and describe devices, with
 * the engine (struct dsmil_smi) as context: it asks through this, and
 * calls nothing of the SMI layer itself.
 */
const struct dsmil_state_verifier dsmil_smi_verifier = {
	.verify		= dsmil_smi_verifier_verify,
	.token_flags	= dsmil_smi_verifier_token_flags,
};

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
