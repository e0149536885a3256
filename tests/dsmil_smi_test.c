// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the SMI engine (dsmil_smi.c) and its backends.
 *
 * Most cases drive the engine below the device-state check
 * (dsmil_smi_exec()) with the util's scripted fake backend, struct
 * dsmil_kunit_smi, in the style of
 * drivers/platform/chrome/cros_ec_proto_test.c: the test says what submit,
 * status, abort and reset answer, and the fake records what the engine did
 * (calls, timestamps, overlapping requests), so every case checks behaviour
 * at the "hardware" and not only the errno.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dmi.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <uapi/linux/wmi.h>

#include "../dsmil_priv.h"
#include "../dsmil_smi_priv.h"
#include "../dsmil_client.h"
#include "dsmil_test_util.h"

#define MAX_CALLERS	8

/* ------------------------------------------------------------------------
 * Fixture: one instance per case, checked by the suite exit, then torn down
 * with the test's resources (the instance before its backend).
 */
/*
 * A kernel thread making requests: @repeat times @cmd below the device
 * model (dsmil_smi_exec()), or, with @rw, once @tr as the token ioctls do
 * (dsmil_smi_token_rw(), device-state check included).
 */
struct smi_caller {
	struct dsmil_smi *smi;
	struct dsmil_smi_cmd cmd;
	unsigned int dev;
	unsigned int repeat;
	bool rw, write;
	bool plain;		/* dsmil_smi_exec() with no flags: may coalesce */
	bool killable;		/* SIGKILL ends its waits (send_sig()) */
	struct task_struct *task;
	struct dsmil_token_req tr;
	int ret;		/* last result */
	u64 id;			/* request id of the last (plain) reply */
	unsigned int ok;	/* successful results */
	u32 value;
	u64 ns;
	struct completion done;
};

/* An emergency stop from a kernel thread, and when it returned. */
struct smi_estop {
	struct dsmil_state *st;
	unsigned int group, locked, in_doubt;
	int ret;
	ktime_t end;
	struct completion done;
};

struct smi_t {
	struct dsmil *dsm;
	struct dsmil_smi *smi;
	struct dsmil_kunit_smi fake;
	void *backend;		/* sim or dell data, if any */
	struct smi_caller *callers[MAX_CALLERS];
	unsigned int n_callers;
	struct smi_estop *estop;
};

/* @offline: leave every device OFFLINE (else all_up: the hand-off passes). */
struct smi_params {
	unsigned int timeout_ms, hang_ms, interval_us, fault_limit, retries;
	bool offline;
};

static const struct smi_params smi_defaults = {
	.timeout_ms = 100, .hang_ms = 40, .interval_us = 0,
	.fault_limit = 3, .retries = 3,
};

static struct dsmil_smi *smi_start(struct kunit *test,
				   const struct dsmil_smi_ops *ops, void *priv,
				   const struct smi_params *p)
{
	struct smi_t *t = test->priv;
	struct dsmil_config cfg = dsmil_kunit_cfg;

	cfg.smi.timeout_ms = p->timeout_ms;
	cfg.smi.hang_ms = p->hang_ms;
	cfg.smi.min_interval_us = p->interval_us;
	cfg.smi.fault_limit = p->fault_limit;
	cfg.smi.busy_retries = p->retries;
	t->dsm = dsmil_kunit_create_with(test, &cfg, ops, priv ?: &t->fake);
	t->smi = &t->dsm->smi;
	KUNIT_EXPECT_STREQ(test, t->smi->backend_name, ops->name);
	if (!p->offline)
		dsmil_kunit_all_up(test, &t->dsm->state);
	return t->smi;
}

static struct dsmil_smi *smi_start_fake(struct kunit *test,
					const struct smi_params *p)
{
	return smi_start(test, &dsmil_kunit_smi_ops, NULL, p);
}

static u8 dsmil_dev_state_of(struct smi_t *t, unsigned int id)
{
	return READ_ONCE(t->dsm->state.dev[id].state);
}

static int dsmil_smi_test_init(struct kunit *test)
{
	struct smi_t *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	if (!t)
		return -ENOMEM;
	dsmil_kunit_smi_init(&t->fake);
	test->priv = t;
	return 0;
}

static void smi_status(struct dsmil_smi *smi, struct dsmil_smi_status *st)
{
	memset(st, 0, sizeof(*st));
	dsmil_smi_get_status(smi, st);
}

/* The documented counter identities, on a quiet engine. */
static void smi_expect_identity(struct kunit *test, struct dsmil_smi *smi)
{
	struct dsmil_smi_status st;
	u64 hist = 0;
	unsigned int i;

	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0);
	KUNIT_EXPECT_EQ(test, st.requests,
			st.successes + st.errors + st.timeouts + st.hangs +
			st.faulted_rejects + st.refused);
	KUNIT_EXPECT_EQ(test, st.errors,
			st.error_status + st.garbage + st.busy_failures +
			st.submit_failures + st.cancelled);
	KUNIT_EXPECT_LE(test, st.queue_timeouts, st.timeouts);
	for (i = 0; i < DSMIL_SMI_HIST_BUCKETS; i++)
		hist += st.latency_hist[i];
	KUNIT_EXPECT_EQ(test, hist, st.requests - st.refused);
}

static void dsmil_smi_test_exit(struct kunit *test)
{
	struct smi_t *t = test->priv;
	unsigned int i;

	/* Let anything the case left blocked finish before tearing down. */
	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_kunit_smi_release(&t->fake);
	for (i = 0; i < t->n_callers; i++)
		wait_for_completion(&t->callers[i]->done);
	if (t->estop)
		wait_for_completion(&t->estop->done);
	if (t->dsm) {
		dsmil_smi_flush(t->smi);
		smi_expect_identity(test, t->smi);
	}
}

/*
 * dsmil_smi_exec() for cases about the engine: every device is up
 * (smi_start()) and a fault does not move it to ERROR (no report), so that
 * the hand-off check lets every request through unless the case stops
 * the device itself.  The device model's side is tested through
 * dsmil_smi_token_rw().
 */
static int smi_exec(struct dsmil_smi *smi, const struct dsmil_smi_cmd *cmd,
		    unsigned int dev, u32 *value, u64 *ns)
{
	struct dsmil_smi_reply rep;
	int ret = dsmil_smi_exec(smi, cmd, dev, DSMIL_SMI_F_NOREPORT, &rep);

	*value = rep.value;
	*ns = rep.duration_ns;
	return ret;
}

static int smi_caller_fn(void *data)
{
	struct smi_caller *c = data;
	struct dsmil_smi_reply rep;
	unsigned int i;

	if (c->killable)
		allow_signal(SIGKILL);
	for (i = 0; i < c->repeat; i++) {
		if (c->rw) {
			c->ret = dsmil_smi_token_rw(c->smi, &c->tr, c->write);
		} else if (c->plain) {
			c->ret = dsmil_smi_exec(c->smi, &c->cmd, c->dev, 0,
						&rep);
			c->value = rep.value;
			c->id = rep.id;
		} else {
			c->ret = smi_exec(c->smi, &c->cmd, c->dev, &c->value,
					  &c->ns);
		}
		if (!c->ret)
			c->ok++;
	}
	/* _all: both the case and the suite's exit may wait for it. */
	complete_all(&c->done);
	return 0;
}

static struct smi_caller *smi_caller_new(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_LT(test, t->n_callers, MAX_CALLERS);
	c->smi = t->smi;
	c->repeat = 1;
	init_completion(&c->done);
	return c;
}

static void smi_caller_run(struct kunit *test, struct smi_caller *c)
{
	struct smi_t *t = test->priv;
	struct task_struct *task;

	task = kthread_run(smi_caller_fn, c, "dsmil-smi-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	c->task = task;
	t->callers[t->n_callers++] = c;
}

/* Run @repeat reads of token 0x0480 from a kernel thread. */
static struct smi_caller *smi_spawn(struct kunit *test, unsigned int repeat)
{
	struct smi_caller *c = smi_caller_new(test);

	c->cmd.token = DSMIL_TOKEN_BASE;
	c->cmd.op = DSMIL_SMI_OP_READ;
	c->repeat = repeat;
	smi_caller_run(test, c);
	return c;
}

/* One token request of (@group, @pos) through dsmil_smi_token_rw(). */
static struct smi_caller *smi_spawn_rw(struct kunit *test, unsigned int group,
				       unsigned int pos, bool write, u32 value)
{
	struct smi_caller *c = smi_caller_new(test);

	c->rw = true;
	c->write = write;
	c->tr.group = group;
	c->tr.position = pos;
	c->tr.value = value;
	smi_caller_run(test, c);
	return c;
}

static int smi_estop_fn(void *data)
{
	struct smi_estop *e = data;

	e->ret = dsmil_state_estop(e->st, e->group, &e->locked, &e->in_doubt);
	e->end = ktime_get();
	complete_all(&e->done);
	return 0;
}

/* Stop @group from a kernel thread (dsmil_state_estop() may wait). */
static struct smi_estop *smi_spawn_estop(struct kunit *test,
					 unsigned int group)
{
	struct smi_t *t = test->priv;
	struct smi_estop *e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	struct task_struct *task;

	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_ASSERT_NULL(test, t->estop);
	e->st = &t->dsm->state;
	e->group = group;
	init_completion(&e->done);
	task = kthread_run(smi_estop_fn, e, "dsmil-smi-kunit-stop");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	t->estop = e;
	return e;
}

/* Wait (up to 5 s) until device @id is in @state. */
static void smi_wait_state(struct kunit *test, unsigned int id, u8 state)
{
	struct smi_t *t = test->priv;
	unsigned int i;

	for (i = 0; i < 5000; i++) {
		if (dsmil_dev_state_of(t, id) == state)
			break;
		usleep_range(500, 1000);
	}
	KUNIT_ASSERT_EQ_MSG(test, dsmil_dev_state_of(t, id), state,
			    "device %u", id);
}

/* Wait (up to 5 s) until @n requests are in flight. */
static void smi_wait_in_flight(struct kunit *test, struct dsmil_smi *smi,
			       unsigned int n)
{
	unsigned int i, v = 0;

	for (i = 0; i < 5000; i++) {
		spin_lock(&smi->lock);
		v = smi->in_flight;
		spin_unlock(&smi->lock);
		if (v >= n)
			break;
		usleep_range(500, 1000);
	}
	KUNIT_ASSERT_GE(test, v, n);
}

static int smi_read(struct dsmil_smi *smi, u32 *value, u64 *ns)
{
	struct dsmil_smi_cmd cmd = {
		.token = DSMIL_TOKEN_BASE, .op = DSMIL_SMI_OP_READ,
	};
	u32 v = 0;
	u64 n = 0;
	int ret = smi_exec(smi, &cmd, 0, &v, &n);

	if (value)
		*value = v;
	if (ns)
		*ns = n;
	return ret;
}

#define MS	NSEC_PER_MSEC

/* ------------------------------------------------------------------------
 * Tokens.
 */
static void dsmil_smi_token_of_map(struct kunit *test)
{
	unsigned int g, p, dev;
	u16 token;
	int ret;

	for (g = 0; g < DSMIL_NUM_GROUPS + 2; g++) {
		for (p = 0; p < DSMIL_DEVS_PER_GROUP + 2; p++) {
			bool valid = g < DSMIL_NUM_GROUPS &&
				     p < DSMIL_DEVS_PER_GROUP && p % 3 == 0;

			token = 0;
			ret = dsmil_smi_token_of(g, p, &token, &dev);
			KUNIT_EXPECT_EQ_MSG(test, ret, valid ? 0 : -EINVAL,
					    "group %u position %u", g, p);
			if (!valid)
				continue;
			KUNIT_EXPECT_EQ(test, token, 0x0480 + 12 * g + p);
			KUNIT_EXPECT_EQ(test, dev, g * 12 + p);
			KUNIT_EXPECT_EQ(test, dsmil_smi_token_index(token),
					g * 4 + p / 3);
		}
	}
	/* The uapi's names for the positions. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_of(5, DSMIL_TOKEN_SENSOR, &token,
						 &dev), 0);
	KUNIT_EXPECT_EQ(test, token, 0x04c5);	/* 0x0480 + 12 * 5 + 9 */
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_index(0x047f), -EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_index(0x0481), -EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_index(0x0480 + 72), -EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_index(0xffff), -EINVAL);
}

struct smi_bad_token {
	const char *desc;
	u8 group, position;
};

static const struct smi_bad_token smi_bad_tokens[] = {
	{ "group-6", 6, 0 },
	{ "group-255", 255, 0 },
	{ "position-1", 0, 1 },
	{ "position-11", 5, 11 },
	{ "position-12", 0, 12 },
	{ "position-255", 2, 255 },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_token_rw_bad_token, smi_bad_tokens, desc);

/* Out-of-range tokens are refused before anything reaches the backend. */
static void dsmil_smi_token_rw_bad_token(struct kunit *test)
{
	const struct smi_bad_token *c = test->param_value;
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	struct dsmil_token_req tr = {
		.group = c->group, .position = c->position,
	};
	struct dsmil_smi_status st;

	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, false), -EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, tr.token, 0);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 0);
	KUNIT_EXPECT_EQ(test, t->fake.polls, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.requests, 2);
	KUNIT_EXPECT_EQ(test, st.refused, 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->bad_input), 2);
}

/*
 * A fresh instance has every device OFFLINE: the state check refuses a
 * valid token and nothing reaches the backend.
 */
static void dsmil_smi_token_rw_state_refused(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_token_req tr = { .group = 1, .position = 6 };
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	p.offline = true;
	smi = smi_start_fake(test, &p);

	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, false), -ENODEV);
	KUNIT_EXPECT_EQ(test, tr.token, 0x0480 + 12 + 6);
	tr.value = 0x55;
	KUNIT_EXPECT_NE(test, dsmil_smi_token_rw(smi, &tr, true), 0);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.refused, 2);
	KUNIT_EXPECT_EQ(test, st.requests, 2);
}

/* ------------------------------------------------------------------------
 * Requests that complete.
 */
static void dsmil_smi_exec_read(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	struct dsmil_smi_status st;
	u32 value;
	u64 ns;

	t->fake.value = 0xcafe1234;
	KUNIT_EXPECT_EQ(test, smi_read(smi, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, value, 0xcafe1234);
	KUNIT_EXPECT_GT(test, ns, 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	KUNIT_EXPECT_EQ(test, t->fake.last.token, DSMIL_TOKEN_BASE);
	KUNIT_EXPECT_EQ(test, t->fake.last.op, DSMIL_SMI_OP_READ);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.requests, 1);
	KUNIT_EXPECT_EQ(test, st.successes, 1);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_OK);
	KUNIT_EXPECT_EQ(test, st.timeout_ms, 100);
	KUNIT_EXPECT_STREQ(test, (char *)st.backend, "fake");
}

static void dsmil_smi_exec_write(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	struct dsmil_smi_cmd cmd = {
		.token = 0x0480 + 12 * 3 + 9, .op = DSMIL_SMI_OP_WRITE,
		.value = 0x00c0ffee,
	};
	u32 value = 0;
	u64 ns;

	KUNIT_EXPECT_EQ(test, smi_exec(smi, &cmd, 3 * 12 + 9, &value, &ns),
			0);
	KUNIT_EXPECT_EQ(test, t->fake.last.token, 0x0480 + 12 * 3 + 9);
	KUNIT_EXPECT_EQ(test, t->fake.last.op, DSMIL_SMI_OP_WRITE);
	KUNIT_EXPECT_EQ(test, t->fake.last.value, 0x00c0ffee);
}

