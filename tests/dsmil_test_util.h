/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the dsmil KUnit suites share: instances built and torn down for a
 * test, and the fakes that stand in for the layers below the code under
 * test.  In the manner of drivers/platform/chrome/cros_ec_proto_test_util.h;
 * see tests/dsmil_test_util.c.
 */
#ifndef _DSMIL_TEST_UTIL_H
#define _DSMIL_TEST_UTIL_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/ktime.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

#include "../dsmil_priv.h"
#include "../dsmil_smi_priv.h"

struct kunit;

/* ---- instances ---------------------------------------------------------- */

extern const struct dsmil_config dsmil_kunit_cfg;

struct dsmil *dsmil_kunit_create(struct kunit *test,
				 const struct dsmil_config *cfg);
struct dsmil *dsmil_kunit_create_with(struct kunit *test,
				      const struct dsmil_config *cfg,
				      const struct dsmil_smi_ops *ops,
				      void *priv);
void dsmil_kunit_destroy(struct kunit *test, struct dsmil *dsm);
unsigned long dsmil_kunit_user_buf(struct kunit *test, size_t size);

/* ---- device states ------------------------------------------------------ */

void dsmil_kunit_step(struct kunit *test, struct dsmil_state *st,
		      unsigned int id, unsigned int to);
void dsmil_kunit_drive(struct kunit *test, struct dsmil_state *st,
		       unsigned int id, unsigned int target);
void dsmil_kunit_all_up(struct kunit *test, struct dsmil_state *st);

/* ---- the verifier ------------------------------------------------------- */

/**
 * struct dsmil_kunit_verify - stand-in for the state machine's verifier
 * (the SMI read of INITIALIZING -> READY), see dsmil_kunit_verify_install().
 * @err:        what verifying each device returns (0: it answers).
 * @calls:      verifications made.
 * @last_id:    device of the last one.
 * @check_lock: look at the state machine's lock during each verification...
 * @saw_lock:   ...and note here if it was held.
 * @block_id:   verifying this device waits for @release (after completing
 *              @entered) for up to 20 s; -1: none.
 * @entered:    completed when a verification of @block_id starts.
 * @release:    lets a blocked verification go on.
 * @st:         the state machine whose verifier this replaces...
 * @orig:       ...the verifier it had, put back when the test ends (and
 *              asked for token flags meanwhile)...
 * @orig_ctx:   ...and its context.
 */
struct dsmil_kunit_verify {
	int err[DSMIL_NUM_DEVICES];
	atomic_t calls;
	int last_id;
	bool check_lock;
	bool saw_lock;
	int block_id;
	struct completion entered;
	struct completion release;
	struct dsmil_state *st;
	const struct dsmil_state_verifier *orig;
	void *orig_ctx;
};

struct dsmil_kunit_verify *dsmil_kunit_verify_install(struct kunit *test,
						      struct dsmil_state *st);

/* ---- the scripted SMI backend ------------------------------------------- */

/* Answers a script holds; requests whose times are kept. */
#define DSMIL_KUNIT_SMI_N	16

/* Where the fake can hold a request until the test lets it go. */
enum dsmil_kunit_hold {
	DSMIL_KUNIT_HOLD_NONE,
	DSMIL_KUNIT_HOLD_CHECK,		/* in ->check(): nothing sent yet */
	DSMIL_KUNIT_HOLD_SUBMIT,	/* in ->submit(), before it answers */
	DSMIL_KUNIT_HOLD_STATUS,	/* in ->status(), the SMI running */
	DSMIL_KUNIT_HOLD_ABORT,		/* in ->abort(), before it answers */
};

