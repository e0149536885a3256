// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil's dell-smbios backend against the emulated Dell firmware of
 * tests/firmware, through the unmodified in-tree stack (wmi,
 * dell-wmi-descriptor, dell-smbios): run in a guest booted with
 * tools/dsmil-vm --dell-firmware MODE (skipped anywhere else).
 *
 * Three witnesses besides dsmil itself:
 *  - the firmware's own NV storage and call counter, read through ACPI
 *    _STA (/sys/bus/acpi/devices/DSML0C0x:NN/status), independent of the
 *    Dell stack;
 *  - libsmbios (python3-libsmbios, what smbios-token-ctl is built on),
 *    which reaches the firmware through /dev/wmi/dell-smbios;
 *  - the token table the firmware was generated from
 *    (/etc/dell-firmware/tokens.txt).
 * The module is reloaded with smi_backend=dell-smbios allow_writes=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "dsmil_ioctl.h"
#include "lib/dsmil_test.h"

/*
 * Every test here may bring devices up through LOAD_RETRIES tries of a
 * call that takes seconds on a loaded debug guest: the harness's 30 s
 * would end such a test as "timed out" instead of with its reason.  The
 * harness reads this when TEST() expands, below.  (7 tests at 120 s, the
 * cross-check at 600 s and the boot fit in tests/host/dell-check's
 * guest bound.)
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 120

#define TOKENS_TXT	"/etc/dell-firmware/tokens.txt"
#define MODE_FILE	"/etc/dell-firmware/mode"
#define COUNTER		"/sys/bus/acpi/devices/DSML0C01:00/status"
#define NV_GLOB		"/sys/bus/acpi/devices/DSML0C02:*"
#define WITNESS		"/tmp/dell_witness.py"
#define PYTHON		"/usr/bin/python3.11"
#define MS		1000000ULL

/* libsmbios as a witness: one process for a batch of operations. */
static const char witness_py[] =
"import ctypes, sys\n"
"from libsmbios_c import smi, smbios_token\n"
"table = None\n"
"for op in sys.argv[1:]:\n"
"    f = op.split(':')\n"
"    try:\n"
"        if f[0] == 'r':\n"
"            cur, mn, mx = smi.read_nv_storage(int(f[1], 0))\n"
"            print('r %d %d %d %d' % (int(f[1], 0), cur, mn, mx))\n"
"        elif f[0] == 'w':\n"
"            res = ctypes.c_uint32(0)\n"
"            smi.write_nv_storage(0, int(f[1], 0), int(f[2], 0), ctypes.byref(res))\n"
"            print('w %d ok' % int(f[1], 0))\n"
"        elif f[0] in ('t', 'a'):\n"
"            if table is None:\n"
"                table = smbios_token.TokenTable()\n"
"            tok = table[int(f[1], 0)]\n"
"            if f[0] == 'a':\n"
"                tok.activate()\n"
"            print('%s %d %d' % (f[0], int(f[1], 0), int(tok.isActive())))\n"
"    except Exception as e:\n"
"        print('%s %d error %s' % (f[0], int(f[1], 0), type(e).__name__))\n";

struct tok {
	unsigned int id, loc, value, min, max;
	char fault[32], name[32];
	int group, pos;			/* -1: not a DSMIL token */
};

static struct tok toks[64];
static unsigned int ntoks;
static char mode[16];

static int load_tokens(void)
{
	FILE *f = fopen(TOKENS_TXT, "r");
	struct tok *t;

	if (!f)
		return -1;
	while (ntoks < 64) {
		t = &toks[ntoks];
		if (fscanf(f, "%x %x %u %u %u %31s %31s", &t->id, &t->loc,
			   &t->value, &t->min, &t->max, t->fault,
			   t->name) != 7)
			break;
		t->group = t->pos = -1;
		if (t->id >= DSMIL_TOKEN_BASE && t->id < DSMIL_TOKEN_BASE + 72) {
			t->group = (t->id - DSMIL_TOKEN_BASE) / 12;
			t->pos = (t->id - DSMIL_TOKEN_BASE) % 12;
		}
		ntoks++;
	}
	fclose(f);
	f = fopen(MODE_FILE, "r");
	if (!f || fscanf(f, "%15s", mode) != 1)
		strcpy(mode, "none");
	if (f)
		fclose(f);
	return ntoks ? 0 : -1;
}

static struct tok *tok_at(int g, int p)
{
	unsigned int i;

	for (i = 0; i < ntoks; i++)
		if (toks[i].group == g && toks[i].pos == p)
			return &toks[i];
	return NULL;
}

static bool healthy(const struct tok *t)
{
	return !strcmp(t->fault, "none") || !strncmp(t->fault, "sleep:", 6) ||
	       !strcmp(t->fault, "smm");
}

static bool quarantined(int g, int p)
{
	return (g == 0 && p >= 9) || (g == 1 && p == 9) || (g == 2 && p == 9);
}

/* The kernel filter's ranges (drivers/platform/x86/dell/dell-smbios-base.c). */
static bool filtered(unsigned int id)
{
	return (id >= 0x049e && id <= 0x049f) || (id >= 0x04a0 && id <= 0x04a3);
}