/* Busy, busy, ... done: the engine keeps polling and takes the value. */
static void dsmil_smi_exec_busy_then_done(struct kunit *test)
{
	/*
	 * Bounds far above the seven polls' own time: on a loaded TCG host
	 * each back-off sleep may take several times its 1 ms, and 100 ms
	 * (or the 40 ms hang threshold) once ran out before the last poll.
	 */
	static const struct smi_params roomy = {
		.timeout_ms = 1000, .hang_ms = 900, .fault_limit = 3,
		.retries = 3,
	};
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &roomy);
	u32 value;

	t->fake.busy_polls = 7;
	t->fake.value = 42;
	KUNIT_EXPECT_EQ(test, smi_read(smi, &value, NULL), 0);
	KUNIT_EXPECT_EQ(test, value, 42);
	KUNIT_EXPECT_EQ(test, t->fake.polls, 8);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 0);
}

/* A long busy SMI sleeps between polls rather than spinning on them. */
static void dsmil_smi_exec_poll_sleeps(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	ktime_t t0 = ktime_get();
	u64 ns;

	t->fake.forever = true;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ETIMEDOUT);
	KUNIT_EXPECT_GE(test, ktime_to_ns(ktime_sub(ktime_get(), t0)),
			100 * MS);
	/*
	 * Back-off up to 1 ms between polls: a 100 ms wait is at most a few
	 * hundred polls, where a busy loop would make hundreds of thousands.
	 * Load only stretches the sleeps (18 polls were seen on a busy host),
	 * so the lower bound just says it kept polling rather than sleeping
	 * its deadline away.
	 */
	KUNIT_EXPECT_LT(test, t->fake.polls, 400);
	KUNIT_EXPECT_GT(test, t->fake.polls, 5);
}

/* ------------------------------------------------------------------------
 * Errors.
 */
struct smi_errmap {
	const char *desc;
	u8 status;
	int err;
};

static const struct smi_errmap smi_errmaps[] = {
	{ "failed", DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED, -EIO },
	{ "invalid", DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID, -ENXIO },
	{ "unsupported", DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_UNSUPPORTED,
	  -EOPNOTSUPP },
	{ "code-0", DSMIL_SMI_ST_ERROR, -EIO },
	{ "code-63", DSMIL_SMI_ST_ERROR | 0x3f, -EIO },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_exec_error_status, smi_errmaps, desc);

/* An error status maps to its errno; it is an answer, not a fault. */
static void dsmil_smi_exec_error_status(struct kunit *test)
{
	const struct smi_errmap *c = test->param_value;
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;

	p.fault_limit = 1;
	smi = smi_start_fake(test, &p);
	t->fake.busy_polls = 2;
	t->fake.final = c->status;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), c->err);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), c->err);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.errors, 2);
	KUNIT_EXPECT_EQ(test, st.error_status, 2);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 0);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_OK);
}

static void dsmil_smi_status_errno_table(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0x00), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0x80), -EBUSY);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0xbf), -EBUSY);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0x41), -EIO);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0x42), -ENXIO);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0x43), -EOPNOTSUPP);
	/* Garbage: all ones, busy with error, code bits alone. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0xff), -EIO);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0xc2), -EIO);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(0x05), -EIO);
}

/* 0xff is a fault: aborted, counted towards FAULTED, -EIO. */
static void dsmil_smi_exec_garbage_status(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	struct dsmil_smi_status st;

	t->fake.busy_polls = 1;
	t->fake.final = DSMIL_SMI_ST_GARBAGE;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EIO);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.garbage, 1);
	KUNIT_EXPECT_EQ(test, st.errors, 1);
	KUNIT_EXPECT_EQ(test, st.aborts, 1);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 1);
}

/* ------------------------------------------------------------------------
 * Timeouts, hangs, aborts.
 */
static void dsmil_smi_exec_timeout(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;
	u64 ns;

	p.timeout_ms = 60;
	p.hang_ms = 40;
	smi = smi_start_fake(test, &p);
	t->fake.forever = true;		/* busy, status changing: alive */
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ETIMEDOUT);
	KUNIT_EXPECT_GE(test, ns, 60 * MS);
	KUNIT_EXPECT_LT(test, ns, 5 * 60 * MS);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.timeouts, 1);
	KUNIT_EXPECT_EQ(test, st.queue_timeouts, 0);
	KUNIT_EXPECT_EQ(test, st.hangs, 0);
	KUNIT_EXPECT_EQ(test, st.aborts, 1);
	KUNIT_EXPECT_EQ(test, st.abort_failures, 0);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 1);
}

/*
 * A request handed to the hardware with less than smi_hang_ms left (its
 * deadline went in the queue, behind one that timed out) times out there
 * too: its caller gets -ETIMEDOUT and the timeout is a fault towards
 * FAULTED, but its device is not put in ERROR.  The first, which had its
 * whole deadline at the hardware, is blamed as before.
 */
static void dsmil_smi_exec_timeout_short_not_blamed(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct smi_caller *a, *b;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;
	s64 hw_ms;

	/* B gets ~100 ms at the hardware: far under 200, on a slow guest too. */
	p.timeout_ms = 300;
	p.hang_ms = 200;
	smi = smi_start_fake(test, &p);
	t->fake.forever = true;		/* busy, status changing: alive */
	a = smi_spawn_rw(test, 0, 0, false, 0);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);
	/* B arrives 100 ms after A: its deadline ends 100 ms after A's. */
	msleep(100);
	b = smi_spawn_rw(test, 0, 3, false, 0);
	wait_for_completion(&a->done);
	wait_for_completion(&b->done);
	KUNIT_EXPECT_EQ(test, a->ret, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, b->ret, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, dsmil_dev_state_of(t, 0), DSMIL_DEV_ERROR);
	smi_status(smi, &st);
	if (st.queue_timeouts)
		kunit_skip(test, "B never reached the hardware (a slow guest): nothing to judge");
	/*
	 * B's time at the hardware, measured by the fake (its abort ends it
	 * at or after the deadline): a guest slow enough to start B 100 ms
	 * late gives it hang_ms there, and then it is rightly blamed.
	 */
	hw_ms = ktime_ms_delta(t->fake.end_t[1], t->fake.submit_t[1]);
	if (hw_ms >= p.hang_ms)
		kunit_skip(test, "B had %lld ms at the hardware, not a late start", hw_ms);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);
	KUNIT_EXPECT_EQ(test, st.aborts, 2);
	KUNIT_EXPECT_EQ(test, st.timeouts, 2);
	KUNIT_EXPECT_NE(test, dsmil_dev_state_of(t, 3), DSMIL_DEV_ERROR);
	/* The interface is judged either way. */
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 2);
}

/* Busy with a frozen status: a hang, declared long before the timeout. */
static void dsmil_smi_exec_hang_before_timeout(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;
	u64 ns;

	p.timeout_ms = 500;
	p.hang_ms = 20;
	smi = smi_start_fake(test, &p);
	t->fake.forever = true;
	t->fake.frozen = true;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ETIMEDOUT);
	KUNIT_EXPECT_GE(test, ns, 20 * MS);
	KUNIT_EXPECT_LT(test, ns, 250 * MS);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.hangs, 1);
	KUNIT_EXPECT_EQ(test, st.timeouts, 0);
	KUNIT_EXPECT_EQ(test, st.aborts, 1);
}

/* A busy status that keeps changing is progress, not a hang. */
static void dsmil_smi_exec_progress_not_hang(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	u64 ns;

	p.timeout_ms = 500;
	p.hang_ms = 20;
	smi = smi_start_fake(test, &p);
	t->fake.busy_polls = 1000000;	/* busy for the whole test */
	KUNIT_ASSERT_EQ(test, smi_read(smi, NULL, &ns), -ETIMEDOUT);
	/* Changing status: no hang, the full timeout ran. */
	KUNIT_EXPECT_GE(test, ns, 500 * MS);
	KUNIT_EXPECT_EQ(test, smi->cnt.hangs, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.timeouts, 1);
}

/*
 * A failed abort leaves the interface unknown: FAULTED at once, and the
 * request in doubt (not -ETIMEDOUT: it may still run) until a reset ends
 * it, when its outcome is recorded as unknown.
 */
static void dsmil_smi_exec_abort_failure(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	struct dsmil_smi_cmd cmd = {
		.token = DSMIL_TOKEN_BASE, .op = DSMIL_SMI_OP_READ,
	};
	struct dsmil_smi_result res = {};
	struct dsmil_smi_reply rep;
	struct dsmil_smi_status st;

	t->fake.forever = true;
	t->fake.frozen = true;
	t->fake.abort_ret = -EIO;
	KUNIT_EXPECT_EQ(test, dsmil_smi_exec(smi, &cmd, 0,
					     DSMIL_SMI_F_NOREPORT, &rep),
			-EINPROGRESS);
	KUNIT_EXPECT_TRUE(test, rep.in_doubt);
	KUNIT_ASSERT_NE(test, rep.id, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.aborts, 1);
	KUNIT_EXPECT_EQ(test, st.abort_failures, 1);
	KUNIT_EXPECT_EQ(test, st.hangs, 1);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 1);	/* < limit 3 */
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_FAULTED);
	KUNIT_EXPECT_EQ(test, st.faulted_entries, 1);
	KUNIT_EXPECT_EQ(test, st.in_doubt, 1);
	KUNIT_EXPECT_EQ(test, st.late_successes + st.late_failures, 0);
	res.request_id = rep.id;
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), -EINPROGRESS);

	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1);

	/* The reset ends it: outcome unknown, a late failure. */
	KUNIT_ASSERT_EQ(test, dsmil_smi_recover(smi), 0);
	KUNIT_ASSERT_EQ(test, dsmil_smi_result(smi, &res), 0);
	KUNIT_EXPECT_EQ(test, res.error, ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, res.flags, DSMIL_SMI_RESULT_F_IN_DOUBT |
			DSMIL_SMI_RESULT_F_UNKNOWN);
	KUNIT_EXPECT_EQ(test, res.token, DSMIL_TOKEN_BASE);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_doubt, 1);
	KUNIT_EXPECT_EQ(test, st.late_failures, 1);
	KUNIT_EXPECT_EQ(test, st.late_successes, 0);
}

/* ------------------------------------------------------------------------
 * FAULTED and recovery.
 */
static void smi_fault(struct kunit *test, struct dsmil_smi *smi,
		      unsigned int n)
{
	struct smi_t *t = test->priv;
	unsigned int i;

	t->fake.forever = true;
	t->fake.frozen = true;
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ETIMEDOUT);
	t->fake.forever = false;
	t->fake.frozen = false;
}

static void dsmil_smi_exec_faulted_fail_fast(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;
	unsigned int polls;
	ktime_t t0;
	u64 ns;

	p.hang_ms = 10;
	smi = smi_start_fake(test, &p);
	smi_fault(test, smi, 2);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_OK);
	smi_fault(test, smi, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_FAULTED);
	KUNIT_EXPECT_EQ(test, st.faulted_entries, 1);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 3);

	/* The fake would answer now, but nothing may reach it. */
	polls = t->fake.polls;
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 0), -ESHUTDOWN);
	KUNIT_EXPECT_LT(test, ktime_to_ns(ktime_sub(ktime_get(), t0)), 5 * MS);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 3);
	KUNIT_EXPECT_EQ(test, t->fake.polls, polls);
	KUNIT_EXPECT_EQ(test, t->fake.aborts, 3);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.faulted_rejects, 2);
	KUNIT_EXPECT_EQ(test, st.hangs, 3);
	KUNIT_EXPECT_EQ(test, st.faulted_entries, 1);
}

/* Faults must be consecutive; an answer (even an error) resets the run. */
static void dsmil_smi_exec_fault_run_resets(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;

	p.hang_ms = 10;
	smi = smi_start_fake(test, &p);
	smi_fault(test, smi, 2);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	smi_fault(test, smi, 2);
	t->fake.final = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EIO);
	smi_fault(test, smi, 2);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_OK);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 2);
	KUNIT_EXPECT_EQ(test, st.hangs, 6);
}

/* Requests queued when the backend goes FAULTED never reach it. */
static void dsmil_smi_exec_faulted_drains_queue(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct smi_caller *a;
	u64 ns;

	p.timeout_ms = 400;
	p.hang_ms = 20;
	p.fault_limit = 1;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.sync_ms = 80;	/* slow (over hang_ms): FAULTED when it returns */
	a = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);
	/* A's call is still running; this one queues behind it. */
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ESHUTDOWN);
	KUNIT_EXPECT_GE(test, ns, 20 * MS);
	KUNIT_EXPECT_LT(test, ns, 400 * MS);
	wait_for_completion(&a->done);
	/* A slow call keeps its answer; it is no hang. */
	KUNIT_EXPECT_EQ(test, a->ret, 0);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.faulted_rejects, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.hangs, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.successes, 1);
}

static void dsmil_smi_recover_backoff(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;

	p.hang_ms = 10;
	p.fault_limit = 1;
	smi = smi_start_fake(test, &p);
	smi_fault(test, smi, 1);
	dsmil_kunit_smi_queue_reset(test, &t->fake, -EIO, 2);

	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), -EIO);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.recover_backoff_ms, 100);
	KUNIT_EXPECT_GT(test, st.recover_wait_ms, 0);
	KUNIT_EXPECT_LE(test, st.recover_wait_ms, 100);
	/* Inside the backoff: refused without touching the backend. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), -EAGAIN);
	KUNIT_EXPECT_EQ(test, t->fake.resets, 1);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ESHUTDOWN);

	msleep(110);
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), -EIO);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.recover_backoff_ms, 200);	/* doubled */
	KUNIT_EXPECT_GT(test, st.recover_wait_ms, 100);
	msleep(110);
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), -EAGAIN);
	KUNIT_EXPECT_EQ(test, t->fake.resets, 2);

	msleep(110);
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), 0);
	KUNIT_EXPECT_EQ(test, t->fake.resets, 3);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_OK);
	KUNIT_EXPECT_EQ(test, st.recoveries, 1);
	KUNIT_EXPECT_EQ(test, st.recovery_failures, 2);
	KUNIT_EXPECT_EQ(test, st.recover_backoff_ms, 0);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
}

static void dsmil_smi_recover_not_faulted(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);

	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), 0);
	KUNIT_EXPECT_EQ(test, t->fake.resets, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.recoveries, 0);
}

/* ------------------------------------------------------------------------
 * Dell timing: spacing and busy retries.
 */
static void dsmil_smi_exec_spacing(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;
	unsigned int i;

	p.interval_us = 5000;
	smi = smi_start_fake(test, &p);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, t->fake.submits, 4);
	for (i = 1; i < 4; i++)
		KUNIT_EXPECT_GE_MSG(test,
				    ktime_to_ns(ktime_sub(t->fake.submit_t[i],
							  t->fake.end_t[i - 1])),
				    5 * MS, "gap before SMI %u", i);
	/*
	 * The gaps above are the property.  How many of them the engine had
	 * to wait out depends on how fast this machine came back for the
	 * next read: at most one per SMI after the first, and the time
	 * waited counted with them.
	 */
	smi_status(smi, &st);
	KUNIT_EXPECT_LE(test, st.spacing_waits, 3);
	KUNIT_EXPECT_EQ(test, !!st.spacing_wait_us, !!st.spacing_waits);
}

static void dsmil_smi_exec_no_spacing(struct kunit *test)
{
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	unsigned int i;

	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.spacing_waits, 0);
}

static void dsmil_smi_exec_busy_retries_bounded(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);
	struct dsmil_smi_status st;

	dsmil_kunit_smi_queue_submit(test, &t->fake, -EBUSY, DSMIL_KUNIT_SMI_N);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1 + 3);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 0);
	KUNIT_EXPECT_EQ(test, t->fake.polls, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.retries, 3);
	KUNIT_EXPECT_EQ(test, st.busy_failures, 1);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 0);
}

static void dsmil_smi_exec_busy_then_accepted(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);

	dsmil_kunit_smi_queue_submit(test, &t->fake, -EBUSY, 2);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 3);
	KUNIT_EXPECT_EQ(test, smi->cnt.retries, 2);
	KUNIT_EXPECT_EQ(test, smi->cnt.successes, 1);
}

