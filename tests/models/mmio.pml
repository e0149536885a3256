/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SPIN model 1: the chunk mapper's lock-free hit path against eviction,
 * the idle reaper, the suspend unmap and module unload (dsmil_mmio.c).
 *
 * Checked (tests/host/spin-check: spin -a, gcc -DSAFETY, pan -m...):
 *   P1 no access to an unmapped chunk: an access only ever uses the
 *      mapping that is live at that moment (assert in USE);
 *   P2 no unmap while a user holds it (assert in drop);
 *   P3 no lost chunk: a chunk is never mapped twice (a leaked mapping), the
 *      resident count and bitmap always match the live mappings and never
 *      exceed the cap, and after unload nothing is mapped, no user count is
 *      left over (asserts in map, drop, and the end of Exit).
 *
 * The world: NCHUNK chunks, a cap of CAP, chunks 0 and 1 mapped by earlier
 * accesses (so that the very first access can hit, and race an unmap),
 * NACC accessors each making one access (a single chunk, or a span of two
 * as a bulk write takes), the reaper (any resident chunk may be "idle" at
 * any run), one suspend
 * (dsmil_mmio_unmap_all(), here even while accessors run: stronger than the
 * kernel needs, see its comment) and unload once every accessor returned
 * (the device node is gone and no file is open: dsmil_mmio_exit()).
 *
 * Memory model: SPIN interleaves whole statements, i.e. sequential
 * consistency, which is what the full barriers of the code buy (the
 * pairing at the top of dsmil_mmio.c).  A mutant that drops a barrier is
 * modelled by the reordering the barrier forbids (x86 itself lets a load
 * pass an earlier store; smp_mb__after_atomic() is what stops it).
 *
 * Simplifications (each one an over-approximation: more behaviours than
 * the code has): the LRU choice of a victim is any resident chunk without
 * users; a wait for a slot may end at any time (its timeout or a fatal
 * signal) or when the span fits; a map may fail; the reaper's "expiry <=
 * now" is a free choice; the lock-free statistics (hits, bytes, last_used)
 * are left out: nothing decides on them but the LRU order and the reaper.
 *
 * Mutants (must fail, the test shows they do):
 *   MUTANT_HIT_NO_BARRIER   chunk_hit without smp_mb__after_atomic(): the
 *                           load of c->addr passes the user increment.
 *   MUTANT_DETACH_NO_RECHECK detach without the user re-check after
 *                           WRITE_ONCE(c->addr, NULL) + smp_mb().
 *
 * Model step -> code (dsmil_mmio.c, function:line)
 * ------------------------------------------------------------------------
 * hit: users[c]++                 dsmil_mmio_chunk_hit:338 atomic_inc
 *      (barrier)                  dsmil_mmio_chunk_hit:340 smp_mb__after_atomic
 *      a = addr[c]                dsmil_mmio_chunk_hit:341 READ_ONCE(c->addr)
 *      miss: unuse                dsmil_mmio_chunk_hit:346 -> dsmil_mmio_unuse:327
 * get: hit, else slow path        dsmil_mmio_chunk_get:365
 * slow: LOCK                      dsmil_mmio_map:293 mutex_lock_killable
 *       a = addr[c]; users++      dsmil_mmio_map:297-302 (mapped meanwhile)
 *       room or evict_one         dsmil_mmio_map:307-308
 *       UNLOCK; wait_slot; LOCK   dsmil_mmio_map:310-314, dsmil_mmio_wait_slot:186
 *       map_chunk                 dsmil_mmio_map:317 -> __dsmil_mmio_map:229
 * map_chunk: mapped[c] = gen      __dsmil_mmio_map:243 ops->map (or failure :241-252)
 *       resident++, bitmap        __dsmil_mmio_map:256-258
 *       users[c]++                __dsmil_mmio_map:260
 *       addr[c] = gen (release)   __dsmil_mmio_map:262 smp_store_release
 *       arm the reaper            __dsmil_mmio_map:264-266 (if !dying)
 * put: users[c]--                 dsmil_mmio_chunk_put:381 -> dsmil_mmio_unuse:327
 * span: hit each, put on a miss   dsmil_mmio_span_get:468-475
 *       LOCK, fits?, __span_get   dsmil_mmio_span_get:478-486, dsmil_mmio_span_fits:160
 *       resident ones first       __dsmil_mmio_span_get:412-418
 *       evict or EAGAIN, map      __dsmil_mmio_span_get:419-432
 *       put_held                  __dsmil_mmio_span_get:438-442
 * detach: a = addr; addr = NULL   dsmil_mmio_detach:81,85
 *       (barrier)                 dsmil_mmio_detach:87 smp_mb
 *       users? put back           dsmil_mmio_detach:88-90
 * drop: unmap, resident--, bit    dsmil_mmio_drop:102-105
 * evict_one: victim, detach, drop dsmil_mmio_evict_one:116-150
 * Reaper: LOCK, idle & no users,  dsmil_mmio_reap:509-523
 *       detach, drop; re-arm if   dsmil_mmio_reap:529-531
 *       !dying; UNLOCK            dsmil_mmio_reap:532
 * Suspend: detach+drop all        dsmil_mmio_unmap_all:561-571
 * Exit: dying under LOCK          dsmil_mmio_exit:812-814
 *       cancel_delayed_work_sync  dsmil_mmio_exit:816
 *       detach (WARN if busy),drop dsmil_mmio_exit:818-827
 */

