/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SPIN model 3: the emergency-stop fence (dsmil_state.c
 * dsmil_state_estop(), dsmil_state_handoff_begin()/_end(); dsmil_smi.c
 * dsmil_smi_fence(), dsmil_smi_start(), dsmil_smi_drive(),
 * dsmil_smi_finish(), dsmil_smi_recover(); dsmil_mmio_access.c
 * dsmil_mmio_handoff_begin() and the MMIO write).
 *
 * Checked (tests/host/spin-check: spin -a, gcc -DSAFETY, pan):
 *   F1 no write reaches a device after a stop covering it returned saying
 *      nothing is in doubt (in_doubt == 0): assert in land();
 *   F2 the hand-off count is never negative and is 0 once every writer,
 *      the hardware and a recovery are done (asserts in handoff_end and in
 *      the end check).
 *
 * The world: two devices, D0 in group 0 and D1 in group 1, group 1
 * depending on group 0 (a stop of group 0 locks both, of group 1 only D1;
 * dsmil_state_estop_groups()), both ACTIVE with writes allowed.  Writers:
 * a token write through the SMI engine to either device (its owner: the
 * caller's fast path or the worker, the same code), on a polled or a
 * synchronous backend (chosen at the start), with one busy-at-submit
 * retry, a deadline that may pass at any step, an abort that may fail
 * (the request then stays at the interface until DSMIL_IOC_SMI_RECOVER
 * resets it); an MMIO write over both devices' windows (a bulk write's
 * piece, or a raw write straddling two windows).  Two emergency stops, of
 * either group (one after the other, or side by side), whose drain wait may end (DSMIL_ESTOP_DRAIN_MS, or a fatal
 * signal) at any time.  The hardware may apply a submitted write, or end
 * it with an error, at any moment until it reports done, is aborted, or is
 * reset.
 *
 * Both spinlocks' sections (st->fence, smi->lock) are single atomic steps;
 * st->lock (a mutex) serialises the two stops.  Left out: allow_writes and
 * lockdown at the hand-off (asked before the fence and, as the code says,
 * not part of a stop's guarantee), other state changes (LOCKED leaves only
 * for ERROR, so no write is allowed on a stopped device again).
 *
 * Mutants (must fail):
 *   MUTANT_FENCE_SPLIT      handoff_begin reads the state and counts the
 *                           write in two steps (no st->fence around them).
 *   MUTANT_NO_HANDOFF       the SMI write is checked on arrival only, not
 *                           again right before ->submit().
 *   MUTANT_STUCK_UNFENCE    dsmil_smi_finish() ends the hand-off of a
 *                           request whose abort failed (it may still land).
 *
 * Model step -> code
 * ------------------------------------------------------------------------
 * handoff_begin: fence { state,   dsmil_state.c dsmil_state_handoff_begin:570-575
 *   verdict, writing++ }
 * handoff_end: fence { writing-- } dsmil_state.c dsmil_state_handoff_end:591-596
 * Estop: LOCK st->lock             dsmil_state.c dsmil_state_estop:425
 *   dependents first: fence {      dsmil_state_estop:432-439 ->
 *   state = LOCKED }                 dsmil_state_set:200-202
 *   UNLOCK                         dsmil_state_estop:441
 *   drain wait (may time out)      dsmil_state_estop:445-446
 *   left = writing (fence)         dsmil_state_estop:447 -> dsmil_state_writing:385-389
 * SmiWriter: arrival check         dsmil_smi_token.c dsmil_smi_token_prepare:161,
 *   (dsmil_state_check_access)       dsmil_smi_write_audited_as:289, dsmil_smi_token_write_check:486
 *   deadline passed: end untouched dsmil_smi.c dsmil_smi_start:498-499
 *   hand-off                       dsmil_smi_start:515 -> dsmil_smi_fence:268
 *   ->submit(); busy: unfence,     dsmil_smi_start:521-538 (unfence :529)
 *     retry, checked again
 *   sync: the call returns         dsmil_smi_drive:655-657 (judge_sync)
 *   polled: status done            dsmil_smi_drive:664-668
 *   deadline/hang: abort           dsmil_smi_drive:672-684 -> dsmil_smi_abort:475
 *   finish: unfence unless stuck   dsmil_smi_finish:390,398-399
 *   stuck: the engine keeps it     dsmil_smi_finish:414 -> dsmil_smi_keep_stuck:319-343
 * Recover: reset, then end_stuck   dsmil_smi_recover:1230-1233 ->
 *   (its hand-off ends)              dsmil_smi_end_stuck:354-377 (:368-370)
 * MmioWriter: hand-off per window  dsmil_mmio_access.c dsmil_mmio_handoff_begin:227-238
 *   refused: end the earlier ones  dsmil_mmio_handoff_begin:233-236
 *   ->write()                      dsmil_mmio_write:405 (bulk: dsmil_mmio_bulk.c dsmil_mmio_bulk_write:373-380)
 *   handoff_end                    dsmil_mmio_write:409 -> dsmil_mmio_end_windows
 */

