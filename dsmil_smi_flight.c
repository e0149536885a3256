// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: one SMI for identical reads ("single-flight").
 *
 * Every SMI stalls every CPU while the firmware runs, so concurrent reads of
 * one token share a call: a plain synchronous token read (no DSMIL_SMI_F_*
 * flag: not the state machine's verification, which must see the device
 * answer now, nor the read before or the read-back of an audited write,
 * which are that write's own evidence) that arrives while a read of the same token is queued or at
 * the firmware waits for that read's result instead of sending its own.
 * The engine (dsmil_smi.c) calls this file under &dsmil_smi.lock; this
 * file keeps the bookkeeping (who joined, who left, how each is counted)
 * and calls nothing of the engine.  Writes never join and are never
 * joined; asynchronous requests, if any, are not joined either.
 *
 * Why a shared value is one the joiner could have read itself
 * (linearizable), and never older than a write that completed before the
 * joiner began: only one request is ever at the hardware, and the read R a
 * caller J joins is, when J arrives, either
 *  - queued: R reaches the hardware after J arrived, so its value is read
 *    during J's own call; whatever completed before J began (a write of
 *    the token included, even one queued ahead of R) was at the hardware
 *    before R and is in the value; or
 *  - at the hardware (submitted, or even answered but not yet finished):
 *    from R's submit until its finish nobody else touches the hardware
 *    (the hardware is released and R leaves its slot in the same critical
 *    section), so the token holds the same value during the whole of R's
 *    call up to J's arrival, and any write that completed before J began
 *    ended before R was submitted.  A write cannot slip between R's answer
 *    and J's join.
 * A read R that finished is out of its slot before the hardware is free
 * again, so a reader that comes after a later write never gets R's value:
 * it makes (or joins) a read sent after that write.
 *
 * A joiner keeps its own wait: its own deadline and fatal signals, its own
 * errno (-ETIMEDOUT when it leaves a queued read, -EINPROGRESS with the
 * shared request's id when it leaves one at the hardware, -EINTR), and its
 * leaving never ends the call for the others.  When the request's own
 * caller leaves while it is still queued, the request stays queued for the
 * joiners ("orphaned"), with the deadline of the oldest one; it is taken
 * back untouched only when the last of them leaves too.
 *
 * Nor does a joiner get an outcome that is only its leader's: a read that
 * ends unsent because of its own caller (a fatal signal, its deadline
 * passed or about to pass in the spacing or a busy retry, or taken back by
 * its caller in a gap a joiner slipped into) says nothing about the
 * hardware.  Its joiners still waiting are not counted by it and start
 * over as callers of their own, within their own deadlines
 * (DSMIL_SMI_REJOIN, dsmil_smi_exec()).  This one rule covers every way a
 * read can end unsent, where keeping the read alive for the joiners
 * (moving its deadline, refusing the signal) would have to be done at
 * each of them, in two contexts (caller and worker).  Each restart is a
 * read of its own (or a join of one that began after the joiner did), so
 * the value is still one the joiner could have read, and the restarts end
 * at its deadline.  A taken-back read also leaves its slot in the section
 * that takes it back, so that nobody joins a read already given up.
 *
 * Every caller is
 * counted once: the request for its own caller (unless orphaned), each
 * joiner as it leaves a queued request or, for the ones served (or gone
 * while the call ran), by the call's outcome, plus once in
 * &dsmil_smi_counters.coalesced.  The hand-off check (dsmil_smi_fence())
 * is the shared request's: a device stopped while they wait gets no SMI,
 * and every joiner gets the refusal.
 *
 * A request driven from its caller's stack (the engine's idle fast path)
 * is joined too: the joiners wait on a &struct dsmil_smi_share on the heap,
 * never on the request; if that caller must leave while its SMI runs, the
 * copy it hands the worker takes the share along
 * (dsmil_smi_flight_moved()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

/* The slot of a read others may join, or -EINVAL for any other request. */
static int dsmil_smi_flight_slot(const struct dsmil_smi_cmd *cmd,
				 unsigned int flags)
{
	BUILD_BUG_ON(DSMIL_SMI_FLIGHT_SLOTS != DSMIL_NUM_TOKENS);
	if (cmd->op != DSMIL_SMI_OP_READ || cmd->flags || flags)
		return -EINVAL;
	return dsmil_smi_token_index(cmd->token);
}

/**
 * dsmil_smi_flight_track - let later reads of @req's token join it.
 * @smi: SMI engine.
 * @req: a request just accepted (queued, or driven by its caller); only a
 *       plain read becomes joinable, and only if its token has none.
 *
 * Called with &dsmil_smi.lock held.
 */
void dsmil_smi_flight_track(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	int i = dsmil_smi_flight_slot(&req->cmd, req->flags);

	lockdep_assert_held(&smi->lock);
	if (i >= 0 && !smi->flight[i])
		smi->flight[i] = req;
}

/**
 * dsmil_smi_flight_moved - @from (on its caller's stack) is now @to.
 * @smi:  SMI engine.
 * @from: the request its caller leaves (dsmil_smi_handoff()).
 * @to:   the copy the worker finishes; takes @from's share, which a joiner
 *        may have made after the copy was taken.
 *
 * Called with &dsmil_smi.lock held.
 */
void dsmil_smi_flight_moved(struct dsmil_smi *smi,
			    const struct dsmil_smi_req *from,
			    struct dsmil_smi_req *to)
{
	int i = dsmil_smi_flight_slot(&to->cmd, to->flags);

	lockdep_assert_held(&smi->lock);
	if (i >= 0 && smi->flight[i] == from)
		smi->flight[i] = to;
	to->share = from->share;
	if (to->share)
		to->share->req = to;
}

/**
 * dsmil_smi_flight_join - join a read of the same token, if there is one.
 * @smi:   SMI engine.
 * @cmd:   what the caller asks.
 * @flags: its DSMIL_SMI_F_*: only a plain read (0) joins.
 * @w:     the caller's waiter (on its stack), @start and @deadline set.
 *
 * Called with &dsmil_smi.lock held, the engine neither FAULTED nor dying.
 *
 * Return: the share to wait on, with a reference for the caller, who is
 * counted in &dsmil_smi.in_flight; NULL: the caller makes its own request
 * (no read to join, or no memory for the share).
 */
struct dsmil_smi_share *dsmil_smi_flight_join(struct dsmil_smi *smi,
					      const struct dsmil_smi_cmd *cmd,
					      unsigned int flags,
					      struct dsmil_smi_waiter *w)
{
	struct dsmil_smi_share *sh;
	struct dsmil_smi_req *req;
	int i = dsmil_smi_flight_slot(cmd, flags);

	lockdep_assert_held(&smi->lock);
	if (i < 0)
		return NULL;
	req = smi->flight[i];
	/*
	 * Past its deadline it ends as a timeout: a caller that just came
	 * would be told of a wait it never had.
	 */
	if (!req || !ktime_before(w->start, req->deadline))
		return NULL;
	sh = req->share;
	if (!sh) {
		/* No reclaim under the engine's spinlock: it reads alone. */
		sh = kzalloc(sizeof(*sh), GFP_NOWAIT | __GFP_NOWARN);
		if (!sh)
			return NULL;
		kref_init(&sh->ref);	/* the request's */
		init_completion(&sh->done);
		INIT_LIST_HEAD(&sh->waiters);
		sh->req = req;
		sh->id = req->id;
		req->share = sh;
	}
	kref_get(&sh->ref);
	list_add_tail(&w->node, &sh->waiters);
	smi->in_flight++;
	return sh;
}

/**
 * dsmil_smi_flight_untrack - @req is being taken back unsent: nobody may
 * join it any more.
 * @smi: SMI engine.
 * @req: a request just taken off the queue by its caller (or by its last
 *       joiner), not yet finished.
 *
 * Called with &dsmil_smi.lock held, in the section that takes @req back:
 * dsmil_smi_finish() clears the slot too, but only after the lock was
 * dropped, and a reader arriving in between would join a read that is
 * never sent.
 */
void dsmil_smi_flight_untrack(struct dsmil_smi *smi, struct dsmil_smi_req *req)
{
	int i = dsmil_smi_flight_slot(&req->cmd, req->flags);

	lockdep_assert_held(&smi->lock);
	if (i >= 0 && smi->flight[i] == req)
		smi->flight[i] = NULL;
}

/* @req can still be joined: it holds its token's slot. */
static bool dsmil_smi_flight_joinable(const struct dsmil_smi *smi,
				      const struct dsmil_smi_req *req)
{
	int i = dsmil_smi_flight_slot(&req->cmd, req->flags);

	return i >= 0 && smi->flight[i] == req;
}

/**
 * dsmil_smi_flight_pick - the queued request to send next.
 * @smi: SMI engine, its queue not empty.
 *
 * Called with &dsmil_smi.lock held, the hardware free, by the worker.
 *
 * First come, first served, with one exception that keeps readers
 * together: when the requests at the head of the queue are all joinable
 * reads, none of them passed over DSMIL_SMI_PASS_OVER_MAX times yet, the
 * newest of them goes first and the older ones wait, still queued and
 * still joinable.
 *
 * Why: readers going round the same tokens move in convoys, one call for
 * each.  A reader woken late misses its convoy's next call and starts a
 * second convoy; two convoys then alternate at the hardware, each on its
 * own token, and never meet again: a reader may only share a read not
 * yet answered when it arrives, so a convoy cannot catch the other's
 * call, answered by the time it comes to that token.  A convoy served
 * meets the other when it comes to the token the other is queued on.
 * Serving the newest read first (the
 * convoy just answered, back first) lets it run on while the older read
 * waits queued: once the one behind is one token behind, the next call
 * brings it to the older read's token, and the two are one.  Two convoys
 * two tokens apart need two calls for that, hence two pass-overs.
 * Measured in dsmil-bench P6.
 *
 * The cost is bounded: a read is passed over at most
 * DSMIL_SMI_PASS_OVER_MAX times, so it waits at most that many calls more
 * than in order; a request of any other kind (a write, a flagged read, an
 * asynchronous read, a read nobody may join any more) is never overtaken,
 * and no read moves ahead of it.  Reordering reads that are all waiting
 * keeps each of them linearizable: every one still reaches the hardware
 * after its callers arrived and before they are answered.
 *
 * Return: the request, still on the queue.
 */
struct dsmil_smi_req *dsmil_smi_flight_pick(struct dsmil_smi *smi)
{
	struct dsmil_smi_req *req, *pick = NULL;

	lockdep_assert_held(&smi->lock);
	list_for_each_entry(req, &smi->queue, node) {
		if (req->passed_over >= DSMIL_SMI_PASS_OVER_MAX ||
		    !dsmil_smi_flight_joinable(smi, req))
			break;
		pick = req;
	}
	if (!pick)
		return list_first_entry(&smi->queue, struct dsmil_smi_req,
					node);
	list_for_each_entry(req, &smi->queue, node) {
		if (req == pick)
			break;
		req->passed_over++;
	}
	return pick;
}

/* The oldest joiner still waiting sets the orphaned request's bound. */
static void dsmil_smi_flight_rebound(struct dsmil_smi *smi,
				     struct dsmil_smi_req *req)
{
	struct dsmil_smi_waiter *first;

	lockdep_assert_held(&smi->lock);
	first = list_first_entry(&req->share->waiters, struct dsmil_smi_waiter,
				 node);
	req->start = first->start;
	req->deadline = first->deadline;
}

/**
 * dsmil_smi_flight_orphan - @req's own caller leaves it while it is queued.
 * @smi: SMI engine.
 * @req: a queued request.
 * @out: DSMIL_SMI_OUT_CANCELLED or DSMIL_SMI_OUT_QUEUE_TIMEOUT, its
 *       caller's outcome.
 *
 * Called with &dsmil_smi.lock held.  If callers joined it and still wait,
 * it stays queued for them, bounded by the oldest one's deadline: the
 * leaving caller is counted now with @out, and the request is not counted
 * for it again.
 *
 * Return: true if so (the caller returns @out's errno); false when nobody
 * joined it, and the caller takes it back as ever.
 */
bool dsmil_smi_flight_orphan(struct dsmil_smi *smi, struct dsmil_smi_req *req,
			     enum dsmil_smi_outcome out)
{
	lockdep_assert_held(&smi->lock);
	if (!req->share || list_empty(&req->share->waiters))
		return false;
	dsmil_smi_count(smi, out, ktime_to_ns(ktime_sub(ktime_get(),
							req->start)));
	smi->in_flight--;
	req->orphaned = true;
	dsmil_smi_flight_rebound(smi, req);
	return true;
}

/**
 * dsmil_smi_flight_leave - joiner @w stops waiting on @sh.
 * @smi:    SMI engine.
 * @sh:     what it joined.
 * @w:      its waiter.
 * @killed: a fatal signal ended its wait; else its deadline passed.
 * @drop:   out: an orphaned request nobody waits for any more, still
 *          queued and now taken off the queue: the caller finishes it
 *          (untouched) with @w's outcome; else NULL.
 *
 * Called with &dsmil_smi.lock held.  A joiner that leaves a queued request
 * is counted now (cancelled, or a queue timeout); one that leaves it at
 * the hardware is counted with the call's outcome when it ends, as a
 * caller that leaves its own request there is (abandoned, and in doubt
 * unless killed).
 *
 * Return: the joiner's errno: the shared result if the request finished
 * meanwhile (check &dsmil_smi_share.unsent then), else -EINTR, -ETIMEDOUT
 * (queued) or -EINPROGRESS.
 */
int dsmil_smi_flight_leave(struct dsmil_smi *smi, struct dsmil_smi_share *sh,
			   struct dsmil_smi_waiter *w, bool killed,
			   struct dsmil_smi_req **drop)
{
	struct dsmil_smi_req *req = sh->req;
	enum dsmil_smi_outcome out;

	lockdep_assert_held(&smi->lock);
	*drop = NULL;
	/* It finished as the joiner gave up: the result is there. */
	if (!req)
		return sh->result;
	list_del_init(&w->node);
	if (req->stage == DSMIL_SMI_QUEUED) {
		out = killed ? DSMIL_SMI_OUT_CANCELLED :
			       DSMIL_SMI_OUT_QUEUE_TIMEOUT;
		dsmil_smi_count(smi, out, ktime_to_ns(ktime_sub(ktime_get(),
								w->start)));
		smi->in_flight--;
		if (req->orphaned) {
			if (list_empty(&sh->waiters)) {
				/* Nobody wants it: nothing is sent. */
				list_del_init(&req->node);
				req->stage = DSMIL_SMI_RUNNING;
				dsmil_smi_flight_untrack(smi, req);
				*drop = req;
			} else {
				dsmil_smi_flight_rebound(smi, req);
			}
		}
		return killed ? -EINTR : -ETIMEDOUT;
	}
	/* At the hardware: the engine keeps it until it ends. */
	sh->gone++;
	if (!req->onstack && !req->pinned) {
		req->pinned = true;
		__module_get(THIS_MODULE);
	}
	if (killed)
		return -EINTR;
	sh->in_doubt++;
	smi->cnt.in_doubt++;
	return -EINPROGRESS;
}

/*
 * @req ended before the hardware saw it, for a reason of its own caller's:
 * its joiners, with deadlines of their own, must not inherit it.  A
 * refusal (the hand-off), a FAULTED engine or a failed submit concerns
 * every caller alike and is shared.
 */
static bool dsmil_smi_flight_unsent(const struct dsmil_smi_req *req)
{
	if (req->submitted)
		return false;
	switch (req->outcome) {
	case DSMIL_SMI_OUT_CANCELLED:
	case DSMIL_SMI_OUT_QUEUE_TIMEOUT:
	case DSMIL_SMI_OUT_BUSY:
		return true;
	default:
		return false;
	}
}

/**
 * dsmil_smi_flight_publish - @req finished: give its joiners the result.
 * @smi:   SMI engine.
 * @req:   the request, its outcome, result and value set, counted.
 * @stuck: its abort failed: the joiners still waiting are told it is in
 *         doubt, and its end is known only at the reset.
 *
 * Called with &dsmil_smi.lock held, by dsmil_smi_finish(), after
 * dsmil_smi_keep_stuck() for a stuck request.  Takes @req out of its slot
 * (so that a read arriving from now on makes its own call) and counts
 * every joiner still attached by @req's outcome, unless @req ended unsent
 * for its own caller's reason: then the joiners still waiting are not
 * counted (nor coalesced) and are told to start over
 * (&dsmil_smi_share.unsent).
 *
 * Return: the share to wake with dsmil_smi_flight_done() once the lock is
 * dropped, or NULL if nobody joined.
 */
struct dsmil_smi_share *dsmil_smi_flight_publish(struct dsmil_smi *smi,
						 struct dsmil_smi_req *req,
						 bool stuck)
{
	struct dsmil_smi_counters *c = &smi->cnt;
	struct dsmil_smi_waiter *w, *tmp;
	struct dsmil_smi_share *sh = req->share;
	int i = dsmil_smi_flight_slot(&req->cmd, req->flags);
	unsigned int waiting = 0, k;
	u64 ns;

	lockdep_assert_held(&smi->lock);
	if (i >= 0 && smi->flight[i] == req)
		smi->flight[i] = NULL;
	if (!sh)
		return NULL;
	req->share = NULL;
	sh->req = NULL;
	sh->result = stuck ? -EINPROGRESS : req->result;
	sh->value = sh->result ? 0 : req->value;
	/* A stuck request was submitted: never unsent. */
	sh->unsent = dsmil_smi_flight_unsent(req);

	list_for_each_entry_safe(w, tmp, &sh->waiters, node) {
		list_del_init(&w->node);
		/* Starting over: counted by what it does next. */
		if (!sh->unsent)
			dsmil_smi_count(smi, req->outcome,
					ktime_to_ns(ktime_sub(req->end,
							      w->start)));
		waiting++;
	}
	/*
	 * Those that left already were told their own outcome, and are
	 * counted by this one as ever.  Timed from the request's arrival:
	 * their own ends are not kept.
	 */
	ns = ktime_to_ns(ktime_sub(req->end, req->start));
	for (k = 0; k < sh->gone; k++)
		dsmil_smi_count(smi, req->outcome, ns);
	smi->in_flight -= waiting + sh->gone;
	c->coalesced += (sh->unsent ? 0 : waiting) + sh->gone;
	c->abandoned += sh->gone;

	if (stuck) {
		/* Told in doubt now; a late failure each when reset. */
		c->in_doubt += waiting;
		smi->stuck.joined_in_doubt = sh->in_doubt + waiting;
	} else if (req->outcome == DSMIL_SMI_OUT_SUCCESS) {
		c->late_successes += sh->in_doubt;
	} else {
		c->late_failures += sh->in_doubt;
	}
	return sh;
}

static void dsmil_smi_flight_release(struct kref *ref)
{
	kfree(container_of(ref, struct dsmil_smi_share, ref));
}

/**
 * dsmil_smi_flight_put - drop a reference to @sh.
 * @sh: a share; freed with the last reference.
 */
void dsmil_smi_flight_put(struct dsmil_smi_share *sh)
{
	kref_put(&sh->ref, dsmil_smi_flight_release);
}

/**
 * dsmil_smi_flight_done - wake the joiners of a published share.
 * @sh: from dsmil_smi_flight_publish(), or NULL.
 *
 * Called with no lock held; drops the request's reference.
 */
void dsmil_smi_flight_done(struct dsmil_smi_share *sh)
{
	if (!sh)
		return;
	complete_all(&sh->done);
	dsmil_smi_flight_put(sh);
}
