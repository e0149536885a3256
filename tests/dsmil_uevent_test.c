// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the uevent sender (dsmil_uevent.c) and for what the state
 * machine tells it (dsmil_state.c's notify callback).
 *
 * The sender is given a root device of its own, so that its events really
 * go out (nobody listens in a KUnit run; kobject_uevent_env() still builds
 * and broadcasts them): the budgets and the drop count are checked on what
 * it sent.  An instance's state machine gets a recorder in place of the
 * sender, to see which events a transition and an emergency stop produce.
 */
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/spinlock.h>

#include "../dsmil_priv.h"
#include "dsmil_test_util.h"

static struct dsmil_uevents *uevent_sender(struct kunit *test,
					   struct device *dev)
{
	struct dsmil_uevents *ue = kunit_kzalloc(test, sizeof(*ue), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ue);
	dsmil_uevent_init(ue, dev);
	return ue;
}

static u64 uevent_sent(struct dsmil_uevents *ue, unsigned int kind)
{
	return atomic64_read(&ue->sent[kind]);
}

/* A KUnit instance has no device: nothing is queued, sent or dropped. */
static void dsmil_uevent_post_no_device(struct kunit *test)
{
	struct dsmil_uevents *ue = uevent_sender(test, NULL);
	struct dsmil_event ev = { .kind = DSMIL_EVENT_STATE };
	unsigned int i, k;

	for (i = 0; i < 2 * DSMIL_UEVENT_QUEUE; i++)
		dsmil_uevent_post(ue, &ev);
	dsmil_uevent_exit(ue);
	KUNIT_EXPECT_EQ(test, ue->len, 0);
	KUNIT_EXPECT_FALSE(test, ue->drop_pending);
	for (k = 0; k < DSMIL_EVENT_KINDS; k++)
		KUNIT_EXPECT_EQ(test, uevent_sent(ue, k), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ue->dropped), 0);
}

/*
 * More state events than the budget at once: the burst is sent, the rest
 * dropped and counted; an estop posted after them still goes out (its
 * budget is its own); an unknown kind is refused, not counted.
 */
static void dsmil_uevent_post_budget(struct kunit *test)
{
	struct dsmil_event ev = { .kind = DSMIL_EVENT_STATE, .device = 3,
				  .from = DSMIL_DEV_READY,
				  .to = DSMIL_DEV_ACTIVE };
	struct dsmil_event stop = { .kind = DSMIL_EVENT_ESTOP, .groups = 0x3f };
	struct dsmil_event bad = { .kind = DSMIL_EVENT_KINDS };
	const unsigned int extra = 5;
	struct dsmil_uevents *ue;
	struct device *dev;
	unsigned long t0;
	unsigned int i;

	dev = root_device_register("dsmil_uevent_test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
	ue = uevent_sender(test, dev);

	t0 = jiffies;
	for (i = 0; i < DSMIL_UEVENT_STATE_BURST + extra; i++)
		dsmil_uevent_post(ue, &ev);
	dsmil_uevent_post(ue, &stop);
	dsmil_uevent_post(ue, &bad);
	/* Every post inside one window, or the counts below do not apply. */
	i = time_before(jiffies, t0 + msecs_to_jiffies(DSMIL_UEVENT_INTERVAL_MS));
	dsmil_uevent_exit(ue);
	root_device_unregister(dev);
	if (!i)
		kunit_skip(test, "the posts spanned more than one window");

	KUNIT_EXPECT_EQ(test, uevent_sent(ue, DSMIL_EVENT_STATE),
			DSMIL_UEVENT_STATE_BURST);
	KUNIT_EXPECT_EQ(test, uevent_sent(ue, DSMIL_EVENT_ESTOP), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ue->dropped), extra);
	/* The drop was signalled (the worker sent it and cleared the flag). */
	KUNIT_EXPECT_FALSE(test, ue->drop_pending);
	KUNIT_EXPECT_TRUE(test, time_after(ue->drop_next, t0));
	KUNIT_EXPECT_EQ(test, ue->len, 0);
}

/*
 * A backend faulting and recovering in a loop uses up its own budget, not
 * the emergency stop's: the stop posted after them still goes out.
 */
static void dsmil_uevent_post_estop_budget(struct kunit *test)
{
	struct dsmil_event fault = { .kind = DSMIL_EVENT_SMI_FAULTED,
				     .device = 0 };
	struct dsmil_event back = { .kind = DSMIL_EVENT_SMI_RECOVERED };
	struct dsmil_event stop = { .kind = DSMIL_EVENT_ESTOP, .groups = 0x1 };
	struct dsmil_uevents *ue;
	struct device *dev;
	unsigned long t0;
	unsigned int i;

	dev = root_device_register("dsmil_uevent_test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
	ue = uevent_sender(test, dev);

	t0 = jiffies;
	for (i = 0; i < DSMIL_UEVENT_SMI_BURST; i++) {
		dsmil_uevent_post(ue, &fault);
		dsmil_uevent_post(ue, &back);
	}
	dsmil_uevent_post(ue, &stop);
	i = time_before(jiffies, t0 + msecs_to_jiffies(DSMIL_UEVENT_INTERVAL_MS));
	dsmil_uevent_exit(ue);
	root_device_unregister(dev);
	if (!i)
		kunit_skip(test, "the posts spanned more than one window");

	KUNIT_EXPECT_EQ(test, uevent_sent(ue, DSMIL_EVENT_SMI_FAULTED) +
			uevent_sent(ue, DSMIL_EVENT_SMI_RECOVERED),
			DSMIL_UEVENT_SMI_BURST);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ue->dropped),
			DSMIL_UEVENT_SMI_BURST);
	KUNIT_EXPECT_EQ(test, uevent_sent(ue, DSMIL_EVENT_ESTOP), 1);
}

