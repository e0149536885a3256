// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: simulated region for the chunk mapper (mmio_base=0, the default).
 *
 * A chunk is backed by pages allocated (zeroed) when it is mapped.  A
 * mapping is a vmap() of those pages, torn down by vunmap() on eviction: an
 * access through a stale mapping faults instead of silently working, which
 * is what the tests of the mapping policy want to see.
 *
 * Memory follows the mapping, bounded: when a chunk is unmapped, its pages
 * that hold only zeros are freed (a fresh page reads zero anyway), and the
 * others are kept so that the region keeps its contents across evictions,
 * like device memory does.  The pages kept by chunks that are not mapped
 * are capped at max_resident chunks' worth (one chunk more between an
 * eviction and the map that follows it); past the cap the chunk unmapped
 * longest ago loses its pages (it reads zero again when next mapped),
 * counted in "dropped".  So the sim holds at most 2 * max_resident + 1
 * chunks of memory: a sweep over the whole region (which used to keep every
 * page it touched until unload) leaves only the resident chunks and what was
 * written recently.
 *
 * Everything here runs under mm->lock (the core calls ->map and ->unmap
 * with it held; ->remove runs when nothing else can), except the accessors.
 *
 * The model also counts, per device window, the writes that reached it
 * (debugfs mmio/windows, read-only): the backend's own witness that a
 * refused or fenced write never landed, whatever the driver returned.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dsmil_priv.h"

#define DSMIL_SIM_PAGES	(DSMIL_CHUNK_SIZE >> PAGE_SHIFT)
/* The device windows: the start of chunk 0. */
#define DSMIL_SIM_WIN_PAGES	DIV_ROUND_UP(DSMIL_WINDOWS_END, PAGE_SIZE)

/* Writes that reached one device window. */
struct dsmil_sim_window {
	atomic64_t writes;	/* write operations touching it */
	atomic64_t bytes;	/* bytes of them inside it */
};

/**
 * struct dsmil_mmio_sim - mm->priv of the sim backend; every field under mm->lock.
 * @pages:    per chunk, its page array (NULL entries: pages not held), or
 *            NULL when the chunk holds no page.
 * @kept:     per chunk that is not mapped, the pages it keeps.
 * @order:    per chunk, when it was last unmapped (@seq then).
 * @mapped:   per chunk, whether it is mapped.
 * @seq:      unmaps so far.
 * @total:    pages held, all chunks.
 * @kept_all: pages kept by chunks that are not mapped (sum of @kept).
 * @budget:   cap on @kept_all after a map: max_resident chunks' worth.
 * @dropped:  chunks whose kept pages were freed to stay under @budget.
 * @windows:  per device, the writes that reached its window (atomics: the
 *            accessors do not take mm->lock).
 */
struct dsmil_mmio_sim {
	struct page **pages[DSMIL_MAX_CHUNKS];
	unsigned int kept[DSMIL_MAX_CHUNKS];
	u64 order[DSMIL_MAX_CHUNKS];
	bool mapped[DSMIL_MAX_CHUNKS];
	u64 seq;
	unsigned long total;
	unsigned long kept_all;
	unsigned long budget;
	u64 dropped;
	struct dsmil_sim_window windows[DSMIL_NUM_DEVICES];
};

/*
 * The core hands mappings around as I/O memory (void __iomem *), which
 * the iomem backend's are; the sim's are a vmap() of kernel pages.  The
 * address space changes here and nowhere else: the mapping becomes the
 * core's cookie when it is made, and plain memory again when an accessor
 * gets it back.
 */
static void __iomem *dsmil_mmio_sim_cookie(void *mem)
{
	return (__force void __iomem *)mem;
}

static void *dsmil_mmio_sim_mem(const void __iomem *addr)
{
	return (__force void *)addr;
}

/* A page of the model goes back; chunk 0's window pages carry a tag. */
static void dsmil_mmio_sim_put_page(struct page *page)
{
	set_page_private(page, 0);
	__free_page(page);
}

/* Free every page chunk @idx holds, and its page array. */
static void dsmil_mmio_sim_free_chunk(struct dsmil_mmio_sim *sim, unsigned int idx)
{
	struct page **pages = sim->pages[idx];
	unsigned int i;

	if (!pages)
		return;
	for (i = 0; i < DSMIL_SIM_PAGES; i++) {
		if (pages[i]) {
			dsmil_mmio_sim_put_page(pages[i]);
			sim->total--;
		}
	}
	kvfree(pages);
	sim->pages[idx] = NULL;
}

/*
 * Keep at most @limit pages in chunks that are not mapped: the chunk
 * unmapped longest ago goes first.
 */