/**
 * struct dsmil_kunit_smi - a scripted SMI backend: the test says what
 * submit, status, abort and reset answer, the fake records what the engine
 * did.  Set up by dsmil_kunit_smi_init(); the ops are
 * &dsmil_kunit_smi_ops (polled) and &dsmil_kunit_smi_sync_ops (the whole
 * SMI in ->submit(), as dell-smbios does).
 * @lock:         the fake is called from callers and the engine's worker;
 *                taken for every call and by dsmil_kunit_smi_queue_*().
 * @submit_ret:   answers of successive submits (queued with
 *                dsmil_kunit_smi_queue_submit())...
 * @n_submit_ret: ...how many; once used up, submits answer 0.
 * @busy_polls:   busy status answers before the final one, per request.
 * @forever:      busy forever.
 * @forever_writes: busy forever, writes only (reads answer as scripted).
 * @frozen:       while busy, the status never changes (a hang); else it
 *                changes on every poll (progress).
 * @final:        final status (initially DSMIL_SMI_ST_DONE).
 * @value:        value a read returns.
 * @store:        a write that completes sets @value (a token that keeps
 *                what was written, as firmware does).
 * @abort_ret:    what abort answers; 0 also ends the request.
 * @reset_ret:    answers of successive resets...
 * @n_reset_ret:  ...how many; once used up, resets answer 0.
 * @sync_ms:      synchronous flavour: each call takes this long...
 * @gated:        ...and, if set, waits for @gate first.
 * @gate:         opened (for good) by dsmil_kunit_smi_open_gate().
 * @hold_at:      enum dsmil_kunit_hold: the next call at that point (one
 *                call, then the point is cleared) completes @held and waits
 *                for @release, up to 20 s; set with dsmil_kunit_smi_hold().
 * @held:         completed when a call is held.
 * @release:      completed by dsmil_kunit_smi_release().
 * @checks:       check calls.
 * @i_submit_ret: submit answers used.
 * @i_reset_ret:  reset answers used.
 * @attempts:     submit calls.
 * @submits:      submits accepted.
 * @polls:        status calls.
 * @aborts:       abort calls.
 * @resets:       reset calls.
 * @in_hw:        a request is at the "hardware".
 * @overlaps:     submits accepted while another request was at it.
 * @req_polls:    busy answers given to the current request.
 * @progress:     the changing busy code.
 * @last:         the last command accepted.
 * @submit_t:     when each of the first DSMIL_KUNIT_SMI_N requests was
 *                accepted...
 * @end_t:        ...and when it ended.
 * @tokens:       the token of each of them, in the order they came.
 *
 * Read the record under @lock while the engine may still call the fake,
 * directly once it is quiet (the test's own calls have returned).
 */
struct dsmil_kunit_smi {
	spinlock_t lock;	/* the whole fake */
	/* Script. */
	int submit_ret[DSMIL_KUNIT_SMI_N];
	unsigned int n_submit_ret;
	unsigned int busy_polls;
	bool forever;
	bool forever_writes;
	bool frozen;
	u8 final;
	u32 value;
	bool store;
	int abort_ret;
	int check_ret;
	int reset_ret[DSMIL_KUNIT_SMI_N];
	unsigned int n_reset_ret;
	unsigned int sync_ms;
	bool gated;
	struct completion gate;
	int hold_at;
	struct completion held;
	struct completion release;
	/* Record. */
	unsigned int i_submit_ret, i_reset_ret;
	unsigned int checks;
	unsigned int attempts;
	unsigned int submits;
	unsigned int polls, aborts, resets;
	unsigned int in_hw, overlaps;
	unsigned int req_polls;
	u8 progress;
	struct dsmil_smi_cmd last;
	ktime_t submit_t[DSMIL_KUNIT_SMI_N], end_t[DSMIL_KUNIT_SMI_N];
	u16 tokens[DSMIL_KUNIT_SMI_N];
};

extern const struct dsmil_smi_ops dsmil_kunit_smi_ops;
extern const struct dsmil_smi_ops dsmil_kunit_smi_sync_ops;

void dsmil_kunit_smi_init(struct dsmil_kunit_smi *f);
void dsmil_kunit_smi_queue_submit(struct kunit *test, struct dsmil_kunit_smi *f,
				  int ret, unsigned int n);
void dsmil_kunit_smi_queue_reset(struct kunit *test, struct dsmil_kunit_smi *f,
				 int ret, unsigned int n);
void dsmil_kunit_smi_open_gate(struct dsmil_kunit_smi *f);
void dsmil_kunit_smi_hold(struct dsmil_kunit_smi *f, enum dsmil_kunit_hold at);
void dsmil_kunit_smi_wait_held(struct kunit *test, struct dsmil_kunit_smi *f);
void dsmil_kunit_smi_release(struct dsmil_kunit_smi *f);
void dsmil_kunit_smi_wait_submits(struct kunit *test, struct dsmil_kunit_smi *f,
				  unsigned int n);

/* ---- asynchronous requests ---------------------------------------------- */

/**
 * struct dsmil_kunit_async - the completion hook of an asynchronous request
 * (dsmil_smi_submit()), recording how it was called.
 * @done:      completed by the hook.
 * @calls:     hook calls (exactly one is right).
 * @id:        the request's id, as the hook saw it.
 * @outcome:   its outcome.
 * @result:    its result.
 * @value:     its value.
 * @in_worker: the hook ran in the engine's worker.
 * @smi:       the engine (to tell its worker).
 */
struct dsmil_kunit_async {
	struct completion done;
	atomic_t calls;
	u64 id;
	int outcome;
	int result;
	u32 value;
	bool in_worker;
	struct dsmil_smi *smi;
};

void dsmil_kunit_async_init(struct dsmil_kunit_async *a, struct dsmil_smi *smi);
void dsmil_kunit_async_hook(struct dsmil_smi_req *req, void *ctx);
void dsmil_kunit_async_wait(struct kunit *test, struct dsmil_kunit_async *a);

#endif /* _DSMIL_TEST_UTIL_H */
