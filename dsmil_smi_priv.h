/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: what the SMI engine (dsmil_smi.c, dsmil_smi_stats.c), the token
 * layer (dsmil_smi_token.c) and the backends (dsmil_smi_sim.c,
 * dsmil_smi_dell.c) share, and what the KUnit suite reaches.
 */
#ifndef _DSMIL_SMI_PRIV_H
#define _DSMIL_SMI_PRIV_H

#include <linux/bitops.h>
#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/types.h>

#include "dsmil_smi.h"
/* Tokens: 6 groups x positions 0, 3, 6, 9 (DSMIL_NUM_TOKENS). */
#include "dsmil_logic.h"

enum dsmil_smi_op {
	DSMIL_SMI_OP_READ = 0,
	DSMIL_SMI_OP_WRITE = 1,
};

/* struct dsmil_smi_cmd.flags */
#define DSMIL_SMI_CMD_ACTIVATE	BIT(0)	/* write the token's own value */

/**
 * struct dsmil_smi_cmd - what a backend is asked to do.
 * @token: token id (DSMIL_TOKEN_BASE + 12 * group + position).
 * @op:    enum dsmil_smi_op.
 * @flags: DSMIL_SMI_CMD_*.
 * @value: the value to write (DSMIL_SMI_OP_WRITE without ACTIVATE).
 */
struct dsmil_smi_cmd {
	u16 token;
	u8 op;
	u8 flags;
	u32 value;
};

/*
 * The status register of a polled SMI interface, as the backend's ->status()
 * reports it.  0x00 means done; BUSY is set while the SMI runs, with the low
 * bits free to change as it makes progress (an SMI whose status stays the
 * same for smi_hang_ms is hung); ERROR with a code in the low bits means it
 * finished with an error.  0xff, or BUSY and ERROR together, is garbage (a
 * floating bus, a dead controller).
 */
#define DSMIL_SMI_ST_DONE	0x00
#define DSMIL_SMI_ST_BUSY	BIT(7)
#define DSMIL_SMI_ST_ERROR	BIT(6)
#define DSMIL_SMI_ST_CODE	GENMASK(5, 0)
#define DSMIL_SMI_ST_GARBAGE	0xff

/* Error codes carried with DSMIL_SMI_ST_ERROR; see dsmil_smi_status_errno(). */
#define DSMIL_SMI_ERR_FAILED		1	/* -EIO */
#define DSMIL_SMI_ERR_INVALID		2	/* -ENXIO: token unknown/invalid */
#define DSMIL_SMI_ERR_UNSUPPORTED	3	/* -EOPNOTSUPP */
#define DSMIL_SMI_ERR_UNKNOWN		4	/* -EINVAL: unknown result code */
#define DSMIL_SMI_ERR_RANGE		5	/* -ERANGE: value outside [min, max] */

/**
 * struct dsmil_smi_ops - one SMI backend.
 * @name:        backend name, as smi_backend= selects it.
 * @synchronous: ->submit() performs the whole SMI and cannot be interrupted;
 *               the engine then always runs requests from its worker so that
 *               callers keep their bounded wait, and measures the call.
 * @init:        set the backend up for the instance's device (its lines
 *               name it; NULL in KUnit); stores its private data in *@priv.
 * @exit:        undo @init.
 * @submit:      start @cmd.  0: started; -EBUSY: the interface is busy (the
 *               engine retries, bounded); other errno: could not start.
 * @status:      read the status register (DSMIL_SMI_ST_*); on DONE stores a
 *               read's value in *@value.  Must not sleep for long.
 * @abort:       stop the running SMI; 0 if the interface is idle again.
 * @reset:       bring a FAULTED interface back; 0 on success.
 * @check:       optional, in the caller's context before a request goes
 *               anywhere: 0, or the errno refusing it without touching the
 *               hardware (-ENOENT: the firmware has no such token; -EACCES:
 *               the kernel's own filter refuses it).
 * @rescan:      optional: ask the firmware again which tokens exist.
 * @token_flags: optional: DSMIL_DEVF_TOKEN_* of @token as last discovered.
 * @activate:    the backend knows each token's own value
 *               (DSMIL_SMI_CMD_ACTIVATE) and reports the value before a
 *               write.
 * @timeout_ms:  default smi_timeout_ms for this backend.
 * @hang_ms:     default smi_hang_ms for this backend.
 *
 * The engine calls @submit, @status, @abort and @reset from one context at a
 * time (the hardware owner), never with its own locks held.
 */
