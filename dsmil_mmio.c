// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: chunked MMIO mapper.
 *
 * The region (mmio_base, mmio_size) is handled as DSMIL_CHUNK_SIZE chunks.
 * A chunk is mapped by the backend the first time an access touches it; at
 * most max_resident chunks are mapped at once, and when a new chunk needs a
 * slot the least recently used chunk without users is unmapped.  Chunks idle
 * for idle_ms are unmapped by delayed work.
 *
 * Locking.  An access that finds its chunk mapped takes no lock:
 *
 *   access (dsmil_mmio_chunk_get)      unmap (dsmil_mmio_detach, mm->lock)
 *   atomic_inc(&c->users)              WRITE_ONCE(c->addr, NULL)
 *   smp_mb__after_atomic()             smp_mb()
 *   addr = READ_ONCE(c->addr)          if (atomic_read(&c->users))
 *                                              put c->addr back, keep it
 *
 * Either the access sees NULL and goes to the slow path (it drops its count
 * and takes mm->lock, so it waits for the unmapper; under the lock it raises
 * the count again before it uses the chunk), or the unmapper sees the user
 * and leaves the chunk mapped: a chunk with users is never unmapped.  Everything
 * an access writes on its way (user count, hit and byte counters, last-use
 * stamp) lives in its chunk's own cache line, so accesses to different
 * chunks share nothing writable.  The LRU order is the chunks' last-use
 * stamps, compared only on the slow path.
 *
 * mm->lock (a mutex: backends sleep to map) serialises mapping, unmapping,
 * eviction and the reaper.  When the cap is reached and every resident chunk
 * has users, the access waits for a release, killably and at most
 * busy_wait_ms, then fails with -EBUSY (counted in all_busy).  No access
 * waits while it holds a chunk: a bulk read holds one at a time, a bulk
 * write takes its whole span under mm->lock or waits holding none
 * (dsmil_mmio_span_get()), and a copy from or to the user runs with page
 * faults disabled while chunks are held (a fault is taken after releasing
 * them), so that userspace cannot pin a chunk for as long as it likes.
 *
 * The hand-off.  A request is checked when it arrives and may then wait
 * (for mm->lock, a slot, a map, or the pages before it).  Each piece that
 * touches a device window (a page of a bulk transfer, a single access) is
 * checked again right before the backend sees it, under the lock every
 * state change takes (dsmil_mmio_handoff_begin()); a write stays counted
 * until the piece is written, so that an emergency stop waits for it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "dsmil_priv.h"

#define CREATE_TRACE_POINTS
#include "dsmil_mmio_trace.h"

#define DSMIL_CHUNK_SHIFT	22
#define DSMIL_CHUNK_MASK	(DSMIL_CHUNK_SIZE - 1)
static_assert(BIT_ULL(DSMIL_CHUNK_SHIFT) == DSMIL_CHUNK_SIZE);
/* Every device window lies in the first chunk, so in any valid region. */
static_assert(DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE <= DSMIL_CHUNK_SIZE);
static_assert(DSMIL_DEVS_PER_GROUP * DSMIL_WINDOW_SIZE <= DSMIL_GROUP_STRIDE);

/* Bound on the debugfs-settable busy wait. */
#define DSMIL_MMIO_BUSY_WAIT_MAX_MS	60000U
/* Bound on the debugfs-settable write delay: well under DSMIL_ESTOP_DRAIN_MS. */
#define DSMIL_MMIO_WRITE_DELAY_MAX_MS	500U
/* dsmil_mmio_span_take() keeps a bit per chunk of a span in a long. */
static_assert(DSMIL_MMIO_SPAN_MAX <= BITS_PER_LONG);

static struct dsmil *mmio_to_dsmil(struct dsmil_mmio *mm)
{
	return dsmil_from_mmio(mm);
}

/*
 * Take chunk @idx's mapping away if nobody uses it.  Returns the mapping
 * (now unreachable by lockless accesses, still mapped) or NULL if the chunk
 * has users.  See the comment at the top of the file for the pairing.
 */
static void *dsmil_mmio_detach(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	void *addr = c->addr;

	lockdep_assert_held(&mm->lock);
	WRITE_ONCE(c->addr, NULL);
	/* Order the NULL before the user check; pairs with chunk_get(). */
	smp_mb();
	if (atomic_read(&c->users)) {
		WRITE_ONCE(c->addr, addr);
		return NULL;
	}
	return addr;
}

/* Unmap a chunk dsmil_mmio_detach() took away, and account for it. */
static void dsmil_mmio_drop(struct dsmil_mmio *mm, unsigned int idx,
			    void *addr, int why)
{
	struct dsmil_chunk *c = &mm->chunks[idx];

	lockdep_assert_held(&mm->lock);
	mm->ops->unmap(mm, idx, addr);
	__clear_bit(idx, mm->resident_map);
	/* Read locklessly by dsmil_mmio_span_fits(). */
	WRITE_ONCE(mm->resident, mm->resident - 1);
	mm->unmaps++;
	trace_dsmil_mmio_unmap(idx, why, mm->resident,
			       ktime_get_ns() - atomic64_read(&c->last_used));
}

/*
 * Unmap the least recently used resident chunk that has no users, to make
 * room for chunk @wanted.  Returns 0, or -EBUSY when every resident chunk
 * is in use.
 */
static int dsmil_mmio_evict_one(struct dsmil_mmio *mm, unsigned int wanted)
{
	DECLARE_BITMAP(tried, DSMIL_MAX_CHUNKS);
	unsigned int i;

	lockdep_assert_held(&mm->lock);
	bitmap_zero(tried, DSMIL_MAX_CHUNKS);
	for (;;) {
		u64 best_t = U64_MAX;
		int best = -1;
		void *addr;

		for_each_set_bit(i, mm->resident_map, mm->num_chunks) {
			u64 t = atomic64_read(&mm->chunks[i].last_used);

			if (test_bit(i, tried) ||
			    atomic_read(&mm->chunks[i].users))
				continue;
			if (best < 0 || t < best_t) {
				best = i;
				best_t = t;
			}
		}
		if (best < 0)
			return -EBUSY;
		__set_bit(best, tried);
		/* Raced with a new user: try the next oldest. */
		addr = dsmil_mmio_detach(mm, best);
		if (!addr)
			continue;
		mm->evictions++;
		trace_dsmil_mmio_evict(best, wanted, ktime_get_ns() - best_t);
		dsmil_mmio_drop(mm, best, addr, DSMIL_UNMAP_EVICT);
		return 0;
	}
}

/*
 * Could chunks @first..@last all be held now: is there a slot (free, or a
 * resident chunk outside the span without users) for each of them that is
 * not resident?  Exact under mm->lock except for user counts, which a
 * lockless hit may raise at any time (eviction then fails and the caller
 * waits again); without the lock a hint for a waiter, which retries locked.
 */
static bool dsmil_mmio_span_fits(struct dsmil_mmio *mm, unsigned int first,
				 unsigned int last)
{
	unsigned int i, need = 0, room;

	for (i = first; i <= last; i++)
		if (!READ_ONCE(mm->chunks[i].addr))
			need++;
	room = mm->max_resident - min(READ_ONCE(mm->resident), mm->max_resident);
	if (need <= room)
		return true;
	for (i = 0; i < mm->num_chunks; i++) {
		if (i >= first && i <= last)
			continue;
		if (READ_ONCE(mm->chunks[i].addr) &&
		    !atomic_read(&mm->chunks[i].users) && ++room >= need)
			return true;
	}
	return false;
}

/*
 * No slot for chunks @first..@last: wait, holding no chunk, until one may
 * be free, until @deadline.  Returns 0 to retry, -EBUSY at the deadline
 * (counted and logged), -EINTR on a fatal signal.
 */
static int dsmil_mmio_wait_slot(struct dsmil_mmio *mm, unsigned int first,
				unsigned int last, unsigned long deadline)
{
	long left = (long)(deadline - jiffies);
	long ret = 0;

	if (left > 0) {
		atomic_inc(&mm->slot_waiters);
		/* Waiter count before the check: pairs with dsmil_mmio_unuse(). */
		smp_mb__after_atomic();
		ret = wait_event_killable_timeout(mm->slot_wq,
						  dsmil_mmio_span_fits(mm, first,
								       last),
						  left);
		atomic_dec(&mm->slot_waiters);
		if (ret < 0)
			return -EINTR;
		if (ret > 0)
			return 0;
	}
	atomic64_inc(&mm->all_busy);
	pr_warn_ratelimited("refused-access: chunk=%u reason=all-busy cap=%u wait_ms=%u pid=%d errno=%d\n",
			    first, mm->max_resident, READ_ONCE(mm->busy_wait_ms),
			    task_tgid_nr(current), -EBUSY);
	return -EBUSY;
}