/* Errors are never retried, only busy-at-submit is. */
static void dsmil_smi_exec_no_retry_on_error(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_fake(test, &smi_defaults);

	dsmil_kunit_smi_queue_submit(test, &t->fake, -EIO, 1);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EIO);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1);
	t->fake.final = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EIO);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 2);
	KUNIT_EXPECT_EQ(test, smi->cnt.retries, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.submit_failures, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.error_status, 1);
}

/* ------------------------------------------------------------------------
 * Queueing, abandoned requests, one at a time.
 */

/*
 * The caller gives up at its deadline while its (synchronous) call is stuck
 * at the hardware (in doubt); the call ends much later and the engine,
 * which kept the request, finishes and frees it then.
 */
static void dsmil_smi_exec_abandoned_finishes_late(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;
	u64 ns;

	p.timeout_ms = 50;
	p.hang_ms = 20;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	t->fake.value = 7;

	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -EINPROGRESS);
	KUNIT_EXPECT_GE(test, ns, 50 * MS);
	KUNIT_EXPECT_LT(test, ns, 5 * 50 * MS);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 1);	/* still at the hardware */
	KUNIT_EXPECT_EQ(test, st.requests, 0);	/* not finished */
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);

	msleep(100);
	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_smi_flush(smi);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0);
	KUNIT_EXPECT_EQ(test, st.abandoned, 1);
	KUNIT_EXPECT_EQ(test, st.requests, 1);
	/* The call took > 20 ms: slow, but its answer stands. */
	KUNIT_EXPECT_EQ(test, st.hangs, 0);
	KUNIT_EXPECT_EQ(test, st.successes, 1);
	KUNIT_EXPECT_EQ(test, st.late_successes, 1);
	KUNIT_EXPECT_EQ(test, st.consecutive_faults, 1);

	/* And the engine is usable again. */
	t->fake.gated = false;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
}

/* A caller queued behind a stuck request still returns at its deadline. */
static void dsmil_smi_exec_queue_bounded(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct smi_caller *a;
	struct dsmil_smi_status st;
	u64 ns;

	p.timeout_ms = 60;
	p.hang_ms = 20;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	a = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);

	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ETIMEDOUT);
	KUNIT_EXPECT_GE(test, ns, 60 * MS);
	KUNIT_EXPECT_LT(test, ns, 5 * 60 * MS);
	wait_for_completion(&a->done);
	KUNIT_EXPECT_EQ(test, a->ret, -EINPROGRESS);	/* its call runs on */
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.queue_timeouts, 1);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1);	/* B never got there */

	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, smi->cnt.abandoned, 1);
}

/* ------------------------------------------------------------------------
 * System sleep (dsmil_smi_pm.c).
 */
struct smi_gate_opener {
	struct dsmil_kunit_smi *fake;
	unsigned int delay_ms;
	struct completion done;
};

static int smi_gate_opener_fn(void *data)
{
	struct smi_gate_opener *o = data;

	msleep(o->delay_ms);
	dsmil_kunit_smi_open_gate(o->fake);
	complete_all(&o->done);
	return 0;
}

/* Suspend waits for the request at the firmware to end, then holds. */
static void dsmil_smi_suspend_waits_for_firmware(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct smi_gate_opener o = { .fake = &t->fake, .delay_ms = 40 };
	struct dsmil_smi_pm_report rep;
	struct task_struct *task;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;
	struct smi_caller *a;

	p.timeout_ms = 500;
	p.hang_ms = 200;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	a = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);

	init_completion(&o.done);
	task = kthread_run(smi_gate_opener_fn, &o, "dsmil-smi-kunit-gate");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	dsmil_smi_suspend(smi, &rep);
	wait_for_completion(&o.done);
	/* The call ended inside the wait, well before the bound. */
	KUNIT_EXPECT_EQ(test, rep.busy_id, 0);
	KUNIT_EXPECT_GE(test, rep.wait_ms, 20);
	KUNIT_EXPECT_LT(test, rep.wait_ms, 2 * 500);
	KUNIT_EXPECT_EQ(test, rep.held, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0);
	KUNIT_EXPECT_EQ(test, st.successes, 1);
	wait_for_completion(&a->done);
	KUNIT_EXPECT_EQ(test, a->ret, 0);

	dsmil_smi_resume(smi);
	t->fake.gated = false;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);
}

/* A firmware call that does not return does not hold the sleep forever. */
static void dsmil_smi_suspend_bounded(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi_pm_report rep;
	struct dsmil_smi *smi;
	struct smi_caller *a;
	u64 id;

	p.timeout_ms = 50;
	p.hang_ms = 20;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	a = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);
	spin_lock(&smi->lock);
	id = smi->hw_id;
	spin_unlock(&smi->lock);
	KUNIT_ASSERT_NE(test, id, 0);

	dsmil_smi_suspend(smi, &rep);
	KUNIT_EXPECT_EQ(test, rep.busy_id, id);
	KUNIT_EXPECT_GE(test, rep.wait_ms, 2 * 50 - 10);
	KUNIT_EXPECT_LT(test, rep.wait_ms, 20 * 50);
	wait_for_completion(&a->done);
	KUNIT_EXPECT_EQ(test, a->ret, -EINPROGRESS);

	/* It still ends, and is recorded, when the call returns. */
	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, smi->cnt.late_successes, 1);
	dsmil_smi_resume(smi);
}

/*
 * While suspended nothing reaches the hardware: a request is held and ends
 * as a queue timeout at its deadline, or is served at resume if still in
 * time.
 */
static void dsmil_smi_suspend_holds_requests(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi_pm_report rep;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;
	struct smi_caller *a;
	u64 ns;

	p.timeout_ms = 60;
	p.hang_ms = 20;
	smi = smi_start_fake(test, &p);
	dsmil_smi_suspend(smi, &rep);
	KUNIT_EXPECT_EQ(test, rep.busy_id, 0);
	KUNIT_EXPECT_LT(test, rep.wait_ms, 60);

	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), -ETIMEDOUT);
	KUNIT_EXPECT_GE(test, ns, 60 * MS);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.queue_timeouts, 1);

	/* A long deadline: held meanwhile, served at resume. */
	smi->timeout_ns = 5000 * MS;
	a = smi_spawn(test, 1);
	smi_wait_in_flight(test, smi, 1);
	msleep(50);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&a->done));
	dsmil_smi_resume(smi);
	wait_for_completion(&a->done);
	KUNIT_EXPECT_EQ(test, a->ret, 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.successes, 1);
	KUNIT_EXPECT_EQ(test, st.requests, 2);
}

/* Several callers at once: never two requests at the hardware. */
static void dsmil_smi_exec_one_at_a_time(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct smi_caller *c[4];
	struct dsmil_smi *smi;
	unsigned int i, ok = 0;

	p.timeout_ms = 1000;
	p.hang_ms = 500;
	smi = smi_start_fake(test, &p);
	t->fake.busy_polls = 3;
	for (i = 0; i < ARRAY_SIZE(c); i++)
		c[i] = smi_spawn(test, 10);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		wait_for_completion(&c[i]->done);
		ok += c[i]->ok;
	}
	KUNIT_EXPECT_EQ(test, ok, 40);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 40);
	KUNIT_EXPECT_EQ(test, t->fake.overlaps, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.successes, 40);
}

/* Every kind of ending, then the counters add up. */
static void dsmil_smi_count_identity(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_token_req tr = { .group = 9 };
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;

	p.hang_ms = 10;
	p.timeout_ms = 30;
	smi = smi_start_fake(test, &p);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	t->fake.final = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ENXIO);
	t->fake.final = DSMIL_SMI_ST_GARBAGE;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EIO);
	t->fake.final = DSMIL_SMI_ST_DONE;
	t->fake.forever = true;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ETIMEDOUT);
	t->fake.forever = false;
	dsmil_kunit_smi_queue_submit(test, &t->fake, -EBUSY, 4);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, false), -EINVAL);
	smi_fault(test, smi, 1);	/* third fault in a row: FAULTED */
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ESHUTDOWN);

	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.requests, 8);
	KUNIT_EXPECT_EQ(test, st.successes, 1);
	KUNIT_EXPECT_EQ(test, st.errors, 3);
	KUNIT_EXPECT_EQ(test, st.timeouts, 1);
	KUNIT_EXPECT_EQ(test, st.hangs, 1);
	KUNIT_EXPECT_EQ(test, st.faulted_rejects, 1);
	KUNIT_EXPECT_EQ(test, st.refused, 1);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_FAULTED);
	smi_expect_identity(test, smi);
}

static void dsmil_smi_hist_bucket_edges(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(0), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(999), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(1000), 1);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(1999), 1);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(2000), 2);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(5 * MS), 13);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(262143ULL * 1000), 18);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(262144ULL * 1000), 19);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(1000 * MS), 19);
	KUNIT_EXPECT_EQ(test, dsmil_smi_hist_bucket(U64_MAX), 19);
}

/*
 * verify_device: token devices are read, others pass.  The read is made
 * for a device INITIALIZING (which the read rule, READY or ACTIVE, would
 * refuse at the hand-off), and only while it still is.
 */
static void dsmil_smi_verify_device_initializing(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_state *st;
	struct dsmil_smi *smi;
	unsigned int locked, in_doubt;

	p.offline = true;
	smi = smi_start_fake(test, &p);
	st = &t->dsm->state;
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 1), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 12 + 11), 0);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, DSMIL_NUM_DEVICES),
			-EINVAL);

	/* Device 4:3 INITIALIZING: verification reads its token. */
	dsmil_kunit_drive(test, st, 4 * 12 + 3, DSMIL_DEV_INITIALIZING);
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 4 * 12 + 3), 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	KUNIT_EXPECT_EQ(test, t->fake.last.token, 0x0480 + 4 * 12 + 3);
	KUNIT_EXPECT_EQ(test, t->fake.last.op, DSMIL_SMI_OP_READ);
	dsmil_kunit_drive(test, st, 0, DSMIL_DEV_INITIALIZING);
	t->fake.final = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 0), -EIO);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);

	/* Not INITIALIZING (OFFLINE, or stopped meanwhile): nothing sent. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 4 * 12 + 6),
			-ENODEV);
	KUNIT_ASSERT_EQ(test, dsmil_state_estop(st, 4, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 4 * 12 + 3),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 2);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 2);
}

/* ------------------------------------------------------------------------
 * The hand-off fence (issue 13): a request is checked against its device's
 * state where it is handed to the backend, on every path, and an emergency
 * stop waits for a write already at the hardware.  The fake holds a
 * request at a chosen point while the test stops the device; its own
 * counters say what reached the "hardware".
 */
static const struct smi_params smi_fence_params = {
	.timeout_ms = 1000, .hang_ms = 500, .interval_us = 0,
	.fault_limit = 3, .retries = 3,
};

/*
 * Direct path: a write that passed the state check (device ACTIVE) and is
 * in the engine when the device is stopped is refused at its hand-off.
 */
static void dsmil_smi_handoff_fence_direct(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_state *st;
	struct dsmil_smi *smi;
	struct smi_caller *w;
	unsigned int locked, in_doubt;

	smi = smi_start_fake(test, &smi_fence_params);
	st = &t->dsm->state;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_CHECK);
	w = smi_spawn_rw(test, 0, 0, true, 0x55);
	dsmil_kunit_smi_wait_held(test, &t->fake);

	KUNIT_ASSERT_EQ(test, dsmil_state_estop(st, 0, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, in_doubt, 0);	/* nothing at the hardware */
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&w->done);

	KUNIT_EXPECT_EQ(test, w->ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->fake.checks, 1);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&st->handoff_refused), 1);
	KUNIT_EXPECT_NE(test, w->tr.request_id, 0);
}

/*
 * Worker path: A's read holds the hardware; B's write queues behind it;
 * the device is stopped; when A is done the worker hands B to the backend:
 * refused there.  (The measured bug of issue 13: B returned 0 and the
 * backend saw a write after the stop.)
 */
static void dsmil_smi_handoff_fence_queued(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_state *st;
	struct dsmil_smi *smi;
	struct smi_caller *a, *b;
	unsigned int locked, in_doubt;

	smi = smi_start_fake(test, &smi_fence_params);
	st = &t->dsm->state;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	a = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	b = smi_spawn_rw(test, 0, 0, true, 0x55);
	smi_wait_in_flight(test, smi, 2);	/* B queued behind A */

	KUNIT_ASSERT_EQ(test, dsmil_state_estop(st, 0, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, in_doubt, 0);	/* A is a read, B is queued */
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&a->done);
	wait_for_completion(&b->done);

	KUNIT_EXPECT_EQ(test, a->ret, 0);	/* a read at the hardware ends */
	KUNIT_EXPECT_EQ(test, b->ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	KUNIT_EXPECT_EQ(test, t->fake.last.op, DSMIL_SMI_OP_READ);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.successes, 1);
}

/*
 * A queued write at a polled backend whose owner gives no verdict by the
 * caller's deadline plus the verdict wait (here the worker is held in
 * ->abort()): the outcome is not known, so the caller is told it is in
 * doubt, not -ETIMEDOUT, and the write keeps its hand-off open.  If the
 * abort then succeeds, the outcome is a late failure; if it fails, the
 * write may still land: a stop reports it in doubt, and only a reset ends
 * it (outcome unknown).
 */
struct smi_verdict_case {
	const char *desc;
	int abort_ret;
};

static const struct smi_verdict_case smi_verdict_cases[] = {
	{ "abort-ok", 0 },
	{ "abort-fails", -EIO },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_exec_polled_no_verdict, smi_verdict_cases, desc);

static void dsmil_smi_exec_polled_no_verdict(struct kunit *test)
{
	const struct smi_verdict_case *c = test->param_value;
	struct smi_t *t = test->priv;
	struct dsmil_smi_result res = {};
	struct dsmil_write_record rec[2] = {};
	struct dsmil_smi_status st;
	unsigned int locked, in_doubt;
	struct smi_caller *a, *b;
	struct dsmil_smi *smi;
	u64 next, dropped;
	u8 flags;

	smi = smi_start_fake(test, &smi_fence_params);
	/* A read holds the hardware, so that the write queues behind it. */
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	a = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	spin_lock(&t->fake.lock);
	t->fake.forever_writes = true;	/* progress, never a hang */
	t->fake.abort_ret = c->abort_ret;
	spin_unlock(&t->fake.lock);
	b = smi_spawn_rw(test, 0, 0, true, 0x55);
	smi_wait_in_flight(test, smi, 2);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&a->done);
	KUNIT_EXPECT_EQ(test, a->ret, 0);

	/* The worker reaches the deadline and is held in its abort. */
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_ABORT);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	wait_for_completion(&b->done);
	KUNIT_EXPECT_EQ(test, b->ret, -EINPROGRESS);
	KUNIT_EXPECT_TRUE(test, b->tr.flags & DSMIL_TOKEN_F_IN_DOUBT);
	KUNIT_ASSERT_NE(test, b->tr.request_id, 0);
	res.request_id = b->tr.request_id;
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), -EINPROGRESS);
	KUNIT_EXPECT_EQ(test, t->dsm->state.writing[0], 1U);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_doubt, 1);

	dsmil_kunit_smi_release(&t->fake);
	dsmil_smi_flush(smi);
	flags = DSMIL_SMI_RESULT_F_WRITE | DSMIL_SMI_RESULT_F_IN_DOUBT |
		DSMIL_SMI_RESULT_F_ABANDONED;
	if (c->abort_ret) {
		/* It may still land: the stop cannot say it is over. */
		KUNIT_EXPECT_TRUE(test, smi->faulted);
		KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res),
				-EINPROGRESS);
		KUNIT_EXPECT_EQ(test, t->dsm->state.writing[0], 1U);
		KUNIT_ASSERT_EQ(test, dsmil_state_estop(&t->dsm->state, 0,
							&locked, &in_doubt), 0);
		KUNIT_EXPECT_EQ(test, in_doubt, 1);
		smi_status(smi, &st);
		KUNIT_EXPECT_EQ(test, st.late_failures, 0);
		KUNIT_ASSERT_EQ(test, dsmil_smi_recover(smi), 0);
		flags |= DSMIL_SMI_RESULT_F_UNKNOWN;
	}
	KUNIT_ASSERT_EQ(test, dsmil_smi_result(smi, &res), 0);
	KUNIT_EXPECT_EQ(test, res.error, ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, res.flags, flags);
	KUNIT_EXPECT_EQ(test, t->dsm->state.writing[0], 0U);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_doubt, 1);
	KUNIT_EXPECT_EQ(test, st.late_failures, 1);
	KUNIT_EXPECT_EQ(test, st.late_successes, 0);
	KUNIT_EXPECT_EQ(test, st.timeouts, 1);
	KUNIT_EXPECT_EQ(test, st.abandoned, 1);

	/* The write audit learns how it ended, once, under the same id. */
	KUNIT_ASSERT_EQ(test, dsmil_waudit_copy(&t->dsm->waudit, 0, rec, 2,
						&next, &dropped), 1U);
	KUNIT_EXPECT_EQ(test, rec[0].stage, DSMIL_WREC_AT_LATE);
	KUNIT_EXPECT_EQ(test, rec[0].request_id, b->tr.request_id);
	KUNIT_EXPECT_EQ(test, rec[0].error, ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, rec[0].flags,
			c->abort_ret ? DSMIL_WREC_F_UNKNOWN : 0);
}

