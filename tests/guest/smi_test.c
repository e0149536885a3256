// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the SMI engine through /dev/dsmil, with the "sim" backend
 * made to misbehave through its debugfs knobs.
 *
 * Every test starts from a freshly loaded dsmil.ko (the fixture reloads it,
 * with the test's parameters when it needs some, and puts the defaults back
 * afterwards), brings the devices it needs up through the state machine
 * (OFFLINE -> INITIALIZING -> READY [-> ACTIVE]), and checks the errno, how
 * long the call took (generous bounds: the exact ratios belong to the
 * benchmark), the engine's counters and the simulator's own per-token
 * counters, which prove what did or did not reach the "hardware".
 *
 * Under kernel lockdown (detected from /sys/kernel/security/lockdown) the
 * knob files cannot be written (debugfs is restricted; the simulator's
 * counters stay readable): tests that inject faults are skipped, and
 * writes_refused_under_lockdown asserts that writes are refused before the
 * engine.  That test needs no module reload (it sets the allow_writes
 * parameter through sysfs), so it also runs when lockdown was raised after
 * the module was loaded; the fixture tests reload the module and are skipped
 * under lockdown unless the module is signed ($DSMIL_KO, default
 * /lib/dsmil/dsmil.ko).
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "dsmil_ioctl.h"

#define MODULE_PATH	"/lib/dsmil/dsmil.ko"
#define WRITES_PARAM	"/sys/module/dsmil/parameters/allow_writes"
#define SIM_DIR		"/sys/kernel/debug/dsmil/sim/"
#define TRACE_DIR	"/sys/kernel/tracing/"
#define TRACE_EVENT_DIR	TRACE_DIR "events/dsmil/dsmil_smi_request/"

#define MS		1000000ULL
#define DEF_TIMEOUT_MS	50
#define DEF_HANG_MS	20
/* A call must come back well inside this many times its timeout. */
#define BOUND		5

/* Initial value of every simulated token. */
#define SIM_VALUE(tok)	(0xd5000000U | (tok))

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Does a kernel log line match @a followed by @b (POSIX extended regex)? */
static bool dmesg_has2(const char *a, const char *b)
{
	FILE *f = popen("dmesg", "r");
	char line[512], pattern[512];
	bool found = false;
	regex_t re;

	if (!f)
		return false;
	snprintf(pattern, sizeof(pattern), "%s%s", a, b);
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
		pclose(f);
		return false;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;		/* so that $ ends the line */
		found = !regexec(&re, line, 0, NULL, 0);
	}
	regfree(&re);
	pclose(f);
	return found;
}

static bool dmesg_has(const char *pattern)
{
	return dmesg_has2(pattern, "");
}

/* The request part of an SMI incident line, for a read on the sim. */
#define REQ(tok, dev)	"token=" tok " op=read backend=sim dev=" dev

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static unsigned int token_of(unsigned int g, unsigned int pos)
{
	return DSMIL_TOKEN_BASE + 12 * g + pos;
}

static bool locked_down(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] && !strstr(buf, "[none]");
}

static const char *module_path(void)
{
	const char *p = getenv("DSMIL_KO");

	return p && *p ? p : MODULE_PATH;
}

/* Can insmod work here: no lockdown, or a signed module? */
static bool can_reload(void)
{
	static const char magic[] = "~Module signature appended~\n";
	char tail[sizeof(magic) - 1];
	bool ok = false;
	int fd;

	if (!locked_down())
		return true;
	fd = open(module_path(), O_RDONLY);
	if (fd < 0)
		return false;
	if (lseek(fd, -(off_t)sizeof(tail), SEEK_END) >= 0 &&
	    read(fd, tail, sizeof(tail)) == (ssize_t)sizeof(tail))
		ok = !memcmp(tail, magic, sizeof(tail));
	close(fd);
	return ok;
}

static bool module_loaded(void)
{
	return system("grep -q '^dsmil ' /proc/modules") == 0;
}

/* rmmod (retrying while an abandoned SMI still pins it) and insmod. */
static int reload(const char *params)
{
	char cmd[512];
	int i;

	for (i = 0; i < 50; i++) {
		if (!module_loaded())
			break;
		if (system("rmmod dsmil 2>/dev/null") == 0)
			break;
		sleep_ms(100);
	}
	snprintf(cmd, sizeof(cmd), "insmod %s %s", module_path(), params);
	return system(cmd);
}

static int sim_write(const char *knob, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SIM_DIR "%s", knob);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int sim_set(const char *knob, unsigned long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", val);
	return sim_write(knob, buf);
}

/* Reads/writes of @token the simulator saw, from sim/tokens. */
static int sim_token(unsigned int token, unsigned long long *reads,
		     unsigned long long *writes, unsigned int *value)
{
	FILE *f = fopen(SIM_DIR "tokens", "r");
	char line[160];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned int tok, v;
		unsigned long long r, w;
		char name[16];

		if (sscanf(line, "%x %15s value=%x reads=%llu writes=%llu",
			   &tok, name, &v, &r, &w) != 5 || tok != token)
			continue;
		if (reads)
			*reads = r;
		if (writes)
			*writes = w;
		if (value)
			*value = v;
		ret = 0;
	}
	fclose(f);
	return ret;
}

