// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the chunk mapper (dsmil_mmio.c).
 *
 * Most cases run the mapper over a fake backend that maps nothing: a
 * chunk's "mapping" is a cookie encoding its index, reads return a pattern
 * computed from the region offset they land on (so a test sees exactly where
 * an access went), writes are checked against that pattern, and every call
 * is counted.  The fake also checks the mapper's promises as they happen: no
 * chunk mapped twice, no chunk unmapped while it has users, no access to a
 * chunk that is not mapped, never more than max_resident mapped, no block
 * access (whose widths the backend chooses) inside a device window.  It
 * records the width of every single access, and can hold a write at one
 * offset until the test lets it go (a gate), to interleave an emergency
 * stop with a write at the hardware.  A few cases use the real sim backend
 * for data that must survive eviction and for its memory use.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/sizes.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "../dsmil_priv.h"
#include "../dsmil_mmio_priv.h"
#include "dsmil_test_util.h"

#define CHUNK		DSMIL_CHUNK_SIZE
#define FAKE_BASE	0x0f00000000000000UL
#define FAKE_LOG	64

/*
 * The fake: its ops are its own copy (of fake_ops or fake_user_ops), which
 * is how a call finds the fake it belongs to (fake_of()).
 */
struct fake_mmio {
	struct dsmil_mmio_ops ops;
	atomic_t map_calls;
	atomic_t map_fails;
	atomic_t unmap_calls;
	atomic_t chunk_maps[DSMIL_MAX_CHUNKS];
	atomic_t mapped[DSMIL_MAX_CHUNKS];
	atomic_t mapped_now;
	atomic_t max_mapped;
	atomic_t violations;
	atomic_t reads;
	atomic_t writes;
	atomic_t read_blocks;
	atomic_t read_users;
	atomic_t read_user_regs;
	atomic_t write_users;
	atomic_t write_blocks;
	atomic64_t written_bytes;
	atomic_t write_mismatches;
	/* Single accesses by width (1, 2, 4, 8). */
	atomic_t read_width[9];
	atomic_t write_width[9];
	/* Block accesses (read_block, write_block, read_user) in a window. */
	atomic_t window_blocks;
	/* A write covering @gate_off waits for @gate_open (U64_MAX: none). */
	u64 gate_off;
	struct completion gate_reached;
	struct completion gate_open;
	/* Map of this chunk fails with @fail_err (-1: none). */
	int fail_chunk;
	int fail_err;
	/* Send SIGKILL to the caller at this block (0: never). */
	int kill_at_block;
	/* Unmap order, for the LRU cases. */
	spinlock_t log_lock;
	unsigned int log_len;
	unsigned int unmap_log[FAKE_LOG];
	/*
	 * When write_users reaches @unmap_at_user_write, unmap the user page
	 * at @unmap_user (0: never): a source that goes away mid-write.
	 */
	unsigned long unmap_user;
	int unmap_at_user_write;
	/* Last single write. */
	u64 last_off;
	u64 last_val;
	unsigned int last_width;
};

/* The byte the fake region holds at offset @off. */
static u8 fake_byte(u64 off)
{
	return (off ^ (off >> 8) ^ (off >> 16) ^ (off >> 24) ^ 0x5a) & 0xff;
}

static u64 fake_value(u64 off, unsigned int width)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < width; i++)
		v |= (u64)fake_byte(off + i) << (8 * i);
	return v;
}

static struct fake_mmio *fake_of(struct dsmil_mmio *mm)
{
	return container_of(mm->ops, struct fake_mmio, ops);
}

static u64 fake_off(const void __iomem *addr)
{
	return (unsigned long)addr - FAKE_BASE;
}

#define WIN_END		(DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE)

/* Does region range [@off, @off + @len) touch a device window? */
static bool fake_in_window(u64 off, size_t len)
{
	u64 w;

	for (w = round_down(off, DSMIL_WINDOW_SIZE);
	     w < off + len && w < WIN_END; w += DSMIL_WINDOW_SIZE)
		if ((w % DSMIL_GROUP_STRIDE) / DSMIL_WINDOW_SIZE <
		    DSMIL_DEVS_PER_GROUP)
			return true;
	return false;
}

/* Block accessors choose their own widths: never inside a window. */
static void fake_check_block(struct fake_mmio *f, const void __iomem *addr,
			     size_t len)
{
	if (fake_in_window(fake_off(addr), len))
		atomic_inc(&f->window_blocks);
}

/* A write covering the gate offset waits there until the test opens it. */
static void fake_maybe_gate(struct fake_mmio *f, const void __iomem *addr,
			    size_t len)
{
	u64 off = fake_off(addr);

	if (f->gate_off < off || f->gate_off >= off + len)
		return;
	complete(&f->gate_reached);
	wait_for_completion_timeout(&f->gate_open, 60 * HZ);
}

/* Every access must land in a chunk that is mapped. */
static void fake_check_access(struct dsmil_mmio *mm, const void __iomem *addr,
			      size_t len)
{
	struct fake_mmio *f = fake_of(mm);
	u64 off = fake_off(addr);
	unsigned int idx = off / CHUNK;

	if (idx >= mm->num_chunks || !atomic_read(&f->mapped[idx]) ||
	    (off + len - 1) / CHUNK != idx)
		atomic_inc(&f->violations);
}

static void __iomem *fake_map(struct dsmil_mmio *mm, unsigned int idx)
{
	struct fake_mmio *f = fake_of(mm);
	int now, max;

	atomic_inc(&f->map_calls);
	if ((int)idx == f->fail_chunk) {
		atomic_inc(&f->map_fails);
		return IOMEM_ERR_PTR(f->fail_err);
	}
	if (atomic_xchg(&f->mapped[idx], 1))
		atomic_inc(&f->violations);
	atomic_inc(&f->chunk_maps[idx]);
	now = atomic_inc_return(&f->mapped_now);
	max = atomic_read(&f->max_mapped);
	while (now > max && !atomic_try_cmpxchg(&f->max_mapped, &max, now))
		;
	if (now > mm->max_resident)
		atomic_inc(&f->violations);
	return (void __iomem *)(FAKE_BASE + (unsigned long)idx * CHUNK);
}

static void fake_unmap(struct dsmil_mmio *mm, unsigned int idx,
		       void __iomem *addr)
{
	struct fake_mmio *f = fake_of(mm);

	atomic_inc(&f->unmap_calls);
	/*
	 * Not a check of chunks[idx].users: a reader on the lock-free path
	 * raises it before it sees the mapping gone and backs off, so it
	 * may be non-zero here without harm.  A reader that really used the
	 * chunk after this unmap trips fake_check_access() instead.
	 */
	if (addr != (void __iomem *)(FAKE_BASE + (unsigned long)idx * CHUNK) ||
	    !atomic_xchg(&f->mapped[idx], 0))
		atomic_inc(&f->violations);
	atomic_dec(&f->mapped_now);
	spin_lock(&f->log_lock);
	if (f->log_len < FAKE_LOG)
		f->unmap_log[f->log_len++] = idx;
	spin_unlock(&f->log_lock);
}

static u64 fake_read(struct dsmil_mmio *mm, const void __iomem *addr,
		     unsigned int width)
{
	struct fake_mmio *f = fake_of(mm);

	fake_check_access(mm, addr, width);
	atomic_inc(&f->reads);
	atomic_inc(&f->read_width[width]);
	return fake_value(fake_off(addr), width);
}

static void fake_write(struct dsmil_mmio *mm, void __iomem *addr,
		       unsigned int width, u64 val)
{
	struct fake_mmio *f = fake_of(mm);

	fake_check_access(mm, addr, width);
	fake_maybe_gate(f, addr, width);
	atomic_inc(&f->writes);
	atomic_inc(&f->write_width[width]);
	if (val != fake_value(fake_off(addr), width))
		atomic_inc(&f->write_mismatches);
	atomic64_add(width, &f->written_bytes);
	f->last_off = fake_off(addr);
	f->last_width = width;
	f->last_val = val;
}

/*
 * Make a fatal signal pending for the calling (kernel) thread, as a SIGKILL
 * sent to a task in an ioctl would.  Kernel threads ignore signals, so set
 * it directly; the test flushes it again.
 */
static void pend_sigkill(void)
{
	/* A task's own sighand cannot change under it. */
	struct sighand_struct *sh = rcu_dereference_protected(current->sighand,
							      true);

	spin_lock_irq(&sh->siglock);
	sigaddset(&current->pending.signal, SIGKILL);
	set_tsk_thread_flag(current, TIF_SIGPENDING);
	spin_unlock_irq(&sh->siglock);
}

static void fake_maybe_kill(struct fake_mmio *f, int block)
{
	if (f->kill_at_block && block == f->kill_at_block)
		pend_sigkill();
}

static void fake_read_block(struct dsmil_mmio *mm, void *dst,
			    const void __iomem *addr, size_t len)
{
	struct fake_mmio *f = fake_of(mm);
	u64 off = fake_off(addr);
	u8 *d = dst;
	size_t i;

	fake_check_access(mm, addr, len);
	fake_check_block(f, addr, len);
	if (len > PAGE_SIZE)
		atomic_inc(&f->violations);
	for (i = 0; i < len; i++)
		d[i] = fake_byte(off + i);
	fake_maybe_kill(f, atomic_inc_return(&f->read_blocks));
}

static void fake_write_block(struct dsmil_mmio *mm, void __iomem *addr,
			     const void *src, size_t len)
{
	struct fake_mmio *f = fake_of(mm);
	u64 off = fake_off(addr);
	const u8 *s = src;
	size_t i;

	fake_check_access(mm, addr, len);
	fake_check_block(f, addr, len);
	fake_maybe_gate(f, addr, len);
	if (len > PAGE_SIZE)
		atomic_inc(&f->violations);
	for (i = 0; i < len; i++)
		if (s[i] != fake_byte(off + i))
			atomic_inc(&f->write_mismatches);
	atomic64_add(len, &f->written_bytes);
	fake_maybe_kill(f, atomic_inc_return(&f->write_blocks));
}

/* ->read_user: the pattern bytes, straight to user memory. */
static size_t fake_read_user(struct dsmil_mmio *mm, void __user *dst,
			     const void __iomem *addr, size_t len)
{
	struct fake_mmio *f = fake_of(mm);
	u64 off = fake_off(addr);
	u8 piece[64];
	size_t i, n, done;

	fake_check_access(mm, addr, len);
	fake_check_block(f, addr, len);
	if (len > PAGE_SIZE)
		atomic_inc(&f->violations);
	atomic_inc(&f->read_users);
	for (done = 0; done < len; done += n) {
		n = min(len - done, sizeof(piece));
		for (i = 0; i < n; i++)
			piece[i] = fake_byte(off + done + i);
		if (copy_to_user(dst + done, piece, n))
			return len - done;
	}
	return 0;
}

/*
 * ->read_user_regs: the pattern to user memory, as 32-bit registers (bytes
 * at unaligned ends), each access recorded with its width.
 */
static size_t fake_read_user_regs(struct dsmil_mmio *mm, void __user *dst,
				  const void __iomem *addr, size_t len)
{
	struct fake_mmio *f = fake_of(mm);
	u64 off = fake_off(addr);
	size_t done, w;
	u32 v;

	fake_check_access(mm, addr, len);
	if (len > PAGE_SIZE)
		atomic_inc(&f->violations);
	atomic_inc(&f->read_user_regs);
	for (done = 0; done < len; done += w) {
		w = IS_ALIGNED(off + done, 4) && len - done >= 4 ? 4 : 1;
		v = fake_value(off + done, w);	/* little-endian */
		atomic_inc(&f->reads);
		atomic_inc(&f->read_width[w]);
		if (copy_to_user(dst + done, &v, w))
			return len - done;
	}
	return 0;
}

