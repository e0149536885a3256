// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: device model and state machine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mutex.h>

#include "dsmil_priv.h"

static struct attribute *dsmil_state_attrs[] = {
	NULL,
};

const struct attribute_group dsmil_state_attr_group = {
	.attrs = dsmil_state_attrs,
};

const struct dsmil_ioctl_table dsmil_state_ioctls = {
	.count = 0,
};

int dsmil_state_init(struct dsmil_state *st)
{
	mutex_init(&st->lock);
	return 0;
}

void dsmil_state_exit(struct dsmil_state *st)
{
	mutex_destroy(&st->lock);
}

u64 dsmil_state_transitions(struct dsmil_state *st)
{
	return 0;
}

int dsmil_state_check_access(struct dsmil_state *st, unsigned int id,
			     bool write)
{
	return -ENODEV;
}

void dsmil_state_report_fault(struct dsmil_state *st, unsigned int id,
			      enum dsmil_reason reason, int err)
{
}
