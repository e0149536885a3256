// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the chunk mapper's ioctls (block 0x30 of the table, dsmil_priv.h).
 *
 * Each handler turns the kernel copy of the argument into a call of the
 * mapper; the writes go through the write audit (dsmil_audit.c), which
 * records what reached the hardware, whatever the outcome.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "dsmil_priv.h"
#include "dsmil_mmio_priv.h"

/* ioctl handlers: the dispatcher has checked size, reserved fields, policy. */

static int dsmil_mmio_ioc_read(struct dsmil *dsm, void *arg)
{
	return dsmil_mmio_read(&dsm->mmio, arg);
}

static int dsmil_mmio_ioc_write(struct dsmil *dsm, void *arg)
{
	return dsmil_waudit_mmio(dsm, arg, dsmil_mmio_write(&dsm->mmio, arg));
}

static void dsmil_mmio_user_iter(struct dsmil_mmio_bulk *b, unsigned int dir,
				 struct iov_iter *iter)
{
	/* Longer than DSMIL_BULK_MAX is refused before the iterator is used. */
	size_t len = min_t(u64, b->length, DSMIL_BULK_MAX);

	/* access_ok() is checked by every copy that uses the iterator. */
	iov_iter_ubuf(iter, dir, u64_to_user_ptr(b->buf), len);
}

static int dsmil_mmio_ioc_bulk_read(struct dsmil *dsm, void *arg)
{
	struct dsmil_mmio_bulk *b = arg;
	struct iov_iter iter;

	dsmil_mmio_user_iter(b, ITER_DEST, &iter);
	return dsmil_mmio_bulk_read(&dsm->mmio, b, &iter);
}

static int dsmil_mmio_ioc_bulk_write(struct dsmil *dsm, void *arg)
{
	struct dsmil_mmio_bulk *b = arg;
	struct iov_iter iter;

	dsmil_mmio_user_iter(b, ITER_SOURCE, &iter);
	return dsmil_waudit_mmio_bulk(dsm, b,
				      dsmil_mmio_bulk_write(&dsm->mmio, b, &iter));
}

static int dsmil_mmio_ioc_status(struct dsmil *dsm, void *arg)
{
	struct dsmil_mmio_status *st = arg;
	struct dsmil_chunk_stat *cs = NULL;
	unsigned int n = 0;
	int ret;

	if (st->chunk_buf && st->chunk_count) {
		n = min(st->chunk_count, dsm->mmio.num_chunks);
		cs = kcalloc(n, sizeof(*cs), GFP_KERNEL);
		if (!cs)
			return -ENOMEM;
	}
	ret = dsmil_mmio_fill_status(&dsm->mmio, st, cs, n);
	if (ret < 0)
		goto free_cs;
	n = ret;
	ret = 0;
	if (n && copy_to_user(u64_to_user_ptr(st->chunk_buf), cs,
			      n * sizeof(*cs)))
		ret = -EFAULT;
	st->chunk_count = n;
free_cs:
	kfree(cs);
	return ret;
}

static const struct dsmil_ioctl_desc dsmil_mmio_ioctl_desc[] = {
	{
		.cmd = DSMIL_IOC_MMIO_READ,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN,
		.handler = dsmil_mmio_ioc_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved),
		},
		.name = "mmio-read",
	},
	{
		.cmd = DSMIL_IOC_MMIO_WRITE,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_WRITE,
		.handler = dsmil_mmio_ioc_write,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved),
		},
		.name = "mmio-write",
	},
	{
		.cmd = DSMIL_IOC_MMIO_BULK_READ,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_mmio_ioc_bulk_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved),
		},
		.name = "mmio-bulk-read",
	},
	{
		.cmd = DSMIL_IOC_MMIO_BULK_WRITE,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_WRITE | DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_mmio_ioc_bulk_write,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved),
		},
		.name = "mmio-bulk-write",
	},
	{
		.cmd = DSMIL_IOC_MMIO_STATUS,
		.handler = dsmil_mmio_ioc_status,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_status, reserved),
		},
		.paddr = DSMIL_SPAN(struct dsmil_mmio_status, region_base),
		.name = "mmio-status",
	},
};

const struct dsmil_ioctl_table dsmil_mmio_ioctls = {
	.desc = dsmil_mmio_ioctl_desc,
	.count = ARRAY_SIZE(dsmil_mmio_ioctl_desc),
};
