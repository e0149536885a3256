// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation-failure injection with the kernel's failslab and
 * /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION + CONFIG_FAILSLAB in
 * the debug kernel): "fail the n-th slab allocation this task makes", for
 * n = 1, 2, ... until the operation no longer reaches an n-th allocation.
 *
 *  - module load: finit_module(2) of dsmil.ko from this process, failing
 *    each allocation of the load in turn (the loader's and the module's
 *    init) until the load succeeds: every failed load ends in a clean errno
 *    with nothing left behind (no module, node, debugfs dir); a load that
 *    absorbed a failure must work and unload;
 *  - chunk mapping: each allocation of mapping a new chunk, plus the
 *    mapper's own fail_next_maps knob; a bulk write whose second chunk
 *    cannot be mapped writes nothing;
 *  - ioctl paths: every command with valid arguments (and open(2)).
 *
 * After every injected failure: the errno is one the uapi header documents
 * (or -ENOMEM), and the SMI and MMIO counter identities still hold.  Leaks
 * are kmemleak's business (tools/dsmil-vm scans after the run).  failslab
 * must not ignore sleeping allocations (ignore-gfp-wait=N) or GFP_KERNEL
 * would never fail; it is restored at the end.
 *
 * Needs root.  Leaves dsmil.ko loaded with default parameters.
 */
#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define FAILSLAB	"/sys/kernel/debug/failslab"
#define MAX_NTH		5000U

static int nth_fd = -1;

static int fail_nth_set(unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	return pwrite(nth_fd, b, l, 0) == l ? 0 : -errno;
}

/* 0: the failure was injected; > 0: not reached (the count left). */
static int fail_nth_left(void)
{
	char b[16] = {};

	if (pread(nth_fd, b, sizeof(b) - 1, 0) <= 0)
		return -1;
	return atoi(b);
}

/* Arm, run @fn, disarm.  *@hit: the n-th allocation happened (and failed). */
#define WITH_FAIL_NTH(n, hit, stmt) do { \
	fail_nth_set(n); \
	stmt; \
	*(hit) = fail_nth_left() == 0; \
	fail_nth_set(0); \
} while (0)

static bool gone(void)
{
	return !dsmil_loaded() && access(DSMIL_DEV, F_OK) &&
	       access(DSMIL_DEBUGFS, F_OK) &&
	       access("/sys/bus/platform/devices/dsmil", F_OK) &&
	       access("/sys/bus/platform/drivers/dsmil", F_OK);
}

/* The identities the counters promise; NULL or what is off. */
static const char *books(int fd)
{
	struct dsmil_smi_status s;
	struct dsmil_mmio_status m;
	struct dsmil_info info;
	const char *why;

	if (dsmil_info(fd, &info))
		return "INFO failed";
	if ((info.features & DSMIL_FEAT_SMI) && !smi_status(fd, &s)) {
		why = smi_identity(&s);
		if (why)
			return why;
	}
	if ((info.features & DSMIL_FEAT_MMIO) && !mmio_status(fd, &m)) {
		why = mmio_identity(&m);
		if (why)
			return why;
	}
	return NULL;
}

FIXTURE(fs)
{
	int fd;
	unsigned int features;
};

FIXTURE_SETUP(fs)
{
	struct dsmil_info info;

	if (access(FAILSLAB, F_OK))
		SKIP(return, "no " FAILSLAB " (CONFIG_FAILSLAB)");
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0)
		SKIP(return, "no /proc/thread-self/fail-nth");
	ASSERT_EQ(0, write_text(FAILSLAB "/ignore-gfp-wait", "N"));
	/* One line per injected failure, no stack dumps (TCG is slow). */
	ASSERT_EQ(0, write_text(FAILSLAB "/verbose", "1"));
	ASSERT_EQ(0, dsmil_reload("allow_writes=1"));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, dsmil_info(self->fd, &info));
	self->features = info.features;
}

FIXTURE_TEARDOWN(fs)
{
	if (nth_fd >= 0) {
		fail_nth_set(0);
		close(nth_fd);
	}
	close(self->fd);
	write_text(FAILSLAB "/ignore-gfp-wait", "Y");
	write_text(FAILSLAB "/verbose", "2");
	/* A fresh load: parameters and knobs back to their defaults. */
	dsmil_reload(NULL);
}