struct dsmil_smi_ops {
	const char *name;
	bool synchronous;
	int (*init)(struct device *dev, struct dentry *debugfs, void **priv);
	void (*exit)(void *priv);
	int (*submit)(void *priv, const struct dsmil_smi_cmd *cmd);
	u8 (*status)(void *priv, u32 *value);
	int (*abort)(void *priv);
	int (*reset)(void *priv);
	int (*check)(void *priv, const struct dsmil_smi_cmd *cmd);
	int (*rescan)(void *priv);
	u16 (*token_flags)(void *priv, u16 token);
	bool activate;
	unsigned int timeout_ms;
	unsigned int hang_ms;
};

extern const struct dsmil_smi_ops dsmil_smi_sim_ops;
extern const struct dsmil_smi_ops dsmil_smi_dell_ops;

/* How a request ended; decides which counter it lands in. */
enum dsmil_smi_outcome {
	DSMIL_SMI_OUT_SUCCESS,
	DSMIL_SMI_OUT_ERROR_STATUS,
	DSMIL_SMI_OUT_GARBAGE,
	DSMIL_SMI_OUT_BUSY,
	DSMIL_SMI_OUT_SUBMIT_FAILED,
	DSMIL_SMI_OUT_CANCELLED,
	DSMIL_SMI_OUT_TIMEOUT,
	DSMIL_SMI_OUT_QUEUE_TIMEOUT,
	DSMIL_SMI_OUT_HANG,
	DSMIL_SMI_OUT_FAULTED,
	DSMIL_SMI_OUT_REFUSED,
};

/* struct dsmil_smi_req.flags */
#define DSMIL_SMI_F_NOREPORT	BIT(0)	/* verification: no fault report */
/*
 * The INITIALIZING -> READY verification read: checked at the hand-off for
 * a device still INITIALIZING rather than READY/ACTIVE (dsmil_smi_fence()).
 */
#define DSMIL_SMI_F_VERIFY	BIT(1)
/*
 * The read before and the read-back of an audited write: part of the
 * write, so, like it, a call of its own, never shared with other reads
 * (dsmil_smi_flight.c): the audit record and the hand-off refusal that
 * an emergency stop gives a queued write belong to that write alone.
 */
#define DSMIL_SMI_F_ALONE	BIT(2)

enum dsmil_smi_stage {
	DSMIL_SMI_QUEUED,	/* on &dsmil_smi.queue */
	DSMIL_SMI_RUNNING,	/* owned by the hardware owner */
	DSMIL_SMI_FINISHED,	/* result set, counted */
};

/**
 * struct dsmil_smi_waiter - a caller waiting for a read it joined.
 * @node:     entry in &dsmil_smi_share.waiters; lives on the caller's
 *            stack, so it is always unlinked (by the caller leaving, or by
 *            the engine publishing the result) before the caller returns.
 * @start:    when the caller asked.
 * @deadline: @start + smi_timeout_ms: the caller's own bound.
 */
struct dsmil_smi_waiter {
	struct list_head node;
	ktime_t start;
	ktime_t deadline;
};

/**
 * struct dsmil_smi_share - a read's result, shared with the callers that
 * joined it (dsmil_smi_flight.c).
 * @ref:      each joiner holds one, the request one while it is attached;
 *            whoever drops the last frees it.  On the heap, not in the
 *            request: a request driven from its caller's stack (the idle
 *            fast path) can be joined too.
 * @done:     completed for all when the request finished.
 * @waiters:  joiners still waiting, oldest first (so the first has the
 *            earliest deadline); under &dsmil_smi.lock.
 * @req:      the request whose result is shared; NULL once it finished;
 *            under &dsmil_smi.lock.
 * @gone:     joiners that stopped waiting while the request was at the
 *            hardware: counted, as it ends, by its outcome.
 * @in_doubt: of those, the ones told -EINPROGRESS.
 * @id:       the request's id: every joiner's reply carries it.
 * @result:   0 or the negative errno every joiner still waiting gets.
 * @value:    the value read.
 * @unsent:   the request ended unsent for its own caller's reason: the
 *            joiners still waiting ignore @result and start over
 *            (dsmil_smi_flight_publish()).  Set with @result.
 */
struct dsmil_smi_share {
	struct kref ref;
	struct completion done;
	struct list_head waiters;
	struct dsmil_smi_req *req;
	unsigned int gone;
	unsigned int in_doubt;
	u64 id;
	int result;
	u32 value;
	bool unsent;
};