/* What an instance's state machine tells its listener, recorded. */
struct uevent_rec {
	spinlock_t lock;	/* posts may race with the test's reads */
	unsigned int n;
	struct dsmil_event ev[32];
};

static void uevent_rec_post(void *ctx, const struct dsmil_event *ev)
{
	struct uevent_rec *r = ctx;

	spin_lock(&r->lock);
	if (r->n < ARRAY_SIZE(r->ev))
		r->ev[r->n] = *ev;
	r->n++;
	spin_unlock(&r->lock);
}

static struct uevent_rec *uevent_rec_install(struct kunit *test,
					     struct dsmil *dsm)
{
	struct uevent_rec *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	spin_lock_init(&r->lock);
	dsm->state.notify = uevent_rec_post;
	dsm->state.notify_ctx = r;
	return r;
}

/* Each accepted transition is one state event; a refused one is none. */
static void dsmil_uevent_state_transition(struct kunit *test)
{
	struct dsmil *dsm = dsmil_kunit_create(test, &dsmil_kunit_cfg);
	struct uevent_rec *r = uevent_rec_install(test, dsm);
	struct dsmil_state_result res;

	dsmil_kunit_drive(test, &dsm->state, 6, DSMIL_DEV_READY);
	KUNIT_ASSERT_EQ(test, r->n, 2);
	KUNIT_EXPECT_EQ(test, r->ev[0].kind, DSMIL_EVENT_STATE);
	KUNIT_EXPECT_EQ(test, r->ev[0].device, 6);
	KUNIT_EXPECT_EQ(test, r->ev[0].from, DSMIL_DEV_OFFLINE);
	KUNIT_EXPECT_EQ(test, r->ev[0].to, DSMIL_DEV_INITIALIZING);
	KUNIT_EXPECT_EQ(test, r->ev[0].source, DSMIL_SRC_IOCTL);
	KUNIT_EXPECT_EQ(test, r->ev[0].reason, DSMIL_REASON_NONE);
	KUNIT_EXPECT_EQ(test, r->ev[1].from, DSMIL_DEV_INITIALIZING);
	KUNIT_EXPECT_EQ(test, r->ev[1].to, DSMIL_DEV_READY);

	/* READY -> OFFLINE is not a transition: refused, nothing told. */
	KUNIT_EXPECT_EQ(test, dsmil_state_transition(&dsm->state, 6,
						     DSMIL_DEV_OFFLINE, &res),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, r->n, 2);

	/* A fault report: the device's ERROR, told with its source. */
	dsmil_state_report_fault(&dsm->state, 6, DSMIL_REASON_SMI_FAULT,
				 -ETIMEDOUT);
	KUNIT_ASSERT_EQ(test, r->n, 3);
	KUNIT_EXPECT_EQ(test, r->ev[2].to, DSMIL_DEV_ERROR);
	KUNIT_EXPECT_EQ(test, r->ev[2].source, DSMIL_SRC_SMI);
	KUNIT_EXPECT_EQ(test, r->ev[2].reason, DSMIL_REASON_SMI_FAULT);
}

/* A stop is one estop event, not one state event per device it locks. */
static void dsmil_uevent_state_estop(struct kunit *test)
{
	struct dsmil *dsm = dsmil_kunit_create(test, &dsmil_kunit_cfg);
	struct uevent_rec *r = uevent_rec_install(test, dsm);
	unsigned int locked, in_doubt;

	KUNIT_ASSERT_EQ(test, dsmil_state_estop(&dsm->state, 4, &locked,
						&in_doubt), 0);
	KUNIT_ASSERT_EQ(test, locked, 2 * DSMIL_DEVS_PER_GROUP);
	KUNIT_ASSERT_EQ(test, r->n, 1);
	KUNIT_EXPECT_EQ(test, r->ev[0].kind, DSMIL_EVENT_ESTOP);
	KUNIT_EXPECT_EQ(test, r->ev[0].group, 4);
	KUNIT_EXPECT_EQ(test, r->ev[0].groups, BIT(4) | BIT(5));
	KUNIT_EXPECT_EQ(test, r->ev[0].locked, 2 * DSMIL_DEVS_PER_GROUP);
	KUNIT_EXPECT_EQ(test, r->ev[0].in_doubt, 0);
}

static struct kunit_case dsmil_uevent_cases[] = {
	KUNIT_CASE(dsmil_uevent_post_no_device),
	KUNIT_CASE(dsmil_uevent_post_budget),
	KUNIT_CASE(dsmil_uevent_post_estop_budget),
	KUNIT_CASE(dsmil_uevent_state_transition),
	KUNIT_CASE(dsmil_uevent_state_estop),
	{}
};

static struct kunit_suite dsmil_uevent_suite = {
	.name = "dsmil_uevent",
	.test_cases = dsmil_uevent_cases,
};

kunit_test_suite(dsmil_uevent_suite);