#define NDEV	2
#define ACTIVE	1
#define LOCKED	2

byte state[NDEV];	/* st->dev[id].state */
byte writing[NDEV];	/* st->writing[id] */
bool stlock;		/* st->lock */

/* The interface: one request at a time (hw_owned), its write pending. */
bool sync_backend;
bool hw_owned;		/* smi->hw_owned */
bool pending;		/* a submitted write the firmware may still apply */
byte pending_dev;
bool stuck;		/* smi->stuck: a failed abort left it there */
bool stuck_fenced;	/* smi->stuck.fenced */
bool faulted;

/* Ghosts. */
bit  clean[NDEV];	/* a stop covering it returned with in_doubt == 0 */
byte writers_done;

#define covers(g, d)	((g) == 0 || (d) == 1)

/* The firmware or the BAR applies a write to device d (F1). */
inline land(d)
{
	assert(!clean[d])
}

/* dsmil_state_handoff_begin(st, d, true): ok = counted, may write. */
inline handoff_begin(d, ok)
{
#ifdef MUTANT_FENCE_SPLIT
	ok = (state[d] == ACTIVE);
	if
	:: ok -> writing[d]++
	:: else
	fi
#else
	atomic {
		ok = (state[d] == ACTIVE);
		if
		:: ok -> writing[d]++
		:: else
		fi
	}
#endif
}

inline handoff_end(d)
{
	atomic { assert(writing[d] > 0); writing[d]-- }
}

#ifdef MUTANT_NO_HANDOFF
#define HANDOFF	0
#else
#define HANDOFF	1
#endif
#ifdef MUTANT_STUCK_UNFENCE
#define KEEP_STUCK	0
#else
#define KEEP_STUCK	1
#endif

/* A token write through the SMI engine to device d. */
proctype SmiWriter(byte d)
{
	bool ok, busy_once;

	/* Arrival: the ioctl's own check (dsmil_state_check_access). */
	if
	:: state[d] != ACTIVE -> goto out
	:: else
	fi;
	/* Queued, then owned: one request at the hardware at a time. */
	atomic { !hw_owned -> hw_owned = true };
	if
	:: faulted -> goto release	/* DSMIL_SMI_OUT_FAULTED */
	:: else
	fi;
start:
	if
	:: goto release			/* its deadline passed: untouched */
	:: skip
	fi;
	if
	:: HANDOFF -> handoff_begin(d, ok)	/* dsmil_smi_fence() */
	:: else -> ok = true
	fi;
	if
	:: !ok -> goto release		/* DSMIL_SMI_OUT_REFUSED */
	:: else
	fi;
	if
	:: !busy_once ->		/* -EBUSY at submit: check again */
		busy_once = true;
		if
		:: HANDOFF -> handoff_end(d)
		:: else
		fi;
		goto start
	:: atomic { pending = true; pending_dev = d }	/* accepted */
	fi;
	if
	:: sync_backend ->
		!pending		/* the call returns: applied or not */
	:: else ->
		/* Polling: done, or the deadline/hang and an abort. */
		if
		:: !pending
		:: atomic {
			pending ->
			if
			:: pending = false	/* the abort worked */
			:: stuck = true; faulted = true	/* it failed */
			fi
		   }
		fi
	fi;
	/* dsmil_smi_finish(): unfence unless stuck (then keep_stuck). */
	if
	:: stuck && KEEP_STUCK -> stuck_fenced = true
	:: else ->
		if
		:: HANDOFF -> handoff_end(d)
		:: else
		fi
	fi;
release:
	hw_owned = false;
out:
	writers_done++
}

