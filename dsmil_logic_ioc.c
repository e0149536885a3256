// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the consistency of one ioctl table entry, checked for every entry
 * of every table at load (dsmil_main.c).  Pure; contracts proved by
 * tests/host/proof-check.
 */
#include "dsmil_logic.h"

#ifdef __FRAMAC__
/* The ACSL contracts, read by Frama-C only (tests/host/proof-check). */
#include "tests/proof/dsmil_logic_ioc.acsl"
#endif

/**
 * dsmil_logic_span_ok - does the byte range [@off, @off + @len) lie in an
 * argument of @size bytes?
 * @off:  first byte.
 * @len:  bytes.
 * @size: the argument's size.
 */
bool dsmil_logic_span_ok(u32 off, u32 len, u32 size)
{
	return off <= size && len <= size - off;
}

/**
 * dsmil_logic_ioc_entry_ok - is an ioctl table entry consistent?
 * @nr:          its command's number.
 * @size:        its command's argument size.
 * @one_handler: it has exactly one handler (file or client).
 * @rsvd:        its DSMIL_MAX_RSVD reserved spans (unused: length 0).
 * @paddr:       its physical-address span (unused: length 0).
 *
 * Return: true when the number is in the driver's range, the argument
 * fits the dispatcher's buffer and every span lies in the argument.
 */
bool dsmil_logic_ioc_entry_ok(unsigned int nr, unsigned int size,
			      bool one_handler, const struct dsmil_span *rsvd,
			      const struct dsmil_span *paddr)
{
	unsigned int j;

	if (nr >= DSMIL_IOC_NR_MAX || size > DSMIL_ARG_MAX || !one_handler ||
	    !dsmil_logic_span_ok(paddr->off, paddr->len, size))
		return false;
	/*@ DSMIL_RSVD_LOOP */
	for (j = 0; j < DSMIL_MAX_RSVD; j++)
		if (!dsmil_logic_span_ok(rsvd[j].off, rsvd[j].len, size))
			return false;
	return true;
}
