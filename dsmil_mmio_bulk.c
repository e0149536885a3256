// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the bulk copies of the chunk mapper (DSMIL_IOC_MMIO_BULK_READ and
 * _WRITE), up to DSMIL_BULK_MAX bytes, piece by piece.
 *
 * A read holds one chunk at a time; a write holds its whole span, taken all
 * together (dsmil_mmio_span_get()).  Every piece that touches a device
 * window passes the hand-off of dsmil_mmio_access.c right before the backend
 * sees it.  The copy from or to the user never takes a page fault while a
 * chunk is held: it runs with faults disabled, and a fault is taken after
 * the chunks are released, so that a fault userspace stalls (userfaultfd)
 * pins nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "dsmil_priv.h"
#include "dsmil_mmio_priv.h"
#include "dsmil_logic.h"

static int dsmil_mmio_bulk_prepare(struct dsmil_mmio *mm,
				   const struct dsmil_mmio_bulk *b, bool write,
				   size_t avail, u64 *pos)
{
	const char *op = write ? "bulk-write" : "bulk-read";
	const char *why;
	int ret;

	if (!b->length || b->length > DSMIL_BULK_MAX || b->length > avail)
		return dsmil_mmio_refuse(mm, op, b->offset, b->length,
					 b->flags, b->device, "length",
					 -EINVAL);
	ret = dsmil_mmio_check_range(mm, b->offset, b->length, b->flags,
				     b->device, pos, &why);
	if (ret)
		return dsmil_mmio_refuse(mm, op, b->offset, b->length,
					 b->flags, b->device, why, ret);
	return dsmil_mmio_check_device(mm, op, b->offset, b->length, b->flags,
				       b->device, write, *pos);
}

/* Bytes from @pos to the end of its page, of its chunk and of the copy. */
static size_t dsmil_mmio_piece(u64 pos, u64 end)
{
	return min_t(u64, end - pos, PAGE_SIZE - offset_in_page(pos));
}

/*
 * A direct write (->write_user) past the device windows needs no hand-off
 * and no bounce page, so it goes in pieces of up to 64 KiB (never across a
 * chunk): fewer calls per byte, and still short enough for cond_resched()
 * between them.  Below the end of the windows, page by page.
 */
#define DSMIL_MMIO_DIRECT_PIECE	SZ_64K
static_assert(DSMIL_CHUNK_SIZE % DSMIL_MMIO_DIRECT_PIECE == 0);

static size_t dsmil_mmio_direct_piece(u64 pos, u64 end)
{
	if (pos < DSMIL_WINDOWS_END)
		return dsmil_mmio_piece(pos, end);
	return min_t(u64, end - pos, DSMIL_MMIO_DIRECT_PIECE -
		     (pos & (DSMIL_MMIO_DIRECT_PIECE - 1)));
}

/*
 * Whether a bulk read may go straight from the mapping into @to: a user
 * buffer (the ioctl's ITER_UBUF), a backend that can, and a raw-region read.
 * Pieces inside device windows need ->read_user_regs (->read_user makes
 * 64-bit reads), or take the bounce page and register-width reads.
 */
static bool dsmil_mmio_direct(const struct dsmil_mmio *mm,
			      const struct dsmil_mmio_bulk *b,
			      const struct iov_iter *to)
{
	return mm->ops->read_user && iter_is_ubuf(to) &&
	       !(b->flags & DSMIL_MMIO_F_DEVICE);
}

/*
 * One piece straight into the user buffer of @to (ITER_UBUF), without
 * taking a page fault: the caller holds a chunk, and a fault may wait for
 * as long as userspace wants (userfaultfd).  All or nothing: returns true
 * and advances @to if the whole piece landed.
 */
static bool dsmil_mmio_read_direct(struct dsmil_mmio *mm,
				   const void __iomem *src, size_t n,
				   struct iov_iter *to, bool regs)
{
	void __user *dst = to->ubuf + to->iov_offset;
	size_t left;

	pagefault_disable();
	if (regs)
		left = mm->ops->read_user_regs(mm, dst, src, n);
	else
		left = mm->ops->read_user(mm, dst, src, n);
	pagefault_enable();
	if (left)
		return false;
	iov_iter_advance(to, n);
	return true;
}

