// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of dsmilctl: every subcommand through the real binary against
 * the real module.  Each test runs the tool with fork/exec, parses its JSON
 * with a strict parser, compares it with what the ioctls say, and checks the
 * exit code of each failure class: usage (2), permission (3), device/state
 * refused (4), hardware timeout/fault (5), driver not loaded (6).
 *
 * Every test starts from a freshly loaded module (default parameters), so
 * device states, counters and simulator faults never leak between tests.
 * Commands whose driver part is missing (ENOTTY, feature bit off, debugfs
 * knob absent) are skipped with the reason, never passed.
 */
/*
 * The harness compares whatever types it is given, and its setjmp() wrapper
 * trips -Wclobbered when a test body is inlined into it.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wclobbered"

#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define CTL	"dsmilctl"

/* Print what the tool said when an expectation fails. */
#define SHOW(r) TH_LOG("exit %d\n--- stdout:\n%s--- stderr:\n%s", (r)->status, \
		       (r)->out, (r)->err)

#define EXPECT_EXIT(r, code) do {					\
	EXPECT_EQ((code), (r)->status) { SHOW(r); }			\
} while (0)

#define ASSERT_EXIT(r, code) do {					\
	ASSERT_EQ((code), (r)->status) { SHOW(r); }			\
} while (0)

static struct tt_json *must_parse(struct __test_metadata *_metadata,
				  struct tt_run *r)
{
	const char *err;
	struct tt_json *j = tt_json_parse(r->out, &err);

	ASSERT_NE(NULL, j) {
		TH_LOG("not one JSON document (%s)", err);
		SHOW(r);
	}
	return j;
}

/* stderr must say something in words, and never only a number. */
static void expect_words(struct __test_metadata *_metadata, struct tt_run *r,
			 const char *must)
{
	EXPECT_NE(0, strlen(r->err)) { SHOW(r); }
	EXPECT_NE(NULL, strstr(r->err, "dsmilctl: ")) { SHOW(r); }
	if (must)
		EXPECT_NE(NULL, strstr(r->err, must)) {
			TH_LOG("stderr lacks '%s'", must);
			SHOW(r);
		}
}

FIXTURE(ctl) {
	unsigned int features;
};

FIXTURE_SETUP(ctl)
{
	int ret = dsmil_reload(NULL);

	ASSERT_EQ(0, ret) TH_LOG("loading dsmil.ko: %s", strerror(-ret));
	self->features = dsmil_features();
}

FIXTURE_TEARDOWN(ctl)
{
	/* allow_writes, the sim's faults, the mapper's knobs, parameters. */
	EXPECT_EQ(0, dsmil_restore_defaults());
}

#define NEED(feat, what) do {						\
	if (!(self->features & (feat)))					\
		SKIP(return, "the driver has no " what " ioctls yet (feature bit off)"); \
} while (0)

/* ------------------------------------------------------------------ help */

static const char *const help_paths[] = {
	"info", "devices", "device", "group", "audit", "token", "token read",
	"token write", "smi", "smi status", "smi recover", "smi result", "mmio", "mmio read",
	"mmio write", "mmio dump", "chunks", "stats", "metrics",
};

TEST_F(ctl, help_at_every_level)
{
	struct tt_run r;
	unsigned int i, code;
	char want[64];

	/* Top level, three spellings; help never needs the driver. */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, CTL, "--help", NULL));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "Usage: dsmilctl"));
	/* The exit codes are documented in --help. */
	for (code = 0; code <= 6; code++) {
		snprintf(want, sizeof(want), "\n  %u  ", code);
		EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("exit code %u", code);
	}
	EXPECT_NE(NULL, strstr(r.out, "driver not loaded"));
	EXPECT_STREQ("", r.err);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT, CTL, "-h", "--node", "/nonexistent", NULL));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "Exit status"));
	tt_run_free(&r);

	for (i = 0; i < ARRAY_SIZE(help_paths); i++) {
		char cmd[128];

		snprintf(want, sizeof(want), "Usage: dsmilctl %s", help_paths[i]);
		/* "CMD --help" ... */
		ASSERT_EQ(0, tt_sh(&r, CTL " --node /nonexistent %s --help",
				   help_paths[i]));
		EXPECT_EXIT(&r, 0);
		EXPECT_NE(NULL, strstr(r.out, want)) { SHOW(&r); }
		EXPECT_STREQ("", r.err);
		tt_run_free(&r);
		/* ... and "help CMD" say the same. */
		snprintf(cmd, sizeof(cmd), CTL " help %s", help_paths[i]);
		ASSERT_EQ(0, tt_sh(&r, "%s", cmd));
		EXPECT_EXIT(&r, 0);
		EXPECT_NE(NULL, strstr(r.out, want)) { SHOW(&r); }
		tt_run_free(&r);
	}
	/* -h after arguments: the help of the deepest command named. */
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power -h"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "Usage: dsmilctl token read"));
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " --version"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "ABI"));
	tt_run_free(&r);
}

/* ----------------------------------------------------------------- usage */

/* Each must exit 2 and never send a bad argument to the driver. */
static const char *const usage_cases[] = {
	"",				/* no command */
	"frobnicate",
	"--bogus info",
	"info extra",
	"stats --width 4",		/* option of another command */
	"devices --group",		/* missing value */
	"devices --group 6",
	"devices --group x",
	"device",
	"device 0",
	"device 72 activate",
	"device 0x48 lock",
	"device DSMIL6D0 lock",
	"device DSMIL0DC lock",
	"device DSMIL0D lock",
	"device 6:0 lock",
	"device 0:12 lock",
	"device -1 lock",
	"device 0 explode",
	"group 6 emergency-stop",
	"group 0 stop",
	"group 0",
	"audit --since abc",
	"audit --since -1",
	"audit --writes extra",
	"audit --writes --width 4",
	"stats --writes",
	"token",
	"token peek 0 power",
	"token read 0 voltage",
	"token read 6 power",
	"token read 0",
	"token write 0 power",
	"token write 0 power 0x100000000",
	"token write 0 power 12abc",
	"smi",
	"smi reboot",
	"smi status now",
	"smi result",
	"smi result 0",
	"smi result 12x",
	"smi result 1 2",
	"mmio",
	"mmio poke 0",
	"mmio read",
	"mmio read 0x3 --width 2",
	"mmio read 0 --width 3",
	"mmio read 0 --width 16",
	"mmio read 0x1001 --width 4 --device 0",
	"mmio read 0x1000 --device 0",		/* past the 4 KiB window */
	"mmio read 0 --device DSMIL9D0",
	"mmio read 0x16800000",			/* one past 360 MiB */
	"mmio read 0xfffffffffffffff8 --width 8",
	"mmio write 0 0x100 --width 1",
	"mmio write 0 0x10000 --width 2",
	"mmio write 0 0x100000000",
	"mmio write 0",
	"mmio dump 0",
	"mmio dump 0 0",
	"mmio dump 0 1k --json",		/* --json needs -o */
	"mmio dump 0x167ff000 8K",		/* runs past the end */
	"mmio dump 0 16x",
	"chunks extra",
};

TEST_F(ctl, usage_errors_exit_2_before_any_ioctl)
{
	struct dsmil_stats before, after;
	struct tt_run r;
	unsigned int i;

	ASSERT_EQ(0, dsmil_stats(-1, &before));
	for (i = 0; i < ARRAY_SIZE(usage_cases); i++) {
		ASSERT_EQ(0, tt_sh(&r, CTL " %s", usage_cases[i]));
		EXPECT_EQ(2, r.status) {
			TH_LOG("'dsmilctl %s'", usage_cases[i]);
			SHOW(&r);
		}
		EXPECT_NE(NULL, strstr(r.err, "Usage: dsmilctl")) {
			TH_LOG("'dsmilctl %s'", usage_cases[i]);
			SHOW(&r);
		}
		EXPECT_STREQ("", r.out) TH_LOG("'dsmilctl %s'", usage_cases[i]);
		tt_run_free(&r);
	}
	ASSERT_EQ(0, dsmil_stats(-1, &after));
	/*
	 * Nothing reached the driver but INFO (the region's size, read for
	 * the range checks): no refused input, no denial, no transition.
	 */
	EXPECT_EQ(before.bad_input, after.bad_input);
	EXPECT_EQ(before.denied, after.denied);
	EXPECT_EQ(before.transitions, after.transitions);
}

/*
 * A usage error names the option as written, also inside a bundle of short
 * options, where argv[optind - 1] is an earlier word (getopt has not moved
 * past "-Zv" when it refuses the Z).
 */
TEST_F(ctl, usage_errors_name_the_option)
{
	static const struct {
		const char *args, *msg;
	} cases[] = {
		{ "devices --json -Zv", "unknown option '-Z'" },
		{ "info -vg 1", "option '-v' does not apply here" },
		{ "info --group=1", "option '--group' does not apply here" },
		{ "devices --verbose=1", "option '--verbose' takes no value" },
		{ "devices --bogus=1", "unknown option '--bogus'" },
		{ "devices -g", "option '-g' needs a value" },
		{ "devices --group", "option '--group' needs a value" },
	};
	struct tt_run r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, tt_sh(&r, CTL " %s", cases[i].args));
		EXPECT_EQ(2, r.status) {
			TH_LOG("'dsmilctl %s'", cases[i].args);
			SHOW(&r);
		}
		EXPECT_NE(NULL, strstr(r.err, cases[i].msg)) {
			TH_LOG("'dsmilctl %s': wanted \"%s\"", cases[i].args,
			       cases[i].msg);
			SHOW(&r);
		}
		tt_run_free(&r);
	}
}

/* ------------------------------------------------------------------ info */

