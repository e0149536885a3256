// SPDX-License-Identifier: GPL-2.0
/*
 * Unload and lifetime: the module must not go away under anything that can
 * still reach it, must go away once nothing can, and must come back clean
 * every time.
 *
 *  - rmmod with files open is refused (the fops .owner pins the module),
 *    counted per struct file, not per descriptor (dup, fork);
 *  - ioctls in flight (slow SMI requests, bulk reads) while rmmod is tried
 *    over and over: every attempt refused, every ioctl answered right;
 *  - open/ioctl/close loops racing rmmod + insmod: opens fail cleanly
 *    (ENOENT/ENODEV/ENXIO) while it is away, answers are right while it
 *    is there;
 *  - SMI requests abandoned at a hung backend pin the module until they end;
 *  - sysfs and debugfs files held open across rmmod: no crash, no stale
 *    data afterwards;
 *  - DSMIL_CYCLES load/unload cycles (default 50, the long run 200) with
 *    traffic in between (transitions, token reads, MMIO across chunks,
 *    various parameters).
 *
 * Needs root.  Leaves dsmil.ko loaded with default parameters.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

static bool info_ok(int fd)
{
	struct dsmil_info info;

	return !dsmil_info(fd, &info) && !dsmil_info_check(&info, 0);
}

/* An open that fails because the module is away or going. */
static bool open_gone_errno(int e)
{
	return e == ENOENT || e == ENODEV || e == ENXIO;
}

FIXTURE(life)
{
	int unused;
};

FIXTURE_SETUP(life)
{
	int ret = dsmil_reload(NULL);

	ASSERT_EQ(0, ret) TH_LOG("loading %s: %s", dsmil_ko(), strerror(-ret));
}

FIXTURE_TEARDOWN(life)
{
	/* Loaded, defaults, no faults: nothing leaks into the next test. */
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* rmmod is refused while any struct file is open; refcount follows files. */
TEST_F(life, rmmod_refused_while_files_open)
{
	int a, b, d1, d2, st;
	pid_t pid;

	ASSERT_EQ(0, dsmil_refcnt());
	a = dsmil_open();
	b = dsmil_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(2, dsmil_refcnt());
	EXPECT_EQ(-EAGAIN, dsmil_unload());
	EXPECT_TRUE(dsmil_loaded());
	EXPECT_TRUE(info_ok(a));

	/* Descriptors of one file do not add references, nor keep it less. */
	d1 = dup(a);
	d2 = fcntl(a, F_DUPFD_CLOEXEC, 100);
	ASSERT_LE(0, d1);
	ASSERT_LE(0, d2);
	EXPECT_EQ(2, dsmil_refcnt());
	close(a);
	close(b);
	EXPECT_EQ(1, dsmil_refcnt());
	EXPECT_EQ(-EAGAIN, dsmil_unload());
	EXPECT_TRUE(info_ok(d1));

	/* A child holding the file keeps it after the parent lets go. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(300000);
		_exit(info_ok(d2) ? 0 : 1);
	}
	close(d1);
	close(d2);
	EXPECT_EQ(-EAGAIN, dsmil_unload());
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* Last file gone: it unloads at once, and the node goes with it. */
	EXPECT_EQ(0, dsmil_refcnt());
	EXPECT_EQ(0, dsmil_unload());
	EXPECT_FALSE(dsmil_loaded());
	EXPECT_EQ(-1, open(DSMIL_DEV, O_RDWR));
	EXPECT_TRUE(open_gone_errno(errno));
	EXPECT_NE(0, access(DSMIL_DEBUGFS, F_OK));
	ASSERT_EQ(0, dsmil_load(NULL));
}

struct hammer {
	pthread_t tid;
	int fd;
	unsigned int kind;
	volatile bool *stop;
	unsigned long calls, wrong;
	int last_err;
};

/* One thread's ioctl mix on its own file until told to stop. */
static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	static uint8_t buf[4][1 << 20];
	struct dsmil_token_req t;
	struct dsmil_mmio_bulk bk;
	int ret;

	while (!*h->stop) {
		switch (h->kind) {
		case 0:
			if (!info_ok(h->fd))
				h->wrong++;
			break;
		case 1:	/* SMI requests the sim keeps busy (slow_ms) */
			memset(&t, 0, sizeof(t));
			ret = ioctl(h->fd, DSMIL_IOC_TOKEN_READ, &t);
			if (ret && errno != ENODEV && errno != ETIMEDOUT &&
			    errno != EINPROGRESS) {
				h->wrong++;
				h->last_err = errno;
			}
			break;
		default:	/* bulk reads across chunk boundaries */
			memset(&bk, 0, sizeof(bk));
			bk.offset = (h->calls % 80 + 1) * DSMIL_CHUNK_SIZE - 4096;
			bk.length = sizeof(buf[0]);
			bk.buf = (uintptr_t)buf[h->kind % 4];
			ret = ioctl(h->fd, DSMIL_IOC_MMIO_BULK_READ, &bk);
			if (ret || bk.done != bk.length) {
				h->wrong++;
				h->last_err = ret ? errno : 0;
			}
			break;
		}
		h->calls++;
	}
	return NULL;
}

