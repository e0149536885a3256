// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of dsmil-monitor against the real module's kernel log.
 *
 * Each incident kind is provoked through the real driver (the SMI
 * simulator's and the mapper's debugfs knobs make the faults), the records
 * logged meanwhile are collected straight from /dev/kmsg, and the monitor
 * must classify every "dsmil: " line among them with a known kind and the
 * documented keys: if the module's format and the monitor's parser drift
 * apart, these tests fail.  Kinds whose driver part has not landed are
 * skipped with the reason.  Also: following /dev/kmsg live, surviving a ring
 * buffer overrun (EPIPE), and --once's Nagios status against thresholds.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#include <poll.h>
#include <signal.h>
#include <sys/klog.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define MON	"dsmil-monitor"

#define SHOW(r) TH_LOG("exit %d\n--- stdout:\n%s--- stderr:\n%s", (r)->status, \
		       (r)->out, (r)->err)

/* The kinds the driver documents as incidents (see dsmil-messages.rst). */
static const char *const incident_kinds[] = {
	"refused-input", "denied", "refused-transition", "device-error",
	"emergency-stop", "smi-timeout", "smi-hang", "smi-abort", "smi-error",
	"smi-faulted", "smi-recovered", "smi-recover-failed", "map-failure",
	"refused-access", "write-mismatch",
};

static struct tt_json *parse_or_die(struct __test_metadata *_metadata,
				    const char *text)
{
	const char *err;
	struct tt_json *j = tt_json_parse(text, &err);

	ASSERT_NE(NULL, j) TH_LOG("bad JSON (%s): %s", err, text);
	return j;
}

/* kinds.<kind> of "dsmil-monitor --once --json" now. */
static long long once_count(struct __test_metadata *_metadata, const char *kind)
{
	struct tt_json *j;
	struct tt_run r;
	long long n;

	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--once", "--json", NULL));
	ASSERT_EQ(0, r.status) { SHOW(&r); }
	j = parse_or_die(_metadata, r.out);
	n = tt_jnum(j, "kinds.%s", kind);
	if (!strcmp(kind, "any"))
		n = tt_jnum(j, "incidents");
	tt_json_free(j);
	tt_run_free(&r);
	return n;
}

static int bad_ioctl(void)
{
	return dsmil_ioc(-1, _IO(DSMIL_IOC_MAGIC, 0x0f), NULL);
}

FIXTURE(mon) {
	unsigned int features;
	/* A sysctl the test changed, and its value before (see sysctl_save()). */
	const char *sysctl;
	char sysctl_old[32];
};

/* Remember @path's value: the teardown writes it back. */
static int sysctl_save(FIXTURE_DATA(mon) *self, const char *path)
{
	int ret = read_text(path, self->sysctl_old, sizeof(self->sysctl_old));

	if (ret <= 0)
		return ret ? ret : -ENODATA;
	self->sysctl = path;
	return 0;
}

FIXTURE_SETUP(mon)
{
	int ret = dsmil_reload(NULL);

	ASSERT_EQ(0, ret) TH_LOG("loading dsmil.ko: %s", strerror(-ret));
	self->features = dsmil_features();
}

FIXTURE_TEARDOWN(mon)
{
	if (self->sysctl)
		EXPECT_EQ(0, write_text(self->sysctl, self->sysctl_old));
	/* The sim's faults, the mapper's knobs, parameters: defaults. */
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* --------------------------------------------------------- command line */

TEST_F(mon, help_and_usage_errors)
{
	static const char *const bad[] = {
		"--bogus", "extra", "--once --warn bogus=1",
		"--once --warn smi-timeout=0", "--once --warn smi-timeout",
		"--once --warn smi-timeout=x", "--once --warn loaded=1",
		"--warn smi-timeout=1", "--once --count 1", "--count 0",
		"--kind nonsense", "--once --crit",
	};
	struct tt_run r;
	unsigned int i;

	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--help", NULL));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "Usage: dsmil-monitor"));
	EXPECT_NE(NULL, strstr(r.out, "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"));
	tt_run_free(&r);
	/* A usage error is UNKNOWN (3) for a Nagios plugin, never OK. */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, tt_sh(&r, MON " %s", bad[i]));
		EXPECT_EQ(3, r.status) {
			TH_LOG("dsmil-monitor %s", bad[i]);
			SHOW(&r);
		}
		EXPECT_NE(0, strlen(r.err)) TH_LOG("dsmil-monitor %s", bad[i]);
		tt_run_free(&r);
	}
}