static unsigned long long sim_reads(unsigned int token)
{
	unsigned long long r = ~0ULL;

	sim_token(token, &r, NULL, NULL);
	return r;
}

static unsigned long long sim_writes(unsigned int token)
{
	unsigned long long w = ~0ULL;

	sim_token(token, NULL, &w, NULL);
	return w;
}

/* One counter from sim/stats ("name=value" lines). */
static unsigned long long sim_stat(const char *name)
{
	FILE *f = fopen(SIM_DIR "stats", "r");
	unsigned long long v = ~0ULL;
	char line[80];
	size_t n = strlen(name);

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == '=')
			v = strtoull(line + n + 1, NULL, 0);
	fclose(f);
	return v;
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int transition(int fd, unsigned int id, unsigned int target)
{
	struct dsmil_transition tr = { .id = id, .target = target };

	return xioctl(fd, DSMIL_IOC_DEV_TRANSITION, &tr);
}

/* OFFLINE -> INITIALIZING -> READY (-> ACTIVE); 0 or the failing errno. */
static int dev_up(int fd, unsigned int id, unsigned int target)
{
	int ret = transition(fd, id, DSMIL_DEV_INITIALIZING);

	if (!ret)
		ret = transition(fd, id, DSMIL_DEV_READY);
	if (!ret && target == DSMIL_DEV_ACTIVE)
		ret = transition(fd, id, DSMIL_DEV_ACTIVE);
	return ret;
}

static int dev_state(int fd, unsigned int id)
{
	struct dsmil_dev_info di = { .id = id };
	int ret = xioctl(fd, DSMIL_IOC_DEV_INFO, &di);

	return ret ? ret : di.state;
}

/* A token read; @ms gets the wall-clock time of the call. */
static int token_rw(int fd, bool write, unsigned int g, unsigned int pos,
		    unsigned int *value, __u64 *ns, __u64 *kernel_ns)
{
	struct dsmil_token_req tr = { .group = g, .position = pos };
	__u64 t0;
	int ret;

	if (write)
		tr.value = *value;
	t0 = now_ns();
	ret = xioctl(fd, write ? DSMIL_IOC_TOKEN_WRITE : DSMIL_IOC_TOKEN_READ,
		     &tr);
	if (ns)
		*ns = now_ns() - t0;
	if (!ret && !write && value)
		*value = tr.value;
	if (kernel_ns)
		*kernel_ns = tr.duration_ns;
	return ret;
}

static int token_read(int fd, unsigned int g, unsigned int pos,
		      unsigned int *value, __u64 *ns)
{
	return token_rw(fd, false, g, pos, value, ns, NULL);
}

static int token_write(int fd, unsigned int g, unsigned int pos,
		       unsigned int value)
{
	return token_rw(fd, true, g, pos, &value, NULL, NULL);
}

static int smi_status(int fd, struct dsmil_smi_status *st)
{
	memset(st, 0, sizeof(*st));
	return xioctl(fd, DSMIL_IOC_SMI_STATUS, st);
}

static int smi_recover(int fd)
{
	return ioctl(fd, DSMIL_IOC_SMI_RECOVER) ? -errno : 0;
}

/* Wait (bounded) until no request is in flight. */
static int smi_quiesce(int fd, struct dsmil_smi_status *st)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (smi_status(fd, st))
			return -1;
		if (!st->in_flight)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

FIXTURE(smi) {
	int fd;
	bool custom;
	bool lockdown;
};

static void smi_open(struct __test_metadata *_metadata,
		     struct _test_data_smi *self)
{
	self->fd = open("/dev/dsmil", O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/dsmil: %s", strerror(errno));
}

/* Reload the module with @params for this test only. */
static void smi_reload(struct __test_metadata *_metadata,
		       struct _test_data_smi *self, const char *params)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	self->custom = true;
	ASSERT_EQ(0, reload(params)) TH_LOG("insmod dsmil.ko %s", params);
	smi_open(_metadata, self);
}

FIXTURE_SETUP(smi)
{
	self->fd = -1;
	self->custom = false;
	self->lockdown = locked_down();
	if (!can_reload())
		SKIP(return, "lockdown and an unsigned module: cannot reload it");
	ASSERT_EQ(0, reload(""));
	smi_open(_metadata, self);
}

