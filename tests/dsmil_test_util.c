// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers and fakes shared by the dsmil KUnit suites (the *_test.c files
 * beside this one), in the manner of
 * drivers/platform/chrome/cros_ec_proto_test_util.c.  Linked into
 * dsmil_kunit.ko with the suites (see Kbuild).
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/mman.h>
#include <linux/mutex.h>

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
	struct dsmil *dsm = dsmil_create(cfg, NULL);
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
			    dsmil_dev_state_name(res.prev),
			    dsmil_dev_state_name(to),
			    dsmil_reason_name(res.reason));
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

/* ---- the verify hook ---------------------------------------------------- */

/*
 * The hook receives only the state machine, and is called from the test's
 * threads as well as its own; tests run one at a time, so the fake of the
 * running test is found here.
 */
static struct dsmil_kunit_verify *dsmil_kunit_verify_cur;

static int dsmil_kunit_verify_fn(struct dsmil_state *st, unsigned int id)
{
	struct dsmil_kunit_verify *v = READ_ONCE(dsmil_kunit_verify_cur);

	atomic_inc(&v->calls);
	WRITE_ONCE(v->last_id, id);
	if (v->check_lock && mutex_is_locked(&st->lock))
		v->saw_lock = true;
	if (READ_ONCE(v->block_id) == id) {
		complete(&v->entered);
		wait_for_completion_timeout(&v->release, 20 * HZ);
	}
	return READ_ONCE(v->err[id]);
}

static void dsmil_kunit_verify_remove(void *data)
{
	struct dsmil_kunit_verify *v = data;

	v->st->verify = v->orig;
	if (dsmil_kunit_verify_cur == v)
		WRITE_ONCE(dsmil_kunit_verify_cur, NULL);
}

/**
 * dsmil_kunit_verify_install - replace a state machine's verify hook with
 * a fake the test programs.
 * @test: the test; the real hook is put back when it ends.
 * @st:   state machine of an instance that outlives @test
 *        (dsmil_kunit_create(), not destroyed early).
 *
 * Until the test changes it, every device verifies (returns 0) at once.
 * One fake at a time: installing another replaces this one.
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
	v->orig = st->verify;
	WRITE_ONCE(dsmil_kunit_verify_cur, v);
	st->verify = dsmil_kunit_verify_fn;
	ret = kunit_add_action_or_reset(test, dsmil_kunit_verify_remove, v);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return v;
}
