// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the checks of an MMIO access and the single read and write.
 *
 * Where an access lands (range, device window), whether the state machine
 * lets it through, and the hand-off.  A request is checked when it arrives
 * and may then wait (for mm->lock, a slot, a map, or the pages before it).
 * Each piece that touches a device window (a page of a bulk transfer, a
 * single access) is checked again right before the backend sees it, under
 * the lock every state change takes (dsmil_mmio_handoff_begin()); a write
 * stays counted until the piece is written, so that an emergency stop waits
 * for it.  Inside windows the backend is called at the registers' width.
 *
 * Chunks come from the core (dsmil_mmio.c); the bulk copies
 * (dsmil_mmio_bulk.c) use the checks and pieces here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "dsmil_priv.h"
#include "dsmil_mmio_priv.h"
#include "dsmil_logic.h"

/* Bound on the debugfs-settable write delay: well under DSMIL_ESTOP_DRAIN_MS. */
#define DSMIL_MMIO_WRITE_DELAY_MAX_MS	500U

/* The mapper's refused-access line; @device is -1 when none is involved. */
static void dsmil_mmio_log_refusal(struct dsmil_mmio *mm, const char *op,
				   u64 offset, u64 len, int device,
				   const char *why, int err)
{
	char dev[24] = "";

	if (device >= 0 && device < DSMIL_NUM_DEVICES)
		snprintf(dev, sizeof(dev), " dev=DSMIL%uD%X",
			 device / DSMIL_DEVS_PER_GROUP,
			 device % DSMIL_DEVS_PER_GROUP);
	dsmil_warn_ratelimited(dsmil_mmio_dev(mm), "refused-access: op=%s%s offset=%#llx len=%llu size=%#llx reason=%s pid=%d errno=%d\n",
			       op, dev, offset, len, mm->size, why, task_tgid_nr(current), err);
}

/* Refusal bookkeeping: counter, the driver-wide reason counter, one line. */
int dsmil_mmio_refuse(struct dsmil_mmio *mm, const char *op, u64 offset,
		      u64 len, u32 flags, u16 device, const char *why, int err)
{
	atomic64_inc(&mm->refused);
	dsmil_count_refusal(dsmil_from_mmio(mm), DSMIL_REASON_BAD_ARG);
	dsmil_mmio_log_refusal(mm, op, offset, len,
			       (flags & DSMIL_MMIO_F_DEVICE) ? device : -1,
			       why, err);
	return err;
}

/**
 * dsmil_mmio_check_range - where in the region would an access land?
 * @mm:     mapper.
 * @offset: offset in the region, or in the device window.
 * @len:    bytes (non-zero).
 * @flags:  DSMIL_MMIO_F_*.
 * @device: device id with DSMIL_MMIO_F_DEVICE, else 0.
 * @pos:    out: offset of the first byte in the region.
 * @why:    out: on refusal, a word saying why (for the log line).
 *
 * Checks the whole range with overflow-safe arithmetic; does not count or
 * log (the callers do).
 *
 * Return: 0, -EINVAL (bad flag, device id or length) or -ERANGE.
 */
int dsmil_mmio_check_range(struct dsmil_mmio *mm, u64 offset, u64 len,
			   u32 flags, u16 device, u64 *pos, const char **why)
{
	return dsmil_logic_mmio_range(mm->size, offset, len, flags, device,
				      pos, why);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_check_range);

/*
 * Every device window a raw write would touch must be open for writing, as
 * if the write were device-scoped: the windows are part of the region, and a
 * raw write is no way around the state machine (a quarantined, LOCKED or
 * OFFLINE device's window is never written).  Checked window by window in
 * address order, before anything is mapped; the first refusal wins.  The
 * state machine counts the refusal under its reason and logs the device;
 * the mapper's line adds the raw range that hit the window.
 */