#define NCHUNK	3
#define CAP	2
#define NACC	2
/* Retries of a wait for a slot: its deadline (busy_wait_ms) bounds them. */
#define MAXWAITS	1

/* Chunk state, as in struct dsmil_chunk / struct dsmil_mmio. */
byte users[NCHUNK];	/* c->users */
bit  addr[NCHUNK];	/* c->addr: 0 = NULL, 1 = the mapping */
bit  rmap[NCHUNK];	/* mm->resident_map */
byte resident;		/* mm->resident */
bool mlock;		/* mm->lock */
bool dying;		/* mm->dying */
bool armed;		/* the reaper's delayed work is pending */
bool reaping;		/* the reaper's work is running */

/* Ghosts: what the backend really has, and who really uses it. */
bit  mapped[NCHUNK];	/* the backend has the chunk mapped */
/*
 * gone[p * NCHUNK + c]: the mapping of chunk c that accessor p read was
 * unmapped since (set by every unmap, cleared when p reads c->addr): a
 * mapping read before an unmap is stale even if the chunk is mapped again.
 */
bit  gone[NACC * NCHUNK];
byte holders[NCHUNK];	/* accessors inside their access of the chunk */
byte done_acc;		/* accessors that returned */
byte si, sn, sroom;	/* scratch of the d_steps below, always left 0 */

#define LOCK	atomic { !mlock -> mlock = true }
#define UNLOCK	mlock = false

/* Resident bookkeeping matches the backend's live mappings (P3). */
inline check_books()
{
	si = 0; sn = 0;
	do
	:: si < NCHUNK ->
		assert(rmap[si] == mapped[si]);
		sn = sn + rmap[si];
		si++
	:: else -> break
	od;
	assert(sn == resident && resident <= CAP);
	si = 0; sn = 0
}

/* Read c->addr into a, as accessor me. */
inline capture(c, a)
{
	d_step { a = addr[c]; gone[me * NCHUNK + c] = 0 }
}

/* Use chunk c through mapping a: it must be the live one (P1). */
inline use(c, a)
{
	assert(a != 0 && mapped[c] && !gone[me * NCHUNK + c])
}

/* dsmil_mmio_drop(): ops->unmap under mm->lock; nobody may hold it (P2). */
inline drop(c)
{
	d_step {
		assert(holders[c] == 0 && mapped[c]);
		mapped[c] = 0;
		si = 0;
		do
		:: si < NACC -> gone[si * NCHUNK + c] = 1; si++
		:: else -> break
		od;
		rmap[c] = 0;
		resident--;
		check_books()
	}
}

/*
 * dsmil_mmio_detach() then, if it took the mapping, dsmil_mmio_drop():
 * ok = it was unmapped.  Three steps that lock-free hits interleave with.
 */
inline detach_drop(c, ok)
{
	addr[c] = 0;
	/* smp_mb() */
#ifdef MUTANT_DETACH_NO_RECHECK
	ok = true;
#else
	if
	:: users[c] > 0 -> addr[c] = 1; ok = false
	:: else -> ok = true
	fi;
#endif
	if
	:: ok -> drop(c)
	:: else
	fi
}

/* __dsmil_mmio_map(): ok = it worked (the caller then holds the chunk). */
inline map_chunk(c, ok)
{
	if
	:: ok = false			/* backend or injected failure */
	:: d_step {
		assert(mapped[c] == 0 && addr[c] == 0);	/* P3: no double map */
		mapped[c] = 1;
		resident++;
		rmap[c] = 1;
		check_books()
	   };
	   users[c]++;
	   atomic {
		addr[c] = 1;		/* smp_store_release */
		if
		:: !dying -> armed = true
		:: else
		fi;
		ok = true
	   }
	fi
}

