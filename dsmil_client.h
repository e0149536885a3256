/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: the clients of /dev/dsmil (dsmil_client.c): one per open file,
 * with its asynchronous token requests (DSMIL_IOC_TOKEN_SUBMIT, _CANCEL)
 * and their completion records (read(), poll()).
 */
#ifndef _DSMIL_CLIENT_H
#define _DSMIL_CLIENT_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>
#include <linux/wait.h>

struct dsmil;
struct file;
struct workqueue_struct;

/**
 * struct dsmil_clients - what the instance keeps for its clients.
 * @wq:       the asynchronous writer: an ordered workqueue making queued
 *            token writes one at a time, in submit order (each is the
 *            audited write of TOKEN_WRITE, three engine requests).
 *            Destroyed before the engine stops, so no write outlives the
 *            instance.
 * @in_progress: requests of all clients submitted and not ended yet
 *            (DSMIL_ASYNC_GLOBAL_MAX); atomic, no lock.
 */
struct dsmil_clients {
	struct workqueue_struct *wq;
	atomic_t in_progress;
};

/**
 * struct dsmil_client - one open file of /dev/dsmil.
 * @dsm:         the instance.
 * @ref:         the file's reference, and one per request not yet ended
 *               (whose completion hook may still run after the file
 *               closed).
 * @lock:        protects everything below; never held while calling the
 *               engine.
 * @pending:     requests submitted and not ended, oldest first.
 * @ready:       ended requests whose record was not read yet, in the
 *               order they ended.
 * @outstanding: requests on @pending and @ready (DSMIL_ASYNC_MAX).
 * @closed:      the file was released: records of requests that end now
 *               are dropped.
 * @wait:        readers and pollers, woken when a record is ready.
 */
struct dsmil_client {
	struct dsmil *dsm;
	struct kref ref;
	spinlock_t lock;	/* lists, @outstanding, @closed */
	struct list_head pending;
	struct list_head ready;
	unsigned int outstanding;
	bool closed;
	wait_queue_head_t wait;
};

int dsmil_clients_init(struct dsmil_clients *cls);
void dsmil_clients_exit(struct dsmil_clients *cls);

struct dsmil_client *dsmil_client_open(struct dsmil *dsm);
void dsmil_client_release(struct dsmil_client *cl);
ssize_t dsmil_client_read(struct dsmil_client *cl, char __user *buf,
			  size_t count, bool nonblock);
__poll_t dsmil_client_poll(struct dsmil_client *cl, struct file *file,
			   poll_table *wait);

#if IS_ENABLED(CONFIG_KUNIT)
struct dsmil_smi_req;
struct dsmil_token_completion;
void dsmil_client_fill_read(struct dsmil_token_completion *rec,
			    const struct dsmil_smi_req *req);
#endif

#endif /* _DSMIL_CLIENT_H */
