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

/*@
  // Spelled out, so that the provers split a goal into one case per state.
  predicate is_state(integer s) =
    s == DSMIL_DEV_OFFLINE || s == DSMIL_DEV_INITIALIZING ||
    s == DSMIL_DEV_READY || s == DSMIL_DEV_ACTIVE ||
    s == DSMIL_DEV_ERROR || s == DSMIL_DEV_LOCKED;
  predicate is_dev(integer id) = 0 <= id < DSMIL_NUM_DEVICES;
  predicate is_group(integer g) = 0 <= g < DSMIL_NUM_GROUPS;

  logic integer rule(integer f, integer t) =
    0 <= f < DSMIL_DEV_NUM_STATES && 0 <= t < DSMIL_DEV_NUM_STATES ?
      dsmil_transition_rules[f][t] : 0;
  // Every entry is 0 or has DSMIL_T_LEGAL (dsmil_logic_rule() proves it).
  predicate legal(integer f, integer t) =
    is_state(f) && is_state(t) && rule(f, t) != 0;

  predicate quarantined(integer id) =
    (dsmil_quarantine[id / DSMIL_DEVS_PER_GROUP] &
     (1 << (id % DSMIL_DEVS_PER_GROUP))) != 0;

  predicate needs(integer d, integer x) =
    (x % DSMIL_DEVS_PER_GROUP == DSMIL_CONTROLLER &&
     (dsmil_group_deps[d / DSMIL_DEVS_PER_GROUP] &
      (1 << (x / DSMIL_DEVS_PER_GROUP))) != 0) ||
    (d / DSMIL_DEVS_PER_GROUP == 0 && x / DSMIL_DEVS_PER_GROUP == 0 &&
     (dsmil_group0_deps[d % DSMIL_DEVS_PER_GROUP] &
      (1 << (x % DSMIL_DEVS_PER_GROUP))) != 0);

  // The states a device can reach from OFFLINE without passing READY.
  predicate before_ready(integer s) =
    s == DSMIL_DEV_OFFLINE || s == DSMIL_DEV_INITIALIZING ||
    s == DSMIL_DEV_ERROR || s == DSMIL_DEV_LOCKED;
*/

#ifdef __FRAMAC__
/*
 * Ghost checks, for the prover only: properties of the dependency and
 * quarantine tables, spelled out entry by entry so that each is a fact
 * about one constant.  The KUnit suite checks the same at run time.
 */
#define DSMIL_EACH_GROUP(P) \
	(P(0) && P(1) && P(2) && P(3) && P(4) && P(5))
#define DSMIL_EACH_INDEX(P) \
	(P(0) && P(1) && P(2) && P(3) && P(4) && P(5) && P(6) && P(7) && \
	 P(8) && P(9) && P(10) && P(11))
/* A group needs only lower groups; device i of group 0 only lower ones. */
#define DSMIL_GROUP_NEEDS_LOWER(g)	(dsmil_group_deps[g] < (1 << (g)))
#define DSMIL_DEV0_NEEDS_LOWER(i)	(dsmil_group0_deps[i] < (1 << (i)))
/* Bit @k of @x, in arithmetic (the provers reason about it better). */
#define DSMIL_HAS_BIT(x, k)	(((x) / (1 << (k))) % 2 != 0)
/* No controller is quarantined; quarantine names devices of the group. */
#define DSMIL_CONTROLLER_FREE(g) \
	(!DSMIL_HAS_BIT(dsmil_quarantine[g], DSMIL_CONTROLLER) && \
	 dsmil_quarantine[g] < (1 << DSMIL_DEVS_PER_GROUP))
/* A quarantined device of group 0 is no dependency of another (bit k). */
#define DSMIL_NOT_BOTH(i, k) \
	(!(DSMIL_HAS_BIT(dsmil_group0_deps[i], k) && \
	   DSMIL_HAS_BIT(dsmil_quarantine[0], k)))
#define DSMIL_QUARANTINE_NOT_NEEDED(i) \
	(DSMIL_NOT_BOTH(i, 0) && DSMIL_NOT_BOTH(i, 1) && \
	 DSMIL_NOT_BOTH(i, 2) && DSMIL_NOT_BOTH(i, 3) && \
	 DSMIL_NOT_BOTH(i, 4) && DSMIL_NOT_BOTH(i, 5) && \
	 DSMIL_NOT_BOTH(i, 6) && DSMIL_NOT_BOTH(i, 7) && \
	 DSMIL_NOT_BOTH(i, 8) && DSMIL_NOT_BOTH(i, 9) && \
	 DSMIL_NOT_BOTH(i, 10) && DSMIL_NOT_BOTH(i, 11))