/*
 * dsmil_mmio_evict_one(): ret = 0 (a slot was made) or 1 (-EBUSY).  The
 * victim: any resident chunk without users not tried yet (the code takes
 * the least recently used one).
 */
inline evict_one(tried, v, ok, ret)
{
	tried = 0;
	do
	:: atomic {
		v = NCHUNK;
		if
		:: rmap[0] && users[0] == 0 && !(tried & 1) -> v = 0
		:: rmap[1] && users[1] == 0 && !(tried & 2) -> v = 1
		:: rmap[2] && users[2] == 0 && !(tried & 4) -> v = 2
		:: else
		fi;
		if
		:: v == NCHUNK -> ret = 1; tried = 0; v = 0; break
		:: else -> tried = tried | (1 << v)
		fi
	   };
	   detach_drop(v, ok);
	   if
	   :: ok -> ret = 0; tried = 0; v = 0; break
	   :: else			/* raced with a new user: next */
	   fi
	od
}

/* dsmil_mmio_span_fits() under the lock. */
inline span_fits(first, last, fits)
{
	d_step {
		sn = 0; si = first;
		do
		:: si <= last -> sn = sn + (addr[si] == 0); si++
		:: else -> break
		od;
		sroom = CAP - resident;
		si = 0;
		do
		:: si < NCHUNK ->
			if
			:: (si < first || si > last) && addr[si] != 0 &&
			   users[si] == 0 -> sroom++
			:: else
			fi;
			si++
		:: else -> break
		od;
		fits = (sn <= sroom);
		si = 0; sn = 0; sroom = 0
	}
}

/*
 * dsmil_mmio_wait_slot() with the lock dropped: ret = 0 to retry, 1 gave
 * up (the deadline or a fatal signal), at any time.
 */
inline wait_slot(waits, ret)
{
	if
	:: waits < MAXWAITS -> ret = 0; waits++
	:: ret = 1
	fi
}

/* dsmil_mmio_chunk_hit(): a = the mapping, held, or 0. */
inline chunk_hit(c, a)
{
#ifdef MUTANT_HIT_NO_BARRIER
	capture(c, a);
	users[c]++;
#else
	users[c]++;
	/* smp_mb__after_atomic() */
	capture(c, a);
#endif
	if
	:: a != 0
	:: else -> users[c]--		/* dsmil_mmio_unuse() */
	fi
}

/* The copy: the mapping is used at the start, meanwhile and at the end. */
inline access(c, a)
{
	atomic { use(c, a); holders[c]++ };
	use(c, a);
	atomic { use(c, a); holders[c]-- }
}

