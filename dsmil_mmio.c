// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: chunked MMIO mapper.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>

#include "dsmil_priv.h"

const struct dsmil_ioctl_table dsmil_mmio_ioctls = {
	.count = 0,
};

int dsmil_mmio_init(struct dsmil_mmio *mm, const struct dsmil_mmio_config *cfg,
		    struct dentry *debugfs)
{
	mm->backend_name = "none";
	mm->base = cfg->base;
	mm->size = cfg->size;
	mm->num_chunks = cfg->size / DSMIL_CHUNK_SIZE;
	mm->max_resident = cfg->max_resident;
	return 0;
}

void dsmil_mmio_exit(struct dsmil_mmio *mm)
{
}