static unsigned long long read_ull(const char *path)
{
	unsigned long long v = ~0ULL;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = ~0ULL;
		fclose(f);
	}
	return v;
}

/* WMDA evaluations so far, as the firmware counts them. */
static unsigned long long fw_calls(void)
{
	return read_ull(COUNTER) >> 8;
}

/* The firmware's NV cell at @loc, through its ACPI witness. */
static long nv_value(unsigned int loc)
{
	char path[256];
	glob_t g;
	size_t i;
	long v = -1;

	if (glob(NV_GLOB, 0, NULL, &g))
		return -1;
	for (i = 0; i < g.gl_pathc && v < 0; i++) {
		snprintf(path, sizeof(path), "%s/uid", g.gl_pathv[i]);
		if (read_ull(path) != loc)
			continue;
		snprintf(path, sizeof(path), "%s/status", g.gl_pathv[i]);
		v = (long)(read_ull(path) >> 8);
	}
	globfree(&g);
	return v;
}

/* Run the libsmbios witness on @ops (space separated); output in @out. */
static int witness(const char *ops, char *out, size_t len)
{
	char cmd[4096];
	FILE *f;
	size_t n;

	f = fopen(WITNESS, "w");
	if (!f)
		return -1;
	fputs(witness_py, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), PYTHON " " WITNESS " %s 2>&1", ops);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	return pclose(f);
}

/* The libsmbios answer to "r LOC" in @out, or -1. */
static long witness_cur(const char *out, unsigned int loc)
{
	char pat[32];
	const char *p;
	unsigned int cur;

	snprintf(pat, sizeof(pat), "r %u ", loc);
	p = strstr(out, pat);
	if (!p || sscanf(p + strlen(pat), "%u", &cur) != 1)
		return -1;
	return cur;
}

static long witness_active(const char *out, char op, unsigned int id)
{
	char pat[32];
	const char *p;
	int a;

	snprintf(pat, sizeof(pat), "%c %u ", op, id);
	p = strstr(out, pat);
	if (!p || sscanf(p + strlen(pat), "%d", &a) != 1)
		return -1;
	return a;
}

/* ------------------------------------------------------------ the driver */

/*
 * Extra module parameters, for a guest whose emulated firmware is much
 * slower than a real machine's (the debug kernel: KASAN and lockdep under
 * TCG make one call ~200 ms): then the timing defaults cannot be judged
 * here, and the freeze is not told apart from a healthy call.
 */
static const char *extra_params(void)
{
	const char *p = getenv("DSMIL_DELL_PARAMS");

	return p ? p : "";
}

static bool scaled(void)
{
	return *extra_params();
}

/*
 * On a scaled guest a call that takes ~200 ms on a quiet host takes several
 * times that on a loaded one, and can outlive even the longest bound
 * (smi_timeout_ms=1000): a verification that does leaves its device in ERROR
 * with -ETIMEDOUT, and a request queued behind it times out unsent.  That is
 * the driver keeping its bound, not a wrong value, and these tests judge
 * values there: they try again, at most LOAD_RETRIES times, each one
 * printed.  A guest at real speed (nothing scaled) never tries again.
 *
 * Each try waits first until the engine is idle: the call that outlived
 * its deadline still runs at the firmware, and a try queued behind it
 * spends its own deadline waiting (CI once saw calls of 2.5 s, so that
 * tries in a row timed out behind each other, and a bring-up failed).
 */
#define LOAD_RETRIES	5
#define IDLE_WAIT_MS	10000U

/*
 * Try again after @ret?  Only a -ETIMEDOUT on a scaled guest, and only one
 * the engine's counters (@st0 before the call) show was never sent: ended
 * in the queue (queue_timeouts), or, if @in_doubt_ok, a call still running
 * at its deadline (in_doubt): a verification or a read, which change
 * nothing, or the read a write makes first (the write itself is then not
 * sent, dsmil_smi_token.c).  A write that was sent and is in doubt answers
 * -EINPROGRESS, never -ETIMEDOUT, and is never tried again.
 */
static bool load_retry(int fd, int ret, const struct dsmil_smi_status *st0,
		       bool in_doubt_ok, int *tries, const char *what, int g,
		       int p)
{
	struct dsmil_smi_status st1;
	int idle;

	if (ret != -ETIMEDOUT || !scaled() || ++*tries > LOAD_RETRIES)
		return false;
	smi_status(fd, &st1);
	if (st1.queue_timeouts != st0->queue_timeouts + 1 &&
	    !(in_doubt_ok && st1.in_doubt == st0->in_doubt + 1)) {
		printf("# %s DSMIL%dD%X: -ETIMEDOUT, queue timeouts %llu -> %llu, in doubt %llu -> %llu: not tried again\n",
		       what, g, p, (unsigned long long)st0->queue_timeouts,
		       (unsigned long long)st1.queue_timeouts,
		       (unsigned long long)st0->in_doubt,
		       (unsigned long long)st1.in_doubt);
		return false;
	}
	/*
	 * Nothing may stay in flight that long against a 1 s bound: that is
	 * a finding, not load.
	 */
	idle = smi_wait_idle(fd, &st1, IDLE_WAIT_MS);
	if (idle) {
		printf("# %s DSMIL%dD%X: engine not idle after %u ms (%s, %u in flight): not tried again\n",
		       what, g, p, IDLE_WAIT_MS, strerror(-idle), st1.in_flight);
		return false;
	}
	printf("# %s DSMIL%dD%X: timed out under load (scaled timing), try %d\n",
	       what, g, p, *tries + 1);
	return true;
}