static const struct {
	unsigned int bit;
	const char *name;
} feature_names[] = {
	{ DSMIL_FEAT_DEVICES, "devices" }, { DSMIL_FEAT_SMI, "smi" },
	{ DSMIL_FEAT_MMIO, "mmio" }, { DSMIL_FEAT_WRITES, "writes" },
	{ DSMIL_FEAT_LOCKDOWN, "lockdown" },
	{ DSMIL_FEAT_WRITE_FENCE, "write-fence" },
	{ DSMIL_FEAT_ASYNC, "async" },
};

TEST_F(ctl, info_text_and_json_match_the_ioctl)
{
	struct dsmil_info info;
	struct tt_json *j;
	struct tt_run r;
	unsigned int i, k, seen = 0;
	int fd;

	fd = dsmil_open();
	ASSERT_LE(0, fd);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_INFO, &info));
	close(fd);

	ASSERT_EQ(0, tt_sh(&r, CTL " info"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "ABI 1"));
	EXPECT_NE(NULL, strstr(r.out, (char *)info.smi_backend));
	EXPECT_NE(NULL, strstr(r.out, "72 (6 groups x 12)"));
	tt_run_free(&r);

	/* --json after the command works as well as before it. */
	ASSERT_EQ(0, tt_sh(&r, CTL " info --json"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(info.abi_version, tt_jnum(j, "abi_version"));
	EXPECT_EQ(DSMIL_ABI_VERSION, tt_jnum(j, "tool_abi_version"));
	EXPECT_EQ(info.num_groups, tt_jnum(j, "num_groups"));
	EXPECT_EQ(info.devs_per_group, tt_jnum(j, "devs_per_group"));
	EXPECT_EQ(info.num_devices, tt_jnum(j, "num_devices"));
	EXPECT_EQ(info.region_base, tt_jnum(j, "region_base"));
	EXPECT_EQ(info.region_size, tt_jnum(j, "region_size"));
	EXPECT_EQ(info.num_chunks, tt_jnum(j, "num_chunks"));
	EXPECT_EQ(info.chunk_size, tt_jnum(j, "chunk_size"));
	EXPECT_EQ(info.max_resident, tt_jnum(j, "max_resident"));
	ASSERT_NE(NULL, tt_jstr(j, "smi_backend"));
	EXPECT_STREQ((char *)info.smi_backend, tt_jstr(j, "smi_backend"));
	EXPECT_STREQ((char *)info.mmio_backend, tt_jstr(j, "mmio_backend"));
	/* features: exactly the bits set, by name. */
	ASSERT_EQ(TJ_ARR, tt_jtype(j, "features"));
	for (i = 0; i < (unsigned int)tt_jlen(j, "features"); i++) {
		const char *f = tt_jstr(j, "features[%u]", i);

		ASSERT_NE(NULL, f);
		for (k = 0; k < ARRAY_SIZE(feature_names); k++)
			if (!strcmp(f, feature_names[k].name))
				seen |= feature_names[k].bit;
	}
	EXPECT_EQ(info.features, seen);
	tt_json_free(j);
	tt_run_free(&r);
}

TEST_F(ctl, stats_json_counts_what_happened)
{
	static const char reasons[][16] = {
		"illegal", "dependency", "dependent", "quarantined",
		"verify_failed", "smi_fault", "emergency_stop", "unload",
		"state", "bad_arg", "resume",
	};
	struct dsmil_stats before, after;
	struct tt_json *j;
	struct tt_run r;
	unsigned int i;
	int fd;

	/* Three unknown commands: bad_input must grow by exactly 3. */
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dsmil_stats(-1, &before));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-1, ioctl(fd, _IO(DSMIL_IOC_MAGIC, 0x0f)));
	close(fd);

	ASSERT_EQ(0, tt_sh(&r, CTL " --json stats"));
	ASSERT_EXIT(&r, 0);
	ASSERT_EQ(0, dsmil_stats(-1, &after));
	j = must_parse(_metadata, &r);
	EXPECT_EQ(before.bad_input + 3, tt_jnum(j, "bad_input"));
	EXPECT_EQ(after.bad_input, tt_jnum(j, "bad_input"));
	/* ioctls: ours (3 + stats) and the tool's own STATS call. */
	EXPECT_LT(before.ioctls + 3, tt_jnum(j, "ioctls"));
	EXPECT_GT(after.ioctls, tt_jnum(j, "ioctls"));
	EXPECT_EQ(after.denied, tt_jnum(j, "denied"));
	EXPECT_EQ(after.transitions, tt_jnum(j, "transitions"));
	EXPECT_EQ(ARRAY_SIZE(reasons), (unsigned int)tt_jlen(j, "refusals"));
	for (i = 0; i < ARRAY_SIZE(reasons); i++)
		EXPECT_EQ(after.refusals[i + 1], tt_jnum(j, "refusals.%s", reasons[i]))
			TH_LOG("refusals.%s", reasons[i]);
	tt_json_free(j);
	tt_run_free(&r);

	ASSERT_EQ(0, tt_sh(&r, CTL " stats"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "refused for bad input"));
	EXPECT_NE(NULL, strstr(r.out, "dependency"));
	tt_run_free(&r);
}

/* ------------------------------------------------- failure classes 3, 6 */

TEST_F(ctl, driver_not_loaded_exits_6)
{
	struct tt_json *j;
	struct tt_run r;

	ASSERT_EQ(0, dsmil_unload_wait(5000));
	ASSERT_EQ(0, tt_sh(&r, CTL " info"));
	EXPECT_EXIT(&r, 6);
	expect_words(_metadata, &r, "driver not loaded");
	tt_run_free(&r);

	ASSERT_EQ(0, tt_sh(&r, CTL " --json devices"));
	EXPECT_EXIT(&r, 6);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(6, tt_jnum(j, "error.exit_code"));
	EXPECT_STREQ("ENOENT", tt_jstr(j, "error.errno"));
	tt_json_free(j);
	tt_run_free(&r);

	/* Usage errors still come first. */
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 9 power"));
	EXPECT_EXIT(&r, 2);
	tt_run_free(&r);
	ASSERT_EQ(0, dsmil_reload(NULL));
}

TEST_F(ctl, unprivileged_user_is_refused_with_3)
{
	static const char *const cmds[][6] = {
		{ CTL, "info", NULL },
		{ CTL, "stats", NULL },
		{ CTL, "devices", NULL },
		{ CTL, "device", "DSMIL0D0", "activate", NULL },
		{ CTL, "token", "read", "0", "power", NULL },
		{ CTL, "smi", "status", NULL },
		{ CTL, "chunks", NULL },
		{ CTL, "--json", "info", NULL },
	};
	struct dsmil_stats before, after;
	struct tt_run r;
	unsigned int i;

	ASSERT_EQ(0, dsmil_stats(-1, &before));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		ASSERT_EQ(0, tt_runv(&r, TT_USER, (char *const *)cmds[i]));
		EXPECT_EQ(3, r.status) {
			TH_LOG("as uid 1000: %s %s", cmds[i][1], cmds[i][2] ?: "");
			SHOW(&r);
		}
		expect_words(_metadata, &r, "Permission denied (EACCES)");
		expect_words(_metadata, &r, "permission refused");
		if (!strcmp(cmds[i][1], "--json")) {
			struct tt_json *j = must_parse(_metadata, &r);

			EXPECT_EQ(3, tt_jnum(j, "error.exit_code"));
			EXPECT_STREQ("EACCES", tt_jstr(j, "error.errno"));
			tt_json_free(j);
		}
		tt_run_free(&r);
	}
	/* The node's mode refused them: the driver saw no call at all. */
	ASSERT_EQ(0, dsmil_stats(-1, &after));
	EXPECT_EQ(before.ioctls + 1, after.ioctls);
}

TEST_F(ctl, root_without_capabilities_is_refused_with_3)
{
	struct dsmil_stats before, after;
	struct tt_run r;

	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, dsmil_stats(-1, &before));
	/* Listing is open to any opener... */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "devices", NULL));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	/* ... a transition needs CAP_SYS_ADMIN. */
	ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "device", "0", "activate", NULL));
	EXPECT_EXIT(&r, 3);
	expect_words(_metadata, &r, "Operation not permitted (EPERM)");
	tt_run_free(&r);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "group", "0",
			    "emergency-stop", NULL));
	EXPECT_EXIT(&r, 3);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "audit", NULL));
	EXPECT_EXIT(&r, 3);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "audit", "--writes", NULL));
	EXPECT_EXIT(&r, 3);
	expect_words(_metadata, &r, "reading the write audit");
	tt_run_free(&r);
	if (self->features & DSMIL_FEAT_SMI) {
		ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "token", "read",
				    "0", "power", NULL));
		EXPECT_EXIT(&r, 3);
		expect_words(_metadata, &r, "EPERM");
		tt_run_free(&r);
	}
	if (self->features & DSMIL_FEAT_MMIO) {
		ASSERT_EQ(0, tt_run(&r, TT_ROOT_NOCAPS, CTL, "mmio", "read",
				    "0", NULL));
		EXPECT_EXIT(&r, 3);
		tt_run_free(&r);
	}
	ASSERT_EQ(0, dsmil_stats(-1, &after));
	EXPECT_LT(before.denied, after.denied);
	EXPECT_EQ(before.transitions, after.transitions);
	EXPECT_EQ(0, dev_state(-1, 0));
}

/* --------------------------------------------------------------- devices */

static const unsigned int quarantined_ids[] = { 9, 10, 11, 21, 33 };

static bool is_quarantined(unsigned int id)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(quarantined_ids); i++)
		if (quarantined_ids[i] == id)
			return true;
	return false;
}

