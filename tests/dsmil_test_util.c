// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers and fakes shared by the dsmil KUnit suites (the *_test.c files
 * beside this one), in the manner of
 * drivers/platform/chrome/cros_ec_proto_test_util.c.  Linked into
 * dsmil_kunit.ko with the suites (see Kbuild).
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mman.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dsmil_test_util.h"

/* ---- instances ---------------------------------------------------------- */

/*
 * The configuration the suites build instances from: the sim backends, with
 * settings any module load would accept.  A suite copies it and changes
 * what its case is about (timeouts, region geometry, a fake backend).
 */
const struct dsmil_config dsmil_kunit_cfg = {
	.smi = { .backend = "sim", .timeout_ms = 50, .hang_ms = 20,
		 .fault_limit = 3, .busy_retries = 3 },
	.mmio = { .size = DSMIL_DEFAULT_REGION_SIZE, .max_resident = 8,
		  .idle_ms = 1000 },
	.mmio_ops = &dsmil_mmio_sim_ops,	/* no base: what a load picks */
};

KUNIT_DEFINE_ACTION_WRAPPER(dsmil_kunit_destroy_action, dsmil_destroy,
			    struct dsmil *);

/**
 * dsmil_kunit_create - a driver instance that lives as long as the test.
 * @test: the test; it fails at once if the instance cannot be made.
 * @cfg:  configuration, e.g. a modified copy of &dsmil_kunit_cfg.
 *
 * The instance is destroyed when @test ends, after the suite's exit
 * function (which may still look at it) and before anything the test
 * registered with KUnit earlier (such as a backend the instance uses).
 *
 * Return: the instance; never an error.
 */
struct dsmil *dsmil_kunit_create(struct kunit *test,
				 const struct dsmil_config *cfg)
{
	return dsmil_kunit_create_with(test, cfg, NULL, NULL);
}

/**
 * dsmil_kunit_create_with - dsmil_kunit_create() on a given SMI backend.
 * @test: the test; it fails at once if the instance cannot be made.
 * @cfg:  configuration.
 * @ops:  the SMI backend (a fake, or a real one on test data); NULL: the
 *        one @cfg->smi.backend names, set up by the instance.
 * @priv: its data, which must outlive the instance (register its release
 *        with KUnit before calling this).
 *
 * Return: the instance; never an error.
 */
struct dsmil *dsmil_kunit_create_with(struct kunit *test,
				      const struct dsmil_config *cfg,
				      const struct dsmil_smi_ops *ops,
				      void *priv)
{
	struct dsmil_smi_transport tp = { .ops = ops, .priv = priv };
	struct dsmil *dsm = dsmil_create_with(cfg, ops ? &tp : NULL, NULL);
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dsm);
	ret = kunit_add_action_or_reset(test, dsmil_kunit_destroy_action, dsm);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return dsm;
}

/**
 * dsmil_kunit_destroy - destroy an instance of dsmil_kunit_create() early.
 * @test: the test that created it.
 * @dsm:  the instance; gone on return, and not destroyed again at the end.
 */
void dsmil_kunit_destroy(struct kunit *test, struct dsmil *dsm)
{
	kunit_release_action(test, dsmil_kunit_destroy_action, dsm);
}

/**
 * dsmil_kunit_user_buf - user memory for a test, as an ioctl's caller has.
 * @test: the test; it fails at once if there is none.
 * @size: bytes, readable and writable.
 *
 * Anonymous, private and zero-filled, in an address space KUnit gives the
 * test's thread (and tears down with the test).
 *
 * Return: the user address.
 */
unsigned long dsmil_kunit_user_buf(struct kunit *test, size_t size)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, size, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "no user memory for the test");
	return addr;
}

/* ---- device states ------------------------------------------------------ */

/**
 * dsmil_kunit_step - one transition that must be accepted.
 * @test: the test; it fails at once (naming the refusal) if it is not.
 * @st:   state machine.
 * @id:   device.
 * @to:   the state @id must be in afterwards.
 */
void dsmil_kunit_step(struct kunit *test, struct dsmil_state *st,
		      unsigned int id, unsigned int to)
{
	struct dsmil_state_result res;
	int ret = dsmil_state_transition(st, id, to, &res);

	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "DSMIL%uD%X %s -> %s: reason %s",
			    id / DSMIL_DEVS_PER_GROUP,
			    id % DSMIL_DEVS_PER_GROUP,
			    dsmil_state_name(res.prev),
			    dsmil_state_name(to),
			    dsmil_state_reason_name(res.reason));
	KUNIT_ASSERT_EQ(test, READ_ONCE(st->dev[id].state), to);
}

