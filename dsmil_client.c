// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the clients of /dev/dsmil.
 *
 * Each open file is a client with its own asynchronous token requests.
 * DSMIL_IOC_TOKEN_SUBMIT checks a request as the synchronous ioctls do on
 * arrival and queues it: a read in the SMI engine (dsmil_smi_submit(), the
 * engine's worker drives it and calls dsmil_client_read_done() when it
 * ends), a write on the instance's asynchronous writer, which makes the
 * audited write of DSMIL_IOC_TOKEN_WRITE (read before, write, read back,
 * one audit record) in the submitter's name.  Either way the request is
 * checked again where it reaches the hardware (the engine's hand-off) and
 * bounded from its submit.  Its end becomes a struct dsmil_token_completion
 * that read() returns and poll() reports.
 *
 * Lifetimes: a client is referenced by its file and by every request not
 * yet ended; release cancels what is still queued, and a request already
 * at the firmware (or a write under way) ends later, its record dropped and
 * its reference put then.  The instance's teardown (dsmil_clients_exit()
 * before the engine's) waits for those, and the module cannot be unloaded
 * while a file is open (the fops owner).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"
#include "dsmil_client.h"

/**
 * struct dsmil_client_req - one asynchronous request of a client.
 * @node:       on &dsmil_client.pending, then &dsmil_client.ready.
 * @cl:         its client (a reference while it has not ended).
 * @smi:        a read: the engine's request (a reference), once the submit
 *              has returned and until it ends; under &dsmil_client.lock.
 * @submitting: a read: the submit has not returned yet; if it ends
 *              meanwhile (@ended), the submitter posts the record.
 * @ended:      its record is final.
 * @running:    a write: the writer has started it (no cancel any more).
 * @released:   a read: release tried to cancel it.
 * @write:      a write (on the writer) rather than a read (in the engine).
 * @work:       a write: its turn on the writer.
 * @tr:         a write: the request as the audited write takes it.
 * @who:        a write: the submitter, for its audit records.
 * @start:      when it was submitted.
 * @rec:        its completion record.
 */
struct dsmil_client_req {
	struct list_head node;
	struct dsmil_client *cl;
	struct dsmil_smi_req *smi;
	bool submitting;
	bool ended;
	bool running;
	bool released;
	bool write;
	struct work_struct work;
	struct dsmil_token_req tr;
	struct dsmil_write_record who;
	ktime_t start;
	struct dsmil_token_completion rec;
};

static void dsmil_client_free(struct kref *ref)
{
	kfree(container_of(ref, struct dsmil_client, ref));
}

static void dsmil_client_put(struct dsmil_client *cl)
{
	kref_put(&cl->ref, dsmil_client_free);
}

/*
 * @creq has ended (off &pending already): make its record readable, or,
 * the file being closed, drop it.  Called with cl->lock held; returns the
 * request to free (dropped) or NULL.  The caller then puts the client
 * reference the request held, after unlocking.
 */
static struct dsmil_client_req *dsmil_client_post(struct dsmil_client *cl,
						  struct dsmil_client_req *creq)
{
	lockdep_assert_held(&cl->lock);
	creq->ended = true;
	atomic_dec(&cl->dsm->clients.in_progress);
	creq->rec.duration_ns = ktime_to_ns(ktime_sub(ktime_get(),
						      creq->start));
	if (cl->closed) {
		cl->outstanding--;
		return creq;
	}
	list_add_tail(&creq->node, &cl->ready);
	wake_up_interruptible_poll(&cl->wait, EPOLLIN | EPOLLRDNORM);
	return NULL;
}

/* A read's record from its engine request, once it has ended. */
VISIBLE_IF_KUNIT void
dsmil_client_fill_read(struct dsmil_token_completion *rec,
		       const struct dsmil_smi_req *req)
{
	rec->smi_id = req->id;
	rec->token = req->cmd.token;
	/*
	 * A polled read whose abort failed ends -EINPROGRESS, counted in
	 * doubt: its outcome is DSMIL_IOC_SMI_RESULT's to tell, not final.
	 */
	rec->flags = req->result == -EINPROGRESS ? DSMIL_TOKEN_C_IN_DOUBT :
						   DSMIL_TOKEN_C_FINAL;
	if (req->outcome == DSMIL_SMI_OUT_CANCELLED) {
		/* Only DSMIL_IOC_TOKEN_CANCEL cancels an asynchronous read. */
		rec->error = ECANCELED;
		rec->flags |= DSMIL_TOKEN_C_CANCELLED;
	} else {
		rec->error = -req->result;
	}
	rec->value = req->result ? 0 : req->value;
	if (!req->submitted)
		rec->flags |= DSMIL_TOKEN_C_UNSENT;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_client_fill_read);

/*
 * The engine's completion hook of a read: in its worker, or in the
 * context of a cancel, with no engine lock held.
 */
static void dsmil_client_read_done(struct dsmil_smi_req *req, void *ctx)
{
	struct dsmil_client_req *creq = ctx, *drop = NULL;
	struct dsmil_client *cl = creq->cl;
	struct dsmil_smi_req *ref;

	dsmil_client_fill_read(&creq->rec, req);
	spin_lock(&cl->lock);
	list_del_init(&creq->node);
	ref = creq->smi;
	creq->smi = NULL;
	if (creq->submitting) {
		/* The submitter has no reference stored yet: it posts. */
		creq->ended = true;
		spin_unlock(&cl->lock);
		return;
	}
	drop = dsmil_client_post(cl, creq);
	spin_unlock(&cl->lock);

	/* The engine still holds its own reference until we return. */
	dsmil_smi_req_put(ref);
	kfree(drop);
	dsmil_client_put(cl);
}

/* The asynchronous writer: one write at a time, audited. */
static void dsmil_client_write_work(struct work_struct *work)
{
	struct dsmil_client_req *creq, *drop;
	struct dsmil_client *cl;
	int ret;

	creq = container_of(work, struct dsmil_client_req, work);
	cl = creq->cl;
	spin_lock(&cl->lock);
	creq->running = true;
	spin_unlock(&cl->lock);

	ret = dsmil_smi_token_write_queued(&cl->dsm->smi, &creq->tr,
					   &creq->who, creq->start);
	creq->rec.smi_id = creq->tr.request_id;
	creq->rec.token = creq->tr.token;
	creq->rec.error = -ret;
	creq->rec.value = creq->tr.old_value;
	creq->rec.flags = ret == -EINPROGRESS ? DSMIL_TOKEN_C_IN_DOUBT :
			  DSMIL_TOKEN_C_FINAL;

	spin_lock(&cl->lock);
	list_del_init(&creq->node);
	drop = dsmil_client_post(cl, creq);
	spin_unlock(&cl->lock);
	kfree(drop);
	dsmil_client_put(cl);
}

static int dsmil_client_submit_read(struct dsmil_client *cl,
				    struct dsmil_client_req *creq)
{
	struct dsmil_client_req *drop = NULL;
	struct dsmil_smi_req *req;
	bool ended;

	creq->submitting = true;
	spin_lock(&cl->lock);
	list_add_tail(&creq->node, &cl->pending);
	spin_unlock(&cl->lock);

	req = dsmil_smi_token_submit_read(&cl->dsm->smi, &creq->tr,
					  dsmil_client_read_done, creq);
	spin_lock(&cl->lock);
	if (IS_ERR(req)) {
		list_del(&creq->node);
		spin_unlock(&cl->lock);
		return PTR_ERR(req);
	}
	creq->submitting = false;
	ended = creq->ended;
	if (ended)
		/* It ended before we got here: its hook left it to us. */
		drop = dsmil_client_post(cl, creq);
	else
		creq->smi = req;
	spin_unlock(&cl->lock);
	if (ended) {
		dsmil_smi_req_put(req);
		/* Never the last reference: the file holds one. */
		kfree(drop);
		dsmil_client_put(cl);
	}
	return 0;
}

/*
 * DSMIL_POL_* a submit needs beyond CAP_SYS_RAWIO: a write needs what
 * DSMIL_IOC_TOKEN_WRITE does.
 */
static unsigned int dsmil_client_submit_policy(const void *arg)
{
	const struct dsmil_token_submit *sub = arg;

	return sub->op == DSMIL_TOKEN_OP_WRITE ?
	       DSMIL_POL_NOLOCKDOWN | DSMIL_POL_WRITE : 0;
}

/*
 * A submit whose fields do not fit its op: refused before anything is
 * queued, counted and logged as the dispatcher's argument refusals are.
 */
static int dsmil_client_bad_submit(struct dsmil *dsm, const char *why)
{
	atomic64_inc(&dsm->bad_input);
	dsmil_warn_ratelimited(dsmil_dev(dsm), "refused-input: cmd=token-submit pid=%d why=%s errno=%d\n",
			       task_tgid_nr(current), why, -EINVAL);
	return -EINVAL;
}

static int dsmil_client_ioc_submit(struct dsmil_client *cl, void *arg)
{
	struct dsmil_token_submit *sub = arg;
	struct dsmil *dsm = cl->dsm;
	struct dsmil_client_req *creq;
	int ret;

	sub->id = 0;
	if (sub->op != DSMIL_TOKEN_OP_READ && sub->op != DSMIL_TOKEN_OP_WRITE)
		return dsmil_client_bad_submit(dsm, "bad-op");
	/*
	 * A read's value is input nobody reads: refused, so that a later
	 * meaning for it cannot surprise a caller that left garbage there.
	 */
	if (sub->op == DSMIL_TOKEN_OP_READ && sub->value)
		return dsmil_client_bad_submit(dsm, "read-value");

	/* The limit counts records not read yet too: memory stays bounded. */
	spin_lock(&cl->lock);
	if (cl->outstanding >= DSMIL_ASYNC_MAX) {
		spin_unlock(&cl->lock);
		return -EAGAIN;
	}
	cl->outstanding++;
	spin_unlock(&cl->lock);
	/*
	 * Requests not ended, of all clients: many files must not fill the
	 * engine's queue (or the writer) ahead of synchronous callers.
	 */
	if (atomic_inc_return(&dsm->clients.in_progress) >
	    DSMIL_ASYNC_GLOBAL_MAX) {
		ret = -EAGAIN;
		goto unreserve_global;
	}

	creq = kzalloc(sizeof(*creq), GFP_KERNEL);
	if (!creq) {
		ret = -ENOMEM;
		goto unreserve_global;
	}
	INIT_LIST_HEAD(&creq->node);
	creq->cl = cl;
	creq->start = ktime_get();
	creq->write = sub->op == DSMIL_TOKEN_OP_WRITE;
	creq->tr = (struct dsmil_token_req){
		.group = sub->group,
		.position = sub->position,
		.value = sub->value,
		.flags = sub->flags,
	};
	creq->rec.id = dsmil_next_request_id(dsm);
	creq->rec.op = sub->op;
	kref_get(&cl->ref);	/* the request's */

	if (creq->write) {
		dsmil_waudit_who(&creq->who);
		ret = dsmil_smi_token_write_check(&dsm->smi, &creq->tr,
						  &creq->who);
		if (!ret) {
			INIT_WORK(&creq->work, dsmil_client_write_work);
			spin_lock(&cl->lock);
			list_add_tail(&creq->node, &cl->pending);
			spin_unlock(&cl->lock);
			queue_work(dsm->clients.wq, &creq->work);
		}
	} else {
		ret = dsmil_client_submit_read(cl, creq);
	}
	if (ret)
		goto free_creq;
	/* Its record (with this id) may already be readable. */
	sub->id = creq->rec.id;
	return 0;

free_creq:
	kfree(creq);
	dsmil_client_put(cl);
unreserve_global:
	atomic_dec(&dsm->clients.in_progress);
	spin_lock(&cl->lock);
	cl->outstanding--;
	spin_unlock(&cl->lock);
	return ret;
}

static struct dsmil_client_req *dsmil_client_find(struct dsmil_client *cl,
						  u64 id)
{
	struct dsmil_client_req *creq;

	lockdep_assert_held(&cl->lock);
	list_for_each_entry(creq, &cl->pending, node)
		if (creq->rec.id == id)
			return creq;
	return NULL;
}

/*
 * Cancel a queued write: called with cl->lock held.  Returns 0 when it
 * was taken off the writer (the caller then ends it unsent), -EBUSY when
 * the writer has started it.
 */
static int dsmil_client_unqueue_write(struct dsmil_client_req *creq)
{
	lockdep_assert_held(&creq->cl->lock);
	if (creq->running || !cancel_work(&creq->work))
		return -EBUSY;
	list_del_init(&creq->node);
	return 0;
}

/* A write taken off the writer: counted, audited, its record posted. */
static void dsmil_client_end_unsent(struct dsmil_client_req *creq)
{
	struct dsmil_client *cl = creq->cl;
	struct dsmil_client_req *drop;

	dsmil_smi_token_write_unsent(&cl->dsm->smi, &creq->tr, &creq->who,
				     -ECANCELED);
	creq->rec.token = creq->tr.token;
	creq->rec.error = ECANCELED;
	creq->rec.flags = DSMIL_TOKEN_C_FINAL | DSMIL_TOKEN_C_CANCELLED |
			  DSMIL_TOKEN_C_UNSENT;
	spin_lock(&cl->lock);
	drop = dsmil_client_post(cl, creq);
	spin_unlock(&cl->lock);
	kfree(drop);
	dsmil_client_put(cl);
}

static int dsmil_client_ioc_cancel(struct dsmil_client *cl, void *arg)
{
	const struct dsmil_token_cancel *c = arg;
	struct dsmil_client_req *creq;
	struct dsmil_smi_req *req;
	int ret;

	spin_lock(&cl->lock);
	creq = dsmil_client_find(cl, c->id);
	if (!creq) {
		spin_unlock(&cl->lock);
		return -ENOENT;
	}
	if (creq->write) {
		ret = dsmil_client_unqueue_write(creq);
		spin_unlock(&cl->lock);
		if (!ret)
			dsmil_client_end_unsent(creq);
		return ret;
	}
	req = creq->smi;
	if (!req) {
		/* Its submit has not returned yet: it is on its way. */
		spin_unlock(&cl->lock);
		return -EBUSY;
	}
	/* @creq may end and be read meanwhile; @req stays ours. */
	dsmil_smi_req_get(req);
	spin_unlock(&cl->lock);
	ret = dsmil_smi_cancel(&cl->dsm->smi, req);
	dsmil_smi_req_put(req);
	return ret;
}

/**
 * dsmil_client_open - a client for a new open file.
 * @dsm: the instance.
 *
 * Return: the client, or NULL (no memory).
 */
struct dsmil_client *dsmil_client_open(struct dsmil *dsm)
{
	struct dsmil_client *cl = kzalloc(sizeof(*cl), GFP_KERNEL);

	if (!cl)
		return NULL;
	cl->dsm = dsm;
	kref_init(&cl->ref);	/* the file's */
	spin_lock_init(&cl->lock);
	INIT_LIST_HEAD(&cl->pending);
	INIT_LIST_HEAD(&cl->ready);
	init_waitqueue_head(&cl->wait);
	return cl;
}

/**
 * dsmil_client_release - the file is closed.
 * @cl: its client.
 *
 * Cancels every request still queued, drops the records nobody read, and
 * leaves a request already at the firmware (or a write under way) to end
 * on its own; its record is dropped then.  Never waits for one.
 */
void dsmil_client_release(struct dsmil_client *cl)
{
	struct dsmil_client_req *creq, *tmp;
	struct dsmil_smi_req *req;
	LIST_HEAD(unsent);
	LIST_HEAD(unread);

	spin_lock(&cl->lock);
	cl->closed = true;
	list_splice_init(&cl->ready, &unread);
	list_for_each_entry_safe(creq, tmp, &cl->pending, node)
		if (creq->write && !dsmil_client_unqueue_write(creq))
			list_add_tail(&creq->node, &unsent);
	spin_unlock(&cl->lock);

	list_for_each_entry_safe(creq, tmp, &unsent, node) {
		list_del_init(&creq->node);
		dsmil_client_end_unsent(creq);
	}

	/*
	 * Reads still queued: one at a time, since each cancel runs the
	 * hook, which takes the lock and takes the request off &pending.
	 */
	for (;;) {
		req = NULL;
		spin_lock(&cl->lock);
		list_for_each_entry(creq, &cl->pending, node) {
			if (creq->write || !creq->smi || creq->released)
				continue;
			creq->released = true;
			req = creq->smi;
			dsmil_smi_req_get(req);
			break;
		}
		spin_unlock(&cl->lock);
		if (!req)
			break;
		/* -EBUSY: at the firmware; it ends on its own, dropped then. */
		dsmil_smi_cancel(&cl->dsm->smi, req);
		dsmil_smi_req_put(req);
	}

	list_for_each_entry_safe(creq, tmp, &unread, node) {
		list_del(&creq->node);
		kfree(creq);
	}
	dsmil_client_put(cl);
}

/**
 * dsmil_client_read - read() of /dev/dsmil: completion records.
 * @cl:       the client.
 * @buf:      user buffer.
 * @count:    its size.
 * @nonblock: O_NONBLOCK.
 *
 * Return: bytes copied (whole records), -EINVAL (@count below one
 * record), -EAGAIN, -ERESTARTSYS, -EFAULT.
 */
ssize_t dsmil_client_read(struct dsmil_client *cl, char __user *buf,
			  size_t count, bool nonblock)
{
	const size_t sz = sizeof(struct dsmil_token_completion);
	struct dsmil_client_req *creq;
	size_t done = 0;
	int ret;

	if (count < sz)
		return -EINVAL;
	for (;;) {
		spin_lock(&cl->lock);
		if (!list_empty(&cl->ready))
			break;
		spin_unlock(&cl->lock);
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(cl->wait,
					       !list_empty_careful(&cl->ready));
		if (ret)
			return ret;
	}
	/* Locked, with a record ready: take records while they fit. */
	while (done + sz <= count && !list_empty(&cl->ready)) {
		creq = list_first_entry(&cl->ready, struct dsmil_client_req,
					node);
		list_del(&creq->node);
		spin_unlock(&cl->lock);
		if (copy_to_user(buf + done, &creq->rec, sz)) {
			/* Back in front: nothing is lost to a bad buffer. */
			spin_lock(&cl->lock);
			list_add(&creq->node, &cl->ready);
			spin_unlock(&cl->lock);
			return done ? done : -EFAULT;
		}
		kfree(creq);
		done += sz;
		spin_lock(&cl->lock);
		cl->outstanding--;
	}
	spin_unlock(&cl->lock);
	return done;
}

/**
 * dsmil_client_poll - poll() of /dev/dsmil.
 * @cl:   the client.
 * @file: the file.
 * @wait: poll table.
 *
 * Return: EPOLLIN | EPOLLRDNORM while a record is ready.
 */
__poll_t dsmil_client_poll(struct dsmil_client *cl, struct file *file,
			   poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &cl->wait, wait);
	spin_lock(&cl->lock);
	if (!list_empty(&cl->ready))
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock(&cl->lock);
	return mask;
}