TEST_F(mon, list_kinds_covers_every_incident_kind)
{
	struct tt_json *j;
	struct tt_run r;
	unsigned int i;
	int k, n;

	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--list-kinds", "--json", NULL));
	ASSERT_EQ(0, r.status);
	j = parse_or_die(_metadata, r.out);
	n = tt_jlen(j, "%s", "");	/* the root */
	ASSERT_LT(0, n);
	for (i = 0; i < ARRAY_SIZE(incident_kinds); i++) {
		bool found = false;

		for (k = 0; k < n; k++) {
			const char *kind = tt_jstr(j, "[%d].kind", k);

			if (!kind || strcmp(kind, incident_kinds[i]))
				continue;
			found = true;
			EXPECT_STREQ("incident", tt_jstr(j, "[%d].class", k));
			EXPECT_EQ(TJ_ARR, tt_jtype(j, "[%d].required", k));
			EXPECT_EQ(TJ_ARR, tt_jtype(j, "[%d].optional", k));
		}
		EXPECT_TRUE(found) TH_LOG("kind %s missing", incident_kinds[i]);
	}
	tt_json_free(j);
	tt_run_free(&r);
}

TEST_F(mon, unreadable_log_is_unknown_3)
{
	struct tt_run r;

	ASSERT_EQ(0, sysctl_save(self, "/proc/sys/kernel/dmesg_restrict"));
	ASSERT_EQ(0, write_text("/proc/sys/kernel/dmesg_restrict", "1"));
	ASSERT_EQ(0, tt_run(&r, TT_USER, MON, "--once", NULL));
	EXPECT_EQ(3, r.status) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.err, "cannot open /dev/kmsg")) { SHOW(&r); }
	tt_run_free(&r);
}

/* A usage error names the option, also inside a bundle ("-Z1"). */
TEST_F(mon, usage_errors_name_the_option)
{
	static const struct {
		const char *args, *msg;
	} cases[] = {
		{ "--json -Z1", "unknown option '-Z'" },
		{ "-1 -jk", "option '-k' needs a value" },
		{ "--once --kind", "option '--kind' needs a value" },
		{ "--json=1", "option '--json' takes no value" },
		{ "--bogus=3", "unknown option '--bogus'" },
	};
	struct tt_run r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, tt_sh(&r, MON " %s", cases[i].args));
		EXPECT_EQ(3, r.status) { SHOW(&r); }
		EXPECT_NE(NULL, strstr(r.err, cases[i].msg)) {
			TH_LOG("dsmil-monitor %s: wanted \"%s\"", cases[i].args,
			       cases[i].msg);
			SHOW(&r);
		}
		tt_run_free(&r);
	}
}

/* Write @text to a fresh file for --input; returns its path. */
static const char *input_file(const char *name, const char *text)
{
	static char path[64];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/tmp/monitor-%s.log", name);
	f = fopen(path, "we");
	if (!f)
		return NULL;
	ok = fputs(text, f) >= 0;
	return fclose(f) || !ok ? NULL : path;
}

#define RI_LINE "dsmil: refused-input: cmd=? nr=0xf pid=1 why=unknown-command errno=-25\n"

/*
 * A threshold list too long for the parser's buffer is refused (exit 3),
 * not cut: cut at 511 bytes, "refused-input=12345" became
 * "refused-input=12" and 13 incidents gave WARNING.
 */
TEST_F(mon, long_threshold_list_is_refused_not_cut)
{
	char spec[600] = "", log[4096] = "";
	const char *in;
	struct tt_run r;
	unsigned int i;

	/* 495 bytes of harmless thresholds, then one across byte 511. */
	for (i = 0; i < 27; i++)
		strcat(spec, "smi-faulted=1000,");
	strcat(spec, "smi-faulted=10000,smi-faulted=10000,");
	ASSERT_EQ(495, strlen(spec));
	strcat(spec, "refused-input=12345");
	for (i = 0; i < 13; i++)
		snprintf(log + strlen(log), sizeof(log) - strlen(log),
			 "4,%u,%u,-;" RI_LINE, i + 1, 1000000 + i);
	in = input_file("long", log);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--input", in, "--once",
			    "--warn", spec, NULL));
	EXPECT_EQ(3, r.status) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.err, "longer than 511 bytes")) { SHOW(&r); }
	tt_run_free(&r);
	/* The same thresholds given apart apply in full: 13 < 12345. */
	spec[494] = '\0';
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--input", in, "--once",
			    "--warn", spec, "--warn", "refused-input=12345", NULL));
	EXPECT_EQ(0, r.status) { SHOW(&r); }
	tt_run_free(&r);
}