/**
 * dsmil_kunit_drive - take an OFFLINE device to a state by legal steps.
 * @test:   the test; it fails at once if a step is refused.
 * @st:     state machine.
 * @id:     device, OFFLINE.
 * @target: any state; ACTIVE needs what @id depends on ACTIVE already.
 */
void dsmil_kunit_drive(struct kunit *test, struct dsmil_state *st,
		       unsigned int id, unsigned int target)
{
	switch (target) {
	case DSMIL_DEV_OFFLINE:
		break;
	case DSMIL_DEV_INITIALIZING:
		dsmil_kunit_step(test, st, id, DSMIL_DEV_INITIALIZING);
		break;
	case DSMIL_DEV_READY:
		dsmil_kunit_step(test, st, id, DSMIL_DEV_INITIALIZING);
		dsmil_kunit_step(test, st, id, DSMIL_DEV_READY);
		break;
	case DSMIL_DEV_ACTIVE:
		dsmil_kunit_step(test, st, id, DSMIL_DEV_INITIALIZING);
		dsmil_kunit_step(test, st, id, DSMIL_DEV_READY);
		dsmil_kunit_step(test, st, id, DSMIL_DEV_ACTIVE);
		break;
	case DSMIL_DEV_ERROR:
		dsmil_kunit_step(test, st, id, DSMIL_DEV_INITIALIZING);
		dsmil_kunit_step(test, st, id, DSMIL_DEV_ERROR);
		break;
	case DSMIL_DEV_LOCKED:
		dsmil_kunit_step(test, st, id, DSMIL_DEV_LOCKED);
		break;
	}
}

static int dsmil_kunit_verify_ok(void *ctx, unsigned int id)
{
	return 0;
}

static const struct dsmil_state_verifier dsmil_kunit_verifier_ok = {
	.verify = dsmil_kunit_verify_ok,
};

/**
 * dsmil_kunit_all_up - every device as far up as it may go, by legal steps:
 * ACTIVE, or READY for the quarantined ones.
 * @test: the test; it fails at once if a step is refused.
 * @st:   state machine of a fresh instance (every device OFFLINE).
 *
 * The verification of INITIALIZING -> READY is skipped (it would send one
 * SMI per device): suites below the state machine, which only need the
 * hand-off check to pass, start from here.
 */
void dsmil_kunit_all_up(struct kunit *test, struct dsmil_state *st)
{
	const struct dsmil_state_verifier *orig = st->verifier;
	unsigned int id;

	st->verifier = &dsmil_kunit_verifier_ok;
	/* Ascending ids: what a device needs always has a lower id. */
	for (id = 0; id < DSMIL_NUM_DEVICES; id++)
		dsmil_kunit_drive(test, st, id, dsmil_state_quarantined(id) ?
				  DSMIL_DEV_READY : DSMIL_DEV_ACTIVE);
	st->verifier = orig;
}

/* ---- the verifier ------------------------------------------------------- */

static int dsmil_kunit_verify_fn(void *ctx, unsigned int id)
{
	struct dsmil_kunit_verify *v = ctx;

	atomic_inc(&v->calls);
	WRITE_ONCE(v->last_id, id);
	if (v->check_lock && mutex_is_locked(&v->st->lock))
		v->saw_lock = true;
	if (READ_ONCE(v->block_id) == id) {
		complete(&v->entered);
		wait_for_completion_timeout(&v->release, 20 * HZ);
	}
	return READ_ONCE(v->err[id]);
}

/* Devices are still described as the real verifier would. */
static u16 dsmil_kunit_verify_token_flags(void *ctx, u16 token)
{
	struct dsmil_kunit_verify *v = ctx;

	return v->orig->token_flags ?
	       v->orig->token_flags(v->orig_ctx, token) : 0;
}

static const struct dsmil_state_verifier dsmil_kunit_verifier = {
	.verify = dsmil_kunit_verify_fn,
	.token_flags = dsmil_kunit_verify_token_flags,
};

static void dsmil_kunit_verify_remove(void *data)
{
	struct dsmil_kunit_verify *v = data;

	v->st->verifier = v->orig;
	v->st->verifier_ctx = v->orig_ctx;
}

/**
 * dsmil_kunit_verify_install - replace a state machine's verifier with
 * a fake the test programs.
 * @test: the test; the real verifier is put back when it ends.
 * @st:   state machine of an instance that outlives @test
 *        (dsmil_kunit_create(), not destroyed early).
 *
 * Until the test changes it, every device verifies (returns 0) at once.
 * Installed while no transition runs; installing another replaces this one
 * until its test ends.
 *
 * Return: the fake, zeroed but for block_id (-1).
 */