/*
 * Busy retry: the write is at the hardware (its hand-off passed) when the
 * stop comes; the stop waits for it; the interface answers busy, and the
 * retry's hand-off sees the device LOCKED.
 */
static void dsmil_smi_handoff_fence_busy_retry(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *w;
	struct smi_estop *e;
	struct dsmil_smi *smi;
	ktime_t released;

	smi = smi_start_fake(test, &smi_fence_params);
	dsmil_kunit_smi_queue_submit(test, &t->fake, -EBUSY, 1);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_SUBMIT);
	w = smi_spawn_rw(test, 0, 0, true, 0x55);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	KUNIT_EXPECT_EQ(test, t->dsm->state.writing[0], 1U);

	e = smi_spawn_estop(test, 0);
	smi_wait_state(test, 0, DSMIL_DEV_LOCKED);
	msleep(50);	/* a stop that did not wait would be back by now */
	released = ktime_get();
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&w->done);
	wait_for_completion(&e->done);

	KUNIT_EXPECT_EQ(test, w->ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1);	/* the busy one */
	KUNIT_EXPECT_EQ(test, t->fake.submits, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.retries, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 1);
	/* The stop returned only after the write had left the hardware. */
	KUNIT_EXPECT_EQ(test, e->ret, 0);
	KUNIT_EXPECT_EQ(test, e->in_doubt, 0);
	KUNIT_EXPECT_TRUE(test, ktime_after(e->end, released));
	KUNIT_EXPECT_EQ(test, t->dsm->state.writing[0], 0U);
}

/*
 * Spacing: a write that waits for smi_min_interval_us after another SMI is
 * checked after the wait, when it would reach the hardware.
 */
static void dsmil_smi_handoff_fence_spacing(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_fence_params;
	struct dsmil_state *st;
	struct dsmil_smi *smi;
	struct smi_caller *w;
	unsigned int locked, in_doubt;

	p.interval_us = DSMIL_SMI_INTERVAL_MAX_US;	/* 100 ms */
	smi = smi_start_fake(test, &p);
	st = &t->dsm->state;
	/* W writes DSMIL5D0: a stop of group 5 leaves group 0 up. */
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_CHECK);
	w = smi_spawn_rw(test, 5, 0, true, 0x55);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	KUNIT_ASSERT_EQ(test, dsmil_state_estop(st, 5, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, locked, DSMIL_DEVS_PER_GROUP);
	/* An SMI just now: W must wait the spacing before its hand-off. */
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&w->done);

	KUNIT_EXPECT_EQ(test, w->ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);	/* the read */
	KUNIT_EXPECT_EQ(test, t->fake.last.op, DSMIL_SMI_OP_READ);
	KUNIT_EXPECT_EQ(test, smi->cnt.spacing_waits, 1);	/* W's */
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 1);
}

/*
 * A write already at the hardware when the stop comes is not stopped (an
 * SMI cannot be), but the stop returns only once it is done: after that,
 * nothing more reaches the devices it locked.
 */
static void dsmil_smi_handoff_estop_waits_for_write(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *w;
	struct smi_estop *e;
	ktime_t released;

	smi_start_fake(test, &smi_fence_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_SUBMIT);
	w = smi_spawn_rw(test, 0, 0, true, 0x55);
	dsmil_kunit_smi_wait_held(test, &t->fake);

	e = smi_spawn_estop(test, 0);
	smi_wait_state(test, 0, DSMIL_DEV_LOCKED);
	msleep(50);	/* a stop that did not wait would be back by now */
	KUNIT_EXPECT_FALSE(test, completion_done(&e->done));
	released = ktime_get();
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&w->done);
	wait_for_completion(&e->done);

	KUNIT_EXPECT_EQ(test, w->ret, 0);	/* handed off before the stop */
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	KUNIT_EXPECT_EQ(test, e->in_doubt, 0);
	KUNIT_EXPECT_TRUE(test, ktime_after(e->end, released));
	KUNIT_EXPECT_FALSE(test, ktime_before(e->end, t->fake.end_t[0]));
}

/* ------------------------------------------------------------------------
 * Synchronous calls past their caller's deadline: in doubt, then the
 * outcome recorded by request id (issue 13).
 */
struct smi_late_case {
	const char *desc;
	u8 final;	/* what the call answers when it is let go */
	u32 error;	/* the outcome recorded: positive errno */
};

static const struct smi_late_case smi_late_cases[] = {
	{ "late-success", DSMIL_SMI_ST_DONE, 0 },
	{ "late-error", DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED, EIO },
	{ "late-garbage", DSMIL_SMI_ST_GARBAGE, EIO },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_result_in_doubt_then_known, smi_late_cases, desc);

static void dsmil_smi_result_in_doubt_then_known(struct kunit *test)
{
	const struct smi_late_case *c = test->param_value;
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_token_req tr = {
		.group = 0, .position = 3, .value = 0x1234,
	};
	struct dsmil_smi_result res = {};
	struct dsmil_write_record rec = {};
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;
	u64 next, dropped;
	unsigned int n;

	p.timeout_ms = 100;
	p.hang_ms = 40;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	t->fake.final = c->final;

	/* The deadline passes while the write's call runs: unknown. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, true), -EINPROGRESS);
	KUNIT_EXPECT_TRUE(test, tr.flags & DSMIL_TOKEN_F_IN_DOUBT);
	KUNIT_ASSERT_NE(test, tr.request_id, 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_doubt, 1);
	KUNIT_EXPECT_EQ(test, st.in_flight, 1);
	KUNIT_EXPECT_EQ(test, st.timeouts + st.hangs + st.aborts, 0);
	res.request_id = tr.request_id;
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), -EINPROGRESS);
	KUNIT_EXPECT_EQ(test, dsmil_dev_state_of(t, 3), DSMIL_DEV_ACTIVE);

	/* The call returns: its outcome is recorded under the id. */
	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_smi_flush(smi);
	KUNIT_ASSERT_EQ(test, dsmil_smi_result(smi, &res), 0);
	KUNIT_EXPECT_EQ(test, res.error, c->error);
	KUNIT_EXPECT_EQ(test, res.token, 0x0483);
	KUNIT_EXPECT_EQ(test, res.flags, DSMIL_SMI_RESULT_F_WRITE |
			DSMIL_SMI_RESULT_F_IN_DOUBT |
			DSMIL_SMI_RESULT_F_ABANDONED);
	KUNIT_EXPECT_GE(test, res.duration_ns, 100 * MS);
	KUNIT_EXPECT_EQ(test, t->fake.last.value, 0x1234);

	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0);
	KUNIT_EXPECT_EQ(test, st.late_successes, c->error ? 0 : 1);
	KUNIT_EXPECT_EQ(test, st.late_failures, c->error ? 1 : 0);
	KUNIT_EXPECT_EQ(test, st.successes, c->error ? 0 : 1);
	/* Late is not aborted, nor a timeout, nor a hang. */
	KUNIT_EXPECT_EQ(test, st.timeouts + st.hangs + st.aborts, 0);
	KUNIT_EXPECT_EQ(test, st.abandoned, 1);
	/* The device did not go to ERROR for it. */
	KUNIT_EXPECT_EQ(test, dsmil_dev_state_of(t, 3), DSMIL_DEV_ACTIVE);
	KUNIT_EXPECT_EQ(test, smi->faulted, false);

	/* The write audit learns the outcome too, under the same id. */
	n = dsmil_waudit_copy(&dsmil_from_smi(smi)->waudit, 0, &rec, 1,
			      &next, &dropped);
	KUNIT_ASSERT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, rec.stage, DSMIL_WREC_AT_LATE);
	KUNIT_EXPECT_EQ(test, rec.request_id, tr.request_id);
	KUNIT_EXPECT_EQ(test, rec.token, 0x0483);
	KUNIT_EXPECT_EQ(test, rec.device, 3);
	KUNIT_EXPECT_EQ(test, rec.error, c->error);
}

#ifdef DSMIL_HAVE_STATIC_STUB
/* The first wait ends at once, as a jiffies timer ahead of ktime can. */
static bool smi_wait_ended_early;

static long smi_wait_ends_early(struct dsmil_smi_req *req, unsigned long tmo)
{
	if (!smi_wait_ended_early && tmo > 1) {
		smi_wait_ended_early = true;
		return 0;
	}
	return wait_for_completion_killable_timeout(&req->done, tmo);
}

/*
 * A wait that ends before the caller's ktime deadline is not the deadline:
 * the caller waits again, and hears "in doubt" only once it has passed
 * (kunit.py's periodic-tick kernel ran jiffies 0.2% fast and answered a
 * 100 ms deadline at 99.8 ms).
 */
static void dsmil_smi_wait_early_timer(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_token_req tr = {
		.group = 0, .position = 3, .value = 0x1234,
	};
	struct dsmil_smi *smi;
	ktime_t start;
	s64 waited;

	p.timeout_ms = 100;
	p.hang_ms = 40;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	t->fake.final = DSMIL_SMI_ST_DONE;
	smi_wait_ended_early = false;
	kunit_activate_static_stub(test, dsmil_smi_wait_done,
				   smi_wait_ends_early);
	start = ktime_get();
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, true), -EINPROGRESS);
	waited = ktime_ms_delta(ktime_get(), start);
	kunit_deactivate_static_stub(test, dsmil_smi_wait_done);
	KUNIT_EXPECT_TRUE(test, smi_wait_ended_early);
	KUNIT_EXPECT_GE(test, waited, 100);
	KUNIT_EXPECT_TRUE(test, tr.flags & DSMIL_TOKEN_F_IN_DOUBT);

	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_smi_flush(smi);
}
#endif

/* The outcome ring: by id, ids never issued, ids aged out. */
static void dsmil_smi_result_ring(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_token_req tr = { .group = 0, .position = 0 };
	struct dsmil_smi_result res = {};
	struct dsmil_smi *smi;
	unsigned int i;
	u64 first;

	smi = smi_start_fake(test, &smi_defaults);
	t->fake.value = 0xbeef;
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), -EINVAL);
	KUNIT_ASSERT_EQ(test, dsmil_smi_token_rw(smi, &tr, false), 0);
	first = tr.request_id;
	KUNIT_ASSERT_NE(test, first, 0);
	res.request_id = first;
	KUNIT_ASSERT_EQ(test, dsmil_smi_result(smi, &res), 0);
	KUNIT_EXPECT_EQ(test, res.error, 0);
	KUNIT_EXPECT_EQ(test, res.value, 0xbeef);
	KUNIT_EXPECT_EQ(test, res.token, DSMIL_TOKEN_BASE);
	KUNIT_EXPECT_EQ(test, res.flags, 0);
	res.request_id = first + 1000;
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), -ENOENT);

	for (i = 0; i < DSMIL_SMI_RESULTS; i++)
		KUNIT_ASSERT_EQ(test, smi_read(smi, NULL, NULL), 0);
	res.request_id = first;
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), -ENOENT);
	res.request_id = first + 1;	/* the oldest one kept */
	KUNIT_EXPECT_EQ(test, dsmil_smi_result(smi, &res), 0);
}

/* ------------------------------------------------------------------------
 * Configuration.
 */
struct smi_cfg_case {
	const char *desc;
	const char *backend;
	struct smi_params p;
	int err;
};

static const struct smi_cfg_case smi_cfg_cases[] = {
	{ "defaults", "sim", { 50, 20, 100, 3, 3 }, 0 },
	{ "timeout-max", "sim", { 1000, 999, 0, 1, 0 }, 0 },
	{ "timeout-0", "sim", { 0, 20, 100, 3, 3 }, -EINVAL },
	{ "timeout-over-max", "sim", { 1001, 20, 100, 3, 3 }, -EINVAL },
	{ "hang-0", "sim", { 50, 0, 100, 3, 3 }, -EINVAL },
	{ "hang-equals-timeout", "sim", { 50, 50, 100, 3, 3 }, -EINVAL },
	{ "interval-over-timeout", "sim", { 50, 20, 50000, 3, 3 }, -EINVAL },
	{ "interval-over-max", "sim", { 1000, 20, 100001, 3, 3 }, -EINVAL },
	{ "fault-limit-0", "sim", { 50, 20, 100, 0, 3 }, -EINVAL },
	{ "retries-over-max", "sim", { 50, 20, 100, 3, 17 }, -EINVAL },
	{ "unknown-backend", "smm", { 50, 20, 100, 3, 3 }, -EINVAL },
	{ "empty-backend", "", { 50, 20, 100, 3, 3 }, -EINVAL },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_resolve_config_values, smi_cfg_cases, desc);

static void dsmil_smi_resolve_config_values(struct kunit *test)
{
	const struct smi_cfg_case *c = test->param_value;
	struct dsmil_config cfg = dsmil_kunit_cfg;
	struct dsmil *dsm;

	strscpy(cfg.smi.backend, c->backend, sizeof(cfg.smi.backend));
	cfg.smi.timeout_ms = c->p.timeout_ms;
	cfg.smi.hang_ms = c->p.hang_ms;
	cfg.smi.min_interval_us = c->p.interval_us;
	cfg.smi.fault_limit = c->p.fault_limit;
	cfg.smi.busy_retries = c->p.retries;
	dsm = dsmil_create(&cfg, NULL);
	if (c->err) {
		KUNIT_EXPECT_TRUE(test, IS_ERR(dsm));
		if (IS_ERR(dsm))
			KUNIT_EXPECT_EQ(test, PTR_ERR(dsm), c->err);
		else
			dsmil_destroy(dsm);
		return;
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(dsm));
	KUNIT_EXPECT_STREQ(test, dsm->smi.backend_name, "sim");
	dsmil_destroy(dsm);
}

/* dell-smbios is refused (cleanly) anywhere DMI does not say Dell. */
static void dsmil_smi_dell_init_off_dell(struct kunit *test)
{
	struct dsmil_config cfg = dsmil_kunit_cfg;
	struct dsmil *dsm;

	if (dmi_match(DMI_SYS_VENDOR, "Dell Inc."))
		kunit_skip(test, "running on a Dell");
	strscpy(cfg.smi.backend, "dell-smbios", sizeof(cfg.smi.backend));
	dsm = dsmil_create(&cfg, NULL);
	KUNIT_EXPECT_TRUE(test, IS_ERR(dsm));
	if (IS_ERR(dsm))
		KUNIT_EXPECT_EQ(test, PTR_ERR(dsm), -ENODEV);
	else
		dsmil_destroy(dsm);
}