/* ->write_user: user bytes checked against the pattern, piece by piece. */
static size_t fake_write_user(struct dsmil_mmio *mm, void __iomem *addr,
			      const void __user *src, size_t len)
{
	struct fake_mmio *f = fake_of(mm);
	u64 off = fake_off(addr);
	u8 piece[64];
	size_t i, n, done;

	fake_check_access(mm, addr, len);
	fake_check_block(f, addr, len);
	if (len > SZ_64K)
		atomic_inc(&f->violations);
	if (atomic_inc_return(&f->write_users) == f->unmap_at_user_write &&
	    f->unmap_user) {
		vm_munmap(f->unmap_user, PAGE_SIZE);
		f->unmap_user = 0;
	}
	for (done = 0; done < len; done += n) {
		n = min(len - done, sizeof(piece));
		if (copy_from_user(piece, src + done, n))
			return len - done;
		for (i = 0; i < n; i++)
			if (piece[i] != fake_byte(off + done + i))
				atomic_inc(&f->write_mismatches);
		atomic64_add(n, &f->written_bytes);
	}
	return 0;
}

/* The fake's ops, with or without a direct path for user buffers. */
#define FAKE_MMIO_OPS(_name, _read_user, _read_user_regs, _write_user) \
	{						\
		.name = _name,				\
		.map = fake_map,			\
		.unmap = fake_unmap,			\
		.read = fake_read,			\
		.write = fake_write,			\
		.read_block = fake_read_block,		\
		.write_block = fake_write_block,	\
		.read_user = _read_user,		\
		.read_user_regs = _read_user_regs,	\
		.write_user = _write_user,		\
	}

static const struct dsmil_mmio_ops fake_ops = FAKE_MMIO_OPS("fake", NULL, NULL, NULL);

/* With ->read_user, as the iomem backend has. */
static const struct dsmil_mmio_ops fake_user_ops =
	FAKE_MMIO_OPS("fake-user", fake_read_user, fake_read_user_regs,
		      fake_write_user);

KUNIT_DEFINE_ACTION_WRAPPER(test_vfree, vfree, const void *);

/* An instance over fake backend @ops, destroyed when the test ends. */
static struct dsmil_mmio *make_mm_ops(struct kunit *test,
				      const struct dsmil_mmio_ops *ops,
				      struct fake_mmio **fp, unsigned int chunks,
				      unsigned int cap, unsigned int idle_ms)
{
	struct dsmil_config cfg = dsmil_kunit_cfg;
	struct fake_mmio *f = NULL;

	if (fp) {
		f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, f);
		f->fail_chunk = -1;
		f->gate_off = U64_MAX;
		init_completion(&f->gate_reached);
		init_completion(&f->gate_open);
		spin_lock_init(&f->log_lock);
		f->ops = *ops;
		cfg.mmio_ops = &f->ops;
		*fp = f;
	}
	cfg.mmio.size = chunks * CHUNK;
	cfg.mmio.max_resident = cap;
	cfg.mmio.idle_ms = idle_ms;
	return &dsmil_kunit_create(test, &cfg)->mmio;
}

/* An instance over the fake backend, destroyed when the test ends. */
static struct dsmil_mmio *make_mm(struct kunit *test, struct fake_mmio **fp,
				  unsigned int chunks, unsigned int cap,
				  unsigned int idle_ms)
{
	return make_mm_ops(test, &fake_ops, fp, chunks, cap, idle_ms);
}

static void end_instance(struct kunit *test, struct dsmil_mmio *mm)
{
	dsmil_kunit_destroy(test, dsmil_from_mmio(mm));
}

static void *test_vbuf(struct kunit *test, size_t len)
{
	void *p = vzalloc(len);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, test_vfree, p));
	return p;
}

/* Make sure the next last-use stamp differs from the previous one. */
static void tick(void)
{
	u64 t = ktime_get_ns();

	while (ktime_get_ns() == t)
		cpu_relax();
}

static int rd(struct dsmil_mmio *mm, u64 off, unsigned int width, u64 *val)
{
	struct dsmil_mmio_rw rw = { .offset = off, .width = width };
	int ret = dsmil_mmio_read(mm, &rw);

	if (val)
		*val = rw.value;
	return ret;
}

static int touch(struct dsmil_mmio *mm, unsigned int idx)
{
	int ret = rd(mm, (u64)idx * CHUNK + 8, 8, NULL);

	tick();
	return ret;
}

static int bulk_read(struct dsmil_mmio *mm, u64 off, void *buf, u64 len,
		     u64 *done)
{
	struct dsmil_mmio_bulk b = { .offset = off, .length = len };
	size_t n = min_t(u64, len, DSMIL_BULK_MAX);
	struct kvec kv = { .iov_base = buf, .iov_len = n };
	struct iov_iter it;
	int ret;

	iov_iter_kvec(&it, ITER_DEST, &kv, 1, n);
	ret = dsmil_mmio_bulk_read(mm, &b, &it);
	if (done)
		*done = b.done;
	return ret;
}

static int bulk_write(struct dsmil_mmio *mm, u64 off, const void *buf,
		      u64 len, u64 *done)
{
	struct dsmil_mmio_bulk b = { .offset = off, .length = len };
	size_t n = min_t(u64, len, DSMIL_BULK_MAX);
	struct kvec kv = { .iov_base = (void *)buf, .iov_len = n };
	struct iov_iter it;
	int ret;

	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, n);
	ret = dsmil_mmio_bulk_write(mm, &b, &it);
	if (done)
		*done = b.done;
	return ret;
}

static void status(struct dsmil_mmio *mm, struct dsmil_mmio_status *st)
{
	memset(st, 0, sizeof(*st));
	dsmil_mmio_fill_status(mm, st, NULL, 0);
}

/* Invariants that hold whenever no access is in flight. */
static void expect_consistent(struct kunit *test, struct dsmil_mmio *mm,
			      struct fake_mmio *f)
{
	struct dsmil_mmio_status st;
	unsigned int i, bits = 0;

	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.maps - st.unmaps, (u64)st.resident);
	KUNIT_EXPECT_LE(test, st.resident, mm->max_resident);
	for (i = 0; i < mm->num_chunks; i++) {
		bool res = st.resident_map[i / 64] & BIT_ULL(i % 64);

		bits += res;
		KUNIT_EXPECT_EQ(test, atomic_read(&mm->chunks[i].users), 0);
		KUNIT_EXPECT_EQ(test, res, !!mm->chunks[i].addr);
		if (f)
			KUNIT_EXPECT_EQ(test, res,
					(bool)atomic_read(&f->mapped[i]));
	}
	KUNIT_EXPECT_EQ(test, bits, st.resident);
	if (f) {
		KUNIT_EXPECT_EQ(test, atomic_read(&f->violations), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->window_blocks), 0);
		/* Injected failures (mm->fail_maps) never reach the fake. */
		KUNIT_EXPECT_EQ(test, (u64)(atomic_read(&f->map_calls) -
					    atomic_read(&f->map_fails)),
				st.maps);
		KUNIT_EXPECT_EQ(test, (u64)atomic_read(&f->unmap_calls),
				st.unmaps);
	}
}

/* ---- configuration ------------------------------------------------------ */

struct cfg_case {
	const char *desc;
	u64 base;
	u64 size;
	unsigned int cap;
	unsigned int idle_ms;
	int expect;
};

static const struct cfg_case cfg_cases[] = {
	{ "default-360MiB-cap8", 0, 90 * CHUNK, 8, 5000, 0 },
	{ "one-chunk-cap1", 0, CHUNK, 1, 0, 0 },
	{ "max-chunks-cap-all", 0, DSMIL_MAX_CHUNKS * CHUNK, DSMIL_MAX_CHUNKS,
	  0, 0 },
	{ "size-zero", 0, 0, 1, 0, -EINVAL },
	{ "size-not-chunk-multiple", 0, CHUNK + PAGE_SIZE, 1, 0, -EINVAL },
	{ "size-half-chunk", 0, CHUNK / 2, 1, 0, -EINVAL },
	{ "size-over-max-chunks", 0, (DSMIL_MAX_CHUNKS + 1) * CHUNK, 1, 0,
	  -EINVAL },
	{ "size-huge", 0, ~0ULL & ~(CHUNK - 1), 1, 0, -EINVAL },
	{ "cap-zero", 0, 90 * CHUNK, 0, 0, -EINVAL },
	{ "cap-over-chunks", 0, 90 * CHUNK, 91, 0, -EINVAL },
	{ "base-unaligned", 0x10000800, 90 * CHUNK, 8, 0, -EINVAL },
	{ "base-plus-size-overflows", ~0ULL & PAGE_MASK, 2 * CHUNK, 1, 0,
	  -EINVAL },
	{ "idle-over-max", 0, CHUNK, 1, DSMIL_MMIO_IDLE_MAX_MS + 1, -EINVAL },
	{ "idle-at-max", 0, CHUNK, 1, DSMIL_MMIO_IDLE_MAX_MS, 0 },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_mmio_init_config, cfg_cases, desc);

/* Bad settings are refused at creation; good ones give that geometry. */
static void dsmil_mmio_init_config(struct kunit *test)
{
	const struct cfg_case *c = test->param_value;
	struct dsmil_config cfg = dsmil_kunit_cfg;
	struct fake_mmio *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct dsmil *dsm;

	KUNIT_ASSERT_NOT_NULL(test, f);
	cfg.mmio.base = c->base;
	cfg.mmio.size = c->size;
	cfg.mmio.max_resident = c->cap;
	cfg.mmio.idle_ms = c->idle_ms;
	f->ops = fake_ops;
	cfg.mmio_ops = &f->ops;		/* never the real iomem backend here */
	dsm = dsmil_create(&cfg, NULL);
	if (c->expect) {
		KUNIT_EXPECT_TRUE(test, IS_ERR(dsm));
		KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dsm), c->expect);
		return;
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(dsm));
	KUNIT_EXPECT_EQ(test, dsm->mmio.num_chunks, c->size / CHUNK);
	KUNIT_EXPECT_EQ(test, dsm->mmio.max_resident, c->cap);
	KUNIT_EXPECT_EQ(test, dsm->mmio.base, c->base);
	KUNIT_EXPECT_STREQ(test, dsm->mmio.backend_name, "fake");
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);
	dsmil_destroy(dsm);
}

/*
 * No base: the sim backend serves; a base asks for the physical region
 * (not created here: it would claim that memory).
 */
static void dsmil_mmio_init_default_backend(struct kunit *test)
{
	struct dsmil_mmio *mm = make_mm(test, NULL, 90, 8, 0);

	KUNIT_EXPECT_PTR_EQ(test, dsmil_mmio_backend(0), &dsmil_mmio_sim_ops);
	KUNIT_EXPECT_PTR_EQ(test, dsmil_mmio_backend(0x10000000),
			    &dsmil_mmio_iomem_ops);
	KUNIT_EXPECT_PTR_EQ(test, dsmil_kunit_cfg.mmio_ops,
			    dsmil_mmio_backend(dsmil_kunit_cfg.mmio.base));
	KUNIT_EXPECT_PTR_EQ(test, mm->ops, &dsmil_mmio_sim_ops);
	KUNIT_EXPECT_STREQ(test, mm->backend_name, "sim");
	KUNIT_EXPECT_EQ(test, mm->num_chunks, 90);
	KUNIT_EXPECT_EQ(test, mm->base, 0);
	KUNIT_EXPECT_EQ(test, mm->resident, 0);
}

/* ---- mapping policy ----------------------------------------------------- */

/* Nothing is mapped until touched; a touch maps only that chunk, once. */
static void dsmil_mmio_map_on_demand(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil_mmio_status st;
	unsigned int i;
	u64 val;

	status(mm, &st);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);
	KUNIT_EXPECT_EQ(test, st.resident, 0);
	KUNIT_EXPECT_EQ(test, st.ever_mapped[0] | st.ever_mapped[1], 0);

	KUNIT_ASSERT_EQ(test, rd(mm, 37 * CHUNK + 0x1230, 4, &val), 0);
	KUNIT_EXPECT_EQ(test, val, fake_value(37 * CHUNK + 0x1230, 4));
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, rd(mm, 37 * CHUNK + 8 * i, 8, NULL), 0);

	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->chunk_maps[37]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 6);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.resident, 1);
	KUNIT_EXPECT_EQ(test, st.resident_map[0], BIT_ULL(37));
	KUNIT_EXPECT_EQ(test, st.ever_mapped[0], BIT_ULL(37));
	KUNIT_EXPECT_EQ(test, st.hits, 5);
	KUNIT_EXPECT_EQ(test, st.bytes_read, 4 + 5 * 8);
	expect_consistent(test, mm, f);
}