/* rmmod attempts while ioctls are in flight: all refused, all answered. */
TEST_F_TIMEOUT(life, rmmod_while_ioctls_in_flight, 300)
{
	unsigned int features = dsmil_features();
	volatile bool stop = false;
	struct hammer h[4] = {};
	unsigned int i, attempts = 0, refused = 0, nk = 1;
	uint64_t end, t0;
	int fd, ret;

	fd = dsmil_open();
	ASSERT_LE(0, fd);
	if ((features & DSMIL_FEAT_SMI) && (features & DSMIL_FEAT_DEVICES)) {
		/* Token reads of DSMIL0D0, each kept busy 5 ms by the sim. */
		ASSERT_EQ(0, dev_bring_up(fd, 0, true));
		ASSERT_EQ(0, sim_knob_write("slow_ms", "5"));
		nk = 2;
	}
	if (features & DSMIL_FEAT_MMIO)
		nk = 4;
	for (i = 0; i < 4; i++) {
		h[i].fd = dsmil_open();
		ASSERT_LE(0, h[i].fd);
		h[i].kind = i < nk ? i : 0;
		h[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&h[i].tid, NULL, hammer_main, &h[i]));
	}
	end = now_ns() + 3000000000ULL;
	while (now_ns() < end) {
		ret = dsmil_unload();
		attempts++;
		refused += ret == -EAGAIN;
		EXPECT_EQ(-EAGAIN, ret);
		usleep(2000);
	}
	stop = true;
	for (i = 0; i < 4; i++) {
		pthread_join(h[i].tid, NULL);
		ksft_print_msg("thread %u (kind %u): %lu calls, %lu wrong (last errno %d)\n",
			       i, h[i].kind, h[i].calls, h[i].wrong, h[i].last_err);
		EXPECT_EQ(0UL, h[i].wrong);
		EXPECT_LT(0UL, h[i].calls);
		close(h[i].fd);
	}
	ksft_print_msg("%u rmmod attempts during traffic, %u refused\n",
		       attempts, refused);
	close(fd);
	/* Every file closed: the module goes within a second. */
	t0 = now_ns();
	ret = dsmil_unload_wait(1000);
	EXPECT_EQ(0, ret) TH_LOG("unload after the traffic: %s", strerror(-ret));
	ksft_print_msg("unloaded %.1f ms after the last close\n",
		       (now_ns() - t0) / 1e6);
	ASSERT_EQ(0, dsmil_load(NULL));
}

struct racer {
	pthread_t tid;
	volatile bool *stop;
	unsigned long opens, gone, answered, wrong;
	int bad_errno;
};

/* Open, ask, close, as fast as possible, whatever the module is doing. */
static void *open_racer(void *arg)
{
	struct racer *r = arg;
	int fd;

	while (!*r->stop) {
		fd = dsmil_open();
		if (fd < 0) {
			if (open_gone_errno(errno))
				r->gone++;
			else
				r->bad_errno = errno;
			continue;
		}
		r->opens++;
		if (info_ok(fd))
			r->answered++;
		else
			r->wrong++;
		close(fd);
	}
	return NULL;
}

/* open/ioctl/close racing rmmod + insmod, DSMIL_RACE_ROUNDS times. */
TEST_F_TIMEOUT(life, open_races_unload, 1200)
{
	unsigned int rounds = env_ulong("DSMIL_RACE_ROUNDS", 20), i, n;
	volatile bool stop = false;
	struct racer r[3] = {};
	unsigned long refused = 0;
	uint64_t end;
	int ret;

	for (i = 0; i < 3; i++) {
		r[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&r[i].tid, NULL, open_racer, &r[i]));
	}
	for (n = 0; n < rounds; n++) {
		/* Keep trying until an unload slips between two opens. */
		end = now_ns() + 20000000000ULL;
		while ((ret = dsmil_unload()) == -EAGAIN && now_ns() < end)
			refused++;
		EXPECT_EQ(0, ret) TH_LOG("round %u: unload never got through", n);
		if (ret)
			break;
		usleep(1000);
		ret = dsmil_load(NULL);
		EXPECT_EQ(0, ret) TH_LOG("round %u: load: %s", n, strerror(-ret));
		if (ret)
			break;
	}
	stop = true;
	for (i = 0; i < 3; i++) {
		pthread_join(r[i].tid, NULL);
		ksft_print_msg("racer %u: %lu opens answered, %lu wrong, %lu refused while away, bad errno %d\n",
			       i, r[i].answered, r[i].wrong, r[i].gone,
			       r[i].bad_errno);
		EXPECT_EQ(0UL, r[i].wrong);
		EXPECT_EQ(0, r[i].bad_errno);
	}
	ksft_print_msg("%u unload/load rounds under open races (%lu refused rmmod attempts)\n",
		       n, refused);
	if (!dsmil_loaded())
		ASSERT_EQ(0, dsmil_load(NULL));
}