static int dsmil_mmio_check_windows(struct dsmil_mmio *mm, const char *op,
				    u64 offset, u64 len, u64 pos)
{
	struct dsmil_state *st = &dsmil_from_mmio(mm)->state;
	u64 end = pos + len;	/* within the region: no overflow */
	unsigned int g, i;
	int ret;

	if (pos >= DSMIL_WINDOWS_END)
		return 0;
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		u64 gbase = g * DSMIL_GROUP_STRIDE;

		if (gbase >= end)
			break;
		for (i = 0; i < DSMIL_DEVS_PER_GROUP; i++) {
			u64 wbase = gbase + i * DSMIL_WINDOW_SIZE;
			unsigned int id = g * DSMIL_DEVS_PER_GROUP + i;

			if (wbase >= end)
				break;
			if (wbase + DSMIL_WINDOW_SIZE <= pos)
				continue;
			ret = dsmil_state_check_access(st, id, true);
			if (!ret)
				continue;
			atomic64_inc(&mm->refused);
			dsmil_mmio_log_refusal(mm, op, offset, len, id,
					       ret == -EPERM ? "quarantined" :
					       "window-state", ret);
			return ret;
		}
	}
	return 0;
}

/*
 * A device-scoped access must pass the state machine (it counts and logs);
 * so must a raw write for every device window it touches.
 */
int dsmil_mmio_check_device(struct dsmil_mmio *mm, const char *op,
			    u64 offset, u64 len, u32 flags, u16 device,
			    bool write, u64 pos)
{
	int ret;

	if (!(flags & DSMIL_MMIO_F_DEVICE))
		return write ? dsmil_mmio_check_windows(mm, op, offset, len,
							pos) : 0;
	ret = dsmil_state_check_access(&dsmil_from_mmio(mm)->state, device,
				       write);
	if (ret)
		atomic64_inc(&mm->refused);
	return ret;
}

static int dsmil_mmio_rw_prepare(struct dsmil_mmio *mm,
				 const struct dsmil_mmio_rw *rw, bool write,
				 u64 *pos)
{
	const char *op = write ? "write" : "read";
	const char *why;
	int ret;

	if (!dsmil_logic_width_ok(rw->width))
		return dsmil_mmio_refuse(mm, op, rw->offset, rw->width,
					 rw->flags, rw->device, "width",
					 -EINVAL);
	if (!dsmil_logic_aligned(rw->offset, rw->width))
		return dsmil_mmio_refuse(mm, op, rw->offset, rw->width,
					 rw->flags, rw->device, "misaligned",
					 -EINVAL);
	ret = dsmil_mmio_check_range(mm, rw->offset, rw->width, rw->flags,
				     rw->device, pos, &why);
	if (ret)
		return dsmil_mmio_refuse(mm, op, rw->offset, rw->width,
					 rw->flags, rw->device, why, ret);
	return dsmil_mmio_check_device(mm, op, rw->offset, rw->width,
				       rw->flags, rw->device, write, *pos);
}

/* The device whose window holds region offset @pos, or -1. */
static int dsmil_mmio_window_dev(u64 pos)
{
	return dsmil_logic_window_dev(pos);
}

/* Does [@pos, @pos + @n) touch a device window? */
bool dsmil_mmio_in_windows(u64 pos, u64 n)
{
	u64 w, end = min_t(u64, pos + n, DSMIL_WINDOWS_END);

	for (w = round_down(pos, DSMIL_WINDOW_SIZE); w < end;
	     w += DSMIL_WINDOW_SIZE)
		if (dsmil_mmio_window_dev(w) >= 0)
			return true;
	return false;
}

/* End the hand-offs of the windows whose slots start in [@from, @to). */
static void dsmil_mmio_end_windows(struct dsmil_mmio *mm, u64 from, u64 to,
				   bool write)
{
	struct dsmil_state *st = &dsmil_from_mmio(mm)->state;
	int id;

	for (; from < to; from += DSMIL_WINDOW_SIZE) {
		id = dsmil_mmio_window_dev(from);
		if (id >= 0)
			dsmil_state_handoff_end(st, id, write);
	}
}

/*
 * The hand-off for every device window [@pos, @pos + @n) touches, right
 * before the backend is called: the device's state is checked again under
 * the lock every state change takes (dsmil_state_handoff_begin()), and a
 * write is counted until dsmil_mmio_handoff_end(), so that an emergency
 * stop waits for it and nothing is written after the stop returned.  A
 * write that touches no window has no device to check, but allow_writes
 * and lockdown hold for it all the same: it asks the write policy alone
 * (and logs a refusal itself, since no device's line covers it).  All or
 * none: on refusal (counted in @refused; the state machine counts and logs
 * a device's reason) nothing is held.
 */
