// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the write audit (dsmil_audit.c) and the audited token
 * write of the SMI engine (dsmil_smi_token_write_audited()).
 *
 * The ring is exercised directly (fields, wrap-around, since/dropped, the
 * read ioctl); token writes go through an instance on the SMI simulator,
 * whose own per-token counters prove what reached it: the read before, the
 * write and the read-back of a write that passed its hand-off, nothing at
 * all for one refused there.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "../dsmil_priv.h"
#include "../dsmil_smi_priv.h"
#include "dsmil_test_util.h"

/* DSMIL0D0 owns token 0x0480; the simulator starts it at 0xd5000480. */
#define TOK0		DSMIL_TOKEN_BASE
#define SIM_VALUE0	(0xd5000000U | TOK0)

struct audit_t {
	struct dsmil *dsm;
	void *sim;
};

static int dsmil_audit_test_init(struct kunit *test)
{
	struct audit_t *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	struct dsmil_config cfg = dsmil_kunit_cfg;

	if (!t)
		return -ENOMEM;
	test->priv = t;
	t->sim = dsmil_smi_sim_create();
	if (!t->sim)
		return -ENOMEM;
	if (kunit_add_action_or_reset(test, dsmil_smi_sim_destroy, t->sim))
		return -ENOMEM;
	t->dsm = dsmil_kunit_create_with(test, &cfg, &dsmil_smi_sim_ops, t->sim);
	return 0;
}

/* Every record kept, oldest first; the count. */
static unsigned int audit_all(struct kunit *test, struct dsmil *dsm,
			      struct dsmil_write_record *out)
{
	u64 next, dropped;

	return dsmil_waudit_copy(&dsm->waudit, 0, out,
				 DSMIL_WRITE_AUDIT_DEPTH, &next, &dropped);
}

static struct dsmil_write_record *audit_buf(struct kunit *test)
{
	struct dsmil_write_record *r;

	r = kunit_kcalloc(test, DSMIL_WRITE_AUDIT_DEPTH, sizeof(*r),
			  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	return r;
}

/* A record made here names this task and keeps what it was given. */
static void dsmil_audit_add_fields(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_write_record rec = {
		.kind = DSMIL_WREC_TOKEN, .stage = DSMIL_WREC_AT_READBACK,
		.request_id = 77, .device = 3, .token = TOK0 + 3,
		.flags = DSMIL_WREC_F_OLD | DSMIL_WREC_F_VALUE |
			 DSMIL_WREC_F_READBACK,
		.old_value = 1, .value = 2, .readback = 2,
		.seq = 999, .pid = 12345,	/* set by the audit, not us */
	};
	char comm[TASK_COMM_LEN];
	u64 before = ktime_get_real_ns();

	dsmil_waudit_add(&t->dsm->waudit, &rec);
	rec.request_id = 78;
	dsmil_waudit_add(&t->dsm->waudit, &rec);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 2);

	KUNIT_EXPECT_EQ(test, r[0].seq, 1);
	KUNIT_EXPECT_EQ(test, r[1].seq, 2);
	KUNIT_EXPECT_EQ(test, r[0].request_id, 77);
	KUNIT_EXPECT_EQ(test, r[1].request_id, 78);
	KUNIT_EXPECT_GE(test, r[0].time_ns, before);
	KUNIT_EXPECT_GE(test, r[1].time_ns, r[0].time_ns);
	/* KUnit runs the case in a kernel thread: pid and uid 0, its name. */
	get_task_comm(comm, current);
	KUNIT_EXPECT_STREQ(test, (char *)r[0].comm, comm);
	KUNIT_EXPECT_EQ(test, r[0].pid, 0);
	KUNIT_EXPECT_EQ(test, r[0].uid, 0);
	KUNIT_EXPECT_EQ(test, r[0].kind, DSMIL_WREC_TOKEN);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_READBACK);
	KUNIT_EXPECT_EQ(test, r[0].device, 3);
	KUNIT_EXPECT_EQ(test, r[0].token, TOK0 + 3);
	KUNIT_EXPECT_EQ(test, r[0].old_value, 1);
	KUNIT_EXPECT_EQ(test, r[0].value, 2);
	KUNIT_EXPECT_EQ(test, r[0].readback, 2);
	KUNIT_EXPECT_EQ(test, r[0].error, 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->waudit.mismatches), 0);
}

