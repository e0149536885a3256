// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for dsmil_state.c: the transition table, the dependency and
 * quarantine rules, emergency stop, fault reports, the audit trail, the
 * ioctl handlers, unload, and races between opposite transitions.
 *
 * The model is written down a second time here, from the issue text
 * (spec_*() below), and the driver is checked against it rather than
 * against its own tables.  Every test gets a fresh instance whose SMI
 * verification is replaced by the util's fake (struct dsmil_kunit_verify),
 * which can fail, block or record how it was called.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "../dsmil_priv.h"
#include "dsmil_test_util.h"

#define N_DEV		DSMIL_NUM_DEVICES
#define DEV(g, i)	((g) * DSMIL_DEVS_PER_GROUP + (i))

#define OFF	DSMIL_DEV_OFFLINE
#define INIT	DSMIL_DEV_INITIALIZING
#define READY	DSMIL_DEV_READY
#define ACT	DSMIL_DEV_ACTIVE
#define ERR	DSMIL_DEV_ERROR
#define LOCK	DSMIL_DEV_LOCKED

/* ---- the model, from the issue text ------------------------------------ */

/* Does device @d need device @x ACTIVE? */
static bool spec_needs(unsigned int d, unsigned int x)
{
	/* group g needs the groups listed (their controllers ACTIVE) */
	static const char *const group_needs[DSMIL_NUM_GROUPS] = {
		"", "0", "01", "0", "012", "01234",
	};
	unsigned int dg = d / 12, di = d % 12, xg = x / 12, xi = x % 12;

	if (xi == 0 && strchr(group_needs[dg], '0' + xg))
		return true;
	if (dg != 0 || xg != 0)
		return false;
	switch (di) {
	case 0:
		return false;
	case 1:
		return xi == 0;
	case 2:
		return xi <= 1;
	default:
		return xi <= 2;
	}
}

static bool spec_quarantined(unsigned int id)
{
	return id == DEV(0, 9) || id == DEV(0, 10) || id == DEV(0, 11) ||
	       id == DEV(1, 9) || id == DEV(2, 9);
}

static bool spec_legal(unsigned int from, unsigned int to)
{
	static const u8 legal[][2] = {
		{ OFF, INIT }, { INIT, READY }, { INIT, ERR },
		{ READY, ACT }, { READY, ERR }, { ACT, READY }, { ACT, ERR },
		{ ERR, OFF }, { ERR, INIT }, { LOCK, ERR },
	};
	unsigned int i;

	if (to == LOCK)		/* any state -> LOCKED */
		return true;
	for (i = 0; i < ARRAY_SIZE(legal); i++)
		if (legal[i][0] == from && legal[i][1] == to)
			return true;
	return false;
}

static const char *const spec_functions[DSMIL_DEVS_PER_GROUP] = {
	"Controller", "Crypto Engine", "Secure Storage", "Network Filter",
	"Audit Logger", "TPM Interface", "Secure Boot", "Memory Protection",
	"Tactical Comm", "Emergency Wipe", "JROTC Training",
	"Hidden Operations",
};

/* First ACTIVE device that needs something not ACTIVE, or -1. */
static int invariant_violation(const u8 *s)
{
	unsigned int d, x;

	for (d = 0; d < N_DEV; d++) {
		if (s[d] != ACT)
			continue;
		for (x = 0; x < N_DEV; x++)
			if (spec_needs(d, x) && s[x] != ACT)
				return d;
	}
	return -1;
}

/* ---- fixture -------------------------------------------------------------- */

struct dsmil_state_test {
	struct dsmil *dsm;
	struct dsmil_state *st;
	struct dsmil_kunit_verify *verify;
};

/* The instance and the fake go when the test ends, as KUnit resources. */
static int dsmil_state_test_init(struct kunit *test)
{
	struct dsmil_state_test *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->dsm = dsmil_kunit_create(test, &dsmil_kunit_cfg);
	ctx->st = &ctx->dsm->state;
	ctx->verify = dsmil_kunit_verify_install(test, ctx->st);
	test->priv = ctx;
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static u8 state_of(struct dsmil_state_test *ctx, unsigned int id)
{
	return READ_ONCE(ctx->st->dev[id].state);
}

static int req(struct dsmil_state_test *ctx, unsigned int id,
	       unsigned int to, struct dsmil_state_result *res)
{
	struct dsmil_state_result tmp;

	return dsmil_state_transition(ctx->st, id, to, res ?: &tmp);
}

/* One transition that must be accepted. */
static void step(struct kunit *test, unsigned int id, unsigned int to)
{
	struct dsmil_state_test *ctx = test->priv;

	dsmil_kunit_step(test, ctx->st, id, to);
}

/* From OFFLINE to @target along legal transitions (no dependency needed). */
static void drive(struct kunit *test, unsigned int id, unsigned int target)
{
	struct dsmil_state_test *ctx = test->priv;

	dsmil_kunit_drive(test, ctx->st, id, target);
}

/* Make @id ACTIVE, bringing up what it needs (per the spec) first. */
static void bring_up(struct kunit *test, unsigned int id)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int y;

	for (y = 0; y < id; y++)
		if (spec_needs(id, y))
			bring_up(test, y);
	switch (state_of(ctx, id)) {
	case OFF:
		step(test, id, INIT);
		fallthrough;
	case INIT:
		step(test, id, READY);
		fallthrough;
	case READY:
		step(test, id, ACT);
		break;
	case ACT:
		break;
	default:
		KUNIT_FAIL(test, "cannot bring up DSMIL%uD%X from %s", id / 12,
			   id % 12, dsmil_state_name(state_of(ctx, id)));
	}
}

/* Every device back to OFFLINE through requests, dependents first. */
static void take_all_down(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int id;

	for (id = N_DEV; id-- > 0; ) {
		u8 s = state_of(ctx, id);

		if (s == ACT) {
			step(test, id, READY);
			s = READY;
		}
		if (s == INIT || s == READY || s == LOCK) {
			step(test, id, ERR);
			s = ERR;
		}
		if (s == ERR)
			step(test, id, OFF);
	}
}

/* Lowest-id ACTIVE device that needs @x, or -1. */
static int first_active_dependent(struct dsmil_state_test *ctx, unsigned int x)
{
	unsigned int d;

	for (d = 0; d < N_DEV; d++)
		if (spec_needs(d, x) && state_of(ctx, d) == ACT)
			return d;
	return -1;
}

static struct dsmil_audit_entry *read_audit(struct kunit *test, u64 since,
					    unsigned int *n, u64 *next,
					    u64 *dropped)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_audit_entry *e;

	e = kunit_kcalloc(test, DSMIL_AUDIT_DEPTH, sizeof(*e), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	*n = dsmil_state_audit_copy(ctx->st, since, e, DSMIL_AUDIT_DEPTH, next,
				    dropped);
	return e;
}

static const struct dsmil_audit_entry *last_audit(struct kunit *test,
						  unsigned int back)
{
	struct dsmil_audit_entry *e;
	unsigned int n;
	u64 next, dropped;

	e = read_audit(test, 0, &n, &next, &dropped);
	KUNIT_ASSERT_GT(test, n, back);
	return &e[n - 1 - back];
}

/*
 * Replay the whole audit trail from all-OFFLINE: every accepted entry must
 * start from the state the previous ones left, the invariant must hold
 * after each one, the replay must end in today's states, and the accepted
 * entries must be exactly the transitions counted.
 */
static void check_trail(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	u8 shadow[N_DEV] = {}, now[N_DEV];
	struct dsmil_audit_entry *e;
	unsigned int i, n, accepted = 0;
	u64 next, dropped;
	int bad;

	e = read_audit(test, 0, &n, &next, &dropped);
	KUNIT_ASSERT_EQ_MSG(test, dropped, 0, "trail too long to replay");
	KUNIT_ASSERT_EQ(test, (u64)n, next - 1);
	for (i = 0; i < n; i++) {
		const struct dsmil_audit_entry *a = &e[i];

		KUNIT_ASSERT_EQ(test, a->seq, (u64)i + 1);
		KUNIT_ASSERT_LT(test, a->device, N_DEV);
		if (a->error) {
			KUNIT_EXPECT_NE(test, a->reason, DSMIL_REASON_NONE);
			continue;
		}
		accepted++;
		KUNIT_ASSERT_EQ_MSG(test, a->from, shadow[a->device],
				    "seq %llu: DSMIL%uD%X", a->seq,
				    a->device / 12, a->device % 12);
		shadow[a->device] = a->to;
		bad = invariant_violation(shadow);
		KUNIT_ASSERT_LT_MSG(test, bad, 0,
				    "after seq %llu DSMIL%uD%X is ACTIVE without what it needs",
				    a->seq, bad / 12, bad % 12);
	}
	dsmil_state_snapshot(ctx->st, now);
	KUNIT_EXPECT_MEMEQ(test, shadow, now, N_DEV);
	KUNIT_EXPECT_EQ(test, (u64)accepted, dsmil_state_transitions(ctx->st));
}

static void expect_invariant(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	u8 s[N_DEV];
	int bad;

	dsmil_state_snapshot(ctx->st, s);
	bad = invariant_violation(s);
	KUNIT_EXPECT_LT_MSG(test, bad, 0, "DSMIL%uD%X ACTIVE without its dependencies",
			    bad / 12, bad % 12);
}

static u64 refusals(struct dsmil_state_test *ctx, enum dsmil_reason r)
{
	return atomic64_read(&ctx->dsm->refusals[r]);
}

/* ---- the transition table: all 36 (from, to) pairs ----------------------- */

static const u8 dsmil_pairs[DSMIL_DEV_NUM_STATES * DSMIL_DEV_NUM_STATES] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
	18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
};

static void dsmil_pair_desc(const u8 *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s->%s",
		 dsmil_state_name(*p / DSMIL_DEV_NUM_STATES),
		 dsmil_state_name(*p % DSMIL_DEV_NUM_STATES));
}