/* The least recently *used* idle chunk goes first, not the oldest mapped. */
static void dsmil_mmio_evict_lru_order(struct kunit *test)
{
	static const unsigned int expect[] = { 1, 2, 0, 3 };
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 16, 3, 0);
	struct dsmil_mmio_status st;
	unsigned int i;

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, touch(mm, i), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 0), 0);	/* 0 is now the newest */
	KUNIT_ASSERT_EQ(test, touch(mm, 3), 0);	/* evicts 1 */
	KUNIT_ASSERT_EQ(test, touch(mm, 4), 0);	/* evicts 2 */
	KUNIT_ASSERT_EQ(test, touch(mm, 3), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 5), 0);	/* evicts 0 */
	KUNIT_ASSERT_EQ(test, touch(mm, 4), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 5), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 6), 0);	/* evicts 3 */

	KUNIT_ASSERT_EQ(test, f->log_len, ARRAY_SIZE(expect));
	for (i = 0; i < ARRAY_SIZE(expect); i++)
		KUNIT_EXPECT_EQ_MSG(test, f->unmap_log[i], expect[i],
				    "eviction %u", i);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.evictions, 4);
	KUNIT_EXPECT_EQ(test, st.resident_map[0], BIT_ULL(4) | BIT_ULL(5) |
						  BIT_ULL(6));
	KUNIT_EXPECT_EQ(test, st.ever_mapped[0], GENMASK_ULL(6, 0));
	expect_consistent(test, mm, f);
}

struct sweep_case {
	const char *desc;
	unsigned int chunks;
	unsigned int cap;
};

static const struct sweep_case sweep_cases[] = {
	{ "90-chunks-cap-1", 90, 1 },
	{ "90-chunks-cap-8", 90, 8 },
	{ "90-chunks-cap-90", 90, 90 },
	{ "128-chunks-cap-127", 128, 127 },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_mmio_evict_cap_respected, sweep_cases, desc);

/* Two full sweeps never exceed the cap and count every map and eviction. */
static void dsmil_mmio_evict_cap_respected(struct kunit *test)
{
	const struct sweep_case *c = test->param_value;
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, c->chunks, c->cap, 0);
	struct dsmil_mmio_status st;
	unsigned int i, pass, expect_maps;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < c->chunks; i++)
			KUNIT_ASSERT_EQ(test, rd(mm, (u64)i * CHUNK, 8, NULL),
					0);
	/* A sweep larger than the cap maps every chunk on both passes. */
	expect_maps = c->cap >= c->chunks ? c->chunks : 2 * c->chunks;
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->max_mapped), (int)c->cap);
	KUNIT_EXPECT_EQ(test, st.resident, c->cap);
	KUNIT_EXPECT_EQ(test, st.maps, expect_maps);
	KUNIT_EXPECT_EQ(test, st.evictions, expect_maps - c->cap);
	expect_consistent(test, mm, f);
}

/* A chunk with a user is never evicted; with all busy, -EBUSY in time. */
static void dsmil_mmio_evict_busy_never(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 2, 0);
	struct dsmil_mmio_status st;
	void __iomem *a0, *a1;
	ktime_t t0;
	s64 ms;

	a0 = dsmil_mmio_chunk_get(mm, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a0));
	tick();
	a1 = dsmil_mmio_chunk_get(mm, 1);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a1));

	mm->busy_wait_ms = 50;
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, rd(mm, 2 * CHUNK, 8, NULL), -EBUSY);
	ms = ktime_ms_delta(ktime_get(), t0);
	KUNIT_EXPECT_GE(test, ms, 40);
	KUNIT_EXPECT_LT(test, ms, 2000);
	mm->busy_wait_ms = 0;
	KUNIT_EXPECT_EQ(test, rd(mm, 3 * CHUNK, 8, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->unmap_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 2);
	/* The refused accesses left no user count behind. */
	KUNIT_EXPECT_EQ(test, atomic_read(&mm->chunks[2].users), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mm->chunks[3].users), 0);

	/* Chunk 1 is the newer, but only chunk 0 is free: it goes. */
	dsmil_mmio_chunk_put(mm, 0);
	KUNIT_EXPECT_EQ(test, rd(mm, 2 * CHUNK, 8, NULL), 0);
	KUNIT_ASSERT_EQ(test, f->log_len, 1);
	KUNIT_EXPECT_EQ(test, f->unmap_log[0], 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped[1]), 1);
	dsmil_mmio_chunk_put(mm, 1);

	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.all_busy, 2);
	expect_consistent(test, mm, f);
}

struct release_ctx {
	struct dsmil_mmio *mm;
	unsigned int idx;
	unsigned int delay_ms;
	struct completion done;
};

static int release_later(void *data)
{
	struct release_ctx *r = data;

	msleep(r->delay_ms);
	dsmil_mmio_chunk_put(r->mm, r->idx);
	kthread_complete_and_exit(&r->done, 0);
}

/* An access that finds every slot busy waits for a release, then goes on. */
static void dsmil_mmio_wait_slot_release(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 4, 1, 0);
	struct release_ctx r = { .mm = mm, .idx = 0, .delay_ms = 100 };
	struct dsmil_mmio_status st;
	struct task_struct *t;
	ktime_t t0;
	s64 ms;

	init_completion(&r.done);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dsmil_mmio_chunk_get(mm, 0)));
	mm->busy_wait_ms = 5000;
	t = kthread_run(release_later, &r, "dsmil-mmio-rel");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));

	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, rd(mm, CHUNK + 16, 8, NULL), 0);
	ms = ktime_ms_delta(ktime_get(), t0);
	wait_for_completion(&r.done);
	KUNIT_EXPECT_GE(test, ms, 80);
	KUNIT_EXPECT_LT(test, ms, 4000);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.all_busy, 0);
	KUNIT_EXPECT_EQ(test, st.resident_map[0], BIT_ULL(1));
	expect_consistent(test, mm, f);
}

static bool wait_resident(struct dsmil_mmio *mm, unsigned int n,
			  unsigned int timeout_ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(timeout_ms);

	while (READ_ONCE(mm->resident) != n) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(5000, 10000);
	}
	return true;
}

/* Idle chunks are unmapped after idle_ms; a chunk in use is not. */
static void dsmil_mmio_reap_idle(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 8, 40);
	struct dsmil_mmio_status st;
	void __iomem *a;

	KUNIT_ASSERT_EQ(test, touch(mm, 0), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 5), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 2);
	KUNIT_EXPECT_TRUE(test, wait_resident(mm, 0, 3000));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->unmap_calls), 2);

	a = dsmil_mmio_chunk_get(mm, 3);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	msleep(200);	/* five idle periods */
	KUNIT_EXPECT_EQ(test, READ_ONCE(mm->resident), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped[3]), 1);
	dsmil_mmio_chunk_put(mm, 3);
	KUNIT_EXPECT_TRUE(test, wait_resident(mm, 0, 3000));

	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.unmaps, 3);
	KUNIT_EXPECT_EQ(test, st.evictions, 0);
	expect_consistent(test, mm, f);
}

/* Teardown unmaps what is resident and leaves no reaper behind. */
static void dsmil_mmio_exit_unmaps(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 4, 60000);
	unsigned int i;

	for (i = 0; i < 6; i++)
		KUNIT_ASSERT_EQ(test, touch(mm, i), 0);
	KUNIT_EXPECT_TRUE(test, delayed_work_pending(&mm->reaper));
	end_instance(test, mm);
	/* 2 evictions + 4 at exit; @mm is gone, the fake remains. */
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->unmap_calls), 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped_now), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->violations), 0);
}

/*
 * Suspend unmaps every chunk nobody holds, leaves a held one mapped (the
 * fake counts an unmap under a user as a violation), and the region maps
 * again on demand afterwards.
 */
static void dsmil_mmio_unmap_all_suspend(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 4, 0);
	struct dsmil_mmio_status st;
	unsigned int i, busy = 99;
	void __iomem *a;

	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, touch(mm, i), 0);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_unmap_all(mm, &busy), 4);
	KUNIT_EXPECT_EQ(test, busy, 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(mm->resident), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped_now), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->unmap_calls), 4);
	/* Nothing left: a second call unmaps nothing. */
	KUNIT_EXPECT_EQ(test, dsmil_mmio_unmap_all(mm, &busy), 0);

	/* A held chunk stays mapped; the others go. */
	KUNIT_ASSERT_EQ(test, touch(mm, 5), 0);
	a = dsmil_mmio_chunk_get(mm, 6);
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	KUNIT_EXPECT_EQ(test, dsmil_mmio_unmap_all(mm, &busy), 1);
	KUNIT_EXPECT_EQ(test, busy, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped[6]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped[5]), 0);
	dsmil_mmio_chunk_put(mm, 6);

	/* After resume: an access maps its chunk again. */
	KUNIT_EXPECT_EQ(test, rd(mm, 16, 8, NULL), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->mapped[0]), 1);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.maps, 7);
	KUNIT_EXPECT_EQ(test, st.unmaps, 5);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->violations), 0);
	expect_consistent(test, mm, f);
}

/* ---- bounds and alignment ----------------------------------------------- */

#define SZ	(90 * CHUNK)

struct rw_case {
	const char *desc;
	u64 off;
	u8 width;
	u32 flags;
	u16 device;
	int expect;
	/* Lands in an (OFFLINE) device's window: raw writes get -ENODEV. */
	bool window;
};

static const struct rw_case rw_cases[] = {
	{ "first-byte", 0, 1, 0, 0, 0, true },
	{ "first-qword", 0, 8, 0, 0, 0, true },
	{ "chunk0-last-byte", CHUNK - 1, 1, 0, 0, 0 },
	{ "chunk0-last-qword", CHUNK - 8, 8, 0, 0, 0 },
	{ "chunk1-first-byte", CHUNK, 1, 0, 0, 0 },
	{ "chunk1-first-word", CHUNK, 2, 0, 0, 0 },
	{ "chunk-edge-44-dword", 44 * CHUNK - 4, 4, 0, 0, 0 },
	{ "chunk-edge-45-dword", 45 * CHUNK, 4, 0, 0, 0 },
	{ "last-byte", SZ - 1, 1, 0, 0, 0 },
	{ "last-word", SZ - 2, 2, 0, 0, 0 },
	{ "last-dword", SZ - 4, 4, 0, 0, 0 },
	{ "last-qword", SZ - 8, 8, 0, 0, 0 },
	{ "one-past-byte", SZ, 1, 0, 0, -ERANGE },
	{ "one-past-qword", SZ, 8, 0, 0, -ERANGE },
	{ "far-past", 2 * SZ, 4, 0, 0, -ERANGE },
	{ "u64-max-byte", U64_MAX, 1, 0, 0, -ERANGE },
	{ "u64-max-minus-7-qword", U64_MAX - 7, 8, 0, 0, -ERANGE },
	{ "u64-max-minus-1-word", U64_MAX - 1, 2, 0, 0, -ERANGE },
	{ "2^63-qword", 1ULL << 63, 8, 0, 0, -ERANGE },
	{ "width-0", 0, 0, 0, 0, -EINVAL },
	{ "width-3", 0, 3, 0, 0, -EINVAL },
	{ "width-16", 0, 16, 0, 0, -EINVAL },
	{ "width-255", 0, 255, 0, 0, -EINVAL },
	{ "misaligned-word", 1, 2, 0, 0, -EINVAL },
	{ "misaligned-dword", CHUNK - 2, 4, 0, 0, -EINVAL },
	{ "misaligned-qword-at-edge", CHUNK - 4, 8, 0, 0, -EINVAL },
	{ "misaligned-qword-u64-max", U64_MAX - 3, 8, 0, 0, -EINVAL },
	{ "unknown-flag", 0, 8, BIT(1), 0, -EINVAL },
	{ "device-without-flag", 0, 8, 0, 3, -EINVAL },
	{ "device-id-72", 0, 8, DSMIL_MMIO_F_DEVICE, 72, -EINVAL },
	{ "device-id-max", 0, 8, DSMIL_MMIO_F_DEVICE, 0xffff, -EINVAL },
	{ "device-window-one-past", DSMIL_WINDOW_SIZE, 1,
	  DSMIL_MMIO_F_DEVICE, 0, -ERANGE },
	{ "device-window-u64-max", U64_MAX - 7, 8, DSMIL_MMIO_F_DEVICE, 5,
	  -ERANGE },
	/* In range: the (OFFLINE) device's state decides, not the mapper. */
	{ "device-window-first", 0, 8, DSMIL_MMIO_F_DEVICE, 0, -ENODEV },
	{ "device-window-last", DSMIL_WINDOW_SIZE - 1, 1, DSMIL_MMIO_F_DEVICE,
	  71, -ENODEV },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_mmio_check_range_rw, rw_cases, desc);

