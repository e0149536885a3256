// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl: command-line control of the dsmil driver through /dev/dsmil.
 *
 * One command with subcommands, --help at every level, --json on every
 * command that prints data (one JSON document on stdout, field names
 * documented in Documentation/dsmil-tools.rst), errors in words on stderr and
 * exit codes a script can trust (see exit_codes_text below and dsmilctl(8)).
 *
 * Every argument is validated before the ioctl that acts on it, so a typo
 * never reaches the driver; the driver still checks everything again.
 *
 * This file: the global options (--json, --node), the top-level command
 * table, and help for every command, looked up across the objects' tables.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "main.h"

#define DEFAULT_NODE	"/dev/dsmil"

struct ctx ctl = { .node = DEFAULT_NODE, .fd = -1 };

/* ---- help ---------------------------------------------------------------- */

static const char exit_codes_text[] =
"Exit status:\n"
"  0  success\n"
"  1  other error (including a command this driver does not implement)\n"
"  2  usage error: bad command line, nothing was sent to the driver\n"
"  3  permission refused (EPERM, EACCES): not root, a missing capability,\n"
"     kernel lockdown, or hardware writes not allowed (allow_writes=0)\n"
"  4  device or state refused (ENODEV, EBUSY, ENOLINK, EINVAL, ERANGE,\n"
"     EAGAIN): the device's state, a dependency or a dependent forbids it\n"
"  5  hardware timeout or fault (ETIMEDOUT, EIO, ESHUTDOWN)\n"
"  6  driver not loaded (no /dev/dsmil)\n"
"  7  outcome unknown (EINPROGRESS): the firmware call may still complete;\n"
"     'dsmilctl smi result ID' tells how it ended\n";

const struct help main_help[] = {
	{ "", "dsmilctl [--json] [--node PATH] COMMAND [ARGS...]",
"Control the dsmil driver (Dell Latitude 5450 MIL-SPEC DSMIL devices).\n"
"\n"
"Commands:\n"
"  info                          driver version, features, geometry, backends\n"
"  devices [--group G]           the devices: id, name, function, state, flags\n"
"  device DEV ACTION             ACTION: activate, deactivate, reset, lock\n"
"  group G emergency-stop        lock group G and every group depending on it\n"
"  audit [--since SEQ] [--writes] the audit trail: transitions, or writes\n"
"  token read G POSITION         read the SMI token of group G at POSITION\n"
"  token write G POSITION VALUE  write it (needs allow_writes)\n"
"  smi status                    SMI engine state, counters, latency histogram\n"
"  smi recover                   reset a FAULTED SMI backend\n"
"  mmio read OFFSET [--width N] [--device DEV]\n"
"  mmio write OFFSET VALUE [--width N] [--device DEV]\n"
"  mmio dump OFFSET LEN [-o FILE] [--device DEV]\n"
"  chunks [--verbose]            picture of the MMIO chunks and the mapper\n"
"  stats                         driver-wide counters\n"
"  metrics [-o FILE]             every counter and state, Prometheus text format\n"
"  help [COMMAND...]             help for a command (same as COMMAND --help)\n"
"\n"
"Options (anywhere on the line):\n"
"  --json         print one JSON document on stdout (also on error)\n"
"  --node PATH    the device node (default /dev/dsmil)\n"
"  -h, --help     help for the command given before it\n"
"  -V, --version  version and ABI\n"
"\n"
"DEV is a device id 0..71, G:I (group, index), or a name DSMIL<g>D<i> with\n"
"the index in hex (DSMIL0DA), case-insensitive.  Numbers are decimal or 0x\n"
"hex.  POSITION is power, memory, storage or sensor.\n" },
	{ "help", "dsmilctl help [COMMAND...]", "Show help for a command.\n" },
	{ NULL },
};

static const struct help *const help_tables[] = {
	main_help, info_help, device_help, audit_help, smi_help, mmio_help,
	metrics_help,
};

static const struct help *find_help(const char *path)
{
	const struct help *h;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(help_tables); i++)
		for (h = help_tables[i]; h->path; h++)
			if (!strcmp(h->path, path))
				return h;
	return NULL;
}