/* Load dsmil with the Dell backend once per test (each runs in a child). */
static int dell_fd(void)
{
	static int fd = -1;
	const char *ko = getenv("DSMIL_KO");
	char params[256];
	int kfd, i;

	if (fd >= 0)
		return fd;
	/* A request a test left at the firmware pins the module a while. */
	for (i = 0; i < 50; i++) {
		if (!syscall(__NR_delete_module, "dsmil", O_NONBLOCK) ||
		    errno == ENOENT)
			break;
		usleep(100 * 1000);
	}
	kfd = open(ko && *ko ? ko : "/lib/dsmil/dsmil.ko", O_RDONLY);
	if (kfd < 0)
		return -1;
	snprintf(params, sizeof(params),
		 "smi_backend=dell-smbios allow_writes=1 %s", extra_params());
	if (syscall(__NR_finit_module, kfd, params, 0)) {
		close(kfd);
		return -1;
	}
	close(kfd);
	fd = open("/dev/dsmil", O_RDWR);
	return fd;
}

/* Bring device @id to READY (and to ACTIVE if @active), dependencies first. */
static int bring_up(int fd, unsigned int id, bool active)
{
	struct dsmil_dev_info di;
	unsigned int g, i;
	int ret;

	ret = dev_info(fd, id, &di);
	if (ret)
		return ret;
	if (di.state == DSMIL_DEV_ACTIVE ||
	    (di.state == DSMIL_DEV_READY && !active))
		return 0;
	if (active) {
		for (g = 0; g < DSMIL_NUM_GROUPS; g++)
			if (di.dep_groups & (1U << g) && g * 12 != id) {
				ret = bring_up(fd, g * 12, true);
				if (ret)
					return ret;
			}
		for (i = 0; i < 12; i++)
			if (di.dep_devices & (1U << i) && di.group * 12 + i != id) {
				ret = bring_up(fd, di.group * 12 + i, true);
				if (ret)
					return ret;
			}
	}
	/*
	 * A device found in ERROR: only on a scaled guest, where an earlier
	 * verification may have outlived its deadline under load.
	 */
	if (di.state == DSMIL_DEV_ERROR && !scaled()) {
		printf("# bring-up DSMIL%dD%X: found in ERROR\n", di.group,
		       id % 12);
		return -EIO;
	}
	if (di.state == DSMIL_DEV_ERROR)
		printf("# bring-up DSMIL%dD%X: found in ERROR (scaled timing)\n",
		       di.group, id % 12);
	if (di.state == DSMIL_DEV_OFFLINE ||
	    (di.state == DSMIL_DEV_ERROR && scaled())) {
		struct dsmil_smi_status st0;
		int tries = 0;

		do {
			/* A failed verification left it in ERROR. */
			smi_status(fd, &st0);
			ret = dev_transition(fd, id, DSMIL_DEV_INITIALIZING, NULL);
			if (!ret)
				ret = dev_transition(fd, id, DSMIL_DEV_READY, NULL);
		} while (load_retry(fd, ret, &st0, true, &tries, "bring-up",
				    di.group, id % 12));
		if (ret)
			return ret;
	}
	return active ? dev_transition(fd, id, DSMIL_DEV_ACTIVE, NULL) : 0;
}

/*
 * The final outcome of the in-doubt request @res->request_id: its errno (0:
 * done, @res->value its value), or -EINPROGRESS if it has not ended within
 * 10 s.
 */
static int final_outcome(int fd, struct dsmil_smi_result *res)
{
	int i, ret;

	for (i = 0; i < 100; i++) {
		ret = dsmil_ioc(fd, DSMIL_IOC_SMI_RESULT, res);
		if (ret != -EINPROGRESS)
			break;
		usleep(100 * 1000);
	}
	return ret ? ret : -(int)res->error;
}

static int token_rw(int fd, bool write, int g, int p, __u32 *value,
		    __u32 flags, __u32 *old, __u64 *ns)
{
	struct dsmil_smi_status st0;
	struct dsmil_token_req tr;
	struct dsmil_smi_result res = {};
	int ret, tries = 0;

	do {
		smi_status(fd, &st0);
		tr = (struct dsmil_token_req){
			.group = g, .position = p, .flags = flags,
			.value = write ? *value : 0,
		};
		ret = dsmil_ioc(fd, write ? DSMIL_IOC_TOKEN_WRITE :
					    DSMIL_IOC_TOKEN_READ, &tr);
	} while (load_retry(fd, ret, &st0, true, &tries,
			    write ? "token write" : "token read", g, p));
	res.request_id = tr.request_id;

	/*
	 * A guest so loaded that a call outlives its deadline: the outcome is
	 * in doubt, not a failure.  These tests judge what the firmware did:
	 * wait for the final outcome (bounded) and take it.  firmware_faults
	 * judges the in-doubt answer itself.
	 */
	if (ret == -EINPROGRESS) {
		ret = final_outcome(fd, &res);
		printf("# token %s %d/%d in doubt at its deadline; final: %d\n",
		       write ? "write" : "read", g, p, ret);
		if (!ret && !write)
			tr.value = res.value;
		if (!ret && write)
			tr.old_value = res.value;
	}
	if (!ret && !write)
		*value = tr.value;
	if (old)
		*old = tr.old_value;
	if (ns)
		*ns = tr.duration_ns;
	return ret;
}