/* copy_to_iter()/copy_from_iter() that fail short instead of faulting. */
static size_t dsmil_mmio_copy_to_nofault(const void *src, size_t n,
					 struct iov_iter *to)
{
	size_t got;

	pagefault_disable();
	got = copy_to_iter(src, n, to);
	pagefault_enable();
	return got;
}

VISIBLE_IF_KUNIT size_t dsmil_mmio_copy_from_nofault(void *dst, size_t n,
						     struct iov_iter *from)
{
	size_t got;

	/* KUnit makes this fail short, as a source page reclaimed would. */
	KUNIT_STATIC_STUB_REDIRECT(dsmil_mmio_copy_from_nofault, dst, n, from);
	pagefault_disable();
	got = copy_from_iter(dst, n, from);
	pagefault_enable();
	return got;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_copy_from_nofault);

/*
 * The rest of a piece whose source faulted, copied taking the fault; called
 * holding no chunk, so the chunks may be evicted meanwhile (KUnit evicts
 * them here).
 */
VISIBLE_IF_KUNIT size_t dsmil_mmio_copy_from_faulting(void *dst, size_t n,
						      struct iov_iter *from)
{
	KUNIT_STATIC_STUB_REDIRECT(dsmil_mmio_copy_from_faulting, dst, n, from);
	return copy_from_iter(dst, n, from);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_copy_from_faulting);

/*
 * One piece straight from the user buffer of @from (ITER_UBUF) into the
 * mapping, as dsmil_mmio_read_direct() does the other way, without taking
 * a page fault.  Returns the bytes that landed (all of @n unless the
 * source faulted), and advances @from past them: what reached the
 * hardware is counted as done even when the rest of the piece never comes.
 */
static size_t dsmil_mmio_write_direct(struct dsmil_mmio *mm,
				      void __iomem *dst, size_t n,
				      struct iov_iter *from)
{
	size_t left;

	pagefault_disable();
	left = mm->ops->write_user(mm, dst, from->ubuf + from->iov_offset, n);
	pagefault_enable();
	if (WARN_ON_ONCE(left > n))
		left = n;
	iov_iter_advance(from, n - left);
	return n - left;
}

/**
 * dsmil_mmio_bulk_read - copy up to DSMIL_BULK_MAX bytes out of the region.
 * @mm: mapper.
 * @b:  the request; @b->done receives the bytes copied.
 * @to: destination (the user buffer, or a kernel buffer in tests), at least
 *      @b->length bytes.
 *
 * Copies page by page, holding one chunk at a time, and stops at a fatal
 * signal with @b->done telling how far it got.  A raw-region read into a
 * user buffer is filled straight from the mapping when the backend has
 * ->read_user (the ioctl's case on real hardware); inside device windows
 * with ->read_user_regs, at the registers' width.  Everything else goes
 * through a bounce page (as drivers/char/mem.c does), window bytes read
 * register by register.  A
 * device-scoped read passes the read hand-off for every page.  The copy to
 * the user never takes a page fault while a chunk is held: a fault is
 * taken after the chunk is released, so that a fault userspace stalls
 * (userfaultfd) pins nothing.
 *
 * Return: 0 (also when a fatal signal stopped the copy after the first
 * byte), or a negative errno as documented for DSMIL_IOC_MMIO_BULK_READ.
 */
int dsmil_mmio_bulk_read(struct dsmil_mmio *mm, struct dsmil_mmio_bulk *b,
			 struct iov_iter *to)
{
	bool direct, regs, fenced = b->flags & DSMIL_MMIO_F_DEVICE;
	void __iomem *addr = NULL, *src;
	unsigned int idx, cur = UINT_MAX;
	void *bounce = NULL;
	u64 pos, end;
	size_t n, got;
	int ret;

	b->done = 0;
	ret = dsmil_mmio_bulk_prepare(mm, b, false, iov_iter_count(to), &pos);
	if (ret)
		return ret;
	end = pos + b->length;
	direct = dsmil_mmio_direct(mm, b, to);
	if (!direct || (!mm->ops->read_user_regs &&
			dsmil_mmio_in_windows(pos, b->length))) {
		bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
	}

