/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: chunked MMIO mapper (dsmil_mmio.c and the files named in
 * dsmil_mmio_priv.h) and its backends (dsmil_mmio_sim.c, dsmil_mmio_iomem.c).
 *
 * The region is cut into DSMIL_CHUNK_SIZE chunks, each mapped the first time
 * it is touched, at most max_resident at once.  An access that finds its
 * chunk mapped takes no lock: it raises the chunk's user count, then checks
 * that the chunk is still mapped (see dsmil_mmio_chunk_get()).  Mapping and
 * unmapping happen under the instance's mutex, never while a chunk has users.
 */
#ifndef _DSMIL_MMIO_H
#define _DSMIL_MMIO_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dsmil_ioctl.h"
/* DSMIL_WINDOWS_END: every device window lies below it, in the first chunk. */
#include "dsmil_logic.h"

struct dentry;
struct dsmil_mmio;

/* A bulk write may touch at most this many chunks (16 MiB, unaligned). */
#define DSMIL_MMIO_SPAN_MAX	(DSMIL_BULK_MAX / DSMIL_CHUNK_SIZE + 1)
/* Bound on idle_ms: an hour. */
#define DSMIL_MMIO_IDLE_MAX_MS	3600000U
/* Default bound on the wait for a free slot when every chunk is busy. */
#define DSMIL_MMIO_BUSY_WAIT_MS	100U

/**
 * struct dsmil_mmio_ops - a mapper backend.
 * @name:        short name, shown in the info ioctl.
 * @probe:       claim the region at load (optional); may set mm->priv.
 * @remove:      undo @probe (optional); every chunk is unmapped by then.
 * @map:         map chunk @idx; returns its address (handed back to the
 *               accessors below, never dereferenced by the core) or an
 *               ERR_PTR.  Called under mm->lock; may sleep.  I/O memory:
 *               a backend over plain memory converts in one place.
 * @unmap:       undo @map; the chunk has no users.  Called under mm->lock.
 * @read:        read @width (1, 2, 4, 8) bytes at @addr, naturally aligned.
 * @write:       write @width bytes at @addr, naturally aligned.
 * @read_block:  copy @len bytes (at most a page, never crossing a chunk) from
 *               @addr into @dst.
 * @write_block: copy @len bytes from @src to @addr.
 * @read_user:   optional: copy @len bytes as @read_block does, but straight
 *               into user memory at @dst (one pass, no bounce page); returns
 *               the number of bytes not copied, as copy_to_user() does.
 *               Called with page faults disabled: a fault ends the copy.
 * @read_user_regs: optional: as @read_user, inside a device window: only
 *               32-bit reads at 4-byte aligned addresses, single bytes at
 *               unaligned ends (the core's register width).
 * @write_user:  optional: copy @len bytes (up to 64 KiB, never crossing a
 *               chunk) from user memory at @src straight to @addr, as
 *               @write_block does from a bounce page; returns
 *               the number of bytes not copied.  Called with page faults
 *               disabled: a fault ends the copy (the core takes it and
 *               copies the piece again).
 * @debugfs:     optional: add the backend's files to the mapper's debugfs
 *               directory @dir (removed before @remove is called).
 *
 * The block accessors and @read_user/@write_user are used outside device
 * windows only; inside them the core calls @read and @write at the
 * registers' width, or @read_user_regs.
 */
struct dsmil_mmio_ops {
	const char *name;
	int (*probe)(struct dsmil_mmio *mm);
	void (*remove)(struct dsmil_mmio *mm);
	void __iomem *(*map)(struct dsmil_mmio *mm, unsigned int idx);
	void (*unmap)(struct dsmil_mmio *mm, unsigned int idx,
		      void __iomem *addr);
	u64 (*read)(struct dsmil_mmio *mm, const void __iomem *addr,
		    unsigned int width);
	void (*write)(struct dsmil_mmio *mm, void __iomem *addr,
		      unsigned int width, u64 val);
	void (*read_block)(struct dsmil_mmio *mm, void *dst,
			   const void __iomem *addr, size_t len);
	void (*write_block)(struct dsmil_mmio *mm, void __iomem *addr,
			    const void *src, size_t len);
	size_t (*read_user)(struct dsmil_mmio *mm, void __user *dst,
			    const void __iomem *addr, size_t len);
	size_t (*read_user_regs)(struct dsmil_mmio *mm, void __user *dst,
				 const void __iomem *addr, size_t len);
	size_t (*write_user)(struct dsmil_mmio *mm, void __iomem *addr,
			     const void __user *src, size_t len);
	void (*debugfs)(struct dsmil_mmio *mm, struct dentry *dir);
};

extern const struct dsmil_mmio_ops dsmil_mmio_sim_ops;

/**
 * struct dsmil_sim_usage - memory of the sim backend (dsmil_mmio_sim.c).
 * @pages:   pages held, all chunks.
 * @kept:    pages kept by chunks that are not mapped (their contents).
 * @budget:  cap on @kept: max_resident chunks' worth.
 * @dropped: chunks that lost their kept pages to the cap.
 */
struct dsmil_sim_usage {
	unsigned long pages;
	unsigned long kept;
	unsigned long budget;
	u64 dropped;
};

extern const struct dsmil_mmio_ops dsmil_mmio_iomem_ops;