#define NEED_FIRMWARE() do {						\
	if (load_tokens())						\
		SKIP(return, "not booted with --dell-firmware");	\
	ASSERT_LE(0, dell_fd()) TH_LOG("dsmil with smi_backend=dell-smbios");\
} while (0)

/* ------------------------------------------------------------ the tests */

/*
 * First, before any test holds the module open.  On this Latitude 5450
 * (the emulated firmware's SMBIOS strings) the module's DMI alias matches
 * the machine's modalias as kmod matches a uevent's MODALIAS against
 * modules.alias (fnmatch), which is what makes udev load an installed
 * module at boot; and loaded with no smi_backend (auto) it picks the
 * dell-smbios backend and says so.
 */
TEST(dmi_alias_and_auto_backend)
{
	struct dsmil_info info = {};
	int fd, kfd;

	if (load_tokens())
		SKIP(return, "not booted with --dell-firmware");
	EXPECT_EQ(1, dsmil_dmi_alias_matches());
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);
	ASSERT_EQ(0, dsmil_reload(extra_params()));
	EXPECT_TRUE(kmsg_find(kfd, "dsmil: loaded: ", " smi=dell-smbios smi_choice=auto-dmi ",
			      NULL));
	close(kfd);
	fd = open("/dev/dsmil", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	EXPECT_STREQ("dell-smbios", (char *)info.smi_backend);
	close(fd);
	EXPECT_EQ(0, dsmil_unload_wait(5000));
}

TEST(backend_and_timing)
{
	struct dsmil_smi_status st;

	NEED_FIRMWARE();
	smi_status(dell_fd(), &st);
	EXPECT_STREQ("dell-smbios", (char *)st.backend);
	/* The backend's own defaults (from measured figures), not the sim's. */
	if (!scaled()) {
		EXPECT_EQ(250, st.timeout_ms);
		EXPECT_EQ(200, st.hang_ms);
	}
	EXPECT_EQ(st.timeout_ms,
		  read_ull("/sys/module/dsmil/parameters/smi_timeout_ms"));
	EXPECT_EQ(st.hang_ms, read_ull("/sys/module/dsmil/parameters/smi_hang_ms"));
	printf("# timing: timeout %u ms, hang %u ms%s\n", st.timeout_ms,
	       st.hang_ms, scaled() ? " (scaled for this guest)" : " (defaults)");
	EXPECT_TRUE(kmsg_grep("using the dell-smbios backend: 22 of 24 DSMIL tokens in the firmware, 2 refused by the kernel's filter"));
}

/* Discovery: what the firmware's table lacks is absent, the filter's filtered. */
TEST(discovery)
{
	struct dsmil_dev_info di;
	int fd, g, p;

	NEED_FIRMWARE();
	fd = dell_fd();
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		for (p = 0; p < 12; p += 3) {
			unsigned int id = DSMIL_TOKEN_BASE + 12 * g + p;
			__u16 want = 0;

			if (!tok_at(g, p))
				want = DSMIL_DEVF_TOKEN_ABSENT;
			else if (filtered(id))
				want = DSMIL_DEVF_TOKEN_FILTERED;
			ASSERT_EQ(0, dev_info(fd, g * 12 + p, &di));
			EXPECT_EQ(want, di.flags & (DSMIL_DEVF_TOKEN_ABSENT |
						    DSMIL_DEVF_TOKEN_FILTERED))
				TH_LOG("DSMIL%dD%X", g, p);
		}
	}
	EXPECT_EQ(0, dsmil_ioc(fd, DSMIL_IOC_SMI_RESCAN, NULL));
	ASSERT_EQ(0, dev_info(fd, 2 * 12 + 6, &di));	/* 0x049E */
	EXPECT_TRUE(di.flags & DSMIL_DEVF_TOKEN_FILTERED);
}