/*
 * A request at a hung backend whose abort fails may still be running: the
 * engine keeps it (its caller is told it is in doubt) and it pins the
 * module: rmmod is refused (never hangs) until a reset ends it; after the
 * faults are cleared and the backend recovered, the module unloads.
 */
TEST_F_TIMEOUT(life, abandoned_smi_request_pins_module, 120)
{
	struct dsmil_smi_status s;
	struct dsmil_token_req t = {};
	uint64_t t0;
	int fd, ret;

	if (!(dsmil_features() & DSMIL_FEAT_SMI) ||
	    !(dsmil_features() & DSMIL_FEAT_DEVICES))
		SKIP(return, "SMI engine or device model not built");
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dev_bring_up(fd, 0, true));
	ASSERT_EQ(0, sim_knob_write("abort_fails", "1"));
	ASSERT_EQ(0, sim_knob_write("fault", "stuck-busy"));
	t0 = now_ns();
	ret = ioctl(fd, DSMIL_IOC_TOKEN_READ, &t) ? errno : 0;
	/* Its abort failed: it may still run, so its outcome is unknown. */
	EXPECT_EQ(EINPROGRESS, ret);
	EXPECT_GT(2000000000ULL, now_ns() - t0) TH_LOG("the read did not return within its bound");
	ASSERT_EQ(0, smi_status(fd, &s));
	ksft_print_msg("after the hung read: state=%u in_flight=%u in_doubt=%llu abort_failures=%llu\n",
		       s.state, s.in_flight, (unsigned long long)s.in_doubt,
		       (unsigned long long)s.abort_failures);
	EXPECT_EQ(1, s.abort_failures);
	EXPECT_EQ(1, s.in_doubt);
	EXPECT_EQ(0, s.late_failures);	/* not ended: the reset ends it */
	close(fd);

	/* While it may run the module must stay (and rmmod not hang). */
	t0 = now_ns();
	ret = dsmil_unload();
	EXPECT_GT(1000000000ULL, now_ns() - t0) TH_LOG("rmmod blocked");
	EXPECT_EQ(-EAGAIN, ret)
		TH_LOG("module unloaded with a request at the hardware");
	if (ret == 0) {
		/* Unloaded anyway: nothing left to recover. */
		ASSERT_EQ(0, dsmil_load(NULL));
		return;
	}
	/* Let the hardware go and recover the backend. */
	ASSERT_EQ(0, sim_knob_write("abort_fails", "0"));
	ASSERT_EQ(0, sim_knob_write("fault", "none"));
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	t0 = now_ns();
	do {
		ret = ioctl(fd, DSMIL_IOC_SMI_RECOVER, 0) ? errno : 0;
		smi_status(fd, &s);
	} while ((ret || s.in_flight) && now_ns() - t0 < 15000000000ULL &&
		 !usleep(50000));
	ksft_print_msg("recover: %s, in_flight=%u after %.0f ms\n",
		       ret ? strerror(ret) : "ok", s.in_flight,
		       (now_ns() - t0) / 1e6);
	EXPECT_EQ(0U, s.in_flight);
	EXPECT_EQ(1, s.late_failures);	/* ended by the reset: unknown */
	EXPECT_EQ(NULL, smi_identity(&s));
	close(fd);
	ret = dsmil_unload_wait(5000);
	EXPECT_EQ(0, ret) TH_LOG("unload once the request ended: %s",
				 strerror(-ret));
	ASSERT_EQ(0, dsmil_load(NULL));
}

/* First regular attribute of the misc device, e.g. the state summary. */
static bool sysfs_attr(char *path, size_t len)
{
	static const char *const names[] = { "summary", "states", "state" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, len, "/sys/class/misc/dsmil/%s", names[i]);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
}

