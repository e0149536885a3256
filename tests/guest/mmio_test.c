// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the chunk mapper through /dev/dsmil.
 *
 * Expects dsmil.ko loaded with default parameters (sim region, 360 MiB,
 * cap 8); tests that need other parameters reload the module, and each
 * test's teardown puts the defaults back.  Tests on the ivshmem BAR
 * (/run/dsmil-bar, written by tools/dsmil-vm) use base = BAR + 64 MiB.
 *
 *   mmio_test                       the kselftest suite (TAP)
 *   mmio_test --bar-sweep SEEDA SEEDB
 *       for tests/host/mmio-bar-check: load dsmil on the BAR window, read
 *       all 360 MiB through the driver and compare with pattern A (which
 *       the host wrote into the BAR's backing file), check that raw writes
 *       into the quarantined windows and an OFFLINE device's window (5:11)
 *       are refused, bring every other device up, write pattern B over the
 *       rest of the window with raw bulk writes, read it back (A still in
 *       the closed windows), check the guards through the BAR's sysfs
 *       mapping, unload.  Prints "bar-sweep: ..." lines; exit 0 if all held.
 *
 * The pattern (bar_word()) must match tests/host/mmio-bar-check's.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

/*
 * EXPECT_EQ(8, st.max_resident) compares an int constant with a __u32; the
 * harness's typeof copies turn that into a signedness warning (-Wextra) for
 * values that are never negative here.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"

#define MIB		0x100000ULL
#define CHUNK		DSMIL_CHUNK_SIZE
#define REGION		DSMIL_DEFAULT_REGION_SIZE
#define NCHUNKS		(REGION / CHUNK)
#define BAR_GUARD	(64 * MIB)
/* Device (g, i)'s window, and the end of the area holding the windows. */
#define WIN(g, i)	((g) * DSMIL_GROUP_STRIDE + (i) * DSMIL_WINDOW_SIZE)
#define WIN_END		(DSMIL_NUM_GROUPS * DSMIL_GROUP_STRIDE)
#define DEV_ID(g, i)	((g) * DSMIL_DEVS_PER_GROUP + (i))

/* ------------------------------------------------------------ helpers */

static __u64 mix64(__u64 z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The 8-byte word at byte offset @off (a multiple of 8) of pattern @seed. */
static __u64 bar_word(__u64 seed, __u64 off)
{
	return mix64(seed ^ off);
}

static void fill_pattern(void *buf, __u64 seed, __u64 off, size_t len)
{
	__u64 *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = bar_word(seed, off + 8 * i);
}

/* Words of @buf (from offset @off) that differ from pattern @seed. */
static __u64 count_mismatch(const void *buf, __u64 seed, __u64 off,
			    size_t len, __u64 *first)
{
	const __u64 *w = buf;
	__u64 bad = 0;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != bar_word(seed, off + 8 * i)) {
			if (!bad && first)
				*first = off + 8 * i;
			bad++;
		}
	return bad;
}

static int rd(int fd, __u64 off, __u8 width, __u64 *val)
{
	*val = 0;
	return mmio_rw(fd, DSMIL_IOC_MMIO_READ, off, width, 0, 0, val);
}

static int wr(int fd, __u64 off, __u8 width, __u64 val)
{
	return mmio_rw(fd, DSMIL_IOC_MMIO_WRITE, off, width, 0, 0, &val);
}

static int bread(int fd, __u64 off, void *buf, __u64 len, __u64 *done)
{
	return mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf, len, 0, 0, done);
}

static int bwrite(int fd, __u64 off, void *buf, __u64 len, __u64 *done)
{
	return mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_WRITE, off, buf, len, 0, 0, done);
}

static unsigned int popcount(const __u64 *map)
{
	return popcount_map(map, DSMIL_MAX_CHUNKS / 64);
}

/*
 * Under lockdown every raw access is refused (the lockdown test checks
 * that), and an unsigned module cannot be reloaded: the other tests would
 * only measure the refusal, so they step aside.
 */
#define LOCKED_DOWN_SKIP \
	"kernel locked down: raw access refused (see the lockdown test)"

/*
 * Single accesses through the BAR mapping, each exactly one load or store
 * of its width (memory the compiler must not merge, split or cache).
 */
static __u64 ld64(const void *p)
{
	return __atomic_load_n((const __u64 *)p, __ATOMIC_RELAXED);
}

static void st64(void *p, __u64 v)
{
	__atomic_store_n((__u64 *)p, v, __ATOMIC_RELAXED);
}

static __u8 ld8(const void *p)
{
	return __atomic_load_n((const __u8 *)p, __ATOMIC_RELAXED);
}

static void st8(void *p, __u8 v)
{
	__atomic_store_n((__u8 *)p, v, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------- tests */

/*
 * The tests share one load of the module and reload it only for other
 * parameters.  Whatever a test changes (parameters, allow_writes, the
 * mapper's knobs, trace events) the teardown puts back, even after a failed
 * ASSERT, so that the next test meets the defaults.
 */
FIXTURE(mmio) {};

FIXTURE_SETUP(mmio)
{
}

FIXTURE_TEARDOWN(mmio)
{
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* The default load: sim region geometry in INFO and STATUS. */
TEST_F(mmio, defaults_info_and_status)
{
	struct dsmil_chunk_stat cs[NCHUNKS + 10];
	struct dsmil_mmio_status st;
	struct dsmil_info info = {};
	int fd, i;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload(NULL));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	EXPECT_TRUE(info.features & DSMIL_FEAT_MMIO);
	EXPECT_STREQ("sim", (char *)info.mmio_backend);
	EXPECT_EQ(NCHUNKS, info.num_chunks);
	EXPECT_EQ(CHUNK, info.chunk_size);
	EXPECT_EQ(8, info.max_resident);
	EXPECT_EQ(REGION, info.region_size);
	EXPECT_EQ(0, info.region_base);

	memset(cs, 0xff, sizeof(cs));
	ASSERT_EQ(0, mmio_status_chunks(fd, &st, cs, NCHUNKS + 10));
	EXPECT_EQ(NCHUNKS, st.chunk_count);
	EXPECT_EQ(NCHUNKS, st.num_chunks);
	EXPECT_EQ(REGION, st.region_size);
	EXPECT_EQ(CHUNK, st.chunk_size);
	EXPECT_EQ(8, st.max_resident);
	EXPECT_EQ(5000, st.idle_ms);
	EXPECT_EQ(100, st.busy_wait_ms);
	EXPECT_EQ(0, st.resident);
	EXPECT_EQ(0, st.maps);
	EXPECT_EQ(0, popcount(st.ever_mapped));
	EXPECT_GE(16384, st.bookkeeping);
	EXPECT_LT(0, st.bookkeeping);
	TH_LOG("bookkeeping for %u chunks: %u bytes", st.num_chunks,
	       st.bookkeeping);
	for (i = 0; i < NCHUNKS; i++) {
		EXPECT_EQ(i, cs[i].index);
		EXPECT_EQ(0, cs[i].resident);
		EXPECT_EQ(0, cs[i].reserved[0] | cs[i].reserved[1]);
	}
	/* Entries past num_chunks are not touched. */
	EXPECT_EQ(0xffffffffu, cs[NCHUNKS].index);

	ASSERT_EQ(0, mmio_status_chunks(fd, &st, cs, 3));
	EXPECT_EQ(3, st.chunk_count);
	ASSERT_EQ(0, mmio_status_chunks(fd, &st, NULL, 50));
	EXPECT_EQ(0, st.chunk_count);
	EXPECT_EQ(-EFAULT, mmio_status_chunks(fd, &st, (void *)16, 5));
	memset(&st, 0, sizeof(st));
	st.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(fd, DSMIL_IOC_MMIO_STATUS, &st));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* Widths 1..8, naturally aligned, write and read back; value masking. */
TEST_F(mmio, widths_and_alignment)
{
	static const __u8 widths[] = { 1, 2, 4, 8 };
	/* Raw writes: outside the device windows (see raw_writes_and_windows). */
	static const __u64 offs[] = { WIN(0, 12), WIN_END, CHUNK - 8, CHUNK,
				      17 * CHUNK, REGION - 8 };
	struct dsmil_mmio_status st0, st;
	__u64 v;
	unsigned int i, j;
	int fd = dsmil_open();

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, mmio_status(fd, &st0));
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		ASSERT_EQ(0, wr(fd, offs[i], 8, 0x1111111111111111ULL));
		for (j = 0; j < 4; j++) {
			__u64 off = offs[i] + 8 - widths[j];
			__u64 val = 0xa5a5a5a5a5a5a5a5ULL ^ (off << 8) ^ j;
			__u64 mask = widths[j] == 8 ? ~0ULL :
					(1ULL << (8 * widths[j])) - 1;

			ASSERT_EQ(0, wr(fd, off, widths[j], val));
			ASSERT_EQ(0, rd(fd, off, widths[j], &v));
			EXPECT_EQ(val & mask, v);
		}
		/* Narrower writes land on exactly their bytes of the qword. */
		ASSERT_EQ(0, wr(fd, offs[i], 8, 0));
		ASSERT_EQ(0, wr(fd, offs[i], 4, 0xffffffff11223344ULL));
		ASSERT_EQ(0, wr(fd, offs[i] + 4, 2, 0xffff5566));
		ASSERT_EQ(0, wr(fd, offs[i] + 7, 1, 0xff77));
		ASSERT_EQ(0, rd(fd, offs[i], 8, &v));
		EXPECT_EQ(0x7700556611223344ULL, v);
		ASSERT_EQ(0, rd(fd, offs[i] + 4, 4, &v));
		EXPECT_EQ(0x77005566, v);
	}
	/* Misaligned and bad widths: -EINVAL, no bytes move. */
	EXPECT_EQ(-EINVAL, rd(fd, 1, 2, &v));
	EXPECT_EQ(-EINVAL, rd(fd, 2, 4, &v));
	EXPECT_EQ(-EINVAL, rd(fd, CHUNK - 4, 8, &v));
	EXPECT_EQ(-EINVAL, wr(fd, 6, 4, 0));
	EXPECT_EQ(-EINVAL, rd(fd, 0, 0, &v));
	EXPECT_EQ(-EINVAL, rd(fd, 0, 3, &v));
	EXPECT_EQ(-EINVAL, rd(fd, 0, 16, &v));
	EXPECT_EQ(-EINVAL, wr(fd, 0, 5, 0));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(8, st.refused - st0.refused);
	EXPECT_EQ(6 * (8 + 15 + 8 + 7), st.bytes_written - st0.bytes_written);
	EXPECT_EQ(NULL, mmio_identity(&st));
	close(fd);
}