struct dsmil_kunit_verify *dsmil_kunit_verify_install(struct kunit *test,
						      struct dsmil_state *st)
{
	struct dsmil_kunit_verify *v;
	int ret;

	v = kunit_kzalloc(test, sizeof(*v), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, v);
	v->block_id = -1;
	init_completion(&v->entered);
	init_completion(&v->release);
	v->st = st;
	v->orig = st->verifier;
	v->orig_ctx = st->verifier_ctx;
	st->verifier_ctx = v;
	st->verifier = &dsmil_kunit_verifier;
	ret = kunit_add_action_or_reset(test, dsmil_kunit_verify_remove, v);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return v;
}

/* ---- the scripted SMI backend ------------------------------------------- */

/*
 * If the test set a hold at @at, this call is the one held: tell the test
 * and wait for it (never under f->lock).
 */
static void dsmil_kunit_smi_maybe_hold(struct dsmil_kunit_smi *f,
				       enum dsmil_kunit_hold at)
{
	bool hold;

	spin_lock(&f->lock);
	hold = f->hold_at == at;
	if (hold)
		f->hold_at = DSMIL_KUNIT_HOLD_NONE;
	spin_unlock(&f->lock);
	if (!hold)
		return;
	complete(&f->held);
	wait_for_completion_timeout(&f->release, 20 * HZ);
}

static int dsmil_kunit_smi_check(void *priv, const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_kunit_smi *f = priv;

	int ret;

	spin_lock(&f->lock);
	f->checks++;
	ret = f->check_ret;
	spin_unlock(&f->lock);
	dsmil_kunit_smi_maybe_hold(f, DSMIL_KUNIT_HOLD_CHECK);
	return ret;
}

/* The request at the hardware ends (under f->lock). */
static void dsmil_kunit_smi_end(struct dsmil_kunit_smi *f)
{
	f->in_hw = 0;
	if (f->submits && f->submits <= DSMIL_KUNIT_SMI_N)
		f->end_t[f->submits - 1] = ktime_get();
}

static int dsmil_kunit_smi_submit(void *priv, const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_kunit_smi *f = priv;
	int ret = 0;

	dsmil_kunit_smi_maybe_hold(f, DSMIL_KUNIT_HOLD_SUBMIT);
	spin_lock(&f->lock);
	f->attempts++;
	if (f->i_submit_ret < f->n_submit_ret)
		ret = f->submit_ret[f->i_submit_ret++];
	if (!ret) {
		if (f->in_hw)
			f->overlaps++;
		f->in_hw = 1;
		if (f->submits < DSMIL_KUNIT_SMI_N) {
			f->submit_t[f->submits] = ktime_get();
			f->tokens[f->submits] = cmd->token;
		}
		f->submits++;
		f->last = *cmd;
		f->req_polls = 0;
	}
	spin_unlock(&f->lock);
	return ret;
}

static u8 dsmil_kunit_smi_status(void *priv, u32 *value)
{
	struct dsmil_kunit_smi *f = priv;
	u8 st;

	dsmil_kunit_smi_maybe_hold(f, DSMIL_KUNIT_HOLD_STATUS);
	spin_lock(&f->lock);
	f->polls++;
	if (f->forever || f->req_polls < f->busy_polls ||
	    (f->forever_writes && f->last.op == DSMIL_SMI_OP_WRITE)) {
		f->req_polls++;
		if (f->frozen) {
			st = DSMIL_SMI_ST_BUSY | 1;
		} else {
			f->progress = (f->progress + 1) & DSMIL_SMI_ST_CODE;
			st = DSMIL_SMI_ST_BUSY | f->progress;
		}
	} else {
		st = f->final;
		if (st == DSMIL_SMI_ST_DONE && f->store &&
		    f->last.op == DSMIL_SMI_OP_WRITE)
			f->value = f->last.value;
		if (st == DSMIL_SMI_ST_DONE)
			*value = f->value;
		dsmil_kunit_smi_end(f);
	}
	spin_unlock(&f->lock);
	return st;
}

static int dsmil_kunit_smi_abort(void *priv)
{
	struct dsmil_kunit_smi *f = priv;
	int ret;

	dsmil_kunit_smi_maybe_hold(f, DSMIL_KUNIT_HOLD_ABORT);
	spin_lock(&f->lock);
	f->aborts++;
	ret = f->abort_ret;
	if (!ret)
		dsmil_kunit_smi_end(f);
	spin_unlock(&f->lock);
	return ret;
}

