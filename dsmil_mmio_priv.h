/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: what the files of the chunk mapper share, and nothing else sees.
 *
 *   dsmil_mmio.c         the core: chunk table, map on demand, LRU cap,
 *                        user counts, eviction, the idle reaper, status
 *   dsmil_mmio_access.c  the checks of an access (range, device windows,
 *                        the hand-off) and the single read and write
 *   dsmil_mmio_bulk.c    the bulk copies, piece by piece
 *   dsmil_mmio_ioc.c     the ioctl handlers and the write audit
 *
 * Calls go down that list, never up: the core knows nothing of accesses,
 * and the access files reach the backends only through chunks the core
 * hands them.  The KUnit suite (tests/dsmil_mmio_test.c) calls these too.
 */
#ifndef _DSMIL_MMIO_PRIV_H
#define _DSMIL_MMIO_PRIV_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/types.h>

#include "dsmil_mmio.h"

struct iov_iter;

#define DSMIL_CHUNK_SHIFT	22
#define DSMIL_CHUNK_MASK	(DSMIL_CHUNK_SIZE - 1)
static_assert(BIT_ULL(DSMIL_CHUNK_SHIFT) == DSMIL_CHUNK_SIZE);

/* ---- the core (dsmil_mmio.c) -------------------------------------------- */

void __iomem *dsmil_mmio_chunk_get(struct dsmil_mmio *mm, unsigned int idx);
void dsmil_mmio_chunk_put(struct dsmil_mmio *mm, unsigned int idx);
int dsmil_mmio_span_get(struct dsmil_mmio *mm, unsigned int first,
			unsigned int last, void __iomem **addrs);
void dsmil_mmio_span_put(struct dsmil_mmio *mm, unsigned int first,
			 unsigned int n);
int dsmil_mmio_fill_status(struct dsmil_mmio *mm,
			   struct dsmil_mmio_status *st,
			   struct dsmil_chunk_stat *cs, unsigned int count);

/* ---- checks, hand-off, single accesses (dsmil_mmio_access.c) ------------ */

int dsmil_mmio_refuse(struct dsmil_mmio *mm, const char *op, u64 offset,
		      u64 len, u32 flags, u16 device, const char *why, int err);
int dsmil_mmio_check_range(struct dsmil_mmio *mm, u64 offset, u64 len,
			   u32 flags, u16 device, u64 *pos, const char **why);
int dsmil_mmio_check_device(struct dsmil_mmio *mm, const char *op,
			    u64 offset, u64 len, u32 flags, u16 device,
			    bool write, u64 pos);
bool dsmil_mmio_in_windows(u64 pos, u64 n);
int dsmil_mmio_handoff_begin(struct dsmil_mmio *mm, const char *op, u64 pos,
			     size_t n, bool write);
void dsmil_mmio_handoff_end(struct dsmil_mmio *mm, u64 pos, size_t n,
			    bool write);
void dsmil_mmio_write_delay(struct dsmil_mmio *mm);
void dsmil_mmio_read_piece(struct dsmil_mmio *mm, void *dst,
			   const void __iomem *addr, u64 pos, size_t n);
void dsmil_mmio_write_piece(struct dsmil_mmio *mm, void __iomem *addr,
			    const void *src, u64 pos, size_t n);
int dsmil_mmio_read(struct dsmil_mmio *mm, struct dsmil_mmio_rw *rw);
int dsmil_mmio_write(struct dsmil_mmio *mm, struct dsmil_mmio_rw *rw);

/* ---- bulk copies (dsmil_mmio_bulk.c) ------------------------------------ */

int dsmil_mmio_bulk_read(struct dsmil_mmio *mm, struct dsmil_mmio_bulk *b,
			 struct iov_iter *to);
int dsmil_mmio_bulk_write(struct dsmil_mmio *mm, struct dsmil_mmio_bulk *b,
			  struct iov_iter *from);

#if IS_ENABLED(CONFIG_KUNIT)
/* The KUnit static-stub seams of the bulk write; static otherwise. */
size_t dsmil_mmio_copy_from_nofault(void *dst, size_t n, struct iov_iter *from);
size_t dsmil_mmio_copy_from_faulting(void *dst, size_t n,
				     struct iov_iter *from);
#endif

#endif /* _DSMIL_MMIO_PRIV_H */