/* When a wait for a slot that starts now gives up. */
static unsigned long dsmil_mmio_deadline(struct dsmil_mmio *mm)
{
	unsigned int wait_ms = min(READ_ONCE(mm->busy_wait_ms),
				   DSMIL_MMIO_BUSY_WAIT_MAX_MS);

	return jiffies + msecs_to_jiffies(wait_ms);
}

/*
 * Map chunk @idx, which is not resident, into a slot the caller made sure
 * of (resident < max_resident), and count the caller as its user.  On
 * failure *@why says which kind, for dsmil_mmio_log_map_failure(), which
 * the caller calls after dropping the lock.
 */
static void *dsmil_mmio_map_locked(struct dsmil_mmio *mm, unsigned int idx,
				   const char **why)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	u64 phys = mm->base + ((u64)idx << DSMIL_CHUNK_SHIFT);
	u64 t0 = ktime_get_ns();
	void *addr;

	lockdep_assert_held(&mm->lock);
	*why = "backend";
	if (atomic_add_unless(&mm->fail_maps, -1, 0)) {
		*why = "injected";
		addr = ERR_PTR(-EIO);
	} else {
		addr = mm->ops->map(mm, idx);
		if (!addr)
			addr = ERR_PTR(-ENOMEM);
	}
	if (IS_ERR(addr)) {
		mm->map_failures++;
		trace_dsmil_mmio_map(idx, phys, mm->resident,
				     ktime_get_ns() - t0, PTR_ERR(addr));
		return addr;
	}

	c->maps++;
	mm->maps++;
	WRITE_ONCE(mm->resident, mm->resident + 1);
	__set_bit(idx, mm->resident_map);
	__set_bit(idx, mm->ever_mapped);
	atomic64_set(&c->last_used, ktime_get_ns());
	atomic_inc(&c->users);
	/* Publish the mapping after whatever the backend set up behind it. */
	smp_store_release(&c->addr, addr);
	trace_dsmil_mmio_map(idx, phys, mm->resident, ktime_get_ns() - t0, 0);
	if (mm->idle_ms && !mm->dying)
		queue_delayed_work(system_wq, &mm->reaper,
				   msecs_to_jiffies(mm->idle_ms));
	return addr;
}

static void dsmil_mmio_log_map_failure(struct dsmil_mmio *mm, unsigned int idx,
				       const char *why, long err)
{
	pr_warn_ratelimited("map-failure: chunk=%u phys=%#llx backend=%s reason=%s errno=%ld\n",
			    idx, mm->base + ((u64)idx << DSMIL_CHUNK_SHIFT),
			    mm->backend_name, why, err);
}

/*
 * The slow path of dsmil_mmio_chunk_get(): find or make chunk @idx's
 * mapping under mm->lock and count the caller as its user.  The caller holds
 * no user count while it sleeps here, so that a thread waiting for the lock
 * or for a slot never pins a chunk someone else mapped meanwhile.
 */
static void *dsmil_mmio_map_slow(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	unsigned long deadline = dsmil_mmio_deadline(mm);
	const char *why;
	void *addr;
	int ret;

	if (mutex_lock_killable(&mm->lock))
		return ERR_PTR(-EINTR);
	for (;;) {
		addr = c->addr;
		if (addr) {
			/*
			 * Mapped by another access meanwhile.  Unmapping
			 * needs mm->lock, so the count is safe to raise here.
			 */
			atomic_inc(&c->users);
			mutex_unlock(&mm->lock);
			atomic64_inc(&c->hits);
			return addr;
		}
		if (mm->resident < mm->max_resident ||
		    !dsmil_mmio_evict_one(mm, idx))
			break;
		mutex_unlock(&mm->lock);
		ret = dsmil_mmio_wait_slot(mm, idx, idx, deadline);
		if (ret)
			return ERR_PTR(ret);
		if (mutex_lock_killable(&mm->lock))
			return ERR_PTR(-EINTR);
	}
	addr = dsmil_mmio_map_locked(mm, idx, &why);
	mutex_unlock(&mm->lock);
	if (IS_ERR(addr))
		dsmil_mmio_log_map_failure(mm, idx, why, PTR_ERR(addr));
	return addr;
}

static void dsmil_mmio_unuse(struct dsmil_mmio *mm, struct dsmil_chunk *c)
{
	/* Full barrier: pairs with dsmil_mmio_wait_slot(). */
	if (atomic_dec_and_test(&c->users) && atomic_read(&mm->slot_waiters))
		wake_up_all(&mm->slot_wq);
}

/* The lock-free hit: chunk @idx held if it is mapped, else NULL. */
static void *dsmil_mmio_chunk_hit(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	void *addr;

	atomic_inc(&c->users);
	/* Count before the check: pairs with dsmil_mmio_detach(). */
	smp_mb__after_atomic();
	addr = READ_ONCE(c->addr);
	if (likely(addr)) {
		atomic64_inc(&c->hits);
		return addr;
	}
	dsmil_mmio_unuse(mm, c);
	return NULL;
}

/**
 * dsmil_mmio_chunk_get - hold chunk @idx mapped, mapping it if needed.
 * @mm:  mapper.
 * @idx: chunk index (< mm->num_chunks).
 *
 * Lockless when the chunk is resident.  Every successful call is paired with
 * dsmil_mmio_chunk_put(); until then the chunk stays mapped.  A caller must
 * not hold another chunk while it calls this (the call may wait for a
 * slot); dsmil_mmio_span_get() takes several at once.
 *
 * Return: the chunk's mapping (for the backend's accessors), or an ERR_PTR:
 * -EBUSY (cap reached, all busy), -EINTR (fatal signal), or the map error.
 */
VISIBLE_IF_KUNIT void *dsmil_mmio_chunk_get(struct dsmil_mmio *mm,
					    unsigned int idx)
{
	void *addr = dsmil_mmio_chunk_hit(mm, idx);

	return addr ?: dsmil_mmio_map_slow(mm, idx);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_chunk_get);

/**
 * dsmil_mmio_chunk_put - release a chunk dsmil_mmio_chunk_get() returned.
 * @mm:  mapper.
 * @idx: chunk index.
 */
VISIBLE_IF_KUNIT void dsmil_mmio_chunk_put(struct dsmil_mmio *mm,
					   unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];

	atomic64_set(&c->last_used, ktime_get_ns());
	dsmil_mmio_unuse(mm, c);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_chunk_put);

/* Release chunks @first..@first + @n - 1 of a span. */
static void dsmil_mmio_span_put(struct dsmil_mmio *mm, unsigned int first,
				unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		dsmil_mmio_chunk_put(mm, first + i);
}

/*
 * Under mm->lock, with dsmil_mmio_span_fits() true: hold every chunk of the
 * span, mapping those that are not resident.  All or none: on failure the
 * chunks held so far are released.  Returns 0, -EAGAIN (a chunk counted as
 * free gained a user meanwhile: wait and retry) or the map error.
 */
static int dsmil_mmio_span_take(struct dsmil_mmio *mm, unsigned int first,
				unsigned int last, void **addrs,
				const char **why, unsigned int *failed)
{
	unsigned int i, n = last - first + 1;
	unsigned long hit = 0;
	void *addr;

	lockdep_assert_held(&mm->lock);
	/* The resident ones first, so that no eviction below picks them. */
	for (i = 0; i < n; i++) {
		addrs[i] = mm->chunks[first + i].addr;
		if (addrs[i]) {
			atomic_inc(&mm->chunks[first + i].users);
			__set_bit(i, &hit);
		}
	}
	for (i = 0; i < n; i++) {
		if (addrs[i])
			continue;
		if (mm->resident >= mm->max_resident &&
		    dsmil_mmio_evict_one(mm, first + i)) {
			addr = ERR_PTR(-EAGAIN);
			goto put_held;
		}
		addr = dsmil_mmio_map_locked(mm, first + i, why);
		if (IS_ERR(addr)) {
			*failed = first + i;
			goto put_held;
		}
		addrs[i] = addr;
	}
	for_each_set_bit(i, &hit, n)
		atomic64_inc(&mm->chunks[first + i].hits);
	return 0;

put_held:
	for (i = 0; i < n; i++)
		if (addrs[i])
			dsmil_mmio_chunk_put(mm, first + i);
	return PTR_ERR(addr);
}

