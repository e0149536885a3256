/* SPDX-License-Identifier: GPL-2.0 */
/* dsmil: chunked MMIO mapper (dsmil_mmio.c). */
#ifndef _DSMIL_MMIO_H
#define _DSMIL_MMIO_H

#include <linux/types.h>

#include "dsmil_ioctl.h"

struct dentry;

/**
 * struct dsmil_mmio_config - mapper settings, from module parameters.
 * @base:         physical base; 0 selects the simulated region.
 * @size:         region size, a multiple of DSMIL_CHUNK_SIZE.
 * @max_resident: cap on chunks mapped at once.
 * @idle_ms:      idle chunks are unmapped after this delay.
 */
struct dsmil_mmio_config {
	u64 base;
	u64 size;
	unsigned int max_resident;
	unsigned int idle_ms;
};

struct dsmil_mmio {
	const char *backend_name;
	u64 base;
	u64 size;
	unsigned int num_chunks;
	unsigned int max_resident;
};

int dsmil_mmio_init(struct dsmil_mmio *mm, const struct dsmil_mmio_config *cfg,
		    struct dentry *debugfs);
void dsmil_mmio_exit(struct dsmil_mmio *mm);

#endif /* _DSMIL_MMIO_H */
