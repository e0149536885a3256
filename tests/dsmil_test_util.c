// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers and fakes shared by the dsmil KUnit suites (the *_test.c files
 * beside this one), in the manner of
 * drivers/platform/chrome/cros_ec_proto_test_util.c.  Linked into
 * dsmil_kunit.ko with the suites (see Kbuild).
 */
#include <kunit/test.h>
#include <linux/err.h>

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