TEST_F(ctl, devices_lists_all_72)
{
	struct tt_json *j;
	struct tt_run r;
	char name[16];
	unsigned int i;

	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, tt_sh(&r, CTL " devices --json"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(72, tt_jnum(j, "total"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "group"));
	ASSERT_EQ(72, tt_jlen(j, "devices"));
	for (i = 0; i < 72; i++) {
		snprintf(name, sizeof(name), "DSMIL%uD%X", i / 12, i % 12);
		EXPECT_EQ(i, tt_jnum(j, "devices[%u].id", i));
		EXPECT_STREQ(name, tt_jstr(j, "devices[%u].name", i));
		EXPECT_EQ(i / 12, tt_jnum(j, "devices[%u].group", i));
		EXPECT_EQ(i % 12, tt_jnum(j, "devices[%u].index", i));
		EXPECT_STREQ("offline", tt_jstr(j, "devices[%u].state", i));
		EXPECT_EQ(is_quarantined(i), tt_jbool(j, "devices[%u].quarantined", i))
			TH_LOG("quarantine flag of %s", name);
		EXPECT_EQ(TJ_ARR, tt_jtype(j, "devices[%u].needs_groups", i));
	}
	EXPECT_STREQ("Controller", tt_jstr(j, "devices[0].function"));
	EXPECT_STREQ("Hidden Operations", tt_jstr(j, "devices[71].function"));
	/* Dependencies: group 5 needs 0-4; DSMIL0D2 needs D0 and D1. */
	EXPECT_EQ(5, tt_jlen(j, "devices[60].needs_groups"));
	EXPECT_EQ(2, tt_jlen(j, "devices[2].needs_devices"));
	EXPECT_STREQ("DSMIL0D1", tt_jstr(j, "devices[2].needs_devices[1]"));
	/* Devices at token positions carry their token. */
	EXPECT_EQ(DSMIL_TOKEN_BASE + 12 * 2 + 3, tt_jnum(j, "devices[27].token"));
	tt_json_free(j);
	tt_run_free(&r);

	ASSERT_EQ(0, tt_sh(&r, CTL " devices --group 0x1 --json"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(1, tt_jnum(j, "group"));
	ASSERT_EQ(12, tt_jlen(j, "devices"));
	for (i = 0; i < 12; i++)
		EXPECT_EQ(1, tt_jnum(j, "devices[%u].group", i));
	tt_json_free(j);
	tt_run_free(&r);

	/* The table: every name, a line each, quarantine shown. */
	ASSERT_EQ(0, tt_sh(&r, CTL " devices"));
	ASSERT_EXIT(&r, 0);
	for (i = 0; i < 72; i++) {
		snprintf(name, sizeof(name), " DSMIL%uD%X ", i / 12, i % 12);
		EXPECT_NE(NULL, strstr(r.out, name)) TH_LOG("%s", name);
	}
	EXPECT_NE(NULL, strstr(r.out, "quarantined"));
	EXPECT_NE(NULL, strstr(r.out, "group 5 (Advanced Features)"));
	tt_run_free(&r);
}

/* ------------------------------------------------------- device ACTION */

TEST_F(ctl, device_activate_walks_the_state_table)
{
	static const char *const up[] = { "initializing", "ready", "active" };
	struct tt_json *j;
	struct tt_run r;
	unsigned int i;

	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, tt_sh(&r, CTL " --json device DSMIL0D0 activate"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_STREQ("DSMIL0D0", tt_jstr(j, "device.name"));
	EXPECT_STREQ("activate", tt_jstr(j, "action"));
	EXPECT_STREQ("offline", tt_jstr(j, "from"));
	EXPECT_STREQ("active", tt_jstr(j, "state"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "error"));
	ASSERT_EQ(3, tt_jlen(j, "steps"));
	for (i = 0; i < 3; i++) {
		EXPECT_STREQ(up[i], tt_jstr(j, "steps[%u].to", i));
		EXPECT_EQ(TJ_BOOL, tt_jtype(j, "steps[%u].ok", i));
	}
	tt_json_free(j);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_ACTIVE, dev_state(-1, 0));

	/* Names are case-insensitive; G:I and ids work too. */
	ASSERT_EQ(0, tt_sh(&r, CTL " device dsmil0d1 activate"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "OFFLINE -> INITIALIZING -> READY -> ACTIVE"));
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " device 0:2 activate"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_ACTIVE, dev_state(-1, 1));
	EXPECT_EQ(DSMIL_DEV_ACTIVE, dev_state(-1, 2));

	/* Already there: nothing to do, success, no transition. */
	ASSERT_EQ(0, tt_sh(&r, CTL " --json device 0x2 activate"));
	EXPECT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(0, tt_jlen(j, "steps"));
	tt_json_free(j);
	tt_run_free(&r);

	/* deactivate: ACTIVE -> READY, then nothing more. */
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D2 deactivate"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_READY, dev_state(-1, 2));
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D2 deactivate"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);

	/* reset: READY -> ERROR -> OFFLINE. */
	ASSERT_EQ(0, tt_sh(&r, CTL " --json device DSMIL0D2 reset"));
	EXPECT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	ASSERT_EQ(2, tt_jlen(j, "steps"));
	EXPECT_STREQ("error", tt_jstr(j, "steps[0].to"));
	EXPECT_STREQ("offline", tt_jstr(j, "steps[1].to"));
	tt_json_free(j);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_OFFLINE, dev_state(-1, 2));

	/* deactivate of an OFFLINE device is refused by the tool: 4. */
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D2 deactivate"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "OFFLINE");
	tt_run_free(&r);

	/* lock, and a LOCKED device is not silently re-activated. */
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D3 lock"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_LOCKED, dev_state(-1, 3));
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D3 activate"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "LOCKED");
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " --json device DSMIL0D3 activate"));
	EXPECT_EXIT(&r, 4);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(4, tt_jnum(j, "error.exit_code"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "error.errno"));
	tt_json_free(j);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_LOCKED, dev_state(-1, 3));
	/* reset: LOCKED -> ERROR -> OFFLINE, then activate works. */
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D3 reset"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_OFFLINE, dev_state(-1, 3));
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D2 activate"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D3 activate"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_ACTIVE, dev_state(-1, 3));
}

TEST_F(ctl, device_refusals_name_errno_and_reason)
{
	struct tt_json *j;
	struct tt_run r;

	NEED(DSMIL_FEAT_DEVICES, "device");
	/* Group 1 needs group 0 up: ENOLINK, reason dependency, exit 4. */
	ASSERT_EQ(0, tt_sh(&r, CTL " --json device DSMIL1D0 activate"));
	EXPECT_EXIT(&r, 4);
	j = must_parse(_metadata, &r);
	EXPECT_STREQ("ENOLINK", tt_jstr(j, "error.errno"));
	EXPECT_STREQ("dependency", tt_jstr(j, "error.reason"));
	EXPECT_EQ(4, tt_jnum(j, "error.exit_code"));
	EXPECT_NE(TJ_NULL, tt_jtype(j, "error"));
	/* The steps that were legal happened; the refused one is last. */
	ASSERT_LE(1, tt_jlen(j, "steps"));
	EXPECT_STREQ("active", tt_jstr(j, "steps[%d].to", tt_jlen(j, "steps") - 1));
	EXPECT_EQ(TJ_STR, tt_jtype(j, "steps[%d].errno", tt_jlen(j, "steps") - 1));
	tt_json_free(j);
	expect_words(_metadata, &r, "Link has been severed (ENOLINK)");
	expect_words(_metadata, &r, "dependency");
	tt_run_free(&r);
	EXPECT_NE(DSMIL_DEV_ACTIVE, dev_state(-1, 12));

	/* A dependent still ACTIVE: EBUSY, reason dependent, exit 4. */
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	ASSERT_EQ(0, dev_bring_up(-1, 1, true));
	ASSERT_EQ(0, dev_bring_up(-1, 2, true));
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D0 deactivate"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "(EBUSY)");
	expect_words(_metadata, &r, "dependent");
	tt_run_free(&r);
	EXPECT_EQ(DSMIL_DEV_ACTIVE, dev_state(-1, 0));

	/* Quarantined: the driver says EPERM with a reason: still exit 4. */
	ASSERT_EQ(0, tt_sh(&r, CTL " --json device DSMIL0D9 activate"));
	EXPECT_EXIT(&r, 4);
	j = must_parse(_metadata, &r);
	EXPECT_STREQ("quarantined", tt_jstr(j, "error.reason"));
	EXPECT_STREQ("EPERM", tt_jstr(j, "error.errno"));
	tt_json_free(j);
	expect_words(_metadata, &r, "quarantined");
	tt_run_free(&r);
	EXPECT_NE(DSMIL_DEV_ACTIVE, dev_state(-1, 9));
}