/*
 * Only kernel records count: a saved record whose facility does not fit in
 * an int (prio 2^35 + 4) was truncated to facility 0, "the kernel".
 */
TEST_F(mon, input_filter_keeps_a_huge_facility_out)
{
	char log[512];
	struct tt_json *j;
	const char *in;
	struct tt_run r;

	snprintf(log, sizeof(log), "4,1,100,-;" RI_LINE "%llu,2,200,-;" RI_LINE
		 "12,3,300,-;" RI_LINE, (1ULL << 35) + 4);
	in = input_file("prio", log);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--input", in, "--once",
			    "--json", NULL));
	EXPECT_EQ(0, r.status) { SHOW(&r); }
	j = parse_or_die(_metadata, r.out);
	/* The first record only: the other two are not the kernel's. */
	EXPECT_EQ(1, tt_jnum(j, "kinds.refused-input")) { SHOW(&r); }
	tt_json_free(j);
	tt_run_free(&r);
}

/*
 * A timestamp that is no time (a saved log may hold anything) has no wall
 * time: INT64_MAX us overflowed the sum (UBSan) into a year -290251, and
 * UINT64_MAX showed as the boot time.
 */
TEST_F(mon, input_timestamps_beyond_any_date_have_no_time)
{
	char log[512];
	struct tt_json *j;
	const char *in;
	struct tt_run r;
	char *line, *save;
	int n = 0;

	snprintf(log, sizeof(log), "4,1,1000000,-;" RI_LINE
		 "4,2,9223372036854775807,-;" RI_LINE
		 "4,3,18446744073709551615,-;" RI_LINE);
	in = input_file("ts", log);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--input", in, "--json", NULL));
	EXPECT_EQ(0, r.status) { SHOW(&r); }
	for (line = strtok_r(r.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		j = parse_or_die(_metadata, line);
		if (n == 0) {
			const char *t = tt_jstr(j, "time");

			/* 1 s after boot: a real date, 4-digit year. */
			EXPECT_NE(NULL, t) TH_LOG("%s", line);
			if (t)
				EXPECT_EQ('T', t[10]) TH_LOG("%s", line);
		} else {
			EXPECT_EQ(TJ_NULL, tt_jtype(j, "time")) TH_LOG("%s", line);
		}
		tt_json_free(j);
	}
	EXPECT_EQ(3, n);
	tt_run_free(&r);
}

/* ------------------------------------------------------------ --once */

TEST_F(mon, once_status_follows_thresholds)
{
	struct tt_json *j;
	struct tt_run r;
	long long base;
	char warn[64], crit[64], above[64];

	base = once_count(_metadata, "refused-input");
	ASSERT_LE(0, base);
	ASSERT_EQ(-ENOTTY, bad_ioctl());
	ASSERT_EQ(-ENOTTY, bad_ioctl());
	EXPECT_EQ(base + 2, once_count(_metadata, "refused-input"));

	snprintf(warn, sizeof(warn), "refused-input=%lld", base + 2);
	snprintf(crit, sizeof(crit), "refused-input=%lld", base + 2);
	snprintf(above, sizeof(above), "refused-input=%lld", base + 3);

	/* Below every threshold: OK (0). */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--once", "--warn", above, NULL));
	EXPECT_EQ(0, r.status) { SHOW(&r); }
	EXPECT_EQ(0, strncmp(r.out, "DSMIL OK", 8)) { SHOW(&r); }
	tt_run_free(&r);
	/* Reached a warning: 1. */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--once", "--warn", warn,
			    "--crit", above, NULL));
	EXPECT_EQ(1, r.status) { SHOW(&r); }
	EXPECT_EQ(0, strncmp(r.out, "DSMIL WARNING", 13)) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "| refused-input=")) { SHOW(&r); }
	tt_run_free(&r);
	/* Reached a critical one: 2, whatever the warnings say. */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--once", "--warn", warn,
			    "--crit", crit, NULL));
	EXPECT_EQ(2, r.status) { SHOW(&r); }
	EXPECT_EQ(0, strncmp(r.out, "DSMIL CRITICAL", 14)) { SHOW(&r); }
	tt_run_free(&r);
	/* "any" counts every incident; lists are comma-separated. */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--once", "--crit",
			    "smi-faulted=1000,any=1", NULL));
	EXPECT_EQ(2, r.status) { SHOW(&r); }
	tt_run_free(&r);

	/* The JSON summary says the same. */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--once", "--json", "--warn",
			    warn, "--crit", above, NULL));
	EXPECT_EQ(1, r.status);
	j = parse_or_die(_metadata, r.out);
	EXPECT_STREQ("WARNING", tt_jstr(j, "status"));
	EXPECT_EQ(1, tt_jnum(j, "exit_code"));
	EXPECT_EQ(base + 2, tt_jnum(j, "kinds.refused-input"));
	EXPECT_EQ(2, tt_jlen(j, "thresholds"));
	EXPECT_EQ(1, tt_jbool(j, "thresholds[0].reached"));
	EXPECT_EQ(0, tt_jbool(j, "thresholds[1].reached"));
	EXPECT_STREQ("critical", tt_jstr(j, "thresholds[1].level"));
	/* Other tests of this boot may have logged load errors: a count. */
	EXPECT_EQ(TJ_NUM, tt_jtype(j, "unknown"));
	EXPECT_EQ(TJ_NUM, tt_jtype(j, "overruns"));
	tt_json_free(j);
	tt_run_free(&r);
}