/**
 * struct dsmil_smi_req - one token request.
 * @id:          request id (dsmil_next_request_id()), in the caller's
 *               reply and in the record of its final outcome.
 * @ref:         the caller holds one reference, the engine one while the
 *               request is queued or at the hardware; whoever drops the
 *               last frees it, so a caller may leave at any time.  Unused
 *               when @onstack.
 * @node:        entry in &dsmil_smi.queue.
 * @done:        completed when the result is set (not when @onstack).
 * @cmd:         what to do.
 * @dev_id:      device owning the token.
 * @flags:       DSMIL_SMI_F_*.
 * @stage:       enum dsmil_smi_stage, under &dsmil_smi.lock.
 * @onstack:     on the stack of a caller that drives it itself: nobody
 *               else ever sees it, and a caller that leaves early hands
 *               the engine a copy (dsmil_smi_handoff()).
 * @abandoned:   the caller stopped waiting while it was at the hardware;
 *               under &dsmil_smi.lock.
 * @in_doubt:    its caller was (or will be) told -EINPROGRESS: its
 *               outcome was not known when the caller's wait ended (a
 *               synchronous call still running at the deadline, a polled
 *               one whose owner gave no verdict in time, or an abort that
 *               failed); under &dsmil_smi.lock.
 * @pinned:      @abandoned took a module reference, dropped at the end.
 * @orphaned:    its own caller left while it was queued, leaving it to the
 *               callers that joined it: it is not counted for that caller
 *               again when it ends (dsmil_smi_flight_orphan()); under
 *               &dsmil_smi.lock.
 * @share:       the callers that joined this read, if any; under
 *               &dsmil_smi.lock.
 * @passed_over: how many times a read queued after it was sent first
 *               (dsmil_smi_flight_pick()), at most
 *               DSMIL_SMI_PASS_OVER_MAX; under &dsmil_smi.lock.
 * @start:       when the caller asked.
 * @deadline:    @start + smi_timeout_ms: the bound on everything.
 * @fenced:      passed dsmil_state_handoff_begin() (a write is then
 *               counted there until dsmil_smi_unfence()); owner only.
 * @submitted:   the backend accepted it (hardware touched).
 * @submit_time: when.
 * @last_status: last status read (hang detection).
 * @last_change: when @last_status last changed.
 * @retries:     busy-at-submit retries made.
 * @spacing_ns:  time waited for the spacing.
 * @aborted:     abort tried: 1 ok, -1 failed (the SMI may still run:
 *               dsmil_smi_finish() keeps it as &dsmil_smi.stuck), 0 not
 *               tried.
 * @abort_err:   errno of a failed abort.
 * @slow:        a synchronous call that took longer than smi_hang_ms.
 * @late_start:  timed out at the hardware after less than smi_hang_ms
 *               there: its device is not blamed (dsmil_smi_finish()).
 * @outcome:     enum dsmil_smi_outcome.
 * @refused:     errno of a hand-off refusal (DSMIL_SMI_OUT_REFUSED).
 * @result:      0 or the negative errno for the caller.
 * @status:      last status read, for the log.
 * @value:       value read (DSMIL_SMI_OP_READ).
 * @end:         when it finished.
 * @complete:    asynchronous request (dsmil_smi_submit()): called once when
 *               it finishes, by whoever finishes it (the worker, a
 *               cancel), with no engine lock held, before the engine drops
 *               its reference; NULL for a request a caller waits for.
 * @complete_ctx: passed to @complete.
 */
struct dsmil_smi_req {
	u64 id;
	struct kref ref;
	struct list_head node;
	struct completion done;
	struct dsmil_smi_cmd cmd;
	unsigned int dev_id;
	unsigned int flags;
	enum dsmil_smi_stage stage;
	bool onstack;
	bool abandoned;
	bool in_doubt;
	bool pinned;
	bool orphaned;
	struct dsmil_smi_share *share;
	u8 passed_over;
	ktime_t start;
	ktime_t deadline;
	bool fenced;
	bool submitted;
	ktime_t submit_time;
	unsigned int last_status;
	ktime_t last_change;
	unsigned int retries;
	u64 spacing_ns;
	int aborted;
	int abort_err;
	bool slow;
	bool late_start;
	enum dsmil_smi_outcome outcome;
	int refused;
	int result;
	u8 status;
	u32 value;
	ktime_t end;
	void (*complete)(struct dsmil_smi_req *req, void *ctx);
	void *complete_ctx;
};

/**
 * struct dsmil_smi_reply - what dsmil_smi_exec() tells its caller.
 * @id:          the request's id; 0 when it was refused before it got one
 *               (the backend's own check).
 * @duration_ns: the caller's whole wait.
 * @value:       the value read (a write's old value on dell-smbios).
 * @in_doubt:    the call returned -EINPROGRESS: its outcome was not known
 *               when the wait ended; it is recorded under @id once it is.
 */