/* ------------------------------------------------------------------------
 * The dell-smbios backend with dell_smbios_call(), find_token() and
 * call_filter() stubbed.  The stubs run in the engine's worker, so their
 * state is file-wide; the cases of this suite run one at a time.  The stub
 * firmware answers a read with out1 and the range [0, max], and refuses
 * the tokens at the locations the kernel's own filter refuses (the stub
 * filter does the same job as dell_smbios_call_filter(): the token at
 * input[0]'s location in 0x049E-0x049F or 0x04A0-0x04A3).
 */
static struct {
	struct calling_interface_buffer seen, seen_first;
	struct calling_interface_token tok;
	unsigned int calls, finds, filters;
	int ret;
	s32 res;
	u32 out1, max;
	unsigned int sleep_ms;
	bool no_token;
	u16 absent;		/* a token find() does not know */
} dell_stub;

static int dell_stub_call(struct calling_interface_buffer *buf)
{
	if (!dell_stub.calls)
		memcpy(&dell_stub.seen_first, buf, sizeof(*buf));
	dell_stub.calls++;
	memcpy(&dell_stub.seen, buf, sizeof(*buf));
	if (dell_stub.sleep_ms)
		msleep(dell_stub.sleep_ms);
	buf->output[0] = dell_stub.res;
	buf->output[1] = dell_stub.out1;
	buf->output[2] = 0;
	buf->output[3] = dell_stub.max;
	return dell_stub.ret;
}

static struct calling_interface_token *dell_stub_find(int id)
{
	dell_stub.finds++;
	if (dell_stub.no_token || id == dell_stub.absent)
		return NULL;
	dell_stub.tok.token_id = id;
	dell_stub.tok.location = 0x1000 | id;
	dell_stub.tok.value = 0x5;
	return &dell_stub.tok;
}

static int dell_stub_filter(struct device *d,
			    struct calling_interface_buffer *buf)
{
	u16 t = buf->input[0] & 0xfff;	/* location 0x1000 | token */

	dell_stub.filters++;
	if (buf->cmd_class > 1)
		return -EINVAL;
	return t >= 0x049e && t <= 0x04a3 ? -EINVAL : 0;
}

static struct dsmil_smi *smi_start_dell(struct kunit *test,
					const struct smi_params *p)
{
	struct smi_t *t = test->priv;
	void *d;

	memset(&dell_stub, 0, sizeof(dell_stub));
	dell_stub.max = 0xffff;
	d = dsmil_smi_dell_create(dell_stub_call, dell_stub_find,
				  dell_stub_filter);
	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							dsmil_smi_dell_destroy,
							d), 0);
	t->backend = d;
	return smi_start(test, &dsmil_smi_dell_ops, d, p);
}

static void dsmil_smi_dell_fill_buffer(struct kunit *test)
{
	struct calling_interface_buffer buf;

	memset(&buf, 0xa5, sizeof(buf));
	dsmil_smi_dell_fill(&buf, CLASS_TOKEN_READ, 0x1483, 0xabcd);
	KUNIT_EXPECT_EQ(test, buf.cmd_class, 0);	/* CLASS_TOKEN_READ */
	KUNIT_EXPECT_EQ(test, buf.cmd_select, 0);	/* SELECT_TOKEN_STD */
	KUNIT_EXPECT_EQ(test, buf.input[0], 0x1483);
	KUNIT_EXPECT_EQ(test, buf.input[1], 0);
	KUNIT_EXPECT_EQ(test, buf.input[3], 0);
	KUNIT_EXPECT_EQ(test, buf.output[0], 0);

	dsmil_smi_dell_fill(&buf, CLASS_TOKEN_WRITE, 0x1483, 0xabcd);
	KUNIT_EXPECT_EQ(test, buf.cmd_class, 1);	/* CLASS_TOKEN_WRITE */
	KUNIT_EXPECT_EQ(test, buf.cmd_select, 0);
	KUNIT_EXPECT_EQ(test, buf.input[0], 0x1483);
	KUNIT_EXPECT_EQ(test, buf.input[1], 0xabcd);
	KUNIT_EXPECT_EQ(test, buf.input[2], 0);
}

struct smi_dell_map_case {
	const char *desc;
	int ret;
	s32 res;
	int err;
};

/* The kernel's dell_smbios_error(): 0, -1 -EIO, -2 -ENXIO, else -EINVAL. */
static const struct smi_dell_map_case smi_dell_maps[] = {
	{ "success", 0, 0, 0 },
	{ "fail", 0, -1, -EIO },
	{ "not-supported", 0, -2, -ENXIO },
	{ "unknown-minus-3", 0, -3, -EINVAL },
	{ "unknown-result", 0, -7, -EINVAL },
	{ "unknown-positive", 0, 5, -EINVAL },
	{ "no-transport", -ENODEV, 0, -EIO },
	{ "malformed-reply", -EIO, -1, -EIO },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_dell_map_reply, smi_dell_maps, desc);

static void dsmil_smi_dell_map_reply(struct kunit *test)
{
	const struct smi_dell_map_case *c = test->param_value;
	struct calling_interface_buffer buf = {};
	u8 st;

	buf.output[0] = c->res;
	st = dsmil_smi_dell_map(&buf, c->ret);
	KUNIT_EXPECT_EQ(test, dsmil_smi_status_errno(st), c->err);
	if (!c->ret)
		KUNIT_EXPECT_EQ(test, dsmil_smi_dell_error(c->res), c->err);
	/* A broken transport is a fault (garbage), not a firmware answer. */
	KUNIT_EXPECT_EQ(test, st == DSMIL_SMI_ST_GARBAGE, c->ret == -EIO);
}

/* Through the engine: the stub sees the request, the caller its result. */
static void dsmil_smi_dell_submit_engine(struct kunit *test)
{
	struct dsmil_smi *smi = smi_start_dell(test, &smi_defaults);
	struct dsmil_smi_cmd wr = {
		.token = 0x0486, .op = DSMIL_SMI_OP_WRITE, .value = 3,
	};
	u32 value = 0;
	u64 ns;

	dell_stub.out1 = 0x1234;
	KUNIT_EXPECT_EQ(test, smi_read(smi, &value, NULL), 0);
	KUNIT_EXPECT_EQ(test, value, 0x1234);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 1);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.cmd_class, 0);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.input[0], 0x1480);

	/* A write reads first, then writes; the old value comes back. */
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &wr, 6, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 3);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.cmd_class, 1);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.input[0], 0x1486);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.input[1], 3);
	KUNIT_EXPECT_EQ(test, value, 0x1234);

	dell_stub.res = -3;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EINVAL);
	dell_stub.res = -2;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ENXIO);

	/* A token the firmware no longer lists: no call at all. */
	dell_stub.no_token = true;
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 5);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.aborts, 0);
}

/*
 * The kernel's filter is asked before every call: 0x049E and 0x04A1 never
 * reach the firmware, read or write, and are refused with -EACCES.
 */
static void dsmil_smi_dell_check_filter(struct kunit *test)
{
	struct dsmil_smi *smi = smi_start_dell(test, &smi_defaults);
	struct dsmil_smi_cmd c = { .op = DSMIL_SMI_OP_READ };
	static const u16 refused[] = { 0x049e, 0x04a1 };
	u32 value = 0;
	unsigned int i;
	u64 ns;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		c.token = refused[i];
		c.op = DSMIL_SMI_OP_READ;
		KUNIT_EXPECT_EQ(test, smi_exec(smi, &c, 30, &value, &ns),
				-EACCES);
		c.op = DSMIL_SMI_OP_WRITE;
		c.value = 1;
		KUNIT_EXPECT_EQ(test, smi_exec(smi, &c, 30, &value, &ns),
				-EACCES);
		KUNIT_EXPECT_EQ(test, dsmil_smi_token_flags(smi, c.token),
				DSMIL_DEVF_TOKEN_FILTERED);
	}
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 4);
	KUNIT_EXPECT_GT(test, dell_stub.filters, 0);

	/* Its neighbour 0x049B passes, and the filter ran for its call too. */
	c.token = 0x049b;
	c.op = DSMIL_SMI_OP_READ;
	i = dell_stub.filters;
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &c, 27, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 1);
	KUNIT_EXPECT_GE(test, dell_stub.filters, i + 2);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_flags(smi, c.token), 0);
}

/* Discovery: an absent token is shown absent and refused without a call. */
static void dsmil_smi_dell_scan_absent(struct kunit *test)
{
	struct dsmil_smi *smi;
	struct dsmil_smi_cmd c = { .token = 0x0492, .op = DSMIL_SMI_OP_READ };
	u32 value;
	u64 ns;

	smi = smi_start_dell(test, &smi_defaults);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_flags(smi, 0x0492), 0);
	dell_stub.absent = 0x0492;
	/* Until a rescan, find() is still asked before each request. */
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &c, 18, &value, &ns),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, dsmil_smi_rescan(smi), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_flags(smi, 0x0492),
			DSMIL_DEVF_TOKEN_ABSENT);
	c.op = DSMIL_SMI_OP_WRITE;
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &c, 18, &value, &ns),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 2);
	/* Verification of its device sends nothing and does not fail. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_verify_device(smi, 18), 0);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 0);
}

/*
 * Dell token semantics: activate writes the token's own value; a value
 * write outside a fresh read's [min, max] is refused before any write.
 */
static void dsmil_smi_dell_submit_write_semantics(struct kunit *test)
{
	struct dsmil_smi *smi = smi_start_dell(test, &smi_defaults);
	struct dsmil_smi_cmd act = {
		.token = 0x0483, .op = DSMIL_SMI_OP_WRITE,
		.flags = DSMIL_SMI_CMD_ACTIVATE, .value = 0x77,
	};
	struct dsmil_smi_cmd wr = {
		.token = 0x0483, .op = DSMIL_SMI_OP_WRITE, .value = 0x10,
	};
	u32 value = 0;
	u64 ns;

	dell_stub.max = 0xf;
	dell_stub.out1 = 2;
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &act, 3, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 2);
	KUNIT_EXPECT_EQ(test, dell_stub.seen_first.cmd_class, 0);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.cmd_class, 1);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.input[1], 0x5);	/* its value */
	KUNIT_EXPECT_EQ(test, value, 2);			/* old value */

	/* 0x10 > max 0xf: read, then refused; no write went out. */
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &wr, 3, &value, &ns),
			-ERANGE);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 3);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.cmd_class, 0);
	wr.value = 0xf;
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &wr, 3, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 5);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.input[1], 0xf);

	/* The read failing stops the write. */
	dell_stub.res = -1;
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &wr, 3, &value, &ns), -EIO);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 6);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.cmd_class, 0);
	KUNIT_EXPECT_FALSE(test, smi->faulted);

	/*
	 * Activation is not range-checked (as dell-laptop and smbios-token-ctl
	 * do): the token's own value 0x5 outside a reported [0, 1] is written.
	 */
	dell_stub.res = 0;
	dell_stub.max = 1;
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &act, 3, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 8);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.cmd_class, 1);
	KUNIT_EXPECT_EQ(test, dell_stub.seen.input[1], 0x5);
}

/* A malformed reply (the transport's -EIO) is a fault: FAULTED at the limit. */
static void dsmil_smi_dell_submit_malformed(struct kunit *test)
{
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	unsigned int i;

	p.fault_limit = 3;
	smi = smi_start_dell(test, &p);
	dell_stub.ret = -EIO;
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EIO);
	KUNIT_EXPECT_EQ(test, smi->cnt.garbage, 3);
	KUNIT_EXPECT_TRUE(test, smi->faulted);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 3);
}

/*
 * The backend's own timing: SMM-like calls of 11-15 ms (the figure
 * dell-smm-hwmon documents) are never hangs with the dell-smbios defaults,
 * however many there are.
 */
static void dsmil_smi_dell_submit_smm_speed_healthy(struct kunit *test)
{
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	unsigned int i;

	p.timeout_ms = dsmil_smi_dell_ops.timeout_ms;
	p.hang_ms = dsmil_smi_dell_ops.hang_ms;
	KUNIT_EXPECT_GE(test, p.hang_ms, 10 * 15);
	smi = smi_start_dell(test, &p);
	for (i = 0; i < 6; i++) {
		dell_stub.sleep_ms = 11 + i % 5;
		KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	}
	KUNIT_EXPECT_EQ(test, smi->cnt.hangs, 0);
	KUNIT_EXPECT_FALSE(test, smi->faulted);
}

/*
 * Calls slower than the hang threshold keep their answer (the firmware did
 * what it says: never a hang, never a device ERROR), but count towards
 * FAULTED: repeated, the backend is taken out of service.
 */
static void dsmil_smi_dell_submit_slow_calls(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct dsmil_smi_status st;
	u32 value;
	u64 ns;
	int ret;

	p.timeout_ms = 400;
	p.hang_ms = 20;
	p.fault_limit = 2;
	smi = smi_start_dell(test, &p);
	dell_stub.sleep_ms = 40;
	dell_stub.out1 = 0x42;
	KUNIT_EXPECT_EQ(test, smi_read(smi, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, value, 0x42);
	KUNIT_EXPECT_GE(test, ns, 40 * MS);
	KUNIT_EXPECT_LT(test, ns, 400 * MS);
	KUNIT_EXPECT_EQ(test, smi->cnt.hangs, 0);
	KUNIT_EXPECT_EQ(test, smi->consecutive, 1);
	KUNIT_EXPECT_FALSE(test, smi->faulted);
	/* On a loaded host even this one may pass its deadline: in doubt. */
	ret = smi_read(smi, NULL, NULL);
	KUNIT_EXPECT_TRUE_MSG(test, ret == 0 || ret == -EINPROGRESS,
			      "ret %d", ret);
	dsmil_smi_flush(smi);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.hangs, 0);
	KUNIT_EXPECT_EQ(test, st.successes, 2);
	KUNIT_EXPECT_EQ(test, st.state, DSMIL_SMI_FAULTED);
	KUNIT_EXPECT_EQ(test, dsmil_dev_state_of(t, 0), DSMIL_DEV_ACTIVE);
	KUNIT_EXPECT_EQ(test, st.aborts, 0);	/* nothing to abort */
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, dell_stub.calls, 2);

	dell_stub.sleep_ms = 0;
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
}

/* ------------------------------------------------------------------------
 * The simulator, through the engine.
 */
static struct dsmil_smi *smi_start_sim(struct kunit *test,
				       const struct smi_params *p)
{
	struct smi_t *t = test->priv;
	void *sim = dsmil_smi_sim_create();

	KUNIT_ASSERT_NOT_NULL(test, sim);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							dsmil_smi_sim_destroy,
							sim), 0);
	t->backend = sim;
	return smi_start(test, &dsmil_smi_sim_ops, sim, p);
}

