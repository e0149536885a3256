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
 *
 * The model also counts, per device window, the writes that reached it
 * (debugfs mmio-sim/windows, read-only): the backend's own witness that a
 * refused or fenced write never landed, whatever the driver returned.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dsmil_priv.h"

#define DSMIL_SIM_PAGES	(DSMIL_CHUNK_SIZE >> PAGE_SHIFT)
/* The device windows: the start of chunk 0. */
#define DSMIL_SIM_WIN_END	(DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE)
#define DSMIL_SIM_WIN_PAGES	DIV_ROUND_UP(DSMIL_SIM_WIN_END, PAGE_SIZE)

/* Writes that reached one device window. */
struct dsmil_sim_window {
	atomic64_t writes;	/* write operations touching it */
	atomic64_t bytes;	/* bytes of them inside it */
};

/*
 * mm->priv.
 * @pages:   per chunk, its page array or NULL before first touch.
 * @windows: per device, the writes that reached its window.
 * @dir:     the debugfs directory of @windows, removed before @sim is freed.
 */
struct dsmil_sim {
	struct page **pages[DSMIL_MAX_CHUNKS];
	struct dsmil_sim_window windows[DSMIL_NUM_DEVICES];
	struct dentry *dir;
};

static void dsmil_sim_free_pages(struct page **pages)
{
	unsigned int i;

	for (i = 0; i < DSMIL_SIM_PAGES && pages[i]; i++) {
		set_page_private(pages[i], 0);
		__free_page(pages[i]);
	}
	kvfree(pages);
}

/*
 * Count a write of @len bytes at @addr (a mapping of one chunk) against the
 * windows it touches.  The backend is handed mapping addresses, not region
 * offsets: chunk 0's window pages carry their page index + 1 in
 * page_private() (set when they are allocated), so the page under @addr
 * says where it is, whatever was mapped or unmapped meanwhile.
 */
static void dsmil_sim_count_write(struct dsmil_sim *sim, const void *addr,
				  size_t len)
{
	while (len) {
		size_t in_page = min_t(size_t, len,
				       PAGE_SIZE - offset_in_page(addr));
		unsigned long k = page_private(vmalloc_to_page(addr));
		u64 off, end;

		if (k) {
			off = (k - 1) * PAGE_SIZE + offset_in_page(addr);
			end = min_t(u64, off + in_page, DSMIL_SIM_WIN_END);
			while (off < end) {
				unsigned int g = off / DSMIL_GROUP_STRIDE;
				unsigned int i = off % DSMIL_GROUP_STRIDE /
						 DSMIL_WINDOW_SIZE;
				u64 next = min_t(u64, end,
						 round_down(off, DSMIL_WINDOW_SIZE) +
						 DSMIL_WINDOW_SIZE);
				struct dsmil_sim_window *w;

				if (i < DSMIL_DEVS_PER_GROUP) {
					w = &sim->windows[g * DSMIL_DEVS_PER_GROUP + i];
					atomic64_inc(&w->writes);
					atomic64_add(next - off, &w->bytes);
				}
				off = next;
			}
		}
		addr += in_page;
		len -= in_page;
	}
}

/* debugfs mmio-sim/windows: "id name writes=N bytes=N", one per device. */
static int dsmil_sim_windows_show(struct seq_file *m, void *unused)
{
	struct dsmil_sim *sim = m->private;
	unsigned int id;

	for (id = 0; id < DSMIL_NUM_DEVICES; id++)
		seq_printf(m, "%u DSMIL%uD%X writes=%lld bytes=%lld\n", id,
			   id / DSMIL_DEVS_PER_GROUP, id % DSMIL_DEVS_PER_GROUP,
			   atomic64_read(&sim->windows[id].writes),
			   atomic64_read(&sim->windows[id].bytes));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dsmil_sim_windows);

static int dsmil_sim_probe(struct dsmil_mmio *mm)
{
	struct dentry *parent = dsmil_from_mmio(mm)->debugfs;
	struct dsmil_sim *sim = kzalloc(sizeof(*sim), GFP_KERNEL);

	if (!sim)
		return -ENOMEM;
	mm->priv = sim;
	/*
	 * Read-only for everyone: debugfs under lockdown still serves such
	 * files, and the counters are what the lockdown tests compare.
	 * debugfs errors are not fatal.
	 */
	if (!IS_ERR_OR_NULL(parent)) {
		sim->dir = debugfs_create_dir("mmio-sim", parent);
		debugfs_create_file("windows", 0444, sim->dir, sim,
				    &dsmil_sim_windows_fops);
	}
	return 0;
}

static void dsmil_sim_remove(struct dsmil_mmio *mm)
{
	struct dsmil_sim *sim = mm->priv;
	unsigned int i;

	/* First, so that no reader of the counters is left. */
	debugfs_remove_recursive(sim->dir);
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
			/* Where a window page is (dsmil_sim_count_write()). */
			if (!idx && i < DSMIL_SIM_WIN_PAGES)
				set_page_private(pages[i], i + 1);
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
	dsmil_sim_count_write(mm->priv, addr, width);
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
	dsmil_sim_count_write(mm->priv, addr, len);
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