proctype Accessor(byte me)
{
	byte c, last, a, b, tried, v, i, waits, ret;
	bool ok, fits;

	/* Chunk 1 would behave as chunk 0 (both mapped at the start). */
	if
	:: c = 0; last = 0
	:: c = 2; last = 2
	:: c = 0; last = 1	/* a span, as a bulk write takes */
	fi;
	if
	:: c == last ->
		/* dsmil_mmio_chunk_get() */
		chunk_hit(c, a);
		if
		:: a != 0 -> ok = true
		:: else ->
			/* dsmil_mmio_map() */
			LOCK;
			do
			:: capture(c, a);
			   if
			   :: a != 0 -> users[c]++; UNLOCK; ok = true; break
			   :: else
			   fi;
			   if
			   :: resident < CAP -> ret = 0
			   :: else -> evict_one(tried, v, ok, ret)
			   fi;
			   if
			   :: ret == 0 ->
				map_chunk(c, ok);
				capture(c, a);
				UNLOCK;
				break
			   :: else
			   fi;
			   UNLOCK;
			   wait_slot(waits, ret);
			   if
			   :: ret != 0 -> ok = false; break
			   :: else -> LOCK
			   fi
			od
		fi;
		atomic { ret = 0; waits = 0; fits = false };
		if
		:: ok ->
			access(c, a);
			users[c]--	/* dsmil_mmio_chunk_put() */
		:: else
		fi
	:: else ->
		/* dsmil_mmio_span_get(mm, c, last, {a, b}) */
		chunk_hit(c, a);
		b = 0;
		if
		:: a != 0 -> chunk_hit(last, b)
		:: else
		fi;
		if
		:: a != 0 && b != 0 -> ok = true
		:: else ->
			if
			:: a != 0 -> users[c]--; a = 0
			:: else
			fi;
			LOCK;
			do
			:: span_fits(c, last, fits);
			   ret = 2;	/* -EAGAIN: wait */
			   if
			   :: fits ->
				/* __dsmil_mmio_span_get(): resident ones first */
				capture(c, a);
				if
				:: a != 0 -> users[c]++
				:: else
				fi;
				capture(last, b);
				if
				:: b != 0 -> users[last]++
				:: else
				fi;
				ret = 0;
				if
				:: a == 0 ->
					if
					:: resident >= CAP ->
						evict_one(tried, v, ok, ret);
						if
						:: ret != 0 -> ret = 2
						:: else
						fi
					:: else
					fi;
					if
					:: ret == 0 ->
						map_chunk(c, ok);
						if
						:: ok -> capture(c, a)
						:: else -> ret = 3
						fi
					:: else
					fi
				:: else
				fi;
				if
				:: ret == 0 && b == 0 ->
					if
					:: resident >= CAP ->
						evict_one(tried, v, ok, ret);
						if
						:: ret != 0 -> ret = 2
						:: else
						fi
					:: else
					fi;
					if
					:: ret == 0 ->
						map_chunk(last, ok);
						if
						:: ok -> capture(last, b)
						:: else -> ret = 3
						fi
					:: else
					fi
				:: else
				fi;
				if
				:: ret != 0 ->	/* put_held */
					if
					:: a != 0 -> users[c]--; a = 0
					:: else
					fi;
					if
					:: b != 0 -> users[last]--; b = 0
					:: else
					fi
				:: else
				fi
			   :: else
			   fi;
			   if
			   :: ret != 2 -> UNLOCK; ok = (ret == 0); break
			   :: else
			   fi;
			   UNLOCK;
			   wait_slot(waits, ret);
			   if
			   :: ret != 0 -> ok = false; break
			   :: else -> LOCK
			   fi
			od
		fi;
		atomic { ret = 0; waits = 0; fits = false };
		if
		:: ok ->
			access(c, a);
			access(last, b);
			users[c]--;	/* dsmil_mmio_span_put() */
			users[last]--
		:: else
		fi
	fi;
	done_acc++
}

/* dsmil_mmio_reap(), whenever its delayed work is due. */
proctype Reaper()
{
	byte i;
	bool ok;

end:	do
	:: atomic { armed && !reaping -> armed = false; reaping = true };
	   LOCK;
	   i = 0;
	   do
	   :: i < NCHUNK ->
		if
		:: rmap[i] && users[i] == 0 ->	/* idle long enough, or not */
			if
			:: detach_drop(i, ok)
			:: skip
			fi
		:: else
		fi;
		i++
	   :: else -> break
	   od;
	   /* Re-armed while something is resident, unless dying. */
	   atomic {
		if
		:: resident > 0 && !dying -> armed = true
		:: else
		fi;
		UNLOCK;
		reaping = false;
		i = 0; ok = false
	   }
	od
}

/* dsmil_mmio_unmap_all() (system sleep), once, at any time. */
proctype Suspend()
{
	byte i;
	bool ok;

	LOCK;
	i = 0;
	do
	:: i < NCHUNK ->
		if
		:: rmap[i] -> detach_drop(i, ok)
		:: else
		fi;
		i++
	:: else -> break
	od;
	UNLOCK
}

/* dsmil_mmio_exit(): after every accessor returned. */
proctype Exit()
{
	byte i;
	bool ok;

	done_acc == NACC;
	LOCK;
	dying = true;
	UNLOCK;
	/* cancel_delayed_work_sync(): no pending run, none running. */
	armed = false;
	!reaping;
	LOCK;
	i = 0;
	do
	:: i < NCHUNK ->
		if
		:: rmap[i] ->
			detach_drop(i, ok);
			assert(ok)		/* WARN_ON_ONCE(!addr) */
		:: else
		fi;
		i++
	:: else -> break
	od;
	UNLOCK;
	/* P3 after unload: nothing mapped, nothing held, nothing counted. */
	d_step {
		i = 0;
		do
		:: i < NCHUNK ->
			assert(mapped[i] == 0 && addr[i] == 0 && users[i] == 0 &&
			       holders[i] == 0 && rmap[i] == 0);
			i++
		:: else -> break
		od;
		assert(resident == 0 && !armed)
	}
}

init
{
	atomic {
		/* Chunks 0 and 1 mapped by earlier accesses, the reaper armed. */
		mapped[0] = 1; addr[0] = 1; rmap[0] = 1;
		mapped[1] = 1; addr[1] = 1; rmap[1] = 1;
		resident = 2;
		armed = true;
		run Accessor(0);
		run Accessor(1);
		run Reaper();
		run Suspend();
		run Exit()
	}
}