FIXTURE_TEARDOWN(smi)
{
	struct dsmil_smi_status st;
	unsigned long long hist = 0;
	int i;

	/* Whatever the test did, the counters must add up once it is quiet. */
	if (self->fd >= 0 && !smi_quiesce(self->fd, &st)) {
		EXPECT_EQ(st.requests, st.successes + st.errors + st.timeouts +
			  st.hangs + st.faulted_rejects + st.refused);
		EXPECT_EQ(st.errors, st.error_status + st.garbage +
			  st.busy_failures + st.submit_failures + st.cancelled);
		for (i = 0; i < DSMIL_SMI_HIST_BUCKETS; i++)
			hist += st.latency_hist[i];
		EXPECT_EQ(hist, st.requests - st.refused);
	}
	if (self->fd >= 0)
		close(self->fd);
	if (self->custom)
		EXPECT_EQ(0, reload(""));
}

/* Tests that inject faults need writable knobs: not under lockdown. */
#define KNOBS_LOCKED	"lockdown: debugfs knobs are not writable"

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Bring @id to ACTIVE from wherever an earlier test left it. */
static int make_active(int fd, unsigned int id)
{
	switch (dev_state(fd, id)) {
	case DSMIL_DEV_ACTIVE:
		return 0;
	case DSMIL_DEV_READY:
		return transition(fd, id, DSMIL_DEV_ACTIVE);
	case DSMIL_DEV_ERROR:
		if (transition(fd, id, DSMIL_DEV_OFFLINE))
			return -1;
		return dev_up(fd, id, DSMIL_DEV_ACTIVE);
	default:
		return dev_up(fd, id, DSMIL_DEV_ACTIVE);
	}
}

/*
 * First, so that it meets the module as the runner loaded it.  With
 * allow_writes on, only lockdown stands between a write and the hardware:
 * it must be refused by the dispatcher, before the SMI engine (whose request
 * counter does not move) and the simulator (whose write counter does not).
 */
TEST(writes_refused_under_lockdown)
{
	struct dsmil_smi_status st0, st;
	struct dsmil_stats s0 = {}, s = {};
	unsigned long long w0;
	unsigned int v = 0;
	int fd;

	if (!locked_down())
		SKIP(return, "kernel not locked down (boot with lockdown=integrity)");
	if (!module_loaded())
		ASSERT_EQ(0, system("insmod ${DSMIL_KO:-" MODULE_PATH "}"));
	fd = open("/dev/dsmil", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_file(WRITES_PARAM, "1"));
	ASSERT_EQ(0, make_active(fd, 0));
	ASSERT_EQ(0, smi_status(fd, &st0));
	ASSERT_EQ(0, xioctl(fd, DSMIL_IOC_STATS, &s0));
	w0 = sim_writes(token_of(0, 0));
	EXPECT_NE(~0ULL, w0);		/* the counters stay readable */

	EXPECT_EQ(-EPERM, token_write(fd, 0, 0, 0x1234));

	ASSERT_EQ(0, smi_status(fd, &st));
	EXPECT_EQ(st0.requests, st.requests);
	ASSERT_EQ(0, xioctl(fd, DSMIL_IOC_STATS, &s));
	EXPECT_EQ(s0.denied + 1, s.denied);
	EXPECT_EQ(w0, sim_writes(token_of(0, 0)));
	/* Reads are still allowed, and show the value unchanged. */
	EXPECT_EQ(0, token_read(fd, 0, 0, &v, NULL));
	EXPECT_NE(0x1234, v);
	EXPECT_EQ(0, write_file(WRITES_PARAM, "0"));
	close(fd);
}

TEST_F(smi, status_and_info)
{
	struct dsmil_smi_status st;
	struct dsmil_info info = {};

	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_STREQ("sim", (char *)st.backend);
	EXPECT_EQ(DSMIL_SMI_OK, st.state);
	EXPECT_EQ(DEF_TIMEOUT_MS, st.timeout_ms);
	EXPECT_EQ(DEF_HANG_MS, st.hang_ms);
	EXPECT_EQ(100, st.min_interval_us);
	EXPECT_EQ(3, st.fault_limit);
	EXPECT_EQ(3, st.busy_retries);
	EXPECT_EQ(0, st.requests);
	ASSERT_EQ(0, xioctl(self->fd, DSMIL_IOC_INFO, &info));
	EXPECT_TRUE(info.features & DSMIL_FEAT_SMI);
	EXPECT_STREQ("sim", (char *)info.smi_backend);
}

TEST_F(smi, read_needs_ready_device)
{
	struct dsmil_smi_status st;
	unsigned int v;

	/* OFFLINE: refused, and the simulator never saw it. */
	EXPECT_EQ(-ENODEV, token_read(self->fd, 0, DSMIL_TOKEN_POWER, &v, NULL));
	EXPECT_EQ(0, sim_reads(token_of(0, 0)));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.refused);
	EXPECT_EQ(0, sim_stat("submits"));
}

