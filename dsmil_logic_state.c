// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the device model's rules as data, and the functions that apply
 * them.  Pure: no lock, no state of its own; dsmil_state.c calls these
 * under its lock with a copy of the states it holds still.
 *
 * The ACSL contracts say what each function guarantees; the safety
 * properties of the tables themselves (no way into ACTIVE but from READY,
 * LOCKED left only for ERROR, dependents after what they depend on, a
 * quarantined device never activated) are stated on dsmil_logic_rule(),
 * dsmil_logic_needs() and dsmil_logic_check_transition(), and proved by
 * `frama-c -wp -wp-rte` (tests/host/proof-check).
 */
#include "dsmil_logic.h"

#define DSMIL_BIT(n)	(1U << (n))

/* Group g needs every group whose bit is set to be up. */
static const u8 dsmil_group_deps[DSMIL_NUM_GROUPS] = {
	[0] = 0,
	[1] = DSMIL_BIT(0),
	[2] = DSMIL_BIT(0) | DSMIL_BIT(1),
	[3] = DSMIL_BIT(0),
	[4] = DSMIL_BIT(0) | DSMIL_BIT(1) | DSMIL_BIT(2),
	[5] = DSMIL_BIT(0) | DSMIL_BIT(1) | DSMIL_BIT(2) | DSMIL_BIT(3) |
	      DSMIL_BIT(4),
};

/* Inside group 0, device i needs every device whose bit is set ACTIVE. */
static const u16 dsmil_group0_deps[DSMIL_DEVS_PER_GROUP] = {
	[0] = 0,
	[1] = DSMIL_BIT(0),
	[2] = DSMIL_BIT(0) | DSMIL_BIT(1),
	[3 ... DSMIL_DEVS_PER_GROUP - 1] = DSMIL_BIT(0) | DSMIL_BIT(1) |
					   DSMIL_BIT(2),
};

/*
 * The original driver's wipe, sanitize and kill-switch devices: listed and
 * readable, never ACTIVE, never written.
 */
static const u16 dsmil_quarantine[DSMIL_NUM_GROUPS] = {
	[0] = DSMIL_BIT(9) | DSMIL_BIT(10) | DSMIL_BIT(11),
	[1] = DSMIL_BIT(9),
	[2] = DSMIL_BIT(9),
};

/*
 * The transition table: what a request from state [from] to state [to]
 * needs.  A zero entry is an illegal transition.
 */
static const u8 dsmil_transition_rules[DSMIL_DEV_NUM_STATES][DSMIL_DEV_NUM_STATES] = {
	[DSMIL_DEV_OFFLINE] = {
		[DSMIL_DEV_INITIALIZING] = DSMIL_T_LEGAL,
		[DSMIL_DEV_LOCKED]	= DSMIL_T_LEGAL,
	},
	[DSMIL_DEV_INITIALIZING] = {
		[DSMIL_DEV_READY]	= DSMIL_T_LEGAL | DSMIL_T_VERIFY,
		[DSMIL_DEV_ERROR]	= DSMIL_T_LEGAL,
		[DSMIL_DEV_LOCKED]	= DSMIL_T_LEGAL,
	},
	[DSMIL_DEV_READY] = {
		[DSMIL_DEV_ACTIVE]	= DSMIL_T_LEGAL | DSMIL_T_ACTIVATE,
		[DSMIL_DEV_ERROR]	= DSMIL_T_LEGAL,
		[DSMIL_DEV_LOCKED]	= DSMIL_T_LEGAL,
	},
	[DSMIL_DEV_ACTIVE] = {
		[DSMIL_DEV_READY]	= DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE,
		[DSMIL_DEV_ERROR]	= DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE,
		[DSMIL_DEV_LOCKED]	= DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE,
	},
	[DSMIL_DEV_ERROR] = {
		[DSMIL_DEV_OFFLINE]	= DSMIL_T_LEGAL,
		[DSMIL_DEV_INITIALIZING] = DSMIL_T_LEGAL,
		[DSMIL_DEV_LOCKED]	= DSMIL_T_LEGAL,
	},
	[DSMIL_DEV_LOCKED] = {
		[DSMIL_DEV_ERROR]	= DSMIL_T_LEGAL,
		/* "any state -> LOCKED": locking a locked device is a no-op */
		[DSMIL_DEV_LOCKED]	= DSMIL_T_LEGAL,
	},
};

#ifdef __FRAMAC__
/* The ACSL contracts, read by Frama-C only (tests/host/proof-check). */
#include "tests/proof/dsmil_logic_state.acsl"
#endif

/**
 * dsmil_logic_rule - the transition table's entry for @from -> @to.
 * @from: enum dsmil_dev_state.
 * @to:   enum dsmil_dev_state.
 *
 * Return: DSMIL_T_* bits; 0 (illegal) when either state is out of range.
 */
u8 dsmil_logic_rule(unsigned int from, unsigned int to)
{
	if (from >= DSMIL_DEV_NUM_STATES || to >= DSMIL_DEV_NUM_STATES)
		return 0;
	return dsmil_transition_rules[from][to];
}

/**
 * dsmil_logic_verifies - is @from -> @to the transition whose commit waits
 * for the SMI layer to verify the device (INITIALIZING -> READY)?
 * @from: enum dsmil_dev_state.
 * @to:   enum dsmil_dev_state.
 */
bool dsmil_logic_verifies(unsigned int from, unsigned int to)
{
	return dsmil_logic_rule(from, to) == (DSMIL_T_LEGAL | DSMIL_T_VERIFY);
}