/* Every boundary: 0, chunk edges, last byte, one past, near U64_MAX. */
TEST_F(mmio, bounds)
{
	struct dsmil_mmio_status st0, st;
	char buf[64];
	__u64 v, done;
	int fd = dsmil_open(), kfd = kmsg_open_end();

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmio_status(fd, &st0));
	EXPECT_EQ(0, rd(fd, 0, 1, &v));
	EXPECT_EQ(0, rd(fd, CHUNK - 1, 1, &v));
	EXPECT_EQ(0, rd(fd, CHUNK, 8, &v));
	EXPECT_EQ(0, rd(fd, REGION - 1, 1, &v));
	EXPECT_EQ(0, rd(fd, REGION - 8, 8, &v));
	EXPECT_EQ(-ERANGE, rd(fd, REGION, 1, &v));
	EXPECT_EQ(-ERANGE, rd(fd, REGION, 8, &v));
	EXPECT_EQ(-ERANGE, rd(fd, UINT64_MAX, 1, &v));
	EXPECT_EQ(-ERANGE, rd(fd, UINT64_MAX - 7, 8, &v));
	EXPECT_EQ(-ERANGE, rd(fd, 1ULL << 63, 4, &v));

	EXPECT_EQ(0, bread(fd, REGION - sizeof(buf), buf, sizeof(buf), &done));
	EXPECT_EQ(sizeof(buf), done);
	EXPECT_EQ(0, bread(fd, CHUNK - 32, buf, sizeof(buf), &done));
	EXPECT_EQ(-ERANGE, bread(fd, REGION - 63, buf, sizeof(buf), &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(-ERANGE, bread(fd, UINT64_MAX - 15, buf, 32, &done));
	EXPECT_EQ(-ERANGE, bread(fd, REGION, buf, 1, &done));
	EXPECT_EQ(-EINVAL, bread(fd, 0, buf, 0, &done));
	EXPECT_EQ(-EINVAL, bread(fd, 0, buf, DSMIL_BULK_MAX + 1, &done));
	EXPECT_EQ(-EINVAL, bread(fd, 0, buf, UINT64_MAX, &done));
	/* Unknown flags and a device id without the flag. */
	EXPECT_EQ(-EINVAL, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8, 2, 0, &v));
	EXPECT_EQ(-EINVAL, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8, 0, 4, &v));
	EXPECT_EQ(-EFAULT, bread(fd, 0, (void *)8, 64, &done));

	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(13, st.refused - st0.refused);
	EXPECT_TRUE(kmsg_find(kfd, "dsmil: refused-access: op=read",
			      "reason=range", "errno=-34", NULL));
	close(kfd);
	close(fd);
}

/*
 * A bulk read into a buffer that ends early: every whole page before the
 * hole arrives, then -EFAULT, and @done says how much.
 */
TEST_F(mmio, bulk_read_partial_fault)
{
	__u8 ref[4096];
	__u64 done = 0;
	__u8 *m;
	int fd = dsmil_open();

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bread(fd, CHUNK - 4096, ref, sizeof(ref), &done));
	m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, munmap(m + 4096, 4096));
	EXPECT_EQ(-EFAULT, bread(fd, CHUNK - 4096, m, 3 * 4096, &done));
	EXPECT_EQ(4096, done);
	EXPECT_EQ(0, memcmp(m, ref, sizeof(ref)));
	munmap(m, 4096);
	munmap(m + 2 * 4096, 4096);
	close(fd);
}

/* Without allow_writes, writes are refused and nothing changes. */
TEST_F(mmio, writes_need_allow_writes)
{
	char buf[256], back[256];
	struct dsmil_mmio_status st0, st;
	__u64 v, done;
	int fd = dsmil_open();

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, wr(fd, 5 * CHUNK, 8, 0x0123456789abcdefULL));
	memset(buf, 0x3c, sizeof(buf));
	ASSERT_EQ(0, bwrite(fd, 6 * CHUNK, buf, sizeof(buf), &done));
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "0"));

	ASSERT_EQ(0, mmio_status(fd, &st0));
	EXPECT_EQ(-EACCES, wr(fd, 5 * CHUNK, 8, 0));
	memset(buf, 0xc3, sizeof(buf));
	EXPECT_EQ(-EACCES, bwrite(fd, 6 * CHUNK, buf, sizeof(buf), &done));
	ASSERT_EQ(0, rd(fd, 5 * CHUNK, 8, &v));
	EXPECT_EQ(0x0123456789abcdefULL, v);
	ASSERT_EQ(0, bread(fd, 6 * CHUNK, back, sizeof(back), &done));
	memset(buf, 0x3c, sizeof(buf));
	EXPECT_EQ(0, memcmp(buf, back, sizeof(buf)));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(st0.bytes_written, st.bytes_written);
	close(fd);
}