/* 300 records in a ring of 256: the oldest 44 are gone, and say so. */
static void dsmil_audit_copy_wrap(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_write_record rec = { .kind = DSMIL_WREC_MMIO };
	u64 next, dropped, i;
	unsigned int n;

	for (i = 1; i <= 300; i++) {
		rec.request_id = 1000 + i;
		dsmil_waudit_add(&t->dsm->waudit, &rec);
	}

	n = dsmil_waudit_copy(&t->dsm->waudit, 0, r, DSMIL_WRITE_AUDIT_DEPTH,
			      &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, DSMIL_WRITE_AUDIT_DEPTH);
	KUNIT_EXPECT_EQ(test, next, 301);
	KUNIT_EXPECT_EQ(test, dropped, 44);
	KUNIT_EXPECT_EQ(test, r[0].seq, 45);
	KUNIT_EXPECT_EQ(test, r[0].request_id, 1045);
	KUNIT_EXPECT_EQ(test, r[n - 1].seq, 300);
	KUNIT_EXPECT_EQ(test, r[n - 1].request_id, 1300);
	for (i = 1; i < n; i++)
		KUNIT_EXPECT_EQ(test, r[i].seq, r[i - 1].seq + 1);

	/* since inside the ring: from there on, nothing lost. */
	n = dsmil_waudit_copy(&t->dsm->waudit, 290, r, DSMIL_WRITE_AUDIT_DEPTH,
			      &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 11);
	KUNIT_EXPECT_EQ(test, r[0].seq, 290);
	KUNIT_EXPECT_EQ(test, dropped, 0);

	/* since before the oldest kept: how many of those are lost. */
	n = dsmil_waudit_copy(&t->dsm->waudit, 30, r, 5, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 5);
	KUNIT_EXPECT_EQ(test, r[0].seq, 45);
	KUNIT_EXPECT_EQ(test, dropped, 15);

	/* since at or past the next: nothing, nothing lost. */
	n = dsmil_waudit_copy(&t->dsm->waudit, 301, r, 5, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 0);
	KUNIT_EXPECT_EQ(test, dropped, 0);
	n = dsmil_waudit_copy(&t->dsm->waudit, U64_MAX, r, 5, &next, &dropped);
	KUNIT_EXPECT_EQ(test, n, 0);
	KUNIT_EXPECT_EQ(test, dropped, 0);
	KUNIT_EXPECT_EQ(test, next, 301);
}

/* The read ioctl's handler: count 0 refused, records and counters out. */
static void dsmil_audit_ioc_read_records(struct kunit *test)
{
	struct audit_t *t = test->priv;
	unsigned long ubuf = dsmil_kunit_user_buf(test, PAGE_SIZE * 16);
	struct dsmil_write_record rec = { .kind = DSMIL_WREC_TOKEN };
	struct dsmil_write_audit_read ar = { .buf = ubuf };
	struct dsmil_write_record got[3];
	u64 bad = atomic64_read(&t->dsm->bad_input);

	KUNIT_EXPECT_EQ(test, dsmil_waudit_ioc_read(t->dsm, &ar), -EINVAL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->bad_input), bad + 1);

	rec.flags = DSMIL_WREC_F_MISMATCH;
	dsmil_waudit_add(&t->dsm->waudit, &rec);
	rec.flags = 0;
	dsmil_waudit_add(&t->dsm->waudit, &rec);
	dsmil_waudit_add(&t->dsm->waudit, &rec);

	ar.count = 1000;	/* more than kept: what there is */
	ar.since_seq = 2;
	KUNIT_ASSERT_EQ(test, dsmil_waudit_ioc_read(t->dsm, &ar), 0);
	KUNIT_EXPECT_EQ(test, ar.count, 2);
	KUNIT_EXPECT_EQ(test, ar.next_seq, 4);
	KUNIT_EXPECT_EQ(test, ar.dropped, 0);
	KUNIT_EXPECT_EQ(test, ar.mismatches, 1);
	KUNIT_EXPECT_EQ(test, ar.reads, 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)ubuf,
					     2 * sizeof(got[0])), 0);
	KUNIT_EXPECT_EQ(test, got[0].seq, 2);
	KUNIT_EXPECT_EQ(test, got[1].seq, 3);

	/* An unwritable buffer: -EFAULT, counted. */
	ar.buf = 16;
	ar.count = 1;
	ar.since_seq = 0;
	KUNIT_EXPECT_EQ(test, dsmil_waudit_ioc_read(t->dsm, &ar), -EFAULT);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->bad_input), bad + 2);
}