/* Slab allocations one finit_module(2) makes, counted without failing any. */
static long load_allocs(int ko, const char *params, int *err)
{
	const unsigned int big = 1000000;
	long left;
	int ret;

	fail_nth_set(big);
	ret = syscall(SYS_finit_module, ko, params, 0);
	*err = ret ? errno : 0;
	left = fail_nth_left();
	fail_nth_set(0);
	return big - left;
}

/*
 * Fail each allocation of a module load in turn, until the load succeeds.
 *
 * One window is skipped unless DSMIL_FAILSLAB_ALL=1: the allocations from
 * the loader's duplicate check to the parsing of the parameters (module
 * layout and relocation, and the MODULE_STATE_COMING notifiers, which
 * register the module's trace events).  Failing an allocation there WARNs in
 * 6.12's tracing core (kernel/trace/trace_events.c:2628, WARN_ON_ONCE on
 * -ENOMEM from trace_define_field_ext(), then trace_events.c:1150/1158 in
 * event_file_put() at unload): a kernel bug outside dsmil that would fail
 * every run.  The window is measured, not guessed: B allocations happen
 * before a duplicate load is refused, A before a bad parameter value is.
 */
TEST_F_TIMEOUT(fs, module_load, 3600)
{
	unsigned int n, failed = 0, absorbed = 0, by_errno[256] = {};
	bool all = env_ulong("DSMIL_FAILSLAB_ALL", 0);
	/*
	 * Every allocation of the load costs a full load (~0.3 s on the TCG
	 * debug guest): the CI form fails every DSMIL_FAILSLAB_STRIDE-th
	 * (default 3) from a start that changes from run to run; the long
	 * form (make fuzz) sets the stride to 1.
	 */
	unsigned int stride = env_ulong("DSMIL_FAILSLAB_STRIDE", 3) ?: 1;
	unsigned int phase = (unsigned int)suite_seed(NULL) % stride;
	long total, before_dup, before_params;
	int ko, ret, err;
	bool hit;

	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, dsmil_unload_wait(5000));
	ko = open(dsmil_ko(), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ko);

	total = load_allocs(ko, "", &err);
	ASSERT_EQ(0, err) TH_LOG("plain load: %s", strerror(err));
	before_dup = load_allocs(ko, "", &err);
	ASSERT_EQ(EEXIST, err);
	ASSERT_EQ(0, dsmil_unload_wait(5000));
	before_params = load_allocs(ko, "max_resident=x", &err);
	ASSERT_EQ(EINVAL, err);
	ASSERT_TRUE(gone());
	ASSERT_LT(before_dup, before_params);
	ksft_print_msg("a load makes %ld slab allocations; %ld before the duplicate check, %ld before parameter parsing; failing 1..%ld and %ld..end%s, every %u%s\n",
		       total, before_dup, before_params, before_dup,
		       all ? before_dup + 1 : before_params + 1,
		       all ? "" : " (the window between skipped; DSMIL_FAILSLAB_ALL=1 for it)",
		       stride, stride > 1 ? " (set DSMIL_FAILSLAB_STRIDE=1 for all)" : "");

	for (n = 1; n <= MAX_NTH; n++) {
		if (!all && n > before_dup && n <= before_params)
			continue;
		/* CI: every stride-th allocation, from a rotating start. */
		if (n > before_dup && (n + phase) % stride)
			continue;
		WITH_FAIL_NTH(n, &hit,
			      ret = syscall(SYS_finit_module, ko, "", 0);
			      err = ret ? errno : 0);
		if (!ret && !hit)
			break;		/* the load needs fewer allocations */
		if (!ret) {
			/* The failure was absorbed: the driver must work. */
			int fd = dsmil_open();
			struct dsmil_info info;

			absorbed++;
			EXPECT_LE(0, fd) TH_LOG("n=%u: loaded but no node", n);
			if (fd >= 0) {
				EXPECT_EQ(0, dsmil_info(fd, &info));
				EXPECT_EQ(NULL, dsmil_info_check(&info, 8))
					TH_LOG("n=%u: loaded with a failure but answers wrong", n);
				close(fd);
			}
			ASSERT_EQ(0, dsmil_unload_wait(5000))
				TH_LOG("n=%u: unload after an absorbed failure", n);
			continue;
		}
		failed++;
		by_errno[err & 0xff]++;
		EXPECT_TRUE(hit) TH_LOG("n=%u: load failed (%s) without the injected failure",
					n, strerror(err));
		/*
		 * The driver's own allocations answer -ENOMEM.  Two answers
		 * come from the driver core's registration of the platform
		 * device, not from dsmil: -EINVAL (platform_device_add()
		 * ignores a failed dev_set_name() and device_add() then
		 * refuses the nameless device) and -ENODEV (the bind failed
		 * before dsmil's probe ran, e.g. its sysfs links, and
		 * __platform_driver_probe() reports "no device bound").
		 */
		EXPECT_TRUE(err == ENOMEM || err == EINVAL || err == ENODEV)
			TH_LOG("n=%u: load failed with %s", n, strerror(err));
		EXPECT_TRUE(gone()) TH_LOG("n=%u: failed load left something behind", n);
		if (!gone())
			break;
	}
	ksft_print_msg("module load: %u allocations failed in turn: %u loads refused (ENOMEM %u, driver core EINVAL %u, ENODEV %u), %u failures absorbed (and the module then worked); clean load at #%u\n",
		       failed + absorbed, failed, by_errno[ENOMEM],
		       by_errno[EINVAL], by_errno[ENODEV], absorbed, n);
	/* Most of a load's allocations are dsmil's own. */
	EXPECT_LT(by_errno[EINVAL] + by_errno[ENODEV], by_errno[ENOMEM]);
	EXPECT_GE(MAX_NTH, n) TH_LOG("still failing after %u allocations", MAX_NTH);
	EXPECT_LT(0U, failed) TH_LOG("no allocation of the load could be failed");
	EXPECT_TRUE(dsmil_loaded());
	close(ko);
	if (!dsmil_loaded())
		ASSERT_EQ(0, dsmil_load("allow_writes=1"));
	self->fd = dsmil_open();
}