TEST_F(smi, read_ok)
{
	struct dsmil_token_req tr = { .group = 2, .position = DSMIL_TOKEN_STORAGE };
	struct dsmil_smi_status st;

	ASSERT_EQ(0, dev_up(self->fd, 2 * 12 + 6, DSMIL_DEV_READY));
	/* INITIALIZING -> READY verified the device by reading its token. */
	EXPECT_EQ(1, sim_reads(token_of(2, 6)));
	ASSERT_EQ(0, xioctl(self->fd, DSMIL_IOC_TOKEN_READ, &tr));
	EXPECT_EQ(token_of(2, 6), tr.token);
	EXPECT_EQ(SIM_VALUE(token_of(2, 6)), tr.value);
	EXPECT_LT(0, tr.duration_ns);
	EXPECT_GT(DEF_TIMEOUT_MS * MS, tr.duration_ns);
	EXPECT_EQ(2, sim_reads(token_of(2, 6)));
	EXPECT_EQ(0, sim_writes(token_of(2, 6)));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(2, st.successes);
}

TEST_F(smi, bad_token_refused_before_hardware)
{
	static const struct { unsigned int g, p; } bad[] = {
		{ 6, 0 }, { 255, 0 }, { 0, 1 }, { 0, 12 }, { 5, 11 }, { 3, 255 },
	};
	struct dsmil_token_req tr = {};
	struct dsmil_smi_status st;
	unsigned int i, v = 0;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, token_read(self->fd, bad[i].g, bad[i].p,
					      &v, NULL));
	}
	/* Non-zero reserved fields: refused by the dispatcher. */
	tr.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DSMIL_IOC_TOKEN_READ, &tr));
	tr.reserved[0] = 0;
	tr.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DSMIL_IOC_TOKEN_READ, &tr));

	EXPECT_EQ(0, sim_stat("submits"));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(6, st.refused);
	EXPECT_EQ(6, st.requests);
}

TEST_F(smi, hang_times_out_and_device_goes_error)
{
	struct dsmil_smi_status st;
	__u64 ns;
	unsigned int v;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_ACTIVE));
	ASSERT_EQ(0, sim_write("fault", "hang"));
	EXPECT_EQ(-ETIMEDOUT, token_read(self->fd, 0, 0, &v, &ns));
	/* The hang is declared at hang_ms, before the timeout. */
	EXPECT_LE(DEF_HANG_MS * MS, ns);
	EXPECT_GT(BOUND * DEF_TIMEOUT_MS * MS, ns);
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.hangs);
	EXPECT_EQ(0, st.timeouts);
	EXPECT_EQ(1, st.aborts);
	EXPECT_EQ(1, sim_stat("aborts"));
	EXPECT_EQ(DSMIL_DEV_ERROR, dev_state(self->fd, 0));

	/* An ERROR device's token is refused without reaching the hardware. */
	ASSERT_EQ(0, sim_write("fault", "none"));
	EXPECT_EQ(-ENODEV, token_read(self->fd, 0, 0, &v, NULL));
	EXPECT_EQ(2, sim_reads(token_of(0, 0)));	/* verify + the hung one */
}

TEST_F(smi, stuck_busy_times_out)
{
	struct dsmil_smi_status st;
	__u64 ns;
	unsigned int v;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 12 * 1 + 3, DSMIL_DEV_READY));
	ASSERT_EQ(0, sim_write("fault", "stuck-busy"));
	EXPECT_EQ(-ETIMEDOUT, token_read(self->fd, 1, 3, &v, &ns));
	/* Busy but changing: no hang, the full timeout. */
	EXPECT_LE(DEF_TIMEOUT_MS * MS, ns);
	EXPECT_GT(BOUND * DEF_TIMEOUT_MS * MS, ns);
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.timeouts);
	EXPECT_EQ(0, st.hangs);
	EXPECT_EQ(1, st.aborts);
	EXPECT_EQ(DSMIL_DEV_ERROR, dev_state(self->fd, 12 + 3));

	/* The incident line, in its documented shape. */
	EXPECT_TRUE(dmesg_has("dsmil: smi-timeout: " REQ("0x048f", "DSMIL1D3")
			      " waited_us=[0-9]+ reason=deadline errno=-110$"));
	EXPECT_TRUE(dmesg_has("dsmil: smi-abort: " REQ("0x048f", "DSMIL1D3")
			      " reason=timeout result=ok$"));
}