/* ---------------------------------------------------------- following */

struct reader {
	int fd;
	char buf[65536];
	size_t len;
};

/* Start the monitor with its stdout on a pipe. */
static pid_t spawn(struct reader *rd, char *const argv[])
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	memset(rd, 0, sizeof(*rd));
	rd->fd = p[0];
	return pid;
}

/* Next line (without '\n') within @ms, or NULL. */
static char *next_line(struct reader *rd, int ms)
{
	static char line[65536];
	uint64_t end = now_ms() + ms;

	for (;;) {
		char *nl = memchr(rd->buf, '\n', rd->len);
		struct pollfd p = { .fd = rd->fd, .events = POLLIN };
		int left = end - now_ms();
		ssize_t n;

		if (nl) {
			size_t l = nl - rd->buf;

			memcpy(line, rd->buf, l);
			line[l] = '\0';
			memmove(rd->buf, nl + 1, rd->len - l - 1);
			rd->len -= l + 1;
			return line;
		}
		if (left <= 0 || rd->len == sizeof(rd->buf))
			return NULL;
		if (poll(&p, 1, left) <= 0)
			return NULL;
		n = read(rd->fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len);
		if (n <= 0)
			return NULL;
		rd->len += n;
	}
}

/*
 * Read JSON lines until one of type @type and kind @kind (NULL: any) with a
 * seq after @after.  Returns it (caller frees) or NULL after @ms.
 */
static struct tt_json *wait_for(struct reader *rd, const char *type,
				const char *kind, long long after, int ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		char *l = next_line(rd, end - now_ms());
		struct tt_json *j;

		if (!l)
			return NULL;
		j = tt_json_parse(l, NULL);
		if (!j)
			continue;
		if ((!type || (tt_jstr(j, "type") && !strcmp(tt_jstr(j, "type"), type))) &&
		    (!kind || (tt_jstr(j, "kind") && !strcmp(tt_jstr(j, "kind"), kind))) &&
		    (tt_jtype(j, "seq") != TJ_NUM || (long long)tt_jnum(j, "seq") > after))
			return j;
		tt_json_free(j);
	}
	return NULL;
}