/* Absent and filtered tokens: refused, and the firmware never called. */
TEST(refused_never_reach_firmware)
{
	static const struct { int g, p, err; } cases[] = {
		{ 1, 6, -ENOENT }, { 5, 3, -ENOENT },
		{ 2, 6, -EACCES }, { 2, 9, -EACCES },
	};
	unsigned long long before, after;
	struct dsmil_smi_status st0, st1;
	unsigned int i;
	__u32 v;
	int fd;

	NEED_FIRMWARE();
	fd = dell_fd();
	/* Their devices come up without a call: verification sends nothing. */
	before = fw_calls();
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int id = cases[i].g * 12 + cases[i].p;

		ASSERT_EQ(0, bring_up(fd, id, !quarantined(cases[i].g, cases[i].p)))
			TH_LOG("bring up DSMIL%dD%X", cases[i].g, cases[i].p);
	}
	smi_status(fd, &st0);
	before = fw_calls();
	ASSERT_NE(~0ULL >> 8, before);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 1;
		EXPECT_EQ(cases[i].err, token_rw(fd, false, cases[i].g,
						 cases[i].p, &v, 0, NULL, NULL));
		v = 1;
		if (!quarantined(cases[i].g, cases[i].p))
			EXPECT_EQ(cases[i].err,
				  token_rw(fd, true, cases[i].g, cases[i].p,
					   &v, 0, NULL, NULL));
		v = 1;
		if (!quarantined(cases[i].g, cases[i].p))
			EXPECT_EQ(cases[i].err,
				  token_rw(fd, true, cases[i].g, cases[i].p, &v,
					   DSMIL_TOKEN_F_ACTIVATE, NULL, NULL));
	}
	after = fw_calls();
	EXPECT_EQ(before, after) TH_LOG("firmware calls %llu -> %llu", before, after);
	smi_status(fd, &st1);
	EXPECT_EQ(st0.refused + 10, st1.refused);
	EXPECT_EQ(st0.successes, st1.successes);
	EXPECT_EQ(st0.errors, st1.errors);
	EXPECT_TRUE(kmsg_grep("refused-input: cmd=token-read pid=[0-9]+ token=0x049e dev=DSMIL2D6 why=dell-filter errno=-13"));
	EXPECT_TRUE(kmsg_grep("refused-input: cmd=token-write pid=[0-9]+ token=0x0492 dev=DSMIL1D6 why=token-absent errno=-2"));
	printf("# refused: %llu token requests, firmware calls %llu -> %llu\n",
	       (unsigned long long)(st1.refused - st0.refused), before, after);
}

/* Only for the longer timeout the cross-check needs on the debug kernel. */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

/*
 * Every healthy DSMIL token the filter lets through: dsmil's read equals
 * the firmware's NV cell and libsmbios' read; a value dsmil writes is what
 * both see; a value libsmbios writes is what dsmil reads; activation by
 * either is seen by the other.
 */
TEST_F_TIMEOUT(slow, cross_check_libsmbios, 600)
{
	static char out[16384];
	char ops[4096];
	unsigned int i, n = 0, nw = 0;
	size_t o = 0;
	int fd;

	NEED_FIRMWARE();
	fd = dell_fd();
	for (i = 0; i < ntoks; i++) {
		struct tok *t = &toks[i];
		bool w = !quarantined(t->group, t->pos);
		__u32 v;

		if (t->group < 0 || filtered(t->id) || !healthy(t))
			continue;
		ASSERT_EQ(0, bring_up(fd, t->group * 12 + t->pos, w))
			TH_LOG("bring up %s", t->name);
		ASSERT_EQ(0, token_rw(fd, false, t->group, t->pos, &v, 0, NULL,
				      NULL)) TH_LOG("%s", t->name);
		EXPECT_EQ(nv_value(t->loc), (long)v) TH_LOG("%s", t->name);
		o += snprintf(ops + o, sizeof(ops) - o, "r:%u ", t->loc);
		n++;
		if (w) {
			__u32 nv = (v + 1) % (t->max + 1), old = ~0U;

			ASSERT_EQ(0, token_rw(fd, true, t->group, t->pos, &nv, 0,
					      &old, NULL)) TH_LOG("%s", t->name);
			EXPECT_EQ(v, old) TH_LOG("%s: old value", t->name);
			EXPECT_EQ((long)nv, nv_value(t->loc)) TH_LOG("%s", t->name);
			nw++;
		}
	}
	ASSERT_LT(10, n);
	ASSERT_EQ(0, witness(ops, out, sizeof(out))) TH_LOG("%s", out);
	for (i = 0; i < ntoks; i++) {
		struct tok *t = &toks[i];

		if (t->group < 0 || filtered(t->id) || !healthy(t))
			continue;
		EXPECT_EQ(nv_value(t->loc), witness_cur(out, t->loc))
			TH_LOG("%s: libsmbios read", t->name);
	}

	/* The reverse: libsmbios writes, dsmil reads. */
	o = 0;
	for (i = 0; i < ntoks; i++) {
		struct tok *t = &toks[i];

		if (t->group < 0 || filtered(t->id) || !healthy(t))
			continue;
		o += snprintf(ops + o, sizeof(ops) - o, "w:%u:%u ", t->loc,
			      t->max / 2);
	}
	ASSERT_EQ(0, witness(ops, out, sizeof(out))) TH_LOG("%s", out);
	for (i = 0; i < ntoks; i++) {
		struct tok *t = &toks[i];
		__u32 v = ~0U;

		if (t->group < 0 || filtered(t->id) || !healthy(t))
			continue;
		EXPECT_EQ(0, token_rw(fd, false, t->group, t->pos, &v, 0, NULL,
				      NULL));
		EXPECT_EQ(t->max / 2, v) TH_LOG("%s after libsmbios wrote", t->name);
	}

	/* Activation: dsmil activates, libsmbios sees it active, and back. */
	o = 0;
	for (i = 0; i < ntoks; i++) {
		struct tok *t = &toks[i];
		__u32 v = 0;

		if (t->group < 0 || filtered(t->id) || !healthy(t) ||
		    quarantined(t->group, t->pos))
			continue;
		ASSERT_EQ(0, token_rw(fd, true, t->group, t->pos, &v,
				      DSMIL_TOKEN_F_ACTIVATE, NULL, NULL));
		EXPECT_EQ((long)t->value, nv_value(t->loc)) TH_LOG("%s", t->name);
		o += snprintf(ops + o, sizeof(ops) - o, "t:%u ", t->id);
	}
	ASSERT_EQ(0, witness(ops, out, sizeof(out))) TH_LOG("%s", out);
	for (i = 0; i < ntoks; i++) {
		struct tok *t = &toks[i];

		if (t->group < 0 || filtered(t->id) || !healthy(t) ||
		    quarantined(t->group, t->pos))
			continue;
		EXPECT_EQ(1, witness_active(out, 't', t->id))
			TH_LOG("%s: libsmbios isActive", t->name);
	}
	printf("# cross-checked with libsmbios: %u tokens read, %u written by dsmil, %u written by libsmbios, %u activated\n",
	       n, nw, n, nw);
}