KUNIT_ARRAY_PARAM(dsmil_state_transition_pair, dsmil_pairs, dsmil_pair_desc);

static void dsmil_state_transition_pair(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	const u8 *p = test->param_value;
	unsigned int from = *p / DSMIL_DEV_NUM_STATES;
	unsigned int to = *p % DSMIL_DEV_NUM_STATES;
	const struct dsmil_audit_entry *a;
	struct dsmil_state_result res;
	u64 before, illegal;
	int calls, ret;

	/* DSMIL0D0 needs nothing and nothing depending on it is ACTIVE. */
	drive(test, 0, from);
	before = dsmil_state_transitions(ctx->st);
	illegal = refusals(ctx, DSMIL_REASON_ILLEGAL);
	calls = atomic_read(&ctx->verify->calls);

	ret = req(ctx, 0, to, &res);
	a = last_audit(test, 0);
	KUNIT_EXPECT_EQ(test, res.prev, from);
	KUNIT_EXPECT_EQ(test, a->from, from);
	KUNIT_EXPECT_EQ(test, a->to, to);
	KUNIT_EXPECT_EQ(test, a->source, DSMIL_SRC_IOCTL);
	if (spec_legal(from, to)) {
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_NONE);
		KUNIT_EXPECT_EQ(test, res.state, to);
		KUNIT_EXPECT_EQ(test, state_of(ctx, 0), to);
		KUNIT_EXPECT_EQ(test, dsmil_state_transitions(ctx->st), before + 1);
		KUNIT_EXPECT_EQ(test, a->error, 0);
	} else {
		KUNIT_EXPECT_EQ(test, ret, -EINVAL);
		KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_ILLEGAL);
		KUNIT_EXPECT_EQ(test, res.state, from);
		KUNIT_EXPECT_EQ(test, state_of(ctx, 0), from);
		KUNIT_EXPECT_EQ(test, dsmil_state_transitions(ctx->st), before);
		KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_ILLEGAL),
				illegal + 1);
		KUNIT_EXPECT_EQ(test, a->error, EINVAL);
		KUNIT_EXPECT_EQ(test, a->reason, DSMIL_REASON_ILLEGAL);
	}
	/* Only INITIALIZING -> READY goes through the SMI layer. */
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->verify->calls) - calls,
			from == INIT && to == READY ? 1 : 0);
	check_trail(test);
}

/* ---- the device table ------------------------------------------------------ */

static void dsmil_state_describe_device_table(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	u8 states[N_DEV];
	unsigned int id, x, quarantined = 0;
	char name[16];

	dsmil_state_snapshot(ctx->st, states);
	for (id = 0; id < N_DEV; id++) {
		unsigned int g = id / 12, i = id % 12;
		struct dsmil_dev_info di;
		bool token = i == 0 || i == 3 || i == 6 || i == 9;

		dsmil_state_describe(ctx->st, id, states, &di);
		snprintf(name, sizeof(name), "DSMIL%uD%X", g, i);
		KUNIT_EXPECT_STREQ(test, (char *)di.name, name);
		KUNIT_EXPECT_STREQ(test, (char *)di.function, spec_functions[i]);
		KUNIT_EXPECT_EQ(test, di.id, id);
		KUNIT_EXPECT_EQ(test, di.group, g);
		KUNIT_EXPECT_EQ(test, di.index, i);
		KUNIT_EXPECT_EQ(test, di.state, OFF);
		KUNIT_EXPECT_EQ(test, di.group_state, DSMIL_GROUP_DISABLED);
		KUNIT_EXPECT_EQ(test, !!(di.flags & DSMIL_DEVF_QUARANTINED),
				spec_quarantined(id));
		KUNIT_EXPECT_EQ(test, !!(di.flags & DSMIL_DEVF_HAS_TOKEN), token);
		KUNIT_EXPECT_EQ(test, di.token, token ? 0x480 + 12 * g + i : 0);
		KUNIT_EXPECT_EQ(test, dsmil_state_quarantined(id),
				spec_quarantined(id));
		quarantined += spec_quarantined(id);
		KUNIT_EXPECT_EQ(test, di.reserved0, 0);
		KUNIT_EXPECT_EQ(test, di.reserved1, 0);
		KUNIT_EXPECT_EQ(test, di.reserved[0] | di.reserved[1], 0);

		/* The dependency masks say exactly what the spec says. */
		for (x = 0; x < N_DEV; x++) {
			bool dep = (x % 12 == 0 && (di.dep_groups & BIT(x / 12))) ||
				   (x / 12 == g && (di.dep_devices & BIT(x % 12)));

			KUNIT_EXPECT_EQ_MSG(test, dep, spec_needs(id, x),
					    "%s needs DSMIL%uD%X?", name,
					    x / 12, x % 12);
			/* "dependents first" is "descending id" */
			if (spec_needs(id, x))
				KUNIT_EXPECT_LT(test, x, id);
		}
	}
	KUNIT_EXPECT_EQ(test, quarantined, 5);
	KUNIT_EXPECT_STREQ(test, (char *)"DSMIL5DB", name);
}

/* ---- dependency rules, both ways ------------------------------------------- */

struct dsmil_dep_rule {
	u8 dependent;
	u8 dependency;
};

static const struct dsmil_dep_rule dsmil_dep_rules[] = {
	/*
	 * "group 1 needs group 0; 2 needs 0-1; 3 needs 0; 4 needs 0-2;
	 * 5 needs 0-4": for the controller and for a member of each group
	 */
	{ DEV(1, 0), DEV(0, 0) }, { DEV(1, 5), DEV(0, 0) },
	{ DEV(2, 0), DEV(0, 0) }, { DEV(2, 5), DEV(0, 0) },
	{ DEV(2, 0), DEV(1, 0) }, { DEV(2, 5), DEV(1, 0) },
	{ DEV(3, 0), DEV(0, 0) }, { DEV(3, 5), DEV(0, 0) },
	{ DEV(4, 0), DEV(0, 0) }, { DEV(4, 5), DEV(0, 0) },
	{ DEV(4, 0), DEV(1, 0) }, { DEV(4, 5), DEV(1, 0) },
	{ DEV(4, 0), DEV(2, 0) }, { DEV(4, 5), DEV(2, 0) },
	{ DEV(5, 0), DEV(0, 0) }, { DEV(5, 5), DEV(0, 0) },
	{ DEV(5, 0), DEV(1, 0) }, { DEV(5, 5), DEV(1, 0) },
	{ DEV(5, 0), DEV(2, 0) }, { DEV(5, 5), DEV(2, 0) },
	{ DEV(5, 0), DEV(3, 0) }, { DEV(5, 5), DEV(3, 0) },
	{ DEV(5, 0), DEV(4, 0) }, { DEV(5, 5), DEV(4, 0) },
	/*
	 * "inside group 0: device 1 needs device 0; device 2 needs 0-1; the
	 * others need 0-2" (the quarantined 9-11 are never ACTIVE)
	 */
	{ DEV(0, 1), DEV(0, 0) },
	{ DEV(0, 2), DEV(0, 0) }, { DEV(0, 2), DEV(0, 1) },
	{ DEV(0, 3), DEV(0, 0) }, { DEV(0, 3), DEV(0, 1) }, { DEV(0, 3), DEV(0, 2) },
	{ DEV(0, 4), DEV(0, 0) }, { DEV(0, 4), DEV(0, 1) }, { DEV(0, 4), DEV(0, 2) },
	{ DEV(0, 5), DEV(0, 0) }, { DEV(0, 5), DEV(0, 1) }, { DEV(0, 5), DEV(0, 2) },
	{ DEV(0, 6), DEV(0, 0) }, { DEV(0, 6), DEV(0, 1) }, { DEV(0, 6), DEV(0, 2) },
	{ DEV(0, 7), DEV(0, 0) }, { DEV(0, 7), DEV(0, 1) }, { DEV(0, 7), DEV(0, 2) },
	{ DEV(0, 8), DEV(0, 0) }, { DEV(0, 8), DEV(0, 1) }, { DEV(0, 8), DEV(0, 2) },
};

static void dsmil_dep_rule_desc(const struct dsmil_dep_rule *r, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "DSMIL%uD%X-needs-DSMIL%uD%X",
		 r->dependent / 12, r->dependent % 12, r->dependency / 12,
		 r->dependency % 12);
}

KUNIT_ARRAY_PARAM(dsmil_state_transition_dependency, dsmil_dep_rules, dsmil_dep_rule_desc);

static void dsmil_state_transition_dependency(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	const struct dsmil_dep_rule *r = test->param_value;
	unsigned int d = r->dependent, x = r->dependency, y;
	static const u8 leave[] = { READY, ERR, LOCK };
	struct dsmil_state_result res;
	unsigned int i;
	int ret;

	KUNIT_ASSERT_TRUE(test, spec_needs(d, x));

	/* Everything else @d needs is up, @x is only READY. */
	for (y = 0; y < d; y++)
		if (spec_needs(d, y) && y != x && !spec_needs(y, x))
			bring_up(test, y);
	for (y = 0; y < x; y++)
		if (spec_needs(x, y))
			bring_up(test, y);
	drive(test, x, READY);
	drive(test, d, READY);

	/* One way: @d cannot become ACTIVE while @x is not. */
	ret = req(ctx, d, ACT, &res);
	KUNIT_EXPECT_EQ(test, ret, -ENOLINK);
	KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_DEPENDENCY);
	KUNIT_EXPECT_EQ(test, res.blocker, (int)x);
	KUNIT_EXPECT_EQ(test, state_of(ctx, d), READY);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_DEPENDENCY), 1);

	/* With @x up it can. */
	bring_up(test, d);

	/*
	 * The other way: @x cannot leave ACTIVE while @d (or any other
	 * dependent) is ACTIVE, whatever it is asked to become.
	 */
	for (i = 0; i < ARRAY_SIZE(leave); i++) {
		ret = req(ctx, x, leave[i], &res);
		KUNIT_EXPECT_EQ(test, ret, -EBUSY);
		KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_DEPENDENT);
		KUNIT_EXPECT_EQ(test, res.blocker, first_active_dependent(ctx, x));
		KUNIT_EXPECT_EQ(test, state_of(ctx, x), ACT);
	}
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_DEPENDENT),
			ARRAY_SIZE(leave));

	/* Once every dependent of @x is down (dependents first), it can. */
	for (y = N_DEV - 1; y > x; y--)
		if (spec_needs(y, x) && state_of(ctx, y) == ACT)
			step(test, y, READY);
	KUNIT_EXPECT_EQ(test, first_active_dependent(ctx, x), -1);
	step(test, x, READY);
	check_trail(test);
}