static int stop_child(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST_F_TIMEOUT(mon, follow_prints_incidents_as_they_happen, 90)
{
	char *argv[] = { MON, "--json", "--all", NULL };
	long long start = kmsg_last_seq();
	struct tt_json *j;
	struct reader rd;
	struct tt_run r;
	pid_t pid;
	int fd;

	ASSERT_LE(0, start);
	pid = spawn(&rd, argv);
	ASSERT_LT(0, pid);

	/* An incident after the monitor started: it prints it, still running. */
	ASSERT_EQ(-ENOTTY, bad_ioctl());
	j = wait_for(&rd, "incident", "refused-input", start, 30000);
	ASSERT_NE(NULL, j) TH_LOG("the live refused-input line never came");
	EXPECT_STREQ("-25", tt_jstr(j, "fields.errno"));
	EXPECT_STREQ("unknown-command", tt_jstr(j, "fields.why"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "problem"));
	EXPECT_EQ(TJ_STR, tt_jtype(j, "time"));
	EXPECT_STREQ("warning", tt_jstr(j, "level"));
	/* dev_printk(): the driver's name, then the platform device's. */
	EXPECT_EQ(0, strncmp(tt_jstr(j, "message"), "dsmil dsmil: refused-input: ", 28))
		TH_LOG("message: %s", tt_jstr(j, "message"));
	start = tt_jnum(j, "seq");
	tt_json_free(j);
	EXPECT_EQ(0, waitpid(pid, NULL, WNOHANG));

	if (self->features & DSMIL_FEAT_DEVICES) {
		fd = dsmil_open();
		ASSERT_LE(0, fd);
		/* OFFLINE -> ACTIVE is not in the table. */
		EXPECT_EQ(-EINVAL, dev_transition(fd, 0, DSMIL_DEV_ACTIVE, NULL));
		close(fd);
		j = wait_for(&rd, "incident", "refused-transition", start, 30000);
		ASSERT_NE(NULL, j);
		EXPECT_STREQ("DSMIL0D0", tt_jstr(j, "fields.dev"));
		EXPECT_STREQ("illegal", tt_jstr(j, "fields.reason"));
		tt_json_free(j);
	}
	/* SIGTERM ends a follower cleanly. */
	EXPECT_EQ(0, stop_child(pid));
	close(rd.fd);

	/* Text mode, with a kind filter and a count: exits by itself. */
	if (self->features & DSMIL_FEAT_DEVICES) {
		struct dsmil_group_stop gs = { .group = 5 };

		fd = dsmil_open();
		ASSERT_LE(0, fd);
		char count[32], mine[64], *last;

		ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_GROUP_ESTOP, &gs));
		close(fd);
		/* The log since boot holds n of them: ours is the last. */
		snprintf(count, sizeof(count), "%lld",
			 once_count(_metadata, "emergency-stop"));
		ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--all", "--kind",
				    "emergency-stop", "--count", count, NULL));
		EXPECT_EQ(0, r.status) { SHOW(&r); }
		last = r.out + strlen(r.out);
		while (last > r.out && last[-1] == '\n')
			*--last = '\0';
		last = strrchr(r.out, '\n') ? strrchr(r.out, '\n') + 1 : r.out;
		snprintf(mine, sizeof(mine), " pid=%d ", getpid());
		EXPECT_NE(NULL, strstr(last, "] emergency-stop: group=5 ")) { SHOW(&r); }
		EXPECT_NE(NULL, strstr(last, mine)) { SHOW(&r); }
		tt_run_free(&r);
	}
}

TEST_F_TIMEOUT(mon, ring_buffer_overrun_is_reported_and_survived, 120)
{
	char *argv[] = { MON, "--json", "--all", NULL };
	long long start = kmsg_last_seq(), lost;
	struct tt_json *j;
	struct reader rd;
	int size, i, kfd, n;
	char msg[1024];
	pid_t pid;

	size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	ASSERT_LT(0, size);
	ASSERT_EQ(0, sysctl_save(self, "/proc/sys/kernel/printk_devkmsg"));
	/* Userspace writes to /dev/kmsg are rate-limited unless "on". */
	if (write_text("/proc/sys/kernel/printk_devkmsg", "on\n"))
		SKIP(return, "printk_devkmsg is locked (set on the command line)");

	pid = spawn(&rd, argv);
	ASSERT_LT(0, pid);
	/* Wait until it has caught up with the log. */
	ASSERT_EQ(-ENOTTY, bad_ioctl());
	j = wait_for(&rd, "incident", "refused-input", start, 30000);
	ASSERT_NE(NULL, j);
	start = tt_jnum(j, "seq");
	tt_json_free(j);

	/* Stop it and overwrite the whole ring, twice over. */
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	kfd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, kfd);
	memset(msg, 'x', sizeof(msg));
	/* Level 7 (debug): kept off the serial console. */
	memcpy(msg, "<7>monitor_test filler ", 23);
	n = 2 * size / (int)(sizeof(msg) - 1) + 64;
	for (i = 0; i < n; i++)
		ASSERT_EQ(sizeof(msg) - 1, write(kfd, msg, sizeof(msg) - 1));
	close(kfd);
	ASSERT_EQ(-ENOTTY, bad_ioctl());
	ASSERT_EQ(0, kill(pid, SIGCONT));

	/* It says the log overran it, how much was lost, and goes on. */
	j = wait_for(&rd, "overrun", NULL, -1, 30000);
	ASSERT_NE(NULL, j) TH_LOG("no overrun report");
	lost = tt_jnum(j, "lost");
	EXPECT_LT(0, lost);
	EXPECT_LT(start, (long long)tt_jnum(j, "next_seq"));
	tt_json_free(j);
	j = wait_for(&rd, "incident", "refused-input", start, 30000);
	ASSERT_NE(NULL, j) TH_LOG("the incident after the overrun never came");
	tt_json_free(j);
	EXPECT_EQ(0, stop_child(pid));
	close(rd.fd);
}