/* Map chunk @ch under fail-nth n = 1, 2, ... */
static unsigned int map_chunk_failing(struct __test_metadata *_metadata,
				      int fd, unsigned int ch, unsigned int *ok_at)
{
	struct dsmil_mmio_status m0, m1;
	unsigned int n, failed = 0;
	bool hit;
	int e;

	for (n = 1; n <= MAX_NTH; n++) {
		struct dsmil_mmio_rw rw = {
			.offset = ch * DSMIL_CHUNK_SIZE + 64, .width = 8,
		};

		mmio_status(fd, &m0);
		WITH_FAIL_NTH(n, &hit,
			      e = ioctl(fd, DSMIL_IOC_MMIO_READ, &rw) ? errno : 0);
		mmio_status(fd, &m1);
		EXPECT_EQ(NULL, mmio_identity(&m1)) TH_LOG("chunk %u n=%u", ch, n);
		if (!e && !hit)
			break;
		if (!e)
			continue;	/* absorbed (e.g. kmemleak's own) */
		failed++;
		EXPECT_TRUE(e == ENOMEM || e == EIO)
			TH_LOG("chunk %u n=%u: %s", ch, n, strerror(e));
		EXPECT_EQ(m0.map_failures + 1, m1.map_failures);
		EXPECT_EQ(m0.maps, m1.maps);
		EXPECT_FALSE(map_bit(m1.resident_map, ch))
			TH_LOG("chunk %u resident after a failed map", ch);
	}
	*ok_at = n;
	return failed;
}