/*
 * Every boundary, for reads and for writes: accepted accesses land on the
 * right byte; refused ones never reach the backend and are counted.
 */
static void dsmil_mmio_check_range_rw(struct kunit *test)
{
	const struct rw_case *c = test->param_value;
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil_mmio_rw rw = {
		.offset = c->off, .width = c->width, .flags = c->flags,
		.device = c->device, .value = 0x1122334455667788ULL,
	};
	struct dsmil_mmio_status st;

	KUNIT_EXPECT_EQ(test, dsmil_mmio_read(mm, &rw), c->expect);
	if (!c->expect)
		KUNIT_EXPECT_EQ(test, rw.value, fake_value(c->off, c->width));
	rw.value = 0xa5;
	KUNIT_EXPECT_EQ(test, dsmil_mmio_write(mm, &rw),
			c->window ? -ENODEV : c->expect);

	status(mm, &st);
	if (c->expect) {
		KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 0);
		KUNIT_EXPECT_EQ(test, st.refused, 2);
	} else if (c->window) {
		/* Read as asked; the write refused before the backend. */
		KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 1);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 0);
		KUNIT_EXPECT_EQ(test, st.refused, 1);
		KUNIT_EXPECT_EQ(test, st.bytes_read, c->width);
		KUNIT_EXPECT_EQ(test, st.bytes_written, 0);
	} else {
		KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 1);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 1);
		KUNIT_EXPECT_EQ(test, f->last_off, c->off);
		KUNIT_EXPECT_EQ(test, f->last_width, c->width);
		KUNIT_EXPECT_EQ(test, st.refused, 0);
		KUNIT_EXPECT_EQ(test, st.bytes_read, c->width);
		KUNIT_EXPECT_EQ(test, st.bytes_written, c->width);
	}
	expect_consistent(test, mm, f);
}

struct bulk_case {
	const char *desc;
	u64 off;
	u64 len;
	int expect;
	/* Touches an (OFFLINE) device's window: raw writes get -ENODEV. */
	bool window;
};

static const struct bulk_case bulk_cases[] = {
	{ "one-byte-at-0", 0, 1, 0, true },
	{ "whole-chunk-0", 0, CHUNK, 0, true },
	{ "after-the-windows", DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE,
	  CHUNK - DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE, 0 },
	{ "straddle-chunk-0-1", CHUNK - 3, 7, 0 },
	{ "ends-at-region-end", SZ - 5000, 5000, 0 },
	{ "last-byte", SZ - 1, 1, 0 },
	{ "4-chunks-unaligned", CHUNK + 123, 3 * CHUNK + 1, 0 },
	{ "bulk-max-unaligned", 10 * CHUNK + 4095, DSMIL_BULK_MAX, 0 },
	{ "one-past-end", SZ - 4, 5, -ERANGE },
	{ "starts-at-end", SZ, 1, -ERANGE },
	{ "u64-max", U64_MAX, 1, -ERANGE },
	{ "offset-plus-length-wraps", U64_MAX - 15, 32, -ERANGE },
	{ "wraps-to-zero", 1ULL << 63, 1ULL << 63, -EINVAL },
	{ "length-0", 0, 0, -EINVAL },
	{ "length-over-max", 0, DSMIL_BULK_MAX + 1, -EINVAL },
	{ "length-u64-max", 0, U64_MAX, -EINVAL },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_mmio_check_range_bulk, bulk_cases, desc);

/* Bulk ranges: all-or-nothing checks, the right bytes, page-sized pieces. */
static void dsmil_mmio_check_range_bulk(struct kunit *test)
{
	const struct bulk_case *c = test->param_value;
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	size_t buflen = min_t(u64, c->len, DSMIL_BULK_MAX);
	u8 *buf = test_vbuf(test, buflen ?: 1);
	u64 done = 1, i, bad = 0;

	KUNIT_EXPECT_EQ(test, bulk_read(mm, c->off, buf, c->len, &done),
			c->expect);
	if (c->expect) {
		KUNIT_EXPECT_EQ(test, done, 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->read_blocks), 0);
	} else {
		KUNIT_EXPECT_EQ(test, done, c->len);
		for (i = 0; i < c->len; i++)
			bad += buf[i] != fake_byte(c->off + i);
		KUNIT_EXPECT_EQ(test, bad, 0);
		/* Window bytes are read register by register. */
		KUNIT_EXPECT_GE(test, (u64)atomic_read(&f->read_blocks) +
				      atomic_read(&f->reads),
				DIV_ROUND_UP(c->len, PAGE_SIZE));
		/* The fake's data is the pattern: write it back. */
		KUNIT_EXPECT_EQ(test, bulk_write(mm, c->off, buf, c->len, &done),
				c->window ? -ENODEV : 0);
		KUNIT_EXPECT_EQ(test, done, c->window ? 0 : c->len);
		KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes),
				c->window ? 0 : c->len);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	}
	expect_consistent(test, mm, f);
}

/* A bulk write is refused whole: out of range, over the cap, map failure. */
static void dsmil_mmio_bulk_write_all_or_nothing(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 2, 0);
	u64 len = CHUNK + 2 * PAGE_SIZE, off = 2 * CHUNK - PAGE_SIZE, done;
	u8 *buf = test_vbuf(test, 2 * CHUNK + 16);
	struct dsmil_mmio_status st;
	u64 i;

	for (i = 0; i < 2 * CHUNK + 16; i++)
		buf[i] = fake_byte(off + i);

	/* Spans chunks 1, 2 and 3 with a cap of 2: refused before mapping. */
	KUNIT_EXPECT_EQ(test, bulk_write(mm, off, buf, len, &done), -E2BIG);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);
	/* Starts in range, ends one byte past the region. */
	KUNIT_EXPECT_EQ(test, bulk_write(mm, 8 * CHUNK - 100, buf, 101, &done),
			-ERANGE);
	KUNIT_EXPECT_EQ(test, done, 0);
	/* Second chunk fails to map: not one byte lands in the first. */
	f->fail_chunk = 2;
	f->fail_err = -EIO;
	KUNIT_EXPECT_EQ(test, bulk_write(mm, off, buf, 2 * PAGE_SIZE, &done),
			-EIO);
	KUNIT_EXPECT_EQ(test, done, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mm->chunks[1].users), 0);
	f->fail_chunk = -1;
	KUNIT_EXPECT_EQ(test, bulk_write(mm, off, buf, 2 * PAGE_SIZE, &done), 0);
	KUNIT_EXPECT_EQ(test, done, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);

	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.bytes_written, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, st.refused, 2);
	KUNIT_EXPECT_EQ(test, st.map_failures, 1);
	expect_consistent(test, mm, f);
}

/* A failed map (injected or from the backend) leaves no trace but counters. */
static void dsmil_mmio_map_failure_clean(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 1, 0);
	struct dsmil_mmio_status st;
	u64 val;

	atomic_set(&mm->fail_maps, 2);
	KUNIT_EXPECT_EQ(test, rd(mm, 16, 8, &val), -EIO);
	KUNIT_EXPECT_EQ(test, rd(mm, CHUNK, 8, &val), -EIO);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.map_failures, 2);
	KUNIT_EXPECT_EQ(test, st.maps, 0);
	KUNIT_EXPECT_EQ(test, st.resident, 0);
	KUNIT_EXPECT_EQ(test, st.ever_mapped[0], 0);
	KUNIT_EXPECT_EQ(test, mm->chunks[0].maps, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);	/* injected */
	KUNIT_EXPECT_EQ(test, atomic_read(&mm->fail_maps), 0);

	/* The knob is spent: the next map works. */
	KUNIT_EXPECT_EQ(test, rd(mm, 16, 8, &val), 0);
	KUNIT_EXPECT_EQ(test, val, fake_value(16, 8));

	/* Backend failure with the cap reached: the victim is gone, nothing else. */
	f->fail_chunk = 3;
	f->fail_err = -ENOMEM;
	KUNIT_EXPECT_EQ(test, rd(mm, 3 * CHUNK, 8, &val), -ENOMEM);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.map_failures, 3);
	KUNIT_EXPECT_EQ(test, st.resident, 0);
	KUNIT_EXPECT_EQ(test, st.ever_mapped[0], BIT_ULL(0));
	KUNIT_EXPECT_EQ(test, atomic_read(&mm->chunks[3].users), 0);
	KUNIT_EXPECT_TRUE(test, !mm->chunks[3].addr);
	f->fail_chunk = -1;
	KUNIT_EXPECT_EQ(test, rd(mm, 3 * CHUNK, 8, &val), 0);
	expect_consistent(test, mm, f);
}

/* Single writes carry exactly @width bytes of the value to the right place. */
static void dsmil_mmio_write_widths(struct kunit *test)
{
	static const u8 widths[] = { 1, 2, 4, 8 };
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 4, 2, 0);
	struct dsmil_mmio_status st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		struct dsmil_mmio_rw rw = {
			.offset = 3 * CHUNK - widths[i], .width = widths[i],
			.value = 0x8877665544332211ULL,
		};

		KUNIT_ASSERT_EQ(test, dsmil_mmio_write(mm, &rw), 0);
		KUNIT_EXPECT_EQ(test, f->last_off, 3 * CHUNK - widths[i]);
		KUNIT_EXPECT_EQ(test, f->last_width, widths[i]);
		KUNIT_EXPECT_EQ(test, f->last_val, 0x8877665544332211ULL);
	}
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.bytes_written, 15);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 1);
	expect_consistent(test, mm, f);
}

/* The sim backend keeps data across evictions; untouched memory reads 0. */
static void dsmil_mmio_sim_data_survives_eviction(struct kunit *test)
{
	struct dsmil_mmio *mm = make_mm(test, NULL, 4, 2, 0);
	size_t len = CHUNK + 2 * PAGE_SIZE;
	u64 off = CHUNK - PAGE_SIZE, done, val, i, bad = 0;
	u8 *buf = test_vbuf(test, len), *back = test_vbuf(test, len);
	struct dsmil_mmio_rw rw = { .offset = 2 * CHUNK + PAGE_SIZE + 8,
				    .width = 8, .value = 0x0123456789abcdefULL };

	for (i = 0; i < len; i++)
		buf[i] = i * 7 + (i >> 12);

	/* Spans three chunks, cap 2: refused whole. */
	KUNIT_EXPECT_EQ(test, bulk_write(mm, off, buf, len, &done), -E2BIG);
	/* One chunk at a time, each evicted by the next ones. */
	KUNIT_ASSERT_EQ(test, bulk_write(mm, off, buf, PAGE_SIZE, &done), 0);
	KUNIT_ASSERT_EQ(test, bulk_write(mm, CHUNK, buf + PAGE_SIZE,
					 CHUNK, &done), 0);
	KUNIT_ASSERT_EQ(test, dsmil_mmio_write(mm, &rw), 0);
	KUNIT_ASSERT_EQ(test, bulk_write(mm, 2 * CHUNK, buf + PAGE_SIZE + CHUNK,
					 PAGE_SIZE, &done), 0);
	KUNIT_ASSERT_EQ(test, rd(mm, 3 * CHUNK, 8, &val), 0);
	KUNIT_ASSERT_EQ(test, rd(mm, 2 * CHUNK + PAGE_SIZE + 8, 8, &val), 0);
	KUNIT_EXPECT_EQ(test, val, 0x0123456789abcdefULL);

	/* Reading across chunks (one held at a time) works at cap 2. */
	KUNIT_ASSERT_EQ(test, bulk_read(mm, off, back, len, &done), 0);
	KUNIT_EXPECT_EQ(test, done, len);
	for (i = 0; i < len; i++)
		bad += back[i] != buf[i];
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, rd(mm, 0, 8, &val), 0);
	KUNIT_EXPECT_EQ(test, val, 0);
	KUNIT_EXPECT_GE(test, mm->evictions, 4);
	KUNIT_EXPECT_EQ(test, mm->resident, 2);
	expect_consistent(test, mm, NULL);
}

