// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: physical region backend for the chunk mapper (mmio_base=ADDR).
 *
 * The whole range is claimed at load with request_mem_region(), after making
 * sure none of it is System RAM: the region must be something the
 * administrator named (device memory or firmware-reserved space), never
 * memory the kernel may be using.  Chunks are ioremap()ed (uncached) when
 * first touched and iounmap()ed on eviction and at unload, and accessed
 * only with the MMIO accessors.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/fault-inject-usercopy.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/ioport.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "dsmil_priv.h"

static int dsmil_mmio_iomem_probe(struct dsmil_mmio *mm)
{
	u64 last = mm->base + mm->size - 1;
	int hit;

	hit = region_intersects(mm->base, mm->size, IORESOURCE_SYSTEM_RAM,
				IORES_DESC_NONE);
	if (hit != REGION_DISJOINT) {
		dsmil_err(dsmil_mmio_dev(mm), "refusing MMIO region %#llx-%#llx, it %s System RAM (see /proc/iomem)\n",
			  mm->base, last, hit == REGION_INTERSECTS ? "lies in" : "overlaps");
		return -EINVAL;
	}
	if (!request_mem_region(mm->base, mm->size, DSMIL_DRV_NAME)) {
		dsmil_err(dsmil_mmio_dev(mm), "cannot claim MMIO region %#llx-%#llx, in use or not addressable (see /proc/iomem)\n",
			  mm->base, last);
		return -EBUSY;
	}
	return 0;
}

static void dsmil_mmio_iomem_remove(struct dsmil_mmio *mm)
{
	release_mem_region(mm->base, mm->size);
}

static void __iomem *dsmil_mmio_iomem_map(struct dsmil_mmio *mm, unsigned int idx)
{
	void __iomem *p;

	lockdep_assert_held(&mm->lock);
	p = ioremap(mm->base + (u64)idx * DSMIL_CHUNK_SIZE, DSMIL_CHUNK_SIZE);
	return p ?: IOMEM_ERR_PTR(-ENOMEM);
}

static void dsmil_mmio_iomem_unmap(struct dsmil_mmio *mm, unsigned int idx,
				   void __iomem *addr)
{
	lockdep_assert_held(&mm->lock);
	iounmap(addr);
}

static u64 dsmil_mmio_iomem_read(struct dsmil_mmio *mm, const void __iomem *p,
				 unsigned int width)
{
	switch (width) {
	case 1:
		return readb(p);
	case 2:
		return readw(p);
	case 4:
		return readl(p);
	default:
		return readq(p);
	}
}

static void dsmil_mmio_iomem_write(struct dsmil_mmio *mm, void __iomem *p,
				   unsigned int width, u64 val)
{
	switch (width) {
	case 1:
		writeb(val, p);
		break;
	case 2:
		writew(val, p);
		break;
	case 4:
		writel(val, p);
		break;
	default:
		writeq(val, p);
		break;
	}
}

static void dsmil_mmio_iomem_read_block(struct dsmil_mmio *mm, void *dst,
					const void __iomem *addr, size_t len)
{
	memcpy_fromio(dst, addr, len);
}

static void dsmil_mmio_iomem_write_block(struct dsmil_mmio *mm, void __iomem *addr,
					 const void *src, size_t len)
{
	memcpy_toio(addr, src, len);
}

/*
 * 64-bit uncached accesses to and from a user buffer of any alignment:
 * where the architecture has both.
 */
#if defined(CONFIG_64BIT) && defined(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS)
#define DSMIL_IOMEM_READ_USER
#endif

#ifdef DSMIL_IOMEM_READ_USER
/*
 * A raw-region bulk read's user buffer, filled straight from the mapping:
 * one pass instead of memcpy_fromio() into a bounce page and copy_to_user()
 * from it, and 64-bit reads where x86's memcpy_fromio() makes 32-bit ones
 * (each read of uncached memory is a bus round trip).  Only inline
 * accessors run between user_access_begin() and user_access_end().  A user
 * fault is reported as the bytes not copied, counted conservatively.
 */
static size_t dsmil_mmio_iomem_read_user(struct dsmil_mmio *mm, void __user *dst,
					 const void __iomem *src, size_t len)
{
	size_t done = 0;

	might_fault();
	if (should_fail_usercopy())
		return len;
	if (!user_access_begin(dst, len))
		return len;
	/* Bytes up to the first 8-byte aligned address of the source. */
	for (; done < len && !IS_ALIGNED((unsigned long)(src + done), 8); done++)
		unsafe_put_user(__raw_readb(src + done), (u8 __user *)(dst + done),
				fault);
	/* Eight reads, then eight stores: fewer branches per byte. */
	for (; len - done >= 64; done += 64) {
		const u64 __iomem *s = src + done;
		u64 __user *d = dst + done;
		u64 v0 = __raw_readq(s), v1 = __raw_readq(s + 1);
		u64 v2 = __raw_readq(s + 2), v3 = __raw_readq(s + 3);
		u64 v4 = __raw_readq(s + 4), v5 = __raw_readq(s + 5);
		u64 v6 = __raw_readq(s + 6), v7 = __raw_readq(s + 7);

		unsafe_put_user(v0, d, fault);
		unsafe_put_user(v1, d + 1, fault);
		unsafe_put_user(v2, d + 2, fault);
		unsafe_put_user(v3, d + 3, fault);
		unsafe_put_user(v4, d + 4, fault);
		unsafe_put_user(v5, d + 5, fault);
		unsafe_put_user(v6, d + 6, fault);
		unsafe_put_user(v7, d + 7, fault);
	}
	for (; len - done >= 8; done += 8)
		unsafe_put_user(__raw_readq(src + done),
				(u64 __user *)(dst + done), fault);
	for (; done < len; done++)
		unsafe_put_user(__raw_readb(src + done), (u8 __user *)(dst + done),
				fault);
fault:
	user_access_end();
	return len - done;
}