/* A value write outside the firmware's [min, max]: refused before writing. */
TEST(value_range)
{
	struct tok *t;
	unsigned long long c0, c1;
	long before;
	__u32 v, old = 0;
	int fd;

	NEED_FIRMWARE();
	fd = dell_fd();
	t = tok_at(0, 6);
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, bring_up(fd, 6, true));
	before = nv_value(t->loc);
	c0 = fw_calls();
	v = t->max + 1;
	EXPECT_EQ(-ERANGE, token_rw(fd, true, 0, 6, &v, 0, &old, NULL));
	c1 = fw_calls();
	EXPECT_EQ(c0 + 1, c1) TH_LOG("only the read reaches the firmware");
	EXPECT_EQ(before, nv_value(t->loc));
	v = 0xffffffff;
	EXPECT_EQ(-ERANGE, token_rw(fd, true, 0, 6, &v, 0, &old, NULL));
	EXPECT_EQ(before, nv_value(t->loc));
	/* Flags a read does not take, and unknown flags. */
	v = 0;
	EXPECT_EQ(-EINVAL, token_rw(fd, false, 0, 6, &v,
				    DSMIL_TOKEN_F_ACTIVATE, NULL, NULL));
	EXPECT_EQ(-EINVAL, token_rw(fd, true, 0, 6, &v, 0x80, NULL, NULL));
}

/* Slow but healthy firmware (11-15 ms calls): never a hang, never FAULTED. */
TEST(slow_firmware_is_healthy)
{
	struct dsmil_smi_status st0, st1;
	unsigned int i, rounds, n = 0;
	__u64 ns, max_ns = 0;
	int fd, r;

	NEED_FIRMWARE();
	if (strcmp(mode, "smm") && strcmp(mode, "faults"))
		SKIP(return, "firmware mode %s has no slow calls", mode);
	fd = dell_fd();
	smi_status(fd, &st0);
	rounds = strcmp(mode, "smm") ? 5 : 2;
	for (r = 0; r < (int)rounds; r++) {
		for (i = 0; i < ntoks; i++) {
			struct tok *t = &toks[i];
			__u32 v;

			if (t->group < 0 || filtered(t->id) ||
			    (strncmp(t->fault, "sleep:", 6) &&
			     strcmp(t->fault, "smm")))
				continue;
			ASSERT_EQ(0, bring_up(fd, t->group * 12 + t->pos, false));
			EXPECT_EQ(0, token_rw(fd, false, t->group, t->pos, &v,
					      0, NULL, &ns)) TH_LOG("%s", t->name);
			if (ns > max_ns)
				max_ns = ns;
			n++;
		}
	}
	smi_status(fd, &st1);
	EXPECT_EQ(DSMIL_SMI_OK, st1.state);
	EXPECT_EQ(st0.faulted_entries, st1.faulted_entries);
	/* ~200 ms a call on a scaled guest: an SMM-slow one is not told apart. */
	if (!scaled()) {
		EXPECT_EQ(st0.timeouts, st1.timeouts);
		EXPECT_EQ(0, st1.consecutive_faults);
		EXPECT_LT(max_ns, (__u64)st1.hang_ms * MS);
	} else {
		printf("# slow firmware: timing not judged with scaled timing (%u slow calls in a row at the end, timeouts %llu)\n",
		       st1.consecutive_faults,
		       (unsigned long long)(st1.timeouts - st0.timeouts));
	}
	printf("# slow firmware: %u reads, slowest %llu us, hangs %llu\n", n,
	       (unsigned long long)(max_ns / 1000),
	       (unsigned long long)(st1.hangs - st0.hangs));
}

/*
 * Issue 13, defect 2, as the issue saw it: a write whose firmware call
 * freezes past the caller's deadline.  The firmware applies it (its NV cell
 * is the witness): the caller is told "in doubt", never -ETIMEDOUT, the
 * device does not go to ERROR, and the late success is what
 * DSMIL_IOC_SMI_RESULT, the counters and the smi-late line say.
 */
