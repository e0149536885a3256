// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: simulated region for the chunk mapper (mmio_base=0, the default).
 *
 * Each chunk is backed by pages allocated the first time the chunk is
 * mapped, so memory use follows use, and kept until unload, so that the
 * region keeps its contents across evictions like device memory does.  A
 * mapping is a vmap() of those pages, torn down by vunmap() on eviction: an
 * access through a stale mapping faults instead of silently working, which
 * is what the tests of the mapping policy want to see.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dsmil_priv.h"

#define DSMIL_SIM_PAGES	(DSMIL_CHUNK_SIZE >> PAGE_SHIFT)

/* mm->priv: per chunk, its page array or NULL before first touch. */
struct dsmil_sim {
	struct page **pages[DSMIL_MAX_CHUNKS];
};

static void dsmil_sim_free_pages(struct page **pages)
{
	unsigned int i;

	for (i = 0; i < DSMIL_SIM_PAGES && pages[i]; i++)
		__free_page(pages[i]);
	kvfree(pages);
}

static int dsmil_sim_probe(struct dsmil_mmio *mm)
{
	struct dsmil_sim *sim = kzalloc(sizeof(*sim), GFP_KERNEL);

	if (!sim)
		return -ENOMEM;
	mm->priv = sim;
	return 0;
}

static void dsmil_sim_remove(struct dsmil_mmio *mm)
{
	struct dsmil_sim *sim = mm->priv;
	unsigned int i;

	for (i = 0; i < DSMIL_MAX_CHUNKS; i++)
		if (sim->pages[i])
			dsmil_sim_free_pages(sim->pages[i]);
	kfree(sim);
	mm->priv = NULL;
}

static void *dsmil_sim_map(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_sim *sim = mm->priv;
	struct page **pages = sim->pages[idx];
	unsigned int i;
	void *addr;

	if (!pages) {
		/* First touch: a zeroed chunk, like fresh device memory. */
		pages = kvcalloc(DSMIL_SIM_PAGES, sizeof(*pages),
				 GFP_KERNEL | __GFP_NOWARN);
		if (!pages)
			return ERR_PTR(-ENOMEM);
		for (i = 0; i < DSMIL_SIM_PAGES; i++) {
			pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO |
					      __GFP_NOWARN);
			if (!pages[i]) {
				dsmil_sim_free_pages(pages);
				return ERR_PTR(-ENOMEM);
			}
		}
		sim->pages[idx] = pages;
	}
	addr = vmap(pages, DSMIL_SIM_PAGES, VM_MAP, PAGE_KERNEL);
	return addr ?: ERR_PTR(-ENOMEM);
}

static void dsmil_sim_unmap(struct dsmil_mmio *mm, unsigned int idx,
			    void *addr)
{
	vunmap(addr);
}

static u64 dsmil_sim_read(struct dsmil_mmio *mm, const void *addr,
			  unsigned int width)
{
	switch (width) {
	case 1:
		return READ_ONCE(*(const u8 *)addr);
	case 2:
		return READ_ONCE(*(const u16 *)addr);
	case 4:
		return READ_ONCE(*(const u32 *)addr);
	default:
		return READ_ONCE(*(const u64 *)addr);
	}
}

static void dsmil_sim_write(struct dsmil_mmio *mm, void *addr,
			    unsigned int width, u64 val)
{
	switch (width) {
	case 1:
		WRITE_ONCE(*(u8 *)addr, val);
		break;
	case 2:
		WRITE_ONCE(*(u16 *)addr, val);
		break;
	case 4:
		WRITE_ONCE(*(u32 *)addr, val);
		break;
	default:
		WRITE_ONCE(*(u64 *)addr, val);
		break;
	}
}

static void dsmil_sim_read_block(struct dsmil_mmio *mm, void *dst,
				 const void *addr, size_t len)
{
	memcpy(dst, addr, len);
}

static void dsmil_sim_write_block(struct dsmil_mmio *mm, void *addr,
				  const void *src, size_t len)
{
	memcpy(addr, src, len);
}

const struct dsmil_mmio_ops dsmil_mmio_sim_ops = {
	.name = "sim",
	.probe = dsmil_sim_probe,
	.remove = dsmil_sim_remove,
	.map = dsmil_sim_map,
	.unmap = dsmil_sim_unmap,
	.read = dsmil_sim_read,
	.write = dsmil_sim_write,
	.read_block = dsmil_sim_read_block,
	.write_block = dsmil_sim_write_block,
};