/*
 * The backend a region needs: the physical one with a base (mmio_base), the
 * simulated one without.  The caller of dsmil_mmio_init() chooses.  (Both
 * ops are exported to the KUnit module, which calls this too.)
 */
static inline const struct dsmil_mmio_ops *dsmil_mmio_backend(u64 base)
{
	return base ? &dsmil_mmio_iomem_ops : &dsmil_mmio_sim_ops;
}

/**
 * struct dsmil_mmio_config - mapper settings, from module parameters.
 * @base:         physical base; 0 selects the simulated region.
 * @size:         region size, a multiple of DSMIL_CHUNK_SIZE.
 * @max_resident: cap on chunks mapped at once.
 * @idle_ms:      idle chunks are unmapped after this delay (0: never).
 */
struct dsmil_mmio_config {
	u64 base;
	u64 size;
	unsigned int max_resident;
	unsigned int idle_ms;
};

/**
 * struct dsmil_chunk - one chunk's bookkeeping, a cache line of its own so
 * that accesses to different chunks never write to a shared line.
 * @users:         accesses holding the chunk (mapped, or waiting to map it).
 * @addr:          mapping, NULL when not resident.  Written under mm->lock;
 *                 read locklessly after @users is raised.
 * @last_used:     ktime_get_ns() of the last release (or of the map).
 * @hits:          accesses that found the chunk mapped.
 * @bytes_read:    bytes read from the chunk.
 * @bytes_written: bytes written to the chunk.
 * @maps:          times mapped (under mm->lock).
 */
struct dsmil_chunk {
	atomic_t users;
	void __iomem *addr;
	atomic64_t last_used;
	atomic64_t hits;
	atomic64_t bytes_read;
	atomic64_t bytes_written;
	u64 maps;
} ____cacheline_aligned_in_smp;

/**
 * struct dsmil_mmio - the chunk mapper of one instance.
 * @backend_name:  name of the backend in use.
 * @base:          physical base (0 for the simulated region).
 * @size:          bytes in the region.
 * @num_chunks:    chunks in the region.
 * @max_resident:  cap on chunks mapped at once.
 * @idle_ms:       idle delay before the reaper unmaps a chunk (0: never).
 * @busy_wait_ms:  bound on the wait for a slot when all chunks are busy.
 * @write_delay_ms: test knob: each written page stays this long at the
 *                 backend, inside its hand-off (debugfs; 0: none).
 * @ops:           backend.
 * @priv:          backend data (set by its @probe).
 * @chunks:        @num_chunks entries.
 * @lock:          serialises map, unmap and eviction (the slow path) and
 *                 protects the fields below it up to @reaper.
 * @resident:      chunks mapped now.
 * @dying:         set at exit: the reaper must not re-arm.
 * @resident_map:  bit per mapped chunk.
 * @ever_mapped:   bit per chunk mapped at least once.
 * @maps:          successful maps.
 * @unmaps:        unmaps (evictions + idle reaps + suspends + unload).
 * @evictions:     LRU evictions to stay under the cap.
 * @map_failures:  failed maps.
 * @reaper:        unmaps chunks idle for @idle_ms.
 * @slot_wq:       waiters for free slots (every resident chunk busy).
 * @slot_waiters:  number of such waiters; read on release.
 * @fail_maps:     make the next N maps fail (debugfs, tests).
 * @all_busy:      accesses refused because every resident chunk was busy.
 * @refused:       accesses refused for their arguments or device state
 *                 (device-scoped, or a raw write into a closed window).
 * @debugfs:       the "mmio" debugfs directory, or NULL.
 */
struct dsmil_mmio {
	const char *backend_name;
	u64 base;
	u64 size;
	unsigned int num_chunks;
	unsigned int max_resident;
	unsigned int idle_ms;
	unsigned int busy_wait_ms;
	unsigned int write_delay_ms;
	const struct dsmil_mmio_ops *ops;
	void *priv;
	struct dsmil_chunk *chunks;

	struct mutex lock;	/* the slow path; see above */
	unsigned int resident;
	bool dying;
	DECLARE_BITMAP(resident_map, DSMIL_MAX_CHUNKS);
	DECLARE_BITMAP(ever_mapped, DSMIL_MAX_CHUNKS);
	u64 maps;
	u64 unmaps;
	u64 evictions;
	u64 map_failures;

	struct delayed_work reaper;
	wait_queue_head_t slot_wq;
	atomic_t slot_waiters;
	atomic_t fail_maps;
	atomic64_t all_busy;
	atomic64_t refused;
	struct dentry *debugfs;
};

int dsmil_mmio_init(struct dsmil_mmio *mm, const struct dsmil_mmio_config *cfg,
		    const struct dsmil_mmio_ops *ops, struct dentry *debugfs);
void dsmil_mmio_exit(struct dsmil_mmio *mm);
unsigned int dsmil_mmio_unmap_all(struct dsmil_mmio *mm, unsigned int *busy);

#if IS_ENABLED(CONFIG_KUNIT)
/* The sim backend's memory, for tests/dsmil_mmio_test.c; static otherwise. */
int dsmil_mmio_sim_usage(struct dsmil_mmio *mm, struct dsmil_sim_usage *u);
#endif

#endif /* _DSMIL_MMIO_H */