/*
 * dsmil_mmio_span_get - hold chunks @first..@last (at most max_resident of
 * them) mapped, all or none.
 *
 * No hold-and-wait: when some chunk needs a slot and none is free, the
 * caller waits holding none of them (at most busy_wait_ms, killably), so
 * that two callers each holding part of what they need can never wait for
 * each other.  Lockless when the whole span is resident.
 *
 * Return: 0 with @addrs[i] the mapping of chunk @first + i, or -EBUSY,
 * -EINTR or the map error, with nothing held.
 */
static int dsmil_mmio_span_get(struct dsmil_mmio *mm, unsigned int first,
			       unsigned int last, void **addrs)
{
	unsigned long deadline;
	unsigned int i, failed = first;
	const char *why = NULL;
	int ret;

	for (i = first; i <= last; i++) {
		addrs[i - first] = dsmil_mmio_chunk_hit(mm, i);
		if (!addrs[i - first])
			break;
	}
	if (i > last)
		return 0;
	dsmil_mmio_span_put(mm, first, i - first);

	deadline = dsmil_mmio_deadline(mm);
	if (mutex_lock_killable(&mm->lock))
		return -EINTR;
	for (;;) {
		if (dsmil_mmio_span_fits(mm, first, last)) {
			ret = dsmil_mmio_span_take(mm, first, last, addrs, &why,
						   &failed);
			if (ret != -EAGAIN)
				break;
		}
		mutex_unlock(&mm->lock);
		ret = dsmil_mmio_wait_slot(mm, first, last, deadline);
		if (ret)
			return ret;
		if (mutex_lock_killable(&mm->lock))
			return -EINTR;
	}
	mutex_unlock(&mm->lock);
	if (ret)
		dsmil_mmio_log_map_failure(mm, failed, why, ret);
	return ret;
}

static void dsmil_mmio_reap(struct work_struct *work)
{
	struct dsmil_mmio *mm = container_of(to_delayed_work(work),
					     struct dsmil_mmio, reaper);
	u64 idle_ns = (u64)mm->idle_ms * NSEC_PER_MSEC;
	u64 now, next = U64_MAX;
	bool freed = false;
	unsigned int i;

	mutex_lock(&mm->lock);
	now = ktime_get_ns();
	for_each_set_bit(i, mm->resident_map, mm->num_chunks) {
		struct dsmil_chunk *c = &mm->chunks[i];
		u64 expiry = atomic64_read(&c->last_used) + idle_ns;
		void *addr;

		if (expiry <= now && !atomic_read(&c->users)) {
			addr = dsmil_mmio_detach(mm, i);
			if (addr) {
				dsmil_mmio_drop(mm, i, addr, DSMIL_UNMAP_IDLE);
				freed = true;
				continue;
			}
		}
		/* In use now: it is idle a full period after its release. */
		if (expiry <= now)
			expiry = now + idle_ns;
		next = min(next, expiry);
	}
	if (next != U64_MAX && !mm->dying)
		queue_delayed_work(system_wq, &mm->reaper,
				   nsecs_to_jiffies(next - now) + 1);
	mutex_unlock(&mm->lock);
	if (freed && atomic_read(&mm->slot_waiters))
		wake_up_all(&mm->slot_wq);
}

/* The mapper's refused-access line; @device is -1 when none is involved. */
static void dsmil_mmio_log_refusal(struct dsmil_mmio *mm, const char *op,
				   u64 offset, u64 len, int device,
				   const char *why, int err)
{
	char dev[24] = "";

	if (device >= 0 && device < DSMIL_NUM_DEVICES)
		snprintf(dev, sizeof(dev), " dev=DSMIL%uD%X",
			 device / DSMIL_DEVS_PER_GROUP,
			 device % DSMIL_DEVS_PER_GROUP);
	pr_warn_ratelimited("refused-access: op=%s%s offset=%#llx len=%llu size=%#llx reason=%s pid=%d errno=%d\n",
			    op, dev, offset, len, mm->size, why,
			    task_tgid_nr(current), err);
}

/* Refusal bookkeeping: counter, the driver-wide reason counter, one line. */
static int dsmil_mmio_refuse(struct dsmil_mmio *mm, const char *op,
			     u64 offset, u64 len, u32 flags, u16 device,
			     const char *why, int err)
{
	atomic64_inc(&mm->refused);
	dsmil_count_refusal(mmio_to_dsmil(mm), DSMIL_REASON_BAD_ARG);
	dsmil_mmio_log_refusal(mm, op, offset, len,
			       (flags & DSMIL_MMIO_F_DEVICE) ? device : -1,
			       why, err);
	return err;
}

/**
 * dsmil_mmio_check_range - where in the region would an access land?
 * @mm:     mapper.
 * @offset: offset in the region, or in the device window.
 * @len:    bytes (non-zero).
 * @flags:  DSMIL_MMIO_F_*.
 * @device: device id with DSMIL_MMIO_F_DEVICE, else 0.
 * @pos:    out: offset of the first byte in the region.
 * @why:    out: on refusal, a word saying why (for the log line).
 *
 * Checks the whole range with overflow-safe arithmetic; does not count or
 * log (the callers do).
 *
 * Return: 0, -EINVAL (bad flag, device id or length) or -ERANGE.
 */
VISIBLE_IF_KUNIT int dsmil_mmio_check_range(struct dsmil_mmio *mm, u64 offset,
					    u64 len, u32 flags, u16 device,
					    u64 *pos, const char **why)
{
	u64 end, base = 0, limit = mm->size;

	if (flags & ~DSMIL_MMIO_F_DEVICE) {
		*why = "flags";
		return -EINVAL;
	}
	if (flags & DSMIL_MMIO_F_DEVICE) {
		if (device >= DSMIL_NUM_DEVICES) {
			*why = "device-id";
			return -EINVAL;
		}
		base = (device / DSMIL_DEVS_PER_GROUP) * DSMIL_GROUP_STRIDE +
		       (device % DSMIL_DEVS_PER_GROUP) * DSMIL_WINDOW_SIZE;
		limit = DSMIL_WINDOW_SIZE;
	} else if (device) {
		*why = "device-without-flag";
		return -EINVAL;
	}
	if (!len) {
		*why = "length";
		return -EINVAL;
	}
	if (check_add_overflow(offset, len, &end) || end > limit) {
		*why = "range";
		return -ERANGE;
	}
	*pos = base + offset;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_check_range);

/*
 * Every device window a raw write would touch must be open for writing, as
 * if the write were device-scoped: the windows are part of the region, and a
 * raw write is no way around the state machine (a quarantined, LOCKED or
 * OFFLINE device's window is never written).  Checked window by window in
 * address order, before anything is mapped; the first refusal wins.  The
 * state machine counts the refusal under its reason and logs the device;
 * the mapper's line adds the raw range that hit the window.
 */
static int dsmil_mmio_check_windows(struct dsmil_mmio *mm, const char *op,
				    u64 offset, u64 len, u64 pos)
{
	struct dsmil_state *st = &mmio_to_dsmil(mm)->state;
	u64 end = pos + len;	/* within the region: no overflow */
	unsigned int g, i;
	int ret;

	if (pos >= DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE)
		return 0;
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		u64 gbase = g * DSMIL_GROUP_STRIDE;

		if (gbase >= end)
			break;
		for (i = 0; i < DSMIL_DEVS_PER_GROUP; i++) {
			u64 wbase = gbase + i * DSMIL_WINDOW_SIZE;
			unsigned int id = g * DSMIL_DEVS_PER_GROUP + i;

			if (wbase >= end)
				break;
			if (wbase + DSMIL_WINDOW_SIZE <= pos)
				continue;
			ret = dsmil_state_check_access(st, id, true);
			if (!ret)
				continue;
			atomic64_inc(&mm->refused);
			dsmil_mmio_log_refusal(mm, op, offset, len, id,
					       ret == -EPERM ? "quarantined" :
					       "window-state", ret);
			return ret;
		}
	}
	return 0;
}

/*
 * A device-scoped access must pass the state machine (it counts and logs);
 * so must a raw write for every device window it touches.
 */
static int dsmil_mmio_check_device(struct dsmil_mmio *mm, const char *op,
				   u64 offset, u64 len, u32 flags, u16 device,
				   bool write, u64 pos)
{
	int ret;

	if (!(flags & DSMIL_MMIO_F_DEVICE))
		return write ? dsmil_mmio_check_windows(mm, op, offset, len,
							pos) : 0;
	ret = dsmil_state_check_access(&mmio_to_dsmil(mm)->state, device,
				       write);
	if (ret)
		atomic64_inc(&mm->refused);
	return ret;
}