TEST_F_TIMEOUT(fs, chunk_mapping, 1800)
{
	static uint8_t pat[128 * 1024], back[128 * 1024];
	struct dsmil_mmio_status m0, m1;
	struct dsmil_mmio_bulk bk = {};
	unsigned int ch, failed = 0, ok_at = 0, n, i;
	bool hit;
	int e;

	if (!(self->features & DSMIL_FEAT_MMIO))
		SKIP(return, "MMIO mapper not built");
	/* Chunks 10, 30, 60: never mapped yet after the reload. */
	for (ch = 10; ch <= 60; ch += ch == 10 ? 20 : 30) {
		failed += map_chunk_failing(_metadata, self->fd, ch, &ok_at);
		ksft_print_msg("chunk %u: mapped at allocation #%u\n", ch, ok_at);
	}

	/* The mapper's own knob: the next map fails. */
	ASSERT_EQ(0, mmio_knob_write("fail_next_maps", "1"));
	{
		struct dsmil_mmio_rw rw = { .offset = 70 * DSMIL_CHUNK_SIZE,
					    .width = 4 };

		mmio_status(self->fd, &m0);
		e = ioctl(self->fd, DSMIL_IOC_MMIO_READ, &rw) ? errno : 0;
		mmio_status(self->fd, &m1);
		EXPECT_TRUE(e == ENOMEM || e == EIO) TH_LOG("fail_next_maps: %s",
							    strerror(e));
		EXPECT_EQ(m0.map_failures + 1, m1.map_failures);
		failed++;
		e = ioctl(self->fd, DSMIL_IOC_MMIO_READ, &rw) ? errno : 0;
		EXPECT_EQ(0, e) TH_LOG("the knob failed more than one map");
	}

	/*
	 * A bulk write from chunk 40 (mapped) into 41 (never mapped) whose
	 * second map fails must write nothing at all.
	 */
	for (i = 0; i < sizeof(pat); i++)
		pat[i] = i * 7 + 1;
	bk.offset = 41 * DSMIL_CHUNK_SIZE - sizeof(pat) / 2;
	bk.length = sizeof(pat) / 2;	/* chunk 40 only: map it, fill it */
	bk.buf = (uintptr_t)pat;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_MMIO_BULK_WRITE, &bk));
	for (i = 0; i < sizeof(pat); i++)
		pat[i] = ~pat[i];
	for (n = 1; n <= MAX_NTH; n++) {
		bk.length = sizeof(pat);
		bk.done = 0;
		mmio_status(self->fd, &m0);
		WITH_FAIL_NTH(n, &hit,
			      e = ioctl(self->fd, DSMIL_IOC_MMIO_BULK_WRITE, &bk) ?
				  errno : 0);
		if (!e && !hit)
			break;
		if (!e)
			continue;
		failed++;
		mmio_status(self->fd, &m1);
		EXPECT_TRUE(e == ENOMEM || e == EIO) TH_LOG("n=%u: %s", n,
							    strerror(e));
		EXPECT_EQ(0ULL, bk.done) TH_LOG("n=%u: a failed bulk write wrote", n);
		EXPECT_EQ(m0.bytes_written, m1.bytes_written);
		/* Chunk 40's half still holds the first pattern. */
		{
			struct dsmil_mmio_bulk rd = {
				.offset = bk.offset, .length = sizeof(back) / 2,
				.buf = (uintptr_t)back,
			};

			ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_MMIO_BULK_READ, &rd));
			for (i = 0; i < sizeof(back) / 2; i++)
				if (back[i] != (uint8_t)(i * 7 + 1))
					break;
			EXPECT_EQ(sizeof(back) / 2, i)
				TH_LOG("n=%u: partial write landed at byte %u", n, i);
		}
	}
	ksft_print_msg("bulk write across a failing map: clean up to allocation #%u\n", n);
	ksft_print_msg("chunk mapping: %u injected map failures, all clean\n", failed);
	EXPECT_EQ(NULL, books(self->fd));
}

enum { OPEN = 100, SUBMIT_READ };

struct ioc_case {
	const char *name;
	unsigned long cmd;
	unsigned int feat;
	const int *errs;	/* besides ENOMEM */
};

#define ERRS(...) ((const int[]){ __VA_ARGS__, 0 })