/* A bulk write that does not fit is refused whole: not one byte lands. */
TEST_F(mmio, bulk_write_all_or_nothing)
{
	size_t len = 3 * 4096;
	char *old = malloc(len), *neu = malloc(len), *back = malloc(len), *m;
	__u64 done = 1;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_NE(NULL, old);
	ASSERT_NE(NULL, neu);
	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	memset(old, 0x11, len);
	memset(neu, 0xee, len);
	ASSERT_EQ(0, bwrite(fd, REGION - len, old, len, &done));
	/* Two thirds in range, one third past the end. */
	EXPECT_EQ(-ERANGE, bwrite(fd, REGION - 2 * 4096, neu, len, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, bread(fd, REGION - len, back, len, &done));
	EXPECT_EQ(0, memcmp(old, back, len));
	/* A buffer that is partly unmapped: -EFAULT before any byte. */
	m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0xee, 2 * 4096);
	ASSERT_EQ(0, munmap(m + 4096, 4096));
	EXPECT_EQ(-EFAULT, bwrite(fd, REGION - len, m, 2 * 4096, &done));
	EXPECT_EQ(0, done);
	munmap(m, 4096);
	ASSERT_EQ(0, bread(fd, REGION - len, back, len, &done));
	EXPECT_EQ(0, memcmp(old, back, len));
	close(fd);

	/* Cap 1: a write across a chunk edge would need two: -E2BIG. */
	ASSERT_EQ(0, dsmil_reload("max_resident=1 allow_writes=1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-E2BIG, bwrite(fd, CHUNK - 4096, neu, 2 * 4096, &done));
	ASSERT_EQ(0, bread(fd, CHUNK - 4096, back, 2 * 4096, &done));
	EXPECT_EQ(2 * 4096, done);
	/* Fresh sim memory reads zero: nothing was written. */
	memset(old, 0, len);
	EXPECT_EQ(0, memcmp(old, back, 2 * 4096));
	EXPECT_EQ(0, bwrite(fd, CHUNK - 4096, neu, 4096, &done));
	close(fd);
	free(old);
	free(neu);
	free(back);
}

/* 16 MiB across four chunk edges: written and read back byte for byte. */
TEST_F(mmio, bulk_roundtrip_16mib)
{
	const __u64 off = 3 * CHUNK - 12344, len = DSMIL_BULK_MAX;
	char *buf = malloc(len), *back = malloc(len);
	struct dsmil_mmio_status st0, st;
	__u64 done = 0, t0, t1;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	fill_pattern(buf, 0x5eed, off, len);
	ASSERT_EQ(0, mmio_status(fd, &st0));
	t0 = now_ns();
	ASSERT_EQ(0, bwrite(fd, off, buf, len, &done));
	EXPECT_EQ(len, done);
	t1 = now_ns();
	ASSERT_EQ(0, bread(fd, off, back, len, &done));
	EXPECT_EQ(len, done);
	TH_LOG("16 MiB: write %.1f ms, read %.1f ms", (t1 - t0) / 1e6,
	       (now_ns() - t1) / 1e6);
	EXPECT_EQ(0, count_mismatch(back, 0x5eed, off, len, NULL));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(len, st.bytes_written - st0.bytes_written);
	EXPECT_EQ(len, st.bytes_read - st0.bytes_read);
	EXPECT_EQ(NULL, mmio_identity(&st));
	close(fd);
	free(buf);
	free(back);
}

/* Cap 8 over 20 chunks: the 8 most recently used stay, LRU goes first. */
TEST_F(mmio, lru_and_cap)
{
	struct dsmil_chunk_stat cs[NCHUNKS];
	struct dsmil_mmio_status st;
	unsigned int i;
	__u64 v;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload(NULL));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, rd(fd, i * CHUNK + 64, 8, &v));
	ASSERT_EQ(0, mmio_status_chunks(fd, &st, cs, NCHUNKS));
	EXPECT_EQ(8, st.resident);
	EXPECT_EQ(20, st.maps);
	EXPECT_EQ(12, st.evictions);
	EXPECT_EQ(NULL, mmio_identity(&st));
	for (i = 0; i < NCHUNKS; i++) {
		EXPECT_EQ(i >= 12 && i < 20, map_bit(st.resident_map, i));
		EXPECT_EQ(i < 20, map_bit(st.ever_mapped, i));
		EXPECT_EQ(map_bit(st.resident_map, i), cs[i].resident);
		EXPECT_EQ(i < 20, cs[i].maps);
	}
	/* Refresh 12, then map 20: 13 is now the least recently used. */
	ASSERT_EQ(0, rd(fd, 12 * CHUNK, 8, &v));
	ASSERT_EQ(0, rd(fd, 20 * CHUNK, 8, &v));
	ASSERT_EQ(0, mmio_status_chunks(fd, &st, cs, NCHUNKS));
	EXPECT_TRUE(map_bit(st.resident_map, 12));
	EXPECT_FALSE(map_bit(st.resident_map, 13));
	EXPECT_TRUE(map_bit(st.resident_map, 20));
	EXPECT_EQ(1, cs[12].hits);
	close(fd);
}

/* Idle chunks are unmapped by the reaper after mmio_idle_ms. */
TEST_F(mmio, idle_reaper)
{
	struct dsmil_mmio_status st;
	__u64 v;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload("mmio_idle_ms=200"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, rd(fd, 0, 8, &v));
	ASSERT_EQ(0, rd(fd, 40 * CHUNK, 8, &v));
	ASSERT_EQ(0, rd(fd, 89 * CHUNK, 8, &v));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(3, st.maps);
	usleep(1500 * 1000);
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(0, st.resident);
	EXPECT_EQ(3, st.unmaps);
	EXPECT_EQ(0, st.evictions);
	EXPECT_EQ(3, popcount(st.ever_mapped));
	close(fd);
}

/* The debugfs knob fails the next N maps; each is counted and logged. */
TEST_F(mmio, map_failure_knob)
{
	struct dsmil_mmio_status st0, st;
	__u64 v;
	int fd, kfd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload(NULL));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	kfd = kmsg_open_end();
	ASSERT_EQ(0, mmio_status(fd, &st0));
	ASSERT_EQ(0, mmio_knob_write("fail_next_maps", "2"));
	EXPECT_EQ(-EIO, rd(fd, 5 * CHUNK, 8, &v));
	EXPECT_EQ(-EIO, rd(fd, 6 * CHUNK, 4, &v));
	EXPECT_EQ(0, mmio_knob_num("fail_next_maps"));
	EXPECT_EQ(0, rd(fd, 7 * CHUNK, 8, &v));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(2, st.map_failures - st0.map_failures);
	EXPECT_EQ(1, st.resident);
	EXPECT_FALSE(map_bit(st.ever_mapped, 5));
	EXPECT_FALSE(map_bit(st.ever_mapped, 6));
	EXPECT_TRUE(map_bit(st.resident_map, 7));
	EXPECT_EQ(NULL, mmio_identity(&st));
	EXPECT_TRUE(kmsg_find(kfd, "dsmil: map-failure: chunk=5", "errno=-5",
			      "reason=injected", NULL));
	close(kfd);
	close(fd);
}

struct spin_arg {
	int fd;
	__u64 chunk;
	bool *stop;
	unsigned long ok, busy, other;
};

static void *bulk_spinner(void *p)
{
	struct spin_arg *a = p;
	size_t len = CHUNK;
	char *buf = malloc(len);
	__u64 done;
	int ret;

	while (buf && !__atomic_load_n(a->stop, __ATOMIC_RELAXED)) {
		ret = bread(a->fd, a->chunk * CHUNK, buf, len, &done);
		if (!ret)
			a->ok++;
		else if (ret == -EBUSY)
			a->busy++;
		else
			a->other++;
	}
	free(buf);
	return NULL;
}

/*
 * Cap 1 and no busy wait: while another thread holds chunk 0 for 4 MiB
 * reads, reads of chunk 1 get -EBUSY, each counted in all_busy.
 */
TEST_F(mmio, all_busy_is_ebusy_and_counted)
{
	bool stop = false;
	struct spin_arg a = { .chunk = 0, .stop = &stop };
	struct dsmil_mmio_status st;
	unsigned long ok = 0, busy = 0, other = 0;
	pthread_t t;
	__u64 v, end;
	int fd, ret;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload("max_resident=1"));
	ASSERT_EQ(0, mmio_knob_write("busy_wait_ms", "0"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	a.fd = fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, bulk_spinner, &a));
	end = now_ns() + 10ULL * 1000000000ULL;
	while (now_ns() < end && busy < 5) {
		ret = rd(fd, CHUNK + 8, 8, &v);
		if (!ret)
			ok++;
		else if (ret == -EBUSY)
			busy++;
		else
			other++;
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("chunk 1: ok=%lu busy=%lu; chunk 0 bulk: ok=%lu busy=%lu",
	       ok, busy, a.ok, a.busy);
	EXPECT_LT(0, busy);
	EXPECT_EQ(0, other);
	EXPECT_EQ(0, a.other);
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(busy + a.busy, st.all_busy);
	EXPECT_EQ(NULL, mmio_identity(&st));
	EXPECT_GE(1, st.resident);
	close(fd);
}

