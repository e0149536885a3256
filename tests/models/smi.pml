/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SPIN model 2: an SMI request's lifetime (dsmil_smi.c, dsmil_smi_async.c).
 *
 * Checked (tests/host/spin-check: spin -a, gcc -DSAFETY, pan):
 *   L1 every request that reached the engine is finished exactly once
 *      (dsmil_smi_finish(): assert on entry, and at the end), and an
 *      asynchronous one's completion hook runs exactly once;
 *   L2 every request on the heap is freed exactly once and never used
 *      after (kref_put() asserts, USE() asserts, the end check), and the
 *      module pins an abandoned request took are all dropped (but the one
 *      a failed abort leaves, held until a reset);
 *   L3 no caller waits past its deadline in the model's time: a caller
 *      returns by its deadline, plus the verdict wait (two ticks) for a
 *      polled request at the hardware, a joiner that starts over included;
 *   L4 the share of a joined read (struct dsmil_smi_share) is freed
 *      exactly once, never used after, and nothing is left in the flight
 *      slot at the end.
 *
 * Time: a clock ticks only when no process can move (SPIN's timeout), so
 * that everything between two ticks takes no time and a wait ends at the
 * tick it is due (smi_timeout_ms is T ticks, DSMIL_SMI_VERDICT_WAIT two).
 * A running SMI may finish at any tick (status DONE; the call returns);
 * at MAXT the clock stops and the firmware answers, so that every request
 * ends.  smi->lock sections are atomic steps.
 *
 * The world: two synchronous callers (dsmil_smi_exec(); caller 1 arrives
 * at tick 0 or 1, and reads either another token or caller 0's, when it
 * joins caller 0's read if it is queued or at the hardware: the share's
 * allocation may fail, the joiner may leave, caller 0 may leave its
 * queued read to the joiner (orphan), a read that ends unsent sends the
 * joiner back to make its own request (DSMIL_SMI_REJOIN)), one
 * asynchronous submitter (dsmil_smi_submit(), then maybe
 * dsmil_smi_cancel(), its reference dropped at any time), the worker
 * (an ordered work item: dsmil_smi_work()), a polled or a synchronous
 * backend (chosen at the start).  Each caller may get a fatal signal at
 * any time; it may find the engine idle (and drive its own request from
 * its stack, handing the worker a copy if it dies meanwhile: the copy's
 * allocation may fail) or queue a heap copy and wait.  Requests may end
 * by queue timeout, timeout with an abort that works or fails (FAULTED,
 * the request kept as smi->stuck, later requests refused), or success.
 * The worker takes any queued request (the code's choice,
 * dsmil_smi_flight_pick(): the newest joinable read, else the oldest, is
 * one of them), after the spacing (not modelled).  Left out: the spacing wait and busy retries (bounded by the
 * same deadline, as the queue wait is; model 3 has the hand-off they
 * re-check), hang detection (ends as the timeout does, earlier), suspend,
 * recovery, more than one joiner (the rebound to the oldest's deadline),
 * caller 1's own reads as leaders, and the counters.
 *
 * Mutants (must fail):
 *   MUTANT_NO_ENGINE_REF    dsmil_smi_enqueue() takes no reference for the
 *                           engine: a caller that leaves frees a queued
 *                           request the worker then uses.
 *   MUTANT_NO_STAGE_CHECK   a caller whose wait ended takes its request
 *                           back as if still queued, whatever its stage.
 *   MUTANT_WAIT_NO_DEADLINE the caller's wait has no deadline
 *                           (wait_for_completion_killable()).
 *   MUTANT_SHARE_NO_REF     dsmil_smi_flight_join() takes no reference on
 *                           the share for the joiner.
 *
 * Model step -> code (dsmil_smi.c unless named)
 * ------------------------------------------------------------------------
 * Caller: lock; faulted/dying?    dsmil_smi_exec:1100-1101 (no joiner: flight_join finds none)
 *   idle: own the hardware        dsmil_smi_exec:1106-1113
 *   drive from the stack          dsmil_smi_exec:1130-1141 -> dsmil_smi_drive
 *   else kmemdup, enqueue         dsmil_smi_exec:1145-1162 -> dsmil_smi_enqueue:1011-1030
 *     (engine ref, queue, kick)     (kref_get :1020, list_add_tail :1021, queue_work :1029)
 *   wait to the deadline          dsmil_smi_wait:829-836 (dsmil_smi_wait_done)
 *   polled at the hardware:       dsmil_smi_wait:838-854 (DSMIL_SMI_VERDICT_WAIT)
 *     verdict wait
 *   QUEUED: take back, finish     dsmil_smi_wait:856-871
 *   RUNNING: abandoned, pinned,   dsmil_smi_wait:872-894
 *     in doubt (timeout) or -EINTR
 *   FINISHED: its result          dsmil_smi_wait:895-898
 *   kref_put                      dsmil_smi_exec:1177
 * drive: deadline passed          dsmil_smi_start:498-499 (QUEUE_TIMEOUT)
 *   submit                        dsmil_smi_start:521, :546-549
 *   sync: the call returns        dsmil_smi_drive:655-657
 *   poll: DONE                    dsmil_smi_drive:664-668
 *   deadline: abort (ok/failed)   dsmil_smi_drive:680-684 -> dsmil_smi_abort:475
 *   fatal signal: hand off        dsmil_smi_drive:691-695 -> dsmil_smi_handoff:599-633
 *     (copy may fail: go on)        (kmemdup GFP_NOWAIT :610, smi->handoff :629)
 *   sleep to the next poll        dsmil_smi_drive:698-702
 * finish: once (ghost)            dsmil_smi_finish:384
 *   stuck: keep it, pin, FAULTED  dsmil_smi_finish:413-414 -> dsmil_smi_keep_stuck:319; dsmil_smi_account:226-228
 *   FINISHED, release hardware,   dsmil_smi_finish:420-429
 *     kick unless the worker
 *   onstack: nothing more         dsmil_smi_finish:453-454
 *   hook, complete, kref_put,     dsmil_smi_finish:456-465
 *     unpin
 * Join: slot, deadline, share,    dsmil_smi_flight.c dsmil_smi_flight_join:150-185
 *   kref_get, waiters
 * Track / untrack the read         dsmil_smi_flight_track:105-112, dsmil_smi_flight_untrack:200-207
 * wait_joined: wait, verdict      dsmil_smi.c dsmil_smi_wait_joined:940-973
 *   leave (queued: orphan taken    dsmil_smi_flight.c dsmil_smi_flight_leave:338-381;
 *   back if alone; at the            dsmil_smi.c dsmil_smi_wait_joined:974-983
 *   hardware: pinned), put
 *   unsent: rejoin or end          dsmil_smi.c dsmil_smi_joined_unsent:911-930, dsmil_smi_exec:1118-1128
 * Orphan: left to the joiner,      dsmil_smi_flight.c dsmil_smi_flight_orphan:304-316 (dsmil_smi_flight_rebound:277-287)
 *   the joiner's deadline            (dsmil_smi.c dsmil_smi_wait:857-863)
 * Publish: slot cleared, share     dsmil_smi_flight.c dsmil_smi_flight_publish:421-475 (dsmil_smi_flight_unsent:389-401);
 *   result/unsent, done, put         dsmil_smi_flight_done:497-503 (dsmil_smi_finish:417, :451)
 * Hand-off copy takes the share    dsmil_smi_flight.c dsmil_smi_flight_moved:123-135 (dsmil_smi_handoff:625)
 * Worker: handoff first, else     dsmil_smi_work:748-785 (the pick:
 *   any queued request              dsmil_smi_flight.c dsmil_smi_flight_pick:254)
 *   the queue; FAULTED: reject    dsmil_smi_work:787-790
 * Async: faulted?, kzalloc,       dsmil_smi_async.c dsmil_smi_submit:65-92
 *   enqueue (not joinable)
 *   cancel if still QUEUED        dsmil_smi_async.c dsmil_smi_cancel:114-126
 *   req_put                       dsmil_smi_async.c dsmil_smi_req_put:143-146
 */

#define T	2		/* smi_timeout_ms */
#define VERDICT	2		/* DSMIL_SMI_VERDICT_WAIT */
#define MAXT	6
/* Ticks an owner may oversleep in one drive (preempted, slow abort). */
#define MAXLATE	3

/* Request slots: caller i uses 3i (its stack), 3i+1 (heap), 3i+2 (copy). */
#define NREQ	7
#define ASYNC	6
#define NONE	255

#define QUEUED		1
#define RUNNING		2
#define FINISHED	3

#define OUT_SUCCESS	0
#define OUT_QTIMEOUT	1
#define OUT_TIMEOUT	2
#define OUT_CANCELLED	3
#define OUT_FAULTED	4
#define OUT_SUBMIT	5

#define HW_IDLE		0
#define HW_RUNNING	1
#define HW_DONE		2

byte clock;
bool sync_backend;
byte hw;			/* the interface */

/* struct dsmil_smi */
bool hw_owned;
bool faulted;
bool smi_stuck;			/* smi->stuck.id != 0 */
byte handoff = NONE;
bool work_pending;		/* queue_work() done, the item not started */
bool worker_busy;
byte pins;			/* __module_get() of the engine */
byte worker_pid;

/* struct dsmil_smi_req, per slot */
byte ref[NREQ];
byte stage[NREQ];
bit  queued[NREQ];		/* on smi->queue */
bit  done[NREQ];		/* req->done completed */
bit  abandoned[NREQ];
bit  pinned[NREQ];
bit  onstack[NREQ];
byte dl[NREQ];			/* req->deadline */
byte aborted[NREQ];		/* 0, 1 ok, 2 failed */

/*
 * Single flight (dsmil_smi_flight.c): when same_token, caller 1 reads the
 * token caller 0 reads, and joins caller 0's read while it is queued or at
 * the hardware (only caller 0's reads are tracked: one leader, one
 * joiner).  One struct dsmil_smi_share at most.
 */
bool same_token;
byte flight = NONE;		/* smi->flight[token] */
bit  orphaned[NREQ];
bit  submitted[NREQ];
bit  sh_alloc;			/* the share was allocated */
byte sh_ref;
byte sh_req = NONE;		/* sh->req */
bit  sh_waiting;		/* caller 1 is on sh->waiters */
bit  sh_done;			/* sh->done completed */
bit  sh_unsent;
byte jdl;			/* the joiner's deadline (its waiter's) */

/* Ghosts. */
bit  sh_freed;
bit  heap[NREQ];		/* allocated on the heap */
bit  freed[NREQ];
byte fin[3];			/* dsmil_smi_finish() calls per logical request */
bit  reached[3];		/* the request reached the engine */
byte hooks;			/* the async completion hook's calls */
bit  sig[2];			/* a fatal signal is pending for caller i */
byte returned;			/* callers and the submitter that returned */

#define LOGICAL(r)	((r) / 3)

inline USE(r)
{
	assert(!freed[r])
}

inline sh_put()
{
	d_step {
		assert(sh_alloc && !sh_freed && sh_ref > 0);
		sh_ref--;
		if
		:: sh_ref == 0 -> sh_freed = 1
		:: else
		fi
	}
}

inline kref_put(r)
{
	d_step {
		assert(ref[r] > 0 && heap[r] && !freed[r]);
		ref[r]--;
		if
		:: ref[r] == 0 -> freed[r] = 1
		:: else
		fi
	}
}

/* dsmil_smi_finish(r, out, owner). */
inline finish(r, out, owner, kick, wasp, shp)
{
	atomic {
		USE(r);
		fin[LOGICAL(r)]++;
		assert(fin[LOGICAL(r)] == 1);
		if
		:: aborted[r] == 2 ->		/* dsmil_smi_keep_stuck() */
			if
			:: !pinned[r] -> pins++
			:: else
			fi;
			pinned[r] = 0;
			smi_stuck = true;
			faulted = true
		:: else
		fi;
		/* dsmil_smi_flight_publish() */
		if
		:: flight == r -> flight = NONE
		:: else
		fi;
		shp = (sh_req == r);
		if
		:: shp ->
			sh_req = NONE;
			sh_unsent = (!submitted[r] &&
				     (out == OUT_CANCELLED || out == OUT_QTIMEOUT));
			sh_waiting = 0
		:: else
		fi;
		stage[r] = FINISHED;
		if
		:: owner -> hw_owned = false
		:: else
		fi;
		kick = (queued[1] || queued[4] || queued[ASYNC]) && _pid != worker_pid;
		wasp = pinned[r]
	};
	if
	:: kick -> work_pending = true
	:: else
	fi;
	if
	:: shp -> sh_done = 1; sh_put()	/* dsmil_smi_flight_done() */
	:: else
	fi;
	if
	:: onstack[r]
	:: else ->
		if
		:: r == ASYNC -> hooks++; assert(hooks == 1)
		:: else
		fi;
		done[r] = 1;
		kref_put(r);
		if
		:: wasp -> pins--
		:: else
		fi
	fi;
	kick = false; wasp = false; shp = false
}

/*
 * dsmil_smi_drive(r, killable): the caller owns the hardware.  handed is
 * set when a dying caller handed the worker copy c instead.
 */
inline drive(r, killable, c, handed, out, now, late, kick, wasp, shp)
{
	handed = false;
	if
	:: clock >= dl[r] -> out = OUT_QTIMEOUT	/* dsmil_smi_start() */
	:: else ->
		if
		:: atomic { USE(r); hw = HW_RUNNING; submitted[r] = 1 };
		   out = OUT_SUCCESS
		:: out = OUT_SUBMIT			/* ->submit() failed */
		fi
	fi;
	if
	:: out == OUT_SUCCESS && sync_backend ->
		hw == HW_DONE;			/* the call returns */
		hw = HW_IDLE
	:: out == OUT_SUCCESS && !sync_backend ->
		do
		:: hw == HW_DONE -> hw = HW_IDLE; break
		:: else ->
			if
			:: clock >= dl[r] ->	/* deadline: abort */
				if
				:: hw = HW_IDLE; aborted[r] = 1
				:: aborted[r] = 2	/* failed: may still run */
				fi;
				out = OUT_TIMEOUT;
				break
			:: else
			fi;
			if
			:: killable && sig[me] ->
				/* dsmil_smi_handoff(): a copy, if memory allows */
				if
				:: atomic {
					heap[c] = 1; ref[c] = 1; stage[c] = RUNNING;
					dl[c] = dl[r]; abandoned[c] = 1; pinned[c] = 1;
					submitted[c] = 1;
					pins++;
					/* dsmil_smi_flight_moved() */
					if
					:: flight == r -> flight = c
					:: else
					fi;
					if
					:: sh_req == r -> sh_req = c
					:: else
					fi;
					handoff = c
				   };
				   work_pending = true;
				   handed = true;
				   break
				:: killable = false
				fi
			:: else
			fi;
			now = clock;
			/* sleep to the next poll: a tick, or a fatal signal */
			(clock != now || hw == HW_DONE || (killable && sig[me]));
			/*
			 * The worker late (preempted, slow in the backend):
			 * what the verdict wait bounds.  A caller driving its
			 * own request is late only for itself.
			 */
			do
			:: _pid == worker_pid && late < MAXLATE && clock < MAXT ->
				late++; now = clock; clock != now
			:: break
			od
		od
	:: else
	fi;
	if
	:: handed
	:: else -> finish(r, out, true, kick, wasp, shp)
	fi;
	now = 0; late = 0
}

/* A caller of dsmil_smi_exec(); me = 0 or 1. */
proctype Caller(byte me)
{
	byte h = 3 * me, q = 3 * me + 1, c = 3 * me + 2;
	byte deadline, out, now, late, w, r, drop;
	bool idle, rejected, handed, verdict, killable, kick, wasp, shp;
	bool joined, unsent;

	/* Caller 1 arrives at tick 0 or 1: deadlines differ. */
	if
	:: skip
	:: me == 1 -> clock >= 1
	fi;
	deadline = clock + T;
again:
	/* The fast path's test, under smi->lock. */
	atomic {
		rejected = faulted;
		/* dsmil_smi_flight_join(): arrived before the read's deadline */
		joined = false;
		if
		:: !rejected && me == 1 && flight != NONE && deadline - T < dl[flight] ->
			if
			:: sh_req == flight -> joined = true
			:: sh_req != flight && !sh_alloc ->
				sh_alloc = 1; sh_ref = 1; sh_req = flight;
				joined = true
			:: sh_req != flight -> skip	/* GFP_NOWAIT failed */
			fi;
			if
			:: joined ->
#ifndef MUTANT_SHARE_NO_REF
				sh_ref++;
#endif
				sh_waiting = 1; jdl = deadline
			:: else
			fi
		:: else
		fi;
		idle = !rejected && !joined && !hw_owned &&
		       !queued[1] && !queued[4] && !queued[ASYNC] && !sync_backend;
		if
		:: idle -> hw_owned = true; onstack[h] = 1; dl[h] = deadline;
			  stage[h] = RUNNING; reached[me] = 1;
			  if			/* dsmil_smi_flight_track() */
			  :: same_token && me == 0 && flight == NONE -> flight = h
			  :: else
			  fi
		:: else
		fi
	};
	if
	:: rejected -> goto leave
	:: else
	fi;
	if
	:: joined ->
		/* dsmil_smi_wait_joined() */
		if
		:: sh_done -> w = 1
		:: clock >= deadline -> w = 0
		:: sig[me] -> w = 2
		fi;
		if
		:: w != 1 ->
			atomic {
				verdict = (w == 0 && sh_req != NONE &&
					   stage[sh_req] == RUNNING && !sync_backend)
			};
			if
			:: verdict ->
				if
				:: sh_done -> w = 1
				:: clock >= deadline + VERDICT -> w = 0
				:: sig[me] -> w = 2
				fi
			:: else
			fi
		:: else
		fi;
		if
		:: w == 1 -> atomic { assert(!sh_freed); unsent = sh_unsent }
		:: else ->
			atomic {		/* dsmil_smi_flight_leave() */
				assert(!sh_freed);
				drop = NONE;
				if
				:: sh_req != NONE ->
					USE(sh_req);
					sh_waiting = 0;
					if
					:: stage[sh_req] == QUEUED ->
						if
						:: orphaned[sh_req] ->	/* nobody wants it */
							drop = sh_req;
							queued[drop] = 0;
							stage[drop] = RUNNING;
							if
							:: flight == drop -> flight = NONE
							:: else
							fi
						:: else
						fi
					:: else ->		/* at the hardware */
						if
						:: !onstack[sh_req] && !pinned[sh_req] ->
							pinned[sh_req] = 1; pins++
						:: else
						fi
					fi
				:: else
				fi;
				unsent = (sh_req == NONE && sh_unsent)
			};
			if
			:: drop != NONE ->
				r = drop;
				out = (w == 2 -> OUT_CANCELLED : OUT_QTIMEOUT);
				finish(r, out, false, kick, wasp, shp);
				r = 0; out = 0
			:: else
			fi
		fi;
		sh_put();			/* dsmil_smi_flight_put() */
		if
		:: unsent ->			/* dsmil_smi_joined_unsent() */
			unsent = false; drop = 0;
			if
			:: sig[me] || clock >= deadline -> goto leave
			:: else -> w = 0; goto again	/* DSMIL_SMI_REJOIN */
			fi
		:: else -> goto leave
		fi
	:: else
	fi;
	if
	:: idle ->
		r = h;
		killable = true;
		drive(r, killable, c, handed, out, now, late, kick, wasp, shp);
		goto leave
	:: else
	fi;

	/* Queue a heap copy. */
	r = q;
	atomic { heap[r] = 1; ref[r] = 1; stage[r] = QUEUED; dl[r] = deadline };
	atomic {				/* dsmil_smi_enqueue() */
		if
		:: faulted -> rejected = true; heap[r] = 0; ref[r] = 0
		:: else ->
#ifndef MUTANT_NO_ENGINE_REF
			ref[r]++;
#endif
			queued[r] = 1;
			reached[me] = 1;
			if			/* dsmil_smi_flight_track() */
			:: same_token && me == 0 && flight == NONE -> flight = r
			:: else
			fi
		fi
	};
	if
	:: rejected -> goto leave
	:: else -> work_pending = true
	fi;

	/* dsmil_smi_wait() */
#ifdef MUTANT_WAIT_NO_DEADLINE
	if
	:: done[r] -> w = 1
	:: sig[me] -> w = 2
	fi;
#else
	if
	:: done[r] -> w = 1
	:: clock >= deadline -> w = 0
	:: sig[me] -> w = 2
	fi;
#endif
	if
	:: w == 1 -> goto put
	:: else
	fi;
	atomic {
		USE(r);
		verdict = (w == 0 && stage[r] == RUNNING && !sync_backend)
	};
	if
	:: verdict ->
		if
		:: done[r] -> w = 1
		:: clock >= deadline + VERDICT -> w = 0
		:: sig[me] -> w = 2
		fi
	:: else
	fi;
	if
	:: w == 1 -> goto put
	:: else
	fi;
	atomic {
		USE(r);
#ifdef MUTANT_NO_STAGE_CHECK
		if
		:: stage[r] != FINISHED -> queued[r] = 0; stage[r] = QUEUED
		:: else
		fi;
#endif
		if
		:: stage[r] == QUEUED && sh_req == r && sh_waiting ->
			/* dsmil_smi_flight_orphan(): left to its joiner */
			orphaned[r] = 1;
			dl[r] = jdl
		:: stage[r] == QUEUED && !(sh_req == r && sh_waiting) ->
			/* never reached the hardware: take it back */
			queued[r] = 0;
			stage[r] = RUNNING;
			if			/* dsmil_smi_flight_untrack() */
			:: flight == r -> flight = NONE
			:: else
			fi;
			out = NONE
		:: stage[r] == RUNNING ->	/* the engine keeps it */
			abandoned[r] = 1;
			if
			:: !pinned[r] -> pinned[r] = 1; pins++
			:: else
			fi
		:: else				/* it finished as we gave up */
		fi
	};
	if
	:: out == NONE ->
		out = (w == 2 -> OUT_CANCELLED : OUT_QTIMEOUT);
		finish(r, out, false, kick, wasp, shp)
	:: else
	fi;
put:
	kref_put(r);
leave:
	/* L3: back by the deadline, or the verdict wait's end. */
	assert(clock <= deadline + VERDICT);
	returned++
}

/* dsmil_smi_work(): the ordered work item, run whenever queued. */
proctype Worker()
{
	byte r, out, now, late, c = NONE;
	bool reject, handed, killable, kick, wasp, shp;
	byte me = 0;	/* drive() names it; never killable here */

end:	do
	:: atomic { work_pending -> work_pending = false; worker_busy = true };
	   do
	   :: atomic {
		if
		:: handoff == NONE && (hw_owned ||
		   (!queued[1] && !queued[4] && !queued[ASYNC])) ->
			worker_busy = false; break
		:: handoff != NONE ->
			r = handoff; handoff = NONE; reject = false
		:: handoff == NONE && !hw_owned && queued[1] -> r = 1
		:: handoff == NONE && !hw_owned && queued[4] -> r = 4
		:: handoff == NONE && !hw_owned && queued[ASYNC] -> r = ASYNC
		fi;
		USE(r);
		if
		:: queued[r] ->
			queued[r] = 0;
			stage[r] = RUNNING;
			reject = faulted;
			if
			:: !reject -> hw_owned = true
			:: else
			fi
		:: else
		fi
	      };
	      if
	      :: reject -> finish(r, OUT_FAULTED, false, kick, wasp, shp)
	      :: else ->
		killable = false;
		drive(r, killable, c, handed, out, now, late, kick, wasp, shp)
	      fi;
	      r = 0; reject = false; out = 0
	   od
	od
}

/* dsmil_smi_submit(), maybe dsmil_smi_cancel(), dsmil_smi_req_put(). */
proctype Async()
{
	bool rejected, cancel, kick, wasp, shp;
	byte r = ASYNC;

	if
	:: faulted -> goto leave		/* READ_ONCE(smi->faulted) */
	:: else
	fi;
	atomic { heap[r] = 1; ref[r] = 1; stage[r] = QUEUED; dl[r] = clock + T };
	atomic {
		if
		:: faulted -> rejected = true; heap[r] = 0; ref[r] = 0
		:: else ->
#ifndef MUTANT_NO_ENGINE_REF
			ref[r]++;
#endif
			queued[r] = 1;
			reached[2] = 1
		fi
	};
	if
	:: rejected -> goto leave
	:: else -> work_pending = true
	fi;
	if
	:: atomic {			/* dsmil_smi_cancel() */
		USE(r);
		cancel = (stage[r] == QUEUED);
		if
		:: cancel -> queued[r] = 0; stage[r] = RUNNING
		:: else
		fi
	   };
	   if
	   :: cancel -> finish(r, OUT_CANCELLED, false, kick, wasp, shp)
	   :: else
	   fi
	:: skip
	fi;
	kref_put(r);
leave:
	returned++
}

/*
 * Fatal signals, at any moment the callers are waiting (a signal that
 * comes while a caller runs is seen at its next wait, which it ends).
 */
proctype Signals()
{
end:	do
	:: timeout && !sig[0] -> sig[0] = 1
	:: timeout && !sig[1] -> sig[1] = 1
	od
}

/* Time passes only when nobody can move; the firmware may answer at a tick. */
proctype Clock()
{
end:	do
	:: timeout ->
		atomic {
			if
			:: clock < MAXT -> clock++;
				if
				:: hw == HW_RUNNING -> hw = HW_DONE
				:: skip
				fi
			:: clock == MAXT && hw == HW_RUNNING -> hw = HW_DONE
			:: else
			fi
		}
	od
}

/* L1, L2 at the end: everyone returned, the engine idle. */
proctype Check()
{
	byte i;

	returned == 3 && !work_pending && !worker_busy && handoff == NONE &&
	!hw_owned && !queued[1] && !queued[4] && !queued[ASYNC];
	d_step {
		i = 0;
		do
		:: i < 3 -> assert(fin[i] == reached[i]); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NREQ -> assert(heap[i] == freed[i]); i++
		:: else -> break
		od;
		assert(hooks == reached[2]);
		assert(sh_alloc == sh_freed && flight == NONE && sh_req == NONE);
		assert(pins == smi_stuck)
	}
}

init
{
	atomic {
		if
		:: sync_backend = true
		:: sync_backend = false
		fi;
		if
		:: same_token = true
		:: same_token = false
		fi;
		worker_pid = run Worker();
		run Caller(0);
		run Caller(1);
		run Async();
		run Signals();
		run Clock();
		run Check()
	}
}