	while (pos < end) {
		n = dsmil_mmio_piece(pos, end);
		if (fatal_signal_pending(current)) {
			ret = b->done ? 0 : -EINTR;
			break;
		}
		idx = pos >> DSMIL_CHUNK_SHIFT;
		regs = dsmil_mmio_in_windows(pos, n);
		if (direct && regs && mm->ops->read_user_regs) {
			/*
			 * A register read is not repeatable (it may clear
			 * what it reads): fault the destination in first,
			 * holding no chunk, so that the read below does not
			 * fail on a fresh page and read the registers twice.
			 * (A page reclaimed in between still can; rare.)
			 */
			if (cur != UINT_MAX)
				dsmil_mmio_chunk_put(mm, cur);
			cur = UINT_MAX;
			if (fault_in_iov_iter_writeable(to, n)) {
				ret = -EFAULT;
				break;
			}
		}
		if (idx != cur) {
			if (cur != UINT_MAX)
				dsmil_mmio_chunk_put(mm, cur);
			cur = UINT_MAX;
			addr = dsmil_mmio_chunk_get(mm, idx);
			if (IS_ERR(addr)) {
				ret = PTR_ERR(addr);
				/* A fatal signal past the first byte: a short read. */
				if (ret == -EINTR && b->done)
					ret = 0;
				break;
			}
			cur = idx;
		}
		src = addr + (pos & DSMIL_CHUNK_MASK);
		if (direct && (!regs || mm->ops->read_user_regs)) {
			if (!dsmil_mmio_read_direct(mm, src, n, to, regs)) {
				/* The user buffer faulted: fault it in unpinned. */
				dsmil_mmio_chunk_put(mm, cur);
				cur = UINT_MAX;
				if (fault_in_iov_iter_writeable(to, n)) {
					ret = -EFAULT;
					break;
				}
				continue;	/* and read the piece again */
			}
		} else {
			if (fenced) {
				ret = dsmil_mmio_handoff_begin(mm, "bulk-read",
							       pos, n, false);
				if (ret)
					break;
			}
			dsmil_mmio_read_piece(mm, bounce, src, pos, n);
			if (fenced)
				dsmil_mmio_handoff_end(mm, pos, n, false);
			got = dsmil_mmio_copy_to_nofault(bounce, n, to);
			if (got != n) {
				/* Take the fault holding no chunk. */
				dsmil_mmio_chunk_put(mm, cur);
				cur = UINT_MAX;
				if (copy_to_iter(bounce + got, n - got, to) !=
				    n - got) {
					ret = -EFAULT;
					break;
				}
			}
		}
		atomic64_add(n, &mm->chunks[idx].bytes_read);
		pos += n;
		b->done += n;
		cond_resched();
	}
	if (cur != UINT_MAX)
		dsmil_mmio_chunk_put(mm, cur);
	kfree(bounce);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_bulk_read);

/**
 * dsmil_mmio_bulk_write - copy up to DSMIL_BULK_MAX bytes into the region.
 * @mm:   mapper.
 * @b:    the request; @b->done receives the bytes written.
 * @from: source (the user buffer, or a kernel buffer in tests), at least
 *        @b->length bytes.
 *
 * A raw-region piece from a user buffer goes straight into the mapping when
 * the backend has ->write_user (the iomem backend), outside device windows.
 * Before the first byte: the range is checked, the source faulted in, and
 * every chunk the range touches mapped and held, all together or none
 * (dsmil_mmio_span_get(): no chunk is held while waiting for another), so
 * that a refusal, a map failure or -EBUSY writes nothing; a fatal signal is
 * honoured only then.  Then page by page: the source page is copied into a
 * bounce page without taking a fault (a fault is taken with every chunk
 * released, then the chunks are taken again), and each page that touches a
 * device window passes the write hand-off right before it reaches the
 * backend (registers at their own width).  Partial writes: a window
 * refused at the hand-off (an emergency stop, the device leaving ACTIVE,
 * allow_writes cleared or lockdown raised meanwhile) stops the write at
 * that page with the hand-off's errno; a source buffer that becomes
 * unreadable (-EFAULT), or chunks that cannot be taken again after a fault,
 * stop it too.  @b->done then counts the bytes that landed, a prefix of the
 * range.
 *
 * Return: 0 or a negative errno as documented for DSMIL_IOC_MMIO_BULK_WRITE.
 */