/**
 * dsmil_clients_init - start the asynchronous writer.
 * @cls: the instance's clients.
 *
 * Return: 0 or -ENOMEM.
 */
int dsmil_clients_init(struct dsmil_clients *cls)
{
	atomic_set(&cls->in_progress, 0);
	cls->wq = alloc_ordered_workqueue("dsmil-async", 0);
	return cls->wq ? 0 : -ENOMEM;
}

/**
 * dsmil_clients_exit - wait for the writes still under way, stop the
 * writer.  Before the engine stops: a write uses it.
 * @cls: the instance's clients.
 */
void dsmil_clients_exit(struct dsmil_clients *cls)
{
	destroy_workqueue(cls->wq);
}

static const struct dsmil_ioctl_desc dsmil_client_ioctl_desc[] = {
	{
		.cmd = DSMIL_IOC_TOKEN_SUBMIT,
		.policy = DSMIL_POL_RAWIO,
		.arg_policy = dsmil_client_submit_policy,
		.client_handler = dsmil_client_ioc_submit,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_token_submit, reserved0),
			DSMIL_RSVD(struct dsmil_token_submit, reserved),
		},
		.name = "token-submit",
	},
	{
		.cmd = DSMIL_IOC_TOKEN_CANCEL,
		.policy = DSMIL_POL_RAWIO,
		.client_handler = dsmil_client_ioc_cancel,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_token_cancel, reserved),
		},
		.name = "token-cancel",
	},
};

const struct dsmil_ioctl_table dsmil_client_ioctls = {
	.desc = dsmil_client_ioctl_desc,
	.count = ARRAY_SIZE(dsmil_client_ioctl_desc),
};