/* Every device comes up with exactly what the spec says it needs. */
static void dsmil_state_transition_no_extra_dependency(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int d, y;

	for (d = 0; d < N_DEV; d++) {
		if (spec_quarantined(d))
			continue;
		take_all_down(test);
		bring_up(test, d);
		for (y = 0; y < N_DEV; y++)
			KUNIT_EXPECT_EQ_MSG(test, state_of(ctx, y) == ACT,
					    y == d || spec_needs(d, y),
					    "bringing up DSMIL%uD%X: DSMIL%uD%X",
					    d / 12, d % 12, y / 12, y % 12);
	}
	take_all_down(test);
}

/* ---- quarantine and access checks ------------------------------------------- */

static void dsmil_state_transition_quarantine(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	static const u8 q[] = { DEV(0, 9), DEV(0, 10), DEV(0, 11), DEV(1, 9),
				DEV(2, 9) };
	struct dsmil_state_result res;
	unsigned int i, y;
	int ret;

	for (i = 0; i < ARRAY_SIZE(q); i++) {
		/* Everything it needs is up: quarantine is the only reason. */
		for (y = 0; y < q[i]; y++)
			if (spec_needs(q[i], y))
				bring_up(test, y);
		drive(test, q[i], READY);
		KUNIT_EXPECT_EQ(test, dsmil_state_check_access(ctx->st, q[i], false), 0);

		ret = req(ctx, q[i], ACT, &res);
		KUNIT_EXPECT_EQ(test, ret, -EPERM);
		KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_QUARANTINED);
		KUNIT_EXPECT_EQ(test, state_of(ctx, q[i]), READY);
		KUNIT_EXPECT_EQ(test, dsmil_state_check_access(ctx->st, q[i], true),
				-EPERM);
	}
	/* 5 transitions and 5 writes refused */
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_QUARANTINED), 10);

	/* A quarantined device can still be locked, failed, taken down. */
	step(test, DEV(0, 9), LOCK);
	step(test, DEV(0, 9), ERR);
	step(test, DEV(0, 9), OFF);
	check_trail(test);
}

static void dsmil_state_check_access_by_state(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	static const struct {
		u8 state;
		int read, write;
	} cases[] = {
		{ OFF, -ENODEV, -ENODEV },
		{ INIT, -ENODEV, -ENODEV },
		{ READY, 0, -ENODEV },
		{ ACT, 0, 0 },
		{ ERR, -ENODEV, -ENODEV },
		{ LOCK, -ENODEV, -ENODEV },
	};
	unsigned int i, id;
	u64 state_refusals;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		/* A fresh device for each state: DSMIL3D1..3D6 need 0:0 only. */
		id = DEV(3, 1 + i);
		if (cases[i].state == ACT)
			bring_up(test, id);
		else
			drive(test, id, cases[i].state);
		KUNIT_EXPECT_EQ_MSG(test, dsmil_state_check_access(ctx->st, id, false),
				    cases[i].read, "read in %s",
				    dsmil_state_name(cases[i].state));
		KUNIT_EXPECT_EQ_MSG(test, dsmil_state_check_access(ctx->st, id, true),
				    cases[i].write, "write in %s",
				    dsmil_state_name(cases[i].state));
	}
	state_refusals = refusals(ctx, DSMIL_REASON_STATE);
	KUNIT_EXPECT_EQ(test, state_refusals, 4 + 5);

	KUNIT_EXPECT_EQ(test, dsmil_state_check_access(ctx->st, N_DEV, false),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_state_check_access(ctx->st, ~0U, true),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_BAD_ARG), 2);
	/* Access checks are not transitions: nothing audited for them. */
	check_trail(test);
}

/* ---- emergency stop ---------------------------------------------------------- */

struct dsmil_estop_case {
	u8 group;
	u8 locked_groups;	/* the group and every group needing it */
	const char *desc;
};

static const struct dsmil_estop_case dsmil_estop_cases[] = {
	{ 0, 0x3f, "group0-stops-all" },
	{ 1, BIT(1) | BIT(2) | BIT(4) | BIT(5), "group1-stops-1-2-4-5" },
	{ 2, BIT(2) | BIT(4) | BIT(5), "group2-stops-2-4-5" },
	{ 3, BIT(3) | BIT(5), "group3-stops-3-5" },
	{ 4, BIT(4) | BIT(5), "group4-stops-4-5" },
	{ 5, BIT(5), "group5-stops-5" },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_state_estop_group, dsmil_estop_cases, desc);

static void dsmil_state_estop_group(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	const struct dsmil_estop_case *c = test->param_value;
	struct dsmil_audit_entry *e;
	u8 before[N_DEV], after[N_DEV];
	unsigned int id, g, locked, in_doubt, n, i, expect = 0;
	u64 next, dropped, seq0;
	int ret;

	/* Every group up, a member of each ACTIVE, others in other states. */
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		bring_up(test, DEV(g, 0));
		bring_up(test, DEV(g, 5));
		drive(test, DEV(g, 4), READY);
		drive(test, DEV(g, 6), ERR);
	}
	drive(test, DEV(0, 9), READY);	/* quarantined */
	dsmil_state_snapshot(ctx->st, before);
	for (id = 0; id < N_DEV; id++)
		expect += (c->locked_groups & BIT(id / 12)) && before[id] != LOCK;
	KUNIT_EXPECT_EQ(test, expect, 12 * hweight8(c->locked_groups));
	seq0 = ctx->st->audit_next;

	ret = dsmil_state_estop(ctx->st, c->group, &locked, &in_doubt);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, locked, expect);

	dsmil_state_snapshot(ctx->st, after);
	for (id = 0; id < N_DEV; id++) {
		if (c->locked_groups & BIT(id / 12))
			KUNIT_EXPECT_EQ(test, after[id], LOCK);
		else
			KUNIT_EXPECT_EQ(test, after[id], before[id]);
	}
	for (g = 0; g < DSMIL_NUM_GROUPS; g++)
		KUNIT_EXPECT_EQ(test, dsmil_state_group(after, g),
				c->locked_groups & BIT(g) ?
				DSMIL_GROUP_EMERGENCY_STOP : DSMIL_GROUP_ERROR);
	expect_invariant(test);

	/* One audit entry per locked device, dependents first. */
	e = read_audit(test, seq0, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, locked);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, e[i].source, DSMIL_SRC_ESTOP);
		KUNIT_EXPECT_EQ(test, e[i].reason, DSMIL_REASON_EMERGENCY_STOP);
		KUNIT_EXPECT_EQ(test, e[i].to, LOCK);
		KUNIT_EXPECT_EQ(test, e[i].error, 0);
		if (i)
			KUNIT_EXPECT_LT(test, e[i].device, e[i - 1].device);
	}
	check_trail(test);
}

static void dsmil_state_estop_repeat_and_recover(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int locked, in_doubt, id;

	bring_up(test, DEV(5, 0));
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 3, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, locked, 24);
	/* Already locked devices are not counted again. */
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 5, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, locked, 0);
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 6, &locked, &in_doubt), -EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, ~0U, &locked, &in_doubt), -EINVAL);

	/* LOCKED is left only for ERROR; from there the device comes back. */
	for (id = DEV(3, 0); id < N_DEV; id++) {
		if (id / 12 == 4)
			continue;
		KUNIT_EXPECT_EQ(test, req(ctx, id, ACT, NULL), -EINVAL);
		KUNIT_EXPECT_EQ(test, req(ctx, id, OFF, NULL), -EINVAL);
		step(test, id, ERR);
		step(test, id, OFF);
	}
	bring_up(test, DEV(5, 0));
	check_trail(test);
}

/*
 * ACTIVE -> LOCKED is refused while a dependent is ACTIVE; LOCKED -> LOCKED
 * is the one self-transition the table allows.
 */
static void dsmil_state_transition_lock(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_state_result res;

	bring_up(test, DEV(1, 0));
	KUNIT_EXPECT_EQ(test, req(ctx, DEV(0, 0), LOCK, &res), -EBUSY);
	KUNIT_EXPECT_EQ(test, res.blocker, DEV(1, 0));
	step(test, DEV(1, 0), LOCK);
	step(test, DEV(1, 0), LOCK);
	step(test, DEV(0, 0), LOCK);
	KUNIT_EXPECT_EQ(test, req(ctx, DEV(0, 0), ACT, &res), -EINVAL);
	KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_ILLEGAL);
	check_trail(test);
}

/* ---- verification through the SMI layer -------------------------------------- */