/* Static stubs (dsmil_priv.h includes them where the kernel has them). */
#ifdef DSMIL_HAVE_STATIC_STUB
/*
 * The bounce path of a bulk write whose source faults: the nofault copy of
 * page @fault_page fails short (as when a source page was reclaimed after
 * the pre-fault), and while the fault is taken, holding no chunk, chunk 1
 * is evicted by two other chunks (cap 2).  Set while the case runs.
 */
static struct stale_ctx {
	struct dsmil_mmio *mm;
	unsigned int calls, fault_page;
	void __iomem *old_addr;
	u64 evictions;
} *stale;

static size_t stale_copy_nofault(void *dst, size_t n, struct iov_iter *from)
{
	if (stale->calls++ == stale->fault_page)
		return 0;
	return copy_from_iter(dst, n, from);
}

static size_t stale_copy_faulting(void *dst, size_t n, struct iov_iter *from)
{
	struct dsmil_mmio *mm = stale->mm;

	stale->old_addr = READ_ONCE(mm->chunks[1].addr);
	stale->evictions = mm->evictions;
	touch(mm, 2);
	touch(mm, 3);	/* chunk 1 is the least recently used: evicted */
	return copy_from_iter(dst, n, from);
}

/*
 * The span is taken again after the fault, and each page is written where
 * the chunk is mapped now: not through the address it had before the fault
 * (vunmap()ed by the eviction: a write there is a kernel fault, or lands in
 * another mapping).
 */
static void dsmil_mmio_bulk_write_remapped_during_fault(struct kunit *test)
{
	struct dsmil_mmio *mm = make_mm(test, NULL, 4, 2, 0);
	const size_t len = 4 * PAGE_SIZE;
	u8 *buf = test_vbuf(test, len), *back = test_vbuf(test, len);
	struct stale_ctx ctx = { .mm = mm, .fault_page = 2 };
	u64 done, i, bad = 0;

	for (i = 0; i < len; i++)
		buf[i] = i * 13 + (i >> 12) + 1;
	stale = &ctx;
	kunit_activate_static_stub(test, dsmil_mmio_copy_from_nofault,
				   stale_copy_nofault);
	kunit_activate_static_stub(test, dsmil_mmio_copy_from_faulting,
				   stale_copy_faulting);
	/* Raw region (chunk 1): no device window, no hand-off refusal. */
	KUNIT_EXPECT_EQ(test, bulk_write(mm, CHUNK + PAGE_SIZE, buf, len,
					 &done), 0);
	kunit_deactivate_static_stub(test, dsmil_mmio_copy_from_nofault);
	kunit_deactivate_static_stub(test, dsmil_mmio_copy_from_faulting);
	stale = NULL;
	KUNIT_EXPECT_EQ(test, done, len);
	KUNIT_ASSERT_TRUE(test, ctx.old_addr);
	KUNIT_EXPECT_GT(test, mm->evictions, ctx.evictions);
	if (READ_ONCE(mm->chunks[1].addr) == ctx.old_addr)
		kunit_skip(test, "the new mapping reused the old address");

	KUNIT_ASSERT_EQ(test, bulk_read(mm, CHUNK + PAGE_SIZE, back, len,
					&done), 0);
	for (i = 0; i < len; i++)
		bad += back[i] != buf[i];
	KUNIT_EXPECT_EQ(test, bad, 0);
	expect_consistent(test, mm, NULL);
}

#endif /* static stubs (6.3+) */

static void sim_usage(struct kunit *test, struct dsmil_mmio *mm,
		      struct dsmil_sim_usage *u)
{
	KUNIT_ASSERT_EQ(test, dsmil_mmio_sim_usage(mm, u), 0);
	kunit_info(test, "sim: pages=%lu kept=%lu budget=%lu dropped=%llu\n",
		   u->pages, u->kept, u->budget, u->dropped);
}

/*
 * The sim gives memory back: a sweep over every chunk leaves the resident
 * chunks' pages and the written ones, never the whole region; written
 * pages survive the sweep; past the cap on kept pages (max_resident
 * chunks' worth) the chunk unmapped longest ago loses its contents.
 */
static void dsmil_mmio_sim_memory_bounded(struct kunit *test)
{
	const unsigned int chunks = 16, cap = 2, pages = CHUNK / PAGE_SIZE;
	struct dsmil_mmio *mm = make_mm(test, NULL, chunks, cap, 0);
	struct dsmil_mmio_rw rw = { .offset = SZ_1M + 16, .width = 8,
				    .value = 0xfeedfacecafebeefULL };
	u8 *buf = test_vbuf(test, CHUNK);
	struct dsmil_sim_usage u;
	unsigned int i;
	u64 done, val;

	for (i = 0; i < CHUNK; i++)
		buf[i] = i * 13 + 1;
	KUNIT_ASSERT_EQ(test, dsmil_mmio_write(mm, &rw), 0);
	for (i = 0; i < chunks; i++)
		KUNIT_ASSERT_EQ(test, touch(mm, i), 0);
	sim_usage(test, mm, &u);
	/* Two resident chunks, and the one page of chunk 0 that holds data. */
	KUNIT_EXPECT_EQ(test, u.pages, cap * pages + 1);
	KUNIT_EXPECT_EQ(test, u.kept, 1);
	KUNIT_EXPECT_EQ(test, u.budget, cap * pages);
	KUNIT_EXPECT_EQ(test, u.dropped, 0);
	KUNIT_ASSERT_EQ(test, rd(mm, rw.offset, 8, &val), 0);
	KUNIT_EXPECT_EQ(test, val, rw.value);

	/*
	 * Fill chunks 4..7: when 5 is evicted, 0 (one page), 4 and 5 (a
	 * chunk each) are over the cap, and 0, unmapped longest ago, goes.
	 */
	for (i = 4; i < 8; i++)
		KUNIT_ASSERT_EQ(test, bulk_write(mm, (u64)i * CHUNK, buf, CHUNK,
						 &done), 0);
	sim_usage(test, mm, &u);
	KUNIT_EXPECT_EQ(test, u.dropped, 1);
	KUNIT_EXPECT_EQ(test, u.kept, 2 * pages);
	KUNIT_EXPECT_LE(test, u.pages, 2 * cap * pages);
	/* Chunk 4 kept its contents; chunk 0 lost its page. */
	memset(buf, 0, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, bulk_read(mm, 4 * CHUNK + CHUNK - PAGE_SIZE, buf,
					PAGE_SIZE, &done), 0);
	for (i = 0; i < PAGE_SIZE; i++)
		if (buf[i] != (u8)((CHUNK - PAGE_SIZE + i) * 13 + 1))
			break;
	KUNIT_EXPECT_EQ(test, i, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, rd(mm, rw.offset, 8, &val), 0);
	KUNIT_EXPECT_EQ(test, val, 0);
	sim_usage(test, mm, &u);
	KUNIT_EXPECT_LE(test, u.kept, u.budget);
	KUNIT_EXPECT_LE(test, u.pages, 2 * cap * pages);
	expect_consistent(test, mm, NULL);
}

/* Bulk read of @len bytes at @off into user memory at @ubuf. */
static int bulk_read_user(struct dsmil_mmio *mm, u64 off, unsigned long ubuf,
			  u64 len, u64 *done)
{
	struct dsmil_mmio_bulk b = { .offset = off, .length = len };
	struct iov_iter it;
	int ret;

	iov_iter_ubuf(&it, ITER_DEST, (void __user *)ubuf, len);
	ret = dsmil_mmio_bulk_read(mm, &b, &it);
	*done = b.done;
	return ret;
}

/* Bytes of user memory at @ubuf that differ from the region at @off. */
static unsigned int user_mismatches(struct kunit *test, unsigned long ubuf,
				    u64 off, size_t len)
{
	u8 *k = test_vbuf(test, len);
	unsigned int bad = 0;
	size_t i;

	KUNIT_ASSERT_EQ(test, copy_from_user(k, (void __user *)ubuf, len), 0);
	for (i = 0; i < len; i++)
		bad += k[i] != fake_byte(off + i);
	return bad;
}

/*
 * A backend with ->read_user fills a user buffer directly, piece by piece
 * (no bounce page, no ->read_block); kernel buffers still take the bounce
 * path; a fault in the user buffer ends the copy with -EFAULT and @done at
 * the last whole piece.
 */
static void dsmil_mmio_bulk_read_user_direct(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 4, 2, 0);
	const size_t len = 5 * PAGE_SIZE;
	const u64 off = CHUNK - 2 * PAGE_SIZE - 5;
	u8 *kbuf = test_vbuf(test, len);
	unsigned long u;
	u64 done;
	size_t i;

	u = dsmil_kunit_user_buf(test, 8 * PAGE_SIZE);
	/* Faulted in: no piece needs a second try. */
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)u, 8 * PAGE_SIZE), 0);

	/* Unaligned on both sides, across a chunk edge: 6 pieces. */
	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, off, u + 1, len, &done), 0);
	KUNIT_EXPECT_EQ(test, done, len);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_users), 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_blocks), 0);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u + 1, off, len), 0);

	/* A kernel buffer: the bounce path. */
	KUNIT_EXPECT_EQ(test, bulk_read(mm, off, kbuf, len, &done), 0);
	KUNIT_EXPECT_EQ(test, done, len);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_users), 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_blocks), 6);
	for (i = 0; i < len; i++)
		if (kbuf[i] != fake_byte(off + i))
			break;
	KUNIT_EXPECT_EQ(test, i, len);

	/* A hole in the user buffer after three pages. */
	KUNIT_ASSERT_EQ(test, vm_munmap(u + 3 * PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, 0, u, len, &done), -EFAULT);
	KUNIT_EXPECT_EQ(test, done, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u, 0, 3 * PAGE_SIZE), 0);
	/* A hole in the middle of a piece: -EFAULT, nothing counted done. */
	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, 0, u + 3 * PAGE_SIZE - 100, 200,
					     &done), -EFAULT);
	KUNIT_EXPECT_EQ(test, done, 0);
	/* Not counted as read: only whole pieces are. */
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->chunks[0].bytes_read),
			2 * (CHUNK - off) + 3 * PAGE_SIZE);

	/*
	 * A buffer never touched: each piece's first try meets a page fault,
	 * which is taken with the chunk released (the direct copy runs with
	 * page faults off), and the piece is read again.
	 */
	u = dsmil_kunit_user_buf(test, 4 * PAGE_SIZE);
	atomic_set(&f->read_users, 0);
	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, WIN_END, u, 4 * PAGE_SIZE,
					     &done), 0);
	KUNIT_EXPECT_EQ(test, done, 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_users), 8);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u, WIN_END, 4 * PAGE_SIZE),
			0);
	expect_consistent(test, mm, f);
}