static int dsmil_kunit_smi_reset(void *priv)
{
	struct dsmil_kunit_smi *f = priv;
	int ret = 0;

	spin_lock(&f->lock);
	f->resets++;
	if (f->i_reset_ret < f->n_reset_ret)
		ret = f->reset_ret[f->i_reset_ret++];
	spin_unlock(&f->lock);
	return ret;
}

/* A polled interface: submit starts the SMI, status reports on it. */
const struct dsmil_smi_ops dsmil_kunit_smi_ops = {
	.name = "fake",
	.check = dsmil_kunit_smi_check,
	.submit = dsmil_kunit_smi_submit,
	.status = dsmil_kunit_smi_status,
	.abort = dsmil_kunit_smi_abort,
	.reset = dsmil_kunit_smi_reset,
};

/* Synchronous flavour: the whole SMI happens in submit. */
static int dsmil_kunit_smi_sync_submit(void *priv,
				       const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_kunit_smi *f = priv;
	int ret = dsmil_kunit_smi_submit(priv, cmd);

	if (ret)
		return ret;
	if (READ_ONCE(f->gated))
		wait_for_completion(&f->gate);
	if (f->sync_ms)
		msleep(f->sync_ms);
	spin_lock(&f->lock);
	dsmil_kunit_smi_end(f);
	spin_unlock(&f->lock);
	return 0;
}

static u8 dsmil_kunit_smi_sync_status(void *priv, u32 *value)
{
	struct dsmil_kunit_smi *f = priv;
	u8 st;

	spin_lock(&f->lock);
	f->polls++;
	st = f->final;
	if (st == DSMIL_SMI_ST_DONE)
		*value = f->value;
	spin_unlock(&f->lock);
	return st;
}

/* No abort: a synchronous call cannot be stopped. */
const struct dsmil_smi_ops dsmil_kunit_smi_sync_ops = {
	.name = "fake-sync",
	.synchronous = true,
	.check = dsmil_kunit_smi_check,
	.submit = dsmil_kunit_smi_sync_submit,
	.status = dsmil_kunit_smi_sync_status,
	.reset = dsmil_kunit_smi_reset,
};

/**
 * dsmil_kunit_smi_init - set a scripted SMI backend up.
 * @f: the fake, zeroed (e.g. by kunit_kzalloc()).
 *
 * Every request is then accepted and answers DSMIL_SMI_ST_DONE (reads: 0)
 * at its first poll; aborts and resets succeed; synchronous calls return
 * at once; nothing is held.  The test changes the script before, or
 * between, requests.
 */
void dsmil_kunit_smi_init(struct dsmil_kunit_smi *f)
{
	spin_lock_init(&f->lock);
	f->final = DSMIL_SMI_ST_DONE;
	init_completion(&f->gate);
	init_completion(&f->held);
	init_completion(&f->release);
}

static void dsmil_kunit_smi_queue(struct kunit *test, struct dsmil_kunit_smi *f,
				  int *answers, unsigned int *len, int ret,
				  unsigned int n)
{
	unsigned int i, room;

	spin_lock(&f->lock);
	room = DSMIL_KUNIT_SMI_N - *len;
	for (i = 0; i < n && i < room; i++)
		answers[(*len)++] = ret;
	spin_unlock(&f->lock);
	KUNIT_ASSERT_LE_MSG(test, n, room, "more answers than the fake holds");
}

/**
 * dsmil_kunit_smi_queue_submit - script the next submits' answers.
 * @test: the test; it fails at once if the script would overflow.
 * @f:    the fake.
 * @ret:  what the submits answer: 0, -EBUSY (the engine retries) or an
 *        errno (the request fails).
 * @n:    how many submits, after those already scripted; at most
 *        DSMIL_KUNIT_SMI_N in all.  Later submits answer 0.
 */
void dsmil_kunit_smi_queue_submit(struct kunit *test, struct dsmil_kunit_smi *f,
				  int ret, unsigned int n)
{
	dsmil_kunit_smi_queue(test, f, f->submit_ret, &f->n_submit_ret, ret, n);
}

/**
 * dsmil_kunit_smi_queue_reset - script the next resets' answers.
 * @test: the test; it fails at once if the script would overflow.
 * @f:    the fake.
 * @ret:  what the resets answer: 0 or an errno (the recovery fails).
 * @n:    how many resets, after those already scripted; at most
 *        DSMIL_KUNIT_SMI_N in all.  Later resets answer 0.
 */
void dsmil_kunit_smi_queue_reset(struct kunit *test, struct dsmil_kunit_smi *f,
				 int ret, unsigned int n)
{
	dsmil_kunit_smi_queue(test, f, f->reset_ret, &f->n_reset_ret, ret, n);
}