static void dsmil_state_transition_verify_failure(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	static const struct {
		int verr;	/* what the SMI layer says */
		int ret;	/* what the request returns */
		u8 state;	/* where the device ends */
	} cases[] = {
		{ -EIO, -EIO, ERR },
		{ -ETIMEDOUT, -ETIMEDOUT, ERR },
		{ -ESHUTDOWN, -ESHUTDOWN, ERR },
		{ -ENXIO, -EIO, ERR },
		{ -EBUSY, -EIO, ERR },
		{ -EINTR, -EINTR, INIT },
		{ -ERESTARTSYS, -EINTR, INIT },
	};
	const struct dsmil_audit_entry *a;
	struct dsmil_state_result res;
	unsigned int i, id;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		id = DEV(0, 0) + i;	/* OFFLINE -> INITIALIZING needs nothing */
		ctx->verify->err[id] = cases[i].verr;
		step(test, id, INIT);
		ret = req(ctx, id, READY, &res);
		KUNIT_EXPECT_EQ_MSG(test, ret, cases[i].ret, "verify %d", cases[i].verr);
		KUNIT_EXPECT_EQ(test, res.reason, DSMIL_REASON_VERIFY_FAILED);
		KUNIT_EXPECT_EQ(test, res.prev, INIT);
		KUNIT_EXPECT_EQ(test, res.state, cases[i].state);
		KUNIT_EXPECT_EQ(test, state_of(ctx, id), cases[i].state);
		KUNIT_EXPECT_EQ(test, ctx->verify->last_id, id);

		if (cases[i].state == ERR) {
			/* the refused request, then the driver's own step */
			a = last_audit(test, 1);
			KUNIT_EXPECT_EQ(test, a->to, READY);
			KUNIT_EXPECT_EQ(test, a->error, -cases[i].ret);
			KUNIT_EXPECT_EQ(test, a->source, DSMIL_SRC_IOCTL);
			a = last_audit(test, 0);
			KUNIT_EXPECT_EQ(test, a->from, INIT);
			KUNIT_EXPECT_EQ(test, a->to, ERR);
			KUNIT_EXPECT_EQ(test, a->error, 0);
			KUNIT_EXPECT_EQ(test, a->reason, DSMIL_REASON_VERIFY_FAILED);
			KUNIT_EXPECT_EQ(test, a->source, DSMIL_SRC_INTERNAL);
			/* and back once the device answers */
			ctx->verify->err[id] = 0;
			step(test, id, INIT);
		} else {
			a = last_audit(test, 0);
			KUNIT_EXPECT_EQ(test, a->error, EINTR);
			ctx->verify->err[id] = 0;
		}
		step(test, id, READY);
	}
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_VERIFY_FAILED),
			ARRAY_SIZE(cases));
	check_trail(test);
}

static void dsmil_state_transition_verify_unlocked(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int id;

	ctx->verify->check_lock = true;
	for (id = DEV(4, 0); id < DEV(5, 0); id++)
		drive(test, id, READY);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->verify->calls), 12);
	KUNIT_EXPECT_FALSE(test, ctx->verify->saw_lock);
}

struct dsmil_verify_thread {
	struct dsmil_state_test *ctx;
	unsigned int id;
	int ret;
	struct dsmil_state_result res;
	struct completion done;
};

static int dsmil_verify_thread_fn(void *data)
{
	struct dsmil_verify_thread *t = data;

	t->ret = dsmil_state_transition(t->ctx->st, t->id, READY, &t->res);
	kthread_complete_and_exit(&t->done, 0);
}

/* Start INITIALIZING -> READY of @id in a thread; return once it verifies. */
static void start_blocked_verify(struct kunit *test,
				 struct dsmil_verify_thread *t, unsigned int id)
{
	struct dsmil_state_test *ctx = test->priv;
	struct task_struct *task;

	t->ctx = ctx;
	t->id = id;
	init_completion(&t->done);
	WRITE_ONCE(ctx->verify->block_id, id);
	task = kthread_run(dsmil_verify_thread_fn, t, "dsmil-verify-test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->verify->entered,
							  10 * HZ), 0);
}

static void finish_blocked_verify(struct kunit *test,
				  struct dsmil_verify_thread *t)
{
	struct dsmil_state_test *ctx = test->priv;

	WRITE_ONCE(ctx->verify->block_id, -1);
	complete(&ctx->verify->release);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&t->done, 10 * HZ), 0);
}

/* The device moves away and back while being verified: not committed. */
static void dsmil_state_transition_verify_race(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_verify_thread *t;
	const struct dsmil_audit_entry *a;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	step(test, DEV(0, 0), INIT);
	start_blocked_verify(test, t, DEV(0, 0));

	/* The lock is free during verification: others proceed... */
	drive(test, DEV(2, 5), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 0)), INIT);
	/* ...including on the device itself (away and back: ABA). */
	step(test, DEV(0, 0), ERR);
	step(test, DEV(0, 0), INIT);

	finish_blocked_verify(test, t);
	KUNIT_EXPECT_EQ(test, t->ret, -EAGAIN);
	KUNIT_EXPECT_EQ(test, t->res.reason, DSMIL_REASON_STATE);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 0)), INIT);
	a = last_audit(test, 0);
	KUNIT_EXPECT_EQ(test, a->error, EAGAIN);
	KUNIT_EXPECT_EQ(test, a->reason, DSMIL_REASON_STATE);

	/* A verification nobody interfered with commits. */
	step(test, DEV(0, 0), READY);
	check_trail(test);
}

/* An emergency stop during a failing verification: stays LOCKED. */
static void dsmil_state_transition_verify_vs_estop(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_verify_thread *t;
	unsigned int locked, in_doubt;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	ctx->verify->err[DEV(2, 3)] = -EIO;
	step(test, DEV(2, 3), INIT);
	start_blocked_verify(test, t, DEV(2, 3));
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 2, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, locked, 36);
	finish_blocked_verify(test, t);
	KUNIT_EXPECT_EQ(test, t->ret, -EAGAIN);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(2, 3)), LOCK);
	check_trail(test);
}

/* ---- fault reports from the layers below --------------------------------------- */

static void dsmil_state_report_fault_demotes(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	static const u8 up[] = { DEV(0, 5), DEV(1, 0), DEV(2, 0), DEV(3, 0),
				 DEV(5, 0) };
	struct dsmil_audit_entry *e;
	unsigned int i, n;
	u64 next, dropped, seq0, before;

	for (i = 0; i < ARRAY_SIZE(up); i++)
		bring_up(test, up[i]);
	drive(test, DEV(3, 3), READY);

	/*
	 * 0:1 fails: 0:2 and 0:5 need it and fall back to READY; the groups
	 * need only 0:0 and stay up.
	 */
	seq0 = ctx->st->audit_next;
	before = dsmil_state_transitions(ctx->st);
	dsmil_state_report_fault(ctx->st, DEV(0, 1), DSMIL_REASON_SMI_FAULT,
				 -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 1)), ERR);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 2)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 5)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 0)), ACT);
	for (i = 1; i < ARRAY_SIZE(up); i++)
		KUNIT_EXPECT_EQ(test, state_of(ctx, up[i]), ACT);
	e = read_audit(test, seq0, &n, &next, &dropped);
	KUNIT_ASSERT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, e[0].device, DEV(0, 5));
	KUNIT_EXPECT_EQ(test, e[1].device, DEV(0, 2));
	KUNIT_EXPECT_EQ(test, e[0].reason, DSMIL_REASON_DEPENDENCY);
	KUNIT_EXPECT_EQ(test, e[2].device, DEV(0, 1));
	KUNIT_EXPECT_EQ(test, e[2].to, ERR);
	KUNIT_EXPECT_EQ(test, e[2].reason, DSMIL_REASON_SMI_FAULT);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, e[i].source, DSMIL_SRC_SMI);
	KUNIT_EXPECT_EQ(test, dsmil_state_transitions(ctx->st), before + 3);
	expect_invariant(test);

	/* 0:0 fails: every group loses its footing. */
	dsmil_state_report_fault(ctx->st, DEV(0, 0), DSMIL_REASON_SMI_FAULT,
				 -EIO);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 0)), ERR);
	for (i = 1; i < ARRAY_SIZE(up); i++)
		KUNIT_EXPECT_EQ(test, state_of(ctx, up[i]), READY);
	expect_invariant(test);

	/* A READY or INITIALIZING device goes to ERROR too... */
	dsmil_state_report_fault(ctx->st, DEV(3, 3), DSMIL_REASON_SMI_FAULT, -EIO);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(3, 3)), ERR);
	step(test, DEV(4, 4), INIT);
	dsmil_state_report_fault(ctx->st, DEV(4, 4), DSMIL_REASON_SMI_FAULT, -EIO);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(4, 4)), ERR);

	/* ...an OFFLINE, ERROR or LOCKED one keeps its state, unaudited. */
	step(test, DEV(4, 5), LOCK);
	seq0 = ctx->st->audit_next;
	dsmil_state_report_fault(ctx->st, DEV(4, 6), DSMIL_REASON_SMI_FAULT, -EIO);
	dsmil_state_report_fault(ctx->st, DEV(4, 4), DSMIL_REASON_SMI_FAULT, -EIO);
	dsmil_state_report_fault(ctx->st, DEV(4, 5), DSMIL_REASON_SMI_FAULT, -EIO);
	dsmil_state_report_fault(ctx->st, N_DEV, DSMIL_REASON_SMI_FAULT, -EIO);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(4, 6)), OFF);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(4, 5)), LOCK);
	KUNIT_EXPECT_EQ(test, ctx->st->audit_next, seq0);

	/* Faults are not refusals. */
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_SMI_FAULT), 0);
	check_trail(test);
}

/* ---- audit trail ------------------------------------------------------------------- */

static void dsmil_state_audit_fields(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	const struct dsmil_audit_entry *a;
	u64 t0, t1;

	t0 = ktime_get_real_ns();
	KUNIT_EXPECT_EQ(test, req(ctx, DEV(2, 7), READY, NULL), -EINVAL);
	step(test, DEV(2, 7), INIT);
	t1 = ktime_get_real_ns();

	a = last_audit(test, 1);
	KUNIT_EXPECT_EQ(test, a->seq, 1);
	KUNIT_EXPECT_EQ(test, a->device, DEV(2, 7));
	KUNIT_EXPECT_EQ(test, a->from, OFF);
	KUNIT_EXPECT_EQ(test, a->to, READY);
	KUNIT_EXPECT_EQ(test, a->error, EINVAL);
	KUNIT_EXPECT_EQ(test, a->reason, DSMIL_REASON_ILLEGAL);
	KUNIT_EXPECT_EQ(test, a->source, DSMIL_SRC_IOCTL);
	/* a kernel thread asked: pid 0, uid 0 */
	KUNIT_EXPECT_EQ(test, a->pid, 0);
	KUNIT_EXPECT_EQ(test, a->uid, 0);
	KUNIT_EXPECT_GE(test, a->time_ns, t0);
	KUNIT_EXPECT_LE(test, a->time_ns, t1);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(a->reserved, 0, sizeof(a->reserved)));

	a = last_audit(test, 0);
	KUNIT_EXPECT_EQ(test, a->seq, 2);
	KUNIT_EXPECT_EQ(test, a->error, 0);
	KUNIT_EXPECT_EQ(test, a->reason, DSMIL_REASON_NONE);
	KUNIT_EXPECT_GE(test, a->time_ns, (a - 1)->time_ns);
	KUNIT_EXPECT_LE(test, a->time_ns, t1);
}

