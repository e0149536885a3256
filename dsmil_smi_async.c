// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: asynchronous requests of the SMI engine.
 *
 * dsmil_smi_submit() is dsmil_smi_exec() without the wait: the request is
 * checked as exec checks it (the backend's own refusal, FAULTED), put on
 * the engine's queue and left to the worker, which drives it like any
 * queued request: the deadline (arrival + smi_timeout_ms) still bounds it
 * (a request that reaches the hand-off past it ends as a queue timeout,
 * touching nothing), the hand-off check (dsmil_smi_fence()) is made right
 * before the backend sees it, and it is counted once when it finishes.
 * dsmil_smi_finish() then calls the completion hook handed in with it.
 * Nobody waits for it, so it is never abandoned nor in doubt: the worker
 * always learns its outcome.  A request still queued can be cancelled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

/**
 * dsmil_smi_submit - queue one token request and return at once.
 * @smi:      SMI engine.
 * @cmd:      what to do; the token must be valid (the caller checked it,
 *            and the device's state, as for dsmil_smi_exec()).
 * @dev_id:   device owning the token.
 * @flags:    DSMIL_SMI_F_*.
 * @complete: called once when the request finishes (in the worker, or in
 *            the context of dsmil_smi_cancel()), with no engine lock held;
 *            the request's @id, @outcome, @result, @value, @start and @end
 *            are final then.  It may sleep but must not wait for another
 *            request of the engine.
 * @ctx:      passed to @complete.
 *
 * Return: the request, with one reference for the caller (drop it with
 * dsmil_smi_req_put(), before or after it completes), or an ERR_PTR:
 * the backend's own refusal (-ENOENT, -EACCES), -ESHUTDOWN (FAULTED or
 * stopping), -ENOMEM.  @complete is not called for a refused request.
 */
struct dsmil_smi_req *
dsmil_smi_submit(struct dsmil_smi *smi, const struct dsmil_smi_cmd *cmd,
		 unsigned int dev_id, unsigned int flags,
		 void (*complete)(struct dsmil_smi_req *req, void *ctx),
		 void *ctx)
{
	ktime_t start = ktime_get();
	struct dsmil_smi_req *req;
	int ret;

	/* What the backend refuses outright goes nowhere, as in exec. */
	if (smi->ops->check) {
		ret = smi->ops->check(smi->priv, cmd);
		if (ret) {
			dsmil_smi_refuse(smi, cmd, dev_id, flags, ret);
			return ERR_PTR(ret);
		}
	}
	if (READ_ONCE(smi->faulted))
		goto faulted;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req) {
		dsmil_smi_count_early(smi, DSMIL_SMI_OUT_SUBMIT_FAILED,
				      cmd->token, cmd->op, -ENOMEM, start);
		return ERR_PTR(-ENOMEM);
	}
	req->id = dsmil_next_request_id(dsmil_from_smi(smi));
	kref_init(&req->ref);		/* the caller's */
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);
	req->cmd = *cmd;
	req->dev_id = dev_id;
	req->flags = flags;
	req->stage = DSMIL_SMI_QUEUED;
	req->start = start;
	req->deadline = ktime_add_ns(start, smi->timeout_ns);
	req->complete = complete;
	req->complete_ctx = ctx;

	/* Never joinable: a cancel by id must not drop others' reads. */
	if (!dsmil_smi_enqueue(smi, req, false)) {
		kfree(req);
		goto faulted;
	}
	return req;

faulted:
	dsmil_smi_count_early(smi, DSMIL_SMI_OUT_FAULTED, cmd->token, cmd->op,
			      -ESHUTDOWN, start);
	return ERR_PTR(-ESHUTDOWN);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_submit);

/**
 * dsmil_smi_cancel - take a queued asynchronous request back.
 * @smi: SMI engine.
 * @req: a request from dsmil_smi_submit(), the caller holding a reference.
 *
 * A request still on the queue finishes at once as cancelled (counted in
 * @cancelled, nothing sent); its completion hook runs here, before this
 * returns.  One the worker has taken (at the hand-off or the hardware)
 * finishes normally.
 *
 * Return: 0 (cancelled), -EBUSY (the worker has it, or it has finished).
 */
int dsmil_smi_cancel(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	spin_lock(&smi->lock);
	if (req->stage != DSMIL_SMI_QUEUED) {
		spin_unlock(&smi->lock);
		return -EBUSY;
	}
	/* Off the queue: the worker cannot take it any more. */
	list_del_init(&req->node);
	req->stage = DSMIL_SMI_RUNNING;
	spin_unlock(&smi->lock);
	dsmil_smi_finish(smi, req, DSMIL_SMI_OUT_CANCELLED, false);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_cancel);

/**
 * dsmil_smi_req_get - one more reference to an asynchronous request.
 * @req: the request.
 */
void dsmil_smi_req_get(struct dsmil_smi_req *req)
{
	kref_get(&req->ref);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_req_get);

/**
 * dsmil_smi_req_put - drop a reference to an asynchronous request.
 * @req: the request.
 */
void dsmil_smi_req_put(struct dsmil_smi_req *req)
{
	kref_put(&req->ref, dsmil_smi_req_release);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_req_put);