static void write_in_doubt_lands(struct __test_metadata *_metadata, int fd)
{
	struct tok *t;
	struct dsmil_token_req tr = { .group = 5, .position = 9 };
	struct dsmil_smi_result res = {};
	struct dsmil_smi_status st0, st1;
	struct dsmil_dev_info di;
	char re[160];
	long before;
	int i;

	t = tok_at(5, 9);
	ASSERT_NE(NULL, t);
	ASSERT_STREQ("freeze:500", t->fault);
	/*
	 * The device is READY (firmware_faults brought it up: the location's
	 * first call, the verification, is the one that does not freeze);
	 * READY -> ACTIVE calls no firmware.
	 */
	ASSERT_EQ(0, bring_up(fd, 5 * 12 + 9, true));
	before = nv_value(t->loc);
	ASSERT_LE(0, before);
	tr.value = before == (long)t->min ? t->max : t->min;
	smi_status(fd, &st0);

	EXPECT_EQ(-EINPROGRESS, dsmil_ioc(fd, DSMIL_IOC_TOKEN_WRITE, &tr));
	EXPECT_TRUE(tr.flags & DSMIL_TOKEN_F_IN_DOUBT);
	ASSERT_NE(0, tr.request_id);
	res.request_id = tr.request_id;
	/* A read and a write of 500 ms each: wait for both, bounded. */
	for (i = 0; i < 40; i++) {
		if (dsmil_ioc(fd, DSMIL_IOC_SMI_RESULT, &res) != -EINPROGRESS)
			break;
		usleep(100 * 1000);
	}
	ASSERT_EQ(0, dsmil_ioc(fd, DSMIL_IOC_SMI_RESULT, &res));
	EXPECT_EQ(0, res.error);
	EXPECT_EQ(DSMIL_SMI_RESULT_F_WRITE | DSMIL_SMI_RESULT_F_IN_DOUBT |
		  DSMIL_SMI_RESULT_F_ABANDONED, res.flags);
	EXPECT_EQ(t->id, res.token);
	/* The firmware did apply it. */
	EXPECT_EQ((long)tr.value, nv_value(t->loc));

	smi_status(fd, &st1);
	EXPECT_EQ(st0.in_doubt + 1, st1.in_doubt);
	EXPECT_EQ(st0.late_successes + 1, st1.late_successes);
	EXPECT_EQ(st0.late_failures, st1.late_failures);
	EXPECT_EQ(st0.successes + 1, st1.successes);
	EXPECT_EQ(st0.timeouts, st1.timeouts);
	EXPECT_EQ(st0.hangs, st1.hangs);
	ASSERT_EQ(0, dev_info(fd, 5 * 12 + 9, &di));
	EXPECT_EQ(DSMIL_DEV_ACTIVE, di.state) TH_LOG("no ERROR for a write that landed");
	snprintf(re, sizeof(re),
		 "smi-late: token=0x%04x op=write backend=dell-smbios dev=DSMIL5D9 id=%llu .*outcome=success errno=0",
		 t->id, (unsigned long long)tr.request_id);
	EXPECT_TRUE(kmsg_grep(re)) TH_LOG("no line matching %s", re);
	printf("# write in doubt: id %llu, landed (NV %ld -> %u)\n",
	       (unsigned long long)tr.request_id, before, tr.value);
}

/*
 * On a scaled guest under load a fault location's verification can be in
 * doubt at its deadline: the firmware still answers it, and that was the
 * location's one good call.  bring_up() then verifies again (load_retry())
 * and meets the fault there, which a verification reports as -EIO (the
 * fault's own errno is not visible then).  Judge what did happen instead of
 * the read (@st0: the counters before bring_up()).  With d calls in doubt
 * (each retry may be in doubt too, and one call at a time is at the
 * firmware, so each ended before the next was sent): the first answered
 * late with success, the d - 1 others late with the fault, the last in time
 * with it; so the fault's own counter (@garbage: the malformed answer's,
 * else the error status') counted d, the other one nothing, and the device
 * is in ERROR.  False, with nothing judged, if @ret is not such a failure.
 */
static bool fault_at_retry(struct __test_metadata *_metadata, int fd,
			   unsigned int id, const struct dsmil_smi_status *st0,
			   bool garbage, int ret)
{
	struct dsmil_smi_status st1;
	struct dsmil_dev_info di;
	__u64 d;

	smi_status(fd, &st1);
	d = st1.in_doubt - st0->in_doubt;
	if (ret != -EIO || !d)
		return false;
	EXPECT_EQ(st0->late_successes + 1, st1.late_successes);
	EXPECT_EQ(st0->late_failures + d - 1, st1.late_failures);
	if (garbage) {
		EXPECT_EQ(st0->garbage + d, st1.garbage);
		EXPECT_EQ(st0->error_status, st1.error_status);
	} else {
		EXPECT_EQ(st0->error_status + d, st1.error_status);
		EXPECT_EQ(st0->garbage, st1.garbage);
	}
	EXPECT_EQ(DSMIL_SMI_OK, st1.state);
	EXPECT_EQ(0, dev_info(fd, id, &di));
	EXPECT_EQ(DSMIL_DEV_ERROR, di.state);
	printf("# %llu calls in doubt before the fault\n", (unsigned long long)d);
	return true;
}

/*
 * Each firmware fault: its documented errno, in bound, the right counter.
 * A freeze longer than the caller's deadline is in doubt (-EINPROGRESS):
 * the call cannot be stopped and does complete; its outcome (success) is
 * recorded under the request id, counted late, never as a hang.
 */