TEST_F(smi, error_status_maps_to_errno)
{
	struct dsmil_smi_status st;
	unsigned int v;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, sim_write("fault", "error"));
	EXPECT_EQ(-EIO, token_read(self->fd, 0, 0, &v, NULL));
	ASSERT_EQ(0, sim_set("error_code", 2));
	EXPECT_EQ(-ENXIO, token_read(self->fd, 0, 0, &v, NULL));
	ASSERT_EQ(0, sim_set("error_code", 3));
	EXPECT_EQ(-EOPNOTSUPP, token_read(self->fd, 0, 0, &v, NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(3, st.errors);
	EXPECT_EQ(3, st.error_status);
	/* An error answer is not a fault: the device keeps its state. */
	EXPECT_EQ(0, st.consecutive_faults);
	EXPECT_EQ(0, st.aborts);
	EXPECT_EQ(DSMIL_DEV_READY, dev_state(self->fd, 0));
	EXPECT_TRUE(dmesg_has("dsmil: smi-error: " REQ("0x0480", "DSMIL0D0")
			      " status=0x41 reason=error-status errno=-5$"));
}

TEST_F(smi, garbage_status_is_a_fault)
{
	struct dsmil_smi_status st;
	unsigned int v;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, sim_write("fault", "garbage"));
	EXPECT_EQ(-EIO, token_read(self->fd, 0, 0, &v, NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.garbage);
	EXPECT_EQ(1, st.consecutive_faults);
	EXPECT_EQ(1, st.aborts);
	EXPECT_EQ(1, sim_stat("aborts"));
}

TEST_F(smi, slow_requests)
{
	struct dsmil_smi_status st;
	__u64 ns;
	unsigned int v = 0;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, dev_up(self->fd, 3, DSMIL_DEV_READY));
	/* Slow but within the timeout: fine. */
	ASSERT_EQ(0, sim_set("slow_ms", 10));
	EXPECT_EQ(0, token_read(self->fd, 0, 0, &v, &ns));
	EXPECT_EQ(SIM_VALUE(token_of(0, 0)), v);
	EXPECT_LE(10 * MS, ns);
	/* Slower than the timeout: cut at the timeout, not after 400 ms. */
	ASSERT_EQ(0, sim_set("slow_ms", 400));
	EXPECT_EQ(-ETIMEDOUT, token_read(self->fd, 0, 3, &v, &ns));
	EXPECT_LE(DEF_TIMEOUT_MS * MS, ns);
	EXPECT_GT(BOUND * DEF_TIMEOUT_MS * MS, ns);
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.timeouts);
	EXPECT_EQ(0, st.hangs);
}

TEST_F(smi, latency_lands_in_histogram)
{
	struct dsmil_smi_status st, st0;
	__u64 kns;
	unsigned int v = 0;
	int b;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, smi_status(self->fd, &st0));
	ASSERT_EQ(0, sim_set("latency_us", 3000));
	EXPECT_EQ(0, token_rw(self->fd, false, 0, 0, &v, NULL, &kns));
	EXPECT_LE(3 * MS, kns);
	ASSERT_EQ(0, smi_status(self->fd, &st));
	/* 3 ms and more: bucket 12 ([2048, 4096) us) or above. */
	for (b = 12; b < DSMIL_SMI_HIST_BUCKETS; b++)
		if (st.latency_hist[b] != st0.latency_hist[b])
			break;
	EXPECT_GT(DSMIL_SMI_HIST_BUCKETS, b);
	EXPECT_LE(3000, st.max_latency_us);
}

TEST_F(smi, flaky_every_third)
{
	unsigned int i, v;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, sim_set("flaky_every", 3));
	for (i = 1; i <= 6; i++)
		EXPECT_EQ(i % 3 ? 0 : -EIO, token_read(self->fd, 0, 0, &v, NULL))
			TH_LOG("request %u", i);
}

