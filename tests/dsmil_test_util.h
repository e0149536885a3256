/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the dsmil KUnit suites share: instances built and torn down for a
 * test, and the fakes that stand in for the layers below the code under
 * test.  In the manner of drivers/platform/chrome/cros_ec_proto_test_util.h;
 * see tests/dsmil_test_util.c.
 */
#ifndef _DSMIL_TEST_UTIL_H
#define _DSMIL_TEST_UTIL_H

#include <linux/types.h>

#include "../dsmil_priv.h"

struct kunit;

/* ---- instances ---------------------------------------------------------- */

extern const struct dsmil_config dsmil_kunit_cfg;

struct dsmil *dsmil_kunit_create(struct kunit *test,
				 const struct dsmil_config *cfg);
void dsmil_kunit_destroy(struct kunit *test, struct dsmil *dsm);

#endif /* _DSMIL_TEST_UTIL_H */
