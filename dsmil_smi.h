/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: the SMI engine (dsmil_smi.c, dsmil_smi_stats.c) and the token
 * layer over it (dsmil_smi_token.c).
 */
#ifndef _DSMIL_SMI_H
#define _DSMIL_SMI_H

#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/ratelimit_types.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dsmil_ioctl.h"

struct dentry;
struct dsmil_event;
struct dsmil_state_verifier;
struct dsmil_smi_ops;
struct dsmil_smi_req;

/* Limits dsmil_smi_init() enforces on the configuration. */
#define DSMIL_SMI_TIMEOUT_MAX_MS	1000
#define DSMIL_SMI_INTERVAL_MAX_US	100000
#define DSMIL_SMI_FAULT_LIMIT_MAX	1000
#define DSMIL_SMI_RETRIES_MAX		16

/**
 * struct dsmil_smi_config - SMI engine settings, from module parameters.
 * @backend:         "sim" or "dell-smbios".
 * @timeout_ms:      bound on a caller's whole wait, 1..1000.
 * @hang_ms:         busy with unchanged status this long is a hang; below
 *                   @timeout_ms so that a hang is declared before it.
 * @min_interval_us: minimum spacing between two SMIs, below @timeout_ms.
 * @fault_limit:     consecutive faults that make the backend FAULTED.
 * @busy_retries:    retries of a submit refused as busy.
 * @backend_timeout: @timeout_ms was not given: use the backend's default.
 * @backend_hang:    @hang_ms was not given: use the backend's default.
 * @report_fault:    told when a request for device @dev_id hung at the
 *                   hardware, or timed out there after at least @hang_ms
 *                   at it (not for the state machine's own verification
 *                   reads), with @err the request's errno;
 *                   called with no engine lock held, may sleep.  NULL:
 *                   nobody is told.
 * @fault_ctx:       passed to @report_fault.
 * @report_event:    told when the backend becomes FAULTED and when a
 *                   recovery ends it (struct dsmil_event), with no engine
 *                   lock held; must not sleep.  NULL: nobody is told.
 * @event_ctx:       passed to @report_event.
 */
struct dsmil_smi_config {
	char backend[DSMIL_NAME_LEN];
	unsigned int timeout_ms;
	unsigned int hang_ms;
	unsigned int min_interval_us;
	unsigned int fault_limit;
	unsigned int busy_retries;
	bool backend_timeout;
	bool backend_hang;
	void (*report_fault)(void *ctx, unsigned int dev_id, int err);
	void *fault_ctx;
	void (*report_event)(void *ctx, const struct dsmil_event *ev);
	void *event_ctx;
};

/**
 * struct dsmil_smi_transport - an SMI backend as the engine is given it.
 * @ops:  the backend's operations (struct dsmil_smi_ops in
 *        dsmil_smi_priv.h).
 * @priv: its private data, passed to every operation.
 */
struct dsmil_smi_transport {
	const struct dsmil_smi_ops *ops;
	void *priv;
};

/**
 * struct dsmil_smi_tokens - the token layer (dsmil_smi_token.c).
 * @tp:    the backend it handed the engine.
 * @owned: it set @tp up from smi_backend= and releases it; one its caller
 *         handed in (KUnit's fakes) stays the caller's.
 */
struct dsmil_smi_tokens {
	struct dsmil_smi_transport tp;
	bool owned;
};

/*
 * Counters, updated under &dsmil_smi.lock when a request finishes; see struct
 * dsmil_smi_status in dsmil_ioctl.h for what each one counts.
 */
struct dsmil_smi_counters {
	u64 requests;
	u64 successes;
	u64 errors;
	u64 timeouts;
	u64 hangs;
	u64 aborts;
	u64 abort_failures;
	u64 faulted_entries;
	u64 faulted_rejects;
	u64 recoveries;
	u64 recovery_failures;
	u64 retries;
	u64 spacing_waits;
	u64 refused;
	u64 error_status;
	u64 garbage;
	u64 busy_failures;
	u64 submit_failures;
	u64 cancelled;
	u64 queue_timeouts;
	u64 abandoned;
	u64 spacing_wait_ns;
	u64 max_latency_ns;
	u64 in_doubt;
	u64 late_successes;
	u64 late_failures;
	u64 coalesced;
	u64 hist[DSMIL_SMI_HIST_BUCKETS];
};

/**
 * struct dsmil_smi_outcome_rec - the final outcome of one request, kept for
 * DSMIL_IOC_SMI_RESULT.
 * @id:          request id; 0: unused slot.
 * @duration_ns: arrival to end.
 * @result:      0 or the negative errno it ended with.
 * @value:       value read (a write's old value on dell-smbios).
 * @token:       token.
 * @flags:       DSMIL_SMI_RESULT_F_*.
 */