static void dsmil_state_audit_copy_wrap(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_audit_entry *e;
	unsigned int i, n;
	u64 next, dropped;

	/*
	 * 300 requests; request k (seq k) asks DSMIL0D0 for state k % 3 + 2
	 * (READY, ACTIVE or ERROR), all illegal from OFFLINE.
	 */
	for (i = 1; i <= 300; i++)
		KUNIT_ASSERT_EQ(test, req(ctx, 0, i % 3 + 2, NULL), -EINVAL);

	e = read_audit(test, 0, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, DSMIL_AUDIT_DEPTH);
	KUNIT_EXPECT_EQ(test, next, 301);
	KUNIT_EXPECT_EQ(test, dropped, 300 - DSMIL_AUDIT_DEPTH);
	for (i = 0; i < n; i++) {
		u64 seq = 300 - DSMIL_AUDIT_DEPTH + 1 + i;

		KUNIT_EXPECT_EQ(test, e[i].seq, seq);
		KUNIT_EXPECT_EQ(test, e[i].to, seq % 3 + 2);
	}

	/* since_seq inside what is kept: nothing dropped */
	e = read_audit(test, 100, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 201);
	KUNIT_EXPECT_EQ(test, e[0].seq, 100);
	KUNIT_EXPECT_EQ(test, dropped, 0);
	/* since_seq older than what is kept: the gap is reported */
	e = read_audit(test, 10, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, e[0].seq, 45);
	KUNIT_EXPECT_EQ(test, dropped, 35);
	/* since_seq in the future: nothing */
	e = read_audit(test, 301, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 0);
	KUNIT_EXPECT_EQ(test, dropped, 0);
	e = read_audit(test, ~0ULL, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 0);

	/* a small buffer gets the oldest ones; paging continues from there */
	e = kunit_kcalloc(test, 10, sizeof(*e), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	n = dsmil_state_audit_copy(ctx->st, 0, e, 10, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 10);
	KUNIT_EXPECT_EQ(test, e[0].seq, 45);
	KUNIT_EXPECT_EQ(test, e[9].seq, 54);
	n = dsmil_state_audit_copy(ctx->st, e[9].seq + 1, e, 10, &next, &dropped);
	KUNIT_EXPECT_EQ(test, e[0].seq, 55);

	/* the next entry lands over the oldest */
	step(test, 0, INIT);
	e = read_audit(test, 0, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, e[0].seq, 46);
	KUNIT_EXPECT_EQ(test, e[n - 1].seq, 301);
	KUNIT_EXPECT_EQ(test, e[n - 1].to, INIT);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_ILLEGAL), 300);
}

/* ---- ioctl handlers (called as the dispatcher would, after its checks) ---------- */

static int call_ioctl(struct dsmil_state_test *ctx, unsigned int cmd, void *arg)
{
	const struct dsmil_ioctl_desc *d = dsmil_ioctl_lookup(cmd);

	if (IS_ERR(d))
		return PTR_ERR(d);
	return d->handler(ctx->dsm, arg);
}

static void dsmil_state_ioctl_lookup_table(struct kunit *test)
{
	static const struct {
		unsigned int cmd;
		unsigned int policy;
	} cmds[] = {
		{ DSMIL_IOC_DEV_INFO, 0 },
		{ DSMIL_IOC_DEV_LIST, 0 },
		{ DSMIL_IOC_DEV_TRANSITION, DSMIL_POL_ADMIN | DSMIL_POL_COPYOUT_ERR },
		{ DSMIL_IOC_GROUP_ESTOP, DSMIL_POL_ADMIN },
		{ DSMIL_IOC_AUDIT_READ, DSMIL_POL_ADMIN },
	};
	const struct dsmil_ioctl_desc *d;
	struct dsmil_transition t = {};
	struct dsmil_group_stop gs = {};
	unsigned int i;

	KUNIT_EXPECT_EQ(test, dsmil_state_ioctls.count, ARRAY_SIZE(cmds));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		d = dsmil_ioctl_lookup(cmds[i].cmd);
		KUNIT_ASSERT_FALSE(test, IS_ERR(d));
		KUNIT_EXPECT_EQ(test, d->policy, cmds[i].policy);
		KUNIT_EXPECT_NOT_NULL(test, d->name);
	}

	/* every reserved byte of the transition and stop arguments is checked */
	d = dsmil_ioctl_lookup(DSMIL_IOC_DEV_TRANSITION);
	KUNIT_EXPECT_NULL(test, dsmil_ioctl_bad_reserved(d, &t));
	t.reserved1 = 1;
	KUNIT_EXPECT_NOT_NULL(test, dsmil_ioctl_bad_reserved(d, &t));
	t.reserved1 = 0;
	t.reserved0 = 1;
	KUNIT_EXPECT_NOT_NULL(test, dsmil_ioctl_bad_reserved(d, &t));
	t.reserved0 = 0;
	t.reserved[1] = 1ULL << 63;
	KUNIT_EXPECT_NOT_NULL(test, dsmil_ioctl_bad_reserved(d, &t));
	d = dsmil_ioctl_lookup(DSMIL_IOC_GROUP_ESTOP);
	gs.reserved0[2] = 1;
	KUNIT_EXPECT_NOT_NULL(test, dsmil_ioctl_bad_reserved(d, &gs));
}

static void dsmil_state_ioc_dev_transition_reply(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_transition t = { .id = DEV(0, 1), .target = ACT };
	struct dsmil_group_stop gs = { .group = 4 };
	struct dsmil_dev_info di = { .id = DEV(0, 1) };
	u64 bad_input = atomic64_read(&ctx->dsm->bad_input);

	/* refused: the answer carries the reason */
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_TRANSITION, &t), -EINVAL);
	KUNIT_EXPECT_EQ(test, t.prev, OFF);
	KUNIT_EXPECT_EQ(test, t.state, OFF);
	KUNIT_EXPECT_EQ(test, t.reason, DSMIL_REASON_ILLEGAL);

	t.target = INIT;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_TRANSITION, &t), 0);
	KUNIT_EXPECT_EQ(test, t.prev, OFF);
	KUNIT_EXPECT_EQ(test, t.state, INIT);
	KUNIT_EXPECT_EQ(test, t.reason, DSMIL_REASON_NONE);

	/* out of range: bad-arg, audited only when the device exists */
	t.target = DSMIL_DEV_NUM_STATES;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_TRANSITION, &t), -EINVAL);
	KUNIT_EXPECT_EQ(test, t.reason, DSMIL_REASON_BAD_ARG);
	KUNIT_EXPECT_EQ(test, t.state, INIT);
	KUNIT_EXPECT_EQ(test, last_audit(test, 0)->to, DSMIL_DEV_NUM_STATES);
	t.id = N_DEV;
	t.target = INIT;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_TRANSITION, &t), -EINVAL);
	KUNIT_EXPECT_EQ(test, t.reason, DSMIL_REASON_BAD_ARG);
	t.id = 0xffff;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_TRANSITION, &t), -EINVAL);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_BAD_ARG), 3);
	KUNIT_EXPECT_EQ(test, ctx->st->audit_next, 4);

	/* describe */
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_INFO, &di), 0);
	KUNIT_EXPECT_EQ(test, di.state, INIT);
	KUNIT_EXPECT_EQ(test, di.transitions, 1);
	KUNIT_EXPECT_EQ(test, di.group_state, DSMIL_GROUP_INITIALIZING);
	KUNIT_EXPECT_STREQ(test, (char *)di.name, "DSMIL0D1");
	di.id = N_DEV;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_INFO, &di), -EINVAL);

	/* emergency stop */
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_GROUP_ESTOP, &gs), 0);
	KUNIT_EXPECT_EQ(test, gs.locked, 24);
	gs.group = DSMIL_NUM_GROUPS;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_GROUP_ESTOP, &gs), -EINVAL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->dsm->bad_input), bad_input + 2);
	check_trail(test);
}

static void dsmil_state_ioc_dev_list_copy(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	size_t size = (N_DEV + 1) * sizeof(struct dsmil_dev_info);
	unsigned long ubuf = dsmil_kunit_user_buf(test, size);
	struct dsmil_dev_list dl = { .buf = ubuf, .count = 5 };
	struct dsmil_dev_info *di;
	u8 states[N_DEV];
	unsigned int id;

	di = kunit_kzalloc(test, size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, di);
	bring_up(test, DEV(0, 3));

	/* a short buffer: exactly @count entries written, nothing past them */
	memset(di, 0xa5, size);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)ubuf, di, size), 0);
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_LIST, &dl), 0);
	KUNIT_EXPECT_EQ(test, dl.count, 5);
	KUNIT_EXPECT_EQ(test, dl.total, N_DEV);
	KUNIT_ASSERT_EQ(test, copy_from_user(di, (void __user *)ubuf, size), 0);
	KUNIT_EXPECT_STREQ(test, (char *)di[4].name, "DSMIL0D4");
	KUNIT_EXPECT_EQ(test, di[5].id, 0xa5a5);

	/* a big one: all of them, as DEV_INFO describes them */
	dl.count = 1000;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_LIST, &dl), 0);
	KUNIT_EXPECT_EQ(test, dl.count, N_DEV);
	KUNIT_ASSERT_EQ(test, copy_from_user(di, (void __user *)ubuf, size), 0);
	dsmil_state_snapshot(ctx->st, states);
	for (id = 0; id < N_DEV; id++) {
		struct dsmil_dev_info one = { .id = id };

		KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_INFO, &one), 0);
		KUNIT_EXPECT_MEMEQ(test, &di[id], &one, sizeof(one));
		KUNIT_EXPECT_EQ(test, di[id].state, states[id]);
	}
	KUNIT_EXPECT_EQ(test, di[DEV(0, 3)].state, ACT);
	KUNIT_EXPECT_EQ(test, di[DEV(0, 3)].group_state, DSMIL_GROUP_ACTIVE);

	dl.count = 0;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_LIST, &dl), -EINVAL);
	dl.count = 3;
	dl.buf = 0;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_DEV_LIST, &dl), -EFAULT);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->dsm->bad_input), 2);
}