struct dsmil_smi_reply {
	u64 id;
	u64 duration_ns;
	u32 value;
	bool in_doubt;
};

/*
 * Pure token and status maths: inline, so that the backends and every part
 * of the SMI layer use it without calling into one another.
 */
static inline const char *dsmil_smi_op_name(u8 op)
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
static inline int dsmil_smi_token_of(unsigned int group, unsigned int pos,
				     u16 *token, unsigned int *dev_id)
{
	return dsmil_logic_token_of(group, pos, token, dev_id);
}

/**
 * dsmil_smi_token_index - dense index of a token, for per-token tables.
 * @token: token id.
 *
 * Return: 0..DSMIL_NUM_TOKENS - 1 (group * 4 + position / 3), or -EINVAL
 * when @token is not one of the 24 DSMIL tokens.
 */
static inline int dsmil_smi_token_index(u16 token)
{
	return dsmil_logic_token_index(token);
}

enum dsmil_smi_st_class {
	DSMIL_ST_DONE,
	DSMIL_ST_BUSY,
	DSMIL_ST_ERROR,
	DSMIL_ST_GARBAGE,
};

static inline enum dsmil_smi_st_class dsmil_smi_classify(u8 st)
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
static inline int dsmil_smi_status_errno(u8 status)
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

/**
 * dsmil_smi_hist_bucket - latency histogram bucket of a request.
 * @ns: the request's duration.
 *
 * Return: 0 below 1 us, b for [2^(b-1), 2^b) us, the last bucket for
 * everything from 2^(DSMIL_SMI_HIST_BUCKETS - 2) us up.
 */
static inline unsigned int dsmil_smi_hist_bucket(u64 ns)
{
	return min_t(unsigned int, fls64(div_u64(ns, NSEC_PER_USEC)),
		     DSMIL_SMI_HIST_BUCKETS - 1);
}

/* The engine's own bookkeeping, in dsmil_smi_stats.c. */
void dsmil_smi_count(struct dsmil_smi *smi, enum dsmil_smi_outcome out, u64 ns);
void dsmil_smi_count_early(struct dsmil_smi *smi, enum dsmil_smi_outcome out,
			   u16 token, u8 op, int result, ktime_t start);
void dsmil_smi_refuse(struct dsmil_smi *smi, const struct dsmil_smi_cmd *cmd,
		      unsigned int dev_id, unsigned int flags, int err);
void dsmil_smi_record(struct dsmil_smi *smi, const struct dsmil_smi_req *req);
void dsmil_smi_record_stuck(struct dsmil_smi *smi,
			    const struct dsmil_smi_stuck *sk, ktime_t now);
void dsmil_smi_trace_req(struct dsmil_smi *smi,
			 const struct dsmil_smi_req *req);
void dsmil_smi_log(struct dsmil_smi *smi, const struct dsmil_smi_req *req,
		   bool became_faulted);
void dsmil_smi_log_stuck(struct dsmil_smi *smi,
			 const struct dsmil_smi_stuck *sk, ktime_t now);
void dsmil_smi_log_recover(struct dsmil_smi *smi, int reset_err,
			   u64 faulted_ms, unsigned int backoff_ms);
void dsmil_smi_event_faulted(struct dsmil_smi *smi,
			     const struct dsmil_smi_req *req);
void dsmil_smi_event_recovered(struct dsmil_smi *smi, u64 faulted_ms);

/* Single-flight reads: callers joining a read of the same token. */
/*
 * How many times a queued read may be overtaken by newer reads
 * (dsmil_smi_flight_pick()): the most calls it waits beyond its turn.
 */
#define DSMIL_SMI_PASS_OVER_MAX	2
struct dsmil_smi_share *dsmil_smi_flight_join(struct dsmil_smi *smi,
					      const struct dsmil_smi_cmd *cmd,
					      unsigned int flags,
					      struct dsmil_smi_waiter *w);
void dsmil_smi_flight_track(struct dsmil_smi *smi, struct dsmil_smi_req *req);
void dsmil_smi_flight_untrack(struct dsmil_smi *smi, struct dsmil_smi_req *req);
struct dsmil_smi_req *dsmil_smi_flight_pick(struct dsmil_smi *smi);
void dsmil_smi_flight_moved(struct dsmil_smi *smi,
			    const struct dsmil_smi_req *from,
			    struct dsmil_smi_req *to);
bool dsmil_smi_flight_orphan(struct dsmil_smi *smi, struct dsmil_smi_req *req,
			     enum dsmil_smi_outcome out);