static void dsmil_smi_sim_submit_model(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_smi *smi = smi_start_sim(test, &smi_defaults);
	struct dsmil_smi_cmd wr = {
		.token = 0x0486, .op = DSMIL_SMI_OP_WRITE, .value = 0x77,
	};
	struct dsmil_smi_cmd rd = { .token = 0x0486, .op = DSMIL_SMI_OP_READ };
	struct dsmil_token_req tr = { .group = 0, .position = 6 };
	unsigned int locked, in_doubt;
	u32 value = 0;
	u64 ns;

	KUNIT_EXPECT_EQ(test, smi_exec(smi, &rd, 6, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, value, 0xd5000486);
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &wr, 6, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &rd, 6, &value, &ns), 0);
	KUNIT_EXPECT_EQ(test, value, 0x77);
	KUNIT_EXPECT_EQ(test, dsmil_smi_sim_count(t->backend, 0x0486, false), 2);
	KUNIT_EXPECT_EQ(test, dsmil_smi_sim_count(t->backend, 0x0486, true), 1);

	/*
	 * Stopped: refused by the state check, and by the engine's own
	 * hand-off check below it; the model never sees either.
	 */
	KUNIT_ASSERT_EQ(test, dsmil_state_estop(&t->dsm->state, 0, &locked,
						&in_doubt), 0);
	tr.value = 0x99;
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, true), -ENODEV);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_rw(smi, &tr, false), -ENODEV);
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &wr, 6, &value, &ns), -ENODEV);
	KUNIT_EXPECT_EQ(test, smi_exec(smi, &rd, 6, &value, &ns), -ENODEV);
	KUNIT_EXPECT_EQ(test, dsmil_smi_sim_count(t->backend, 0x0486, false), 2);
	KUNIT_EXPECT_EQ(test, dsmil_smi_sim_count(t->backend, 0x0486, true), 1);
}

struct smi_sim_case {
	const char *desc;
	const char *knob;
	u32 val;
	int err;
	u64 min_ms, max_ms;
	unsigned int hangs, timeouts, aborts;
};

static const struct smi_sim_case smi_sim_cases[] = {
	{ "none", "fault", 0, 0, 0, 50, 0, 0, 0 },
	{ "hang", "fault", 1, -ETIMEDOUT, 20, 250, 1, 0, 1 },
	{ "stuck-busy", "fault", 2, -ETIMEDOUT, 100, 500, 0, 1, 1 },
	{ "error", "fault", 3, -EIO, 0, 50, 0, 0, 0 },
	{ "garbage", "fault", 4, -EIO, 0, 50, 0, 0, 1 },
	{ "slow-under-timeout", "slow_ms", 30, 0, 30, 100, 0, 0, 0 },
	{ "slow-over-timeout", "slow_ms", 400, -ETIMEDOUT, 100, 500, 0, 1, 1 },
	{ "latency", "latency_us", 5000, 0, 5, 100, 0, 0, 0 },
	{ "error-code-alone-harmless", "error_code", 3, 0, 0, 50, 0, 0, 0 },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_sim_set_fault_knobs, smi_sim_cases, desc);

static void dsmil_smi_sim_set_fault_knobs(struct kunit *test)
{
	const struct smi_sim_case *c = test->param_value;
	struct smi_params p = smi_defaults;
	struct smi_t *t;
	struct dsmil_smi *smi;
	u64 ns;

	p.hang_ms = 20;
	smi = smi_start_sim(test, &p);
	t = test->priv;
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, c->knob, c->val), 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, &ns), c->err);
	KUNIT_EXPECT_GE(test, ns, c->min_ms * MS);
	KUNIT_EXPECT_LT(test, ns, c->max_ms * MS);
	KUNIT_EXPECT_EQ(test, smi->cnt.hangs, c->hangs);
	KUNIT_EXPECT_EQ(test, smi->cnt.timeouts, c->timeouts);
	KUNIT_EXPECT_EQ(test, smi->cnt.aborts, c->aborts);
	KUNIT_EXPECT_EQ(test, dsmil_smi_sim_count(t->backend, DSMIL_TOKEN_BASE,
						  false), 1);
}

static void dsmil_smi_sim_abort_flaky(struct kunit *test)
{
	struct smi_params p = smi_defaults;
	struct dsmil_smi *smi;
	struct smi_t *t;
	unsigned int i;

	p.hang_ms = 10;
	smi = smi_start_sim(test, &p);
	t = test->priv;
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "flaky_every", 3), 0);
	for (i = 1; i <= 6; i++)
		KUNIT_EXPECT_EQ_MSG(test, smi_read(smi, NULL, NULL),
				    i % 3 ? 0 : -EIO, "request %u", i);

	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "flaky_every", 0), 0);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "abort_fails", 1), 0);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "fault", 1), 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EINPROGRESS);
	KUNIT_EXPECT_TRUE(test, smi->faulted);
	KUNIT_EXPECT_EQ(test, smi->cnt.abort_failures, 1);

	/* Reset fails once, then the model is idle again. */
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "fault", 0), 0);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "reset_fails", 1), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), -EIO);
	msleep(110);
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(smi), 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);

	/* Busy submits: retried, then refused. */
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "busy_submits", 2), 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.retries, 2);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->backend, "busy_submits", 9), 0);
	KUNIT_EXPECT_EQ(test, smi_read(smi, NULL, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, smi->cnt.retries, 5);
	KUNIT_EXPECT_EQ(test, dsmil_smi_sim_set(t->backend, "fault", 5), -EINVAL);
}

/* ------------------------------------------------------------------------
 * One SMI for identical reads (single-flight, dsmil_smi_flight.c).
 */

/* A plain request (flags 0, so a read may coalesce) of device @dev's token. */
static struct smi_caller *smi_spawn_plain(struct kunit *test, unsigned int dev,
					  u8 op, u32 value, bool killable)
{
	struct smi_caller *c = smi_caller_new(test);

	c->plain = true;
	c->killable = killable;
	c->dev = dev;
	c->cmd.token = DSMIL_TOKEN_BASE + dev;
	c->cmd.op = op;
	c->cmd.value = value;
	smi_caller_run(test, c);
	if (killable)
		get_task_struct(c->task);
	return c;
}

/* A caller that cannot be joined: holds the hardware for a case. */
static struct smi_caller *smi_spawn_blocker(struct kunit *test,
					    unsigned int dev)
{
	struct smi_caller *c = smi_caller_new(test);

	c->dev = dev;
	c->cmd.token = DSMIL_TOKEN_BASE + dev;
	c->cmd.op = DSMIL_SMI_OP_READ;
	smi_caller_run(test, c);
	return c;
}

/* Kill a killable caller and wait until it has returned. */
static void smi_kill(struct smi_caller *c)
{
	send_sig(SIGKILL, c->task, 1);
	wait_for_completion(&c->done);
	put_task_struct(c->task);
}

static const struct smi_params smi_flight_params = {
	.timeout_ms = 1000, .hang_ms = 500, .interval_us = 0,
	.fault_limit = 3, .retries = 3,
};

/*
 * One read at the firmware (the idle path's, driven from its caller's
 * stack), three more readers of that token: one backend call, all get its
 * value and its id.  A reader of another token makes its own call.
 */
static void dsmil_smi_flight_join_one_call(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *lead, *j[3], *other;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;
	unsigned int i;

	smi = smi_start_fake(test, &smi_flight_params);
	t->fake.value = 0x1234;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	lead = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	for (i = 0; i < ARRAY_SIZE(j); i++)
		j[i] = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 4);
	other = smi_spawn_plain(test, 3, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 5);
	dsmil_kunit_smi_release(&t->fake);

	wait_for_completion(&lead->done);
	wait_for_completion(&other->done);
	KUNIT_EXPECT_EQ(test, lead->ret, 0);
	KUNIT_EXPECT_EQ(test, lead->value, 0x1234);
	KUNIT_EXPECT_NE(test, lead->id, 0);
	for (i = 0; i < ARRAY_SIZE(j); i++) {
		wait_for_completion(&j[i]->done);
		KUNIT_EXPECT_EQ(test, j[i]->ret, 0);
		KUNIT_EXPECT_EQ(test, j[i]->value, 0x1234);
		KUNIT_EXPECT_EQ(test, j[i]->id, lead->id);
	}
	KUNIT_EXPECT_EQ(test, other->ret, 0);
	KUNIT_EXPECT_NE(test, other->id, lead->id);
	/* The fake's own count: one call for token 0x0480, one for 0x0483. */
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);
	KUNIT_EXPECT_EQ(test, t->fake.last.token, DSMIL_TOKEN_BASE + 3);
	KUNIT_EXPECT_EQ(test, t->fake.overlaps, 0);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.coalesced, 3);
	KUNIT_EXPECT_EQ(test, st.requests, 5);
	KUNIT_EXPECT_EQ(test, st.successes, 5);
}

/*
 * Writes never coalesce: a write of the token being read makes its own
 * call, and so does a second write of the same value while one is at the
 * firmware; a read arriving while only a write of its token is in flight
 * makes its own call too.
 */
static void dsmil_smi_flight_writes_never_join(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *r1, *w1, *r2, *w2, *r3;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_flight_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	r1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	w1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_WRITE, 7, false);
	smi_wait_in_flight(test, smi, 2);
	r2 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 3);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&r1->done);
	wait_for_completion(&w1->done);
	wait_for_completion(&r2->done);
	KUNIT_EXPECT_EQ(test, r1->ret, 0);
	KUNIT_EXPECT_EQ(test, w1->ret, 0);
	KUNIT_EXPECT_EQ(test, r2->ret, 0);
	/* r2 joined r1 (before the write): 2 calls, the write its own. */
	KUNIT_EXPECT_EQ(test, r2->id, r1->id);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);

	/* A write at the firmware: a write and a read behind it each call. */
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	w1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_WRITE, 7, false);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	w2 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_WRITE, 7, false);
	smi_wait_in_flight(test, smi, 2);
	r3 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 3);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&w1->done);
	wait_for_completion(&w2->done);
	wait_for_completion(&r3->done);
	KUNIT_EXPECT_EQ(test, w1->ret, 0);
	KUNIT_EXPECT_EQ(test, w2->ret, 0);
	KUNIT_EXPECT_EQ(test, r3->ret, 0);
	KUNIT_EXPECT_NE(test, w2->id, w1->id);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 5);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.coalesced, 1);
}

/*
 * Never older than a completed write: readers that joined a read before a
 * write of the token get the value before it; a reader that arrives once
 * that write has completed gets the written value, from a call of its own
 * (the read it could have joined left its slot when it finished).
 */
static void dsmil_smi_flight_not_older_than_write(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *r1, *j1, *w, *r2, *j2;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_flight_params);
	t->fake.store = true;
	t->fake.value = 1;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	r1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	j1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 2);
	w = smi_spawn_plain(test, 0, DSMIL_SMI_OP_WRITE, 2, false);
	smi_wait_in_flight(test, smi, 3);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&w->done);
	KUNIT_ASSERT_EQ(test, w->ret, 0);

	/* The write has completed: these began after it. */
	r2 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	wait_for_completion(&r2->done);
	j2 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	wait_for_completion(&j2->done);
	wait_for_completion(&r1->done);
	wait_for_completion(&j1->done);
	KUNIT_EXPECT_EQ(test, r1->value, 1);
	KUNIT_EXPECT_EQ(test, j1->value, 1);
	KUNIT_EXPECT_EQ(test, j1->id, r1->id);
	KUNIT_EXPECT_EQ(test, r2->ret, 0);
	KUNIT_EXPECT_EQ(test, r2->value, 2);
	KUNIT_EXPECT_NE(test, r2->id, r1->id);
	KUNIT_EXPECT_EQ(test, j2->value, 2);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 4);
}

/*
 * Leaving never hurts the others: a joiner killed while the read is queued
 * leaves alone (-EINTR), and so does the read's own caller (killed): the
 * read stays queued for the joiner left, which gets the value from one
 * call.  If the last caller leaves too, nothing is sent.
 */
static void dsmil_smi_flight_leaving_keeps_others(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *x, *lead, *j1, *j2;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_flight_params);
	t->fake.value = 0x77;
	/* A read nobody may join (flagged) holds the hardware. */
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	x = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	lead = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, true);
	smi_wait_in_flight(test, smi, 2);
	j1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 3);
	j2 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, true);
	smi_wait_in_flight(test, smi, 4);

	smi_kill(j2);
	KUNIT_EXPECT_EQ(test, j2->ret, -EINTR);
	smi_kill(lead);
	KUNIT_EXPECT_EQ(test, lead->ret, -EINTR);
	/* Its read succeeds for j1: no id is kept with lead's -EINTR. */
	KUNIT_EXPECT_EQ(test, lead->id, 0);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&x->done);
	wait_for_completion(&j1->done);
	KUNIT_EXPECT_EQ(test, x->ret, 0);
	KUNIT_EXPECT_EQ(test, j1->ret, 0);
	KUNIT_EXPECT_EQ(test, j1->value, 0x77);
	KUNIT_EXPECT_NE(test, j1->id, 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);
	dsmil_smi_flush(smi);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.cancelled, 2);
	KUNIT_EXPECT_EQ(test, st.coalesced, 1);
	KUNIT_EXPECT_EQ(test, st.successes, 2);

	/* Everybody leaves a queued read: it is taken back untouched. */
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	x = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	lead = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, true);
	smi_wait_in_flight(test, smi, 2);
	j2 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, true);
	smi_wait_in_flight(test, smi, 3);
	smi_kill(lead);
	smi_kill(j2);
	KUNIT_EXPECT_EQ(test, lead->ret, -EINTR);
	KUNIT_EXPECT_EQ(test, j2->ret, -EINTR);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&x->done);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 3);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.cancelled, 4);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0);
}

/*
 * The read's own caller times out while it is queued: the read stays
 * queued for the joiner, bounded by the joiner's own (later) deadline.
 */
static void dsmil_smi_flight_leader_timeout(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_flight_params;
	struct smi_caller *x, *lead, *j1;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	p.timeout_ms = 600;
	p.hang_ms = 300;
	smi = smi_start_fake(test, &p);
	t->fake.value = 0x99;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	x = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	lead = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 2);
	msleep(300);
	j1 = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 3);
	wait_for_completion(&lead->done);
	KUNIT_EXPECT_EQ(test, lead->ret, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, lead->id, 0);	/* orphaned: see above */
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&j1->done);
	wait_for_completion(&x->done);
	KUNIT_EXPECT_EQ(test, j1->ret, 0);
	KUNIT_EXPECT_EQ(test, j1->value, 0x99);
	KUNIT_EXPECT_NE(test, j1->id, 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);
	dsmil_smi_flush(smi);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.queue_timeouts, 1);
	KUNIT_EXPECT_EQ(test, st.coalesced, 1);
}

/*
 * The read's own caller is killed before its read is sent (in the backoff
 * of a busy retry on the idle path): its joiner, never signalled, is not
 * told that caller's -EINTR; it starts over and reads within its own
 * deadline, with an id of its own, counted once.
 */
static void dsmil_smi_flight_leader_killed_unsent(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *lead, *j;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_flight_params);
	t->fake.value = 0x42;
	dsmil_kunit_smi_queue_submit(test, &t->fake, -EBUSY, 1);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_SUBMIT);
	lead = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, true);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	j = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 2);
	/* Pending as the submit answers busy: the backoff ends at once. */
	send_sig(SIGKILL, lead->task, 1);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&lead->done);
	put_task_struct(lead->task);
	wait_for_completion(&j->done);
	KUNIT_EXPECT_EQ(test, lead->ret, -EINTR);
	KUNIT_EXPECT_EQ(test, j->ret, 0);
	KUNIT_EXPECT_EQ(test, j->value, 0x42);
	KUNIT_EXPECT_NE(test, j->id, 0);
	KUNIT_EXPECT_NE(test, j->id, lead->id);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 2);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.cancelled, 1);
	KUNIT_EXPECT_EQ(test, st.successes, 1);
	KUNIT_EXPECT_EQ(test, st.coalesced, 0);
	KUNIT_EXPECT_EQ(test, st.requests, 2);
}

#ifdef DSMIL_HAVE_STATIC_STUB
static struct kunit *smi_late_test;
static struct smi_caller *smi_late_joiner;

/*
 * The case's own caller waits late (preempted, say): a reader joins its
 * queued read shortly before its deadline, and the worker reaches the
 * read just after that deadline.
 */
static long smi_wait_late(struct dsmil_smi_req *req, unsigned long tmo)
{
	struct kunit *test = smi_late_test;
	struct smi_t *t = test->priv;
	s64 left = ktime_ms_delta(req->deadline, ktime_get());

	if (left > 50)
		msleep(left - 50);
	smi_late_joiner = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, t->smi, 3);
	while (ktime_before(ktime_get(), ktime_add_ms(req->deadline, 5)))
		usleep_range(1000, 2000);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&req->done);
	return 1;
}