TEST_F(ctl, group_emergency_stop_locks_dependents)
{
	struct tt_json *j;
	struct tt_run r;
	unsigned int id;

	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	/* Group 1 is needed by 2 (0-1), 4 (0-2) and 5 (0-4); not by 3. */
	ASSERT_EQ(0, tt_sh(&r, CTL " --json group 1 emergency-stop"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(1, tt_jnum(j, "group"));
	EXPECT_STREQ("Extended Security", tt_jstr(j, "group_name"));
	EXPECT_EQ(48, tt_jnum(j, "locked"));
	tt_json_free(j);
	tt_run_free(&r);
	for (id = 0; id < 72; id++) {
		unsigned int g = id / 12;
		bool locked = g == 1 || g == 2 || g == 4 || g == 5;

		EXPECT_EQ(locked, dev_state(-1, id) == DSMIL_DEV_LOCKED)
			TH_LOG("device %u", id);
	}
	EXPECT_EQ(DSMIL_DEV_ACTIVE, dev_state(-1, 0));

	ASSERT_EQ(0, tt_sh(&r, CTL " group 3 estop"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "12 devices locked"));
	tt_run_free(&r);
}

TEST_F(ctl, audit_shows_what_the_tool_did)
{
	struct tt_json *j;
	struct tt_run act, r;
	uint64_t first;
	int n, i, mine = 0, refused = 0;

	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, tt_sh(&act, CTL " device DSMIL0D0 activate"));
	ASSERT_EXIT(&act, 0);
	tt_run_free(&act);
	/* Group 2 needs groups 0 and 1 up: 1 is not. */
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL2D0 activate"));
	EXPECT_EXIT(&r, 4);

	ASSERT_EQ(0, tt_sh(&act, CTL " audit --json"));
	ASSERT_EXIT(&act, 0);
	j = must_parse(_metadata, &act);
	n = tt_jlen(j, "entries");
	ASSERT_LE(4, n);
	EXPECT_EQ(0, tt_jnum(j, "dropped"));
	EXPECT_LT(tt_jnum(j, "entries[%d].seq", n - 1), tt_jnum(j, "next_seq"));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(TJ_STR, tt_jtype(j, "entries[%d].time", i));
		if (i)
			EXPECT_LT(tt_jnum(j, "entries[%d].seq", i - 1),
				  tt_jnum(j, "entries[%d].seq", i));
		/* The refused activation: pid of that dsmilctl, ENOLINK. */
		if (tt_jnum(j, "entries[%d].pid", i) == (uint64_t)r.pid) {
			mine++;
			EXPECT_STREQ("DSMIL2D0", tt_jstr(j, "entries[%d].name", i));
			EXPECT_EQ(0, tt_jnum(j, "entries[%d].uid", i));
			EXPECT_STREQ("ioctl", tt_jstr(j, "entries[%d].source", i));
			if (tt_jtype(j, "entries[%d].errno", i) == TJ_STR) {
				refused++;
				EXPECT_STREQ("ENOLINK", tt_jstr(j, "entries[%d].errno", i));
				EXPECT_STREQ("dependency", tt_jstr(j, "entries[%d].reason", i));
				EXPECT_STREQ("active", tt_jstr(j, "entries[%d].to", i));
			}
		}
	}
	EXPECT_LE(1, mine);
	EXPECT_EQ(1, refused);
	EXPECT_STREQ("DSMIL0D0", tt_jstr(j, "entries[0].name"));
	EXPECT_STREQ("offline", tt_jstr(j, "entries[0].from"));
	EXPECT_STREQ("initializing", tt_jstr(j, "entries[0].to"));
	first = tt_jnum(j, "entries[%d].seq", n - 1);
	tt_json_free(j);
	tt_run_free(&act);
	tt_run_free(&r);

	/* --since: only the last entry. */
	ASSERT_EQ(0, tt_sh(&r, CTL " audit --json --since %llu",
			   (unsigned long long)first));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(1, tt_jlen(j, "entries"));
	EXPECT_EQ(first, tt_jnum(j, "entries[0].seq"));
	tt_json_free(j);
	tt_run_free(&r);

	ASSERT_EQ(0, tt_sh(&r, CTL " audit"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "OFFLINE -> INITIALIZING"));
	EXPECT_NE(NULL, strstr(r.out, "ENOLINK"));
	tt_run_free(&r);
}

/* ----------------------------------------------------------------- token */

TEST_F(ctl, token_read_and_write)
{
	struct dsmil_token_req tr;
	struct tt_json *j;
	struct tt_run r;
	int fd;

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_DEVICES, "device");
	/* The owning device is OFFLINE: ENODEV, exit 4, state named. */
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "(ENODEV)");
	expect_words(_metadata, &r, "DSMIL0D0 is OFFLINE");
	tt_run_free(&r);

	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 POWER --json"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_STREQ("read", tt_jstr(j, "op"));
	EXPECT_EQ(0, tt_jnum(j, "group"));
	EXPECT_STREQ("power", tt_jstr(j, "position"));
	EXPECT_EQ(DSMIL_TOKEN_BASE, tt_jnum(j, "token"));
	EXPECT_STREQ("DSMIL0D0", tt_jstr(j, "device.name"));
	EXPECT_EQ(TJ_NUM, tt_jtype(j, "value"));
	EXPECT_EQ(TJ_NUM, tt_jtype(j, "duration_ns"));
	/* The same value the ioctl reads. */
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	memset(&tr, 0, sizeof(tr));
	tr.group = 0;
	tr.position = DSMIL_TOKEN_POWER;
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_TOKEN_READ, &tr));
	EXPECT_EQ(tr.value, tt_jnum(j, "value"));
	tt_json_free(j);
	tt_run_free(&r);

	/* Writes: refused without allow_writes (EACCES: exit 3). */
	ASSERT_EQ(0, tt_sh(&r, CTL " token write 0 power 0x1234"));
	EXPECT_EXIT(&r, 3);
	expect_words(_metadata, &r, "(EACCES)");
	tt_run_free(&r);
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, tt_sh(&r, CTL " --json token write 0 power 0x1234"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(0x1234, tt_jnum(j, "value"));
	EXPECT_STREQ("write", tt_jstr(j, "op"));
	tt_json_free(j);
	tt_run_free(&r);
	memset(&tr, 0, sizeof(tr));
	tr.position = DSMIL_TOKEN_POWER;
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_TOKEN_READ, &tr));
	EXPECT_EQ(0x1234, tr.value);
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "0x00001234")) { SHOW(&r); }
	tt_run_free(&r);
	close(fd);

	/* A quarantined device's token is never written. */
	ASSERT_EQ(0, tt_sh(&r, CTL " token write 0 sensor 1"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "DSMIL0D9");
	tt_run_free(&r);
}

/*
 * token read --all: every token through the asynchronous interface, one
 * line each in token order; a token whose device refuses says so on its
 * line and sets the exit status; no progress line off a terminal.
 */
TEST_F(ctl, token_read_all)
{
	struct dsmil_smi_status st0, st;
	struct tt_json *j;
	struct tt_run r;
	unsigned int g, p, lines = 0;
	const char *c;

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_DEVICES, "device");
	if (!(dsmil_features() & DSMIL_FEAT_ASYNC))
		SKIP(return, "no asynchronous token requests");
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	ASSERT_EQ(0, dev_bring_up(-1, 3, false));
	ASSERT_EQ(0, tt_sh(&r, CTL " token read --all --json"));
	EXPECT_EXIT(&r, 4);		/* DSMIL0D6 is OFFLINE: ENODEV */
	j = must_parse(_metadata, &r);
	EXPECT_EQ(DSMIL_TOKEN_BASE, tt_jnum(j, "tokens[0].token"));
	EXPECT_EQ(0xd5000000U | DSMIL_TOKEN_BASE, tt_jnum(j, "tokens[0].value"));
	EXPECT_STREQ("memory", tt_jstr(j, "tokens[1].position"));
	EXPECT_EQ(TJ_NUM, tt_jtype(j, "tokens[1].value"));
	EXPECT_STREQ("ENODEV", tt_jstr(j, "tokens[2].error"));
	EXPECT_EQ(DSMIL_TOKEN_BASE + 12 * 5 + 9, tt_jnum(j, "tokens[23].token"));
	EXPECT_EQ(24, tt_jlen(j, "tokens"));
	tt_json_free(j);
	tt_run_free(&r);

	for (g = 0; g < DSMIL_NUM_GROUPS; g++)
		for (p = 0; p < DSMIL_DEVS_PER_GROUP; p += 3)
			ASSERT_EQ(0, dev_bring_up(-1, g * 12 + p, g == 0 && !p));
	ASSERT_EQ(0, smi_wait_idle(-1, &st0, 3000));
	ASSERT_EQ(0, tt_sh(&r, CTL " token read --all"));
	EXPECT_EXIT(&r, 0);
	for (c = r.out; (c = strstr(c, ") = 0x")); c++)
		lines++;
	EXPECT_EQ(24, lines) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "token 0x04c5 (group 5 sensor, DSMIL5D9)"))
		{ SHOW(&r); }
	EXPECT_EQ(NULL, strstr(r.err, "reading tokens"));	/* no terminal */
	tt_run_free(&r);
	ASSERT_EQ(0, smi_wait_idle(-1, &st, 3000));
	/*
	 * Every token read once; any request beyond the 24 was one that
	 * timed out still queued (nothing sent) and was submitted again.
	 */
	EXPECT_EQ(st0.successes + 24, st.successes);
	EXPECT_EQ(st.requests - st0.requests - 24,
		  st.queue_timeouts - st0.queue_timeouts);
}

/* ------------------------------------------------------------------- smi */

/* Set a sim knob; SKIP when the simulator does not have it. */
#define SIM_SET(knob, fmt, ...) do {					\
	if (!file_exists(DSMIL_SIM_DIR "/" knob))			\
		SKIP(return, "no sim knob " DSMIL_SIM_DIR "/" knob " (SMI part not landed)"); \
	ASSERT_EQ(0, sim_knob_write(knob, fmt, ##__VA_ARGS__));		\
} while (0)

TEST_F(ctl, smi_status_matches_the_ioctl)
{
	struct dsmil_smi_status st;
	struct tt_json *j;
	struct tt_run r;
	unsigned int b;

	NEED(DSMIL_FEAT_SMI, "SMI");
	ASSERT_EQ(0, tt_sh(&r, CTL " smi status --json"));
	ASSERT_EXIT(&r, 0);
	ASSERT_EQ(0, smi_status(-1, &st));
	j = must_parse(_metadata, &r);
	EXPECT_STREQ((char *)st.backend, tt_jstr(j, "backend"));
	EXPECT_STREQ("ok", tt_jstr(j, "state"));
	EXPECT_EQ(st.timeout_ms, tt_jnum(j, "timeout_ms"));
	EXPECT_EQ(st.hang_ms, tt_jnum(j, "hang_ms"));
	EXPECT_EQ(st.fault_limit, tt_jnum(j, "fault_limit"));
	EXPECT_EQ(st.min_interval_us, tt_jnum(j, "min_interval_us"));
	EXPECT_EQ(st.requests, tt_jnum(j, "counters.requests"));
	EXPECT_EQ(st.timeouts, tt_jnum(j, "counters.timeouts"));
	ASSERT_EQ(DSMIL_SMI_HIST_BUCKETS, tt_jlen(j, "latency_hist"));
	for (b = 0; b < DSMIL_SMI_HIST_BUCKETS; b++)
		EXPECT_EQ(st.latency_hist[b], tt_jnum(j, "latency_hist[%u].count", b));
	EXPECT_EQ(0, tt_jnum(j, "latency_hist[0].min_us"));
	EXPECT_EQ(1, tt_jnum(j, "latency_hist[0].below_us"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "latency_hist[19].below_us"));
	tt_json_free(j);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " smi status"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "state:       OK"));
	EXPECT_NE(NULL, strstr(r.out, "timeouts"));
	tt_run_free(&r);
}