static int dsmil_mmio_rw_prepare(struct dsmil_mmio *mm,
				 const struct dsmil_mmio_rw *rw, bool write,
				 u64 *pos)
{
	const char *op = write ? "write" : "read";
	const char *why;
	int ret;

	if (rw->width > 8 || !is_power_of_2(rw->width))
		return dsmil_mmio_refuse(mm, op, rw->offset, rw->width,
					 rw->flags, rw->device, "width",
					 -EINVAL);
	if (rw->offset & (rw->width - 1))
		return dsmil_mmio_refuse(mm, op, rw->offset, rw->width,
					 rw->flags, rw->device, "misaligned",
					 -EINVAL);
	ret = dsmil_mmio_check_range(mm, rw->offset, rw->width, rw->flags,
				     rw->device, pos, &why);
	if (ret)
		return dsmil_mmio_refuse(mm, op, rw->offset, rw->width,
					 rw->flags, rw->device, why, ret);
	return dsmil_mmio_check_device(mm, op, rw->offset, rw->width,
				       rw->flags, rw->device, write, *pos);
}

/*
 * Device windows, by region offset: 4 KiB slots, DSMIL_SLOTS slots per
 * group; slot i < DSMIL_DEVS_PER_GROUP of group g is device g * 12 + i's
 * window, the others are the gap before the next group.
 */
#define DSMIL_WINDOWS_END	(DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE)
#define DSMIL_SLOTS		(DSMIL_GROUP_STRIDE / DSMIL_WINDOW_SIZE)
#define DSMIL_WINDOW_SHIFT	12
static_assert(BIT_ULL(DSMIL_WINDOW_SHIFT) == DSMIL_WINDOW_SIZE);

/* The device whose window holds region offset @pos, or -1. */
static int dsmil_mmio_window_dev(u64 pos)
{
	unsigned int slot;

	if (pos >= DSMIL_WINDOWS_END)
		return -1;
	slot = pos >> DSMIL_WINDOW_SHIFT;
	if (slot % DSMIL_SLOTS >= DSMIL_DEVS_PER_GROUP)
		return -1;
	return slot / DSMIL_SLOTS * DSMIL_DEVS_PER_GROUP + slot % DSMIL_SLOTS;
}

/* Does [@pos, @pos + @n) touch a device window? */
static bool dsmil_mmio_in_windows(u64 pos, u64 n)
{
	u64 w, end = min_t(u64, pos + n, DSMIL_WINDOWS_END);

	for (w = round_down(pos, DSMIL_WINDOW_SIZE); w < end;
	     w += DSMIL_WINDOW_SIZE)
		if (dsmil_mmio_window_dev(w) >= 0)
			return true;
	return false;
}

/* End the hand-offs of the windows whose slots start in [@from, @to). */
static void dsmil_mmio_end_windows(struct dsmil_mmio *mm, u64 from, u64 to,
				   bool write)
{
	struct dsmil_state *st = &mmio_to_dsmil(mm)->state;
	int id;

	for (; from < to; from += DSMIL_WINDOW_SIZE) {
		id = dsmil_mmio_window_dev(from);
		if (id >= 0)
			dsmil_state_handoff_end(st, id, write);
	}
}

/*
 * The hand-off for every device window [@pos, @pos + @n) touches, right
 * before the backend is called: the device's state is checked again under
 * the lock every state change takes (dsmil_state_handoff_begin()), and a
 * write is counted until dsmil_mmio_handoff_end(), so that an emergency
 * stop waits for it and nothing is written after the stop returned.  A
 * write that touches no window has no device to check, but allow_writes
 * and lockdown hold for it all the same: it asks the write policy alone
 * (and logs a refusal itself, since no device's line covers it).  All or
 * none: on refusal (counted in @refused; the state machine counts and logs
 * a device's reason) nothing is held.
 */
static int dsmil_mmio_handoff_begin(struct dsmil_mmio *mm, const char *op,
				    u64 pos, size_t n, bool write)
{
	struct dsmil_state *st = &mmio_to_dsmil(mm)->state;
	u64 w, start = round_down(pos, DSMIL_WINDOW_SIZE);
	u64 end = min_t(u64, pos + n, DSMIL_WINDOWS_END);
	bool any = false;
	int id, ret;

	for (w = start; w < end; w += DSMIL_WINDOW_SIZE) {
		id = dsmil_mmio_window_dev(w);
		if (id < 0)
			continue;
		any = true;
		ret = dsmil_state_handoff_begin(st, id, write);
		if (ret) {
			atomic64_inc(&mm->refused);
			dsmil_mmio_end_windows(mm, start, w, write);
			return ret;
		}
	}
	if (!write || any)
		return 0;
	ret = dsmil_state_write_policy(st);
	if (ret) {
		atomic64_inc(&mm->refused);
		dsmil_mmio_log_refusal(mm, op, pos, n, -1, "policy", ret);
	}
	return ret;
}

static void dsmil_mmio_handoff_end(struct dsmil_mmio *mm, u64 pos, size_t n,
				   bool write)
{
	if (pos < DSMIL_WINDOWS_END)
		dsmil_mmio_end_windows(mm, round_down(pos, DSMIL_WINDOW_SIZE),
				       min_t(u64, pos + n, DSMIL_WINDOWS_END),
				       write);
}

/*
 * Test knob (debugfs write_delay_ms): every write piece (a page of a bulk
 * write, or a single write) stays this long at the "hardware", inside its
 * hand-off, as a slow device would; the tests of an emergency stop against
 * a write in flight use it.  At most DSMIL_MMIO_WRITE_DELAY_MAX_MS, well
 * under the time a stop waits for writes in flight.
 */
static void dsmil_mmio_write_delay(struct dsmil_mmio *mm)
{
	unsigned int ms = READ_ONCE(mm->write_delay_ms);

	if (unlikely(ms))
		msleep(min(ms, DSMIL_MMIO_WRITE_DELAY_MAX_MS));
}

/*
 * Inside device windows every access has the registers' width (32 bits,
 * Documentation/dsmil-mmio.rst), naturally aligned; bytes before the first
 * and after the last aligned register are accessed one at a time.  The
 * block accessors (memcpy_fromio() and memcpy_toio(), or the direct read)
 * choose their own widths, 64 bits on some architectures and paths.
 */
#define DSMIL_REG_WIDTH		4

static void dsmil_mmio_regs_read(struct dsmil_mmio *mm, u8 *dst,
				 const void *addr, size_t n)
{
	size_t i = 0;

	for (; i < n && !IS_ALIGNED((unsigned long)addr + i, DSMIL_REG_WIDTH);
	     i++)
		dst[i] = mm->ops->read(mm, addr + i, 1);
	for (; n - i >= DSMIL_REG_WIDTH; i += DSMIL_REG_WIDTH) {
		u32 v = mm->ops->read(mm, addr + i, DSMIL_REG_WIDTH);

		memcpy(dst + i, &v, DSMIL_REG_WIDTH);
	}
	for (; i < n; i++)
		dst[i] = mm->ops->read(mm, addr + i, 1);
}

static void dsmil_mmio_regs_write(struct dsmil_mmio *mm, void *addr,
				  const u8 *src, size_t n)
{
	size_t i = 0;

	for (; i < n && !IS_ALIGNED((unsigned long)addr + i, DSMIL_REG_WIDTH);
	     i++)
		mm->ops->write(mm, addr + i, 1, src[i]);
	for (; n - i >= DSMIL_REG_WIDTH; i += DSMIL_REG_WIDTH) {
		u32 v;

		memcpy(&v, src + i, DSMIL_REG_WIDTH);
		mm->ops->write(mm, addr + i, DSMIL_REG_WIDTH, v);
	}
	for (; i < n; i++)
		mm->ops->write(mm, addr + i, 1, src[i]);
}

/* One piece (within a page) at region offset @pos, mapped at @addr. */
static void dsmil_mmio_read_piece(struct dsmil_mmio *mm, void *dst,
				  const void *addr, u64 pos, size_t n)
{
	if (dsmil_mmio_in_windows(pos, n))
		dsmil_mmio_regs_read(mm, dst, addr, n);
	else
		mm->ops->read_block(mm, dst, addr, n);
}

static void dsmil_mmio_write_piece(struct dsmil_mmio *mm, void *addr,
				   const void *src, u64 pos, size_t n)
{
	if (dsmil_mmio_in_windows(pos, n))
		dsmil_mmio_regs_write(mm, addr, src, n);
	else
		mm->ops->write_block(mm, addr, src, n);
}