static const struct ioc_case cases[] = {
	{ "open", OPEN, 0, ERRS(ENFILE, EMFILE) },
	{ "INFO", DSMIL_IOC_INFO, 0, ERRS(0) },
	{ "STATS", DSMIL_IOC_STATS, 0, ERRS(0) },
	{ "DEV_INFO", DSMIL_IOC_DEV_INFO, DSMIL_FEAT_DEVICES, ERRS(0) },
	{ "DEV_LIST", DSMIL_IOC_DEV_LIST, DSMIL_FEAT_DEVICES, ERRS(0) },
	{ "DEV_TRANSITION", DSMIL_IOC_DEV_TRANSITION, DSMIL_FEAT_DEVICES,
	  ERRS(EIO, ETIMEDOUT, ESHUTDOWN, EAGAIN) },
	{ "AUDIT_READ", DSMIL_IOC_AUDIT_READ, DSMIL_FEAT_DEVICES, ERRS(0) },
	{ "TOKEN_READ", DSMIL_IOC_TOKEN_READ, DSMIL_FEAT_SMI, ERRS(EIO) },
	{ "TOKEN_WRITE", DSMIL_IOC_TOKEN_WRITE, DSMIL_FEAT_SMI, ERRS(EIO) },
	{ "SMI_STATUS", DSMIL_IOC_SMI_STATUS, DSMIL_FEAT_SMI, ERRS(0) },
	{ "SMI_RECOVER", DSMIL_IOC_SMI_RECOVER, DSMIL_FEAT_SMI, ERRS(EIO) },
	{ "MMIO_READ", DSMIL_IOC_MMIO_READ, DSMIL_FEAT_MMIO, ERRS(EIO) },
	{ "MMIO_WRITE", DSMIL_IOC_MMIO_WRITE, DSMIL_FEAT_MMIO, ERRS(EIO) },
	{ "MMIO_BULK_READ", DSMIL_IOC_MMIO_BULK_READ, DSMIL_FEAT_MMIO, ERRS(EIO) },
	{ "MMIO_BULK_WRITE", DSMIL_IOC_MMIO_BULK_WRITE, DSMIL_FEAT_MMIO, ERRS(EIO) },
	{ "MMIO_STATUS", DSMIL_IOC_MMIO_STATUS, DSMIL_FEAT_MMIO, ERRS(0) },
	{ "GROUP_ESTOP", DSMIL_IOC_GROUP_ESTOP, DSMIL_FEAT_DEVICES, ERRS(0) },
	/* Open, submit, read the record back, close: every step's cleanup. */
	{ "TOKEN_SUBMIT", SUBMIT_READ, DSMIL_FEAT_ASYNC, ERRS(ENFILE, EMFILE) },
};

/* Put things where the call under test can succeed, then make the call. */
static int ioc_call(int fd, const struct ioc_case *c, unsigned int n)
{
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	static struct dsmil_audit_entry ents[32];
	static struct dsmil_chunk_stat cs[DSMIL_MAX_CHUNKS];
	static uint8_t buf[256 * 1024];
	union dsmil_ioc_arg a;
	int nfd;

	memset(&a, 0, sizeof(a));
	switch (c->cmd) {
	case OPEN:
		nfd = open(DSMIL_DEV, O_RDWR | O_CLOEXEC);
		if (nfd < 0)
			return errno;
		close(nfd);
		return 0;
	case SUBMIT_READ: {
		struct dsmil_token_submit sub = {
			.group = 0, .position = DSMIL_TOKEN_POWER,
			.op = DSMIL_TOKEN_OP_READ,
		};
		struct dsmil_token_completion rec;
		int err = 0;

		nfd = open(DSMIL_DEV, O_RDWR | O_CLOEXEC);
		if (nfd < 0)
			return errno;
		if (ioctl(nfd, DSMIL_IOC_TOKEN_SUBMIT, &sub))
			err = errno;
		else if (read(nfd, &rec, sizeof(rec)) != sizeof(rec))
			err = EPROTO;	/* a submitted read always reports */
		else if (rec.id != sub.id || rec.error)
			err = rec.error ?: EPROTO;
		close(nfd);
		return err;
	}
	case DSMIL_IOC_DEV_INFO:
		a.di.id = n % DSMIL_NUM_DEVICES;
		break;
	case DSMIL_IOC_DEV_LIST:
		a.dl.buf = (uintptr_t)devs;
		a.dl.count = DSMIL_NUM_DEVICES;
		break;
	case DSMIL_IOC_DEV_TRANSITION:
		/* DSMIL0D3 INITIALIZING -> READY: verification SMI and all. */
		a.tr.id = 3;
		a.tr.target = DSMIL_DEV_READY;
		break;
	case DSMIL_IOC_GROUP_ESTOP:
		a.gs.group = 5;
		break;
	case DSMIL_IOC_AUDIT_READ:
		a.ar.buf = (uintptr_t)ents;
		a.ar.count = ARRAY_SIZE(ents);
		break;
	case DSMIL_IOC_TOKEN_READ:
	case DSMIL_IOC_TOKEN_WRITE:
		a.tk.group = 0;
		a.tk.position = DSMIL_TOKEN_POWER;
		a.tk.value = n;
		break;
	case DSMIL_IOC_MMIO_READ:
	case DSMIL_IOC_MMIO_WRITE:
		/* Outside the device windows: raw writes there are gated. */
		a.rw.offset = (n % 90) * DSMIL_CHUNK_SIZE + 0x100008;
		a.rw.width = 8;
		a.rw.value = n;
		break;
	case DSMIL_IOC_MMIO_BULK_READ:
	case DSMIL_IOC_MMIO_BULK_WRITE:
		a.bk.offset = (n % 89 + 1) * DSMIL_CHUNK_SIZE - sizeof(buf) / 2;
		a.bk.length = sizeof(buf);
		a.bk.buf = (uintptr_t)buf;
		break;
	case DSMIL_IOC_MMIO_STATUS:
		a.ms.chunk_buf = (uintptr_t)cs;
		a.ms.chunk_count = DSMIL_MAX_CHUNKS;
		break;
	}
	if (c->cmd == DSMIL_IOC_SMI_RECOVER)
		return ioctl(fd, c->cmd, 0) ? errno : 0;
	return ioctl(fd, c->cmd, &a) ? errno : 0;
}