TEST_F(smi, busy_at_submit_retried_bounded)
{
	struct dsmil_smi_status st;
	unsigned int v;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, sim_set("busy_submits", 2));
	EXPECT_EQ(0, token_read(self->fd, 0, 0, &v, NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(2, st.retries);
	ASSERT_EQ(0, sim_set("busy_submits", 100));
	EXPECT_EQ(-EBUSY, token_read(self->fd, 0, 0, &v, NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(2 + 3, st.retries);
	EXPECT_EQ(1, st.busy_failures);
	EXPECT_EQ(2 + 4, sim_stat("busy_refusals"));
	EXPECT_EQ(0, st.consecutive_faults);
}

/* Bring up @n devices with tokens (READY), for fault sequences. */
static const unsigned int token_devs[] = { 0, 3, 6, 12, 15, 18, 24 };

static void devs_up(struct __test_metadata *_metadata, int fd, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, dev_up(fd, token_devs[i], DSMIL_DEV_READY))
			TH_LOG("device %u", token_devs[i]);
}

static int read_dev(int fd, unsigned int id, __u64 *ns)
{
	unsigned int v;

	return token_read(fd, id / 12, id % 12, &v, ns);
}

TEST_F(smi, faulted_fails_fast_then_recovers)
{
	struct dsmil_smi_status st;
	unsigned long long submits;
	__u64 ns;
	unsigned int i;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	devs_up(_metadata, self->fd, 5);
	ASSERT_EQ(0, sim_write("fault", "hang"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-ETIMEDOUT, read_dev(self->fd, token_devs[i], NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(DSMIL_SMI_FAULTED, st.state);
	EXPECT_EQ(1, st.faulted_entries);
	EXPECT_TRUE(dmesg_has2("dsmil: smi-faulted: backend=sim token=0x0486 ",
			       "dev=DSMIL0D6 consecutive=3 limit=3 reason=hang errno=-108$"));

	/* The simulator would answer now; nothing may reach it. */
	ASSERT_EQ(0, sim_write("fault", "none"));
	submits = sim_stat("submits");
	EXPECT_EQ(-ESHUTDOWN, read_dev(self->fd, token_devs[3], &ns));
	EXPECT_GT(20 * MS, ns);
	EXPECT_EQ(submits, sim_stat("submits"));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.faulted_rejects);

	EXPECT_EQ(0, smi_recover(self->fd));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(DSMIL_SMI_OK, st.state);
	EXPECT_EQ(1, st.recoveries);
	EXPECT_EQ(1, sim_stat("resets"));
	EXPECT_EQ(0, read_dev(self->fd, token_devs[3], NULL));
	EXPECT_TRUE(dmesg_has("dsmil: smi-recovered: backend=sim faulted_ms=[0-9]+$"));
}

TEST_F(smi, recover_backoff)
{
	struct dsmil_smi_status st;
	unsigned int wait;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	smi_reload(_metadata, self, "smi_fault_limit=1");
	devs_up(_metadata, self->fd, 2);
	ASSERT_EQ(0, sim_write("fault", "hang"));
	EXPECT_EQ(-ETIMEDOUT, read_dev(self->fd, 0, NULL));
	ASSERT_EQ(0, sim_write("fault", "none"));
	ASSERT_EQ(0, sim_set("reset_fails", 2));

	EXPECT_EQ(-EIO, smi_recover(self->fd));
	EXPECT_EQ(-EAGAIN, smi_recover(self->fd));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(100, st.recover_backoff_ms);
	EXPECT_LT(0, st.recover_wait_ms);
	EXPECT_EQ(1, sim_stat("reset_failures"));
	EXPECT_TRUE(dmesg_has2("dsmil: smi-recover-failed: backend=sim backoff_ms=100 ",
			       "reset_errno=-5 errno=-5$"));
	wait = st.recover_wait_ms;
	sleep_ms(wait + 20);

	EXPECT_EQ(-EIO, smi_recover(self->fd));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(200, st.recover_backoff_ms);	/* doubled */
	EXPECT_EQ(-EAGAIN, smi_recover(self->fd));
	EXPECT_EQ(2, sim_stat("reset_failures"));
	sleep_ms(st.recover_wait_ms + 20);

	EXPECT_EQ(0, smi_recover(self->fd));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(DSMIL_SMI_OK, st.state);
	EXPECT_EQ(2, st.recovery_failures);
	EXPECT_EQ(1, st.recoveries);
	EXPECT_EQ(0, read_dev(self->fd, 3, NULL));
}

TEST_F(smi, abort_failure_faults_at_once)
{
	struct dsmil_smi_status st;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	devs_up(_metadata, self->fd, 2);
	ASSERT_EQ(0, sim_set("abort_fails", 1));
	ASSERT_EQ(0, sim_write("fault", "hang"));
	EXPECT_EQ(-ETIMEDOUT, read_dev(self->fd, 0, NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.abort_failures);
	EXPECT_EQ(DSMIL_SMI_FAULTED, st.state);
	EXPECT_TRUE(dmesg_has("dsmil: smi-abort: " REQ("0x0480", "DSMIL0D0")
			      " reason=hang result=failed errno=-5$"));
	EXPECT_EQ(-ESHUTDOWN, read_dev(self->fd, 3, NULL));
	/* The reset clears the stuck request in the simulator. */
	ASSERT_EQ(0, sim_write("fault", "none"));
	EXPECT_EQ(0, smi_recover(self->fd));
	EXPECT_EQ(0, read_dev(self->fd, 3, NULL));
}

/* Run @fn in a child without privileges; returns its exit status. */
static int as_nobody(int fd, int (*fn)(int fd))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(100);
		_exit(fn(fd));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int nobody_calls(int fd)
{
	struct dsmil_smi_status st;
	unsigned int v;

	if (token_read(fd, 0, 0, &v, NULL) != -EPERM)
		return 1;
	if (smi_recover(fd) != -EPERM)
		return 2;
	if (smi_status(fd, &st))	/* any opener may look */
		return 3;
	return 0;
}

TEST_F(smi, unprivileged_refused)
{
	struct dsmil_smi_status st;

	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	EXPECT_EQ(0, as_nobody(self->fd, nobody_calls));
	EXPECT_EQ(1, sim_reads(token_of(0, 0)));	/* the verify only */
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.requests);
}

TEST_F(smi, writes_refused_by_default)
{
	struct dsmil_smi_status st;

	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_ACTIVE));
	/* allow_writes is off by default (lockdown refuses first: -EPERM). */
	EXPECT_EQ(self->lockdown ? -EPERM : -EACCES,
		  token_write(self->fd, 0, 0, 0x1234));
	EXPECT_EQ(0, sim_writes(token_of(0, 0)));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_EQ(1, st.requests);	/* the verify: the write never got here */
}

TEST_F(smi, writes_when_allowed)
{
	unsigned int v = 0;

	if (self->lockdown)
		SKIP(return, "lockdown refuses every write (see writes_refused_under_lockdown)");
	smi_reload(_metadata, self, "allow_writes=1");
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_ACTIVE));
	ASSERT_EQ(0, dev_up(self->fd, 3, DSMIL_DEV_READY));
	EXPECT_EQ(0, token_write(self->fd, 0, 0, 0x00123456));
	EXPECT_EQ(0, token_read(self->fd, 0, 0, &v, NULL));
	EXPECT_EQ(0x00123456, v);
	EXPECT_EQ(1, sim_writes(token_of(0, 0)));
	/* READY is not enough to write. */
	EXPECT_EQ(-ENODEV, token_write(self->fd, 0, 3, 1));
	EXPECT_EQ(0, sim_writes(token_of(0, 3)));
}

