// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: chunked MMIO mapper, the core: which chunks are mapped, and who
 * holds them.  The accesses that use them are in dsmil_mmio_access.c and
 * dsmil_mmio_bulk.c, the ioctls in dsmil_mmio_ioc.c (dsmil_mmio_priv.h).
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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "dsmil_priv.h"
#include "dsmil_mmio_priv.h"

#define CREATE_TRACE_POINTS
#include "dsmil_mmio_trace.h"

/* Every device window lies in the first chunk, so in any valid region. */
static_assert(DSMIL_WINDOWS_END <= DSMIL_CHUNK_SIZE);
static_assert(DSMIL_DEVS_PER_GROUP * DSMIL_WINDOW_SIZE <= DSMIL_GROUP_STRIDE);

/* Bound on the debugfs-settable busy wait. */
#define DSMIL_MMIO_BUSY_WAIT_MAX_MS	60000U
/* __dsmil_mmio_span_get() keeps a bit per chunk of a span in a long. */
static_assert(DSMIL_MMIO_SPAN_MAX <= BITS_PER_LONG);

/*
 * Take chunk @idx's mapping away if nobody uses it.  Returns the mapping
 * (now unreachable by lockless accesses, still mapped) or NULL if the chunk
 * has users.  See the comment at the top of the file for the pairing.
 */