int dsmil_smi_flight_leave(struct dsmil_smi *smi, struct dsmil_smi_share *sh,
			   struct dsmil_smi_waiter *w, bool killed,
			   struct dsmil_smi_req **drop);
struct dsmil_smi_share *dsmil_smi_flight_publish(struct dsmil_smi *smi,
						 struct dsmil_smi_req *req,
						 bool stuck);
void dsmil_smi_flight_put(struct dsmil_smi_share *sh);
void dsmil_smi_flight_done(struct dsmil_smi_share *sh);

int dsmil_smi_resolve_config(struct device *dev, struct dsmil_smi_config *cfg,
			     const struct dsmil_smi_ops *ops);

/*
 * Dell calling interface, as drivers/platform/x86/dell/dell-smbios.h (6.12)
 * declares it: that header is private to the kernel tree, so the layout is
 * repeated here (field names are ours).  struct calling_interface_buffer
 * comes from <uapi/linux/wmi.h>, where the kernel keeps it as ABI.
 */
struct calling_interface_buffer;
struct device;

struct calling_interface_token {
	u16 token_id;
	u16 location;
	union {
		u16 value;
		u16 stringlength;
	};
};

int dell_smbios_call(struct calling_interface_buffer *buffer);
struct calling_interface_token *dell_smbios_find_token(int tokenid);
/* Same signature in 6.1 and 6.12: what /dev/wmi/dell-smbios lets through. */
int dell_smbios_call_filter(struct device *d,
			    struct calling_interface_buffer *buffer);

/* The engine as the token layer drives it (dsmil_smi.c, dsmil_smi_stats.c). */
int dsmil_smi_exec(struct dsmil_smi *smi, const struct dsmil_smi_cmd *cmd,
		   unsigned int dev_id, unsigned int flags,
		   struct dsmil_smi_reply *rep);
int dsmil_smi_recover(struct dsmil_smi *smi);

/*
 * The engine's own steps the asynchronous submit (dsmil_smi_async.c)
 * shares with dsmil_smi_exec().
 */
void dsmil_smi_finish(struct dsmil_smi *smi, struct dsmil_smi_req *req,
		      enum dsmil_smi_outcome out, bool owner);
void dsmil_smi_req_release(struct kref *ref);
bool dsmil_smi_enqueue(struct dsmil_smi *smi, struct dsmil_smi_req *req,
		       bool joinable);

/* Asynchronous requests (dsmil_smi_async.c). */
struct dsmil_smi_req *
dsmil_smi_submit(struct dsmil_smi *smi, const struct dsmil_smi_cmd *cmd,
		 unsigned int dev_id, unsigned int flags,
		 void (*complete)(struct dsmil_smi_req *req, void *ctx),
		 void *ctx);
int dsmil_smi_cancel(struct dsmil_smi *smi, struct dsmil_smi_req *req);
void dsmil_smi_req_get(struct dsmil_smi_req *req);
void dsmil_smi_req_put(struct dsmil_smi_req *req);
void dsmil_smi_get_status(struct dsmil_smi *smi, struct dsmil_smi_status *st);
int dsmil_smi_result(struct dsmil_smi *smi, struct dsmil_smi_result *res);

#if IS_ENABLED(CONFIG_KUNIT)
int dsmil_smi_token_rw(struct dsmil_smi *smi, struct dsmil_token_req *tr,
		       bool write);
int dsmil_smi_rescan(struct dsmil_smi *smi);
void dsmil_smi_flush(struct dsmil_smi *smi);
/* The KUnit static-stub seam of a caller's wait; static otherwise. */
long dsmil_smi_wait_done(struct dsmil_smi_req *req, unsigned long tmo);

void *dsmil_smi_dell_create(int (*call)(struct calling_interface_buffer *buf),
			    struct calling_interface_token *(*find)(int id),
			    int (*filter)(struct device *d,
					  struct calling_interface_buffer *buf));
void dsmil_smi_dell_destroy(void *priv);
void dsmil_smi_dell_fill(struct calling_interface_buffer *buf, u16 class,
			 u16 location, u32 value);
u8 dsmil_smi_dell_map(const struct calling_interface_buffer *buf, int ret);
int dsmil_smi_dell_error(int res);

void *dsmil_smi_sim_create(void);
void dsmil_smi_sim_destroy(void *priv);
int dsmil_smi_sim_set(void *priv, const char *knob, u32 val);
u64 dsmil_smi_sim_count(void *priv, u16 token, bool write);
#endif

#endif /* _DSMIL_SMI_PRIV_H */
