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

/* 4 KiB slots per group. */
#define DSMIL_SLOTS	(DSMIL_GROUP_STRIDE / DSMIL_WINDOW_SIZE)

/*@
  predicate is_dev(integer d) = 0 <= d < DSMIL_NUM_DEVICES;
  logic integer window_base(integer d) =
    (d / DSMIL_DEVS_PER_GROUP) * DSMIL_GROUP_STRIDE +
    (d % DSMIL_DEVS_PER_GROUP) * DSMIL_WINDOW_SIZE;
  predicate in_window(integer d, integer b) =
    window_base(d) <= b < window_base(d) + DSMIL_WINDOW_SIZE;
  predicate in_chunk(integer c, integer b) =
    c * DSMIL_CHUNK_SIZE <= b < (c + 1) * DSMIL_CHUNK_SIZE;

  // Every byte is in exactly one chunk, and in at most one window.
  lemma chunk_unique: \forall integer b, c1, c2;
    in_chunk(c1, b) && in_chunk(c2, b) ==> c1 == c2;
  lemma window_unique: \forall integer b, d1, d2;
    is_dev(d1) && is_dev(d2) && in_window(d1, b) && in_window(d2, b) ==>
      d1 == d2;
*/

/**
 * dsmil_logic_window_base - region offset of device @device's window.
 * @device: global device id (< DSMIL_NUM_DEVICES).
 */
/*@
  requires is_dev(device);
  assigns \nothing;
  ensures \result == window_base(device);
  ensures \result + DSMIL_WINDOW_SIZE <= DSMIL_WINDOWS_END;
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
/*@
  requires DSMIL_WINDOWS_END <= size;
  requires \valid(pos) && \valid(why) && \separated(pos, why);
  assigns *pos, *why;
  ensures \result == 0 || \result == -EINVAL || \result == -ERANGE;
  ensures bad_flags: (flags & ~DSMIL_MMIO_F_DEVICE) != 0 ==>
    \result == -EINVAL;
  ensures empty: len == 0 ==> \result != 0;
  ensures raw_ok: (flags & ~DSMIL_MMIO_F_DEVICE) == 0 &&
    (flags & DSMIL_MMIO_F_DEVICE) == 0 ==>
      (\result == 0 <==> device == 0 && len != 0 && offset + len <= size);
  ensures raw_in_region: \result == 0 &&
    (flags & DSMIL_MMIO_F_DEVICE) == 0 ==>
      *pos == offset && *pos + len <= size;
  ensures dev_ok: (flags & ~DSMIL_MMIO_F_DEVICE) == 0 &&
    (flags & DSMIL_MMIO_F_DEVICE) != 0 ==>
      (\result == 0 <==> is_dev(device) && len != 0 &&
                         offset + len <= DSMIL_WINDOW_SIZE);
  ensures dev_in_window: \result == 0 &&
    (flags & DSMIL_MMIO_F_DEVICE) != 0 ==>
      *pos == window_base(device) + offset &&
      \forall integer b; *pos <= b < *pos + len ==> in_window(device, b);
  ensures in_region: \result == 0 ==> len != 0 && *pos + len <= size;
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
/*@
  assigns \nothing;
  ensures -1 <= \result < DSMIL_NUM_DEVICES;
  ensures found: \result >= 0 ==> in_window(\result, pos);
  ensures exact: \forall integer d; is_dev(d) && in_window(d, pos) ==>
    \result == d;
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
/*@
  requires pos < DSMIL_MAX_CHUNKS * DSMIL_CHUNK_SIZE;
  assigns \nothing;
  ensures 0 <= \result < DSMIL_MAX_CHUNKS;
  ensures in_chunk(\result, pos);
*/
unsigned int dsmil_logic_chunk_index(u64 pos)
{
	return pos / DSMIL_CHUNK_SIZE;
}

/**
 * dsmil_logic_chunk_offset - offset of region offset @pos in its chunk.
 * @pos: region offset.
 */
/*@
  assigns \nothing;
  ensures 0 <= \result < DSMIL_CHUNK_SIZE;
  ensures \result == pos - (pos / DSMIL_CHUNK_SIZE) * DSMIL_CHUNK_SIZE;
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
/*@
  requires len > 0 && pos + len <= DSMIL_MAX_CHUNKS * DSMIL_CHUNK_SIZE;
  requires \valid(first) && \valid(last) && \separated(first, last);
  assigns *first, *last;
  ensures 0 <= *first <= *last < DSMIL_MAX_CHUNKS;
  ensures in_chunk(*first, pos) && in_chunk(*last, pos + len - 1);
  ensures every_byte_in_span: \forall integer b, c; pos <= b < pos + len &&
    in_chunk(c, b) ==> *first <= c <= *last;
  ensures every_chunk_touched: \forall integer c; *first <= c <= *last ==>
    c * DSMIL_CHUNK_SIZE < pos + len && pos < (c + 1) * DSMIL_CHUNK_SIZE;
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
/*@
  assigns \nothing;
  ensures \result <==> width == 1 || width == 2 || width == 4 || width == 8;
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
/*@
  requires width == 1 || width == 2 || width == 4 || width == 8;
  assigns \nothing;
  ensures \result <==> offset % width == 0;
*/
bool dsmil_logic_aligned(u64 offset, u32 width)
{
	return offset % width == 0;
}
