// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the device model's ioctls (block 0x10 of the table, dsmil_priv.h)
 * and sysfs attributes.
 *
 * Each handler turns the kernel copy of the argument into a call of the
 * state machine (dsmil_state.c), which does the work under its own lock;
 * what reaches the user is copied after that lock is dropped.
 * Documentation/dsmil-state.rst describes the ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/pid.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dsmil_priv.h"

static ssize_t summary_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct miscdevice *misc = dev_get_drvdata(dev);
	struct dsmil *dsm = container_of(misc, struct dsmil, misc);

	return dsmil_state_format_summary(&dsm->state, buf, PAGE_SIZE);
}
static DEVICE_ATTR_RO(summary);

static struct attribute *dsmil_state_attrs[] = {
	&dev_attr_summary.attr,
	NULL,
};

const struct attribute_group dsmil_state_attr_group = {
	.attrs = dsmil_state_attrs,
};

/* -EINVAL/-EFAULT of a handler: counted and logged like the dispatcher's. */
static int dsmil_state_bad_input(struct dsmil *dsm, unsigned int cmd,
				 const char *name, const char *why, int err)
{
	atomic64_inc(&dsm->bad_input);
	if (__ratelimit(&dsm->state.rs_refusal))
		dsmil_warn(dsmil_dev(dsm), "refused-input: cmd=%s nr=%#x pid=%d why=%s errno=%d\n",
			   name, _IOC_NR(cmd), task_tgid_nr(current), why, err);
	return err;
}

static int dsmil_state_ioc_dev_info(struct dsmil *dsm, void *arg)
{
	struct dsmil_dev_info *di = arg;
	u8 states[DSMIL_NUM_DEVICES];

	if (di->id >= DSMIL_NUM_DEVICES)
		return dsmil_state_bad_input(dsm, DSMIL_IOC_DEV_INFO, "dev-info",
					     "id-out-of-range", -EINVAL);
	dsmil_state_snapshot(&dsm->state, states);
	dsmil_state_describe(&dsm->state, di->id, states, di);
	return 0;
}

static int dsmil_state_ioc_dev_list(struct dsmil *dsm, void *arg)
{
	struct dsmil_dev_list *dl = arg;
	struct dsmil_dev_info __user *ubuf = u64_to_user_ptr(dl->buf);
	u8 states[DSMIL_NUM_DEVICES];
	struct dsmil_dev_info di;
	unsigned int id, n;

	if (!dl->count)
		return dsmil_state_bad_input(dsm, DSMIL_IOC_DEV_LIST, "dev-list",
					     "count-zero", -EINVAL);
	n = min_t(u32, dl->count, DSMIL_NUM_DEVICES);
	dsmil_state_snapshot(&dsm->state, states);
	for (id = 0; id < n; id++) {
		dsmil_state_describe(&dsm->state, id, states, &di);
		if (copy_to_user(&ubuf[id], &di, sizeof(di)))
			return dsmil_state_bad_input(dsm, DSMIL_IOC_DEV_LIST,
						     "dev-list", "fault",
						     -EFAULT);
	}
	dl->count = n;
	dl->total = DSMIL_NUM_DEVICES;
	return 0;
}

static bool dsmil_state_has_token(unsigned int id)
{
	switch (id % DSMIL_DEVS_PER_GROUP) {
	case DSMIL_TOKEN_POWER:
	case DSMIL_TOKEN_MEMORY:
	case DSMIL_TOKEN_STORAGE:
	case DSMIL_TOKEN_SENSOR:
		return true;
	}
	return false;
}

static int dsmil_state_ioc_dev_transition(struct dsmil *dsm, void *arg)
{
	struct dsmil_transition *t = arg;
	struct dsmil_state_result res;
	int ret;

	/*
	 * Becoming READY from INITIALIZING verifies a device with a token
	 * by an SMI: hardware access, which needs CAP_SYS_RAWIO as a token
	 * read does.  Asked of every transition to READY of such a device,
	 * so that no race with the state can slip an SMI past it.
	 */
	if (t->target == DSMIL_DEV_READY && t->id < DSMIL_NUM_DEVICES &&
	    dsmil_state_has_token(t->id) && !capable(CAP_SYS_RAWIO)) {
		atomic64_inc(&dsm->denied);
		dsmil_notice_ratelimited(dsmil_dev(dsm), "denied: cmd=dev-transition pid=%d uid=%u needs=CAP_SYS_RAWIO errno=%d\n",
					 task_tgid_nr(current),
					 from_kuid(&init_user_ns, current_uid()), -EPERM);
		t->prev = READ_ONCE(dsm->state.dev[t->id].state);
		t->state = t->prev;
		return -EPERM;
	}

	ret = dsmil_state_transition(&dsm->state, t->id, t->target, &res);
	t->prev = res.prev;
	t->state = res.state;
	t->reason = res.reason;
	return ret;
}

