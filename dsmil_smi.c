// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: SMI engine and backends.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>

#include "dsmil_priv.h"

const struct dsmil_ioctl_table dsmil_smi_ioctls = {
	.count = 0,
};

int dsmil_smi_init(struct dsmil_smi *smi, const struct dsmil_smi_config *cfg,
		   struct dentry *debugfs)
{
	smi->backend_name = "none";
	return 0;
}

void dsmil_smi_exit(struct dsmil_smi *smi)
{
}

int dsmil_smi_verify_device(struct dsmil_smi *smi, unsigned int id)
{
	return 0;
}