struct par_arg {
	int fd;
	unsigned int chunk;
	unsigned long loops, errors;
};

static void *par_reader(void *p)
{
	struct par_arg *a = p;
	unsigned long i;
	__u64 v;

	for (i = 0; i < a->loops; i++)
		if (rd(a->fd, a->chunk * CHUNK + 8 * (i % 4096), 8, &v) ||
		    v != 0)
			a->errors++;
	return NULL;
}

/* Two threads on two chunks: every read answered, every hit counted. */
TEST_F(mmio, two_threads_two_chunks)
{
	struct par_arg a[2] = { { .chunk = 30, .loops = 20000 },
				{ .chunk = 60, .loops = 20000 } };
	struct dsmil_mmio_status st0, st;
	pthread_t t[2];
	int fd, i;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload(NULL));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmio_status(fd, &st0));
	for (i = 0; i < 2; i++) {
		a[i].fd = fd;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, par_reader, &a[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, a[0].errors + a[1].errors);
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(2, st.maps - st0.maps);
	EXPECT_EQ(40000 - 2, st.hits - st0.hits);
	EXPECT_EQ(40000 * 8, st.bytes_read - st0.bytes_read);
	close(fd);
}

/* Bad module parameters and regions are refused at load, with a reason. */
TEST_F(mmio, load_refusals)
{
	static const char *const bad[] = {
		"mmio_size=0", "mmio_size=1000", "mmio_size=6291456",
		"mmio_size=541065216",			/* 129 chunks */
		"max_resident=0", "max_resident=91",
		"mmio_size=8388608 max_resident=3",
		"mmio_base=0x100000800",		/* not page aligned */
		"mmio_base=0xfffffffffffff000",	/* base + size wraps */
		"mmio_idle_ms=3600001",
		"mmio_base=0x1000000",			/* kernel RAM */
		"mmio_base=0x7fc00000 mmio_size=8388608 max_resident=2",
							/* RAM + hole */
	};
	unsigned int i;
	int kfd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_unload_wait(5000));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = dsmil_load(bad[i]);

		EXPECT_EQ(-EINVAL, ret);
		if (ret != -EINVAL)
			TH_LOG("params '%s': %d", bad[i], ret);
		if (dsmil_loaded())
			dsmil_unload_wait(5000);
	}
	kfd = kmsg_open_end();
	EXPECT_EQ(-EINVAL, dsmil_load("mmio_base=0x1000000"));
	EXPECT_TRUE(kmsg_find(kfd, "refusing MMIO region 0x1000000-0x177fffff",
			      "lies in System RAM", NULL));
	EXPECT_EQ(-EINVAL, dsmil_load("mmio_base=0x7fc00000 mmio_size=8388608 max_resident=2"));
	EXPECT_TRUE(kmsg_find(kfd, "refusing MMIO region 0x7fc00000-0x803fffff",
			      "overlaps System RAM", NULL));
	/* Not RAM, but the IOAPIC and HPET hold it: cannot be claimed. */
	EXPECT_EQ(-EBUSY, dsmil_load("mmio_base=0xfec00000 mmio_size=4194304 max_resident=1"));
	EXPECT_TRUE(kmsg_find(kfd, "cannot claim MMIO region 0xfec00000-0xfeffffff",
			      NULL));
	close(kfd);
	EXPECT_FALSE(dsmil_loaded());
	ASSERT_EQ(0, dsmil_load(NULL));
}

/* Raw access needs CAP_SYS_RAWIO even for root; STATUS does not. */
TEST_F(mmio, rawio_required)
{
	struct dsmil_mmio_status st;
	int fd = dsmil_open(), status_rc;
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[16];
		__u64 v, done;

		if (drop_cap(CAP_SYS_RAWIO))
			_exit(11);
		if (rd(fd, 0, 8, &v) != -EPERM)
			_exit(12);
		if (bread(fd, 0, buf, sizeof(buf), &done) != -EPERM)
			_exit(13);
		if (wr(fd, 0, 8, 0) != -EPERM)
			_exit(14);
		if (mmio_status(fd, &st))
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status_rc, 0));
	EXPECT_TRUE(WIFEXITED(status_rc));
	EXPECT_EQ(0, WEXITSTATUS(status_rc));
	close(fd);
}

/* Locked down like /dev/mem: raw access -EPERM; otherwise it works. */
TEST_F(mmio, lockdown)
{
	struct dsmil_mmio_status st;
	struct dsmil_info info = {};
	char buf[64];
	__u64 v, done;
	int fd = dsmil_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	EXPECT_EQ(locked_down(), !!(info.features & DSMIL_FEAT_LOCKDOWN));
	if (locked_down()) {
		EXPECT_EQ(-EPERM, rd(fd, 0, 8, &v));
		EXPECT_EQ(-EPERM, bread(fd, 0, buf, sizeof(buf), &done));
		EXPECT_EQ(-EPERM, wr(fd, 0, 8, 0));
		EXPECT_EQ(-EPERM, bwrite(fd, 0, buf, sizeof(buf), &done));
	} else {
		EXPECT_EQ(0, rd(fd, 0, 8, &v));
		EXPECT_EQ(0, bread(fd, 0, buf, sizeof(buf), &done));
	}
	EXPECT_EQ(0, mmio_status(fd, &st));
	close(fd);
}

/*
 * Device windows go through the state machine: READY/ACTIVE to read,
 * ACTIVE to write, never a quarantined device; and land at
 * g * 64 KiB + i * 4 KiB of the region.
 */
TEST_F(mmio, device_windows)
{
	struct dsmil_info info = {};
	char page[4096];
	__u64 v = 0, done;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_EQ(0, dsmil_reload("allow_writes=1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	/* Out of the window first: the range check comes before the state. */
	EXPECT_EQ(-ERANGE, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 4096, 1,
				  DSMIL_MMIO_F_DEVICE, 1, &v));
	EXPECT_EQ(-EINVAL, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 1,
				  DSMIL_MMIO_F_DEVICE, DSMIL_NUM_DEVICES, &v));
	/* Every device starts OFFLINE: no access. */
	EXPECT_EQ(-ENODEV, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8,
				  DSMIL_MMIO_F_DEVICE, 0, &v));
	EXPECT_EQ(-ENODEV, mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, 0, page,
				    sizeof(page), DSMIL_MMIO_F_DEVICE, 1,
				    &done));
	if (!(info.features & DSMIL_FEAT_DEVICES))
		SKIP(goto out, "device model not built in: only the refusals checked");

	/* A raw write into an OFFLINE device's window is refused too. */
	EXPECT_EQ(-ENODEV, wr(fd, WIN(0, 0), 8, 0x1111));
	ASSERT_EQ(0, dev_bring_up(fd, 0, false));		/* READY */
	EXPECT_EQ(-ENODEV, wr(fd, WIN(0, 0), 8, 0x1111));
	EXPECT_EQ(0, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8,
			    DSMIL_MMIO_F_DEVICE, 0, &v));
	EXPECT_EQ(0, v);				/* fresh sim memory */
	v = 0x3333;
	EXPECT_EQ(-ENODEV, mmio_rw(fd, DSMIL_IOC_MMIO_WRITE, 0, 8,
				  DSMIL_MMIO_F_DEVICE, 0, &v));
	ASSERT_EQ(0, dev_transition(fd, 0, DSMIL_DEV_ACTIVE, NULL));
	/* ACTIVE: the raw write lands where the device sees its offset 0. */
	ASSERT_EQ(0, wr(fd, WIN(0, 0), 8, 0x1111));
	EXPECT_EQ(0, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8,
			    DSMIL_MMIO_F_DEVICE, 0, &v));
	EXPECT_EQ(0x1111, v);
	v = 0x4444;
	EXPECT_EQ(0, mmio_rw(fd, DSMIL_IOC_MMIO_WRITE, 8, 8,
			    DSMIL_MMIO_F_DEVICE, 0, &v));
	ASSERT_EQ(0, rd(fd, 8, 8, &v));
	EXPECT_EQ(0x4444, v);
	/* Device 1 (0:1) is OFFLINE: its window stays closed. */
	EXPECT_EQ(-ENODEV, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8,
				  DSMIL_MMIO_F_DEVICE, 1, &v));
	ASSERT_EQ(0, dev_bring_up(fd, 1, true));
	memset(page, 0x7e, sizeof(page));
	EXPECT_EQ(0, mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_WRITE, 0, page,
			      sizeof(page), DSMIL_MMIO_F_DEVICE, 1, &done));
	EXPECT_EQ(sizeof(page), done);
	ASSERT_EQ(0, rd(fd, WIN(0, 1), 8, &v));
	EXPECT_EQ(0x7e7e7e7e7e7e7e7eULL, v);
	ASSERT_EQ(0, rd(fd, WIN(0, 2), 8, &v));	/* device 2: untouched */
	EXPECT_EQ(0, v);

	/* Quarantined 0:9 (wipe): readable when READY, never written. */
	EXPECT_EQ(-EPERM, wr(fd, WIN(0, 9), 8, 0x9999));
	ASSERT_EQ(0, dev_bring_up(fd, 9, false));
	EXPECT_EQ(0, mmio_rw(fd, DSMIL_IOC_MMIO_READ, 0, 8,
			    DSMIL_MMIO_F_DEVICE, 9, &v));
	EXPECT_EQ(0, v);
	v = 0x9999;
	EXPECT_EQ(-EPERM, mmio_rw(fd, DSMIL_IOC_MMIO_WRITE, 0, 8,
				 DSMIL_MMIO_F_DEVICE, 9, &v));
	EXPECT_EQ(-EPERM, wr(fd, WIN(0, 9), 8, 0x9999));
	ASSERT_EQ(0, rd(fd, WIN(0, 9), 8, &v));
	EXPECT_EQ(0, v);