/* The firmware: applies or fails the pending write, in its own time. */
proctype Firmware()
{
end:	do
	:: atomic { pending -> land(pending_dev); pending = false }
	:: atomic { pending -> pending = false }	/* error status */
	od
}

/* dsmil_smi_recover(): reset the interface, then end the stuck request. */
proctype Recover()
{
end:	do
	:: atomic { stuck && !hw_owned -> hw_owned = true };
	   pending = false;			/* ops->reset() */
	   /* dsmil_smi_end_stuck() */
	   if
	   :: stuck_fenced -> handoff_end(pending_dev); stuck_fenced = false
	   :: else
	   fi;
	   atomic { stuck = false; faulted = false; hw_owned = false }
	od
}

/* An MMIO write over the windows of D0 and D1 (dsmil_mmio_write()). */
proctype MmioWriter()
{
	bool ok;

	handoff_begin(0, ok);
	if
	:: ok ->
		handoff_begin(1, ok);
		if
		:: !ok -> handoff_end(0)	/* dsmil_mmio_end_windows() */
		:: else
		fi
	:: else
	fi;
	if
	:: ok ->
		land(0);			/* mm->ops->write() */
		land(1);
		handoff_end(0);
		handoff_end(1)
	:: else
	fi;
	writers_done++
}

/* dsmil_state_estop(st, g, ...) */
proctype Estop(byte g)
{
	byte left;

	atomic { !stlock -> stlock = true };
	/* Dependents first: D1, then D0. */
	if
	:: covers(g, 1) && state[1] != LOCKED -> state[1] = LOCKED
	:: else
	fi;
	if
	:: covers(g, 0) && state[0] != LOCKED -> state[0] = LOCKED
	:: else
	fi;
	stlock = false;
	/* The drain wait: until nothing is written, or its bound. */
	if
	:: atomic { (covers(g, 0) * writing[0] + covers(g, 1) * writing[1]) == 0 }
	:: skip
	fi;
	left = covers(g, 0) * writing[0] + covers(g, 1) * writing[1];
	/* Returned: in_doubt = left. */
	atomic {
		if
		:: left == 0 ->
			if
			:: covers(g, 0) -> clean[0] = 1
			:: else
			fi;
			if
			:: covers(g, 1) -> clean[1] = 1
			:: else
			fi
		:: else
		fi
	}
}

/* F2 once everything is over. */
proctype Check()
{
	writers_done == 2 && !pending && !stuck;
	assert(writing[0] == 0 && writing[1] == 0)
}

init
{
	atomic {
		state[0] = ACTIVE;
		state[1] = ACTIVE;
		if
		:: sync_backend = true
		:: sync_backend = false
		fi;
		if
		:: run SmiWriter(0)
		:: run SmiWriter(1)
		fi;
		run MmioWriter();
		run Firmware();
		run Recover();
		if
		:: run Estop(0)
		:: run Estop(1)
		fi;
		if
		:: run Estop(0)
		:: run Estop(1)
		fi;
		run Check()
	}
}