static void dsmil_mmio_sim_enforce_budget(struct dsmil_mmio_sim *sim, unsigned long limit)
{
	unsigned int i;

	while (sim->kept_all > limit) {
		int oldest = -1;

		for (i = 0; i < DSMIL_MAX_CHUNKS; i++)
			if (!sim->mapped[i] && sim->kept[i] &&
			    (oldest < 0 || sim->order[i] < sim->order[oldest]))
				oldest = i;
		if (WARN_ON_ONCE(oldest < 0))
			return;
		sim->kept_all -= sim->kept[oldest];
		sim->kept[oldest] = 0;
		dsmil_mmio_sim_free_chunk(sim, oldest);
		sim->dropped++;
	}
}

/*
 * Chunk @idx is no longer mapped: free its pages that hold only zeros,
 * keep the others (within the budget).
 */
static void dsmil_mmio_sim_release(struct dsmil_mmio_sim *sim, unsigned int idx)
{
	struct page **pages = sim->pages[idx];
	unsigned int i, n = 0;

	sim->mapped[idx] = false;
	if (!pages)
		return;
	for (i = 0; i < DSMIL_SIM_PAGES; i++) {
		if (!pages[i])
			continue;
		if (memchr_inv(page_address(pages[i]), 0, PAGE_SIZE)) {
			n++;
			continue;
		}
		dsmil_mmio_sim_put_page(pages[i]);
		pages[i] = NULL;
		sim->total--;
	}
	if (!n) {
		kvfree(pages);
		sim->pages[idx] = NULL;
	}
	sim->kept[idx] = n;
	sim->kept_all += n;
	sim->order[idx] = ++sim->seq;
	/*
	 * One chunk of slack: the core unmaps an eviction's victim before it
	 * maps the chunk wanted, which may be one that keeps pages; the cap
	 * proper is applied when that map has taken them back.
	 */
	dsmil_mmio_sim_enforce_budget(sim, sim->budget + DSMIL_SIM_PAGES);
}

static int dsmil_mmio_sim_probe(struct dsmil_mmio *mm)
{
	struct dsmil_mmio_sim *sim = kzalloc(sizeof(*sim), GFP_KERNEL);

	if (!sim)
		return -ENOMEM;
	sim->budget = (unsigned long)mm->max_resident * DSMIL_SIM_PAGES;
	mm->priv = sim;
	return 0;
}

static void dsmil_mmio_sim_remove(struct dsmil_mmio *mm)
{
	struct dsmil_mmio_sim *sim = mm->priv;
	unsigned int i;

	for (i = 0; i < DSMIL_MAX_CHUNKS; i++)
		dsmil_mmio_sim_free_chunk(sim, i);
	kfree(sim);
	mm->priv = NULL;
}

static void __iomem *dsmil_mmio_sim_map(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_mmio_sim *sim = mm->priv;
	struct page **pages = sim->pages[idx];
	unsigned int i;
	void *addr;

	lockdep_assert_held(&mm->lock);
	if (!pages) {
		pages = kvcalloc(DSMIL_SIM_PAGES, sizeof(*pages),
				 GFP_KERNEL | __GFP_NOWARN);
		if (!pages)
			return IOMEM_ERR_PTR(-ENOMEM);
		sim->pages[idx] = pages;
	}
	/* Mapped now: what it kept no longer counts against the budget. */
	sim->mapped[idx] = true;
	sim->kept_all -= sim->kept[idx];
	sim->kept[idx] = 0;
	dsmil_mmio_sim_enforce_budget(sim, sim->budget);
	for (i = 0; i < DSMIL_SIM_PAGES; i++) {
		if (pages[i])
			continue;
		/* A zeroed page, like fresh device memory. */
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
		if (!pages[i])
			goto release;
		sim->total++;
		/* Where a window page is (dsmil_mmio_sim_count_write()). */
		if (!idx && i < DSMIL_SIM_WIN_PAGES)
			set_page_private(pages[i], i + 1);
	}
	addr = vmap(pages, DSMIL_SIM_PAGES, VM_MAP, PAGE_KERNEL);
	if (addr)
		return dsmil_mmio_sim_cookie(addr);
release:
	/* Not mapped after all: back to what it kept before. */
	dsmil_mmio_sim_release(sim, idx);
	return IOMEM_ERR_PTR(-ENOMEM);
}

static void dsmil_mmio_sim_unmap(struct dsmil_mmio *mm, unsigned int idx,
				 void __iomem *addr)
{
	lockdep_assert_held(&mm->lock);
	vunmap(dsmil_mmio_sim_mem(addr));
	dsmil_mmio_sim_release(mm->priv, idx);
}

/*
 * Count a write of @len bytes at @addr (a mapping of one chunk) against the
 * windows it touches.  The backend is handed mapping addresses, not region
 * offsets: chunk 0's window pages carry their page index + 1 in
 * page_private() (set when they are allocated), so the page under @addr
 * says where it is, whatever was mapped or unmapped meanwhile.
 */