/* Groups whose controllers device @id needs ACTIVE (bit per group). */
u8 dsmil_logic_dep_groups(unsigned int id)
{
	return dsmil_group_deps[DSMIL_DEV_GROUP(id)];
}

/* Devices of its own group that device @id needs ACTIVE (group 0 only). */
u16 dsmil_logic_dep_devices(unsigned int id)
{
	return DSMIL_DEV_GROUP(id) == 0 ?
	       dsmil_group0_deps[DSMIL_DEV_INDEX(id)] : 0;
}

/**
 * dsmil_logic_needs - does device @d need device @x ACTIVE to be ACTIVE
 * itself?
 * @d: global device id.
 * @x: global device id.
 *
 * A dependent always has a higher id than what it depends on, so that
 * "dependents first" is "descending id" for the state machine's walks.
 */
bool dsmil_logic_needs(unsigned int d, unsigned int x)
{
	if (DSMIL_DEV_INDEX(x) == DSMIL_CONTROLLER &&
	    (dsmil_group_deps[DSMIL_DEV_GROUP(d)] &
	     DSMIL_BIT(DSMIL_DEV_GROUP(x))))
		return true;
	return DSMIL_DEV_GROUP(d) == 0 && DSMIL_DEV_GROUP(x) == 0 &&
	       (dsmil_group0_deps[DSMIL_DEV_INDEX(d)] &
		DSMIL_BIT(DSMIL_DEV_INDEX(x)));
}

/**
 * dsmil_logic_quarantined - is device @id one that may never be ACTIVE nor
 * written?
 * @id: global device id (< DSMIL_NUM_DEVICES).
 */
bool dsmil_logic_quarantined(unsigned int id)
{
	return dsmil_quarantine[DSMIL_DEV_GROUP(id)] &
	       DSMIL_BIT(DSMIL_DEV_INDEX(id));
}

/**
 * dsmil_logic_estop_groups - the groups an emergency stop of @group locks:
 * it, and every group that needs a group it locks.
 * @group: group (< DSMIL_NUM_GROUPS).
 */
u8 dsmil_logic_estop_groups(unsigned int group)
{
	u8 mask = DSMIL_BIT(group);
	unsigned int g;

	/* Groups only need lower groups, so one ascending pass closes it. */
	/*@ DSMIL_ESTOP_LOOP */
	for (g = group + 1; g < DSMIL_NUM_GROUPS; g++)
		if (dsmil_group_deps[g] & mask)
			mask |= DSMIL_BIT(g);
	return mask;
}

/**
 * dsmil_logic_check_transition - may device @id go from @from to @to?
 * @states:  the state of every device, held still by the caller (the
 *           state lock) until it has acted on the answer.
 * @id:      global device id (< DSMIL_NUM_DEVICES).
 * @from:    its state now.
 * @to:      the state asked for.
 * @blocker: out: the first dependency (or dependent) in the way, else -1.
 *
 * Applies the transition table, then what the table entry asks for.
 *
 * Return: DSMIL_REASON_NONE, or the reason of the refusal.
 */
enum dsmil_reason dsmil_logic_check_transition(const u8 *states,
					       unsigned int id,
					       unsigned int from,
					       unsigned int to, int *blocker)
{
	unsigned int j;
	u8 rule;

	*blocker = -1;
	if (from >= DSMIL_DEV_NUM_STATES || to >= DSMIL_DEV_NUM_STATES)
		return DSMIL_REASON_BAD_ARG;
	/*
	 * Every entry is 0 or DSMIL_T_LEGAL with at most one other bit
	 * (dsmil_logic_rule()'s contract: only_known_entries), so whole
	 * entries are compared: the same test, in a form the provers follow.
	 */
	rule = dsmil_logic_rule(from, to);
	if (!rule)
		return DSMIL_REASON_ILLEGAL;

	if (rule == (DSMIL_T_LEGAL | DSMIL_T_ACTIVATE)) {
		if (dsmil_logic_quarantined(id))
			return DSMIL_REASON_QUARANTINED;
		/*@ DSMIL_DEPS_LOOP */
		for (j = 0; j < DSMIL_NUM_DEVICES; j++) {
			if (dsmil_logic_needs(id, j) &&
			    states[j] != DSMIL_DEV_ACTIVE) {
				*blocker = j;
				return DSMIL_REASON_DEPENDENCY;
			}
		}
	}

	if (rule == (DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE)) {
		/*@ DSMIL_DEPENDENTS_LOOP */
		for (j = 0; j < DSMIL_NUM_DEVICES; j++) {
			if (dsmil_logic_needs(j, id) &&
			    states[j] == DSMIL_DEV_ACTIVE) {
				*blocker = j;
				return DSMIL_REASON_DEPENDENT;
			}
		}
	}
	return DSMIL_REASON_NONE;
}

/**
 * dsmil_logic_access - the access rule: may a device in @state be read
 * (READY or ACTIVE) or written (ACTIVE, and never a quarantined device)?
 * @state:  the device's state.
 * @id:     global device id (< DSMIL_NUM_DEVICES).
 * @write:  the access writes.
 * @reason: out, on refusal: DSMIL_REASON_QUARANTINED or DSMIL_REASON_STATE.
 *
 * Return: 0, -EPERM (quarantined write) or -ENODEV (state).
 */
int dsmil_logic_access(u8 state, unsigned int id, bool write,
		       enum dsmil_reason *reason)
{
	if (write && dsmil_logic_quarantined(id)) {
		*reason = DSMIL_REASON_QUARANTINED;
		return -EPERM;
	}
	if (state == DSMIL_DEV_ACTIVE || (!write && state == DSMIL_DEV_READY))
		return 0;
	*reason = DSMIL_REASON_STATE;
	return -ENODEV;
}