struct dsmil_smi_outcome_rec {
	u64 id;
	u64 duration_ns;
	int result;
	u32 value;
	u16 token;
	u8 flags;
};

/**
 * struct dsmil_smi_stuck - a request whose abort failed: the interface may
 * still be running it, and nothing but a reset (DSMIL_IOC_SMI_RECOVER)
 * ends it for sure.
 * @id:        request id; 0: none.
 * @start:     when it arrived.
 * @dev_id:    device owning the token.
 * @token:     token.
 * @op:        DSMIL_SMI_OP_*.
 * @fenced:    its hand-off stays open until the reset ends it: for a
 *             write, an emergency stop reports it in doubt meanwhile.
 * @abandoned: its caller had left before it ended.
 * @in_doubt:  its caller was told -EINPROGRESS (a late failure at the
 *             reset); not when it had left with -EINTR.
 * @joined_in_doubt: callers that joined it (a read) and were told
 *             -EINPROGRESS: as many late failures at the reset.
 */
struct dsmil_smi_stuck {
	u64 id;
	ktime_t start;
	unsigned int dev_id;
	u16 token;
	u8 op;
	bool fenced;
	bool abandoned;
	bool in_doubt;
	unsigned int joined_in_doubt;
};

/* One slot per DSMIL token (6 groups x 4): the read others may join. */
#define DSMIL_SMI_FLIGHT_SLOTS	(DSMIL_NUM_GROUPS * 4)

/**
 * struct dsmil_smi - the SMI engine.
 * @backend_name:  name of the backend in use.
 * @ops:           backend operations.
 * @priv:          backend private data.
 * @timeout_ns:    configuration, converted once.
 * @hang_ns:       configuration, converted once.
 * @interval_ns:   configuration, converted once.
 * @cfg:           configuration as validated.
 * @wq:            ordered workqueue running @work, the hardware owner for
 *                 queued and handed-off requests.
 * @work:          drains @queue.
 * @lock:          protects everything below.
 * @queue:         requests waiting for the hardware, oldest first.
 * @hw_owned:      someone (an idle-path caller, @work, or a recovery) owns
 *                 the hardware; only the owner calls the backend.
 * @handoff:       request at the hardware whose caller left; @work finishes
 *                 it (ownership passes with it).
 * @faulted:       FAULTED: requests fail fast until recovered.
 * @dying:         dsmil_smi_exit() started.
 * @suspended:     between dsmil_smi_suspend() and dsmil_smi_resume(): the
 *                 engine starts nothing new; requests that arrive are
 *                 queued and held, each within its own deadline.
 * @consecutive:   faults since the last well-formed answer.
 * @in_flight:     requests accepted and not finished.
 * @last_end:      when the last SMI ended (spacing); written by the
 *                 hardware owner; read by it, or by the worker under
 *                 &dsmil_smi.lock with the hardware free.
 * @backoff_ms:    backoff set by the last failed recovery, 0 if none.
 * @recover_after: no recovery attempt before this time.
 * @faulted_since: when the backend last became FAULTED.
 * @cnt:           counters.
 * @hw_id:         id of the request the hardware owner is driving, 0 if
 *                 none.
 * @outcomes:      final outcomes of the last DSMIL_SMI_RESULTS requests;
 *                 the one with sequence number n (from 0) at
 *                 n % DSMIL_SMI_RESULTS.
 * @n_outcomes:    outcomes recorded since load.
 * @stuck:         the request a failed abort left at the interface, if any
 *                 (only one: the engine is FAULTED until a reset).
 * @flight:        per token (dsmil_smi_token_index()), the plain read that
 *                 a new read of that token joins instead of making its own
 *                 call: queued or at the hardware, not finished
 *                 (dsmil_smi_flight.c).
 * @rs_io:         rate limit of the per-request incident lines (the
 *                 interface's: errors, timeouts, hangs, aborts, late
 *                 answers).
 * @rs_input:      rate limit of the refused-input lines of token requests
 *                 (the caller's), apart from @rs_io: a caller's stream of
 *                 bad requests must not hide a firmware incident, nor a
 *                 slow firmware's stream of late calls the record of a
 *                 refused request.
 * @rs_state:      rate limit of the FAULTED/recovery lines.
 * @idle_wq:       woken when the hardware owner lets go while @suspended
 *                 (dsmil_smi_suspend() waits there).
 */