TEST_F(ctl, smi_timeout_faulted_and_recover)
{
	struct tt_json *j;
	struct tt_run r;
	int i, shut = 0;

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	SIM_SET("fault", "hang");
	/* The SMI hangs: ETIMEDOUT is a hardware fault, exit 5. */
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 5);
	expect_words(_metadata, &r, "(ETIMEDOUT)");
	tt_run_free(&r);
	/* The timeout moved the device to ERROR. */
	EXPECT_EQ(DSMIL_DEV_ERROR, dev_state(-1, 0));
	/*
	 * Activating again verifies the device through the hung SMI: more
	 * faults, until the backend is FAULTED and fails fast (ESHUTDOWN).
	 */
	for (i = 0; i < 8 && !shut; i++) {
		ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D0 activate"));
		EXPECT_EXIT(&r, 5);
		shut = strstr(r.err, "(ESHUTDOWN)") != NULL;
		if (!shut)
			expect_words(_metadata, &r, "(ETIMEDOUT)");
		tt_run_free(&r);
	}
	ASSERT_TRUE(shut) TH_LOG("the backend never became FAULTED");
	ASSERT_EQ(0, tt_sh(&r, CTL " --json smi status"));
	j = must_parse(_metadata, &r);
	EXPECT_STREQ("faulted", tt_jstr(j, "state"));
	EXPECT_EQ(1, tt_jnum(j, "counters.faulted_entries"));
	EXPECT_LE(1, tt_jnum(j, "counters.faulted_rejects"));
	tt_json_free(j);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " smi status"));
	EXPECT_NE(NULL, strstr(r.out, "FAULTED"));
	tt_run_free(&r);

	SIM_SET("fault", "none");
	ASSERT_EQ(0, tt_sh(&r, CTL " --json smi recover"));
	EXPECT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(1, tt_jbool(j, "recovered"));
	EXPECT_STREQ("ok", tt_jstr(j, "state"));
	tt_json_free(j);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " device DSMIL0D0 activate"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
}

/*
 * A read whose abort failed: exit 7 (outcome unknown) naming the request;
 * 'smi result' says it has not ended (7) until the reset ends it, then
 * that its outcome is unknown.
 */
TEST_F(ctl, smi_result_of_a_request_in_doubt)
{
	unsigned long long id;
	struct tt_json *j;
	struct tt_run r;
	const char *p;
	char cmd[96];

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_DEVICES, "device");
	ASSERT_EQ(0, dev_bring_up(-1, 0, false));
	SIM_SET("abort_fails", "1");
	SIM_SET("fault", "hang");
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 7);
	expect_words(_metadata, &r, "(EINPROGRESS)");
	p = strstr(r.err, "'dsmilctl smi result ");
	ASSERT_NE(NULL, p) { SHOW(&r); }
	ASSERT_EQ(1, sscanf(p, "'dsmilctl smi result %llu'", &id));
	tt_run_free(&r);

	snprintf(cmd, sizeof(cmd), CTL " smi result %llu", id);
	ASSERT_EQ(0, tt_sh(&r, cmd));
	EXPECT_EXIT(&r, 7);
	expect_words(_metadata, &r, "(EINPROGRESS)");
	tt_run_free(&r);

	SIM_SET("fault", "none");
	ASSERT_EQ(0, tt_sh(&r, CTL " smi recover"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	snprintf(cmd, sizeof(cmd), CTL " --json smi result %llu", id);
	ASSERT_EQ(0, tt_sh(&r, cmd));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(id, tt_jnum(j, "request_id"));
	EXPECT_EQ(DSMIL_TOKEN_BASE, tt_jnum(j, "token"));
	EXPECT_STREQ("read", tt_jstr(j, "op"));
	EXPECT_STREQ("unknown", tt_jstr(j, "outcome"));
	EXPECT_STREQ("ETIMEDOUT", tt_jstr(j, "errno"));
	EXPECT_EQ(1, tt_jbool(j, "in_doubt"));
	tt_json_free(j);
	tt_run_free(&r);
	snprintf(cmd, sizeof(cmd), CTL " smi result %llu", id);
	ASSERT_EQ(0, tt_sh(&r, cmd));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "unknown (ETIMEDOUT")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "is not known")) { SHOW(&r); }
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " --json smi status"));
	j = must_parse(_metadata, &r);
	EXPECT_EQ(1, tt_jnum(j, "counters.in_doubt"));
	EXPECT_EQ(1, tt_jnum(j, "counters.late_failures"));
	tt_json_free(j);
	tt_run_free(&r);

	/* An id the driver never gave: ENOENT, exit 1. */
	snprintf(cmd, sizeof(cmd), CTL " smi result %llu", id + 100000);
	ASSERT_EQ(0, tt_sh(&r, cmd));
	EXPECT_EXIT(&r, 1);
	expect_words(_metadata, &r, "(ENOENT)");
	tt_run_free(&r);
}

TEST_F_TIMEOUT(ctl, smi_recover_failure_and_backoff, 60)
{
	struct dsmil_smi_status st;
	struct tt_run r;
	int fd, i;

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_DEVICES, "device");
	/* One fault makes it FAULTED: a hung read with smi_fault_limit=1. */
	ASSERT_EQ(0, dsmil_reload("smi_fault_limit=1"));
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	SIM_SET("fault", "hang");
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 5);
	tt_run_free(&r);
	SIM_SET("fault", "none");
	ASSERT_EQ(0, smi_status(-1, &st));
	ASSERT_EQ(DSMIL_SMI_FAULTED, st.state);

	/* The backend reset fails: EIO, exit 5. */
	SIM_SET("reset_fails", "4");
	ASSERT_EQ(0, tt_sh(&r, CTL " smi recover"));
	EXPECT_EXIT(&r, 5);
	expect_words(_metadata, &r, "(EIO)");
	tt_run_free(&r);
	/* Three more failures double the backoff to 800 ms... */
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, smi_status(-1, &st));
		usleep(st.recover_wait_ms * 1000 + 20000);
		EXPECT_EQ(-1, ioctl(fd, DSMIL_IOC_SMI_RECOVER));
		EXPECT_EQ(EIO, errno);
	}
	close(fd);
	/* ... so an immediate try is refused: EAGAIN, exit 4, time left. */
	ASSERT_EQ(0, tt_sh(&r, CTL " smi recover"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "(EAGAIN)");
	expect_words(_metadata, &r, "ms left");
	tt_run_free(&r);
	ASSERT_EQ(0, smi_status(-1, &st));
	usleep(st.recover_wait_ms * 1000 + 20000);
	ASSERT_EQ(0, tt_sh(&r, CTL " smi recover"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, smi_status(-1, &st));
	EXPECT_EQ(DSMIL_SMI_OK, st.state);
	EXPECT_EQ(4, st.recovery_failures);
	EXPECT_EQ(1, st.recoveries);
}

/* ------------------------------------------------------- audit --writes */

/* The write audit straight from the ioctl, from @since: records read. */
static int waudit_ioctl(__u64 since, struct dsmil_write_record *r,
			unsigned int n)
{
	struct dsmil_write_audit_read ar = {
		.buf = (uintptr_t)r, .count = n, .since_seq = since,
	};
	int ret = dsmil_ioc(-1, DSMIL_IOC_WRITE_AUDIT_READ, &ar);

	return ret ? ret : (int)ar.count;
}

TEST_F(ctl, audit_writes_shows_the_writes)
{
	static struct dsmil_write_record rec[8];
	struct tt_run tw, mw, bad, r;
	struct tt_json *j;
	uint64_t first;
	int n, i;

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_MMIO, "MMIO");
	if (waudit_ioctl(0, rec, 1) == -ENOTTY)
		SKIP(return, "the driver has no write audit");
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));

	ASSERT_EQ(0, tt_sh(&tw, CTL " token write 0 power 0x1234"));
	ASSERT_EXIT(&tw, 0);
	ASSERT_EQ(0, tt_sh(&mw, CTL " mmio write 0x100000 0xabcd --width 2"));
	ASSERT_EXIT(&mw, 0);
	/* Firmware that ignores the next write: EIO, exit 5, a mismatch. */
	SIM_SET("drop_writes", "1");
	ASSERT_EQ(0, tt_sh(&bad, CTL " token write 0 power 0x77"));
	EXPECT_EXIT(&bad, 5);
	expect_words(_metadata, &bad, "(EIO)");

	ASSERT_EQ(0, tt_sh(&r, CTL " --json audit --writes"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	n = tt_jlen(j, "entries");
	ASSERT_EQ(3, n);
	EXPECT_EQ(0, tt_jnum(j, "dropped"));
	EXPECT_EQ(1, tt_jnum(j, "mismatches"));
	/* Each token write: a read before and a read-back. */
	EXPECT_EQ(4, tt_jnum(j, "reads"));
	EXPECT_EQ(4, tt_jnum(j, "next_seq"));
	/* The same records the ioctl gives. */
	ASSERT_EQ(3, waudit_ioctl(0, rec, 8));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(rec[i].seq, tt_jnum(j, "entries[%d].seq", i));
		EXPECT_EQ(rec[i].request_id,
			  tt_jnum(j, "entries[%d].request_id", i));
		EXPECT_EQ(rec[i].time_ns, tt_jnum(j, "entries[%d].time_ns", i));
		EXPECT_EQ(TJ_STR, tt_jtype(j, "entries[%d].time", i));
		EXPECT_STREQ("dsmilctl", tt_jstr(j, "entries[%d].comm", i));
		EXPECT_EQ(0, tt_jnum(j, "entries[%d].uid", i));
	}
	/* Each names the dsmilctl that wrote. */
	EXPECT_EQ((uint64_t)tw.pid, tt_jnum(j, "entries[0].pid"));
	EXPECT_EQ((uint64_t)mw.pid, tt_jnum(j, "entries[1].pid"));
	EXPECT_EQ((uint64_t)bad.pid, tt_jnum(j, "entries[2].pid"));

	EXPECT_STREQ("token", tt_jstr(j, "entries[0].kind"));
	EXPECT_STREQ("read-back", tt_jstr(j, "entries[0].stage"));
	EXPECT_STREQ("DSMIL0D0", tt_jstr(j, "entries[0].device.name"));
	EXPECT_EQ(DSMIL_TOKEN_BASE, tt_jnum(j, "entries[0].token"));
	EXPECT_EQ(0xd5000480, tt_jnum(j, "entries[0].old_value"));
	EXPECT_EQ(0x1234, tt_jnum(j, "entries[0].value"));
	EXPECT_EQ(0x1234, tt_jnum(j, "entries[0].readback"));
	EXPECT_EQ(1, tt_jbool(j, "entries[0].ok"));
	EXPECT_EQ(0, tt_jbool(j, "entries[0].mismatch"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "entries[0].errno"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "entries[0].offset"));

	EXPECT_STREQ("mmio", tt_jstr(j, "entries[1].kind"));
	EXPECT_STREQ("write", tt_jstr(j, "entries[1].stage"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "entries[1].device"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "entries[1].token"));
	EXPECT_EQ(0x100000, tt_jnum(j, "entries[1].offset"));
	EXPECT_EQ(2, tt_jnum(j, "entries[1].length"));
	EXPECT_EQ(2, tt_jnum(j, "entries[1].done"));
	EXPECT_EQ(0xabcd, tt_jnum(j, "entries[1].value"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "entries[1].old_value"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "entries[1].readback"));
	EXPECT_EQ(0, tt_jbool(j, "entries[1].device_scoped"));

	EXPECT_EQ(1, tt_jbool(j, "entries[2].mismatch"));
	EXPECT_EQ(0, tt_jbool(j, "entries[2].ok"));
	EXPECT_STREQ("EIO", tt_jstr(j, "entries[2].errno"));
	EXPECT_EQ(0x1234, tt_jnum(j, "entries[2].old_value"));
	EXPECT_EQ(0x77, tt_jnum(j, "entries[2].value"));
	EXPECT_EQ(0x1234, tt_jnum(j, "entries[2].readback"));
	EXPECT_LT(tt_jnum(j, "entries[0].request_id"),
		  tt_jnum(j, "entries[2].request_id"));
	first = tt_jnum(j, "entries[2].seq");
	tt_json_free(j);
	tt_run_free(&r);

	/* --since: only the last. */
	ASSERT_EQ(0, tt_sh(&r, CTL " audit --writes --json --since %llu",
			   (unsigned long long)first));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(1, tt_jlen(j, "entries"));
	EXPECT_EQ(first, tt_jnum(j, "entries[0].seq"));
	tt_json_free(j);
	tt_run_free(&r);

	/* Text: the same facts in words. */
	ASSERT_EQ(0, tt_sh(&r, CTL " audit --writes"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "token 0x0480 DSMIL0D0")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "mmio raw 0x100000+2")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "0xd5000480")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "EIO MISMATCH")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "1 write-mismatch incident since load")) {
		SHOW(&r);
	}
	tt_run_free(&r);
	tt_run_free(&tw);
	tt_run_free(&mw);
	tt_run_free(&bad);
}

