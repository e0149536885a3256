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
#include <linux/types.h>

#include "../dsmil_priv.h"

struct kunit;

/* ---- instances ---------------------------------------------------------- */

extern const struct dsmil_config dsmil_kunit_cfg;

struct dsmil *dsmil_kunit_create(struct kunit *test,
				 const struct dsmil_config *cfg);
void dsmil_kunit_destroy(struct kunit *test, struct dsmil *dsm);
unsigned long dsmil_kunit_user_buf(struct kunit *test, size_t size);

/* ---- device states ------------------------------------------------------ */

void dsmil_kunit_step(struct kunit *test, struct dsmil_state *st,
		      unsigned int id, unsigned int to);
void dsmil_kunit_drive(struct kunit *test, struct dsmil_state *st,
		       unsigned int id, unsigned int target);

/* ---- the verify hook ---------------------------------------------------- */

/**
 * struct dsmil_kunit_verify - stand-in for the state machine's verify hook
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
 * @st:         the state machine whose hook this replaces...
 * @orig:       ...and the hook it had, put back when the test ends.
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
	int (*orig)(struct dsmil_state *st, unsigned int id);
};

struct dsmil_kunit_verify *dsmil_kunit_verify_install(struct kunit *test,
						      struct dsmil_state *st);

#endif /* _DSMIL_TEST_UTIL_H */