/*
 * A read that ends unsent at its caller's deadline: a joiner whose own
 * deadline is far off is not told -ETIMEDOUT; it reads for itself.
 */
static void dsmil_smi_flight_joiner_outlives_leader(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_flight_params;
	struct dsmil_smi_cmd cmd = {
		.token = DSMIL_TOKEN_BASE, .op = DSMIL_SMI_OP_READ,
	};
	struct dsmil_smi_reply rep;
	struct dsmil_smi_status st;
	struct smi_caller *x, *j;
	struct dsmil_smi *smi;
	int ret;

	p.timeout_ms = 600;
	p.hang_ms = 300;
	smi = smi_start_fake(test, &p);
	t->fake.value = 0x99;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	x = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	smi_late_test = test;
	smi_late_joiner = NULL;
	kunit_activate_static_stub(test, dsmil_smi_wait_done, smi_wait_late);
	ret = dsmil_smi_exec(smi, &cmd, 0, 0, &rep);
	kunit_deactivate_static_stub(test, dsmil_smi_wait_done);
	j = smi_late_joiner;
	KUNIT_ASSERT_NOT_NULL(test, j);
	KUNIT_EXPECT_EQ(test, ret, -ETIMEDOUT);
	wait_for_completion(&j->done);
	wait_for_completion(&x->done);
	KUNIT_EXPECT_EQ(test, j->ret, 0);
	KUNIT_EXPECT_EQ(test, j->value, 0x99);
	KUNIT_EXPECT_NE(test, j->id, rep.id);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 2);
	dsmil_smi_flush(smi);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.queue_timeouts, 1);
	KUNIT_EXPECT_EQ(test, st.coalesced, 0);
	KUNIT_EXPECT_EQ(test, st.successes, 2);
}
#endif

/*
 * The hand-off check is the shared call's: a device stopped while readers
 * wait gets no SMI, and every one of them is refused.
 */
static void dsmil_smi_flight_handoff_refuses_all(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *x, *r[3];
	unsigned int locked, in_doubt, i;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_flight_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	x = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i] = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
		smi_wait_in_flight(test, smi, 2 + i);
	}
	KUNIT_ASSERT_EQ(test, dsmil_state_estop(&t->dsm->state, 0, &locked,
						&in_doubt), 0);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&x->done);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		wait_for_completion(&r[i]->done);
		KUNIT_EXPECT_EQ(test, r[i]->ret, -ENODEV);
	}
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.refused, 3);
	KUNIT_EXPECT_EQ(test, st.coalesced, 2);
}

/*
 * The call at the hardware makes the engine FAULTED: the read queued
 * behind it is turned away untouched, with every caller that joined it.
 */
static void dsmil_smi_flight_faulted_refuses_all(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_flight_params;
	struct smi_caller *x, *r[3];
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;
	unsigned int i;

	p.fault_limit = 1;
	smi = smi_start_fake(test, &p);
	t->fake.final = DSMIL_SMI_ST_GARBAGE;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	x = smi_spawn_blocker(test, 24);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i] = smi_spawn_plain(test, 12, DSMIL_SMI_OP_READ, 0, false);
		smi_wait_in_flight(test, smi, 2 + i);
	}
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&x->done);
	KUNIT_EXPECT_EQ(test, x->ret, -EIO);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		wait_for_completion(&r[i]->done);
		KUNIT_EXPECT_EQ(test, r[i]->ret, -ESHUTDOWN);
	}
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.faulted_rejects, 3);
	KUNIT_EXPECT_EQ(test, st.coalesced, 2);
}

/*
 * A synchronous call still running at the deadlines: the read's own caller
 * and its joiner are each told -EINPROGRESS at their own deadline, the
 * joiner with the shared request's id; both are late successes once the
 * call returns.
 */
static void dsmil_smi_flight_in_doubt_shared_id(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_flight_params;
	struct smi_caller *lead, *j;
	struct dsmil_smi_status st;
	struct dsmil_smi *smi;

	p.timeout_ms = 200;
	p.hang_ms = 100;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	lead = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);
	j = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 2);
	wait_for_completion(&lead->done);
	wait_for_completion(&j->done);
	KUNIT_EXPECT_EQ(test, lead->ret, -EINPROGRESS);
	KUNIT_EXPECT_EQ(test, j->ret, -EINPROGRESS);
	KUNIT_EXPECT_EQ(test, j->id, lead->id);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.in_doubt, 2);
	KUNIT_EXPECT_EQ(test, st.in_flight, 2);

	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_smi_flush(smi);
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.late_successes, 2);
	KUNIT_EXPECT_EQ(test, st.successes, 2);
	KUNIT_EXPECT_EQ(test, st.abandoned, 2);
	KUNIT_EXPECT_EQ(test, st.coalesced, 1);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
}

/*
 * The order queued requests reach the hardware (dsmil_smi_flight_pick()):
 * the newest of the joinable reads at the head first, each read passed
 * over at most DSMIL_SMI_PASS_OVER_MAX times, nothing past a write or a
 * read that cannot be joined.  Each case queues its requests behind a
 * blocker held at the fake, releases it and compares the fake's record of
 * tokens with the expected order.
 */
enum smi_pick_kind { PICK_READ, PICK_WRITE, PICK_FLAGGED };

struct smi_pick_case {
	const char *desc;
	unsigned int n;
	struct {
		enum smi_pick_kind kind;
		unsigned int dev;
	} q[5];
	unsigned int order[5];	/* devices, in the order they are sent */
};

static const struct smi_pick_case smi_pick_cases[] = {
	{ "one read", 1, { { PICK_READ, 0 } }, { 0 } },
	{ "newest read first", 3,
	  { { PICK_READ, 0 }, { PICK_READ, 3 }, { PICK_READ, 6 } },
	  { 6, 3, 0 } },
	/* 0 and 3 are passed over by 9, then 0 by 6: 0 has had its two. */
	{ "passed over at most twice", 4,
	  { { PICK_READ, 0 }, { PICK_READ, 3 }, { PICK_READ, 6 },
	    { PICK_READ, 9 } },
	  { 9, 6, 0, 3 } },
	{ "no read passes a write", 3,
	  { { PICK_READ, 0 }, { PICK_WRITE, 3 }, { PICK_READ, 6 } },
	  { 0, 3, 6 } },
	{ "reads behind a write, after it", 3,
	  { { PICK_WRITE, 0 }, { PICK_READ, 3 }, { PICK_READ, 6 } },
	  { 0, 6, 3 } },
	{ "no read passes a flagged read", 3,
	  { { PICK_READ, 0 }, { PICK_FLAGGED, 3 }, { PICK_READ, 6 } },
	  { 0, 3, 6 } },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_smi_flight_pick_order, smi_pick_cases, desc);

static void dsmil_smi_flight_pick_order(struct kunit *test)
{
	const struct smi_pick_case *pc = test->param_value;
	struct smi_t *t = test->priv;
	struct smi_caller *blocker, *c[ARRAY_SIZE(pc->q)];
	struct dsmil_smi *smi;
	unsigned int i;

	smi = smi_start_fake(test, &smi_flight_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	blocker = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	for (i = 0; i < pc->n; i++) {
		unsigned int dev = pc->q[i].dev;

		switch (pc->q[i].kind) {
		case PICK_READ:
			c[i] = smi_spawn_plain(test, dev, DSMIL_SMI_OP_READ, 0,
					       false);
			break;
		case PICK_WRITE:
			c[i] = smi_spawn_plain(test, dev, DSMIL_SMI_OP_WRITE, 1,
					       false);
			break;
		default:
			c[i] = smi_spawn_blocker(test, dev);
			break;
		}
		/* Queued in this order: each behind the one before. */
		smi_wait_in_flight(test, smi, 2 + i);
	}
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&blocker->done);
	for (i = 0; i < pc->n; i++) {
		wait_for_completion(&c[i]->done);
		KUNIT_EXPECT_EQ(test, c[i]->ret, 0);
	}
	KUNIT_ASSERT_EQ(test, t->fake.submits, 1 + pc->n);
	KUNIT_EXPECT_EQ(test, t->fake.tokens[0], DSMIL_TOKEN_BASE + 12);
	for (i = 0; i < pc->n; i++)
		KUNIT_EXPECT_EQ_MSG(test, t->fake.tokens[1 + i],
				    DSMIL_TOKEN_BASE + pc->order[i],
				    "call %u", 1 + i);
	KUNIT_EXPECT_EQ(test, t->fake.overlaps, 0);
}

/*
 * The worker waits out the spacing before it chooses, not after: a read
 * queued while the spacing runs is chosen as if it had been there, so
 * readers the last call answered, back within the pause, are seen.  With
 * the choice made first, the older read would have gone first.
 */
static void dsmil_smi_flight_pick_after_spacing(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_flight_params;
	struct smi_caller *blocker, *a, *b;
	struct dsmil_smi_status st0, st;
	struct dsmil_smi *smi;
	unsigned int i, n;
	bool late;

	p.interval_us = DSMIL_SMI_INTERVAL_MAX_US;	/* 100 ms */
	smi = smi_start_fake(test, &p);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	blocker = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	a = smi_spawn_plain(test, 0, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 2);
	smi_status(smi, &st0);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&blocker->done);
	/* Within the 100 ms pause after the blocker's call: */
	b = smi_spawn_plain(test, 3, DSMIL_SMI_OP_READ, 0, false);
	/* b counted in (a still queued), or a already gone without it. */
	for (i = 0; i < 5000; i++) {
		spin_lock(&smi->lock);
		n = smi->in_flight;
		spin_unlock(&smi->lock);
		if (n >= 2 || completion_done(&a->done))
			break;
		usleep_range(1000, 2000);
	}
	spin_lock(&t->fake.lock);
	late = t->fake.submits > 1;
	spin_unlock(&t->fake.lock);
	wait_for_completion(&a->done);
	wait_for_completion(&b->done);
	KUNIT_EXPECT_EQ(test, a->ret, 0);
	KUNIT_EXPECT_EQ(test, b->ret, 0);
	KUNIT_ASSERT_EQ(test, t->fake.submits, 3);
	/* A host that stalled this thread 100 ms proves nothing either way. */
	if (late)
		kunit_skip(test, "b was queued after the pause: no choice to see");
	KUNIT_EXPECT_EQ(test, t->fake.tokens[1], DSMIL_TOKEN_BASE + 3);
	KUNIT_EXPECT_EQ(test, t->fake.tokens[2], DSMIL_TOKEN_BASE + 0);
	/* The worker's pauses are counted: one before each of b and a. */
	smi_status(smi, &st);
	KUNIT_EXPECT_EQ(test, st.spacing_waits - st0.spacing_waits, 2);
	/* And the spacing held between every two calls. */
	KUNIT_EXPECT_GE(test, ktime_us_delta(t->fake.submit_t[1],
					     t->fake.end_t[0]),
			(s64)DSMIL_SMI_INTERVAL_MAX_US);
	KUNIT_EXPECT_GE(test, ktime_us_delta(t->fake.submit_t[2],
					     t->fake.end_t[1]),
			(s64)DSMIL_SMI_INTERVAL_MAX_US);
}

/* ------------------------------------------------------------------------
 * Asynchronous requests (dsmil_smi_submit(), dsmil_smi_cancel()).
 */
static struct dsmil_smi_req *smi_submit(struct kunit *test,
					struct dsmil_smi *smi, u8 op,
					unsigned int dev,
					struct dsmil_kunit_async *a)
{
	struct dsmil_smi_cmd cmd = {
		.op = op,
		.value = op == DSMIL_SMI_OP_WRITE ? 0x55 : 0,
	};
	unsigned int d;
	struct dsmil_smi_req *req;

	KUNIT_ASSERT_EQ(test, dsmil_smi_token_of(dev / DSMIL_DEVS_PER_GROUP,
						 dev % DSMIL_DEVS_PER_GROUP,
						 &cmd.token, &d), 0);
	dsmil_kunit_async_init(a, smi);
	req = dsmil_smi_submit(smi, &cmd, dev, DSMIL_SMI_F_NOREPORT,
			       dsmil_kunit_async_hook, a);
	KUNIT_ASSERT_FALSE(test, IS_ERR(req));
	return req;
}

/* Queued, driven by the worker, the hook told once, from the worker. */
static void dsmil_smi_submit_completes(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_kunit_async a;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_defaults);
	t->fake.value = 0x1234;
	t->fake.busy_polls = 2;
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 0, &a);
	KUNIT_EXPECT_NE(test, req->id, 0);
	dsmil_kunit_async_wait(test, &a);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, atomic_read(&a.calls), 1);
	KUNIT_EXPECT_EQ(test, a.id, req->id);
	KUNIT_EXPECT_EQ(test, a.result, 0);
	KUNIT_EXPECT_EQ(test, a.outcome, DSMIL_SMI_OUT_SUCCESS);
	KUNIT_EXPECT_EQ(test, a.value, 0x1234);
	KUNIT_EXPECT_TRUE(test, a.in_worker);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	KUNIT_EXPECT_EQ(test, smi->cnt.successes, 1);
	dsmil_smi_req_put(req);
}

/*
 * An asynchronous read at the head of the queue is never passed over by
 * newer plain reads (dsmil_smi_flight_pick()), and they are not reordered
 * past it; behind it, the newest of them goes first.
 */
static void dsmil_smi_flight_pick_async_not_passed(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_caller *blocker, *b, *c;
	struct dsmil_kunit_async a;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_flight_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	blocker = smi_spawn_blocker(test, 12);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 0, &a);
	smi_wait_in_flight(test, smi, 2);
	b = smi_spawn_plain(test, 3, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 3);
	c = smi_spawn_plain(test, 6, DSMIL_SMI_OP_READ, 0, false);
	smi_wait_in_flight(test, smi, 4);
	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&blocker->done);
	dsmil_kunit_async_wait(test, &a);
	wait_for_completion(&b->done);
	wait_for_completion(&c->done);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, a.result, 0);
	KUNIT_EXPECT_EQ(test, b->ret, 0);
	KUNIT_EXPECT_EQ(test, c->ret, 0);
	KUNIT_ASSERT_EQ(test, t->fake.submits, 4);
	KUNIT_EXPECT_EQ(test, t->fake.tokens[1], DSMIL_TOKEN_BASE + 0);
	KUNIT_EXPECT_EQ(test, t->fake.tokens[2], DSMIL_TOKEN_BASE + 6);
	KUNIT_EXPECT_EQ(test, t->fake.tokens[3], DSMIL_TOKEN_BASE + 3);
	dsmil_smi_req_put(req);
}

/*
 * Cancel: a queued request ends at once, unsent, counted as cancelled,
 * its hook run before the cancel returns; once ended, it cannot be
 * cancelled again.
 */
static void dsmil_smi_cancel_queued(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_kunit_async a;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;
	struct smi_caller *c;

	smi = smi_start_fake(test, &smi_fence_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	c = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 3, &a);
	KUNIT_EXPECT_EQ(test, dsmil_smi_cancel(smi, req), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&a.calls), 1);
	KUNIT_EXPECT_EQ(test, a.outcome, DSMIL_SMI_OUT_CANCELLED);
	KUNIT_EXPECT_EQ(test, a.result, -EINTR);
	KUNIT_EXPECT_EQ(test, dsmil_smi_cancel(smi, req), -EBUSY);

	dsmil_kunit_smi_release(&t->fake);
	wait_for_completion(&c->done);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, c->ret, 0);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);	/* the caller's only */
	KUNIT_EXPECT_EQ(test, t->fake.last.token, DSMIL_TOKEN_BASE);
	KUNIT_EXPECT_EQ(test, smi->cnt.cancelled, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&a.calls), 1);
	dsmil_smi_req_put(req);
}