int dsmil_mmio_handoff_begin(struct dsmil_mmio *mm, const char *op, u64 pos,
			     size_t n, bool write)
{
	struct dsmil_state *st = &dsmil_from_mmio(mm)->state;
	u64 w, start = round_down(pos, DSMIL_WINDOW_SIZE);
	u64 end = min_t(u64, pos + n, DSMIL_WINDOWS_END);
	bool any = false;
	int id, ret;

	for (w = start; w < end; w += DSMIL_WINDOW_SIZE) {
		id = dsmil_mmio_window_dev(w);
		if (id < 0)
			continue;
		any = true;
		ret = dsmil_state_handoff_begin(st, id, write);
		if (ret) {
			atomic64_inc(&mm->refused);
			dsmil_mmio_end_windows(mm, start, w, write);
			return ret;
		}
	}
	if (!write || any)
		return 0;
	ret = dsmil_state_write_policy(st);
	if (ret) {
		atomic64_inc(&mm->refused);
		dsmil_mmio_log_refusal(mm, op, pos, n, -1, "policy", ret);
	}
	return ret;
}

void dsmil_mmio_handoff_end(struct dsmil_mmio *mm, u64 pos, size_t n,
			    bool write)
{
	if (pos < DSMIL_WINDOWS_END)
		dsmil_mmio_end_windows(mm, round_down(pos, DSMIL_WINDOW_SIZE),
				       min_t(u64, pos + n, DSMIL_WINDOWS_END),
				       write);
}

/*
 * Test knob (debugfs write_delay_ms): every write piece (a page of a bulk
 * write, or a single write) stays this long at the "hardware", inside its
 * hand-off, as a slow device would; the tests of an emergency stop against
 * a write in flight use it.  At most DSMIL_MMIO_WRITE_DELAY_MAX_MS, well
 * under the time a stop waits for writes in flight.
 */
void dsmil_mmio_write_delay(struct dsmil_mmio *mm)
{
	unsigned int ms = READ_ONCE(mm->write_delay_ms);

	if (unlikely(ms))
		msleep(min(ms, DSMIL_MMIO_WRITE_DELAY_MAX_MS));
}

/*
 * Inside device windows every access has the registers' width (32 bits,
 * Documentation/dsmil-mmio.rst), naturally aligned; bytes before the first
 * and after the last aligned register are accessed one at a time.  The
 * block accessors (memcpy_fromio() and memcpy_toio(), or the direct read)
 * choose their own widths, 64 bits on some architectures and paths.
 */
#define DSMIL_REG_WIDTH		4

static void dsmil_mmio_regs_read(struct dsmil_mmio *mm, u8 *dst,
				 const void __iomem *addr, size_t n)
{
	size_t i = 0;

	for (; i < n && !IS_ALIGNED((unsigned long)addr + i, DSMIL_REG_WIDTH);
	     i++)
		dst[i] = mm->ops->read(mm, addr + i, 1);
	for (; n - i >= DSMIL_REG_WIDTH; i += DSMIL_REG_WIDTH) {
		u32 v = mm->ops->read(mm, addr + i, DSMIL_REG_WIDTH);

		memcpy(dst + i, &v, DSMIL_REG_WIDTH);
	}
	for (; i < n; i++)
		dst[i] = mm->ops->read(mm, addr + i, 1);
}

static void dsmil_mmio_regs_write(struct dsmil_mmio *mm, void __iomem *addr,
				  const u8 *src, size_t n)
{
	size_t i = 0;

	for (; i < n && !IS_ALIGNED((unsigned long)addr + i, DSMIL_REG_WIDTH);
	     i++)
		mm->ops->write(mm, addr + i, 1, src[i]);
	for (; n - i >= DSMIL_REG_WIDTH; i += DSMIL_REG_WIDTH) {
		u32 v;

		memcpy(&v, src + i, DSMIL_REG_WIDTH);
		mm->ops->write(mm, addr + i, DSMIL_REG_WIDTH, v);
	}
	for (; i < n; i++)
		mm->ops->write(mm, addr + i, 1, src[i]);
}