/**
 * dsmil_mmio_read - one naturally aligned read of 1, 2, 4 or 8 bytes.
 * @mm: mapper.
 * @rw: the request (DSMIL_IOC_MMIO_READ); @rw->value receives the result.
 *
 * A device-scoped read passes the read hand-off right before the backend
 * reads (raw reads are not restricted).
 *
 * Return: 0 or a negative errno as documented for DSMIL_IOC_MMIO_READ.
 */
VISIBLE_IF_KUNIT int dsmil_mmio_read(struct dsmil_mmio *mm,
				     struct dsmil_mmio_rw *rw)
{
	bool fenced = rw->flags & DSMIL_MMIO_F_DEVICE;
	unsigned int idx;
	void *addr;
	u64 pos;
	int ret;

	ret = dsmil_mmio_rw_prepare(mm, rw, false, &pos);
	if (ret)
		return ret;
	idx = pos >> DSMIL_CHUNK_SHIFT;
	addr = dsmil_mmio_chunk_get(mm, idx);
	if (IS_ERR(addr))
		return PTR_ERR(addr);
	if (fenced) {
		ret = dsmil_mmio_handoff_begin(mm, "read", pos, rw->width, false);
		if (ret)
			goto put_chunk;
	}
	rw->value = mm->ops->read(mm, addr + (pos & DSMIL_CHUNK_MASK),
				  rw->width);
	atomic64_add(rw->width, &mm->chunks[idx].bytes_read);
	if (fenced)
		dsmil_mmio_handoff_end(mm, pos, rw->width, false);
put_chunk:
	dsmil_mmio_chunk_put(mm, idx);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_read);

/**
 * dsmil_mmio_write - one naturally aligned write of 1, 2, 4 or 8 bytes.
 * @mm: mapper.
 * @rw: the request (DSMIL_IOC_MMIO_WRITE); the low @rw->width bytes of
 *      @rw->value are written.
 *
 * Nothing is written unless every check passed, the chunk is mapped and,
 * for a write into a device window (device-scoped or raw), the hand-off
 * right before the backend still allows it.
 *
 * Return: 0 or a negative errno as documented for DSMIL_IOC_MMIO_WRITE.
 */
VISIBLE_IF_KUNIT int dsmil_mmio_write(struct dsmil_mmio *mm,
				      struct dsmil_mmio_rw *rw)
{
	unsigned int idx;
	void *addr;
	u64 pos;
	int ret;

	ret = dsmil_mmio_rw_prepare(mm, rw, true, &pos);
	if (ret)
		return ret;
	idx = pos >> DSMIL_CHUNK_SHIFT;
	addr = dsmil_mmio_chunk_get(mm, idx);
	if (IS_ERR(addr))
		return PTR_ERR(addr);
	ret = dsmil_mmio_handoff_begin(mm, "write", pos, rw->width, true);
	if (!ret) {
		mm->ops->write(mm, addr + (pos & DSMIL_CHUNK_MASK), rw->width,
			       rw->value);
		atomic64_add(rw->width, &mm->chunks[idx].bytes_written);
		dsmil_mmio_write_delay(mm);
		dsmil_mmio_handoff_end(mm, pos, rw->width, true);
	}
	dsmil_mmio_chunk_put(mm, idx);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_write);

static int dsmil_mmio_bulk_prepare(struct dsmil_mmio *mm,
				   const struct dsmil_mmio_bulk *b, bool write,
				   size_t avail, u64 *pos)
{
	const char *op = write ? "bulk-write" : "bulk-read";
	const char *why;
	int ret;

	if (!b->length || b->length > DSMIL_BULK_MAX || b->length > avail)
		return dsmil_mmio_refuse(mm, op, b->offset, b->length,
					 b->flags, b->device, "length",
					 -EINVAL);
	ret = dsmil_mmio_check_range(mm, b->offset, b->length, b->flags,
				     b->device, pos, &why);
	if (ret)
		return dsmil_mmio_refuse(mm, op, b->offset, b->length,
					 b->flags, b->device, why, ret);
	return dsmil_mmio_check_device(mm, op, b->offset, b->length, b->flags,
				       b->device, write, *pos);
}

/* Bytes from @pos to the end of its page, of its chunk and of the copy. */
static size_t dsmil_mmio_piece(u64 pos, u64 end)
{
	return min_t(u64, end - pos, PAGE_SIZE - offset_in_page(pos));
}

/*
 * A direct write (->write_user) past the device windows needs no hand-off
 * and no bounce page, so it goes in pieces of up to 64 KiB (never across a
 * chunk): fewer calls per byte, and still short enough for cond_resched()
 * between them.  Below the end of the windows, page by page.
 */
#define DSMIL_MMIO_DIRECT_PIECE	SZ_64K
static_assert(DSMIL_CHUNK_SIZE % DSMIL_MMIO_DIRECT_PIECE == 0);

static size_t dsmil_mmio_direct_piece(u64 pos, u64 end)
{
	if (pos < DSMIL_WINDOWS_END)
		return dsmil_mmio_piece(pos, end);
	return min_t(u64, end - pos, DSMIL_MMIO_DIRECT_PIECE -
		     (pos & (DSMIL_MMIO_DIRECT_PIECE - 1)));
}

/*
 * Whether a bulk read may go straight from the mapping into @to: a user
 * buffer (the ioctl's ITER_UBUF), a backend that can, and a raw-region read.
 * Pieces inside device windows need ->read_user_regs (->read_user makes
 * 64-bit reads), or take the bounce page and register-width reads.
 */
static bool dsmil_mmio_direct(const struct dsmil_mmio *mm,
			      const struct dsmil_mmio_bulk *b,
			      const struct iov_iter *to)
{
	return mm->ops->read_user && iter_is_ubuf(to) &&
	       !(b->flags & DSMIL_MMIO_F_DEVICE);
}

/*
 * One piece straight into the user buffer of @to (ITER_UBUF), without
 * taking a page fault: the caller holds a chunk, and a fault may wait for
 * as long as userspace wants (userfaultfd).  All or nothing: returns true
 * and advances @to if the whole piece landed.
 */
static bool dsmil_mmio_read_direct(struct dsmil_mmio *mm, const void *src,
				   size_t n, struct iov_iter *to, bool regs)
{
	void __user *dst = to->ubuf + to->iov_offset;
	size_t left;

	pagefault_disable();
	if (regs)
		left = mm->ops->read_user_regs(mm, dst, src, n);
	else
		left = mm->ops->read_user(mm, dst, src, n);
	pagefault_enable();
	if (left)
		return false;
	iov_iter_advance(to, n);
	return true;
}

/* copy_to_iter()/copy_from_iter() that fail short instead of faulting. */
static size_t dsmil_mmio_copy_to_nofault(const void *src, size_t n,
					 struct iov_iter *to)
{
	size_t got;

	pagefault_disable();
	got = copy_to_iter(src, n, to);
	pagefault_enable();
	return got;
}

VISIBLE_IF_KUNIT size_t dsmil_mmio_copy_from_nofault(void *dst, size_t n,
						     struct iov_iter *from)
{
	size_t got;

	/* KUnit makes this fail short, as a source page reclaimed would. */
	KUNIT_STATIC_STUB_REDIRECT(dsmil_mmio_copy_from_nofault, dst, n, from);
	pagefault_disable();
	got = copy_from_iter(dst, n, from);
	pagefault_enable();
	return got;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_copy_from_nofault);

/*
 * The rest of a piece whose source faulted, copied taking the fault; called
 * holding no chunk, so the chunks may be evicted meanwhile (KUnit evicts
 * them here).
 */
VISIBLE_IF_KUNIT size_t dsmil_mmio_copy_from_faulting(void *dst, size_t n,
						      struct iov_iter *from)
{
	KUNIT_STATIC_STUB_REDIRECT(dsmil_mmio_copy_from_faulting, dst, n, from);
	return copy_from_iter(dst, n, from);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_copy_from_faulting);

/*
 * One piece straight from the user buffer of @from (ITER_UBUF) into the
 * mapping, as dsmil_mmio_read_direct() does the other way, without taking
 * a page fault.  Returns the bytes that landed (all of @n unless the
 * source faulted), and advances @from past them: what reached the
 * hardware is counted as done even when the rest of the piece never comes.
 */