/* Token write of DSMIL0D0 (ACTIVE) through the audited path. */
static int audit_write0(struct audit_t *t, u32 value,
			struct dsmil_token_req *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->group = 0;
	tr->position = DSMIL_TOKEN_POWER;
	tr->value = value;
	return dsmil_smi_token_write_audited(&t->dsm->smi, tr);
}

static u64 sim_reads0(struct audit_t *t)
{
	return dsmil_smi_sim_count(t->sim, TOK0, false);
}

static u64 sim_writes0(struct audit_t *t)
{
	return dsmil_smi_sim_count(t->sim, TOK0, true);
}

/* Read before, write, read back: all three reach the sim, all recorded. */
static void dsmil_audit_token_write_recorded(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_token_req tr;
	u64 reads;

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	reads = sim_reads0(t);		/* the verification's */

	KUNIT_ASSERT_EQ(test, audit_write0(t, 0x1234, &tr), 0);
	KUNIT_EXPECT_EQ(test, sim_reads0(t), reads + 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->waudit.reads), 2);
	KUNIT_EXPECT_EQ(test, sim_writes0(t), 1);
	KUNIT_EXPECT_EQ(test, tr.token, TOK0);
	KUNIT_EXPECT_EQ(test, tr.old_value, SIM_VALUE0);

	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 1);
	KUNIT_EXPECT_EQ(test, r[0].kind, DSMIL_WREC_TOKEN);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_READBACK);
	KUNIT_EXPECT_EQ(test, r[0].device, 0);
	KUNIT_EXPECT_EQ(test, r[0].token, TOK0);
	KUNIT_EXPECT_EQ(test, r[0].flags, DSMIL_WREC_F_OLD |
			DSMIL_WREC_F_VALUE | DSMIL_WREC_F_READBACK);
	KUNIT_EXPECT_EQ(test, r[0].old_value, SIM_VALUE0);
	KUNIT_EXPECT_EQ(test, r[0].value, 0x1234);
	KUNIT_EXPECT_EQ(test, r[0].readback, 0x1234);
	KUNIT_EXPECT_EQ(test, r[0].error, 0);
	KUNIT_EXPECT_EQ(test, r[0].readback_error, 0);
	KUNIT_EXPECT_NE(test, r[0].request_id, 0);

	/* The next write: the value before is the last one written. */
	KUNIT_ASSERT_EQ(test, audit_write0(t, 0x5678, &tr), 0);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 2);
	KUNIT_EXPECT_EQ(test, r[1].old_value, 0x1234);
	KUNIT_EXPECT_EQ(test, r[1].readback, 0x5678);
	KUNIT_EXPECT_GT(test, r[1].request_id, r[0].request_id);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->waudit.mismatches), 0);
}

/*
 * Refused on arrival (READY): no SMI at all.  Refused at the hand-off
 * (policy): the read before was made, the write never.
 */
/*
 * An asynchronous write, made by a worker, names its submitter even when
 * the submitter's name is empty (prctl(PR_SET_NAME, "")).  Before, an
 * empty comm made the record name the task adding it: here the KUnit
 * thread, pid 0.
 */