/* Make the next call of @c meaningful (e.g. a device to verify). */
static void ioc_prepare(int fd, const struct ioc_case *c)
{
	if (c->cmd == DSMIL_IOC_DEV_TRANSITION) {
		int st = dev_state(fd, 3);

		if (st == DSMIL_DEV_READY || st == DSMIL_DEV_LOCKED)
			dev_transition(fd, 3, DSMIL_DEV_ERROR, NULL);
		if (dev_state(fd, 3) != DSMIL_DEV_INITIALIZING)
			dev_transition(fd, 3, DSMIL_DEV_INITIALIZING, NULL);
	}
	if (c->cmd == DSMIL_IOC_TOKEN_READ || c->cmd == DSMIL_IOC_TOKEN_WRITE ||
	    c->cmd == SUBMIT_READ)
		dev_bring_up(fd, 0, true);
}

TEST_F_TIMEOUT(fs, ioctl_paths, 1800)
{
	unsigned int i, n, k, failed, total = 0;
	bool hit;
	int e;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct ioc_case *c = &cases[i];
		const char *why;

		if (c->feat && !(self->features & c->feat))
			continue;
		failed = 0;
		for (n = 1; n <= MAX_NTH; n++) {
			ioc_prepare(self->fd, c);
			WITH_FAIL_NTH(n, &hit, e = ioc_call(self->fd, c, n));
			if (!e && !hit)
				break;
			if (!e)
				continue;
			failed++;
			for (k = 0; c->errs[k] && c->errs[k] != e; k++)
				;
			EXPECT_TRUE(e == ENOMEM || c->errs[k] == e)
				TH_LOG("%s with allocation #%u failed: %s", c->name,
				       n, strerror(e));
			why = books(self->fd);
			EXPECT_EQ(NULL, why) TH_LOG("%s n=%u: %s", c->name, n, why);
		}
		ksft_print_msg("%-16s %u allocation(s) failed in turn, clean; succeeded at #%u\n",
			       c->name, failed, n);
		EXPECT_GE(MAX_NTH, n);
		total += failed;
	}
	ksft_print_msg("ioctl paths: %u injected failures, all clean\n", total);
}