TEST(firmware_faults)
{
	static const struct {
		int g, p, err;
		const char *fault;
	} cases[] = {
		{ 4, 3, -EIO, "status:-1" },
		{ 4, 6, -ENXIO, "status:-2" },
		{ 4, 9, -EINVAL, "status:-5" },
		{ 5, 6, -EIO, "malformed" },
		{ 5, 9, -EINPROGRESS, "freeze:500" },
	};
	struct dsmil_smi_status st0, st1;
	unsigned int i;
	int fd;

	NEED_FIRMWARE();
	if (strcmp(mode, "faults"))
		SKIP(return, "firmware mode %s has no faults", mode);
	fd = dell_fd();
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tok *t = tok_at(cases[i].g, cases[i].p);
		struct dsmil_token_req tr = {
			.group = cases[i].g, .position = cases[i].p,
		};
		struct dsmil_smi_result res = {};
		struct dsmil_dev_info di;
		__u64 t0, el, slack_ms;
		bool late = false;
		int ret;

		if (cases[i].err == -EINPROGRESS && scaled()) {
			printf("# fault %s: not judged with scaled timing\n",
			       cases[i].fault);
			continue;
		}
		ASSERT_NE(NULL, t);
		ASSERT_STREQ(cases[i].fault, t->fault);
		/* The first call (verification) succeeds; then the fault. */
		smi_status(fd, &st0);
		ret = bring_up(fd, cases[i].g * 12 + cases[i].p, false);
		if (ret && scaled() &&
		    fault_at_retry(_metadata, fd, cases[i].g * 12 + cases[i].p,
				   &st0, !strcmp(t->fault, "malformed"), ret)) {
			printf("# fault %s: its first call was in doubt under load, the retried verification met the fault (scaled timing; errno and bound not judged: a verification reports -EIO)\n",
			       t->fault);
			continue;
		}
		ASSERT_EQ(0, ret);
		smi_status(fd, &st0);
		t0 = now_ns();
		ret = dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &tr);
		el = now_ns() - t0;
		/*
		 * A scaled guest on a loaded host: the fault's answer may come
		 * after the deadline.  In doubt is then the right answer; the
		 * fault's errno is the final outcome's.
		 */
		if (ret == -EINPROGRESS && cases[i].err != -EINPROGRESS &&
		    scaled()) {
			EXPECT_TRUE(tr.flags & DSMIL_TOKEN_F_IN_DOUBT);
			res.request_id = tr.request_id;
			ret = final_outcome(fd, &res);
			late = true;
			printf("# fault %s: in doubt at its deadline under load (scaled timing); final: %d\n",
			       t->fault, ret);
		}
		EXPECT_EQ(cases[i].err, ret) TH_LOG("%s", t->fault);
		/*
		 * The caller's bound: smi_timeout_ms, plus scheduling (on a
		 * scaled guest, as slow as its calls).
		 */
		smi_status(fd, &st1);
		slack_ms = scaled() ? st1.timeout_ms : 150;
		EXPECT_LT(el, (st1.timeout_ms + slack_ms) * MS)
			TH_LOG("%s took %llu ms", t->fault,
			       (unsigned long long)(el / MS));
		if (cases[i].err == -EINPROGRESS) {
			EXPECT_TRUE(tr.flags & DSMIL_TOKEN_F_IN_DOUBT);
			EXPECT_NE(0, tr.request_id);
			usleep(600 * 1000);	/* the freeze ends: a late answer */
			res.request_id = tr.request_id;
			EXPECT_EQ(0, dsmil_ioc(fd, DSMIL_IOC_SMI_RESULT, &res));
			EXPECT_EQ(0, res.error);
			EXPECT_TRUE(res.flags & DSMIL_SMI_RESULT_F_IN_DOUBT);
		}
		smi_status(fd, &st1);
		/*
		 * An answer after the deadline is counted as a late one, and
		 * as what it was.
		 */
		if (late) {
			EXPECT_EQ(st0.in_doubt + 1, st1.in_doubt);
			EXPECT_EQ(st0.late_failures + 1, st1.late_failures);
		}
		switch (i) {
		case 0: case 1: case 2:
			EXPECT_EQ(st0.error_status + 1, st1.error_status);
			break;
		case 3:
			EXPECT_EQ(st0.garbage + 1, st1.garbage);
			break;
		case 4:
			EXPECT_EQ(st0.in_doubt + 1, st1.in_doubt);
			EXPECT_EQ(st0.late_successes + 1, st1.late_successes);
			EXPECT_EQ(st0.abandoned + 1, st1.abandoned);
			EXPECT_EQ(st0.hangs, st1.hangs);
			/* The device keeps its state: nothing failed. */
			ASSERT_EQ(0, dev_info(fd, cases[i].g * 12 + cases[i].p,
					      &di));
			EXPECT_EQ(DSMIL_DEV_READY, di.state);
			break;
		}
		EXPECT_EQ(DSMIL_SMI_OK, st1.state);
		printf("# fault %s: errno %d in %llu ms\n", t->fault,
		       cases[i].err, (unsigned long long)(el / MS));
	}
	if (!scaled())
		write_in_doubt_lands(_metadata, fd);
}

TEST_HARNESS_MAIN