/*@
  assigns \nothing;
  ensures dependents_after_dependencies:
    DSMIL_EACH_GROUP(DSMIL_GROUP_NEEDS_LOWER) &&
    DSMIL_EACH_INDEX(DSMIL_DEV0_NEEDS_LOWER);
  ensures controllers_never_quarantined:
    DSMIL_EACH_GROUP(DSMIL_CONTROLLER_FREE);
  ensures quarantined_never_needed:
    DSMIL_EACH_INDEX(DSMIL_QUARANTINE_NOT_NEEDED);
*/
void dsmil_logic_table_properties(void);
void dsmil_logic_table_properties(void)
{
}
#endif /* __FRAMAC__ */

/**
 * dsmil_logic_rule - the transition table's entry for @from -> @to.
 * @from: enum dsmil_dev_state.
 * @to:   enum dsmil_dev_state.
 *
 * Return: DSMIL_T_* bits; 0 (illegal) when either state is out of range.
 */
/*@
  assigns \nothing;
  ensures \result == rule(from, to);
  ensures into_active_only_from_ready:
    legal(from, to) && to == DSMIL_DEV_ACTIVE ==>
      from == DSMIL_DEV_READY &&
      \result == (DSMIL_T_LEGAL | DSMIL_T_ACTIVATE);
  ensures out_of_active_deactivates:
    legal(from, to) && from == DSMIL_DEV_ACTIVE ==>
      \result == (DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE);
  ensures locked_leaves_only_for_error:
    legal(from, to) && from == DSMIL_DEV_LOCKED ==>
      to == DSMIL_DEV_ERROR || to == DSMIL_DEV_LOCKED;
  ensures ready_only_verified:
    legal(from, to) && to == DSMIL_DEV_READY && from != DSMIL_DEV_ACTIVE ==>
      from == DSMIL_DEV_INITIALIZING &&
      \result == (DSMIL_T_LEGAL | DSMIL_T_VERIFY);
  ensures no_path_offline_active_skips_ready:
    before_ready(from) && legal(from, to) ==>
      before_ready(to) || to == DSMIL_DEV_READY;
  ensures every_state_can_lock:
    is_state(from) && to == DSMIL_DEV_LOCKED ==> legal(from, to);
  ensures only_known_entries:
    \result == 0 || \result == DSMIL_T_LEGAL ||
    \result == (DSMIL_T_LEGAL | DSMIL_T_ACTIVATE) ||
    \result == (DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE) ||
    \result == (DSMIL_T_LEGAL | DSMIL_T_VERIFY);
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
/*@
  assigns \nothing;
  ensures \result <==>
    from == DSMIL_DEV_INITIALIZING && to == DSMIL_DEV_READY;
*/
bool dsmil_logic_verifies(unsigned int from, unsigned int to)
{
	return dsmil_logic_rule(from, to) == (DSMIL_T_LEGAL | DSMIL_T_VERIFY);
}

/* Groups whose controllers device @id needs ACTIVE (bit per group). */
/*@
  requires is_dev(id);
  assigns \nothing;
  ensures \result == dsmil_group_deps[id / DSMIL_DEVS_PER_GROUP];
*/
u8 dsmil_logic_dep_groups(unsigned int id)
{
	return dsmil_group_deps[DSMIL_DEV_GROUP(id)];
}