static size_t dsmil_mmio_write_direct(struct dsmil_mmio *mm, void *dst,
				      size_t n, struct iov_iter *from)
{
	size_t left;

	pagefault_disable();
	left = mm->ops->write_user(mm, dst, from->ubuf + from->iov_offset, n);
	pagefault_enable();
	if (WARN_ON_ONCE(left > n))
		left = n;
	iov_iter_advance(from, n - left);
	return n - left;
}

/**
 * dsmil_mmio_bulk_read - copy up to DSMIL_BULK_MAX bytes out of the region.
 * @mm: mapper.
 * @b:  the request; @b->done receives the bytes copied.
 * @to: destination (the user buffer, or a kernel buffer in tests), at least
 *      @b->length bytes.
 *
 * Copies page by page, holding one chunk at a time, and stops at a fatal
 * signal with @b->done telling how far it got.  A raw-region read into a
 * user buffer is filled straight from the mapping when the backend has
 * ->read_user (the ioctl's case on real hardware); inside device windows
 * with ->read_user_regs, at the registers' width.  Everything else goes
 * through a bounce page (as drivers/char/mem.c does), window bytes read
 * register by register.  A
 * device-scoped read passes the read hand-off for every page.  The copy to
 * the user never takes a page fault while a chunk is held: a fault is
 * taken after the chunk is released, so that a fault userspace stalls
 * (userfaultfd) pins nothing.
 *
 * Return: 0 (also when a fatal signal stopped the copy after the first
 * byte), or a negative errno as documented for DSMIL_IOC_MMIO_BULK_READ.
 */
VISIBLE_IF_KUNIT int dsmil_mmio_bulk_read(struct dsmil_mmio *mm,
					  struct dsmil_mmio_bulk *b,
					  struct iov_iter *to)
{
	bool direct, regs, fenced = b->flags & DSMIL_MMIO_F_DEVICE;
	unsigned int idx, cur = UINT_MAX;
	void *bounce = NULL, *addr = NULL, *src;
	u64 pos, end;
	size_t n, got;
	int ret;

	b->done = 0;
	ret = dsmil_mmio_bulk_prepare(mm, b, false, iov_iter_count(to), &pos);
	if (ret)
		return ret;
	end = pos + b->length;
	direct = dsmil_mmio_direct(mm, b, to);
	if (!direct || (!mm->ops->read_user_regs &&
			dsmil_mmio_in_windows(pos, b->length))) {
		bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
	}

	while (pos < end) {
		n = dsmil_mmio_piece(pos, end);
		if (fatal_signal_pending(current)) {
			ret = b->done ? 0 : -EINTR;
			break;
		}
		idx = pos >> DSMIL_CHUNK_SHIFT;
		regs = dsmil_mmio_in_windows(pos, n);
		if (direct && regs && mm->ops->read_user_regs) {
			/*
			 * A register read is not repeatable (it may clear
			 * what it reads): fault the destination in first,
			 * holding no chunk, so that the read below does not
			 * fail on a fresh page and read the registers twice.
			 * (A page reclaimed in between still can; rare.)
			 */
			if (cur != UINT_MAX)
				dsmil_mmio_chunk_put(mm, cur);
			cur = UINT_MAX;
			if (fault_in_iov_iter_writeable(to, n)) {
				ret = -EFAULT;
				break;
			}
		}
		if (idx != cur) {
			if (cur != UINT_MAX)
				dsmil_mmio_chunk_put(mm, cur);
			cur = UINT_MAX;
			addr = dsmil_mmio_chunk_get(mm, idx);
			if (IS_ERR(addr)) {
				ret = PTR_ERR(addr);
				/* A fatal signal past the first byte: a short read. */
				if (ret == -EINTR && b->done)
					ret = 0;
				break;
			}
			cur = idx;
		}
		src = addr + (pos & DSMIL_CHUNK_MASK);
		if (direct && (!regs || mm->ops->read_user_regs)) {
			if (!dsmil_mmio_read_direct(mm, src, n, to, regs)) {
				/* The user buffer faulted: fault it in unpinned. */
				dsmil_mmio_chunk_put(mm, cur);
				cur = UINT_MAX;
				if (fault_in_iov_iter_writeable(to, n)) {
					ret = -EFAULT;
					break;
				}
				continue;	/* and read the piece again */
			}
		} else {
			if (fenced) {
				ret = dsmil_mmio_handoff_begin(mm, "bulk-read",
							       pos, n, false);
				if (ret)
					break;
			}
			dsmil_mmio_read_piece(mm, bounce, src, pos, n);
			if (fenced)
				dsmil_mmio_handoff_end(mm, pos, n, false);
			got = dsmil_mmio_copy_to_nofault(bounce, n, to);
			if (got != n) {
				/* Take the fault holding no chunk. */
				dsmil_mmio_chunk_put(mm, cur);
				cur = UINT_MAX;
				if (copy_to_iter(bounce + got, n - got, to) !=
				    n - got) {
					ret = -EFAULT;
					break;
				}
			}
		}
		atomic64_add(n, &mm->chunks[idx].bytes_read);
		pos += n;
		b->done += n;
		cond_resched();
	}
	if (cur != UINT_MAX)
		dsmil_mmio_chunk_put(mm, cur);
	kfree(bounce);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_bulk_read);

/**
 * dsmil_mmio_bulk_write - copy up to DSMIL_BULK_MAX bytes into the region.
 * @mm:   mapper.
 * @b:    the request; @b->done receives the bytes written.
 * @from: source (the user buffer, or a kernel buffer in tests), at least
 *        @b->length bytes.
 *
 * A raw-region piece from a user buffer goes straight into the mapping when
 * the backend has ->write_user (the iomem backend), outside device windows.
 * Before the first byte: the range is checked, the source faulted in, and
 * every chunk the range touches mapped and held, all together or none
 * (dsmil_mmio_span_get(): no chunk is held while waiting for another), so
 * that a refusal, a map failure or -EBUSY writes nothing; a fatal signal is
 * honoured only then.  Then page by page: the source page is copied into a
 * bounce page without taking a fault (a fault is taken with every chunk
 * released, then the chunks are taken again), and each page that touches a
 * device window passes the write hand-off right before it reaches the
 * backend (registers at their own width).  Partial writes: a window
 * refused at the hand-off (an emergency stop, the device leaving ACTIVE,
 * allow_writes cleared or lockdown raised meanwhile) stops the write at
 * that page with the hand-off's errno; a source buffer that becomes
 * unreadable (-EFAULT), or chunks that cannot be taken again after a fault,
 * stop it too.  @b->done then counts the bytes that landed, a prefix of the
 * range.
 *
 * Return: 0 or a negative errno as documented for DSMIL_IOC_MMIO_BULK_WRITE.
 */
VISIBLE_IF_KUNIT int dsmil_mmio_bulk_write(struct dsmil_mmio *mm,
					   struct dsmil_mmio_bulk *b,
					   struct iov_iter *from)
{
	void *addrs[DSMIL_MMIO_SPAN_MAX];
	unsigned int first, last, idx;
	bool direct, held = false;
	void *bounce, *dst;
	size_t n, got;
	u64 pos, end;
	int ret;