/**
 * dsmil_kunit_smi_open_gate - let gated synchronous calls finish.
 * @f: the fake.
 *
 * Calls waiting at the gate go on, and later ones pass it without waiting,
 * whether or not @f->gated is still set.  Idempotent: a suite's exit may
 * call it to release whatever a case left blocked.
 */
void dsmil_kunit_smi_open_gate(struct dsmil_kunit_smi *f)
{
	complete_all(&f->gate);
}

/**
 * dsmil_kunit_smi_hold - hold the next call at @at until the test says.
 * @f:  the fake.
 * @at: DSMIL_KUNIT_HOLD_CHECK (in the caller's context, before the request
 *      goes anywhere), _SUBMIT (at the hardware: a write has passed its
 *      hand-off) or _STATUS (the SMI accepted and running).
 *
 * One call is held; dsmil_kunit_smi_wait_held() waits for it to arrive,
 * dsmil_kunit_smi_release() lets it go on.  A held call gives up by itself
 * after 20 s.
 */
void dsmil_kunit_smi_hold(struct dsmil_kunit_smi *f, enum dsmil_kunit_hold at)
{
	spin_lock(&f->lock);
	reinit_completion(&f->held);
	reinit_completion(&f->release);
	f->hold_at = at;
	spin_unlock(&f->lock);
}

/**
 * dsmil_kunit_smi_wait_held - wait until the call of dsmil_kunit_smi_hold()
 * is held.
 * @test: the test; it fails at once if none arrives within 5 s.
 * @f:    the fake.
 */
void dsmil_kunit_smi_wait_held(struct kunit *test, struct dsmil_kunit_smi *f)
{
	KUNIT_ASSERT_TRUE_MSG(test,
			      wait_for_completion_timeout(&f->held, 5 * HZ),
			      "no call reached the hold");
}

/**
 * dsmil_kunit_smi_release - let a held call go on.
 * @f: the fake.
 *
 * Idempotent until the next dsmil_kunit_smi_hold(): a suite's exit may call
 * it to release whatever a case left held.
 */
void dsmil_kunit_smi_release(struct dsmil_kunit_smi *f)
{
	complete_all(&f->release);
}

static unsigned int dsmil_kunit_smi_submits(struct dsmil_kunit_smi *f)
{
	unsigned int v;

	spin_lock(&f->lock);
	v = f->submits;
	spin_unlock(&f->lock);
	return v;
}

/**
 * dsmil_kunit_smi_wait_submits - wait until the fake has accepted requests.
 * @test: the test; it fails at once if they have not come in 1 to 2 s.
 * @f:    the fake.
 * @n:    submits accepted, in all, to wait for.
 */
void dsmil_kunit_smi_wait_submits(struct kunit *test, struct dsmil_kunit_smi *f,
				  unsigned int n)
{
	unsigned int i;

	for (i = 0; i < 2000 && dsmil_kunit_smi_submits(f) < n; i++)
		usleep_range(500, 1000);
	KUNIT_ASSERT_GE(test, dsmil_kunit_smi_submits(f), n);
}

/* ---- asynchronous requests ---------------------------------------------- */

/**
 * dsmil_kunit_async_init - a fresh recorder for one asynchronous request.
 * @a:   the recorder.
 * @smi: the engine the request goes to.
 */
void dsmil_kunit_async_init(struct dsmil_kunit_async *a, struct dsmil_smi *smi)
{
	memset(a, 0, sizeof(*a));
	init_completion(&a->done);
	a->smi = smi;
}

/**
 * dsmil_kunit_async_hook - the completion hook to hand dsmil_smi_submit(),
 * with a struct dsmil_kunit_async as its context.
 * @req: the request that finished.
 * @ctx: the recorder.
 */
void dsmil_kunit_async_hook(struct dsmil_smi_req *req, void *ctx)
{
	struct dsmil_kunit_async *a = ctx;

	a->id = req->id;
	a->outcome = req->outcome;
	a->result = req->result;
	a->value = req->value;
	a->in_worker = current_work() == &a->smi->work;
	atomic_inc(&a->calls);
	complete_all(&a->done);
}

/**
 * dsmil_kunit_async_wait - wait (up to 5 s) for the hook.
 * @test: the test; it fails at once if the hook is not called in time.
 * @a:    the recorder.
 */
void dsmil_kunit_async_wait(struct kunit *test, struct dsmil_kunit_async *a)
{
	KUNIT_ASSERT_TRUE_MSG(test, wait_for_completion_timeout(&a->done, 5 * HZ),
			      "the completion hook was not called");
}