int dsmil_mmio_bulk_write(struct dsmil_mmio *mm, struct dsmil_mmio_bulk *b,
			  struct iov_iter *from)
{
	void __iomem *addrs[DSMIL_MMIO_SPAN_MAX], *dst;
	unsigned int first, last, idx;
	bool direct, held = false;
	void *bounce;
	size_t n, got;
	u64 pos, end;
	int ret;

	b->done = 0;
	ret = dsmil_mmio_bulk_prepare(mm, b, true, iov_iter_count(from), &pos);
	if (ret)
		return ret;
	end = pos + b->length;
	dsmil_logic_chunk_span(pos, b->length, &first, &last);
	if (last - first + 1 > mm->max_resident)
		return dsmil_mmio_refuse(mm, "bulk-write", b->offset, b->length,
					 b->flags, b->device, "span-over-cap",
					 -E2BIG);
	if (fault_in_iov_iter_readable(from, b->length))
		return dsmil_mmio_refuse(mm, "bulk-write", b->offset, b->length,
					 b->flags, b->device, "fault",
					 -EFAULT);
	if (fatal_signal_pending(current))
		return -EINTR;
	direct = mm->ops->write_user && iter_is_ubuf(from);
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	ret = dsmil_mmio_span_get(mm, first, last, addrs);
	if (ret)
		goto free_bounce;
	held = true;
	while (pos < end) {
		n = direct ? dsmil_mmio_direct_piece(pos, end) :
			     dsmil_mmio_piece(pos, end);
		idx = pos >> DSMIL_CHUNK_SHIFT;
		if (direct && !dsmil_mmio_in_windows(pos, n)) {
			ret = dsmil_mmio_handoff_begin(mm, "bulk-write", pos, n, true);
			if (ret)
				break;
			dst = addrs[idx - first] + (pos & DSMIL_CHUNK_MASK);
			got = dsmil_mmio_write_direct(mm, dst, n, from);
			atomic64_add(got, &mm->chunks[idx].bytes_written);
			dsmil_mmio_write_delay(mm);
			dsmil_mmio_handoff_end(mm, pos, n, true);
			pos += got;
			b->done += got;
			if (got != n) {
				/*
				 * The source faulted: fault the rest in
				 * holding no chunk, and take the span again
				 * (its mappings may be new ones).
				 */
				dsmil_mmio_span_put(mm, first, last - first + 1);
				held = false;
				if (fault_in_iov_iter_readable(from, n - got)) {
					ret = -EFAULT;
					break;
				}
				ret = dsmil_mmio_span_get(mm, first, last, addrs);
				if (ret)
					break;
				held = true;
			}
			cond_resched();
			continue;
		}
		got = dsmil_mmio_copy_from_nofault(bounce, n, from);
		if (got != n) {
			/* Take the source's fault holding no chunk. */
			dsmil_mmio_span_put(mm, first, last - first + 1);
			held = false;
			if (dsmil_mmio_copy_from_faulting(bounce + got, n - got,
							  from) != n - got) {
				ret = -EFAULT;
				break;
			}
			ret = dsmil_mmio_span_get(mm, first, last, addrs);
			if (ret)
				break;
			held = true;
		}
		ret = dsmil_mmio_handoff_begin(mm, "bulk-write", pos, n, true);
		if (ret)
			break;
		/*
		 * Here, not before the copy: a fault above released the span,
		 * and an eviction meanwhile may have given the chunk a new
		 * mapping; the old address is unmapped.
		 */
		dst = addrs[idx - first] + (pos & DSMIL_CHUNK_MASK);
		dsmil_mmio_write_piece(mm, dst, bounce, pos, n);
		atomic64_add(n, &mm->chunks[idx].bytes_written);
		dsmil_mmio_write_delay(mm);
		dsmil_mmio_handoff_end(mm, pos, n, true);
		pos += n;
		b->done += n;
		cond_resched();
	}
	if (held)
		dsmil_mmio_span_put(mm, first, last - first + 1);
free_bounce:
	kfree(bounce);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_bulk_write);