/* sysfs and debugfs files held open across rmmod: no crash, no stale data. */
TEST_F(life, sysfs_and_debugfs_files_across_unload)
{
	char path[128], buf[8192];
	int sfd = -1, dfd = -1, ret;
	ssize_t n;

	if (sysfs_attr(path, sizeof(path))) {
		sfd = open(path, O_RDONLY);
		ASSERT_LE(0, sfd);
		ASSERT_LT(0, read(sfd, buf, sizeof(buf)));
	}
	dfd = open(DSMIL_SIM_DIR "/stats", O_RDONLY);
	if (dfd < 0)
		dfd = open(DSMIL_MMIO_DIR "/chunks", O_RDONLY);
	if (sfd < 0 && dfd < 0)
		SKIP(return, "no sysfs attribute nor debugfs file yet");

	/*
	 * sysfs never pins a module; debugfs files of a module pin it while
	 * open (their fops have an owner).  Either way: no crash.
	 */
	ret = dsmil_unload();
	ksft_print_msg("rmmod with a sysfs%s file open: %s\n",
		       dfd >= 0 ? " and a debugfs" : "",
		       ret ? strerror(-ret) : "unloaded");
	if (dfd >= 0 && ret == -EAGAIN) {
		EXPECT_LT(0, read(dfd, buf, sizeof(buf)));
		close(dfd);
		dfd = -1;
		ret = dsmil_unload();
	}
	EXPECT_EQ(0, ret);
	if (sfd >= 0) {
		/* The attribute is gone: reading it must fail, not crash. */
		n = pread(sfd, buf, sizeof(buf), 0);
		EXPECT_EQ(-1, n);
		EXPECT_EQ(ENODEV, errno);
		close(sfd);
	}
	if (dfd >= 0) {
		n = pread(dfd, buf, sizeof(buf), 0);
		EXPECT_EQ(-1, n);
		close(dfd);
	}
	ASSERT_EQ(0, dsmil_load(NULL));
}

/*
 * A cycle's SMI deadline passed: the right answer when that cycle's timing
 * is tighter than a loaded TCG host keeps (smi_timeout_ms=30 waited 31.8 ms
 * in a queue once), counted apart from wrong answers.
 */
static bool smi_deadline(bool tight, int err)
{
	return tight && (err == ETIMEDOUT || err == EINPROGRESS);
}

/*
 * Some traffic through every part; returns the number of wrong answers.
 * @tight: the cycle's SMI timing is tight: a passed deadline ends its SMI
 * traffic for the cycle and counts in *@late instead.
 */
static unsigned int traffic(int fd, unsigned int cycle, bool writes,
			    bool tight, unsigned int *late)
{
	static uint8_t buf[64 * 1024];
	struct dsmil_info info;
	unsigned int bad = 0, i;
	bool smi_ok = true;
	int ret;

	if (dsmil_info(fd, &info) || dsmil_info_check(&info, 0))
		bad++;
	if (!!(info.features & DSMIL_FEAT_WRITES) != writes)
		bad++;
	if (info.features & DSMIL_FEAT_DEVICES) {
		/* Group 0 controller up and down again. */
		ret = dev_bring_up(fd, 0, true);
		if (smi_deadline(tight, -ret)) {
			(*late)++;
			smi_ok = false;
		} else if (ret) {
			bad++;
		}
	}
	if ((info.features & DSMIL_FEAT_SMI) && smi_ok) {
		struct dsmil_token_req t = { .group = 0,
					     .position = DSMIL_TOKEN_POWER };
		struct dsmil_smi_status s;

		ret = ioctl(fd, DSMIL_IOC_TOKEN_READ, &t) ? errno : 0;
		if (smi_deadline(tight, ret))
			smi_ok = false;
		else if (ret || t.token != DSMIL_TOKEN_BASE)
			bad++;
		if (writes && smi_ok) {
			t.value = cycle;
			ret = ioctl(fd, DSMIL_IOC_TOKEN_WRITE, &t) ? errno : 0;
			if (smi_deadline(tight, ret))
				smi_ok = false;
			else if (ret)
				bad++;
		}
		if (writes && smi_ok) {
			t.value = 0;
			ret = ioctl(fd, DSMIL_IOC_TOKEN_READ, &t) ? errno : 0;
			if (smi_deadline(tight, ret))
				smi_ok = false;
			else if (ret || t.value != cycle)
				bad++;
		}
		if (!smi_ok)
			(*late)++;
		if (smi_status(fd, &s) || smi_identity(&s))
			bad++;
	}
	if (info.features & DSMIL_FEAT_MMIO) {
		struct dsmil_mmio_status m;

		for (i = 0; i < 12; i++) {
			struct dsmil_mmio_rw rw = {
				/* Outside the device windows. */
				.offset = ((cycle * 7 + i * 13) % 90) *
					  DSMIL_CHUNK_SIZE + 0x100000 + 8 * i,
				.width = 8,
				.value = 0x1122334455667788ULL ^ cycle ^ i,
			};

			if (writes && ioctl(fd, DSMIL_IOC_MMIO_WRITE, &rw))
				bad++;
			rw.value = 0;
			if (ioctl(fd, DSMIL_IOC_MMIO_READ, &rw))
				bad++;
			if (writes && rw.value != (0x1122334455667788ULL ^ cycle ^ i))
				bad++;
		}
		{
			struct dsmil_mmio_bulk bk = {
				.offset = (cycle % 89 + 1) * DSMIL_CHUNK_SIZE -
					  sizeof(buf) / 2,
				.length = sizeof(buf),
				.buf = (uintptr_t)buf,
			};

			if (ioctl(fd, DSMIL_IOC_MMIO_BULK_READ, &bk) ||
			    bk.done != sizeof(buf))
				bad++;
		}
		if (mmio_status(fd, &m) || mmio_identity(&m))
			bad++;
	}
	return bad;
}