static void __iomem *dsmil_mmio_detach(struct dsmil_mmio *mm,
				       unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	void __iomem *addr = c->addr;

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
			    void __iomem *addr, int why)
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
		void __iomem *addr;

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
	dsmil_warn_ratelimited(dsmil_mmio_dev(mm), "refused-access: chunk=%u reason=all-busy cap=%u wait_ms=%u pid=%d errno=%d\n",
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
 * Under mm->lock: map chunk @idx, which is not resident, into a slot the
 * caller made sure of (resident < max_resident), and count the caller as
 * its user.  On failure *@why says which kind, for
 * dsmil_mmio_log_map_failure(), which the caller calls after dropping the
 * lock.  dsmil_mmio_map() takes the lock and finds the slot.
 */
static void __iomem *__dsmil_mmio_map(struct dsmil_mmio *mm, unsigned int idx,
				      const char **why)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	u64 phys = mm->base + ((u64)idx << DSMIL_CHUNK_SHIFT);
	u64 t0 = ktime_get_ns();
	void __iomem *addr;

	lockdep_assert_held(&mm->lock);
	*why = "backend";
	if (atomic_add_unless(&mm->fail_maps, -1, 0)) {
		*why = "injected";
		addr = IOMEM_ERR_PTR(-EIO);
	} else {
		addr = mm->ops->map(mm, idx);
		if (!addr)
			addr = IOMEM_ERR_PTR(-ENOMEM);
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
	dsmil_warn_ratelimited(dsmil_mmio_dev(mm), "map-failure: chunk=%u phys=%#llx backend=%s reason=%s errno=%ld\n",
			       idx, mm->base + ((u64)idx << DSMIL_CHUNK_SHIFT), mm->backend_name,
			       why, err);
}

/*
 * The slow path of dsmil_mmio_chunk_get(): find or make chunk @idx's
 * mapping under mm->lock (taken here) and count the caller as its user.
 * The caller holds no user count while it sleeps here, so that a thread
 * waiting for the lock or for a slot never pins a chunk someone else mapped
 * meanwhile.
 */
static void __iomem *dsmil_mmio_map(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	unsigned long deadline = dsmil_mmio_deadline(mm);
	void __iomem *addr;
	const char *why;
	int ret;

	if (mutex_lock_killable(&mm->lock))
		return IOMEM_ERR_PTR(-EINTR);
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
			return IOMEM_ERR_PTR(ret);
		if (mutex_lock_killable(&mm->lock))
			return IOMEM_ERR_PTR(-EINTR);
	}
	addr = __dsmil_mmio_map(mm, idx, &why);
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
static void __iomem *dsmil_mmio_chunk_hit(struct dsmil_mmio *mm,
					  unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];
	void __iomem *addr;

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
void __iomem *dsmil_mmio_chunk_get(struct dsmil_mmio *mm, unsigned int idx)
{
	void __iomem *addr = dsmil_mmio_chunk_hit(mm, idx);

	return addr ?: dsmil_mmio_map(mm, idx);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_chunk_get);

/**
 * dsmil_mmio_chunk_put - release a chunk dsmil_mmio_chunk_get() returned.
 * @mm:  mapper.
 * @idx: chunk index.
 */
void dsmil_mmio_chunk_put(struct dsmil_mmio *mm, unsigned int idx)
{
	struct dsmil_chunk *c = &mm->chunks[idx];

	atomic64_set(&c->last_used, ktime_get_ns());
	dsmil_mmio_unuse(mm, c);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_chunk_put);

/* Release chunks @first..@first + @n - 1 of a span. */
void dsmil_mmio_span_put(struct dsmil_mmio *mm, unsigned int first,
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
 * dsmil_mmio_span_get() takes the lock and does the waiting.
 */
static int __dsmil_mmio_span_get(struct dsmil_mmio *mm, unsigned int first,
				 unsigned int last, void __iomem **addrs,
				 const char **why, unsigned int *failed)
{
	unsigned int i, n = last - first + 1;
	unsigned long hit = 0;
	void __iomem *addr;

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
			addr = IOMEM_ERR_PTR(-EAGAIN);
			goto put_held;
		}
		addr = __dsmil_mmio_map(mm, first + i, why);
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

/**
 * dsmil_mmio_span_get - hold chunks @first..@last mapped, all or none.
 * @mm:    mapper.
 * @first: first chunk of the span.
 * @last:  last chunk; at most max_resident chunks in all.
 * @addrs: out: the mappings, one per chunk of the span.
 *
 * No hold-and-wait: when some chunk needs a slot and none is free, the
 * caller waits holding none of them (at most busy_wait_ms, killably), so
 * that two callers each holding part of what they need can never wait for
 * each other.  Lockless when the whole span is resident.
 *
 * Return: 0 with @addrs[i] the mapping of chunk @first + i, or -EBUSY,
 * -EINTR or the map error, with nothing held.
 */
int dsmil_mmio_span_get(struct dsmil_mmio *mm, unsigned int first,
			unsigned int last, void __iomem **addrs)
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
			ret = __dsmil_mmio_span_get(mm, first, last, addrs,
						    &why, &failed);
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
		void __iomem *addr;

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

/**
 * dsmil_mmio_unmap_all - unmap every chunk nobody holds (system sleep).
 * @mm:   mapper.
 * @busy: out: chunks left mapped because an access held them.
 *
 * Called by the suspend callback.  A chunk is held only inside an ioctl
 * (an access never keeps one across a return to user space, nor while it
 * waits: see the top of the file), and every task that could be in one was
 * frozen outside the driver before devices are suspended: all of the
 * mapper's waits are bounded and none is freezable, so the freezer waits
 * for them to end.  So @busy is 0 unless a kernel context were accessing
 * the region, which none does; such a chunk would simply stay mapped (the
 * user-count pairing keeps it safe), never be unmapped under a reader.
 * An access after this maps its chunk again on demand, as after an idle
 * unmap.  Sleeps (mm->lock).
 *
 * Return: chunks unmapped.
 */
unsigned int dsmil_mmio_unmap_all(struct dsmil_mmio *mm, unsigned int *busy)
{
	unsigned int i, n = 0;
	void __iomem *addr;

	*busy = 0;
	mutex_lock(&mm->lock);
	for_each_set_bit(i, mm->resident_map, mm->num_chunks) {
		addr = dsmil_mmio_detach(mm, i);
		if (!addr) {
			(*busy)++;
			continue;
		}
		dsmil_mmio_drop(mm, i, addr, DSMIL_UNMAP_SUSPEND);
		n++;
	}
	mutex_unlock(&mm->lock);
	/* Slots were freed: as the reaper does, wake whoever waits for one. */
	if (n && atomic_read(&mm->slot_waiters))
		wake_up_all(&mm->slot_wq);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_mmio_unmap_all);

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
int dsmil_mmio_fill_status(struct dsmil_mmio *mm, struct dsmil_mmio_status *st,
			   struct dsmil_chunk_stat *cs, unsigned int count)
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

static int dsmil_mmio_check_config(struct dsmil_mmio *mm,
				   const struct dsmil_mmio_config *cfg)
{
	u64 end, chunks = cfg->size / DSMIL_CHUNK_SIZE;

	if (!cfg->size || cfg->size % DSMIL_CHUNK_SIZE ||
	    chunks > DSMIL_MAX_CHUNKS) {
		dsmil_err(dsmil_mmio_dev(mm), "mmio_size=%llu is not a non-zero multiple of 4 MiB of at most %u chunks\n",
			  cfg->size, DSMIL_MAX_CHUNKS);
		return -EINVAL;
	}
	if (!cfg->max_resident || cfg->max_resident > chunks) {
		dsmil_err(dsmil_mmio_dev(mm), "max_resident=%u is outside 1..%llu (the region's chunks)\n",
			  cfg->max_resident, chunks);
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(cfg->base)) {
		dsmil_err(dsmil_mmio_dev(mm), "mmio_base=%#llx is not page aligned\n", cfg->base);
		return -EINVAL;
	}
	if (check_add_overflow(cfg->base, cfg->size, &end)) {
		dsmil_err(dsmil_mmio_dev(mm), "mmio_base=%#llx + mmio_size=%#llx overflows the physical address space\n",
			  cfg->base, cfg->size);
		return -EINVAL;
	}
	if (cfg->idle_ms > DSMIL_MMIO_IDLE_MAX_MS) {
		dsmil_err(dsmil_mmio_dev(mm), "mmio_idle_ms=%u is over %u\n", cfg->idle_ms,
			  DSMIL_MMIO_IDLE_MAX_MS);
		return -EINVAL;
	}
	return 0;
}

/**
 * dsmil_mmio_init - set the mapper up; maps nothing yet.
 * @mm:      mapper, zeroed.
 * @cfg:     settings; must outlive @mm (it is the instance's copy).
 * @ops:     the backend (dsmil_mmio_backend() for @cfg's base, or a test's
 *           fake); must outlive @mm.
 * @debugfs: the instance's debugfs directory, or NULL.
 *
 * Validates the settings (clear messages for each refusal), then lets the
 * backend claim the region.
 *
 * Return: 0 or a negative errno (-EINVAL bad settings or a region in System
 * RAM, -EBUSY region claimed by someone else, -ENOMEM).
 */
int dsmil_mmio_init(struct dsmil_mmio *mm, const struct dsmil_mmio_config *cfg,
		    const struct dsmil_mmio_ops *ops, struct dentry *debugfs)
{
	int ret;

	if (WARN_ON_ONCE(!ops))
		return -EINVAL;
	ret = dsmil_mmio_check_config(mm, cfg);
	if (ret)
		return ret;

	mm->ops = ops;
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
		void __iomem *addr = dsmil_mmio_detach(mm, i);

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