int print_help(const char *path)
{
	const struct help *h = find_help(path);

	if (!h)
		h = &main_help[0];
	printf("Usage: %s\n\n%s", h->synopsis, h->text);
	if (!*h->path)
		printf("\n%s", exit_codes_text);
	else
		printf("\nCommon options: --json, --node PATH, -h/--help.\n"
		       "Exit status: 0 ok, 1 other, 2 usage, 3 permission refused,\n"
		       "4 device/state refused, 5 hardware timeout or fault,\n"
		       "6 driver not loaded, 7 outcome unknown (see 'dsmilctl --help').\n");
	return DSU_EXIT_OK;
}

int usage_error(const char *path, const char *fmt, ...)
{
	const struct help *h = find_help(path);
	va_list ap;

	va_start(ap, fmt);
	dsu_verr(fmt, ap);
	va_end(ap);
	if (h)
		fprintf(stderr, "Usage: %s\n", h->synopsis);
	fprintf(stderr, "Try 'dsmilctl %s%s--help'.\n", path, *path ? " " : "");
	return DSU_EXIT_USAGE;
}

/* "'a', 'b' or 'c'" (@quote) or "a, b, c": the commands of a table. */
static void cmd_names(const struct cmd *cmds, bool quote, char *buf,
		      size_t len)
{
	const char *q = quote ? "'" : "";
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; cmds[i].name && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s%s%s",
			      !i ? "" : !quote || cmds[i + 1].name ? ", " : " or ",
			      q, cmds[i].name, q);
}

int cmd_select(const char *object, const struct cmd *cmds, int argc,
	       char **argv)
{
	static char cmdname[64];
	char names[128];
	int i;

	if (argc < 2) {
		cmd_names(cmds, true, names, sizeof(names));
		return usage_error(object, "missing %s", names);
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return print_help(object);
	for (i = 0; cmds[i].name; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		snprintf(cmdname, sizeof(cmdname), "%s %s", object, argv[1]);
		ctl.cmd = cmdname;
		return cmds[i].func(argc - 1, argv + 1);
	}
	cmd_names(cmds, false, names, sizeof(names));
	return usage_error(object, "unknown %s command '%s' (%s)", object,
			   argv[1], names);
}

/* ---- main ---------------------------------------------------------------- */

static const struct cmd cmds[] = {
	{ "info", do_info },
	{ "devices", do_devices },
	{ "device", do_device },
	{ "group", do_group },
	{ "audit", do_audit },
	{ "token", do_token },
	{ "smi", do_smi },
	{ "mmio", do_mmio },
	{ "chunks", do_chunks },
	{ "stats", do_stats },
	{ "metrics", do_metrics },
	{ NULL },
};

/* help [COMMAND...]: the words make the path ("token read"). */
static int do_help(int argc, char **argv)
{
	char path[64] = "";
	int i;

	for (i = 1; i < argc; i++) {
		size_t n = strlen(path);

		snprintf(path + n, sizeof(path) - n, "%s%s", n ? " " : "", argv[i]);
	}
	if (!find_help(path))
		return usage_error("", "no help for '%s'", path);
	return print_help(path);
}

/*
 * --json and --node are accepted anywhere before a "--"; take them out so
 * that each subcommand parser sees only its own options.  Returns the new
 * argc, or -1 after a usage error.
 */
static int global_options(int argc, char **argv)
{
	int i, n;

	for (i = 1, n = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json")) {
			ctl.json = true;
			continue;
		}
		if (!strcmp(argv[i], "--node") || !strncmp(argv[i], "--node=", 7)) {
			if (argv[i][6] == '=')
				ctl.node = argv[i] + 7;
			else if (i + 1 < argc)
				ctl.node = argv[++i];
			else
				return -1;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

int main(int argc, char **argv)
{
	int i, rc;

	dsu_prog = "dsmilctl";
	argc = global_options(argc, argv);
	if (argc < 0)
		return usage_error("", "option '--node' needs a value");
	if (argc < 2)
		return usage_error("", "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return print_help("");
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("dsmilctl (dsmil tools), uapi ABI %d\n", DSMIL_ABI_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help"))
		return do_help(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return usage_error("", "unknown option '%s'", argv[1]);
	for (i = 0; cmds[i].name; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		/* An object with subcommands names the one it runs. */
		ctl.cmd = argv[1];
		rc = cmds[i].func(argc - 1, argv + 1);
		if (ctl.fd >= 0)
			close(ctl.fd);
		if (fflush(stdout) && rc == 0) {
			dsu_err("writing the output: %s", strerror(errno));
			rc = DSU_EXIT_OTHER;
		}
		return rc;
	}
	return usage_error("", "unknown command '%s'", argv[1]);
}