/*
 * The same inside device windows: 32-bit register reads (bytes at
 * unaligned ends), stored to the user buffer as they come.
 */
static size_t dsmil_mmio_iomem_read_user_regs(struct dsmil_mmio *mm,
					      void __user *dst,
					      const void __iomem *src, size_t len)
{
	size_t done = 0;

	might_fault();
	if (should_fail_usercopy())
		return len;
	if (!user_access_begin(dst, len))
		return len;
	for (; done < len && !IS_ALIGNED((unsigned long)(src + done), 4); done++)
		unsafe_put_user(__raw_readb(src + done), (u8 __user *)(dst + done),
				fault);
	for (; len - done >= 4; done += 4)
		unsafe_put_user(__raw_readl(src + done),
				(u32 __user *)(dst + done), fault);
	for (; done < len; done++)
		unsafe_put_user(__raw_readb(src + done), (u8 __user *)(dst + done),
				fault);
fault:
	user_access_end();
	return len - done;
}

/*
 * The other way: a raw-region bulk write from the user buffer straight into
 * the mapping, 64-bit loads from the user and 64-bit uncached stores, one
 * pass instead of copy_from_user() into a bounce page and memcpy_toio()
 * from it.  The core calls it with page faults disabled; a fault ends the
 * copy, reported as the bytes not copied (bytes before it may have landed:
 * the core writes the piece again).
 */
static size_t dsmil_mmio_iomem_write_user(struct dsmil_mmio *mm, void __iomem *dst,
					  const void __user *src, size_t len)
{
	size_t done = 0;
	u8 b;

	might_fault();
	if (should_fail_usercopy())
		return len;
	if (!user_read_access_begin(src, len))
		return len;
	for (; done < len && !IS_ALIGNED((unsigned long)(dst + done), 8); done++) {
		unsafe_get_user(b, (const u8 __user *)(src + done), fault);
		__raw_writeb(b, dst + done);
	}
	/* Eight loads, then eight stores. */
	for (; len - done >= 64; done += 64) {
		const u64 __user *s = src + done;
		u64 __iomem *d = dst + done;
		u64 v0, v1, v2, v3, v4, v5, v6, v7;

		unsafe_get_user(v0, s, fault);
		unsafe_get_user(v1, s + 1, fault);
		unsafe_get_user(v2, s + 2, fault);
		unsafe_get_user(v3, s + 3, fault);
		unsafe_get_user(v4, s + 4, fault);
		unsafe_get_user(v5, s + 5, fault);
		unsafe_get_user(v6, s + 6, fault);
		unsafe_get_user(v7, s + 7, fault);
		__raw_writeq(v0, d);
		__raw_writeq(v1, d + 1);
		__raw_writeq(v2, d + 2);
		__raw_writeq(v3, d + 3);
		__raw_writeq(v4, d + 4);
		__raw_writeq(v5, d + 5);
		__raw_writeq(v6, d + 6);
		__raw_writeq(v7, d + 7);
	}
	for (; len - done >= 8; done += 8) {
		u64 v;

		unsafe_get_user(v, (const u64 __user *)(src + done), fault);
		__raw_writeq(v, dst + done);
	}
	for (; done < len; done++) {
		unsafe_get_user(b, (const u8 __user *)(src + done), fault);
		__raw_writeb(b, dst + done);
	}
fault:
	user_read_access_end();
	return len - done;
}
#endif

const struct dsmil_mmio_ops dsmil_mmio_iomem_ops = {
	.name = "iomem",
	.probe = dsmil_mmio_iomem_probe,
	.remove = dsmil_mmio_iomem_remove,
	.map = dsmil_mmio_iomem_map,
	.unmap = dsmil_mmio_iomem_unmap,
	.read = dsmil_mmio_iomem_read,
	.write = dsmil_mmio_iomem_write,
	.read_block = dsmil_mmio_iomem_read_block,
	.write_block = dsmil_mmio_iomem_write_block,
#ifdef DSMIL_IOMEM_READ_USER
	.read_user = dsmil_mmio_iomem_read_user,
	.read_user_regs = dsmil_mmio_iomem_read_user_regs,
	.write_user = dsmil_mmio_iomem_write_user,
#endif
};
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_iomem_ops);