/* One piece (within a page) at region offset @pos, mapped at @addr. */
void dsmil_mmio_read_piece(struct dsmil_mmio *mm, void *dst,
			   const void __iomem *addr, u64 pos, size_t n)
{
	if (dsmil_mmio_in_windows(pos, n))
		dsmil_mmio_regs_read(mm, dst, addr, n);
	else
		mm->ops->read_block(mm, dst, addr, n);
}

void dsmil_mmio_write_piece(struct dsmil_mmio *mm, void __iomem *addr,
			    const void *src, u64 pos, size_t n)
{
	if (dsmil_mmio_in_windows(pos, n))
		dsmil_mmio_regs_write(mm, addr, src, n);
	else
		mm->ops->write_block(mm, addr, src, n);
}

/**
 * dsmil_mmio_read - one naturally aligned read of 1, 2, 4 or 8 bytes.
 * @mm: mapper.
 * @rw: the request (DSMIL_IOC_MMIO_READ); @rw->value receives the result.
 *
 * A device-scoped read passes the read hand-off right before the backend
 * reads (raw reads are not restricted).
 *
 * Return: 0 or a negative errno as documented for DSMIL_IOC_MMIO_READ.
 */
int dsmil_mmio_read(struct dsmil_mmio *mm, struct dsmil_mmio_rw *rw)
{
	bool fenced = rw->flags & DSMIL_MMIO_F_DEVICE;
	void __iomem *addr;
	unsigned int idx;
	u64 pos;
	int ret;

	ret = dsmil_mmio_rw_prepare(mm, rw, false, &pos);
	if (ret)
		return ret;
	idx = pos >> DSMIL_CHUNK_SHIFT;
	addr = dsmil_mmio_chunk_get(mm, idx);
	if (IS_ERR(addr))
		return PTR_ERR(addr);
	if (fenced) {
		ret = dsmil_mmio_handoff_begin(mm, "read", pos, rw->width, false);
		if (ret)
			goto put_chunk;
	}
	rw->value = mm->ops->read(mm, addr + (pos & DSMIL_CHUNK_MASK),
				  rw->width);
	atomic64_add(rw->width, &mm->chunks[idx].bytes_read);
	if (fenced)
		dsmil_mmio_handoff_end(mm, pos, rw->width, false);
put_chunk:
	dsmil_mmio_chunk_put(mm, idx);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_read);

/**
 * dsmil_mmio_write - one naturally aligned write of 1, 2, 4 or 8 bytes.
 * @mm: mapper.
 * @rw: the request (DSMIL_IOC_MMIO_WRITE); the low @rw->width bytes of
 *      @rw->value are written.
 *
 * Nothing is written unless every check passed, the chunk is mapped and,
 * for a write into a device window (device-scoped or raw), the hand-off
 * right before the backend still allows it.
 *
 * Return: 0 or a negative errno as documented for DSMIL_IOC_MMIO_WRITE.
 */
int dsmil_mmio_write(struct dsmil_mmio *mm, struct dsmil_mmio_rw *rw)
{
	void __iomem *addr;
	unsigned int idx;
	u64 pos;
	int ret;

	ret = dsmil_mmio_rw_prepare(mm, rw, true, &pos);
	if (ret)
		return ret;
	idx = pos >> DSMIL_CHUNK_SHIFT;
	addr = dsmil_mmio_chunk_get(mm, idx);
	if (IS_ERR(addr))
		return PTR_ERR(addr);
	ret = dsmil_mmio_handoff_begin(mm, "write", pos, rw->width, true);
	if (!ret) {
		mm->ops->write(mm, addr + (pos & DSMIL_CHUNK_MASK), rw->width,
			       rw->value);
		atomic64_add(rw->width, &mm->chunks[idx].bytes_written);
		dsmil_mmio_write_delay(mm);
		dsmil_mmio_handoff_end(mm, pos, rw->width, true);
	}
	dsmil_mmio_chunk_put(mm, idx);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_write);