out:
	close(fd);
}

/*
 * Raw writes (no DSMIL_MMIO_F_DEVICE) pass the device-scoped write check for
 * every window they touch, before any byte moves: quarantined -> -EPERM,
 * not ACTIVE -> -ENODEV, counted and logged; raw reads stay allowed, and
 * raw writes outside the windows work as before.
 */
TEST_F(mmio, raw_writes_and_windows)
{
	const size_t len = WIN(0, 10);	/* 0:0 .. 0:9 */
	struct dsmil_mmio_status st0, st;
	struct dsmil_info info = {};
	__u8 *buf = malloc(len), *back = malloc(len), *zero = calloc(1, len);
	__u64 v, done;
	unsigned int i;
	int fd, kfd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	ASSERT_NE(NULL, zero);
	ASSERT_EQ(0, dsmil_reload("allow_writes=1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	if (!(info.features & DSMIL_FEAT_DEVICES))
		SKIP(goto out, "device model not built in");
	kfd = kmsg_open_end();

	/* Quarantined 0:9: -EPERM, nothing written, nothing mapped. */
	ASSERT_EQ(0, mmio_status(fd, &st0));
	EXPECT_EQ(-EPERM, wr(fd, WIN(0, 9), 8, 0x9999));
	EXPECT_EQ(-EPERM, wr(fd, WIN(0, 9) + 0xff8, 8, 0x9999));
	EXPECT_EQ(-EPERM, wr(fd, WIN(0, 11) + 4, 1, 0x99));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(st0.bytes_written, st.bytes_written);
	EXPECT_EQ(st0.maps, st.maps);
	EXPECT_EQ(3, st.refused - st0.refused);
	EXPECT_TRUE(kmsg_find(kfd, "dsmil: refused-access: op=write dev=DSMIL0D9 offset=0x9000",
			      "reason=quarantined", "errno=-1", NULL));
	/* ... and readable. */
	EXPECT_EQ(0, rd(fd, WIN(0, 9), 8, &v));
	EXPECT_EQ(0, v);

	/* OFFLINE devices' windows: -ENODEV, in every group. */
	EXPECT_EQ(-ENODEV, wr(fd, WIN(0, 0), 8, 1));
	EXPECT_EQ(-ENODEV, wr(fd, WIN(3, 4) + 0x10, 4, 1));
	EXPECT_EQ(-ENODEV, wr(fd, WIN(5, 11) + 0xff8, 8, 1));
	EXPECT_EQ(-ENODEV, bwrite(fd, WIN(4, 0) - 1, buf, 2, &done));
	EXPECT_EQ(0, done);
	EXPECT_TRUE(kmsg_find(kfd, "dsmil: refused-access: op=write dev=DSMIL3D4 offset=0x34010",
			      "reason=window-state", "errno=-19", NULL));
	/* Outside the windows: the gaps and everything past them. */
	EXPECT_EQ(0, wr(fd, WIN(0, 12), 8, 0xc0c0));
	EXPECT_EQ(0, wr(fd, WIN(1, 0) - 8, 8, 0xc1c1));
	EXPECT_EQ(0, wr(fd, WIN_END, 8, 0xe0e0));
	EXPECT_EQ(0, bwrite(fd, WIN(4, 12), buf, WIN(5, 0) - WIN(4, 12),
			    &done));
	ASSERT_EQ(0, rd(fd, WIN(0, 12), 8, &v));
	EXPECT_EQ(0xc0c0, v);
	ASSERT_EQ(0, rd(fd, WIN_END, 8, &v));
	EXPECT_EQ(0xe0e0, v);
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(3 * 8 + WIN(5, 0) - WIN(4, 12),
		  st.bytes_written - st0.bytes_written);
	EXPECT_EQ(7, st.refused - st0.refused);

	/* 0:0 ACTIVE, 0:9 quarantined in range: the whole bulk is refused. */
	ASSERT_EQ(0, dev_bring_up(fd, 0, true));
	ASSERT_EQ(0, wr(fd, WIN(0, 0), 8, 0));		/* now open */
	for (i = 1; i <= 8; i++)
		ASSERT_EQ(0, dev_bring_up(fd, i, true));
	memset(buf, 0xa7, len);
	ASSERT_EQ(0, mmio_status(fd, &st0));
	EXPECT_EQ(-EPERM, bwrite(fd, 0, buf, len, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(-EPERM, bwrite(fd, WIN(0, 9) - 4096, buf, 4097, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, bread(fd, 0, back, len, &done));
	EXPECT_EQ(len, done);
	EXPECT_EQ(0, memcmp(zero, back, len));
	ASSERT_EQ(0, mmio_status(fd, &st));
	EXPECT_EQ(st0.bytes_written, st.bytes_written);
	EXPECT_EQ(2, st.refused - st0.refused);
	/* Up to the quarantined window it goes through, byte for byte. */
	EXPECT_EQ(0, bwrite(fd, 0, buf, WIN(0, 9), &done));
	EXPECT_EQ(WIN(0, 9), done);
	ASSERT_EQ(0, bread(fd, 0, back, len, &done));
	EXPECT_EQ(0, memcmp(buf, back, WIN(0, 9)));
	EXPECT_EQ(0, memcmp(zero, back + WIN(0, 9), len - WIN(0, 9)));
	close(kfd);
out:
	close(fd);
	free(buf);
	free(back);
	free(zero);
}

struct fence_arg {
	int fd;
	void *buf;
	__u64 len;
	__u64 done;
	int ret;
};

static void *fence_writer(void *p)
{
	struct fence_arg *a = p;

	a->ret = bwrite(a->fd, 0, a->buf, a->len, &a->done);
	return NULL;
}

/*
 * An emergency stop fences a bulk write in flight: a raw write over the
 * ACTIVE windows 0:0..0:8, slowed to 40 ms a page (the write_delay_ms
 * knob: a slow device), is stopped by a group 0 stop once its first page
 * landed.  The stop waits for the page at the hardware, the write is
 * refused at the next page's hand-off (-ENODEV, done = the pages before),
 * and neither the sim's contents nor the byte counter change after the
 * stop returned.
 */
TEST_F(mmio, estop_fences_bulk_write)
{
	const __u64 len = WIN(0, 9);
	__u8 *buf = malloc(len), *snap = malloc(len), *back = malloc(len);
	struct dsmil_mmio_status st0, st, st_stop, st_end;
	struct dsmil_group_stop gs = { .group = 0 };
	struct fence_arg a = { .len = len, .ret = 1 };
	struct dsmil_info info = {};
	pthread_t t;
	__u64 end, done, first = 0;
	unsigned int i;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, snap);
	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, dsmil_reload("allow_writes=1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	if (!(info.features & DSMIL_FEAT_DEVICES))
		SKIP(goto out, "device model not built in");
	for (i = 0; i <= 8; i++)
		ASSERT_EQ(0, dev_bring_up(fd, i, true));
	fill_pattern(buf, 0xfe11ce, 0, len);
	ASSERT_EQ(0, mmio_knob_write("write_delay_ms", "40"));
	ASSERT_EQ(0, mmio_status(fd, &st0));
	a.fd = fd;
	a.buf = buf;
	ASSERT_EQ(0, pthread_create(&t, NULL, fence_writer, &a));
	/* The write is under way once its first page has landed. */
	end = now_ns() + 60ULL * 1000000000ULL;
	do {
		ASSERT_EQ(0, mmio_status(fd, &st));
		if (st.bytes_written > st0.bytes_written)
			break;
		usleep(1000);
	} while (now_ns() < end);
	EXPECT_LT(st0.bytes_written, st.bytes_written);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_GROUP_ESTOP, &gs));
	EXPECT_EQ(0, gs.in_doubt);
	EXPECT_LE(9, gs.locked);
	/* What the region holds, and the counter, when the stop returned. */
	ASSERT_EQ(0, mmio_status(fd, &st_stop));
	ASSERT_EQ(0, bread(fd, 0, snap, len, &done));
	pthread_join(t, NULL);
	ASSERT_EQ(0, mmio_knob_write("write_delay_ms", "0"));
	ASSERT_EQ(0, mmio_status(fd, &st_end));
	ASSERT_EQ(0, bread(fd, 0, back, len, &done));

	TH_LOG("write: ret %d, done %llu of %llu; written at the stop %llu, at the end %llu",
	       a.ret, (unsigned long long)a.done, (unsigned long long)len,
	       (unsigned long long)(st_stop.bytes_written - st0.bytes_written),
	       (unsigned long long)(st_end.bytes_written - st0.bytes_written));
	EXPECT_EQ(-ENODEV, a.ret);
	EXPECT_GT(len, a.done);
	EXPECT_EQ(0, a.done % 4096);
	EXPECT_EQ(st_stop.bytes_written, st_end.bytes_written);
	EXPECT_EQ(a.done, st_end.bytes_written - st0.bytes_written);
	EXPECT_EQ(0, memcmp(snap, back, len));
	/* The pages before the stop hold the pattern, the rest fresh zeros. */
	EXPECT_EQ(0, count_mismatch(back, 0xfe11ce, 0, a.done, &first));
	for (i = a.done; i < len; i++)
		if (back[i])
			break;
	EXPECT_EQ(len, i);
out:
	close(fd);
	free(buf);
	free(snap);
	free(back);
}

/* Parse mmio/sim: "pages=N kept=N budget=N dropped=N". */
static int sim_usage(unsigned long *pages, unsigned long *kept,
		     unsigned long *budget)
{
	char text[160];
	unsigned long long dropped;

	if (dir_read_text(DSMIL_MMIO_DIR, "sim", text, sizeof(text)) <= 0 ||
	    sscanf(text, "pages=%lu kept=%lu budget=%lu dropped=%llu", pages,
		   kept, budget, &dropped) != 4)
		return -1;
	return 0;
}

/*
 * The sim gives memory back: after a sweep over all 360 MiB (cap 8), it
 * holds the 8 resident chunks and the one page written before the sweep,
 * which still reads back.
 */
/* A 360 MiB sweep: ~10 s on a quiet TCG guest, over 30 s under KCSAN and load. */
TEST_F_TIMEOUT(mmio, sim_sweep_gives_memory_back, 180)
{
	const __u64 at = 7 * CHUNK + 0x12340;
	unsigned long pages, kept, budget;
	__u8 *buf = malloc(DSMIL_BULK_MAX);
	__u64 off, done, v;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, dsmil_reload("allow_writes=1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wr(fd, at, 8, 0x5151a5a5c3c3e7e7ULL));
	for (off = 0; off < REGION; off += DSMIL_BULK_MAX)
		ASSERT_EQ(0, bread(fd, off, buf, REGION - off < DSMIL_BULK_MAX ?
				   REGION - off : DSMIL_BULK_MAX, &done));
	ASSERT_EQ(0, sim_usage(&pages, &kept, &budget));
	TH_LOG("after a 360 MiB sweep: pages=%lu kept=%lu budget=%lu",
	       pages, kept, budget);
	EXPECT_EQ(8 * CHUNK / 4096, budget);
	EXPECT_EQ(1, kept);
	/* Fewer if the idle reaper (5 s) unmapped some on a slow guest. */
	EXPECT_GE(8 * CHUNK / 4096 + 1, pages);
	ASSERT_EQ(0, rd(fd, at, 8, &v));
	EXPECT_EQ(0x5151a5a5c3c3e7e7ULL, v);
	close(fd);
	free(buf);
}

static bool trace_has(const char *what)
{
	static char buf[1 << 16];

	return trace_read(buf, sizeof(buf)) >= 0 && strstr(buf, what);
}

/* map, evict and unmap tracepoints fire with the right chunks. */
TEST_F(mmio, tracepoints)
{
	__u64 v;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	if (access(DSMIL_TRACEFS "/events/dsmil/dsmil_mmio_map", F_OK))
		SKIP(return, "no tracefs");
	ASSERT_EQ(0, dsmil_reload("max_resident=1"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, trace_clear());
	ASSERT_EQ(0, trace_enable("dsmil/dsmil_mmio_map", true));
	ASSERT_EQ(0, trace_enable("dsmil/dsmil_mmio_evict", true));
	ASSERT_EQ(0, trace_enable("dsmil/dsmil_mmio_unmap", true));
	ASSERT_EQ(0, rd(fd, 0, 8, &v));
	ASSERT_EQ(0, rd(fd, 3 * CHUNK, 8, &v));
	trace_enable("dsmil", false);
	EXPECT_TRUE(trace_has("dsmil_mmio_map: chunk=0 "));
	EXPECT_TRUE(trace_has("dsmil_mmio_map: chunk=3 "));
	EXPECT_TRUE(trace_has("dsmil_mmio_evict: victim=0 wanted=3"));
	EXPECT_TRUE(trace_has("dsmil_mmio_unmap: chunk=0 why=evict"));
	close(fd);
}

/* debugfs: the chunk table and the knobs the tests use exist. */
TEST_F(mmio, debugfs_knobs)
{
	char buf[8192];
	__u64 v;
	int fd = dsmil_open();

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, rd(fd, 2 * CHUNK, 8, &v));
	ASSERT_LT(0, read_text(DSMIL_MMIO_DIR "/chunks", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "backend=sim"));
	EXPECT_NE(NULL, strstr(buf, "    2 resident"));
	EXPECT_EQ(0, mmio_knob_num("fail_next_maps"));
	EXPECT_EQ(100, mmio_knob_num("busy_wait_ms"));
	close(fd);
}

/*
 * The iomem backend on the ivshmem BAR (base = BAR + 64 MiB): accesses land
 * exactly where the BAR's own sysfs mapping sees them, the region is
 * claimed in /proc/iomem, and nothing outside the window changes.
 *
 * The BAR mapping is only used while the driver does not hold the window:
 * with CONFIG_IO_STRICT_DEVMEM (Debian's kernels) claiming a range revokes
 * userspace mappings of it, and touching one then raises SIGBUS.
 */
TEST_F(mmio, iomem_bar_window)
{
	static const __u64 offs[] = { WIN_END, WIN_END + 8, CHUNK - 8, CHUNK,
				      45 * CHUNK, REGION - 8 };
	/* Unaligned bulk reads (start, length, buffer misalignment) around
	 * the edge between chunks 2 and 3: the driver's head/tail handling.
	 */
	static const struct { __u64 off, len, mis; } ub[] = {
		{ 0, 16384, 0 }, { 1, 16383, 0 }, { 3, 8190, 5 },
		{ 8192 - 61, 130, 1 }, { 8192 - 3, 7, 3 }, { 8191, 1, 7 },
		{ 4095, 4099, 2 }, { 12345, 4039, 6 },
	};
	__u64 bar, size, v, done, i;
	char params[128], want[64], iomem[8192];
	struct dsmil_info info = {};
	__u8 *map, *win, buf[8192], ref[16384], got[16384 + 8], *m;
	int fd;

	if (locked_down())
		SKIP(return, LOCKED_DOWN_SKIP);
	if (bar_info(&bar, &size) || size < BAR_GUARD + REGION)
		SKIP(return, "no ivshmem BAR (run under tools/dsmil-vm)");

	/* 1: seed the window and mark the guards, through the BAR. */
	map = bar_map(size, true);
	ASSERT_NE(NULL, map);
	win = map + BAR_GUARD;
	st8(map + BAR_GUARD - 1, 0xab);
	st8(map + BAR_GUARD + REGION, 0xcd);
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		st64(win + offs[i], 0x5a5a5a5a00000000ULL | i);
	memset(win + 7 * CHUNK - 4096, 0, sizeof(buf));
	fill_pattern(ref, 31, 0, sizeof(ref));
	memcpy(win + 3 * CHUNK - 8192, ref, sizeof(ref));
	munmap(map, size);

	/* 2: through the driver only. */
	snprintf(params, sizeof(params), "mmio_base=0x%llx allow_writes=1",
		 bar + BAR_GUARD);
	ASSERT_EQ(0, dsmil_reload(params));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	EXPECT_STREQ("iomem", (char *)info.mmio_backend);
	EXPECT_EQ(bar + BAR_GUARD, info.region_base);
	ASSERT_LT(0, read_text("/proc/iomem", iomem, sizeof(iomem)));
	snprintf(want, sizeof(want), "%llx-%llx : dsmil", bar + BAR_GUARD,
		 bar + BAR_GUARD + REGION - 1);
	EXPECT_NE(NULL, strstr(iomem, want));
	if (!strstr(iomem, want))
		TH_LOG("no '%s' in /proc/iomem", want);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		ASSERT_EQ(0, rd(fd, offs[i], 8, &v));
		EXPECT_EQ(0x5a5a5a5a00000000ULL | i, v);
		ASSERT_EQ(0, rd(fd, offs[i] + 4, 4, &v));
		EXPECT_EQ(0x5a5a5a5a, v);
		ASSERT_EQ(0, wr(fd, offs[i], 8, 0));
		ASSERT_EQ(0, wr(fd, offs[i], 4, 0x11223344));
		ASSERT_EQ(0, wr(fd, offs[i] + 4, 2, 0x5566));
		ASSERT_EQ(0, wr(fd, offs[i] + 7, 1, 0x77));
	}
	for (i = 0; i < ARRAY_SIZE(ub); i++) {
		memset(got, 0xee, sizeof(got));
		ASSERT_EQ(0, bread(fd, 3 * CHUNK - 8192 + ub[i].off,
				   got + ub[i].mis, ub[i].len, &done));
		EXPECT_EQ(ub[i].len, done);
		EXPECT_EQ(0, memcmp(got + ub[i].mis, ref + ub[i].off,
				    ub[i].len));
		/* Not one byte outside the buffer it was given. */
		EXPECT_EQ(0xee, got[ub[i].mis + ub[i].len]);
		if (ub[i].mis)
			EXPECT_EQ(0xee, got[ub[i].mis - 1]);
	}
	/* A buffer whose second page is gone: the first page, then -EFAULT. */
	m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, munmap(m + 4096, 4096));
	EXPECT_EQ(-EFAULT, bread(fd, 3 * CHUNK - 8192, m, 2 * 4096, &done));
	EXPECT_EQ(4096, done);
	EXPECT_EQ(0, memcmp(m, ref, 4096));
	/* The hole in the middle of a piece, unaligned: nothing done. */
	EXPECT_EQ(-EFAULT, bread(fd, 3 * CHUNK - 8192 + 5, m + 4096 - 100, 200,
				 &done));
	EXPECT_EQ(0, done);
	munmap(m, 4096);
	fill_pattern(buf, 77, 0, sizeof(buf));
	ASSERT_EQ(0, bwrite(fd, 7 * CHUNK - 4096, buf, sizeof(buf), &done));
	EXPECT_EQ(sizeof(buf), done);
	EXPECT_EQ(-ERANGE, rd(fd, REGION, 1, &v));
	EXPECT_EQ(-ERANGE, bwrite(fd, REGION - 4, buf, 8, &done));
	close(fd);
	dsmil_restore_defaults();
	EXPECT_TRUE(dsmil_params_default());

	/* 3: the BAR's view once the driver let go of the window. */
	map = bar_map(size, false);
	ASSERT_NE(NULL, map);
	win = map + BAR_GUARD;
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		EXPECT_EQ(0x7700556611223344ULL, ld64(win + offs[i]));
	EXPECT_EQ(0, memcmp(buf, win + 7 * CHUNK - 4096, sizeof(buf)));
	EXPECT_EQ(0xab, ld8(map + BAR_GUARD - 1));
	EXPECT_EQ(0xcd, ld8(map + BAR_GUARD + REGION));
	munmap(map, size);
}

/* ------------------------------------------------------------ bar sweep */

/*
 * The window through userspace mmap of the BAR + memcpy, for comparison
 * with the driver (only while the driver does not hold the window, see
 * iomem_bar_window).  Returns ns, or 0 if the BAR cannot be mapped.
 */
static __u64 time_mmap_read(__u8 *buf, size_t piece, __u64 size)
{
	__u64 off, n, t0;
	__u8 *map = bar_map(size, false);

	if (!map)
		return 0;
	t0 = now_ns();
	for (off = 0; off < REGION; off += n) {
		n = REGION - off < piece ? REGION - off : piece;
		memcpy(buf, map + BAR_GUARD + off, n);
	}
	t0 = now_ns() - t0;
	munmap(map, size);
	return t0;
}

/*
 * Windows the sweep must not be able to write: the quarantined devices'
 * and 5:11's, which it leaves OFFLINE.  Every other device is brought up
 * ACTIVE, so raw writes may cover the rest of the region.
 */
#define SWEEP_OFFLINE	DEV_ID(5, 11)
static bool sweep_closed_dev[DSMIL_NUM_DEVICES];

static bool sweep_closed(__u64 off)
{
	unsigned int i = off % DSMIL_GROUP_STRIDE / DSMIL_WINDOW_SIZE;

	return off < WIN_END && i < DSMIL_DEVS_PER_GROUP &&
	       sweep_closed_dev[DEV_ID(off / DSMIL_GROUP_STRIDE, i)];
}

/* Words of @buf (region offset @off) not holding A (closed) or B (open). */
static __u64 sweep_mismatch(const void *buf, __u64 seed_a, __u64 seed_b,
			    __u64 off, size_t len, __u64 *first)
{
	const __u64 *w = buf;
	__u64 bad = 0;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		__u64 o = off + 8 * i;
		__u64 want = bar_word(sweep_closed(o) ? seed_a : seed_b,
				      BAR_GUARD + o);

		if (w[i] != want) {
			if (!bad && first)
				*first = o;
			bad++;
		}
	}
	return bad;
}

/*
 * Find the quarantined devices, check that raw writes into closed windows
 * are refused (before and after the other devices come up), bring every
 * other device up.  @buf holds at least @piece bytes.  Returns failures.
 */
static int sweep_devices(int fd, __u64 seed_b, __u8 *buf, size_t piece)
{
	__u64 q = WIN(0, 9), o = WIN(5, 11), done;
	int fails = 0, pass, r[3];
	unsigned int id;

	for (id = 0; id < DSMIL_NUM_DEVICES; id++) {
		struct dsmil_dev_info di = { .id = id };

		if (ioctl(fd, DSMIL_IOC_DEV_INFO, &di)) {
			printf("bar-sweep: dev-info %u: %s\n", id,
			       strerror(errno));
			return 1;
		}
		sweep_closed_dev[id] = (di.flags & DSMIL_DEVF_QUARANTINED) ||
				       id == SWEEP_OFFLINE;
		if (sweep_closed_dev[id])
			printf("bar-sweep: closed-window dev=DSMIL%uD%X off=%#llx why=%s\n",
			       id / DSMIL_DEVS_PER_GROUP,
			       id % DSMIL_DEVS_PER_GROUP,
			       (__u64)WIN(id / DSMIL_DEVS_PER_GROUP,
					  id % DSMIL_DEVS_PER_GROUP),
			       id == SWEEP_OFFLINE ? "offline" : "quarantined");
	}
	fill_pattern(buf, seed_b, BAR_GUARD, piece);
	for (pass = 0; pass < 2; pass++) {
		r[0] = wr(fd, q, 8, bar_word(seed_b, BAR_GUARD + q));
		r[1] = wr(fd, o, 8, bar_word(seed_b, BAR_GUARD + o));
		done = 1;
		r[2] = bwrite(fd, 0, buf, piece, &done);
		printf("bar-sweep: refused-%s quarantined=%d offline=%d bulk-from-0=%d done=%llu\n",
		       pass ? "after-up" : "before-up", r[0], r[1], r[2], done);
		fails += r[0] != -EPERM || r[1] != -ENODEV || done ||
			 r[2] != (pass ? -EPERM : -ENODEV);
		for (id = 0; !pass && id < DSMIL_NUM_DEVICES; id++) {
			int ret = sweep_closed_dev[id] ? 0 : dev_bring_up(fd, id, true);

			if (ret) {
				printf("bar-sweep: DSMIL%uD%X up: %s\n",
				       id / DSMIL_DEVS_PER_GROUP,
				       id % DSMIL_DEVS_PER_GROUP,
				       strerror(-ret));
				return fails + 1;
			}
		}
	}
	return fails;
}

static int bar_sweep(__u64 seed_a, __u64 seed_b)
{
	const size_t piece = DSMIL_BULK_MAX;
	__u64 bar, size, off, n, done, bad, first = 0, t0, t_drv, t_map;
	struct dsmil_mmio_status st;
	struct dsmil_info info = {};
	char params[128];
	__u8 *buf, *map;
	int fd, ret, fails = 0;

	if (bar_info(&bar, &size) || size < BAR_GUARD + REGION) {
		printf("bar-sweep: no ivshmem BAR\n");
		return 2;
	}
	buf = malloc(piece);
	if (!buf)
		return 2;
	memset(buf, 0, piece);		/* fault the buffer in before timing */
	t_map = time_mmap_read(buf, piece, size);
	if (!t_map) {
		printf("bar-sweep: cannot map the BAR through sysfs\n");
		return 2;
	}

	snprintf(params, sizeof(params), "mmio_base=0x%llx allow_writes=1",
		 bar + BAR_GUARD);
	ret = dsmil_reload(params);
	fd = dsmil_open();
	if (ret || fd < 0 || ioctl(fd, DSMIL_IOC_INFO, &info)) {
		printf("bar-sweep: load with %s failed: %s\n", params,
		       strerror(ret ? -ret : errno));
		return 1;
	}
	printf("bar-sweep: loaded backend=%s base=0x%llx size=%llu bar=0x%llx\n",
	       (char *)info.mmio_backend, info.region_base, info.region_size,
	       bar);

	/* 1: read the whole window through the driver; pattern A. */
	bad = 0;
	t_drv = 0;
	for (off = 0; off < REGION; off += n) {
		n = REGION - off < piece ? REGION - off : piece;
		t0 = now_ns();
		ret = bread(fd, off, buf, n, &done);
		t_drv += now_ns() - t0;
		if (ret || done != n) {
			printf("bar-sweep: bulk read at %#llx: %s done=%llu\n",
			       off, strerror(-ret), done);
			return 1;
		}
		bad += count_mismatch(buf, seed_a, BAR_GUARD + off, n,
				      bad ? NULL : &first);
	}
	printf("bar-sweep: read-a words=%llu mismatches=%llu first=%#llx ms=%.0f MiBps=%.0f\n",
	       REGION / 8, bad, bad ? first : 0, t_drv / 1e6,
	       REGION / MIB / (t_drv / 1e9));
	printf("bar-sweep: mmap-memcpy ms=%.0f MiBps=%.0f driver-speed/mmap-speed=%.2f\n",
	       t_map / 1e6, REGION / MIB / (t_map / 1e9),
	       (double)t_map / t_drv);
	fails += !!bad;

	/* 2: pattern B wherever raw writes may go; read it back. */
	ret = sweep_devices(fd, seed_b, buf, piece);
	printf("bar-sweep: closed-windows %s\n", ret ? "FAILED" : "refused");
	fails += ret;
	t0 = now_ns();
	for (off = 0; off < REGION; off += n) {
		__u64 o;

		if (sweep_closed(off)) {
			n = DSMIL_WINDOW_SIZE - off % DSMIL_WINDOW_SIZE;
			continue;
		}
		n = REGION - off < piece ? REGION - off : piece;
		/* Stop short of the next closed window (they are 4 KiB aligned). */
		for (o = off - off % DSMIL_WINDOW_SIZE + DSMIL_WINDOW_SIZE;
		     o < off + n && o < WIN_END; o += DSMIL_WINDOW_SIZE)
			if (sweep_closed(o)) {
				n = o - off;
				break;
			}
		fill_pattern(buf, seed_b, BAR_GUARD + off, n);
		ret = bwrite(fd, off, buf, n, &done);
		if (ret || done != n) {
			printf("bar-sweep: bulk write at %#llx: %s\n", off,
			       strerror(-ret));
			return 1;
		}
	}
	printf("bar-sweep: write-b ms=%.0f (pattern generation included)\n",
	       (now_ns() - t0) / 1e6);
	bad = 0;
	for (off = 0; off < REGION; off += n) {
		n = REGION - off < piece ? REGION - off : piece;
		if (bread(fd, off, buf, n, &done) || done != n)
			return 1;
		bad += sweep_mismatch(buf, seed_a, seed_b, off, n,
				      bad ? NULL : &first);
	}
	/* B where writes were allowed, A still in the closed windows. */
	printf("bar-sweep: readback-b mismatches=%llu\n", bad);
	fails += !!bad;

	if (mmio_status(fd, &st) || mmio_identity(&st)) {
		printf("bar-sweep: status identity broken\n");
		fails++;
	}
	printf("bar-sweep: maps=%llu unmaps=%llu evictions=%llu resident=%u\n",
	       st.maps, st.unmaps, st.evictions, st.resident);
	printf("bar-sweep: bytes_read=%llu bytes_written=%llu\n",
	       st.bytes_read, st.bytes_written);
	close(fd);
	if (dsmil_unload_wait(5000)) {
		printf("bar-sweep: unload failed\n");
		fails++;
	}

	/* 3: the BAR's own view once the driver let go: B inside, A outside. */
	map = bar_map(size, false);
	if (!map) {
		printf("bar-sweep: cannot map the BAR through sysfs\n");
		return 1;
	}
	bad = count_mismatch(map, seed_a, 0, BAR_GUARD, &first) +
	      count_mismatch(map + BAR_GUARD + REGION, seed_a,
			     BAR_GUARD + REGION, size - BAR_GUARD - REGION,
			     &first);
	printf("bar-sweep: guards-a mismatches=%llu\n", bad);
	fails += !!bad;
	bad = sweep_mismatch(map + BAR_GUARD, seed_a, seed_b, 0, REGION, &first);
	printf("bar-sweep: window-b-via-mmap mismatches=%llu\n", bad);
	fails += !!bad;
	munmap(map, size);

	printf("bar-sweep: %s\n", fails ? "FAILED" : "PASSED");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--bar-sweep")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return bar_sweep(strtoull(argv[2], NULL, 0),
				 strtoull(argv[3], NULL, 0));
	}
	return test_harness_run(argc, argv);
}