/* ------------------------------------------------------------------ mmio */

TEST_F(ctl, mmio_read_write_and_device_windows)
{
	struct dsmil_mmio_rw rw;
	struct tt_json *j;
	struct tt_run r;
	int fd;

	NEED(DSMIL_FEAT_MMIO, "MMIO");
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0x1000 0xdeadbeef"));
	EXPECT_EXIT(&r, 3);
	expect_words(_metadata, &r, "(EACCES)");
	tt_run_free(&r);

	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	/*
	 * 0x1000 is DSMIL0D1's window: while the device is OFFLINE, a raw
	 * write there is refused like a device-scoped one (ENODEV, 4), and
	 * so is a device-scoped read.
	 */
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0x1000 0xdeadbeef"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "(ENODEV)");
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio read 8 --device DSMIL0D1"));
	EXPECT_EXIT(&r, 4);
	expect_words(_metadata, &r, "(ENODEV)");
	expect_words(_metadata, &r, "DSMIL0D1 is OFFLINE");
	tt_run_free(&r);
	if (!(self->features & DSMIL_FEAT_DEVICES))
		return;
	/* ACTIVE: raw and device-scoped access to its 4 KiB at 1 * 4K. */
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	ASSERT_EQ(0, dev_bring_up(-1, 1, true));
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0x1000 0xdeadbeef"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0x1008 0x0123456789abcdef --width 8"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " --json mmio read 0x1000"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(0xdeadbeef, tt_jnum(j, "value"));
	EXPECT_EQ(4, tt_jnum(j, "width"));
	EXPECT_EQ(0x1000, tt_jnum(j, "offset"));
	EXPECT_EQ(TJ_NULL, tt_jtype(j, "device"));
	tt_json_free(j);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio read 0x1001 --width 1"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "0xbe")) { SHOW(&r); }
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio read 0x100e --width 2"));
	EXPECT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "0x0123")) { SHOW(&r); }
	tt_run_free(&r);
	/* The ioctl sees what the tool wrote. */
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	memset(&rw, 0, sizeof(rw));
	rw.offset = 0x1008;
	rw.width = 8;
	ASSERT_EQ(0, ioctl(fd, DSMIL_IOC_MMIO_READ, &rw));
	EXPECT_EQ(0x0123456789abcdefULL, rw.value);
	close(fd);

	/* The device-scoped view of the same bytes. */
	ASSERT_EQ(0, tt_sh(&r, CTL " --json mmio read 8 --width 8 --device dsmil0d1"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(0x0123456789abcdefULL, tt_jnum(j, "value"));
	EXPECT_STREQ("DSMIL0D1", tt_jstr(j, "device.name"));
	tt_json_free(j);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0 0x55 --width 1 --device 1"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio read 0x1000 --width 1"));
	EXPECT_NE(NULL, strstr(r.out, "0x55")) { SHOW(&r); }
	tt_run_free(&r);
	/* A quarantined device's window is never written: exit 4. */
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0 1 --device DSMIL0D9"));
	EXPECT_EXIT(&r, 4);
	tt_run_free(&r);
}

TEST_F(ctl, mmio_map_failure_exits_5)
{
	struct tt_run r;

	NEED(DSMIL_FEAT_MMIO, "MMIO");
	if (!file_exists(DSMIL_MMIO_DIR "/fail_next_maps"))
		SKIP(return, "no " DSMIL_MMIO_DIR "/fail_next_maps knob");
	ASSERT_EQ(0, mmio_knob_write("fail_next_maps", "1"));
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio read 0x2000000"));
	EXPECT_EXIT(&r, 5);
	expect_words(_metadata, &r, "(EIO)");
	tt_run_free(&r);
	/* The next map works again. */
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio read 0x2000000"));
	EXPECT_EXIT(&r, 0);
	tt_run_free(&r);
}

static size_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (size_t)st.st_size;
}

TEST_F_TIMEOUT(ctl, mmio_dump_and_chunks, 120)
{
	static const char out[] = "/tmp/dsmilctl-dump.bin";
	unsigned char buf[64];
	struct tt_json *j;
	struct tt_run r;
	int fd, i, n;

	NEED(DSMIL_FEAT_MMIO, "MMIO");
	/*
	 * The picture after the dump wants chunks 0-2 still resident: the
	 * default idle reaper (5 s) unmaps them first on a loaded host.
	 */
	ASSERT_EQ(0, dsmil_reload("mmio_idle_ms=600000"));
	/* Before: nothing mapped. */
	ASSERT_EQ(0, tt_sh(&r, CTL " chunks --json"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	n = tt_jnum(j, "num_chunks");
	EXPECT_EQ(90, n);
	EXPECT_EQ(0, tt_jnum(j, "resident"));
	EXPECT_EQ(90, tt_jnum(j, "never_mapped"));
	EXPECT_EQ(8, tt_jnum(j, "max_resident"));
	ASSERT_EQ(90, tt_jlen(j, "chunks"));
	EXPECT_STREQ("never_mapped", tt_jstr(j, "chunks[0].state"));
	tt_json_free(j);
	tt_run_free(&r);

	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio write 0x400010 0x64636261"));	/* "abcd" */
	ASSERT_EXIT(&r, 0);
	tt_run_free(&r);

	/* A hex dump of 64 bytes shows them. */
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio dump 0x400000 64"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "00400010  61 62 63 64")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "|abcd")) { SHOW(&r); }
	tt_run_free(&r);

	/* 12 MiB (three chunks) to a file; stderr is no terminal: silent. */
	ASSERT_EQ(0, tt_sh(&r, CTL " mmio dump 0 12M -o %s", out));
	ASSERT_EXIT(&r, 0);
	EXPECT_STREQ("", r.err);
	EXPECT_STREQ("", r.out);
	tt_run_free(&r);
	EXPECT_EQ(12u << 20, file_size(out));
	fd = open(out, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), 0x400000));
	EXPECT_EQ(0, memcmp(buf + 16, "abcd", 4));
	close(fd);

	ASSERT_EQ(0, tt_sh(&r, CTL " --json mmio dump 0x400000 4K -o %s", out));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	EXPECT_EQ(4096, tt_jnum(j, "bytes"));
	EXPECT_EQ(0x400000, tt_jnum(j, "offset"));
	EXPECT_STREQ(out, tt_jstr(j, "file"));
	tt_json_free(j);
	tt_run_free(&r);
	EXPECT_EQ(4096u, file_size(out));
	unlink(out);

	/* After: chunks 0-2 are resident (the idle reaper waits 10 min). */
	ASSERT_EQ(0, tt_sh(&r, CTL " chunks --json"));
	ASSERT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	for (i = 0; i < 3; i++)
		EXPECT_STRNE("never_mapped", tt_jstr(j, "chunks[%d].state", i));
	EXPECT_STREQ("resident", tt_jstr(j, "chunks[1].state"));
	EXPECT_EQ(87, tt_jnum(j, "never_mapped"));
	EXPECT_LE(3, tt_jnum(j, "counters.maps"));
	EXPECT_LE(12u << 20, tt_jnum(j, "counters.bytes_read"));
	EXPECT_EQ(tt_jnum(j, "resident") + tt_jnum(j, "idle") +
		  tt_jnum(j, "never_mapped"), 90);
	tt_json_free(j);
	tt_run_free(&r);

	/* The picture: 90 cells of '#', '+', '.', counts and the cap. */
	ASSERT_EQ(0, tt_sh(&r, CTL " chunks"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "|###")) { SHOW(&r); }
	EXPECT_NE(NULL, strstr(r.out, "never mapped 87"));
	EXPECT_NE(NULL, strstr(r.out, "(cap 8)"));
	tt_run_free(&r);
	ASSERT_EQ(0, tt_sh(&r, CTL " chunks --verbose"));
	ASSERT_EXIT(&r, 0);
	EXPECT_NE(NULL, strstr(r.out, "CHUNK"));
	tt_run_free(&r);
}

