// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for dsmil_main.c: the ioctl table lookup and the reserved-field
 * check that every command goes through, and instance creation.
 */
#include <kunit/test.h>
#include <linux/err.h>

#include "../dsmil_priv.h"
#include "dsmil_test_util.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

struct dsmil_lookup_case {
	const char *desc;
	unsigned int cmd;
	int expect;	/* 0: found, else the errno */
};

static const struct dsmil_lookup_case dsmil_lookup_cases[] = {
	{ "info", DSMIL_IOC_INFO, 0 },
	{ "stats", DSMIL_IOC_STATS, 0 },
	{ "info-bigger-size",
	  _IOR(DSMIL_IOC_MAGIC, 0x00, struct dsmil_stats), -EINVAL },
	{ "info-smaller-size", _IOR(DSMIL_IOC_MAGIC, 0x00, __u32), -EINVAL },
	{ "info-as-write",
	  _IOW(DSMIL_IOC_MAGIC, 0x00, struct dsmil_info), -EINVAL },
	{ "info-no-direction", _IO(DSMIL_IOC_MAGIC, 0x00), -EINVAL },
	{ "unknown-number-in-main-block", _IO(DSMIL_IOC_MAGIC, 0x0f), -ENOTTY },
	{ "number-past-all-blocks", _IO(DSMIL_IOC_MAGIC, 0x40), -ENOTTY },
	{ "highest-number", _IO(DSMIL_IOC_MAGIC, 0xff), -ENOTTY },
	{ "other-magic",
	  _IOR(DSMIL_IOC_MAGIC + 1, 0x00, struct dsmil_info), -ENOTTY },
	{ "zero-command", 0, -ENOTTY },
	{ "all-ones-command", ~0U, -ENOTTY },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_main_ioctl_lookup_command, dsmil_lookup_cases, desc);

static void dsmil_main_ioctl_lookup_command(struct kunit *test)
{
	const struct dsmil_lookup_case *c = test->param_value;
	const struct dsmil_ioctl_desc *d = dsmil_ioctl_lookup(c->cmd);

	if (c->expect) {
		KUNIT_ASSERT_TRUE(test, IS_ERR(d));
		KUNIT_EXPECT_EQ(test, PTR_ERR(d), c->expect);
	} else {
		KUNIT_ASSERT_FALSE(test, IS_ERR(d));
		KUNIT_EXPECT_EQ(test, d->cmd, c->cmd);
	}
}

/* Every registered command is found by its own number and nothing else. */
static void dsmil_main_ioctl_lookup_every_command(struct kunit *test)
{
	static const unsigned int cmds[] = {
		DSMIL_IOC_INFO, DSMIL_IOC_STATS, DSMIL_IOC_WRITE_AUDIT_READ,
		DSMIL_IOC_DEV_INFO,
		DSMIL_IOC_DEV_LIST, DSMIL_IOC_DEV_TRANSITION,
		DSMIL_IOC_GROUP_ESTOP, DSMIL_IOC_AUDIT_READ,
		DSMIL_IOC_TOKEN_READ, DSMIL_IOC_TOKEN_WRITE,
		DSMIL_IOC_SMI_STATUS, DSMIL_IOC_SMI_RECOVER,
		DSMIL_IOC_SMI_RESULT,
		DSMIL_IOC_TOKEN_SUBMIT, DSMIL_IOC_TOKEN_CANCEL,
		DSMIL_IOC_MMIO_READ, DSMIL_IOC_MMIO_WRITE,
		DSMIL_IOC_MMIO_BULK_READ, DSMIL_IOC_MMIO_BULK_WRITE,
		DSMIL_IOC_MMIO_STATUS,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct dsmil_ioctl_desc *d = dsmil_ioctl_lookup(cmds[i]);

		/* A command not implemented yet is simply unknown. */
		if (IS_ERR(d)) {
			KUNIT_EXPECT_EQ(test, PTR_ERR(d), -ENOTTY);
			continue;
		}
		KUNIT_EXPECT_EQ(test, d->cmd, cmds[i]);
		/* The instance's handler, or the open file's client's. */
		KUNIT_EXPECT_TRUE(test, !d->handler != !d->client_handler);
		KUNIT_EXPECT_NOT_NULL(test, d->name);
	}
}

/* The reserved-field check finds a non-zero byte in any declared span. */
static void dsmil_main_ioctl_bad_reserved_spans(struct kunit *test)
{
	static const struct dsmil_ioctl_desc d = {
		.cmd = _IOWR(DSMIL_IOC_MAGIC, 0x3f, struct dsmil_token_req),
		.rsvd = {
			DSMIL_RSVD(struct dsmil_token_req, flags),
			DSMIL_RSVD(struct dsmil_token_req, reserved),
		},
	};
	struct dsmil_token_req req = {};
	u8 *last = (u8 *)&req.reserved + sizeof(req.reserved) - 1;

	KUNIT_EXPECT_NULL(test, dsmil_ioctl_bad_reserved(&d, &req));

	/* Fields that are not reserved may hold anything. */
	req.group = 0xff;
	req.value = 0xffffffff;
	req.old_value = 1;	/* not listed in this table entry */
	KUNIT_EXPECT_NULL(test, dsmil_ioctl_bad_reserved(&d, &req));

	req.flags = 1;
	KUNIT_EXPECT_PTR_EQ(test, dsmil_ioctl_bad_reserved(&d, &req), &d.rsvd[0]);
	req.flags = 0;

	*last = 0x80;	/* the very last byte of the last span */
	KUNIT_EXPECT_PTR_EQ(test, dsmil_ioctl_bad_reserved(&d, &req), &d.rsvd[1]);
}

static void dsmil_main_create_destroy(struct kunit *test)
{
	struct dsmil *dsm = dsmil_create(&dsmil_kunit_cfg, NULL);

	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(dsm));
	KUNIT_EXPECT_EQ(test, dsm->mmio.num_chunks, 90);
	KUNIT_EXPECT_EQ(test, dsm->mmio.max_resident, 8);
	dsmil_destroy(dsm);
}

static struct kunit_case dsmil_main_cases[] = {
	KUNIT_CASE_PARAM(dsmil_main_ioctl_lookup_command,
			 dsmil_main_ioctl_lookup_command_gen_params),
	KUNIT_CASE(dsmil_main_ioctl_lookup_every_command),
	KUNIT_CASE(dsmil_main_ioctl_bad_reserved_spans),
	KUNIT_CASE(dsmil_main_create_destroy),
	{}
};

static struct kunit_suite dsmil_main_suite = {
	.name = "dsmil_main",
	.test_cases = dsmil_main_cases,
};

kunit_test_suite(dsmil_main_suite);

MODULE_DESCRIPTION("KUnit tests for the dsmil driver");
MODULE_LICENSE("GPL");