static void dsmil_state_ioc_audit_read_copy(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	size_t size = DSMIL_AUDIT_DEPTH * sizeof(struct dsmil_audit_entry);
	unsigned long ubuf = dsmil_kunit_user_buf(test, size);
	struct dsmil_audit_read ar = { .buf = ubuf, .count = 2 };
	struct dsmil_audit_entry *e, *k;
	unsigned int n;
	u64 next, dropped;

	e = kunit_kzalloc(test, size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	bring_up(test, DEV(1, 1));
	KUNIT_EXPECT_EQ(test, req(ctx, DEV(0, 0), READY, NULL), -EBUSY);

	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_AUDIT_READ, &ar), 0);
	KUNIT_EXPECT_EQ(test, ar.count, 2);
	KUNIT_EXPECT_EQ(test, ar.next_seq, 8);
	KUNIT_EXPECT_EQ(test, ar.dropped, 0);
	ar.count = 100;
	ar.since_seq = 3;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_AUDIT_READ, &ar), 0);
	KUNIT_EXPECT_EQ(test, ar.count, 5);
	KUNIT_ASSERT_EQ(test, copy_from_user(e, (void __user *)ubuf, size), 0);
	k = read_audit(test, 3, &n, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 5);
	KUNIT_EXPECT_MEMEQ(test, e, k, n * sizeof(*e));
	KUNIT_EXPECT_EQ(test, e[4].error, EBUSY);
	KUNIT_EXPECT_EQ(test, e[4].reason, DSMIL_REASON_DEPENDENT);

	ar.count = 0;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_AUDIT_READ, &ar), -EINVAL);
	ar.count = 10;
	ar.buf = 0;
	ar.since_seq = 0;
	KUNIT_EXPECT_EQ(test, call_ioctl(ctx, DSMIL_IOC_AUDIT_READ, &ar), -EFAULT);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->dsm->bad_input), 2);
}

/* ---- group state, summary, counters ---------------------------------------------- */

static void dsmil_state_group_derived(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	u8 s[N_DEV] = {};
	unsigned int i, locked, in_doubt;

	/* synthetic member states of group 1 */
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_DISABLED);
	s[DEV(1, 7)] = INIT;
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_INITIALIZING);
	s[DEV(1, 0)] = READY;
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_READY);
	s[DEV(1, 0)] = ACT;
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_ACTIVE);
	s[DEV(1, 7)] = ERR;
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_ERROR);
	s[DEV(1, 7)] = LOCK;
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_ERROR);
	for (i = 0; i < 12; i++)
		s[DEV(1, i)] = LOCK;
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 1), DSMIL_GROUP_EMERGENCY_STOP);
	/* neighbours unaffected */
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 0), DSMIL_GROUP_DISABLED);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 2), DSMIL_GROUP_DISABLED);

	/* the same through the real machine, on group 3 */
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 3), DSMIL_GROUP_DISABLED);
	step(test, DEV(3, 4), INIT);
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 3), DSMIL_GROUP_INITIALIZING);
	drive(test, DEV(3, 0), READY);
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 3), DSMIL_GROUP_READY);
	bring_up(test, DEV(3, 0));
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 3), DSMIL_GROUP_ACTIVE);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 0), DSMIL_GROUP_ACTIVE);
	step(test, DEV(3, 4), ERR);
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 3), DSMIL_GROUP_ERROR);
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 3, &locked, &in_doubt), 0);
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 3), DSMIL_GROUP_EMERGENCY_STOP);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 5), DSMIL_GROUP_EMERGENCY_STOP);
	KUNIT_EXPECT_EQ(test, dsmil_state_group(s, 0), DSMIL_GROUP_ACTIVE);
}

static void dsmil_state_format_summary_fits(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	char *buf, *expect;
	unsigned int g, i, id;
	u8 s[N_DEV];
	int len, elen = 0;

	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	expect = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, expect);

	bring_up(test, DEV(2, 0));
	bring_up(test, DEV(2, 5));
	drive(test, DEV(4, 11), ERR);
	drive(test, DEV(5, 10), LOCK);
	len = dsmil_state_format_summary(ctx->st, buf, PAGE_SIZE);
	dsmil_state_snapshot(ctx->st, s);
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		static const char *const gname[] = {
			"DISABLED", "INITIALIZING", "READY", "ACTIVE", "ERROR",
			"EMERGENCY_STOP",
		};

		elen += scnprintf(expect + elen, PAGE_SIZE - elen,
				  "group=%u state=%s", g,
				  gname[dsmil_state_group(s, g)]);
		for (i = 0; i < 12; i++)
			elen += scnprintf(expect + elen, PAGE_SIZE - elen,
					  " DSMIL%uD%X=%s", g, i,
					  dsmil_state_name(s[DEV(g, i)]));
		elen += scnprintf(expect + elen, PAGE_SIZE - elen, "\n");
	}
	KUNIT_EXPECT_EQ(test, len, elen);
	KUNIT_EXPECT_STREQ(test, buf, expect);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "group=2 state=ACTIVE DSMIL2D0=ACTIVE"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, " DSMIL4DB=ERROR\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "group=5 state=ERROR"));

	/* the longest names everywhere still fit a page */
	for (id = 0; id < N_DEV; id++)
		if (state_of(ctx, id) == OFF)
			step(test, id, INIT);
	len = dsmil_state_format_summary(ctx->st, buf, PAGE_SIZE);
	KUNIT_EXPECT_LT(test, len, 2048);
	KUNIT_EXPECT_EQ(test, (int)strlen(buf), len);
}

static void dsmil_state_describe_counters(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_dev_info di;
	u8 s[N_DEV];
	u64 sum = 0;
	unsigned int id, locked, in_doubt;

	bring_up(test, DEV(5, 2));	/* 0:0 1:0 2:0 3:0 4:0 5:2: 18 */
	KUNIT_EXPECT_EQ(test, req(ctx, DEV(0, 0), ERR, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, req(ctx, DEV(0, 3), ACT, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 4, &locked, &in_doubt), 0);
	KUNIT_EXPECT_EQ(test, dsmil_state_transitions(ctx->st), 18 + 24);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_DEPENDENT), 1);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_ILLEGAL), 1);

	dsmil_state_snapshot(ctx->st, s);
	for (id = 0; id < N_DEV; id++) {
		dsmil_state_describe(ctx->st, id, s, &di);
		sum += di.transitions;
	}
	KUNIT_EXPECT_EQ(test, sum, dsmil_state_transitions(ctx->st));
	dsmil_state_describe(ctx->st, DEV(5, 2), s, &di);
	KUNIT_EXPECT_EQ(test, di.transitions, 4);	/* up 3, locked 1 */
	check_trail(test);
}

/* ---- unload --------------------------------------------------------------------------- */

static void dsmil_state_shutdown_unload(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	struct dsmil_audit_entry *e;
	unsigned int i, n, locked, in_doubt, prev_dev = N_DEV;
	u64 next, dropped, seq0;
	u8 s[N_DEV];

	bring_up(test, DEV(0, 8));
	bring_up(test, DEV(5, 0));
	drive(test, DEV(0, 9), READY);
	drive(test, DEV(3, 7), INIT);
	drive(test, DEV(4, 7), ERR);
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 5, &locked, &in_doubt), 0);
	seq0 = ctx->st->audit_next;

	dsmil_state_shutdown(ctx->st);
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(s, OFF, N_DEV));

	/* dependents first: device ids never increase along the trail */
	e = read_audit(test, seq0, &n, &next, &dropped);
	KUNIT_EXPECT_GT(test, n, 0);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, e[i].source, DSMIL_SRC_UNLOAD);
		KUNIT_EXPECT_EQ(test, e[i].reason, DSMIL_REASON_UNLOAD);
		KUNIT_EXPECT_LE(test, e[i].device, prev_dev);
		/* an ACTIVE device is deactivated before it is released */
		if (e[i].from == ACT)
			KUNIT_EXPECT_EQ(test, e[i].to, READY);
		else
			KUNIT_EXPECT_EQ(test, e[i].to, OFF);
		prev_dev = e[i].device;
	}
	check_trail(test);

	/* afterwards nothing moves, and doing it again changes nothing */
	KUNIT_EXPECT_EQ(test, req(ctx, 0, INIT, NULL), -ENODEV);
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 0, &locked, &in_doubt), -ENODEV);
	seq0 = ctx->st->audit_next;
	dsmil_state_report_fault(ctx->st, 0, DSMIL_REASON_SMI_FAULT, -EIO);
	dsmil_state_shutdown(ctx->st);
	KUNIT_EXPECT_EQ(test, ctx->st->audit_next, seq0);
}

/*
 * Resume: devices with a token that were READY or ACTIVE go back to
 * INITIALIZING (dependents first, ACTIVE ones that need them to READY), the
 * others keep their state; the usual verification brings them back.
 */