/* Progress appears on a terminal, and only there. */
TEST_F_TIMEOUT(ctl, mmio_dump_progress_on_a_terminal, 120)
{
	char buf[8192];
	int master, st, total = 0;
	pid_t pid;

	NEED(DSMIL_FEAT_MMIO, "MMIO");
	/* The guest's /dev is a bare devtmpfs: terminals need devpts. */
	if (!file_exists("/dev/pts/ptmx")) {
		mkdir("/dev/pts", 0755);
		if (mount("devpts", "/dev/pts", "devpts", 0, "ptmxmode=0666"))
			SKIP(return, "cannot mount devpts: %s", strerror(errno));
	}
	master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
	ASSERT_LE(0, master) TH_LOG("/dev/pts/ptmx: %s", strerror(errno));
	ASSERT_EQ(0, grantpt(master));
	ASSERT_EQ(0, unlockpt(master));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int slave = open(ptsname(master), O_RDWR);

		if (slave < 0)
			_exit(120);
		dup2(slave, 2);
		execlp(CTL, CTL, "mmio", "dump", "0", "8M", "-o", "/dev/null", NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 30000) <= 0)
			break;
		n = read(master, buf + total, sizeof(buf) - 1 - total);
		if (n <= 0)
			break;
		total += n;
		if (total >= (int)sizeof(buf) - 1)
			break;
	}
	buf[total] = '\0';
	waitpid(pid, &st, 0);
	close(master);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_NE(NULL, strstr(buf, "dump: 8192 / 8192 KiB (100%)")) TH_LOG("%s", buf);
}

/* -------------------------------------------------------------- metrics */

#define PROM_DIR	"/tmp/dsmil-textfile"
#define PROM_FILE	PROM_DIR "/dsmil.prom"

/*
 * The value of one sample of a Prometheus text @text, by its exact name and
 * labels as printed ("dsmil_refusals_total{reason=\"state\"}"), or NULL.
 * The returned string ends at the line's end (copied into @buf).
 */
static const char *prom_get(const char *text, const char *key, char *buf,
			    size_t len)
{
	size_t k = strlen(key);
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n > k + 1 && !strncmp(p, key, k) && p[k] == ' ') {
			snprintf(buf, len, "%.*s", (int)(n - k - 1), p + k + 1);
			return buf;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* 0 when sample @key of @text is the integer @want, else 1 (logged). */
static int prom_differs(struct __test_metadata *_metadata, const char *text,
			const char *key, uint64_t want)
{
	char buf[64], wbuf[32];
	const char *v = prom_get(text, key, buf, sizeof(buf));

	snprintf(wbuf, sizeof(wbuf), "%llu", (unsigned long long)want);
	if (v && !strcmp(v, wbuf))
		return 0;
	TH_LOG("%s: metrics say %s, the JSON %s", key, v ? v : "(absent)", wbuf);
	return 1;
}

/* Microseconds as the exact decimal seconds dsmilctl metrics prints. */
static int prom_differs_us(struct __test_metadata *_metadata,
			   const char *text, const char *key, uint64_t us)
{
	char buf[64], wbuf[40];
	const char *v = prom_get(text, key, buf, sizeof(buf));

	snprintf(wbuf, sizeof(wbuf), "%llu.%06llu", (unsigned long long)us / 1000000,
		 (unsigned long long)us % 1000000);
	if (v && !strcmp(v, wbuf))
		return 0;
	TH_LOG("%s: metrics say %s, the JSON %s us", key, v ? v : "(absent)", wbuf);
	return 1;
}

/*
 * Every sample of @text against the JSON of stats, smi status, devices and
 * chunks: the number of differences.  ioctls is the one counter the tools'
 * own calls move between the readings: it must lie between two readings.
 */
static int prom_compare(struct __test_metadata *_metadata, const char *text,
			struct tt_json *st, struct tt_json *smi,
			struct tt_json *dv, struct tt_json *ch,
			uint64_t ioctls_lo, uint64_t ioctls_hi)
{
	static const char *const smi_ctr[] = {
		"requests", "successes", "errors", "timeouts", "hangs", "aborts",
		"abort_failures", "faulted_entries", "faulted_rejects",
		"recoveries", "recovery_failures", "retries", "spacing_waits",
		"refused", "error_status", "garbage", "busy_failures",
		"submit_failures", "cancelled", "queue_timeouts", "abandoned",
		"in_doubt", "late_successes", "late_failures", "coalesced",
	};
	static const char *const mmio_ctr[][2] = {
		{ "maps", "maps" }, { "unmaps", "unmaps" },
		{ "evictions", "evictions" }, { "map_failures", "map_failures" },
		{ "all_busy", "all_busy" }, { "hits", "hits" },
		{ "read_bytes", "bytes_read" }, { "written_bytes", "bytes_written" },
		{ "refused", "refused" },
	};
	static const char *const states[] = {
		"offline", "initializing", "ready", "active", "error", "locked",
	};
	unsigned int per_state[ARRAY_SIZE(states)] = { 0 };
	char key[128], buf[64];
	uint64_t cum = 0, v;
	const char *p;
	int bad = 0, i, n;

	p = prom_get(text, "dsmil_ioctls_total", buf, sizeof(buf));
	v = p ? strtoull(p, NULL, 10) : 0;
	if (!p || v < ioctls_lo || v > ioctls_hi) {
		TH_LOG("dsmil_ioctls_total %s not in [%llu, %llu]", p ? p : "(absent)",
		       (unsigned long long)ioctls_lo, (unsigned long long)ioctls_hi);
		bad++;
	}
	bad += prom_differs(_metadata, text, "dsmil_up", 1);
	bad += prom_differs(_metadata, text, "dsmil_bad_input_total", tt_jnum(st, "bad_input"));
	bad += prom_differs(_metadata, text, "dsmil_denied_total", tt_jnum(st, "denied"));
	bad += prom_differs(_metadata, text, "dsmil_transitions_total", tt_jnum(st, "transitions"));
	n = tt_jlen(st, "refusals");
	for (i = 0; i < n; i++) {
		struct tt_json *r = tt_jget(st, "refusals");

		snprintf(key, sizeof(key), "dsmil_refusals_total{reason=\"%s\"}", r->keys[i]);
		bad += prom_differs(_metadata, text, key, tt_jnum(st, "refusals.%s", r->keys[i]));
	}
	if (tt_jtype(st, "suspends") == TJ_NUM) {
		bad += prom_differs(_metadata, text, "dsmil_suspends_total", tt_jnum(st, "suspends"));
		bad += prom_differs(_metadata, text, "dsmil_resumes_total", tt_jnum(st, "resumes"));
	}

	snprintf(key, sizeof(key), "dsmil_smi_info{backend=\"%s\"}", tt_jstr(smi, "backend"));
	bad += prom_differs(_metadata, text, key, 1);
	bad += prom_differs(_metadata, text, "dsmil_smi_faulted",
			    !strcmp(tt_jstr(smi, "state"), "faulted"));
	bad += prom_differs(_metadata, text, "dsmil_smi_consecutive_faults",
			    tt_jnum(smi, "consecutive_faults"));
	bad += prom_differs(_metadata, text, "dsmil_smi_fault_limit", tt_jnum(smi, "fault_limit"));
	bad += prom_differs(_metadata, text, "dsmil_smi_in_flight", tt_jnum(smi, "in_flight"));
	bad += prom_differs_us(_metadata, text, "dsmil_smi_timeout_seconds",
			       tt_jnum(smi, "timeout_ms") * 1000);
	for (i = 0; i < (int)ARRAY_SIZE(smi_ctr); i++) {
		snprintf(key, sizeof(key), "dsmil_smi_%s_total", smi_ctr[i]);
		bad += prom_differs(_metadata, text, key, tt_jnum(smi, "counters.%s", smi_ctr[i]));
	}
	bad += prom_differs_us(_metadata, text, "dsmil_smi_spacing_wait_seconds_total",
			       tt_jnum(smi, "counters.spacing_wait_us"));
	bad += prom_differs_us(_metadata, text, "dsmil_smi_max_latency_seconds",
			       tt_jnum(smi, "counters.max_latency_us"));
	/* Cumulative buckets; le = the JSON's below_us, in seconds. */
	n = tt_jlen(smi, "latency_hist");
	for (i = 0; i < n; i++) {
		uint64_t below;

		cum += tt_jnum(smi, "latency_hist[%d].count", i);
		if (tt_jtype(smi, "latency_hist[%d].below_us", i) == TJ_NULL)
			break;
		below = tt_jnum(smi, "latency_hist[%d].below_us", i);
		snprintf(key, sizeof(key), "dsmil_smi_latency_seconds_bucket{le=\"%llu.%06llu\"}",
			 (unsigned long long)below / 1000000, (unsigned long long)below % 1000000);
		bad += prom_differs(_metadata, text, key, cum);
	}
	if (i != n - 1) {
		TH_LOG("only the last bucket may be open (stopped at %d of %d)", i, n);
		bad++;
	}
	bad += prom_differs(_metadata, text, "dsmil_smi_latency_seconds_bucket{le=\"+Inf\"}", cum);
	bad += prom_differs(_metadata, text, "dsmil_smi_latency_seconds_count", cum);

	n = tt_jlen(dv, "devices");
	for (i = 0; i < n; i++) {
		const char *s = tt_jstr(dv, "devices[%d].state", i);
		unsigned int k;

		snprintf(key, sizeof(key), "dsmil_device_state{device=\"%s\",group=\"%llu\",state=\"%s\"}",
			 tt_jstr(dv, "devices[%d].name", i),
			 (unsigned long long)tt_jnum(dv, "devices[%d].group", i), s);
		bad += prom_differs(_metadata, text, key, 1);
		for (k = 0; k < ARRAY_SIZE(states); k++)
			per_state[k] += !strcmp(s, states[k]);
	}
	for (i = 0; i < (int)ARRAY_SIZE(states); i++) {
		snprintf(key, sizeof(key), "dsmil_devices{state=\"%s\"}", states[i]);
		bad += prom_differs(_metadata, text, key, per_state[i]);
	}

	bad += prom_differs(_metadata, text, "dsmil_mmio_resident_chunks", tt_jnum(ch, "resident"));
	bad += prom_differs(_metadata, text, "dsmil_mmio_max_resident_chunks",
			    tt_jnum(ch, "max_resident"));
	for (i = 0; i < (int)ARRAY_SIZE(mmio_ctr); i++) {
		snprintf(key, sizeof(key), "dsmil_mmio_%s_total", mmio_ctr[i][0]);
		bad += prom_differs(_metadata, text, key, tt_jnum(ch, "counters.%s", mmio_ctr[i][1]));
	}
	return bad;
}

/*
 * The text format's rules, line by line: every sample's family has its
 * HELP and TYPE before it, names are [a-z_], counters end in _total, values
 * are numbers.  Returns the number of broken lines.
 */
static int prom_lint(struct __test_metadata *_metadata, const char *text,
		     int *samples)
{
	char fam[128] = "", type[16] = "", line[512];
	const char *p = text;
	int bad = 0;

	*samples = 0;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char name[128], *sp;
		size_t nl;

		if (!eol) {
			TH_LOG("the last line has no newline");
			return bad + 1;
		}
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p = eol + 1;
		if (sscanf(line, "# HELP %127s ", name) == 1) {
			snprintf(fam, sizeof(fam), "%s", name);
			type[0] = '\0';
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			if (strcmp(name, fam) || (strcmp(type, "counter") &&
						  strcmp(type, "gauge") && strcmp(type, "histogram"))) {
				TH_LOG("TYPE without its HELP, or an odd type: %s", line);
				bad++;
			}
			continue;
		}
		(*samples)++;
		nl = strspn(line, "abcdefghijklmnopqrstuvwxyz_");
		snprintf(name, sizeof(name), "%.*s", (int)nl, line);
		sp = strrchr(line, ' ');
		if (!sp || (line[nl] != ' ' && line[nl] != '{') || !type[0] ||
		    strspn(sp + 1, "0123456789.") != strlen(sp + 1) ||
		    (strcmp(type, "histogram") ? strcmp(name, fam) :
		     strncmp(name, fam, strlen(fam))) ||
		    (!strcmp(type, "counter") && strlen(name) < 6) ||
		    (!strcmp(type, "counter") && strcmp(name + strlen(name) - 6, "_total"))) {
			TH_LOG("a bad sample line (family %s, type %s): %s", fam, type, line);
			bad++;
		}
	}
	return bad;
}

