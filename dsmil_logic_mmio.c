// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the MMIO region's arithmetic.  Where an access lands (range,
 * overflow, device window), which chunks hold it, and the width and
 * alignment of a single access.  Pure; contracts proved by
 * tests/host/proof-check.
 *
 * Device (g, i) owns the 4 KiB window at g * 64 KiB + i * 4 KiB: slots
 * 0..11 of each group's 16 are windows, 12..15 the gap before the next.
 */
#include "dsmil_logic.h"

#ifdef __FRAMAC__
/* The ACSL contracts, read by Frama-C only (tests/host/proof-check). */
#include "tests/proof/dsmil_logic_mmio.acsl"
#endif

/* 4 KiB slots per group. */
#define DSMIL_SLOTS	(DSMIL_GROUP_STRIDE / DSMIL_WINDOW_SIZE)

/**
 * dsmil_logic_window_base - region offset of device @device's window.
 * @device: global device id (< DSMIL_NUM_DEVICES).
 */
u64 dsmil_logic_window_base(unsigned int device)
{
	return (device / DSMIL_DEVS_PER_GROUP) * DSMIL_GROUP_STRIDE +
	       (device % DSMIL_DEVS_PER_GROUP) * DSMIL_WINDOW_SIZE;
}

/**
 * dsmil_logic_mmio_range - where in the region would an access land?
 * @size:   the region's size.
 * @offset: offset in the region, or in the device window.
 * @len:    bytes (non-zero).
 * @flags:  DSMIL_MMIO_F_*.
 * @device: device id with DSMIL_MMIO_F_DEVICE, else 0.
 * @pos:    out: offset of the first byte in the region.
 * @why:    out: on refusal, a word saying why (for the log line).
 *
 * Checks the whole range with overflow-safe arithmetic.
 *
 * Return: 0, -EINVAL (bad flag, device id or length) or -ERANGE.
 */
int dsmil_logic_mmio_range(u64 size, u64 offset, u64 len, u32 flags,
			   u16 device, u64 *pos, const char **why)
{
	u64 base = 0, limit = size;

	if (flags & ~DSMIL_MMIO_F_DEVICE) {
		*why = "flags";
		return -EINVAL;
	}
	if (flags & DSMIL_MMIO_F_DEVICE) {
		if (device >= DSMIL_NUM_DEVICES) {
			*why = "device-id";
			return -EINVAL;
		}
		base = dsmil_logic_window_base(device);
		limit = DSMIL_WINDOW_SIZE;
	} else if (device) {
		*why = "device-without-flag";
		return -EINVAL;
	}
	if (!len) {
		*why = "length";
		return -EINVAL;
	}
	/* offset + len > limit, without computing a sum that may wrap. */
	if (offset > limit || len > limit - offset) {
		*why = "range";
		return -ERANGE;
	}
	*pos = base + offset;
	return 0;
}

/**
 * dsmil_logic_window_dev - the device whose window holds region offset
 * @pos.
 * @pos: region offset.
 *
 * Return: the device id, or -1 when @pos is in no window.
 */
int dsmil_logic_window_dev(u64 pos)
{
	unsigned int slot;

	if (pos >= DSMIL_WINDOWS_END)
		return -1;
	slot = pos / DSMIL_WINDOW_SIZE;
	if (slot % DSMIL_SLOTS >= DSMIL_DEVS_PER_GROUP)
		return -1;
	return slot / DSMIL_SLOTS * DSMIL_DEVS_PER_GROUP + slot % DSMIL_SLOTS;
}

/**
 * dsmil_logic_chunk_index - the chunk that holds region offset @pos.
 * @pos: region offset (< DSMIL_MAX_CHUNKS chunks).
 */
unsigned int dsmil_logic_chunk_index(u64 pos)
{
	return pos / DSMIL_CHUNK_SIZE;
}

/**
 * dsmil_logic_chunk_offset - offset of region offset @pos in its chunk.
 * @pos: region offset.
 */
u64 dsmil_logic_chunk_offset(u64 pos)
{
	return pos % DSMIL_CHUNK_SIZE;
}

/**
 * dsmil_logic_chunk_span - the chunks that hold [@pos, @pos + @len).
 * @pos:   region offset of the first byte.
 * @len:   bytes (non-zero), within the largest region.
 * @first: out: chunk of the first byte.
 * @last:  out: chunk of the last byte.
 */
void dsmil_logic_chunk_span(u64 pos, u64 len, unsigned int *first,
			    unsigned int *last)
{
	*first = pos / DSMIL_CHUNK_SIZE;
	*last = (pos + len - 1) / DSMIL_CHUNK_SIZE;
}

/**
 * dsmil_logic_width_ok - is @width one a single access may have?
 * @width: bytes.
 *
 * Return: true for 1, 2, 4 and 8.
 */
bool dsmil_logic_width_ok(u32 width)
{
	return width == 1 || width == 2 || width == 4 || width == 8;
}

/**
 * dsmil_logic_aligned - is @offset a multiple of @width?
 * @offset: offset of a single access.
 * @width:  its width, one dsmil_logic_width_ok() accepts.
 */
bool dsmil_logic_aligned(u64 offset, u32 width)
{
	return offset % width == 0;
}