/* Devices of its own group that device @id needs ACTIVE (group 0 only). */
/*@
  requires is_dev(id);
  assigns \nothing;
  ensures id / DSMIL_DEVS_PER_GROUP == 0 ==>
    \result == dsmil_group0_deps[id % DSMIL_DEVS_PER_GROUP];
  ensures id / DSMIL_DEVS_PER_GROUP != 0 ==> \result == 0;
*/
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
/*@
  requires is_dev(d) && is_dev(x);
  assigns \nothing;
  ensures \result <==> needs(d, x);
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
/*@
  requires is_dev(id);
  assigns \nothing;
  ensures \result <==> quarantined(id);
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
/*@
  requires is_group(group);
  assigns \nothing;
  ensures stops_itself: (\result & (1 << group)) != 0;
*/
u8 dsmil_logic_estop_groups(unsigned int group)
{
	u8 mask = DSMIL_BIT(group);
	unsigned int g;

	/* Groups only need lower groups, so one ascending pass closes it. */
	/*@
	  loop invariant group + 1 <= g <= DSMIL_NUM_GROUPS;
	  loop invariant (mask & (1 << group)) != 0;
	  loop assigns g, mask;
	  loop variant DSMIL_NUM_GROUPS - g;
	*/
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
/*@
  requires is_dev(id);
  requires \valid_read(states + (0 .. DSMIL_NUM_DEVICES - 1));
  requires \valid(blocker);
  requires \separated(blocker, states + (0 .. DSMIL_NUM_DEVICES - 1));
  assigns *blocker;
  ensures \result == DSMIL_REASON_NONE || \result == DSMIL_REASON_BAD_ARG ||
          \result == DSMIL_REASON_ILLEGAL ||
          \result == DSMIL_REASON_QUARANTINED ||
          \result == DSMIL_REASON_DEPENDENCY ||
          \result == DSMIL_REASON_DEPENDENT;
  ensures bad_arg: \result == DSMIL_REASON_BAD_ARG <==>
    !is_state(from) || !is_state(to);
  ensures accepted_is_legal: \result == DSMIL_REASON_NONE ==> legal(from, to);
  ensures quarantined_never_active:
    \result == DSMIL_REASON_NONE && to == DSMIL_DEV_ACTIVE ==>
      !quarantined(id);
  ensures active_needs_dependencies:
    \result == DSMIL_REASON_NONE && to == DSMIL_DEV_ACTIVE ==>
      \forall integer j; is_dev(j) && needs(id, j) ==>
        states[j] == DSMIL_DEV_ACTIVE;
  ensures no_dependent_left_active:
    \result == DSMIL_REASON_NONE && from == DSMIL_DEV_ACTIVE ==>
      \forall integer j; is_dev(j) && needs(j, id) ==>
        states[j] != DSMIL_DEV_ACTIVE;
  ensures blocker_dependency: \result == DSMIL_REASON_DEPENDENCY ==>
    is_dev(*blocker) && needs(id, *blocker) &&
    states[*blocker] != DSMIL_DEV_ACTIVE;
  ensures blocker_dependent: \result == DSMIL_REASON_DEPENDENT ==>
    is_dev(*blocker) && needs(*blocker, id) &&
    states[*blocker] == DSMIL_DEV_ACTIVE;
  ensures no_blocker: \result != DSMIL_REASON_DEPENDENCY &&
    \result != DSMIL_REASON_DEPENDENT ==> *blocker == -1;
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
		/*@
		  loop invariant 0 <= j <= DSMIL_NUM_DEVICES;
		  loop invariant \forall integer k; 0 <= k < j && needs(id, k) ==>
		    states[k] == DSMIL_DEV_ACTIVE;
		  loop invariant *blocker == -1;
		  loop assigns j, *blocker;
		  loop variant DSMIL_NUM_DEVICES - j;
		*/
		for (j = 0; j < DSMIL_NUM_DEVICES; j++) {
			if (dsmil_logic_needs(id, j) &&
			    states[j] != DSMIL_DEV_ACTIVE) {
				*blocker = j;
				return DSMIL_REASON_DEPENDENCY;
			}
		}
	}

	if (rule == (DSMIL_T_LEGAL | DSMIL_T_DEACTIVATE)) {
		/*@
		  loop invariant 0 <= j <= DSMIL_NUM_DEVICES;
		  loop invariant \forall integer k; 0 <= k < j && needs(k, id) ==>
		    states[k] != DSMIL_DEV_ACTIVE;
		  loop invariant *blocker == -1;
		  loop assigns j, *blocker;
		  loop variant DSMIL_NUM_DEVICES - j;
		*/
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
/*@
  requires is_dev(id);
  requires \valid(reason);
  assigns *reason;
  ensures \result == 0 || \result == -EPERM || \result == -ENODEV;
  ensures quarantined_never_written:
    write && quarantined(id) ==> \result == -EPERM;
  ensures write_needs_active:
    write && \result == 0 ==> state == DSMIL_DEV_ACTIVE;
  ensures read_needs_ready_or_active: \result == 0 ==>
    state == DSMIL_DEV_ACTIVE || state == DSMIL_DEV_READY;
  ensures granted: \result == 0 <==>
    (state == DSMIL_DEV_ACTIVE && !(write && quarantined(id))) ||
    (state == DSMIL_DEV_READY && !write);
  ensures \result == -EPERM ==> *reason == DSMIL_REASON_QUARANTINED;
  ensures \result == -ENODEV ==> *reason == DSMIL_REASON_STATE;
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