static void dsmil_mmio_sim_count_write(struct dsmil_mmio_sim *sim, const void *addr,
				       size_t len)
{
	while (len) {
		size_t in_page = min_t(size_t, len,
				       PAGE_SIZE - offset_in_page(addr));
		unsigned long k = page_private(vmalloc_to_page(addr));
		u64 off, end;

		if (k) {
			off = (k - 1) * PAGE_SIZE + offset_in_page(addr);
			end = min_t(u64, off + in_page, DSMIL_WINDOWS_END);
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

/* debugfs mmio/windows: "id name writes=N bytes=N", one per device. */
static int dsmil_mmio_sim_windows_show(struct seq_file *m, void *unused)
{
	struct dsmil_mmio_sim *sim = m->private;
	unsigned int id;

	for (id = 0; id < DSMIL_NUM_DEVICES; id++)
		seq_printf(m, "%u DSMIL%uD%X writes=%lld bytes=%lld\n", id,
			   id / DSMIL_DEVS_PER_GROUP, id % DSMIL_DEVS_PER_GROUP,
			   atomic64_read(&sim->windows[id].writes),
			   atomic64_read(&sim->windows[id].bytes));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dsmil_mmio_sim_windows);

static u64 dsmil_mmio_sim_read(struct dsmil_mmio *mm, const void __iomem *cookie,
			       unsigned int width)
{
	const void *addr = dsmil_mmio_sim_mem(cookie);

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

static void dsmil_mmio_sim_write(struct dsmil_mmio *mm, void __iomem *cookie,
				 unsigned int width, u64 val)
{
	void *addr = dsmil_mmio_sim_mem(cookie);

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
	dsmil_mmio_sim_count_write(mm->priv, addr, width);
}

static void dsmil_mmio_sim_read_block(struct dsmil_mmio *mm, void *dst,
				      const void __iomem *cookie, size_t len)
{
	memcpy(dst, dsmil_mmio_sim_mem(cookie), len);
}

static void dsmil_mmio_sim_write_block(struct dsmil_mmio *mm, void __iomem *cookie,
				       const void *src, size_t len)
{
	void *addr = dsmil_mmio_sim_mem(cookie);

	memcpy(addr, src, len);
	dsmil_mmio_sim_count_write(mm->priv, addr, len);
}

/**
 * dsmil_mmio_sim_usage - the sim backend's memory, for tests.
 * @mm:    a mapper on the sim backend.
 * @u:     out: pages held, kept by chunks not mapped, the cap on those,
 *         and chunks that lost their kept pages to the cap.
 *
 * Return: 0, or -EINTR (fatal signal while waiting for the mapper's lock).
 */
VISIBLE_IF_KUNIT int dsmil_mmio_sim_usage(struct dsmil_mmio *mm,
					  struct dsmil_sim_usage *u)
{
	struct dsmil_mmio_sim *sim = mm->priv;

	if (mutex_lock_killable(&mm->lock))
		return -EINTR;
	u->pages = sim->total;
	u->kept = sim->kept_all;
	u->budget = sim->budget;
	u->dropped = sim->dropped;
	mutex_unlock(&mm->lock);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_sim_usage);

/* debugfs "mmio/sim": the same, one line. */
static int dsmil_mmio_sim_show(struct seq_file *s, void *unused)
{
	struct dsmil_sim_usage u;

	if (dsmil_mmio_sim_usage(s->private, &u))
		return -EINTR;
	seq_printf(s, "pages=%lu kept=%lu budget=%lu dropped=%llu\n",
		   u.pages, u.kept, u.budget, u.dropped);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dsmil_mmio_sim);

static void dsmil_mmio_sim_debugfs(struct dsmil_mmio *mm, struct dentry *dir)
{
	debugfs_create_file("sim", 0400, dir, mm, &dsmil_mmio_sim_fops);
	/*
	 * Read-only for everyone: debugfs under lockdown still serves such
	 * files, and the counters are what the lockdown tests compare.
	 */
	debugfs_create_file("windows", 0444, dir, mm->priv,
			    &dsmil_mmio_sim_windows_fops);
}

const struct dsmil_mmio_ops dsmil_mmio_sim_ops = {
	.name = "sim",
	.probe = dsmil_mmio_sim_probe,
	.remove = dsmil_mmio_sim_remove,
	.map = dsmil_mmio_sim_map,
	.unmap = dsmil_mmio_sim_unmap,
	.read = dsmil_mmio_sim_read,
	.write = dsmil_mmio_sim_write,
	.read_block = dsmil_mmio_sim_read_block,
	.write_block = dsmil_mmio_sim_write_block,
	.debugfs = dsmil_mmio_sim_debugfs,
};
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_sim_ops);