/* A fatal signal stops a bulk read with partial progress, not a write. */
static void dsmil_mmio_bulk_read_fatal_signal(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 4, 0);
	size_t len = 8 * PAGE_SIZE;
	u8 *buf = test_vbuf(test, len);
	u64 done, i;

	f->kill_at_block = 3;
	KUNIT_EXPECT_EQ(test, bulk_read(mm, CHUNK - PAGE_SIZE, buf, len, &done),
			0);
	KUNIT_EXPECT_EQ(test, done, 3 * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, fatal_signal_pending(current));
	/* Already pending: nothing is read or written at all. */
	KUNIT_EXPECT_EQ(test, bulk_read(mm, 0, buf, len, &done), -EINTR);
	KUNIT_EXPECT_EQ(test, done, 0);
	KUNIT_EXPECT_EQ(test, bulk_write(mm, CHUNK, buf, len, &done), -EINTR);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 0);
	flush_signals(current);

	/* A signal arriving mid-write does not cut the write short. */
	for (i = 0; i < len; i++)
		buf[i] = fake_byte(CHUNK - PAGE_SIZE + i);
	f->kill_at_block = 2;
	KUNIT_EXPECT_EQ(test, bulk_write(mm, CHUNK - PAGE_SIZE, buf, len, &done),
			0);
	KUNIT_EXPECT_EQ(test, done, len);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), len);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	flush_signals(current);
	expect_consistent(test, mm, f);
}

struct hit_ctx {
	struct dsmil_mmio *mm;
	unsigned int idx;
	unsigned int loops;
	atomic_t *errors;
	struct completion done;
};

static int hit_loop(void *data)
{
	struct hit_ctx *h = data;
	unsigned int i;
	u64 val;

	for (i = 0; i < h->loops; i++)
		if (rd(h->mm, (u64)h->idx * CHUNK + 8 * (i % 512), 8, &val) ||
		    val != fake_value((u64)h->idx * CHUNK + 8 * (i % 512), 8))
			atomic_inc(h->errors);
	kthread_complete_and_exit(&h->done, 0);
}

/*
 * An access to a resident chunk takes no lock: with the mapper's mutex held
 * here, other threads still read two resident chunks to the end.
 */
static void dsmil_mmio_chunk_hit_lockless(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 8, 4, 0);
	struct hit_ctx h[2];
	atomic_t errors = ATOMIC_INIT(0);
	unsigned long left;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, touch(mm, 2), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 6), 0);

	mutex_lock(&mm->lock);
	for (i = 0; i < 2; i++) {
		h[i] = (struct hit_ctx){ .mm = mm, .idx = i ? 6 : 2,
					 .loops = 2000, .errors = &errors };
		init_completion(&h[i].done);
		if (IS_ERR(kthread_run(hit_loop, &h[i], "dsmil-hit%u", i))) {
			mutex_unlock(&mm->lock);
			KUNIT_FAIL(test, "kthread_run failed");
			return;
		}
	}
	left = wait_for_completion_timeout(&h[0].done, 20 * HZ);
	left = left ? wait_for_completion_timeout(&h[1].done, 20 * HZ) : 0;
	mutex_unlock(&mm->lock);
	KUNIT_EXPECT_NE_MSG(test, left, 0,
			    "hits blocked behind the mapper's lock");
	if (!left) {
		wait_for_completion(&h[0].done);
		wait_for_completion(&h[1].done);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&errors), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->chunks[2].hits), 2000);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->chunks[6].hits), 2000);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 2);
	expect_consistent(test, mm, f);
}

struct stress_ctx {
	struct dsmil_mmio *mm;
	u32 seed;
	unsigned long end;
	unsigned int ok;
	unsigned int busy;
	unsigned int bad;
	struct completion done;
};

static int stress_loop(void *data)
{
	struct stress_ctx *s = data;
	struct rnd_state rnd;
	u64 off, val;
	int ret;

	prandom_seed_state(&rnd, s->seed);
	while (time_before(jiffies, s->end)) {
		off = (prandom_u32_state(&rnd) % s->mm->num_chunks) * CHUNK +
		      (prandom_u32_state(&rnd) % (CHUNK / 8)) * 8;
		ret = rd(s->mm, off, 8, &val);
		if (!ret && val == fake_value(off, 8))
			s->ok++;
		else if (ret == -EBUSY)
			s->busy++;
		else
			s->bad++;
		if (!(s->ok % 64))
			cond_resched();
	}
	kthread_complete_and_exit(&s->done, 0);
}

/* Four threads, ten chunks, cap three: every promise holds under churn. */
static void dsmil_mmio_span_get_concurrent_churn(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 10, 3, 5);
	struct dsmil_mmio_status st;
	struct stress_ctx s[4];
	unsigned int i, ok = 0, busy = 0, bad = 0;

	mm->busy_wait_ms = 1000;
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		s[i] = (struct stress_ctx){ .mm = mm, .seed = 1234 + i,
					    .end = jiffies + HZ };
		init_completion(&s[i].done);
		KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(stress_loop, &s[i],
							    "dsmil-st%u", i)));
	}
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		wait_for_completion(&s[i].done);
		ok += s[i].ok;
		busy += s[i].busy;
		bad += s[i].bad;
	}
	kunit_info(test, "reads ok=%u busy=%u bad=%u maps=%u evictions=%llu\n",
		   ok, busy, bad, atomic_read(&f->map_calls), mm->evictions);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_GT(test, ok, 100);
	KUNIT_EXPECT_GT(test, mm->evictions, 10);
	KUNIT_EXPECT_LE(test, atomic_read(&f->max_mapped), 3);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.all_busy, busy);
	KUNIT_EXPECT_EQ(test, st.hits + st.maps, (u64)ok);
	expect_consistent(test, mm, f);
}

/* The status ioctl's view: per-chunk entries and the bookkeeping figure. */
static void dsmil_mmio_fill_status_chunks(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil_chunk_stat *cs;
	struct dsmil_mmio_status st = {};
	unsigned int n;

	cs = kunit_kcalloc(test, 100, sizeof(*cs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cs);
	KUNIT_ASSERT_EQ(test, touch(mm, 89), 0);
	KUNIT_ASSERT_EQ(test, touch(mm, 89), 0);
	KUNIT_ASSERT_EQ(test, rd(mm, 64 * CHUNK, 2, NULL), 0);

	n = dsmil_mmio_fill_status(mm, &st, cs, 100);
	KUNIT_EXPECT_EQ(test, n, 90);
	KUNIT_EXPECT_EQ(test, st.num_chunks, 90);
	KUNIT_EXPECT_EQ(test, st.chunk_size, CHUNK);
	KUNIT_EXPECT_EQ(test, st.region_size, 90 * CHUNK);
	KUNIT_EXPECT_EQ(test, st.max_resident, 8);
	KUNIT_EXPECT_EQ(test, st.resident, 2);
	KUNIT_EXPECT_EQ(test, st.resident_map[0], 0);
	KUNIT_EXPECT_EQ(test, st.resident_map[1], BIT_ULL(0) | BIT_ULL(25));
	KUNIT_EXPECT_EQ(test, cs[89].index, 89);
	KUNIT_EXPECT_EQ(test, cs[89].resident, 1);
	KUNIT_EXPECT_EQ(test, cs[89].ever_mapped, 1);
	KUNIT_EXPECT_EQ(test, cs[89].maps, 1);
	KUNIT_EXPECT_EQ(test, cs[89].hits, 1);
	KUNIT_EXPECT_EQ(test, cs[89].bytes_read, 16);
	KUNIT_EXPECT_EQ(test, cs[64].bytes_read, 2);
	KUNIT_EXPECT_EQ(test, cs[0].resident, 0);
	KUNIT_EXPECT_EQ(test, cs[0].ever_mapped, 0);
	KUNIT_EXPECT_EQ(test, cs[0].idle_ms, 0);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_fill_status(mm, &st, cs, 3), 3);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_fill_status(mm, &st, NULL, 90), 0);

	/* The brief's budget: at most 16 KiB of bookkeeping for 90 chunks. */
	kunit_info(test, "bookkeeping for 90 chunks: %u bytes (%zu per chunk)\n",
		   st.bookkeeping, sizeof(struct dsmil_chunk));
	KUNIT_EXPECT_LE(test, st.bookkeeping, 16384);
	KUNIT_EXPECT_GE(test, st.bookkeeping, 90 * sizeof(struct dsmil_chunk));
	expect_consistent(test, mm, f);
}

/* Device windows: range checked first, then the state machine decides. */
static void dsmil_mmio_check_device_window(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil_mmio_bulk b = {
		.offset = 0, .length = DSMIL_WINDOW_SIZE,
		.flags = DSMIL_MMIO_F_DEVICE, .device = 13,
	};
	struct kvec kv;
	struct iov_iter it;
	const char *why;
	u8 *buf = test_vbuf(test, 2 * DSMIL_WINDOW_SIZE);
	u64 pos;

	/* Device 13 is group 1, index 1: 64 KiB + 4 KiB. */
	KUNIT_EXPECT_EQ(test, dsmil_mmio_check_range(mm, 0x10, 8,
						     DSMIL_MMIO_F_DEVICE, 13,
						     &pos, &why), 0);
	KUNIT_EXPECT_EQ(test, pos, 0x11010);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_check_range(mm, 0, DSMIL_WINDOW_SIZE,
						     DSMIL_MMIO_F_DEVICE, 71,
						     &pos, &why), 0);
	KUNIT_EXPECT_EQ(test, pos, 5 * DSMIL_GROUP_STRIDE +
				   11 * DSMIL_WINDOW_SIZE);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_check_range(mm, 1, DSMIL_WINDOW_SIZE,
						     DSMIL_MMIO_F_DEVICE, 71,
						     &pos, &why), -ERANGE);
	KUNIT_EXPECT_STREQ(test, why, "range");

	/* A fresh instance's devices are OFFLINE: refused, backend untouched. */
	kv = (struct kvec){ .iov_base = buf, .iov_len = DSMIL_WINDOW_SIZE };
	iov_iter_kvec(&it, ITER_DEST, &kv, 1, DSMIL_WINDOW_SIZE);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_read(mm, &b, &it), -ENODEV);
	b.length = DSMIL_WINDOW_SIZE + 1;
	kv.iov_len = b.length;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, b.length);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_write(mm, &b, &it), -ERANGE);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->refused), 2);
	expect_consistent(test, mm, f);
}

/* ---- raw writes and device windows ------------------------------------- */

#define WIN(g, i)	((g) * DSMIL_GROUP_STRIDE + (i) * DSMIL_WINDOW_SIZE)

/*
 * Devices 0:0..0:8 ACTIVE; 0:9..0:11 (quarantined) and every other group
 * OFFLINE.  The SMI verification is faked: only the states matter here.
 */
static void windows_setup(struct kunit *test, struct dsmil_mmio *mm)
{
	struct dsmil_state *st = &dsmil_from_mmio(mm)->state;
	unsigned int id;

	dsmil_kunit_verify_install(test, st);
	for (id = 0; id <= 8; id++)
		dsmil_kunit_drive(test, st, id, DSMIL_DEV_ACTIVE);
}

/*
 * Device-window bulk reads take the bounce page and 32-bit register reads
 * even into user memory: registers may not take the direct path's 64-bit
 * reads.  Bytes of a window gap read raw go direct.
 */
static void dsmil_mmio_bulk_read_device_bounced(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 90, 8, 0);
	struct dsmil_mmio_bulk b = {
		.length = 256, .flags = DSMIL_MMIO_F_DEVICE, .device = 3,
	};
	struct iov_iter it;
	unsigned long u;
	u64 done;

	windows_setup(test, mm);
	u = dsmil_kunit_user_buf(test, PAGE_SIZE);

	iov_iter_ubuf(&it, ITER_DEST, (void __user *)u, b.length);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_read(mm, &b, &it), 0);
	KUNIT_EXPECT_EQ(test, b.done, 256);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_width[4]), 64);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 64);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_users), 0);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u, WIN(0, 3), 256), 0);

	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, WIN(0, 12), u, 256, &done), 0);
	KUNIT_EXPECT_EQ(test, done, 256);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 64);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_users), 1);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u, WIN(0, 12), 256), 0);
	expect_consistent(test, mm, f);
}

/*
 * A backend with ->write_user takes a raw-region bulk write straight from
 * the user buffer, piece by piece; window pieces still go register by
 * register from the bounce page.
 */