/* ------------------------------------------------- every kind, no drift */

struct provoke_ctx {
	struct __test_metadata *md;
	unsigned int features;
	char why[160];
};

typedef int (*provoke_fn)(struct provoke_ctx *pc);

#define NEED_FEAT(f, name) do {						\
	if (!(pc->features & (f))) {					\
		snprintf(pc->why, sizeof(pc->why),			\
			 "the driver has no " name " ioctls yet");	\
		return 1;						\
	}								\
} while (0)

#define NEED_FILE(path) do {						\
	if (!file_exists(path)) {						\
		snprintf(pc->why, sizeof(pc->why), "no %s (part not landed)", path); \
		return 1;						\
	}								\
} while (0)

static int p_refused_input(struct provoke_ctx *pc)
{
	return bad_ioctl() == -ENOTTY ? 0 : -1;
}

static int p_denied(struct provoke_ctx *pc)
{
	int st;
	pid_t pid;

	NEED_FEAT(DSMIL_FEAT_DEVICES, "device");
	pid = fork();
	if (pid == 0) {
		struct dsmil_group_stop gs = { .group = 5 };
		int fd;

		if (drop_cap(CAP_SYS_ADMIN))
			_exit(2);
		fd = dsmil_open();
		_exit(fd >= 0 && ioctl(fd, DSMIL_IOC_GROUP_ESTOP, &gs) &&
		      errno == EPERM ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

static int p_refused_transition(struct provoke_ctx *pc)
{
	int fd, ret;

	NEED_FEAT(DSMIL_FEAT_DEVICES, "device");
	fd = dsmil_open();
	ret = dev_transition(fd, 0, DSMIL_DEV_ACTIVE, NULL);
	close(fd);
	return ret == -EINVAL ? 0 : -1;
}

static int p_emergency_stop(struct provoke_ctx *pc)
{
	struct dsmil_group_stop gs = { .group = 4 };
	int fd, ret;

	NEED_FEAT(DSMIL_FEAT_DEVICES, "device");
	fd = dsmil_open();
	ret = ioctl(fd, DSMIL_IOC_GROUP_ESTOP, &gs);
	close(fd);
	return ret;
}

/* DSMIL0D0 ACTIVE, the sim in @fault, one token read: its errno. */
static int token_read_with_fault(struct provoke_ctx *pc, const char *fault)
{
	struct dsmil_token_req tr;
	int fd, ret;

	if (dev_bring_up(-1, 0, true))
		return -EPROTO;
	if (sim_knob_write("fault", "%s", fault))
		return -EPROTO;
	fd = dsmil_open();
	memset(&tr, 0, sizeof(tr));
	tr.position = DSMIL_TOKEN_POWER;
	ret = ioctl(fd, DSMIL_IOC_TOKEN_READ, &tr) ? -errno : 0;
	close(fd);
	sim_knob_write("fault", "none");
	return ret;
}

#define NEED_SIM() do {							\
	NEED_FEAT(DSMIL_FEAT_SMI, "SMI");				\
	NEED_FEAT(DSMIL_FEAT_DEVICES, "device");			\
	NEED_FILE(DSMIL_SIM_DIR "/fault");					\
} while (0)

static int p_device_error(struct provoke_ctx *pc)
{
	NEED_SIM();
	if (token_read_with_fault(pc, "hang") != -ETIMEDOUT)
		return -1;
	return dev_state(-1, 0) == DSMIL_DEV_ERROR ? 0 : -1;
}

static int p_smi_timeout(struct provoke_ctx *pc)
{
	NEED_SIM();
	/* Busy with a changing status: only the deadline ends it. */
	return token_read_with_fault(pc, "stuck-busy") == -ETIMEDOUT ? 0 : -1;
}

static int p_smi_hang(struct provoke_ctx *pc)
{
	NEED_SIM();
	/*
	 * A hang is a status seen unchanged for smi_hang_ms; under the sim's
	 * 50 ms default timeout, a guest descheduled for longer than that
	 * before its first poll sees the deadline first and reports a
	 * timeout (seen in CI with three guests on two cores).  A deadline
	 * far beyond the hang threshold leaves only the hang to end it.
	 */
	if (dsmil_reload("smi_timeout_ms=1000 smi_hang_ms=30"))
		return -1;
	return token_read_with_fault(pc, "hang") == -ETIMEDOUT ? 0 : -1;
}

static int p_smi_abort(struct provoke_ctx *pc)
{
	NEED_SIM();
	/* A hung request is aborted (result=ok). */
	return token_read_with_fault(pc, "hang") == -ETIMEDOUT ? 0 : -1;
}

static int p_smi_error(struct provoke_ctx *pc)
{
	NEED_SIM();
	return token_read_with_fault(pc, "error") == -EIO ? 0 : -1;
}

/* Reload with a fault limit of 1 and fault once: FAULTED. */
static int make_faulted(struct provoke_ctx *pc)
{
	if (dsmil_reload("smi_fault_limit=1"))
		return -1;
	return token_read_with_fault(pc, "hang") == -ETIMEDOUT ? 0 : -1;
}

static int p_smi_faulted(struct provoke_ctx *pc)
{
	NEED_SIM();
	return make_faulted(pc);
}

static int p_smi_recovered(struct provoke_ctx *pc)
{
	int fd, ret;

	NEED_SIM();
	if (make_faulted(pc))
		return -1;
	fd = dsmil_open();
	ret = ioctl(fd, DSMIL_IOC_SMI_RECOVER);
	close(fd);
	return ret;
}

static int p_smi_recover_failed(struct provoke_ctx *pc)
{
	int fd, ret;

	NEED_SIM();
	NEED_FILE(DSMIL_SIM_DIR "/reset_fails");
	if (make_faulted(pc) || sim_knob_write("reset_fails", "1"))
		return -1;
	fd = dsmil_open();
	ret = ioctl(fd, DSMIL_IOC_SMI_RECOVER) ? -errno : 0;
	close(fd);
	return ret == -EIO ? 0 : -1;
}

static int p_map_failure(struct provoke_ctx *pc)
{
	struct dsmil_mmio_rw rw;
	int fd, ret;

	NEED_FEAT(DSMIL_FEAT_MMIO, "MMIO");
	NEED_FILE(DSMIL_MMIO_DIR "/fail_next_maps");
	if (mmio_knob_write("fail_next_maps", "1"))
		return -1;
	fd = dsmil_open();
	memset(&rw, 0, sizeof(rw));
	rw.offset = 0x3000000;
	rw.width = 4;
	ret = ioctl(fd, DSMIL_IOC_MMIO_READ, &rw) ? -errno : 0;
	close(fd);
	return ret == -EIO ? 0 : -1;
}

static int p_refused_access(struct provoke_ctx *pc)
{
	struct dsmil_mmio_rw rw;
	int fd, ret;

	NEED_FEAT(DSMIL_FEAT_MMIO, "MMIO");
	fd = dsmil_open();
	memset(&rw, 0, sizeof(rw));
	rw.offset = DSMIL_DEFAULT_REGION_SIZE;	/* one past the end */
	rw.width = 4;
	ret = ioctl(fd, DSMIL_IOC_MMIO_READ, &rw) ? -errno : 0;
	close(fd);
	return ret == -ERANGE ? 0 : -1;
}

/* A token write the simulator acknowledges and ignores (drop_writes). */
static int p_write_mismatch(struct provoke_ctx *pc)
{
	struct dsmil_token_req tr;
	int fd, ret;

	NEED_SIM();
	NEED_FILE(DSMIL_SIM_DIR "/drop_writes");
	if (dsmil_reload("allow_writes=1") || dev_bring_up(-1, 0, true) ||
	    sim_knob_write("drop_writes", "1"))
		return -1;
	fd = dsmil_open();
	memset(&tr, 0, sizeof(tr));
	tr.position = DSMIL_TOKEN_POWER;
	tr.value = 0x1234;
	ret = ioctl(fd, DSMIL_IOC_TOKEN_WRITE, &tr) ? -errno : 0;
	close(fd);
	return ret == -EIO ? 0 : -1;
}

/* The same fresh module per test, one variant per incident kind. */
FIXTURE(kinds) {
	unsigned int features;
};

FIXTURE_SETUP(kinds)
{
	int ret = dsmil_reload(NULL);

	ASSERT_EQ(0, ret) TH_LOG("loading dsmil.ko: %s", strerror(-ret));
	self->features = dsmil_features();
}

FIXTURE_TEARDOWN(kinds)
{
	/* The sim's faults, the mapper's knobs, parameters: defaults. */
	EXPECT_EQ(0, dsmil_restore_defaults());
}

FIXTURE_VARIANT(kinds) {
	const char *kind;
	provoke_fn provoke;
};

#define KIND_VARIANT(name, str, fn)					\
	FIXTURE_VARIANT_ADD(kinds, name) { .kind = str, .provoke = fn }

KIND_VARIANT(refused_input, "refused-input", p_refused_input);
KIND_VARIANT(denied, "denied", p_denied);
KIND_VARIANT(refused_transition, "refused-transition", p_refused_transition);
KIND_VARIANT(device_error, "device-error", p_device_error);
KIND_VARIANT(emergency_stop, "emergency-stop", p_emergency_stop);
KIND_VARIANT(smi_timeout, "smi-timeout", p_smi_timeout);
KIND_VARIANT(smi_hang, "smi-hang", p_smi_hang);
KIND_VARIANT(smi_abort, "smi-abort", p_smi_abort);
KIND_VARIANT(smi_error, "smi-error", p_smi_error);
KIND_VARIANT(smi_faulted, "smi-faulted", p_smi_faulted);
KIND_VARIANT(smi_recovered, "smi-recovered", p_smi_recovered);
KIND_VARIANT(smi_recover_failed, "smi-recover-failed", p_smi_recover_failed);
KIND_VARIANT(map_failure, "map-failure", p_map_failure);
KIND_VARIANT(refused_access, "refused-access", p_refused_access);
KIND_VARIANT(write_mismatch, "write-mismatch", p_write_mismatch);

/*
 * Provoke the variant's kind with the real module, collect the kernel log
 * records of that window straight from /dev/kmsg, and run the monitor over
 * them: it must see the kind, with no line of unknown kind, no malformed
 * line and no dsmil line skipped.  This is the format-drift check.
 */
TEST_F_TIMEOUT(kinds, seen_and_every_line_is_known, 60)
{
	static const char path[] = "/tmp/monitor-window.kmsg";
	struct provoke_ctx pc = { .md = _metadata, .features = self->features };
	int kfd, ret, dsmil_lines = 0, seen = 0, lines = 0;
	long long live_before;
	struct tt_run r;
	char *line, *save;
	FILE *f;

	live_before = once_count(_metadata, variant->kind);
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);
	ret = variant->provoke(&pc);
	if (ret == 1) {
		close(kfd);
		SKIP(return, "%s: %s", variant->kind, pc.why);
	}
	ASSERT_EQ(0, ret) TH_LOG("provoking %s failed", variant->kind);
	/* Lines are printed synchronously; give the log a moment anyway. */
	usleep(100000);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	ASSERT_LE(0, kmsg_collect(kfd, f, &dsmil_lines));
	fclose(f);
	close(kfd);

	ASSERT_EQ(0, tt_run(&r, TT_ROOT, MON, "--json", "--input", path, NULL));
	ASSERT_EQ(0, r.status) { SHOW(&r); }
	for (line = strtok_r(r.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct tt_json *j = parse_or_die(_metadata, line);
		const char *type = tt_jstr(j, "type");

		lines++;
		ASSERT_NE(NULL, type);
		EXPECT_STRNE("unknown", type) TH_LOG("drift: %s", line);
		EXPECT_EQ(TJ_NULL, tt_jtype(j, "problem")) TH_LOG("drift: %s", line);
		if (tt_jstr(j, "kind") && !strcmp(tt_jstr(j, "kind"), variant->kind)) {
			seen++;
			EXPECT_STREQ("incident", type);
		}
		tt_json_free(j);
	}
	/* Every kernel "dsmil[ dsmil]: " record of the window went through. */
	EXPECT_EQ(dsmil_lines, lines);
	EXPECT_LE(1, seen) TH_LOG("no %s line in the window", variant->kind);
	tt_run_free(&r);
	unlink(path);

	/* And the live --once summary counted it. */
	EXPECT_LE(live_before + 1, once_count(_metadata, variant->kind));
}

TEST_HARNESS_MAIN