/*
 * A caller killed while its SMI is at the hardware hands the engine a copy
 * of its on-stack request and leaves at once (smi_test covers that).  With
 * that copy's allocation failed it must finish the SMI itself, within its
 * deadline: the process dies only once the (300 ms) SMI is done, and no
 * request is abandoned.
 *
 * fail-nth fails the child's first slab allocation after it is set, meant
 * to be the copy.  On a loaded host an allocation of the kernel's own can
 * come first (seen twice in 3 runs, with the host at a load average of 10):
 * the copy then succeeds and the caller hands its request off.  That run is
 * checked as a hand-off (the request is finished and counted abandoned) and
 * the scenario runs again, up to 5 times; the no-memory path must be taken
 * at least once.
 */
enum killed_outcome { KILLED_STAYED, KILLED_HANDED_OFF, KILLED_BROKEN };

static enum killed_outcome killed_caller_once(struct __test_metadata *_metadata,
					      int fd)
{
	struct dsmil_smi_status s0, s;
	struct dsmil_token_req tr = { .position = DSMIL_TOKEN_POWER };
	uint64_t t_kill, t_gone, t_submit = 0;
	bool stayed;
	int status, i;
	pid_t child;

	if (smi_status(fd, &s0))
		return KILLED_BROKEN;
	child = fork();
	if (child < 0)
		return KILLED_BROKEN;
	if (child == 0) {
		int nfd = open("/proc/thread-self/fail-nth", O_WRONLY);

		/* The first allocation from here on: the hand-off copy. */
		if (nfd < 0 || write(nfd, "1", 1) != 1)
			_exit(2);
		_exit(ioctl(fd, DSMIL_IOC_TOKEN_READ, &tr) ? 1 : 0);
	}
	for (i = 0; i < 2000; i++) {
		if (smi_status(fd, &s))
			break;
		if (s.in_flight) {
			t_submit = now_ns();
			break;
		}
		usleep(100);
	}
	EXPECT_NE(0, t_submit) TH_LOG("the child's SMI never started");
	usleep(50 * 1000);
	t_kill = now_ns();
	EXPECT_EQ(0, kill(child, SIGKILL));
	EXPECT_EQ(child, waitpid(child, &status, 0));
	t_gone = now_ns();
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_GT(t_kill + 1000 * 1000000ULL, t_gone);
	if (!t_submit || !WIFSIGNALED(status))
		return KILLED_BROKEN;
	/* It stayed for its SMI: 300 ms from submit, well under 1 s. */
	stayed = t_submit + 200 * 1000000ULL <= t_gone;
	if (stayed) {
		if (smi_status(fd, &s))
			return KILLED_BROKEN;
		EXPECT_EQ(0, s.in_flight);
		EXPECT_EQ(s0.abandoned, s.abandoned);
	} else {
		/* Handed off: the engine finishes it, counted abandoned. */
		ksft_print_msg("killed caller: gone %llu ms after the kill: an earlier allocation took the injected failure; the copy was made\n",
			       (unsigned long long)(t_gone - t_kill) / 1000000);
		EXPECT_EQ(0, smi_wait_idle(fd, &s, 2000));
		EXPECT_EQ(s0.abandoned + 1, s.abandoned);
	}
	EXPECT_EQ(s0.successes + 1, s.successes);
	EXPECT_EQ(NULL, books(fd));
	return stayed ? KILLED_STAYED : KILLED_HANDED_OFF;
}

TEST_F_TIMEOUT(fs, killed_caller_without_memory, 120)
{
	enum killed_outcome o = KILLED_HANDED_OFF;
	int attempt;

	if (!(self->features & DSMIL_FEAT_SMI))
		SKIP(return, "no SMI engine");
	close(self->fd);
	ASSERT_EQ(0, dsmil_reload("smi_timeout_ms=1000 smi_hang_ms=900"));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	ASSERT_EQ(0, sim_knob_write("slow_ms", "300"));

	for (attempt = 1; attempt <= 5 && o == KILLED_HANDED_OFF; attempt++)
		o = killed_caller_once(_metadata, self->fd);
	EXPECT_EQ(KILLED_STAYED, o)
		TH_LOG("the copy's allocation never failed in %d attempts",
		       attempt - 1);
	ksft_print_msg("killed caller without memory: finished its SMI itself on attempt %d\n",
		       attempt - 1);
}

TEST_HARNESS_MAIN