static void dsmil_audit_token_write_queued_names_submitter(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_write_record who = { .pid = 4242, .uid = 1000 };
	struct dsmil_token_req tr = {
		.group = 0, .position = DSMIL_TOKEN_POWER, .value = 0x99,
	};

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	KUNIT_ASSERT_EQ(test, dsmil_smi_token_write_queued(&t->dsm->smi, &tr,
							   &who, ktime_get()),
			0);
	/* Past its bound before its turn: unsent, still the submitter's. */
	KUNIT_ASSERT_EQ(test, dsmil_smi_token_write_queued(&t->dsm->smi, &tr,
							   &who, 0),
			-ETIMEDOUT);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 2);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_READBACK);
	KUNIT_EXPECT_EQ(test, r[1].stage, DSMIL_WREC_AT_REFUSED);
	KUNIT_EXPECT_EQ(test, r[1].error, ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, r[0].pid, 4242);
	KUNIT_EXPECT_EQ(test, r[0].uid, 1000);
	KUNIT_EXPECT_EQ(test, r[0].comm[0], 0);
	KUNIT_EXPECT_EQ(test, r[1].pid, 4242);
	KUNIT_EXPECT_EQ(test, r[1].uid, 1000);
	KUNIT_EXPECT_EQ(test, r[1].comm[0], 0);
}

/*
 * A reply sent back as it came (IN_DOUBT set, an old request id: what a
 * retry of a write in doubt does) is audited like any write, and a refusal
 * on arrival does not echo the old id.  Before, the flag made the write
 * skip the audit (no record, no read-back) and the id came back as given.
 */
static void dsmil_audit_token_write_resent_reply(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_token_req tr = {
		.group = 0, .position = DSMIL_TOKEN_POWER, .value = 0x77,
		.flags = DSMIL_TOKEN_F_IN_DOUBT, .request_id = 0xdead,
	};

	/* Device OFFLINE: refused on arrival, no id. */
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_write_audited(&t->dsm->smi, &tr),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, tr.request_id, 0);

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	tr.flags = DSMIL_TOKEN_F_IN_DOUBT;
	tr.request_id = 0xdead;
	KUNIT_ASSERT_EQ(test, dsmil_smi_token_write_audited(&t->dsm->smi, &tr),
			0);
	KUNIT_EXPECT_EQ(test, tr.flags, 0);
	KUNIT_EXPECT_NE(test, tr.request_id, 0xdead);
	KUNIT_EXPECT_EQ(test, sim_writes0(t), 1);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 2);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_REFUSED);
	KUNIT_EXPECT_EQ(test, r[1].stage, DSMIL_WREC_AT_READBACK);
	KUNIT_EXPECT_EQ(test, r[1].readback, 0x77);
	KUNIT_EXPECT_EQ(test, r[1].request_id, tr.request_id);
}

static int audit_policy_refuses(struct dsmil_state *st)
{
	return -EACCES;
}