TEST_F(smi, quarantined_tokens_never_written)
{
	static const unsigned int q[] = { 0 * 12 + 9, 1 * 12 + 9, 2 * 12 + 9 };
	unsigned int i, v;
	int ret;

	smi_reload(_metadata, self, "allow_writes=1");
	for (i = 0; i < 3; i++) {
		/* Quarantined devices can be brought to READY and read... */
		ASSERT_EQ(0, dev_up(self->fd, q[i], DSMIL_DEV_READY));
		EXPECT_NE(0, transition(self->fd, q[i], DSMIL_DEV_ACTIVE));
		EXPECT_EQ(0, token_read(self->fd, q[i] / 12, 9, &v, NULL));
		EXPECT_EQ(SIM_VALUE(token_of(q[i] / 12, 9)), v);
		/* ...but never written. */
		ret = token_write(self->fd, q[i] / 12, 9, 0xdead);
		EXPECT_TRUE(ret == -EPERM || ret == -ENODEV) TH_LOG("ret %d", ret);
		EXPECT_EQ(0, sim_writes(token_of(q[i] / 12, 9)));
		EXPECT_EQ(2, sim_reads(token_of(q[i] / 12, 9)));
	}
}

static int read_trace(char *buf, size_t size)
{
	int fd = open(TRACE_DIR "trace", O_RDONLY);
	ssize_t n, len = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)len < size - 1 &&
	       (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(fd);
	return 0;
}

#define EVENT	"dsmil_smi_request: "

TEST_F(smi, tracepoint_events)
{
	static char buf[1 << 16];
	unsigned int v;

	if (access(TRACE_EVENT_DIR "enable", W_OK))
		SKIP(return, "no tracefs event %s", TRACE_EVENT_DIR);
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, write_file(TRACE_DIR "trace", ""));
	ASSERT_EQ(0, write_file(TRACE_EVENT_DIR "enable", "1"));
	EXPECT_EQ(0, token_read(self->fd, 0, 0, &v, NULL));
	EXPECT_EQ(-EINVAL, token_read(self->fd, 7, 0, &v, NULL));
	EXPECT_EQ(0, write_file(TRACE_EVENT_DIR "enable", "0"));
	ASSERT_EQ(0, read_trace(buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, EVENT "token=0x0480 op=read backend=sim result=0 "))
		TH_LOG("trace:\n%s", buf);
	EXPECT_NE(NULL, strstr(buf, EVENT "token=0x0000 op=read backend=sim result=-22 "))
		TH_LOG("trace:\n%s", buf);
}