/* One at the hardware is not cancelled: it finishes and reports. */
static void dsmil_smi_cancel_at_hardware(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_kunit_async a;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_fence_params);
	t->fake.value = 7;
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 0, &a);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	KUNIT_EXPECT_EQ(test, dsmil_smi_cancel(smi, req), -EBUSY);
	KUNIT_EXPECT_EQ(test, atomic_read(&a.calls), 0);
	dsmil_kunit_smi_release(&t->fake);
	dsmil_kunit_async_wait(test, &a);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, a.result, 0);
	KUNIT_EXPECT_EQ(test, a.value, 7);
	KUNIT_EXPECT_EQ(test, smi->cnt.cancelled, 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.successes, 1);
	dsmil_smi_req_put(req);
}

/*
 * The bound holds without a waiter: a request still queued behind a
 * synchronous call at its deadline ends as a queue timeout when the worker
 * reaches it, nothing sent.
 */
static void dsmil_smi_submit_deadline(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct smi_params p = smi_defaults;
	struct dsmil_kunit_async a;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;
	struct smi_caller *c;

	p.timeout_ms = 60;
	p.hang_ms = 20;
	smi = smi_start(test, &dsmil_kunit_smi_sync_ops, NULL, &p);
	t->fake.gated = true;
	c = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_submits(test, &t->fake, 1);
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 0, &a);
	msleep(100);		/* past its deadline, still queued */
	KUNIT_EXPECT_EQ(test, atomic_read(&a.calls), 0);
	dsmil_kunit_smi_open_gate(&t->fake);
	dsmil_kunit_async_wait(test, &a);
	wait_for_completion(&c->done);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, a.outcome, DSMIL_SMI_OUT_QUEUE_TIMEOUT);
	KUNIT_EXPECT_EQ(test, a.result, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, t->fake.attempts, 1);	/* never sent */
	KUNIT_EXPECT_EQ(test, smi->cnt.queue_timeouts, 1);
	dsmil_smi_req_put(req);
}

/*
 * The hand-off holds for them too: a write queued when its group is
 * stopped is refused there, unsent; a submit to a FAULTED engine is
 * refused at once, the hook never called.
 */
static void dsmil_smi_submit_fence_and_faulted(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_kunit_async a, b;
	struct dsmil_smi_cmd cmd = {
		.token = DSMIL_TOKEN_BASE, .op = DSMIL_SMI_OP_READ,
	};
	unsigned int locked, in_doubt;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;
	struct smi_caller *c;

	smi = smi_start_fake(test, &smi_fence_params);
	dsmil_kunit_smi_hold(&t->fake, DSMIL_KUNIT_HOLD_STATUS);
	c = smi_spawn(test, 1);
	dsmil_kunit_smi_wait_held(test, &t->fake);
	req = smi_submit(test, smi, DSMIL_SMI_OP_WRITE, 0, &a);
	KUNIT_ASSERT_EQ(test, dsmil_state_estop(&t->dsm->state, 0, &locked,
						&in_doubt), 0);
	KUNIT_EXPECT_EQ(test, in_doubt, 0);	/* the write is only queued */
	dsmil_kunit_smi_release(&t->fake);
	dsmil_kunit_async_wait(test, &a);
	wait_for_completion(&c->done);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, a.result, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
	KUNIT_EXPECT_EQ(test, t->fake.last.op, DSMIL_SMI_OP_READ);
	dsmil_smi_req_put(req);

	spin_lock(&smi->lock);
	WRITE_ONCE(smi->faulted, true);
	spin_unlock(&smi->lock);
	dsmil_kunit_async_init(&b, smi);
	req = dsmil_smi_submit(smi, &cmd, 12, DSMIL_SMI_F_NOREPORT,
			       dsmil_kunit_async_hook, &b);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(req), -ESHUTDOWN);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, atomic_read(&b.calls), 0);
	KUNIT_EXPECT_EQ(test, smi->cnt.faulted_rejects, 1);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 1);
}

/* Every write-audit record kept, oldest first; the count. */
static unsigned int smi_audit_all(struct smi_t *t,
				  struct dsmil_write_record *out,
				  unsigned int max)
{
	u64 next, dropped;

	return dsmil_waudit_copy(&t->dsm->waudit, 0, out, max, &next,
				 &dropped);
}

/*
 * An asynchronous write is refused at its submit, in the submitter's
 * context, by what the engine refuses before it takes a request: the
 * backend's own check (a token absent from the firmware, one the Dell
 * filter refuses: the filter asks capable() of the current task, which in
 * the writer would be a kernel worker) and FAULTED.  Counted as the engine
 * counts them, audited under the submitter's name, nothing sent.  Before,
 * the submit said 0 and the write was queued.
 */
static void dsmil_smi_token_write_check_engine_refusals(struct kunit *test)
{
	static const int errs[] = { -ENOENT, -EACCES };
	struct smi_t *t = test->priv;
	struct dsmil_write_record who = { .pid = 4242, .uid = 1000 };
	struct dsmil_write_record r[4];
	struct dsmil_token_req tr;
	struct dsmil_smi *smi;
	unsigned int i;

	smi = smi_start_fake(test, &smi_fence_params);
	strscpy((char *)who.comm, "submitter", sizeof(who.comm));
	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		t->fake.check_ret = errs[i];
		tr = (struct dsmil_token_req){
			.group = 0, .position = DSMIL_TOKEN_POWER, .value = 5,
		};
		KUNIT_EXPECT_EQ(test, dsmil_smi_token_write_check(smi, &tr,
								  &who),
				errs[i]);
	}
	KUNIT_EXPECT_EQ(test, t->fake.checks, 2);
	KUNIT_EXPECT_EQ(test, smi->cnt.refused, 2);

	t->fake.check_ret = 0;
	spin_lock(&smi->lock);
	WRITE_ONCE(smi->faulted, true);
	spin_unlock(&smi->lock);
	tr = (struct dsmil_token_req){
		.group = 0, .position = DSMIL_TOKEN_POWER, .value = 5,
	};
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_write_check(smi, &tr, &who),
			-ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, smi->cnt.faulted_rejects, 1);
	spin_lock(&smi->lock);
	WRITE_ONCE(smi->faulted, false);
	spin_unlock(&smi->lock);
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_write_check(smi, &tr, &who), 0);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, t->fake.submits, 0);

	KUNIT_ASSERT_EQ(test, smi_audit_all(t, r, ARRAY_SIZE(r)), 3);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, r[i].stage, DSMIL_WREC_AT_REFUSED);
		KUNIT_EXPECT_EQ(test, r[i].token, DSMIL_TOKEN_BASE);
		KUNIT_EXPECT_EQ(test, r[i].pid, 4242);
		KUNIT_EXPECT_EQ(test, r[i].uid, 1000);
		KUNIT_EXPECT_STREQ(test, (char *)r[i].comm, "submitter");
	}
	KUNIT_EXPECT_EQ(test, r[0].error, ENOENT);
	KUNIT_EXPECT_EQ(test, r[1].error, EACCES);
	KUNIT_EXPECT_EQ(test, r[2].error, ESHUTDOWN);
}

/*
 * An asynchronous read whose abort failed ends -EINPROGRESS (counted in
 * doubt): its completion record says IN_DOUBT, not FINAL.  Before, every
 * read's record said FINAL.
 */
static void dsmil_smi_client_fill_read_in_doubt(struct kunit *test)
{
	struct smi_t *t = test->priv;
	struct dsmil_token_completion rec = {};
	struct dsmil_kunit_async a;
	struct dsmil_smi_req *req;
	struct dsmil_smi *smi;

	smi = smi_start_fake(test, &smi_defaults);
	t->fake.forever = true;
	t->fake.frozen = true;
	t->fake.abort_ret = -EIO;
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 0, &a);
	dsmil_kunit_async_wait(test, &a);
	dsmil_smi_flush(smi);
	KUNIT_EXPECT_EQ(test, a.result, -EINPROGRESS);
	dsmil_client_fill_read(&rec, req);
	KUNIT_EXPECT_EQ(test, rec.flags, DSMIL_TOKEN_C_IN_DOUBT);
	KUNIT_EXPECT_EQ(test, rec.error, EINPROGRESS);
	KUNIT_EXPECT_EQ(test, rec.smi_id, req->id);
	dsmil_smi_req_put(req);

	/* A read that answered: FINAL. */
	KUNIT_ASSERT_EQ(test, dsmil_smi_recover(smi), 0);
	t->fake.forever = false;
	t->fake.frozen = false;
	t->fake.value = 9;
	req = smi_submit(test, smi, DSMIL_SMI_OP_READ, 0, &a);
	dsmil_kunit_async_wait(test, &a);
	dsmil_smi_flush(smi);
	dsmil_client_fill_read(&rec, req);
	KUNIT_EXPECT_EQ(test, rec.flags, DSMIL_TOKEN_C_FINAL);
	KUNIT_EXPECT_EQ(test, rec.error, 0);
	KUNIT_EXPECT_EQ(test, rec.value, 9);
	dsmil_smi_req_put(req);
}

static struct kunit_case dsmil_smi_cases[] = {
	KUNIT_CASE(dsmil_smi_token_of_map),
	KUNIT_CASE_PARAM(dsmil_smi_token_rw_bad_token, dsmil_smi_token_rw_bad_token_gen_params),
	KUNIT_CASE(dsmil_smi_token_rw_state_refused),
	KUNIT_CASE(dsmil_smi_exec_read),
	KUNIT_CASE(dsmil_smi_exec_write),
	KUNIT_CASE(dsmil_smi_exec_busy_then_done),
	KUNIT_CASE(dsmil_smi_exec_poll_sleeps),
	KUNIT_CASE_PARAM(dsmil_smi_exec_error_status, dsmil_smi_exec_error_status_gen_params),
	KUNIT_CASE(dsmil_smi_status_errno_table),
	KUNIT_CASE(dsmil_smi_exec_garbage_status),
	KUNIT_CASE(dsmil_smi_exec_timeout),
	KUNIT_CASE(dsmil_smi_exec_timeout_short_not_blamed),
	KUNIT_CASE(dsmil_smi_exec_hang_before_timeout),
	KUNIT_CASE(dsmil_smi_exec_progress_not_hang),
	KUNIT_CASE(dsmil_smi_exec_abort_failure),
	KUNIT_CASE_PARAM(dsmil_smi_exec_polled_no_verdict,
			 dsmil_smi_exec_polled_no_verdict_gen_params),
	KUNIT_CASE(dsmil_smi_exec_faulted_fail_fast),
	KUNIT_CASE(dsmil_smi_exec_fault_run_resets),
	KUNIT_CASE(dsmil_smi_exec_faulted_drains_queue),
	KUNIT_CASE(dsmil_smi_recover_backoff),
	KUNIT_CASE(dsmil_smi_recover_not_faulted),
	KUNIT_CASE(dsmil_smi_exec_spacing),
	KUNIT_CASE(dsmil_smi_exec_no_spacing),
	KUNIT_CASE(dsmil_smi_exec_busy_retries_bounded),
	KUNIT_CASE(dsmil_smi_exec_busy_then_accepted),
	KUNIT_CASE(dsmil_smi_exec_no_retry_on_error),
	KUNIT_CASE(dsmil_smi_exec_abandoned_finishes_late),
	KUNIT_CASE(dsmil_smi_exec_queue_bounded),
	KUNIT_CASE(dsmil_smi_exec_one_at_a_time),
	KUNIT_CASE(dsmil_smi_suspend_waits_for_firmware),
	KUNIT_CASE(dsmil_smi_suspend_bounded),
	KUNIT_CASE(dsmil_smi_suspend_holds_requests),
	KUNIT_CASE(dsmil_smi_flight_join_one_call),
	KUNIT_CASE(dsmil_smi_flight_writes_never_join),
	KUNIT_CASE(dsmil_smi_flight_not_older_than_write),
	KUNIT_CASE(dsmil_smi_flight_leaving_keeps_others),
	KUNIT_CASE(dsmil_smi_flight_leader_timeout),
	KUNIT_CASE(dsmil_smi_flight_leader_killed_unsent),
#ifdef DSMIL_HAVE_STATIC_STUB
	KUNIT_CASE(dsmil_smi_flight_joiner_outlives_leader),
#endif
	KUNIT_CASE(dsmil_smi_flight_handoff_refuses_all),
	KUNIT_CASE(dsmil_smi_flight_faulted_refuses_all),
	KUNIT_CASE(dsmil_smi_flight_in_doubt_shared_id),
	KUNIT_CASE_PARAM(dsmil_smi_flight_pick_order,
			 dsmil_smi_flight_pick_order_gen_params),
	KUNIT_CASE(dsmil_smi_flight_pick_after_spacing),
	KUNIT_CASE(dsmil_smi_flight_pick_async_not_passed),
	KUNIT_CASE(dsmil_smi_count_identity),
	KUNIT_CASE(dsmil_smi_hist_bucket_edges),
	KUNIT_CASE(dsmil_smi_verify_device_initializing),
	KUNIT_CASE(dsmil_smi_handoff_fence_direct),
	KUNIT_CASE(dsmil_smi_handoff_fence_queued),
	KUNIT_CASE(dsmil_smi_handoff_fence_busy_retry),
	KUNIT_CASE(dsmil_smi_handoff_fence_spacing),
	KUNIT_CASE(dsmil_smi_handoff_estop_waits_for_write),
	KUNIT_CASE(dsmil_smi_submit_completes),
	KUNIT_CASE(dsmil_smi_cancel_queued),
	KUNIT_CASE(dsmil_smi_cancel_at_hardware),
	KUNIT_CASE(dsmil_smi_submit_deadline),
	KUNIT_CASE(dsmil_smi_submit_fence_and_faulted),
	KUNIT_CASE(dsmil_smi_token_write_check_engine_refusals),
	KUNIT_CASE(dsmil_smi_client_fill_read_in_doubt),
	KUNIT_CASE_PARAM(dsmil_smi_result_in_doubt_then_known,
			 dsmil_smi_result_in_doubt_then_known_gen_params),
#ifdef DSMIL_HAVE_STATIC_STUB
	KUNIT_CASE(dsmil_smi_wait_early_timer),
#endif
	KUNIT_CASE(dsmil_smi_result_ring),
	KUNIT_CASE_PARAM(dsmil_smi_resolve_config_values,
			 dsmil_smi_resolve_config_values_gen_params),
	KUNIT_CASE(dsmil_smi_dell_init_off_dell),
	KUNIT_CASE(dsmil_smi_dell_fill_buffer),
	KUNIT_CASE_PARAM(dsmil_smi_dell_map_reply, dsmil_smi_dell_map_reply_gen_params),
	KUNIT_CASE(dsmil_smi_dell_submit_engine),
	KUNIT_CASE(dsmil_smi_dell_check_filter),
	KUNIT_CASE(dsmil_smi_dell_scan_absent),
	KUNIT_CASE(dsmil_smi_dell_submit_write_semantics),
	KUNIT_CASE(dsmil_smi_dell_submit_malformed),
	KUNIT_CASE(dsmil_smi_dell_submit_smm_speed_healthy),
	KUNIT_CASE(dsmil_smi_dell_submit_slow_calls),
	KUNIT_CASE(dsmil_smi_sim_submit_model),
	KUNIT_CASE_PARAM(dsmil_smi_sim_set_fault_knobs, dsmil_smi_sim_set_fault_knobs_gen_params),
	KUNIT_CASE(dsmil_smi_sim_abort_flaky),
	{}
};

static struct kunit_suite dsmil_smi_suite = {
	.name = "dsmil_smi",
	.init = dsmil_smi_test_init,
	.exit = dsmil_smi_test_exit,
	.test_cases = dsmil_smi_cases,
};

kunit_test_suite(dsmil_smi_suite);