static void dsmil_audit_token_write_refused(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_smi_status st;
	struct dsmil_token_req tr;
	u64 reads, handoff_refused;

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_READY);
	reads = sim_reads0(t);
	KUNIT_EXPECT_EQ(test, audit_write0(t, 1, &tr), -ENODEV);
	KUNIT_EXPECT_EQ(test, sim_reads0(t), reads);

	dsmil_kunit_step(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	handoff_refused = atomic64_read(&t->dsm->state.handoff_refused);
	t->dsm->state.write_policy = audit_policy_refuses;
	KUNIT_EXPECT_EQ(test, audit_write0(t, 2, &tr), -EACCES);
	t->dsm->state.write_policy = NULL;
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->state.handoff_refused),
			handoff_refused + 1);

	/* No write reached the simulator; only the second's read before. */
	KUNIT_EXPECT_EQ(test, sim_reads0(t), reads + 1);
	KUNIT_EXPECT_EQ(test, sim_writes0(t), 0);
	memset(&st, 0, sizeof(st));
	dsmil_smi_get_status(&t->dsm->smi, &st);
	KUNIT_EXPECT_EQ(test, st.refused, 2);

	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 2);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_REFUSED);
	KUNIT_EXPECT_EQ(test, r[0].error, ENODEV);
	KUNIT_EXPECT_EQ(test, r[0].value, 1);
	KUNIT_EXPECT_EQ(test, r[0].flags, DSMIL_WREC_F_VALUE);
	KUNIT_EXPECT_EQ(test, r[1].stage, DSMIL_WREC_AT_REFUSED);
	KUNIT_EXPECT_EQ(test, r[1].error, EACCES);
	KUNIT_EXPECT_EQ(test, r[1].flags, DSMIL_WREC_F_OLD | DSMIL_WREC_F_VALUE);
	KUNIT_EXPECT_EQ(test, r[1].old_value, SIM_VALUE0);
	KUNIT_EXPECT_NE(test, r[0].request_id, r[1].request_id);

	/* Bad arguments are not writes: refused as ever, no record. */
	memset(&tr, 0, sizeof(tr));
	tr.group = 6;
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_write_audited(&t->dsm->smi, &tr),
			-EINVAL);
	tr.group = 0;
	tr.flags = DSMIL_TOKEN_F_ACTIVATE;	/* the sim cannot activate */
	KUNIT_EXPECT_EQ(test, dsmil_smi_token_write_audited(&t->dsm->smi, &tr),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, audit_all(test, t->dsm, r), 2);
}

/* Firmware that acknowledges a write and ignores it: write-mismatch. */
static void dsmil_audit_token_write_mismatch(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_token_req tr;

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->sim, "drop_writes", 1), 0);
	KUNIT_EXPECT_EQ(test, audit_write0(t, 0xbeef, &tr), -EIO);
	KUNIT_EXPECT_EQ(test, sim_writes0(t), 1);	/* it did reach it */
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->waudit.mismatches), 1);

	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 1);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_READBACK);
	KUNIT_EXPECT_TRUE(test, r[0].flags & DSMIL_WREC_F_MISMATCH);
	KUNIT_EXPECT_TRUE(test, r[0].flags & DSMIL_WREC_F_READBACK);
	KUNIT_EXPECT_EQ(test, r[0].old_value, SIM_VALUE0);
	KUNIT_EXPECT_EQ(test, r[0].value, 0xbeef);
	KUNIT_EXPECT_EQ(test, r[0].readback, SIM_VALUE0);
	KUNIT_EXPECT_EQ(test, r[0].error, EIO);

	/* The knob is used up: the next write takes. */
	KUNIT_EXPECT_EQ(test, audit_write0(t, 0xbeef, &tr), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->dsm->waudit.mismatches), 1);
}

/* The value before cannot be read: nothing is written. */
static void dsmil_audit_token_write_read_before_fails(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_smi_status s0 = {}, s1 = {};
	struct dsmil_token_req tr;

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->sim, "flaky_every", 1), 0);
	dsmil_smi_get_status(&t->dsm->smi, &s0);
	KUNIT_EXPECT_EQ(test, audit_write0(t, 0x42, &tr), -EIO);
	KUNIT_EXPECT_EQ(test, sim_writes0(t), 0);
	/* Every token call is one request: the read's, and the write's. */
	dsmil_smi_get_status(&t->dsm->smi, &s1);
	KUNIT_EXPECT_EQ(test, s1.requests - s0.requests, 2);
	KUNIT_EXPECT_EQ(test, s1.refused - s0.refused, 1);
	KUNIT_EXPECT_EQ(test, s1.errors - s0.errors, 1);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 1);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_OLD);
	KUNIT_EXPECT_EQ(test, r[0].error, EIO);
	KUNIT_EXPECT_FALSE(test, r[0].flags & DSMIL_WREC_F_OLD);
	/* No hand-off is left held: an emergency stop does not wait. */
	KUNIT_EXPECT_EQ(test, t->dsm->state.writing[0], 0);
}

/*
 * A read before that ends in doubt (its abort failed): the write was never
 * sent, so its outcome is known: -ETIMEDOUT, not -EINPROGRESS (which would
 * say the write might still land), no IN_DOUBT flag, an OLD record.
 */