TEST_F(smi, queued_caller_bounded_by_timeout)
{
	unsigned long long submits;
	__u64 t0, ns;
	int status, i;
	pid_t a;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	devs_up(_metadata, self->fd, 2);
	/*
	 * A holds the hardware until its own deadline, however late B
	 * arrives under a loaded host, so B always queues behind it.
	 */
	ASSERT_EQ(0, sim_set("slow_ms", 4 * DEF_TIMEOUT_MS));
	submits = sim_stat("submits");
	a = fork();
	if (a == 0)
		_exit(read_dev(self->fd, 0, NULL) == -ETIMEDOUT ? 0 : 1);
	/* Once A is at the hardware, B queues behind it. */
	for (i = 0; i < 500 && sim_stat("submits") == submits; i++)
		usleep(200);
	ASSERT_LT(submits, sim_stat("submits"));
	t0 = now_ns();
	EXPECT_EQ(-ETIMEDOUT, read_dev(self->fd, 3, &ns));
	/* B's whole wait, queueing included, is bounded by its timeout. */
	EXPECT_LE(DEF_TIMEOUT_MS * MS - 2 * MS, ns);
	EXPECT_GT(BOUND * DEF_TIMEOUT_MS * MS, now_ns() - t0);
	ASSERT_EQ(a, waitpid(a, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(smi, fatal_signal_ends_wait_at_hardware)
{
	struct dsmil_smi_status st;
	unsigned long long submits;
	__u64 t0;
	int status, i;
	pid_t child;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	smi_reload(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=900");
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	ASSERT_EQ(0, sim_set("slow_ms", 700));
	submits = sim_stat("submits");
	child = fork();
	if (child == 0)
		_exit(read_dev(self->fd, 0, NULL) ? 1 : 0);
	for (i = 0; i < 500 && sim_stat("submits") == submits; i++)
		usleep(200);
	ASSERT_LT(submits, sim_stat("submits"));
	sleep_ms(50);
	t0 = now_ns();
	ASSERT_EQ(0, kill(child, SIGKILL));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	/* Gone long before its SMI (700 ms) ends. */
	EXPECT_GT(300 * MS, now_ns() - t0);

	/* The engine kept the request and finishes it. */
	ASSERT_EQ(0, smi_quiesce(self->fd, &st));
	EXPECT_EQ(1, st.abandoned);
	EXPECT_EQ(2, st.successes);	/* verify + the abandoned read */
}

TEST_F(smi, fatal_signal_ends_wait_in_queue)
{
	struct dsmil_smi_status st;
	unsigned long long submits;
	__u64 t0;
	int status, i;
	pid_t a, b;

	if (self->lockdown)
		SKIP(return, KNOBS_LOCKED);
	smi_reload(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=900");
	devs_up(_metadata, self->fd, 2);
	ASSERT_EQ(0, sim_set("slow_ms", 400));
	submits = sim_stat("submits");
	a = fork();
	if (a == 0)
		_exit(read_dev(self->fd, 0, NULL) ? 1 : 0);
	for (i = 0; i < 500 && sim_stat("submits") == submits; i++)
		usleep(200);
	ASSERT_LT(submits, sim_stat("submits"));
	b = fork();
	if (b == 0)
		_exit(read_dev(self->fd, 3, NULL) ? 1 : 0);
	sleep_ms(50);
	t0 = now_ns();
	ASSERT_EQ(0, kill(b, SIGKILL));
	ASSERT_EQ(b, waitpid(b, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_GT(200 * MS, now_ns() - t0);
	ASSERT_EQ(a, waitpid(a, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ASSERT_EQ(0, smi_quiesce(self->fd, &st));
	EXPECT_EQ(1, st.cancelled);
	/* B never reached the simulator. */
	EXPECT_EQ(submits + 1, sim_stat("submits"));
	EXPECT_EQ(1, sim_reads(token_of(0, 3)));	/* its verify only */
}

TEST_F(smi, spacing_between_smis)
{
	struct dsmil_smi_status st;
	__u64 t0, ns;
	unsigned int i;

	smi_reload(_metadata, self, "smi_min_interval_us=20000");
	ASSERT_EQ(0, dev_up(self->fd, 0, DSMIL_DEV_READY));
	t0 = now_ns();
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, read_dev(self->fd, 0, NULL));
	ns = now_ns() - t0;
	/* At least two full gaps between three back-to-back SMIs. */
	EXPECT_LE(2 * 20 * MS, ns);
	ASSERT_EQ(0, smi_status(self->fd, &st));
	EXPECT_LE(2, st.spacing_waits);
	EXPECT_LE(2 * 15000, st.spacing_wait_us);
	EXPECT_EQ(20000, st.min_interval_us);
}

TEST(bad_parameters_refused_at_load)
{
	static const char *const bad[] = {
		"smi_timeout_ms=0",
		"smi_timeout_ms=5000",
		"smi_hang_ms=50",
		"smi_timeout_ms=10",	/* below the default hang_ms=20 */
		"smi_min_interval_us=200000",
		"smi_fault_limit=0",
		"smi_busy_retries=100",
		"smi_backend=smm",
		"smi_backend=dell-smbios",	/* QEMU's DMI says QEMU */
	};
	unsigned int i;

	if (!can_reload())
		SKIP(return, "lockdown and an unsigned module: cannot reload it");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_NE(0, reload(bad[i])) TH_LOG("%s loaded", bad[i]);
		EXPECT_NE(0, system("grep -q '^dsmil ' /proc/modules"));
	}
	EXPECT_TRUE(dmesg_has("dsmil: smi_timeout_ms=5000 is outside 1\\.\\.1000$"));
	EXPECT_TRUE(dmesg_has2("dsmil: smi_backend=dell-smbios refused: ",
			       "DMI sys_vendor is 'QEMU', not 'Dell Inc\\.'$"));
	/* The extremes of each range load. */
	EXPECT_EQ(0, reload("smi_timeout_ms=1000 smi_hang_ms=999 smi_fault_limit=1000"));
	EXPECT_EQ(0, reload("smi_timeout_ms=2 smi_hang_ms=1 smi_min_interval_us=1999"));
	EXPECT_EQ(0, reload("smi_min_interval_us=0 smi_fault_limit=1 smi_busy_retries=16"));
	EXPECT_EQ(0, reload(""));
}

TEST_HARNESS_MAIN