static void dsmil_mmio_bulk_write_user_direct(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 90, 8, 0);
	const size_t len = 5 * PAGE_SIZE;
	const u64 off = CHUNK - 2 * PAGE_SIZE - 5;
	u8 *kbuf = test_vbuf(test, WIN(1, 0));
	struct dsmil_mmio_bulk b = { .offset = off, .length = len };
	struct iov_iter it;
	unsigned long u;
	size_t i;

	windows_setup(test, mm);
	u = dsmil_kunit_user_buf(test, 8 * PAGE_SIZE);
	for (i = 0; i < len; i++)
		kbuf[i] = fake_byte(off + i);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)u + 1, kbuf, len), 0);
	iov_iter_ubuf(&it, ITER_SOURCE, (void __user *)u + 1, len);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_write(mm, &b, &it), 0);
	KUNIT_EXPECT_EQ(test, b.done, len);
	/* Past the windows in pieces of up to 64 KiB, split at the chunk. */
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_users), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), len);

	/* Windows 0:7 and 0:8: register by register; then a window gap, direct. */
	for (i = 0; i < WIN(1, 0); i++)
		kbuf[i] = fake_byte(i);
	b = (struct dsmil_mmio_bulk){ .offset = WIN(0, 7),
				      .length = WIN(0, 9) - WIN(0, 7) };
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)u, kbuf + WIN(0, 7),
					   b.length), 0);
	iov_iter_ubuf(&it, ITER_SOURCE, (void __user *)u, b.length);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_write(mm, &b, &it), 0);
	KUNIT_EXPECT_EQ(test, b.done, 2 * DSMIL_WINDOW_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_width[4]),
			2 * DSMIL_WINDOW_SIZE / 4);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_users), 2);
	b = (struct dsmil_mmio_bulk){ .offset = WIN(0, 12),
				      .length = WIN(1, 0) - WIN(0, 12) };
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)u, kbuf + WIN(0, 12),
					   b.length), 0);
	iov_iter_ubuf(&it, ITER_SOURCE, (void __user *)u, b.length);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_write(mm, &b, &it), 0);
	/* Below the end of the windows: page by page. */
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_users), 2 + 4);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	expect_consistent(test, mm, f);
}

/*
 * A direct piece whose source goes away half-way: the bytes that landed
 * before the fault are counted as done, so that done is what the backend
 * received (the audit and the caller both read it).  Before, the landed
 * part of the piece was dropped from done: 64 KiB instead of 72 KiB here.
 */
static void dsmil_mmio_bulk_write_user_partial(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 90, 8, 0);
	const size_t len = 2 * SZ_64K;
	const u64 off = 2 * CHUNK;
	u8 *kbuf = test_vbuf(test, len);
	struct dsmil_mmio_bulk b = { .offset = off, .length = len };
	struct iov_iter it;
	unsigned long u;
	size_t i;

	windows_setup(test, mm);
	u = dsmil_kunit_user_buf(test, len);
	for (i = 0; i < len; i++)
		kbuf[i] = fake_byte(off + i);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)u, kbuf, len), 0);
	/* Gone while the first piece is written: the second one faults. */
	f->unmap_user = u + SZ_64K + 2 * PAGE_SIZE;
	f->unmap_at_user_write = 1;
	iov_iter_ubuf(&it, ITER_SOURCE, (void __user *)u, len);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_write(mm, &b, &it), -EFAULT);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes),
			SZ_64K + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, b.done, atomic64_read(&f->written_bytes));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	expect_consistent(test, mm, f);
}

/*
 * Registers are read once: a raw read of a window into a fresh (never
 * touched) user buffer faults the buffer in before it reads, where it used
 * to read the first register, fail to store it, and read it again.
 */
static void dsmil_mmio_bulk_read_window_fresh_buffer(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 90, 8, 0);
	unsigned long u;
	u64 done;

	windows_setup(test, mm);
	u = dsmil_kunit_user_buf(test, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, WIN(0, 3), u, 256, &done), 0);
	KUNIT_EXPECT_EQ(test, done, 256);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_user_regs), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 64);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u, WIN(0, 3), 256), 0);
	expect_consistent(test, mm, f);
}

static int mmio_policy_refuses(struct dsmil_state *st)
{
	return -EACCES;
}

/*
 * allow_writes and lockdown hold at the hand-off for raw bytes outside
 * every window too, where no device's state is checked: a write that
 * passed its first check is refused at the backend once the policy says
 * no.  Before, such writes reached the backend.
 */
static void dsmil_mmio_handoff_raw_write_policy(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 90, 8, 0);
	struct dsmil *dsm = dsmil_from_mmio(mm);
	struct dsmil_mmio_rw rw = { .offset = 2 * CHUNK, .width = 4,
				    .value = 0x5a };
	u8 *buf = test_vbuf(test, 2 * PAGE_SIZE);
	u64 refused, done = 1;

	windows_setup(test, mm);
	dsm->state.write_policy = mmio_policy_refuses;
	refused = atomic64_read(&dsm->state.handoff_refused);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_write(mm, &rw), -EACCES);
	KUNIT_EXPECT_EQ(test, bulk_write(mm, WIN_END, buf, 2 * PAGE_SIZE,
					 &done), -EACCES);
	KUNIT_EXPECT_EQ(test, done, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&dsm->state.handoff_refused),
			refused + 2);
	/* Reads are not writes: the policy does not apply to them. */
	rw.value = 0;
	KUNIT_EXPECT_EQ(test, dsmil_mmio_read(mm, &rw), 0);
	dsm->state.write_policy = NULL;
	KUNIT_EXPECT_EQ(test, dsmil_mmio_write(mm, &rw), 0);
	expect_consistent(test, mm, f);
}

struct win_case {
	const char *desc;
	u64 off;
	u64 len;	/* 8: a single qword write; else a bulk write */
	int expect;
};

static const struct win_case win_cases[] = {
	{ "0:0-active-first-qword", WIN(0, 0), 8, 0 },
	{ "0:8-active-last-qword", WIN(0, 9) - 8, 8, 0 },
	{ "0:9-quarantined", WIN(0, 9), 8, -EPERM },
	{ "0:11-quarantined-last-qword", WIN(0, 12) - 8, 8, -EPERM },
	{ "group0-gap-first-qword", WIN(0, 12), 8, 0 },
	{ "group0-gap-last-qword", WIN(1, 0) - 8, 8, 0 },
	{ "1:0-offline", WIN(1, 0), 8, -ENODEV },
	{ "1:9-quarantined-offline", WIN(1, 9) + 0x100, 8, -EPERM },
	{ "5:11-offline-last-qword", WIN(5, 12) - 8, 8, -ENODEV },
	{ "after-the-windows", WIN_END, 8, 0 },
	{ "bulk-0:0-to-0:8", 0, WIN(0, 9), 0 },
	{ "bulk-0:8-into-0:9-one-byte", WIN(0, 9) - 16, 17, -EPERM },
	{ "bulk-0:0-to-0:9", 0, WIN(0, 10), -EPERM },
	{ "bulk-0:0-unaligned-to-0:9", 0x123, WIN(0, 9) - 0x123 + 1, -EPERM },
	{ "bulk-gap-up-to-1:0", WIN(0, 12), WIN(1, 0) - WIN(0, 12), 0 },
	{ "bulk-gap-into-1:0", WIN(0, 12), WIN(1, 0) - WIN(0, 12) + 1,
	  -ENODEV },
	{ "bulk-whole-chunk-0", 0, CHUNK, -EPERM },
	{ "bulk-from-5:11-last-byte", WIN(5, 12) - 1, 2, -ENODEV },
	{ "bulk-after-the-windows", WIN_END, CHUNK - WIN_END, 0 },
};

KUNIT_ARRAY_PARAM_DESC(dsmil_mmio_check_windows_raw_write, win_cases, desc);

/*
 * A raw write touching a device window passes the device-scoped write
 * check for every window it touches, before anything is mapped or written;
 * refusals count under the state machine's reason, not as bad arguments.
 */
static void dsmil_mmio_check_windows_raw_write(struct kunit *test)
{
	const struct win_case *c = test->param_value;
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil *dsm = dsmil_from_mmio(mm);
	u8 *buf = test_vbuf(test, c->len);
	struct dsmil_mmio_status st;
	u64 i, done = 1;
	int ret;

	windows_setup(test, mm);
	for (i = 0; i < c->len; i++)
		buf[i] = fake_byte(c->off + i);
	if (c->len == 8) {
		struct dsmil_mmio_rw rw = { .offset = c->off, .width = 8,
					    .value = 0x5a };

		ret = dsmil_mmio_write(mm, &rw);
	} else {
		ret = bulk_write(mm, c->off, buf, c->len, &done);
	}
	KUNIT_EXPECT_EQ(test, ret, c->expect);

	status(mm, &st);
	KUNIT_EXPECT_EQ(test,
			atomic64_read(&dsm->refusals[DSMIL_REASON_BAD_ARG]), 0);
	if (c->expect) {
		KUNIT_EXPECT_EQ(test, atomic_read(&f->map_calls), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 0);
		KUNIT_EXPECT_EQ(test, st.bytes_written, 0);
		KUNIT_EXPECT_EQ(test, st.refused, 1);
		if (c->len != 8)
			KUNIT_EXPECT_EQ(test, done, 0);
		KUNIT_EXPECT_EQ(test,
				atomic64_read(&dsm->refusals[c->expect == -EPERM ?
					DSMIL_REASON_QUARANTINED :
					DSMIL_REASON_STATE]), 1);
	} else {
		KUNIT_EXPECT_EQ(test, st.bytes_written, c->len);
		KUNIT_EXPECT_EQ(test, st.refused, 0);
		if (c->len == 8) {
			KUNIT_EXPECT_EQ(test, f->last_off, c->off);
		} else {
			KUNIT_EXPECT_EQ(test, done, c->len);
			KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes),
					c->len);
			KUNIT_EXPECT_EQ(test,
					atomic_read(&f->write_mismatches), 0);
		}
	}
	expect_consistent(test, mm, f);
}

/* Emergency stop closes the windows to raw writes; raw reads stay open. */
static void dsmil_mmio_check_windows_estop_locked(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil_state *st = &dsmil_from_mmio(mm)->state;
	struct dsmil_mmio_rw rw = { .offset = WIN(0, 1) + 8, .width = 8 };
	unsigned int locked = 0, in_doubt = 0;

	windows_setup(test, mm);
	KUNIT_ASSERT_EQ(test, dsmil_mmio_write(mm, &rw), 0);
	KUNIT_ASSERT_EQ(test, atomic_read(&f->writes), 1);
	KUNIT_ASSERT_EQ(test, dsmil_state_estop(st, 0, &locked, &in_doubt), 0);
	KUNIT_EXPECT_GT(test, locked, 0);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_write(mm, &rw), -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 1);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_read(mm, &rw), 0);
	KUNIT_EXPECT_EQ(test, rw.value, fake_value(WIN(0, 1) + 8, 8));
	expect_consistent(test, mm, f);
}

/* ---- the hand-off, hold-and-wait, register widths ---------------------- */

struct writer_ctx {
	struct dsmil_mmio *mm;
	u64 off;
	const void *buf;
	u64 len;
	u64 done;
	int ret;
	struct completion finished;
};

static int writer_thread(void *data)
{
	struct writer_ctx *w = data;

	w->ret = bulk_write(w->mm, w->off, w->buf, w->len, &w->done);
	kthread_complete_and_exit(&w->finished, 0);
}

static void start_writer(struct kunit *test, struct writer_ctx *w,
			 struct dsmil_mmio *mm, u64 off, const void *buf,
			 u64 len)
{
	struct task_struct *t;

	*w = (struct writer_ctx){ .mm = mm, .off = off, .buf = buf,
				  .len = len, .ret = 1 };
	init_completion(&w->finished);
	t = kthread_run(writer_thread, w, "dsmil-mmio-wr");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
}

struct stop_ctx {
	struct dsmil_mmio *mm;
	struct fake_mmio *f;
	unsigned int locked, in_doubt;
	s64 bytes_at_return;	/* bytes the fake had taken when it returned */
	int ret;
	struct completion finished;
};