static void dsmil_audit_token_write_read_before_in_doubt(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_token_req tr;

	dsmil_kunit_drive(test, &t->dsm->state, 0, DSMIL_DEV_ACTIVE);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->sim, "abort_fails", 1), 0);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->sim, "fault", 1), 0);
	KUNIT_EXPECT_EQ(test, audit_write0(t, 0x42, &tr), -ETIMEDOUT);
	KUNIT_EXPECT_FALSE(test, tr.flags & DSMIL_TOKEN_F_IN_DOUBT);
	KUNIT_EXPECT_EQ(test, sim_writes0(t), 0);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 1);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_OLD);
	KUNIT_EXPECT_EQ(test, r[0].error, ETIMEDOUT);
	/* The read may still run: a reset ends it. */
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->sim, "fault", 0), 0);
	KUNIT_ASSERT_EQ(test, dsmil_smi_sim_set(t->sim, "abort_fails", 0), 0);
	KUNIT_EXPECT_EQ(test, dsmil_smi_recover(&t->dsm->smi), 0);
}

/* A token write from a kernel thread, for the stop case below. */
struct audit_writer {
	struct dsmil *dsm;
	struct dsmil_kunit_smi *fake;
	struct dsmil_token_req tr;
	int ret;
	struct completion done;
};

static int audit_writer_fn(void *data)
{
	struct audit_writer *w = data;

	w->ret = dsmil_smi_token_write_audited(&w->dsm->smi, &w->tr);
	complete_all(&w->done);
	return 0;
}

/* Whatever the case did, the writer ends before the instance goes. */
static void audit_writer_reap(void *data)
{
	struct audit_writer *w = data;

	dsmil_kunit_smi_open_gate(w->fake);
	wait_for_completion(&w->done);
}

static unsigned int audit_fake_submits(struct dsmil_kunit_smi *f)
{
	unsigned int n;

	spin_lock(&f->lock);
	n = f->submits;
	spin_unlock(&f->lock);
	return n;
}

/*
 * An emergency stop that comes while the read before runs: the write is not
 * yet at its hand-off, so the stop does not wait for it (it waits for at
 * most one SMI, DSMIL_ESTOP_DRAIN_MS) and the write is refused there.  The
 * read is held at a gated synchronous fake backend, whose own count shows
 * that the write never reached it.
 */
static void dsmil_audit_token_write_estop_during_read_before(struct kunit *test)
{
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_config cfg = dsmil_kunit_cfg;
	unsigned int locked, in_doubt, submits;
	struct dsmil_kunit_smi *f;
	struct audit_writer *w;
	struct task_struct *task;
	struct dsmil *dsm;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, w);
	dsmil_kunit_smi_init(f);
	/* Generous: the read must not time out while the stop runs. */
	cfg.smi.timeout_ms = 1000;
	cfg.smi.hang_ms = 999;
	dsm = dsmil_kunit_create_with(test, &cfg, &dsmil_kunit_smi_sync_ops, f);
	dsmil_kunit_verify_install(test, &dsm->state);
	dsmil_kunit_drive(test, &dsm->state, 0, DSMIL_DEV_ACTIVE);

	submits = audit_fake_submits(f);
	f->value = 0x11;
	WRITE_ONCE(f->gated, true);
	w->dsm = dsm;
	w->fake = f;
	w->tr.position = DSMIL_TOKEN_POWER;
	w->tr.value = 0x22;
	init_completion(&w->done);
	task = kthread_run(audit_writer_fn, w, "dsmil-audit-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, audit_writer_reap,
							w), 0);
	/* The read before is at the "hardware" (and stays there). */
	dsmil_kunit_smi_wait_submits(test, f, submits + 1);
	KUNIT_EXPECT_EQ(test, dsm->state.writing[0], 0);

	KUNIT_EXPECT_EQ(test, dsmil_state_estop(&dsm->state, 0, &locked,
						&in_doubt), 0);
	KUNIT_EXPECT_EQ(test, in_doubt, 0);
	dsmil_kunit_smi_open_gate(f);
	wait_for_completion(&w->done);

	KUNIT_EXPECT_EQ(test, w->ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, audit_fake_submits(f), submits + 1);
	KUNIT_EXPECT_EQ(test, f->last.op, DSMIL_SMI_OP_READ);
	KUNIT_EXPECT_EQ(test, atomic64_read(&dsm->waudit.reads), 1);
	KUNIT_ASSERT_EQ(test, audit_all(test, dsm, r), 1);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_REFUSED);
	KUNIT_EXPECT_EQ(test, r[0].error, ENODEV);
	KUNIT_EXPECT_EQ(test, r[0].flags, DSMIL_WREC_F_OLD | DSMIL_WREC_F_VALUE);
	KUNIT_EXPECT_EQ(test, r[0].old_value, 0x11);
	KUNIT_EXPECT_EQ(test, r[0].value, 0x22);
}