static void dsmil_state_resume_reverify(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	static const unsigned int order[] = {
		DEV(1, 5), DEV(1, 3), DEV(0, 8), DEV(0, 2), DEV(0, 1), DEV(0, 0),
	};
	struct dsmil_audit_entry *e;
	unsigned int i, n, demoted, calls;
	u64 next, dropped, seq0;
	u8 s[N_DEV];

	bring_up(test, DEV(0, 8));	/* 0.0 (token), 0.1, 0.2, 0.8 ACTIVE */
	bring_up(test, DEV(1, 5));	/* needs 0.0 */
	drive(test, DEV(1, 3), READY);	/* token */
	drive(test, DEV(1, 4), READY);	/* no token */
	drive(test, DEV(3, 6), INIT);	/* token, not verified yet */
	drive(test, DEV(4, 6), ERR);	/* token */
	drive(test, DEV(2, 9), LOCK);	/* token */
	seq0 = ctx->st->audit_next;

	KUNIT_EXPECT_EQ(test, dsmil_state_resume(ctx->st, &demoted), 2);
	KUNIT_EXPECT_EQ(test, demoted, 4);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 0)), INIT);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(1, 3)), INIT);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 1)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 2)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(0, 8)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(1, 5)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(1, 4)), READY);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(3, 6)), INIT);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(4, 6)), ERR);
	KUNIT_EXPECT_EQ(test, state_of(ctx, DEV(2, 9)), LOCK);
	dsmil_state_snapshot(ctx->st, s);
	KUNIT_EXPECT_EQ(test, invariant_violation(s), -1);

	/* One step each, dependents first, all audited as the resume's. */
	e = read_audit(test, seq0, &n, &next, &dropped);
	KUNIT_ASSERT_EQ(test, n, ARRAY_SIZE(order));
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, e[i].device, order[i]);
		KUNIT_EXPECT_EQ(test, e[i].source, DSMIL_SRC_RESUME);
		KUNIT_EXPECT_EQ(test, e[i].reason, DSMIL_REASON_RESUME);
		KUNIT_EXPECT_EQ(test, e[i].error, 0);
	}
	check_trail(test);

	/* Nothing reaches a device to verify again... */
	KUNIT_EXPECT_EQ(test, dsmil_state_check_access(ctx->st, DEV(0, 0), false),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, DEV(1, 3), false),
			-ENODEV);
	/* ...until the existing verification has run again. */
	calls = atomic_read(&ctx->verify->calls);
	step(test, DEV(0, 0), READY);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->verify->calls), calls + 1);
	KUNIT_EXPECT_EQ(test, ctx->verify->last_id, DEV(0, 0));
	KUNIT_EXPECT_EQ(test, dsmil_state_check_access(ctx->st, DEV(0, 0), false), 0);
	step(test, DEV(0, 0), ACT);

	/* A second resume with nothing verified changes nothing more. */
	seq0 = ctx->st->audit_next;
	KUNIT_EXPECT_EQ(test, dsmil_state_resume(ctx->st, &demoted), 1);
	KUNIT_EXPECT_EQ(test, demoted, 0);
	KUNIT_EXPECT_EQ(test, ctx->st->audit_next, seq0 + 1);
}

/* ---- races ------------------------------------------------------------------------------ */

struct dsmil_race_thread {
	struct dsmil_state_test *ctx;
	unsigned int id;
	u8 a, b;		/* toggles between these */
	int refusal;		/* the errno a refusal must have */
	int tolerated;		/* another errno allowed (0: none) */
	bool fault;		/* report faults instead of deactivating */
	bool may_starve;	/* need not succeed (others may win always) */
	u8 settle;		/* state to leave the device in (0: as it is) */
	unsigned int iters;
	unsigned long ok, refused, tolerated_n, unexpected;
	int last_unexpected;
	struct completion *start;
	struct completion done;
};

static bool race_must_go_on(const struct dsmil_race_thread *t,
			    unsigned long deadline)
{
	return !t->ok && !t->may_starve && time_before(jiffies, deadline);
}

static int dsmil_race_fn(void *data)
{
	struct dsmil_race_thread *t = data;
	struct dsmil_state *st = t->ctx->st;
	struct dsmil_state_result res;
	unsigned long deadline;
	unsigned int i;
	int ret;

	wait_for_completion(t->start);
	/*
	 * Past its iterations, a thread that must succeed goes on until it
	 * has (bounded in time): how often opposite requests meet depends on
	 * how the vCPUs are scheduled, and a busy host can run one thread's
	 * whole loop while another sits in the state that blocks it.  The
	 * others settle in a state that lets it through.
	 */
	deadline = jiffies + 30 * HZ;
	for (i = 0; i < t->iters || race_must_go_on(t, deadline); i++) {
		u8 cur = READ_ONCE(st->dev[t->id].state);

		if (t->fault && cur == ACT) {
			dsmil_state_report_fault(st, t->id,
						 DSMIL_REASON_SMI_FAULT, -EIO);
			ret = 0;
		} else if (t->fault) {
			/* ERROR -> INITIALIZING -> READY -> ACTIVE */
			ret = dsmil_state_transition(st, t->id,
						     cur == ERR ? INIT :
						     cur == INIT ? READY : ACT,
						     &res);
		} else {
			ret = dsmil_state_transition(st, t->id,
						     cur == t->a ? t->b : t->a,
						     &res);
		}
		if (!ret) {
			t->ok++;
		} else if (ret == t->refusal) {
			t->refused++;
		} else if (t->tolerated && ret == t->tolerated) {
			t->tolerated_n++;
		} else {
			t->unexpected++;
			t->last_unexpected = ret;
		}
		/*
		 * Stay a random while in the new state, so that the threads'
		 * states overlap and their opposite requests meet, rather
		 * than each seeing the other between two of its requests.
		 */
		udelay(get_random_u32_below(20));
		cond_resched();
	}
	if (t->settle && READ_ONCE(st->dev[t->id].state) != t->settle &&
	    !dsmil_state_transition(st, t->id, t->settle, &res))
		t->ok++;
	kthread_complete_and_exit(&t->done, 0);
}

/*
 * Run the threads; meanwhile check the invariant on consistent snapshots
 * for as long as they run.  Returns the number of checks made.
 */
static unsigned long run_race(struct kunit *test, struct dsmil_race_thread *t,
			      unsigned int nr)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned long checks = 0, violations = 0, deadline;
	unsigned int i, running, started = 0;
	struct completion *start;
	int bad, first_bad = -1;
	u8 s[N_DEV];

	start = kunit_kzalloc(test, sizeof(*start), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, start);
	init_completion(start);
	for (i = 0; i < nr; i++) {
		struct task_struct *task;

		t[i].ctx = ctx;
		t[i].start = start;
		init_completion(&t[i].done);
		task = kthread_run(dsmil_race_fn, &t[i], "dsmil-race-%u", i);
		if (IS_ERR(task))
			break;
		started++;
	}
	/* let the ones that started run to their end in any case */
	complete_all(start);
	KUNIT_ASSERT_EQ(test, started, nr);

	deadline = jiffies + 120 * HZ;
	do {
		dsmil_state_snapshot(ctx->st, s);
		bad = invariant_violation(s);
		if (bad >= 0 && !violations++)
			first_bad = bad;
		checks++;
		running = 0;
		for (i = 0; i < nr; i++)
			running += !completion_done(&t[i].done);
		cond_resched();
	} while (running && time_before(jiffies, deadline));

	for (i = 0; i < nr; i++)
		KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&t[i].done,
								  10 * HZ), 0);
	KUNIT_EXPECT_EQ_MSG(test, violations, 0,
			    "first: DSMIL%uD%X ACTIVE without its dependencies",
			    first_bad / 12, first_bad % 12);
	for (i = 0; i < nr; i++) {
		KUNIT_EXPECT_EQ_MSG(test, t[i].unexpected, 0,
				    "DSMIL%uD%X: unexpected errno %d",
				    t[i].id / 12, t[i].id % 12,
				    t[i].last_unexpected);
		if (!t[i].may_starve)
			KUNIT_EXPECT_GT(test, t[i].ok, 0);
	}
	expect_invariant(test);
	for (i = 0; i < nr; i++)
		kunit_info(test, "DSMIL%uD%X: %lu accepted, %lu refused, %lu raced\n",
			   t[i].id / 12, t[i].id % 12, t[i].ok, t[i].refused,
			   t[i].tolerated_n);
	kunit_info(test, "%lu invariant checks while racing\n", checks);
	return checks;
}

/*
 * One thread takes DSMIL0D0 down and up while two others bring its
 * dependents DSMIL0D1 and DSMIL1D0 up and down.  Opposite transitions on
 * dependent devices: whichever gets the lock first wins, the other is
 * refused, and no snapshot ever shows a dependent ACTIVE with 0:0 down.
 */
static void dsmil_state_transition_race_opposite(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	static const struct dsmil_race_thread init[3] = {
		{ .id = DEV(0, 0), .a = ACT, .b = READY, .refusal = -EBUSY,
		  .settle = ACT },
		{ .id = DEV(0, 1), .a = READY, .b = ACT, .refusal = -ENOLINK,
		  .settle = READY },
		{ .id = DEV(1, 0), .a = READY, .b = ACT, .refusal = -ENOLINK,
		  .settle = READY },
	};
	struct dsmil_race_thread *t;
	unsigned long checks;
	unsigned int i;

	/* not on the stack: threads must never outlive what they use */
	t = kunit_kmalloc(test, sizeof(init), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	memcpy(t, init, sizeof(init));

	bring_up(test, DEV(0, 0));
	drive(test, DEV(0, 1), READY);
	drive(test, DEV(1, 0), READY);
	for (i = 0; i < ARRAY_SIZE(init); i++)
		t[i].iters = 3000;

	checks = run_race(test, t, ARRAY_SIZE(init));
	KUNIT_EXPECT_GT(test, checks, 100);
	/* they did get in each other's way, and every refusal was counted */
	KUNIT_EXPECT_GT(test, t[0].refused + t[1].refused + t[2].refused, 0);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_DEPENDENT), t[0].refused);
	KUNIT_EXPECT_EQ(test, refusals(ctx, DSMIL_REASON_DEPENDENCY),
			t[1].refused + t[2].refused);
	KUNIT_EXPECT_EQ(test, dsmil_state_transitions(ctx->st),
			7 + t[0].ok + t[1].ok + t[2].ok);
}