struct dsmil_smi {
	const char *backend_name;
	const struct dsmil_smi_ops *ops;
	void *priv;
	u64 timeout_ns;
	u64 hang_ns;
	u64 interval_ns;
	struct dsmil_smi_config cfg;
	struct workqueue_struct *wq;
	struct work_struct work;

	spinlock_t lock;	/* queue, ownership, state, counters */
	struct list_head queue;
	bool hw_owned;
	struct dsmil_smi_req *handoff;
	bool faulted;
	bool dying;
	bool suspended;
	unsigned int consecutive;
	unsigned int in_flight;
	ktime_t last_end;
	unsigned int backoff_ms;
	ktime_t recover_after;
	ktime_t faulted_since;
	struct dsmil_smi_counters cnt;
	u64 hw_id;
	struct dsmil_smi_outcome_rec outcomes[DSMIL_SMI_RESULTS];
	u64 n_outcomes;
	struct dsmil_smi_stuck stuck;
	struct dsmil_smi_req *flight[DSMIL_SMI_FLIGHT_SLOTS];

	struct ratelimit_state rs_io;
	struct ratelimit_state rs_input;
	struct ratelimit_state rs_state;
	wait_queue_head_t idle_wq;
};

/**
 * struct dsmil_smi_pm_report - what dsmil_smi_suspend() found.
 * @wait_ms:     time spent waiting for the request at the hardware.
 * @busy_id:     id of a request still at the hardware when the wait's
 *               bound passed (a synchronous firmware call that did not
 *               return), 0 if none.
 * @held:        requests queued, now held until resume.
 */
struct dsmil_smi_pm_report {
	unsigned int wait_ms;
	u64 busy_id;
	unsigned int held;
};

int dsmil_smi_init(struct dsmil_smi *smi, const struct dsmil_smi_config *cfg,
		   const struct dsmil_smi_transport *tp);
void dsmil_smi_exit(struct dsmil_smi *smi);

/* System sleep (dsmil_smi_pm.c). */
void dsmil_smi_suspend(struct dsmil_smi *smi, struct dsmil_smi_pm_report *rep);
void dsmil_smi_resume(struct dsmil_smi *smi);

int dsmil_smi_tokens_init(struct dsmil_smi *smi,
			  const struct dsmil_smi_config *cfg,
			  const struct dsmil_smi_transport *tp,
			  struct dentry *debugfs);
void dsmil_smi_tokens_exit(struct dsmil_smi *smi);

/* The token layer's answers to the state machine (struct dsmil_state_verifier). */
extern const struct dsmil_state_verifier dsmil_smi_verifier;

/**
 * dsmil_smi_verify_device - check device @id answers through its token.
 * @smi: SMI engine.
 * @id:  global device id.
 *
 * Used by the state machine for INITIALIZING -> READY, without its lock
 * held.  Reads the device's token while the device is INITIALIZING (the
 * hand-off checks for that state instead of READY/ACTIVE, so nothing is
 * sent once a stop has moved the device on) and does not report faults
 * back to the state machine: the caller decides.  A device without a token
 * verifies trivially.
 *
 * Return: 0 or the request's negative errno (-EIO, -ETIMEDOUT, -ESHUTDOWN,
 * -ENODEV: the device is no longer INITIALIZING...).
 */
int dsmil_smi_verify_device(struct dsmil_smi *smi, unsigned int id);
u16 dsmil_smi_token_flags(struct dsmil_smi *smi, u16 token);

/*
 * Asynchronous token requests (DSMIL_IOC_TOKEN_SUBMIT), for the clients of
 * /dev/dsmil (dsmil_client.c): a read is queued in the engine; a write is
 * checked on arrival here and made later, audited, by the clients' writer.
 */
struct dsmil_write_record;
int dsmil_smi_token_write_audited(struct dsmil_smi *smi,
				  struct dsmil_token_req *tr);
struct dsmil_smi_req *
dsmil_smi_token_submit_read(struct dsmil_smi *smi, struct dsmil_token_req *tr,
			    void (*complete)(struct dsmil_smi_req *req,
					     void *ctx),
			    void *ctx);
int dsmil_smi_token_write_check(struct dsmil_smi *smi,
				struct dsmil_token_req *tr,
				const struct dsmil_write_record *who);
void dsmil_smi_token_write_unsent(struct dsmil_smi *smi,
				  const struct dsmil_token_req *tr,
				  const struct dsmil_write_record *who, int err);
int dsmil_smi_token_write_queued(struct dsmil_smi *smi,
				 struct dsmil_token_req *tr,
				 const struct dsmil_write_record *who,
				 ktime_t submitted);

#endif /* _DSMIL_SMI_H */