/* Overlapping writes of one device are not compared; lone ones are. */
static void dsmil_audit_end_concurrent_writers(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_audit *wa = &t->dsm->waudit;
	u64 a, b, c;

	a = dsmil_waudit_begin(wa, 5);
	b = dsmil_waudit_begin(wa, 5);
	c = dsmil_waudit_begin(wa, 6);	/* another device: alone */
	KUNIT_EXPECT_FALSE(test, dsmil_waudit_end(wa, 5, b));
	KUNIT_EXPECT_FALSE(test, dsmil_waudit_end(wa, 5, a));
	KUNIT_EXPECT_TRUE(test, dsmil_waudit_end(wa, 6, c));

	/* A writer that ends before the next begins leaves it alone. */
	a = dsmil_waudit_begin(wa, 5);
	KUNIT_EXPECT_TRUE(test, dsmil_waudit_end(wa, 5, a));
	/* One that begins while another runs spoils both. */
	a = dsmil_waudit_begin(wa, 5);
	b = dsmil_waudit_begin(wa, 5);
	KUNIT_EXPECT_FALSE(test, dsmil_waudit_end(wa, 5, a));
	c = dsmil_waudit_begin(wa, 5);	/* b still runs */
	KUNIT_EXPECT_FALSE(test, dsmil_waudit_end(wa, 5, b));
	KUNIT_EXPECT_FALSE(test, dsmil_waudit_end(wa, 5, c));
	KUNIT_EXPECT_EQ(test, wa->dev[5].writers, 0);
}

/* MMIO records: one per write, none for an argument refusal. */
static void dsmil_audit_mmio_one_per_write(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);
	struct dsmil_mmio_rw rw = {
		.offset = 0x100002, .width = 2, .value = 0xaabbccdd,
	};
	struct dsmil_mmio_bulk b = {
		.offset = 0x10, .length = 4096, .done = 1024,
		.flags = DSMIL_MMIO_F_DEVICE, .device = 7,
	};
	unsigned int n;

	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio(t->dsm, &rw, -ERANGE), -ERANGE);
	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio(t->dsm, &rw, -EINVAL), -EINVAL);
	KUNIT_EXPECT_EQ(test, audit_all(test, t->dsm, r), 0);

	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio(t->dsm, &rw, 0), 0);
	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio(t->dsm, &rw, -ENODEV), -ENODEV);
	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio_bulk(t->dsm, &b, -EFAULT),
			-EFAULT);
	b.done = 0;
	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio_bulk(t->dsm, &b, -EFAULT),
			-EFAULT);	/* nothing moved: the buffer's fault */
	KUNIT_EXPECT_EQ(test, dsmil_waudit_mmio_bulk(t->dsm, &b, -EBUSY),
			-EBUSY);

	n = audit_all(test, t->dsm, r);
	KUNIT_ASSERT_EQ(test, n, 4);
	KUNIT_EXPECT_EQ(test, r[0].kind, DSMIL_WREC_MMIO);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_WRITE);
	KUNIT_EXPECT_EQ(test, r[0].device, DSMIL_WREC_NO_DEVICE);
	KUNIT_EXPECT_EQ(test, r[0].offset, 0x100002);
	KUNIT_EXPECT_EQ(test, r[0].length, 2);
	KUNIT_EXPECT_EQ(test, r[0].done, 2);
	KUNIT_EXPECT_EQ(test, r[0].value, 0xccdd);	/* the low 2 bytes */
	KUNIT_EXPECT_EQ(test, r[0].flags, DSMIL_WREC_F_VALUE);
	KUNIT_EXPECT_EQ(test, r[1].stage, DSMIL_WREC_AT_REFUSED);
	KUNIT_EXPECT_EQ(test, r[1].error, ENODEV);
	KUNIT_EXPECT_EQ(test, r[1].done, 0);
	KUNIT_EXPECT_EQ(test, r[2].kind, DSMIL_WREC_MMIO_BULK);
	KUNIT_EXPECT_EQ(test, r[2].stage, DSMIL_WREC_AT_WRITE);
	KUNIT_EXPECT_EQ(test, r[2].error, EFAULT);
	KUNIT_EXPECT_EQ(test, r[2].done, 1024);
	KUNIT_EXPECT_EQ(test, r[2].device, 7);
	KUNIT_EXPECT_EQ(test, r[2].flags, DSMIL_WREC_F_DEVICE);
	KUNIT_EXPECT_EQ(test, r[3].error, EBUSY);
	KUNIT_EXPECT_LT(test, r[0].request_id, r[1].request_id);
	KUNIT_EXPECT_LT(test, r[2].request_id, r[3].request_id);
}

