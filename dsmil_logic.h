/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: the driver's pure logic, in units that build both in the module
 * and on the host without kernel headers, so that Frama-C can prove them
 * (tests/host/proof-check, Documentation/dsmil-proofs.rst).
 *
 *   dsmil_logic_state.c  the transition table and its predicates: legal
 *                        transitions, dependencies, quarantine, the access
 *                        rule, the groups an emergency stop locks
 *   dsmil_logic_token.c  token <-> (group, position) <-> device
 *   dsmil_logic_mmio.c   region arithmetic: range and overflow, device
 *                        windows, chunk index and span, access width and
 *                        alignment
 *   dsmil_logic_ioc.c    consistency of one ioctl table entry
 *
 * These files call nothing and hold no state: every function's result
 * depends only on its arguments and the const tables.  Each carries its
 * ACSL contract next to its code.
 */
#ifndef _DSMIL_LOGIC_H
#define _DSMIL_LOGIC_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/types.h>
#include <kunit/visibility.h>
#else
/* The shim: the few kernel types these files use, from the C library. */
#include <errno.h>
#include <stdbool.h>
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
/* No KUnit on the host: nothing to export to. */
#define EXPORT_SYMBOL_IF_KUNIT(sym)	struct dsmil_logic_no_export_##sym
#endif

#include "dsmil_ioctl.h"

/* ---- device model (dsmil_logic_state.c) --------------------------------- */

#define DSMIL_DEV_GROUP(id)	((id) / DSMIL_DEVS_PER_GROUP)
#define DSMIL_DEV_INDEX(id)	((id) % DSMIL_DEVS_PER_GROUP)

/* The index of a group's controller; a group is up when it is ACTIVE. */
#define DSMIL_CONTROLLER	0

/* What a transition table entry asks for; zero is an illegal transition. */
#define DSMIL_T_LEGAL		0x1U
#define DSMIL_T_ACTIVATE	0x2U	/* not quarantined, dependencies up */
#define DSMIL_T_DEACTIVATE	0x4U	/* no dependent ACTIVE */
#define DSMIL_T_VERIFY		0x8U	/* the SMI layer verifies the device */

u8 dsmil_logic_rule(unsigned int from, unsigned int to);
bool dsmil_logic_verifies(unsigned int from, unsigned int to);
u8 dsmil_logic_dep_groups(unsigned int id);
u16 dsmil_logic_dep_devices(unsigned int id);
bool dsmil_logic_needs(unsigned int d, unsigned int x);
bool dsmil_logic_quarantined(unsigned int id);
u8 dsmil_logic_estop_groups(unsigned int group);
enum dsmil_reason dsmil_logic_check_transition(const u8 *states,
					       unsigned int id,
					       unsigned int from,
					       unsigned int to, int *blocker);
int dsmil_logic_access(u8 state, unsigned int id, bool write,
		       enum dsmil_reason *reason);

/* ---- tokens (dsmil_logic_token.c) --------------------------------------- */

/* Tokens per group: one every DSMIL_TOKEN_STEP positions. */
#define DSMIL_TOKENS_PER_GROUP	4
#define DSMIL_TOKEN_STEP	(DSMIL_DEVS_PER_GROUP / DSMIL_TOKENS_PER_GROUP)
#define DSMIL_NUM_TOKENS	(DSMIL_NUM_GROUPS * DSMIL_TOKENS_PER_GROUP)

int dsmil_logic_token_of(unsigned int group, unsigned int pos, u16 *token,
			 unsigned int *dev_id);
int dsmil_logic_token_index(u16 token);
u16 dsmil_logic_token_at(unsigned int idx);

/* ---- MMIO region arithmetic (dsmil_logic_mmio.c) ------------------------ */

/* Region offsets below this may be in a device window. */
#define DSMIL_WINDOWS_END	(DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE)

int dsmil_logic_mmio_range(u64 size, u64 offset, u64 len, u32 flags,
			   u16 device, u64 *pos, const char **why);
int dsmil_logic_window_dev(u64 pos);
u64 dsmil_logic_window_base(unsigned int device);
unsigned int dsmil_logic_chunk_index(u64 pos);
u64 dsmil_logic_chunk_offset(u64 pos);
void dsmil_logic_chunk_span(u64 pos, u64 len, unsigned int *first,
			    unsigned int *last);
bool dsmil_logic_width_ok(u32 width);
bool dsmil_logic_aligned(u64 offset, u32 width);

/* ---- the ioctl tables (dsmil_logic_ioc.c) ------------------------------- */

/* Command numbers are 0x00..0x3f: four blocks of 16. */
#define DSMIL_IOC_NR_MAX	0x40

/* Largest argument any command takes; checked against the tables at load. */
#define DSMIL_ARG_MAX		512

/* A byte range of an ioctl argument (reserved: must be zero). */
struct dsmil_span {
	u16 off;
	u16 len;
};

/* Reserved spans per command. */
#define DSMIL_MAX_RSVD		4

bool dsmil_logic_span_ok(u32 off, u32 len, u32 size);
bool dsmil_logic_ioc_entry_ok(unsigned int nr, unsigned int size,
			      bool one_handler, const struct dsmil_span *rsvd,
			      const struct dsmil_span *paddr);

#endif /* _DSMIL_LOGIC_H */