static int stop_thread(void *data)
{
	struct stop_ctx *s = data;

	s->ret = dsmil_state_estop(&dsmil_from_mmio(s->mm)->state, 0,
				   &s->locked, &s->in_doubt);
	s->bytes_at_return = atomic64_read(&s->f->written_bytes);
	kthread_complete_and_exit(&s->finished, 0);
}

/*
 * An emergency stop fences a bulk write at the hardware: the write is held
 * in the middle of page 3 (DSMIL0D3's window) while group 0 is stopped.
 * The stop waits for that page, the write is refused at page 4's hand-off,
 * and not one byte reaches the backend after the stop returned.
 */
static void dsmil_mmio_handoff_estop_fences_bulk_write(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 90, 8, 0);
	struct dsmil_state *st = &dsmil_from_mmio(mm)->state;
	const u64 len = WIN(0, 9);	/* 0:0 .. 0:8, nine ACTIVE windows */
	u8 *buf = test_vbuf(test, len);
	struct stop_ctx s = { .mm = mm, .f = f };
	struct dsmil_mmio_status ms;
	struct writer_ctx w;
	struct task_struct *t;
	unsigned int i;
	u64 b;

	windows_setup(test, mm);
	for (b = 0; b < len; b++)
		buf[b] = fake_byte(b);
	f->gate_off = WIN(0, 3) + 64;
	start_writer(test, &w, mm, 0, buf, len);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&f->gate_reached,
							    30 * HZ));

	init_completion(&s.finished);
	t = kthread_run(stop_thread, &s, "dsmil-mmio-stop");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	/* The stop has locked the group when device 0 is LOCKED. */
	for (i = 0; i < 30000 && READ_ONCE(st->dev[0].state) !=
				 DSMIL_DEV_LOCKED; i++)
		usleep_range(1000, 2000);
	KUNIT_EXPECT_EQ(test, READ_ONCE(st->dev[0].state), DSMIL_DEV_LOCKED);
	complete(&f->gate_open);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&s.finished,
							    30 * HZ));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w.finished,
							    30 * HZ));

	KUNIT_EXPECT_EQ(test, s.ret, 0);
	KUNIT_EXPECT_EQ(test, s.in_doubt, 0);
	KUNIT_EXPECT_EQ(test, w.ret, -ENODEV);
	/* Pages 0..3 landed (3 was at the hardware when the stop came). */
	KUNIT_EXPECT_EQ(test, w.done, 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), 4 * PAGE_SIZE);
	/* Nothing reached the backend after the stop returned. */
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes),
			s.bytes_at_return);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	status(mm, &ms);
	KUNIT_EXPECT_EQ(test, ms.bytes_written, 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ms.refused, 1);
	KUNIT_EXPECT_GE(test, atomic64_read(&st->handoff_refused), 1);
	/* Later writes are refused before anything is mapped or written. */
	KUNIT_EXPECT_EQ(test, bulk_write(mm, 0, buf, PAGE_SIZE, &b), -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), 4 * PAGE_SIZE);
	expect_consistent(test, mm, f);
}

/* Poll (bounded) until @cond or @c completes. */
#define WAIT_UNTIL(cond, c)						\
	({								\
		unsigned int __i;					\
		for (__i = 0; __i < 30000 && !(cond) &&			\
			      !completion_done(c); __i++)		\
			usleep_range(1000, 2000);			\
		(cond) || completion_done(c);				\
	})

/*
 * No hold-and-wait: two bulk writers whose spans together need more slots
 * than the cap.  With cap 2 and chunk 2 held by the test, writer A (chunks
 * 0-1) finds no room for its span; writer B (chunks 2-3) starts; then the
 * test lets chunk 2 go.  A writer that held chunk 0 while waiting for
 * chunk 1 (and B chunk 2 while waiting for 3) would wait for the other
 * until both failed with -EBUSY; a writer that waits holding nothing lets
 * the other through, and both complete.
 */
static void dsmil_mmio_span_get_no_hold_and_wait(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm(test, &f, 4, 2, 0);
	const u64 len = 2 * PAGE_SIZE;
	const u64 off_a = CHUNK - PAGE_SIZE, off_b = 3 * CHUNK - PAGE_SIZE;
	u8 *buf_a = test_vbuf(test, len), *buf_b = test_vbuf(test, len);
	struct writer_ctx a, b;
	struct dsmil_mmio_status st;
	u64 i;

	for (i = 0; i < len; i++) {
		buf_a[i] = fake_byte(off_a + i);
		buf_b[i] = fake_byte(off_b + i);
	}
	/* Long enough for a slow guest; an old-style deadlock ends there. */
	mm->busy_wait_ms = 3000;
	KUNIT_ASSERT_FALSE(test, IS_ERR(dsmil_mmio_chunk_get(mm, 2)));

	start_writer(test, &a, mm, off_a, buf_a, len);
	KUNIT_EXPECT_TRUE(test, WAIT_UNTIL(atomic_read(&mm->slot_waiters) >= 1,
					   &a.finished));
	start_writer(test, &b, mm, off_b, buf_b, len);
	KUNIT_EXPECT_TRUE(test, WAIT_UNTIL(atomic_read(&mm->slot_waiters) >= 2,
					   &b.finished));
	dsmil_mmio_chunk_put(mm, 2);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&a.finished,
							    30 * HZ));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&b.finished,
							    30 * HZ));

	KUNIT_EXPECT_EQ(test, a.ret, 0);
	KUNIT_EXPECT_EQ(test, b.ret, 0);
	KUNIT_EXPECT_EQ(test, a.done, len);
	KUNIT_EXPECT_EQ(test, b.done, len);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->written_bytes), 2 * len);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	status(mm, &st);
	KUNIT_EXPECT_EQ(test, st.all_busy, 0);
	KUNIT_EXPECT_EQ(test, st.bytes_written, 2 * len);
	expect_consistent(test, mm, f);
}

/*
 * Inside device windows every access is 32 bits wide (bytes at unaligned
 * ends), for raw and device-scoped transfers alike; outside them the block
 * accessors and the direct path serve.  A raw read of groups 0 and 1 into
 * user memory: 24 windows of 1024 register reads (the direct path's
 * register variant), 8 gap pages direct.
 */
static void dsmil_mmio_window_register_width(struct kunit *test)
{
	struct fake_mmio *f;
	struct dsmil_mmio *mm = make_mm_ops(test, &fake_user_ops, &f, 90, 8, 0);
	const u64 len = 2 * DSMIL_GROUP_STRIDE;
	const unsigned int regs = DSMIL_WINDOW_SIZE / 4;
	struct dsmil_mmio_bulk b = {
		.offset = 2, .length = 9, .flags = DSMIL_MMIO_F_DEVICE,
		.device = 3,
	};
	u8 *buf = test_vbuf(test, len);
	struct kvec kv = { .iov_base = buf, .iov_len = 9 };
	struct iov_iter it;
	unsigned long u;
	u64 done, i;

	windows_setup(test, mm);
	u = dsmil_kunit_user_buf(test, len);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)u, len), 0);
	KUNIT_EXPECT_EQ(test, bulk_read_user(mm, 0, u, len, &done), 0);
	KUNIT_EXPECT_EQ(test, done, len);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_width[4]),
			2 * DSMIL_DEVS_PER_GROUP * regs);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->reads),
			2 * DSMIL_DEVS_PER_GROUP * regs);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_users),
			len / PAGE_SIZE - 2 * DSMIL_DEVS_PER_GROUP);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_user_regs),
			2 * DSMIL_DEVS_PER_GROUP);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_blocks), 0);
	KUNIT_EXPECT_EQ(test, user_mismatches(test, u, 0, len), 0);

	/* Device-scoped, unaligned: bytes 2-3, one register, bytes 8-10. */
	atomic_set(&f->reads, 0);
	atomic_set(&f->read_width[4], 0);
	iov_iter_kvec(&it, ITER_DEST, &kv, 1, 9);
	KUNIT_EXPECT_EQ(test, dsmil_mmio_bulk_read(mm, &b, &it), 0);
	KUNIT_EXPECT_EQ(test, b.done, 9);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_width[1]), 5);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_width[4]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->reads), 6);
	for (i = 0; i < 9; i++)
		if (buf[i] != fake_byte(WIN(0, 3) + 2 + i))
			break;
	KUNIT_EXPECT_EQ(test, i, 9);

	/* Writes: nine windows, then a gap page through the block accessor. */
	for (i = 0; i < len; i++)
		buf[i] = fake_byte(i);
	KUNIT_EXPECT_EQ(test, bulk_write(mm, 0, buf, WIN(0, 9), &done), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_width[4]), 9 * regs);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->writes), 9 * regs);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 0);
	KUNIT_EXPECT_EQ(test, bulk_write(mm, WIN(0, 12), buf + WIN(0, 12),
					 PAGE_SIZE, &done), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_blocks), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->read_width[8]), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_width[8]), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->write_mismatches), 0);
	expect_consistent(test, mm, f);
}

static struct kunit_case dsmil_mmio_cases[] = {
	KUNIT_CASE_PARAM(dsmil_mmio_init_config, dsmil_mmio_init_config_gen_params),
	KUNIT_CASE(dsmil_mmio_init_default_backend),
	KUNIT_CASE(dsmil_mmio_map_on_demand),
	KUNIT_CASE(dsmil_mmio_evict_lru_order),
	KUNIT_CASE_PARAM(dsmil_mmio_evict_cap_respected, dsmil_mmio_evict_cap_respected_gen_params),
	KUNIT_CASE(dsmil_mmio_evict_busy_never),
	KUNIT_CASE(dsmil_mmio_wait_slot_release),
	KUNIT_CASE_SLOW(dsmil_mmio_reap_idle),
	KUNIT_CASE(dsmil_mmio_exit_unmaps),
	KUNIT_CASE(dsmil_mmio_unmap_all_suspend),
	KUNIT_CASE_PARAM(dsmil_mmio_check_range_rw, dsmil_mmio_check_range_rw_gen_params),
	KUNIT_CASE_PARAM(dsmil_mmio_check_range_bulk, dsmil_mmio_check_range_bulk_gen_params),
	KUNIT_CASE(dsmil_mmio_bulk_write_all_or_nothing),
	KUNIT_CASE(dsmil_mmio_map_failure_clean),
	KUNIT_CASE(dsmil_mmio_write_widths),
	KUNIT_CASE(dsmil_mmio_sim_data_survives_eviction),
#ifdef DSMIL_HAVE_STATIC_STUB
	KUNIT_CASE(dsmil_mmio_bulk_write_remapped_during_fault),
#endif
	KUNIT_CASE_SLOW(dsmil_mmio_sim_memory_bounded),
	KUNIT_CASE(dsmil_mmio_bulk_read_fatal_signal),
	KUNIT_CASE(dsmil_mmio_chunk_hit_lockless),
	KUNIT_CASE_SLOW(dsmil_mmio_span_get_concurrent_churn),
	KUNIT_CASE(dsmil_mmio_bulk_read_user_direct),
	KUNIT_CASE(dsmil_mmio_bulk_write_user_direct),
	KUNIT_CASE(dsmil_mmio_bulk_write_user_partial),
	KUNIT_CASE(dsmil_mmio_handoff_raw_write_policy),
	KUNIT_CASE(dsmil_mmio_bulk_read_window_fresh_buffer),
	KUNIT_CASE(dsmil_mmio_bulk_read_device_bounced),
	KUNIT_CASE(dsmil_mmio_fill_status_chunks),
	KUNIT_CASE(dsmil_mmio_check_device_window),
	KUNIT_CASE_PARAM(dsmil_mmio_check_windows_raw_write,
			 dsmil_mmio_check_windows_raw_write_gen_params),
	KUNIT_CASE(dsmil_mmio_check_windows_estop_locked),
	KUNIT_CASE(dsmil_mmio_handoff_estop_fences_bulk_write),
	KUNIT_CASE_SLOW(dsmil_mmio_span_get_no_hold_and_wait),
	KUNIT_CASE(dsmil_mmio_window_register_width),
	{}
};

static struct kunit_suite dsmil_mmio_suite = {
	.name = "dsmil_mmio",
	.test_cases = dsmil_mmio_cases,
};

kunit_test_suite(dsmil_mmio_suite);
