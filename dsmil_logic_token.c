// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: token <-> (group, position) <-> device, and the range checks that
 * go with them.  Pure; contracts proved by tests/host/proof-check.
 *
 * The token of (group g, position p) is DSMIL_TOKEN_BASE + 12 * g + p and
 * belongs to device 12 * g + p; only positions 0, 3, 6 and 9 have one, so
 * the 24 tokens have dense indexes g * 4 + p / 3 for per-token tables.
 */
#include "dsmil_logic.h"

#ifdef __FRAMAC__
/* The ACSL contracts, read by Frama-C only (tests/host/proof-check). */
#include "tests/proof/dsmil_logic_token.acsl"
#endif

/**
 * dsmil_logic_token_of - token and device of (@group, @pos).
 * @group:  group (< DSMIL_NUM_GROUPS).
 * @pos:    position in the group, a multiple of 3 below 12.
 * @token:  out: the token id.
 * @dev_id: out: the global device id it belongs to.
 *
 * Return: 0, or -EINVAL (nothing written) when (@group, @pos) has no token.
 */
int dsmil_logic_token_of(unsigned int group, unsigned int pos, u16 *token,
			 unsigned int *dev_id)
{
	if (group >= DSMIL_NUM_GROUPS || pos >= DSMIL_DEVS_PER_GROUP ||
	    pos % DSMIL_TOKEN_STEP)
		return -EINVAL;
	*token = DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * group + pos;
	*dev_id = group * DSMIL_DEVS_PER_GROUP + pos;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_logic_token_of);	/* dsmil_smi_priv.h */

/**
 * dsmil_logic_token_index - dense index of a token, for per-token tables.
 * @token: token id.
 *
 * Return: 0..DSMIL_NUM_TOKENS - 1 (group * 4 + position / 3), or -EINVAL
 * when @token is not one of the 24 DSMIL tokens.
 */
int dsmil_logic_token_index(u16 token)
{
	unsigned int off, pos;

	if (token < DSMIL_TOKEN_BASE)
		return -EINVAL;
	off = token - DSMIL_TOKEN_BASE;
	pos = off % DSMIL_DEVS_PER_GROUP;
	if (off >= DSMIL_NUM_DEVICES || pos % DSMIL_TOKEN_STEP)
		return -EINVAL;
	return off / DSMIL_DEVS_PER_GROUP * DSMIL_TOKENS_PER_GROUP +
	       pos / DSMIL_TOKEN_STEP;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_logic_token_index);	/* dsmil_smi_priv.h */

/**
 * dsmil_logic_token_at - the token whose dense index is @idx, the inverse
 * of dsmil_logic_token_index().
 * @idx: index (< DSMIL_NUM_TOKENS).
 */
u16 dsmil_logic_token_at(unsigned int idx)
{
	return DSMIL_TOKEN_BASE +
	       idx / DSMIL_TOKENS_PER_GROUP * DSMIL_DEVS_PER_GROUP +
	       idx % DSMIL_TOKENS_PER_GROUP * DSMIL_TOKEN_STEP;
}