static long meminfo(const char *key)
{
	char buf[4096], *p;

	if (read_text("/proc/meminfo", buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* DSMIL_CYCLES load/unload cycles (default 50) with traffic in between. */
TEST_F_TIMEOUT(life, load_unload_cycles, 3600)
{
	static const char *const params[] = {
		"", "allow_writes=1", "max_resident=1 mmio_idle_ms=1",
		"allow_writes=1 max_resident=90 smi_timeout_ms=30 smi_hang_ms=10",
		"smi_min_interval_us=0 mmio_idle_ms=0",
	};
	/* Refused at load: each must leave nothing behind. */
	static const char *const bad_params[] = {
		"max_resident=0", "smi_timeout_ms=0", "smi_hang_ms=60",
		"mmio_size=12345", "smi_backend=nonesuch",
	};
	unsigned int cycles = env_ulong("DSMIL_CYCLES", 50), i, bad = 0;
	unsigned int late = 0, tight_cycles = 0;
	bool tight;
	long slab0, slab1;
	uint64_t t0 = now_ns();
	int fd, ret;

	slab0 = meminfo("Slab:");
	for (i = 0; i < cycles; i++) {
		const char *p = params[i % ARRAY_SIZE(params)];
		bool writes = strstr(p, "allow_writes=1");

		ret = dsmil_unload();
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: unload: %s", i, strerror(-ret));
		ASSERT_FALSE(dsmil_loaded());
		ASSERT_NE(0, access(DSMIL_DEV, F_OK));
		if (i % 10 == 5) {
			const char *bp = bad_params[i / 10 % ARRAY_SIZE(bad_params)];

			ret = dsmil_load(bp);
			EXPECT_NE(0, ret) TH_LOG("'%s' was accepted", bp);
			if (!ret)
				ASSERT_EQ(0, dsmil_unload());
			EXPECT_FALSE(dsmil_loaded());
			EXPECT_NE(0, access(DSMIL_DEV, F_OK));
			EXPECT_NE(0, access(DSMIL_DEBUGFS, F_OK))
				TH_LOG("'%s' refused but left its debugfs dir", bp);
		}
		ret = dsmil_load(p);
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: load '%s': %s", i, p,
					 strerror(-ret));
		fd = dsmil_open();
		ASSERT_LE(0, fd);
		tight = strstr(p, "smi_timeout_ms=30");
		tight_cycles += tight;
		bad = traffic(fd, i, writes, tight, &late);
		close(fd);
		EXPECT_EQ(0U, bad) TH_LOG("cycle %u ('%s'): %u wrong answers",
					  i, p, bad);
		if (bad)
			break;
	}
	ASSERT_EQ(0, dsmil_reload(NULL));
	slab1 = meminfo("Slab:");
	ksft_print_msg("%u load/unload cycles with traffic in %.1f s; Slab %ld -> %ld kB (kmemleak is the judge); %u tight-timing cycles saw an SMI deadline pass\n",
		       i, (now_ns() - t0) / 1e9, slab0, slab1, late);
	/* A host so slow that every tight cycle timed out tests nothing. */
	if (tight_cycles)
		EXPECT_GT(tight_cycles, late)
			TH_LOG("every tight-timing cycle saw its deadline pass");
}

TEST_HARNESS_MAIN