/* The late outcome of an in-doubt write, under the request's id. */
static void dsmil_audit_late_outcome(struct kunit *test)
{
	struct audit_t *t = test->priv;
	struct dsmil_write_record *r = audit_buf(test);

	dsmil_waudit_late(&t->dsm->waudit, 4242, 3, TOK0 + 3, 0, false);
	dsmil_waudit_late(&t->dsm->waudit, 4243, 99, 0, -ETIMEDOUT, true);
	KUNIT_ASSERT_EQ(test, audit_all(test, t->dsm, r), 2);
	KUNIT_EXPECT_EQ(test, r[0].stage, DSMIL_WREC_AT_LATE);
	KUNIT_EXPECT_EQ(test, r[0].request_id, 4242);
	KUNIT_EXPECT_EQ(test, r[0].device, 3);
	KUNIT_EXPECT_EQ(test, r[0].error, 0);
	KUNIT_EXPECT_EQ(test, r[0].flags, 0);
	KUNIT_EXPECT_EQ(test, r[1].device, DSMIL_WREC_NO_DEVICE);
	KUNIT_EXPECT_EQ(test, r[1].error, ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, r[1].flags, DSMIL_WREC_F_UNKNOWN);
}

static struct kunit_case dsmil_audit_cases[] = {
	KUNIT_CASE(dsmil_audit_add_fields),
	KUNIT_CASE(dsmil_audit_copy_wrap),
	KUNIT_CASE(dsmil_audit_ioc_read_records),
	KUNIT_CASE(dsmil_audit_token_write_recorded),
	KUNIT_CASE(dsmil_audit_token_write_queued_names_submitter),
	KUNIT_CASE(dsmil_audit_token_write_resent_reply),
	KUNIT_CASE(dsmil_audit_token_write_refused),
	KUNIT_CASE(dsmil_audit_token_write_mismatch),
	KUNIT_CASE(dsmil_audit_token_write_read_before_fails),
	KUNIT_CASE(dsmil_audit_token_write_read_before_in_doubt),
	KUNIT_CASE(dsmil_audit_token_write_estop_during_read_before),
	KUNIT_CASE(dsmil_audit_end_concurrent_writers),
	KUNIT_CASE(dsmil_audit_mmio_one_per_write),
	KUNIT_CASE(dsmil_audit_late_outcome),
	{}
};

static struct kunit_suite dsmil_audit_suite = {
	.name = "dsmil_audit",
	.init = dsmil_audit_test_init,
	.test_cases = dsmil_audit_cases,
};

kunit_test_suite(dsmil_audit_suite);