static int dsmil_state_ioc_group_estop(struct dsmil *dsm, void *arg)
{
	struct dsmil_group_stop *gs = arg;
	unsigned int locked, in_doubt;
	int ret;

	if (gs->group >= DSMIL_NUM_GROUPS)
		return dsmil_state_bad_input(dsm, DSMIL_IOC_GROUP_ESTOP,
					     "group-estop", "group-out-of-range",
					     -EINVAL);
	ret = dsmil_state_estop(&dsm->state, gs->group, &locked, &in_doubt);
	gs->locked = locked;
	gs->in_doubt = in_doubt;
	return ret;
}

static int dsmil_state_ioc_audit_read(struct dsmil *dsm, void *arg)
{
	struct dsmil_audit_read *ar = arg;
	struct dsmil_audit_entry *buf;
	unsigned int n;
	int ret = 0;

	if (!ar->count)
		return dsmil_state_bad_input(dsm, DSMIL_IOC_AUDIT_READ,
					     "audit-read", "count-zero", -EINVAL);
	/* Copy out of the ring under the lock, to the user without it. */
	n = min_t(u32, ar->count, DSMIL_AUDIT_DEPTH);
	buf = kvcalloc(n, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	n = dsmil_state_audit_copy(&dsm->state, ar->since_seq, buf, n,
				   &ar->next_seq, &ar->dropped);
	if (copy_to_user(u64_to_user_ptr(ar->buf), buf, n * sizeof(*buf)))
		ret = dsmil_state_bad_input(dsm, DSMIL_IOC_AUDIT_READ,
					    "audit-read", "fault", -EFAULT);
	kvfree(buf);
	ar->count = n;
	return ret;
}

static const struct dsmil_ioctl_desc dsmil_state_ioctl_desc[] = {
	{
		.cmd = DSMIL_IOC_DEV_INFO,
		.handler = dsmil_state_ioc_dev_info,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_dev_info, reserved0),
			DSMIL_RSVD(struct dsmil_dev_info, reserved1),
			DSMIL_RSVD(struct dsmil_dev_info, reserved),
		},
		.name = "dev-info",
	},
	{
		.cmd = DSMIL_IOC_DEV_LIST,
		.handler = dsmil_state_ioc_dev_list,
		.rsvd = { DSMIL_RSVD(struct dsmil_dev_list, reserved) },
		.name = "dev-list",
	},
	{
		.cmd = DSMIL_IOC_DEV_TRANSITION,
		/* The reason of a refusal is part of the answer. */
		.policy = DSMIL_POL_ADMIN | DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_state_ioc_dev_transition,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_transition, reserved0),
			DSMIL_RSVD(struct dsmil_transition, reserved1),
			DSMIL_RSVD(struct dsmil_transition, reserved),
		},
		.name = "dev-transition",
	},
	{
		.cmd = DSMIL_IOC_GROUP_ESTOP,
		.policy = DSMIL_POL_ADMIN,
		.handler = dsmil_state_ioc_group_estop,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_group_stop, reserved0),
			DSMIL_RSVD(struct dsmil_group_stop, reserved1),
			DSMIL_RSVD(struct dsmil_group_stop, reserved),
		},
		.name = "group-estop",
	},
	{
		.cmd = DSMIL_IOC_AUDIT_READ,
		/* Who did what to which device: for administrators only. */
		.policy = DSMIL_POL_ADMIN,
		.handler = dsmil_state_ioc_audit_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_audit_read, reserved0),
			DSMIL_RSVD(struct dsmil_audit_read, reserved),
		},
		.name = "audit-read",
	},
};

const struct dsmil_ioctl_table dsmil_state_ioctls = {
	.desc = dsmil_state_ioctl_desc,
	.count = ARRAY_SIZE(dsmil_state_ioctl_desc),
};
EXPORT_SYMBOL_IF_KUNIT(dsmil_state_ioctls);