	b->done = 0;
	ret = dsmil_mmio_bulk_prepare(mm, b, true, iov_iter_count(from), &pos);
	if (ret)
		return ret;
	end = pos + b->length;
	first = pos >> DSMIL_CHUNK_SHIFT;
	last = (end - 1) >> DSMIL_CHUNK_SHIFT;
	if (last - first + 1 > mm->max_resident)
		return dsmil_mmio_refuse(mm, "bulk-write", b->offset, b->length,
					 b->flags, b->device, "span-over-cap",
					 -E2BIG);
	if (fault_in_iov_iter_readable(from, b->length))
		return dsmil_mmio_refuse(mm, "bulk-write", b->offset, b->length,
					 b->flags, b->device, "fault",
					 -EFAULT);
	if (fatal_signal_pending(current))
		return -EINTR;
	direct = mm->ops->write_user && iter_is_ubuf(from);
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	ret = dsmil_mmio_span_get(mm, first, last, addrs);
	if (ret)
		goto free_bounce;
	held = true;
	while (pos < end) {
		n = direct ? dsmil_mmio_direct_piece(pos, end) :
			     dsmil_mmio_piece(pos, end);
		idx = pos >> DSMIL_CHUNK_SHIFT;
		if (direct && !dsmil_mmio_in_windows(pos, n)) {
			ret = dsmil_mmio_handoff_begin(mm, "bulk-write", pos, n, true);
			if (ret)
				break;
			dst = addrs[idx - first] + (pos & DSMIL_CHUNK_MASK);
			got = dsmil_mmio_write_direct(mm, dst, n, from);
			atomic64_add(got, &mm->chunks[idx].bytes_written);
			dsmil_mmio_write_delay(mm);
			dsmil_mmio_handoff_end(mm, pos, n, true);
			pos += got;
			b->done += got;
			if (got != n) {
				/*
				 * The source faulted: fault the rest in
				 * holding no chunk, and take the span again
				 * (its mappings may be new ones).
				 */
				dsmil_mmio_span_put(mm, first, last - first + 1);
				held = false;
				if (fault_in_iov_iter_readable(from, n - got)) {
					ret = -EFAULT;
					break;
				}
				ret = dsmil_mmio_span_get(mm, first, last, addrs);
				if (ret)
					break;
				held = true;
			}
			cond_resched();
			continue;
		}
		got = dsmil_mmio_copy_from_nofault(bounce, n, from);
		if (got != n) {
			/* Take the source's fault holding no chunk. */
			dsmil_mmio_span_put(mm, first, last - first + 1);
			held = false;
			if (dsmil_mmio_copy_from_faulting(bounce + got, n - got,
							  from) != n - got) {
				ret = -EFAULT;
				break;
			}
			ret = dsmil_mmio_span_get(mm, first, last, addrs);
			if (ret)
				break;
			held = true;
		}
		ret = dsmil_mmio_handoff_begin(mm, "bulk-write", pos, n, true);
		if (ret)
			break;
		/*
		 * Here, not before the copy: a fault above released the span,
		 * and an eviction meanwhile may have given the chunk a new
		 * mapping; the old address is unmapped.
		 */
		dst = addrs[idx - first] + (pos & DSMIL_CHUNK_MASK);
		dsmil_mmio_write_piece(mm, dst, bounce, pos, n);
		atomic64_add(n, &mm->chunks[idx].bytes_written);
		dsmil_mmio_write_delay(mm);
		dsmil_mmio_handoff_end(mm, pos, n, true);
		pos += n;
		b->done += n;
		cond_resched();
	}
	if (held)
		dsmil_mmio_span_put(mm, first, last - first + 1);
free_bounce:
	kfree(bounce);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_bulk_write);

static size_t dsmil_mmio_bookkeeping(const struct dsmil_mmio *mm)
{
	return sizeof(*mm) + (size_t)mm->num_chunks * sizeof(*mm->chunks);
}

/**
 * dsmil_mmio_fill_status - snapshot of the mapper for DSMIL_IOC_MMIO_STATUS.
 * @mm:    mapper.
 * @st:    filled in, except @st->chunk_buf and @st->chunk_count.
 * @cs:    array of @count per-chunk entries to fill, or NULL.
 * @count: entries @cs holds.
 *
 * Return: entries written to @cs, or -EINTR (fatal signal while waiting for
 * the mapper's lock).
 */
VISIBLE_IF_KUNIT int dsmil_mmio_fill_status(struct dsmil_mmio *mm,
					    struct dsmil_mmio_status *st,
					    struct dsmil_chunk_stat *cs,
					    unsigned int count)
{
	u64 now = ktime_get_ns();
	unsigned int i, n = cs ? min(count, mm->num_chunks) : 0;

	st->region_base = mm->base;
	st->region_size = mm->size;
	st->chunk_size = DSMIL_CHUNK_SIZE;
	st->num_chunks = mm->num_chunks;
	st->max_resident = mm->max_resident;
	st->idle_ms = mm->idle_ms;
	st->busy_wait_ms = READ_ONCE(mm->busy_wait_ms);
	st->bookkeeping = dsmil_mmio_bookkeeping(mm);
	st->all_busy = atomic64_read(&mm->all_busy);
	st->refused = atomic64_read(&mm->refused);
	st->hits = 0;
	st->bytes_read = 0;
	st->bytes_written = 0;
	for (i = 0; i < mm->num_chunks; i++) {
		st->hits += atomic64_read(&mm->chunks[i].hits);
		st->bytes_read += atomic64_read(&mm->chunks[i].bytes_read);
		st->bytes_written +=
			atomic64_read(&mm->chunks[i].bytes_written);
	}

	/* Residency and the map counters as one consistent picture. */
	if (mutex_lock_killable(&mm->lock))
		return -EINTR;
	st->resident = mm->resident;
	bitmap_to_arr64(st->resident_map, mm->resident_map, DSMIL_MAX_CHUNKS);
	bitmap_to_arr64(st->ever_mapped, mm->ever_mapped, DSMIL_MAX_CHUNKS);
	st->maps = mm->maps;
	st->unmaps = mm->unmaps;
	st->evictions = mm->evictions;
	st->map_failures = mm->map_failures;
	for (i = 0; i < n; i++) {
		struct dsmil_chunk *c = &mm->chunks[i];
		u64 last = atomic64_read(&c->last_used);

		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].index = i;
		cs[i].users = atomic_read(&c->users);
		cs[i].resident = test_bit(i, mm->resident_map);
		cs[i].ever_mapped = test_bit(i, mm->ever_mapped);
		cs[i].maps = c->maps;
		cs[i].hits = atomic64_read(&c->hits);
		cs[i].idle_ms = last && now > last ?
				div_u64(now - last, NSEC_PER_MSEC) : 0;
		cs[i].bytes_read = atomic64_read(&c->bytes_read);
		cs[i].bytes_written = atomic64_read(&c->bytes_written);
	}
	mutex_unlock(&mm->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_fill_status);

/* ioctl handlers: the dispatcher has checked size, reserved fields, policy. */

static int dsmil_mmio_ioc_read(struct dsmil *dsm, void *arg)
{
	return dsmil_mmio_read(&dsm->mmio, arg);
}

static int dsmil_mmio_ioc_write(struct dsmil *dsm, void *arg)
{
	return dsmil_waudit_mmio(dsm, arg, dsmil_mmio_write(&dsm->mmio, arg));
}

static void dsmil_mmio_user_iter(struct dsmil_mmio_bulk *b, unsigned int dir,
				 struct iov_iter *iter)
{
	/* Longer than DSMIL_BULK_MAX is refused before the iterator is used. */
	size_t len = min_t(u64, b->length, DSMIL_BULK_MAX);

	/* access_ok() is checked by every copy that uses the iterator. */
	iov_iter_ubuf(iter, dir, u64_to_user_ptr(b->buf), len);
}

static int dsmil_mmio_ioc_bulk_read(struct dsmil *dsm, void *arg)
{
	struct dsmil_mmio_bulk *b = arg;
	struct iov_iter iter;

	dsmil_mmio_user_iter(b, ITER_DEST, &iter);
	return dsmil_mmio_bulk_read(&dsm->mmio, b, &iter);
}

static int dsmil_mmio_ioc_bulk_write(struct dsmil *dsm, void *arg)
{
	struct dsmil_mmio_bulk *b = arg;
	struct iov_iter iter;

	dsmil_mmio_user_iter(b, ITER_SOURCE, &iter);
	return dsmil_waudit_mmio_bulk(dsm, b, dsmil_mmio_bulk_write(&dsm->mmio, b, &iter));
}

static int dsmil_mmio_ioc_status(struct dsmil *dsm, void *arg)
{
	struct dsmil_mmio_status *st = arg;
	struct dsmil_chunk_stat *cs = NULL;
	unsigned int n = 0;
	int ret;

	if (st->chunk_buf && st->chunk_count) {
		n = min(st->chunk_count, dsm->mmio.num_chunks);
		cs = kcalloc(n, sizeof(*cs), GFP_KERNEL);
		if (!cs)
			return -ENOMEM;
	}
	ret = dsmil_mmio_fill_status(&dsm->mmio, st, cs, n);
	if (ret < 0)
		goto free_cs;
	n = ret;
	ret = 0;
	if (n && copy_to_user(u64_to_user_ptr(st->chunk_buf), cs,
			      n * sizeof(*cs)))
		ret = -EFAULT;
	st->chunk_count = n;
free_cs:
	kfree(cs);
	return ret;
}