/*
 * Faults reported on DSMIL0D0 (which demote its ACTIVE dependents in the
 * same step) and its recovery race with threads bringing two of its
 * dependents up and down.
 */
static void dsmil_state_report_fault_race(struct kunit *test)
{
	static const struct dsmil_race_thread init[3] = {
		{ .id = DEV(0, 0), .fault = true },
		/* demoted under their feet, READY -> READY is illegal: -EINVAL */
		{ .id = DEV(0, 1), .a = READY, .b = ACT, .refusal = -ENOLINK,
		  .tolerated = -EINVAL, .may_starve = true },
		{ .id = DEV(1, 0), .a = READY, .b = ACT, .refusal = -ENOLINK,
		  .tolerated = -EINVAL, .may_starve = true },
	};
	struct dsmil_race_thread *t;
	unsigned int i;

	t = kunit_kmalloc(test, sizeof(init), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	memcpy(t, init, sizeof(init));
	bring_up(test, DEV(0, 0));
	drive(test, DEV(0, 1), READY);
	drive(test, DEV(1, 0), READY);
	for (i = 0; i < ARRAY_SIZE(init); i++)
		t[i].iters = 2000;
	run_race(test, t, ARRAY_SIZE(init));
	/* DSMIL0D0 went round ERROR -> INITIALIZING -> READY -> ACTIVE */
	KUNIT_EXPECT_GT(test, t[0].ok, 1000);
}

/* ---- the hand-off fence ----------------------------------------------------- */

struct estop_thread {
	struct dsmil_state *st;
	unsigned int group, locked, in_doubt;
	bool *ended;		/* set by the test just before handoff_end */
	bool saw_ended;
	int ret;
	struct completion done;
};

static int estop_thread_fn(void *data)
{
	struct estop_thread *t = data;

	t->ret = dsmil_state_estop(t->st, t->group, &t->locked, &t->in_doubt);
	t->saw_ended = READ_ONCE(*t->ended);
	complete(&t->done);
	return 0;
}

static int fake_policy_err;

static int fake_write_policy(struct dsmil_state *st)
{
	return READ_ONCE(fake_policy_err);
}

static unsigned int first_unquarantined(unsigned int group)
{
	unsigned int i;

	for (i = 0; i < DSMIL_DEVS_PER_GROUP; i++)
		if (!spec_quarantined(DEV(group, i)))
			return DEV(group, i);
	return N_DEV;
}

/*
 * A write that passed its hand-off before an emergency stop holds the stop
 * until it is done; a hand-off after the stop sees LOCKED.  So when the stop
 * returns (in_doubt 0) nothing more is written to the devices it locked.
 */
static void dsmil_state_handoff_estop_fence(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int a = first_unquarantined(0);
	struct estop_thread t = { .st = ctx->st, .group = 0 };
	struct task_struct *task;
	bool ended = false;
	unsigned int i;
	u64 refused;

	KUNIT_ASSERT_LT(test, a, N_DEV);
	bring_up(test, a);
	KUNIT_ASSERT_EQ(test, state_of(ctx, a), ACT);
	KUNIT_ASSERT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, true), 0);
	KUNIT_EXPECT_EQ(test, ctx->st->writing[a], 1U);

	t.ended = &ended;
	init_completion(&t.done);
	task = kthread_run(estop_thread_fn, &t, "dsmil-kunit-estop");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));

	/* The stop has locked the devices but waits for the write. */
	for (i = 0; i < 2000 && state_of(ctx, a) != LOCK; i++)
		usleep_range(1000, 2000);
	KUNIT_ASSERT_EQ(test, state_of(ctx, a), LOCK);
	KUNIT_EXPECT_FALSE(test, wait_for_completion_timeout(&t.done,
							     msecs_to_jiffies(200)));
	refused = atomic64_read(&ctx->st->handoff_refused);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, true),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, false),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->st->handoff_refused),
			refused + 2);
	KUNIT_EXPECT_EQ(test, ctx->st->writing[a], 1U);

	WRITE_ONCE(ended, true);
	dsmil_state_handoff_end(ctx->st, a, true);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&t.done,
							    msecs_to_jiffies(5000)));
	KUNIT_EXPECT_EQ(test, t.ret, 0);
	KUNIT_EXPECT_TRUE(test, t.saw_ended);
	KUNIT_EXPECT_EQ(test, t.in_doubt, 0U);
	KUNIT_EXPECT_GT(test, t.locked, 0U);
	KUNIT_EXPECT_EQ(test, ctx->st->writing[a], 0U);
}

/* A write that never comes back: the stop gives up and says so. */
static void dsmil_state_handoff_estop_in_doubt(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int b = first_unquarantined(5), locked, in_doubt;
	unsigned long t0;

	KUNIT_ASSERT_LT(test, b, N_DEV);
	bring_up(test, b);
	KUNIT_ASSERT_EQ(test, dsmil_state_handoff_begin(ctx->st, b, true), 0);
	t0 = jiffies;
	KUNIT_EXPECT_EQ(test, dsmil_state_estop(ctx->st, 5, &locked,
						&in_doubt), 0);
	KUNIT_EXPECT_GE(test, jiffies_to_msecs(jiffies - t0),
			DSMIL_ESTOP_DRAIN_MS - jiffies_to_msecs(1));
	KUNIT_EXPECT_EQ(test, in_doubt, 1U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->st->in_doubt), 1);
	dsmil_state_handoff_end(ctx->st, b, true);
	KUNIT_EXPECT_EQ(test, ctx->st->writing[b], 0U);

	/* Reads are not counted: a stop never waits for them. */
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, 0, false),
			state_of(ctx, 0) == ACT || state_of(ctx, 0) == READY ?
			0 : -ENODEV);
	KUNIT_EXPECT_EQ(test, ctx->st->writing[0], 0U);
}

/* The rest of the rule at the hand-off: quarantine, ids, the write policy. */
static void dsmil_state_handoff_rules(struct kunit *test)
{
	struct dsmil_state_test *ctx = test->priv;
	unsigned int a = first_unquarantined(0), id;

	bring_up(test, a);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, N_DEV, false),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, ~0U, true),
			-EINVAL);
	for (id = 0; id < N_DEV; id++) {
		if (!spec_quarantined(id))
			continue;
		KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, id,
								true),
				-EPERM);
		KUNIT_EXPECT_EQ(test, ctx->st->writing[id], 0U);
	}

	/* allow_writes cleared or lockdown raised while the request waited */
	ctx->st->write_policy = fake_write_policy;
	WRITE_ONCE(fake_policy_err, -EACCES);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, true),
			-EACCES);
	WRITE_ONCE(fake_policy_err, -EPERM);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, true),
			-EPERM);
	KUNIT_EXPECT_EQ(test, ctx->st->writing[a], 0U);
	/* the policy is about writes */
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, false), 0);
	WRITE_ONCE(fake_policy_err, 0);
	KUNIT_EXPECT_EQ(test, dsmil_state_handoff_begin(ctx->st, a, true), 0);
	dsmil_state_handoff_end(ctx->st, a, true);
	ctx->st->write_policy = NULL;
}

static struct kunit_case dsmil_state_cases[] = {
	KUNIT_CASE_PARAM(dsmil_state_transition_pair, dsmil_state_transition_pair_gen_params),
	KUNIT_CASE(dsmil_state_describe_device_table),
	KUNIT_CASE_PARAM(dsmil_state_transition_dependency,
			 dsmil_state_transition_dependency_gen_params),
	KUNIT_CASE(dsmil_state_transition_no_extra_dependency),
	KUNIT_CASE(dsmil_state_transition_quarantine),
	KUNIT_CASE(dsmil_state_check_access_by_state),
	KUNIT_CASE_PARAM(dsmil_state_estop_group, dsmil_state_estop_group_gen_params),
	KUNIT_CASE(dsmil_state_estop_repeat_and_recover),
	KUNIT_CASE(dsmil_state_transition_lock),
	KUNIT_CASE(dsmil_state_transition_verify_failure),
	KUNIT_CASE(dsmil_state_transition_verify_unlocked),
	KUNIT_CASE(dsmil_state_transition_verify_race),
	KUNIT_CASE(dsmil_state_transition_verify_vs_estop),
	KUNIT_CASE(dsmil_state_report_fault_demotes),
	KUNIT_CASE(dsmil_state_audit_fields),
	KUNIT_CASE(dsmil_state_audit_copy_wrap),
	KUNIT_CASE(dsmil_state_ioctl_lookup_table),
	KUNIT_CASE(dsmil_state_ioc_dev_transition_reply),
	KUNIT_CASE(dsmil_state_ioc_dev_list_copy),
	KUNIT_CASE(dsmil_state_ioc_audit_read_copy),
	KUNIT_CASE(dsmil_state_group_derived),
	KUNIT_CASE(dsmil_state_format_summary_fits),
	KUNIT_CASE(dsmil_state_describe_counters),
	KUNIT_CASE(dsmil_state_shutdown_unload),
	KUNIT_CASE(dsmil_state_resume_reverify),
	KUNIT_CASE(dsmil_state_handoff_estop_fence),
	KUNIT_CASE_SLOW(dsmil_state_handoff_estop_in_doubt),
	KUNIT_CASE(dsmil_state_handoff_rules),
	KUNIT_CASE_SLOW(dsmil_state_transition_race_opposite),
	KUNIT_CASE_SLOW(dsmil_state_report_fault_race),
	{}
};

static struct kunit_suite dsmil_state_suite = {
	.name = "dsmil_state",
	.init = dsmil_state_test_init,
	.test_cases = dsmil_state_cases,
};

kunit_test_suite(dsmil_state_suite);