/* A whole run of `dsmilctl --json CMD`, parsed. */
static struct tt_json *json_of(struct __test_metadata *_metadata, const char *cmd)
{
	struct tt_json *j;
	struct tt_run r;

	if (tt_sh(&r, CTL " --json %s", cmd))
		return NULL;
	EXPECT_EXIT(&r, 0);
	j = must_parse(_metadata, &r);
	tt_run_free(&r);
	return j;
}

TEST_F_TIMEOUT(ctl, metrics_equal_the_json, 120)
{
	struct tt_json *st, *smi, *dv, *ch;
	struct dsmil_stats s0, s1;
	static char text[256 * 1024], old[256 * 1024], mut[256 * 1024];
	struct stat a, b;
	struct tt_run r;
	char *at, buf[64];
	int fd, samples, i;

	NEED(DSMIL_FEAT_SMI, "SMI");
	NEED(DSMIL_FEAT_DEVICES, "device");
	/* Something to count: bad input, a device up, reads, a timeout. */
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, _IO(DSMIL_IOC_MAGIC, 0x0f)));
	close(fd);
	ASSERT_EQ(0, dev_bring_up(-1, 0, true));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
		EXPECT_EXIT(&r, 0);
		tt_run_free(&r);
	}
	SIM_SET("fault", "hang");
	ASSERT_EQ(0, tt_sh(&r, CTL " token read 0 power"));
	EXPECT_EXIT(&r, 5);
	tt_run_free(&r);
	SIM_SET("fault", "none");
	ASSERT_EQ(0, tt_sh(&r, CTL " chunks"));
	tt_run_free(&r);

	/* The file, then the JSON of each command: nothing moves in between. */
	mkdir(PROM_DIR, 0755);
	unlink(PROM_FILE);
	ASSERT_EQ(0, dsmil_stats(-1, &s0));
	ASSERT_EQ(0, tt_sh(&r, CTL " metrics -o " PROM_FILE));
	ASSERT_EXIT(&r, 0);
	EXPECT_STREQ("", r.out);
	tt_run_free(&r);
	st = json_of(_metadata, "stats");
	smi = json_of(_metadata, "smi status");
	dv = json_of(_metadata, "devices");
	ch = json_of(_metadata, "chunks");
	ASSERT_EQ(0, dsmil_stats(-1, &s1));
	ASSERT_TRUE(st && smi && dv && ch);
	ASSERT_LT(0, read_text(PROM_FILE, text, sizeof(text)));

	EXPECT_LE(4, tt_jnum(smi, "counters.successes"));
	EXPECT_LE(1, tt_jnum(smi, "counters.timeouts") + tt_jnum(smi, "counters.hangs"));
	EXPECT_EQ(0, prom_compare(_metadata, text, st, smi, dv, ch, s0.ioctls, s1.ioctls));
	EXPECT_EQ(0, prom_lint(_metadata, text, &samples));
	EXPECT_LE(72 + 6 + 19 + 40, samples);

	/* Control: one value changed is seen, and so is a broken line. */
	TH_LOG("control: the next two lines must report a changed value and a bad name");
	snprintf(mut, sizeof(mut), "%s", text);
	at = strstr(mut, "\ndsmil_smi_requests_total ");
	ASSERT_NE(NULL, at);
	at = strchr(at + 1, ' ') + 1;
	*at = *at == '9' ? '8' : *at + 1;
	EXPECT_EQ(1, prom_compare(_metadata, mut, st, smi, dv, ch, s0.ioctls, s1.ioctls));
	at = strstr(mut, "\ndsmil_mmio_maps_total ");
	ASSERT_NE(NULL, at);
	memcpy(at + 1, "dsmil_mmio_mapz", 15);
	EXPECT_LE(1, prom_lint(_metadata, mut, &samples));

	/*
	 * Atomic replacement: a reader holding the old file keeps reading a
	 * whole old file, the name now points at a new one, and no temporary
	 * file is left beside it.
	 */
	fd = open(PROM_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &a));
	EXPECT_EQ(0644, a.st_mode & 07777);
	ASSERT_EQ(0, tt_sh(&r, CTL " metrics -o " PROM_FILE));
	ASSERT_EXIT(&r, 0);
	tt_run_free(&r);
	ASSERT_EQ(0, stat(PROM_FILE, &b));
	EXPECT_NE(a.st_ino, b.st_ino);
	i = pread(fd, old, sizeof(old) - 1, 0);
	ASSERT_LT(0, i);
	old[i] = '\0';
	EXPECT_STREQ(text, old);
	close(fd);
	ASSERT_EQ(0, tt_sh(&r, "ls -a " PROM_DIR));
	EXPECT_STREQ(".\n..\ndsmil.prom\n", r.out);
	tt_run_free(&r);

	/* Without the driver: dsmil_up 0 alone, exit 6. */
	ASSERT_EQ(0, dsmil_unload_wait(5000));
	ASSERT_EQ(0, tt_sh(&r, CTL " metrics -o " PROM_FILE));
	EXPECT_EXIT(&r, 6);
	tt_run_free(&r);
	ASSERT_LT(0, read_text(PROM_FILE, text, sizeof(text)));
	EXPECT_STREQ("0", prom_get(text, "dsmil_up", buf, sizeof(buf)));
	EXPECT_EQ(NULL, prom_get(text, "dsmil_ioctls_total", buf, sizeof(buf)));
	ASSERT_EQ(0, dsmil_reload(NULL));

	tt_json_free(st);
	tt_json_free(smi);
	tt_json_free(dv);
	tt_json_free(ch);
}

TEST_HARNESS_MAIN