static const struct dsmil_ioctl_desc dsmil_mmio_ioctl_desc[] = {
	{
		.cmd = DSMIL_IOC_MMIO_READ,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN,
		.handler = dsmil_mmio_ioc_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved),
		},
		.name = "mmio-read",
	},
	{
		.cmd = DSMIL_IOC_MMIO_WRITE,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_WRITE,
		.handler = dsmil_mmio_ioc_write,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_rw, reserved),
		},
		.name = "mmio-write",
	},
	{
		.cmd = DSMIL_IOC_MMIO_BULK_READ,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_mmio_ioc_bulk_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved),
		},
		.name = "mmio-bulk-read",
	},
	{
		.cmd = DSMIL_IOC_MMIO_BULK_WRITE,
		.policy = DSMIL_POL_RAWIO | DSMIL_POL_NOLOCKDOWN |
			  DSMIL_POL_WRITE | DSMIL_POL_COPYOUT_ERR,
		.handler = dsmil_mmio_ioc_bulk_write,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved0),
			DSMIL_RSVD(struct dsmil_mmio_bulk, reserved),
		},
		.name = "mmio-bulk-write",
	},
	{
		.cmd = DSMIL_IOC_MMIO_STATUS,
		.handler = dsmil_mmio_ioc_status,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_mmio_status, reserved),
		},
		.paddr = DSMIL_SPAN(struct dsmil_mmio_status, region_base),
		.name = "mmio-status",
	},
};

const struct dsmil_ioctl_table dsmil_mmio_ioctls = {
	.desc = dsmil_mmio_ioctl_desc,
	.count = ARRAY_SIZE(dsmil_mmio_ioctl_desc),
};

/* debugfs "mmio/chunks": one line per chunk, for people. */
static int dsmil_mmio_chunks_show(struct seq_file *s, void *unused)
{
	struct dsmil_mmio *mm = s->private;
	u64 now = ktime_get_ns();
	unsigned int i;

	seq_printf(s, "backend=%s base=%#llx size=%llu chunks=%u cap=%u idle_ms=%u\n",
		   mm->backend_name, mm->base, mm->size, mm->num_chunks,
		   mm->max_resident, mm->idle_ms);
	seq_puts(s, "chunk state    users maps hits idle_ms\n");
	if (mutex_lock_killable(&mm->lock))
		return -EINTR;
	for (i = 0; i < mm->num_chunks; i++) {
		struct dsmil_chunk *c = &mm->chunks[i];
		u64 last = atomic64_read(&c->last_used);

		seq_printf(s, "%5u %-8s %5d %4llu %4lld %llu\n", i,
			   test_bit(i, mm->resident_map) ? "resident" :
			   test_bit(i, mm->ever_mapped) ? "idle" : "never",
			   atomic_read(&c->users), c->maps,
			   atomic64_read(&c->hits),
			   last && now > last ?
			   div_u64(now - last, NSEC_PER_MSEC) : 0);
	}
	mutex_unlock(&mm->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dsmil_mmio_chunks);

static void dsmil_mmio_debugfs_init(struct dsmil_mmio *mm,
				    struct dentry *parent)
{
	struct dentry *dir;

	if (IS_ERR_OR_NULL(parent))
		return;
	/*
	 * The files point into @mm: dsmil_mmio_exit() removes them before it
	 * frees what they use.  debugfs errors are not fatal.
	 */
	dir = debugfs_create_dir("mmio", parent);
	mm->debugfs = dir;
	debugfs_create_atomic_t("fail_next_maps", 0600, dir, &mm->fail_maps);
	debugfs_create_u32("busy_wait_ms", 0600, dir, &mm->busy_wait_ms);
	debugfs_create_u32("write_delay_ms", 0600, dir, &mm->write_delay_ms);
	debugfs_create_file("chunks", 0400, dir, mm, &dsmil_mmio_chunks_fops);
	if (mm->ops->debugfs)
		mm->ops->debugfs(mm, dir);
}

static int dsmil_mmio_check_config(const struct dsmil_mmio_config *cfg)
{
	u64 end, chunks = cfg->size / DSMIL_CHUNK_SIZE;

	if (!cfg->size || cfg->size % DSMIL_CHUNK_SIZE ||
	    chunks > DSMIL_MAX_CHUNKS) {
		pr_err("mmio_size=%llu is not a non-zero multiple of 4 MiB of at most %u chunks\n",
		       cfg->size, DSMIL_MAX_CHUNKS);
		return -EINVAL;
	}
	if (!cfg->max_resident || cfg->max_resident > chunks) {
		pr_err("max_resident=%u is outside 1..%llu (the region's chunks)\n",
		       cfg->max_resident, chunks);
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(cfg->base)) {
		pr_err("mmio_base=%#llx is not page aligned\n", cfg->base);
		return -EINVAL;
	}
	if (check_add_overflow(cfg->base, cfg->size, &end)) {
		pr_err("mmio_base=%#llx + mmio_size=%#llx overflows the physical address space\n",
		       cfg->base, cfg->size);
		return -EINVAL;
	}
	if (cfg->idle_ms > DSMIL_MMIO_IDLE_MAX_MS) {
		pr_err("mmio_idle_ms=%u is over %u\n", cfg->idle_ms,
		       DSMIL_MMIO_IDLE_MAX_MS);
		return -EINVAL;
	}
	return 0;
}

/**
 * dsmil_mmio_init - set the mapper up; maps nothing yet.
 * @mm:      mapper, zeroed.
 * @cfg:     settings; must outlive @mm (it is the instance's copy).
 * @debugfs: the instance's debugfs directory, or NULL.
 *
 * Validates the settings (clear messages for each refusal), then lets the
 * backend claim the region: with a base, the iomem backend; without, the
 * simulated region.
 *
 * Return: 0 or a negative errno (-EINVAL bad settings or a region in System
 * RAM, -EBUSY region claimed by someone else, -ENOMEM).
 */
int dsmil_mmio_init(struct dsmil_mmio *mm, const struct dsmil_mmio_config *cfg,
		    struct dentry *debugfs)
{
	int ret;

	ret = dsmil_mmio_check_config(cfg);
	if (ret)
		return ret;

	if (cfg->ops)
		mm->ops = cfg->ops;
	else if (cfg->base)
		mm->ops = &dsmil_mmio_iomem_ops;
	else
		mm->ops = &dsmil_mmio_sim_ops;
	mm->priv = cfg->ops_data;
	mm->backend_name = mm->ops->name;
	mm->base = cfg->base;
	mm->size = cfg->size;
	mm->num_chunks = cfg->size / DSMIL_CHUNK_SIZE;
	mm->max_resident = cfg->max_resident;
	mm->idle_ms = cfg->idle_ms;
	mm->busy_wait_ms = DSMIL_MMIO_BUSY_WAIT_MS;
	mutex_init(&mm->lock);
	INIT_DELAYED_WORK(&mm->reaper, dsmil_mmio_reap);
	init_waitqueue_head(&mm->slot_wq);

	mm->chunks = kcalloc(mm->num_chunks, sizeof(*mm->chunks), GFP_KERNEL);
	if (!mm->chunks) {
		ret = -ENOMEM;
		goto destroy_lock;
	}
	if (mm->ops->probe) {
		ret = mm->ops->probe(mm);
		if (ret)
			goto free_chunks;
	}
	/*
	 * Last, so that the unwind below never has files to remove: nothing
	 * can fail after they appear.
	 */
	dsmil_mmio_debugfs_init(mm, debugfs);
	return 0;

free_chunks:
	kfree(mm->chunks);
	mm->chunks = NULL;
destroy_lock:
	mutex_destroy(&mm->lock);
	return ret;
}

/**
 * dsmil_mmio_exit - unmap everything and release the region.
 * @mm: mapper from a successful dsmil_mmio_init().
 *
 * No access may be in flight (the device node is gone and no file is open).
 * The mapper's debugfs directory goes first (waiting for readers in its
 * files), before anything its files use is freed.
 */
void dsmil_mmio_exit(struct dsmil_mmio *mm)
{
	unsigned int i;

	debugfs_remove_recursive(mm->debugfs);
	mm->debugfs = NULL;

	mutex_lock(&mm->lock);
	mm->dying = true;
	mutex_unlock(&mm->lock);
	/* Handles the reaper re-arming itself; it cannot after @dying. */
	cancel_delayed_work_sync(&mm->reaper);

	mutex_lock(&mm->lock);
	for_each_set_bit(i, mm->resident_map, mm->num_chunks) {
		void *addr = dsmil_mmio_detach(mm, i);

		/* A user now would be a driver bug: leak rather than unmap. */
		if (WARN_ON_ONCE(!addr))
			continue;
		dsmil_mmio_drop(mm, i, addr, DSMIL_UNMAP_EXIT);
	}
	mutex_unlock(&mm->lock);

	if (mm->ops->remove)
		mm->ops->remove(mm);
	kfree(mm->chunks);
	mm->chunks = NULL;
	mutex_destroy(&mm->lock);
}
