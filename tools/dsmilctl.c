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
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dsmil_ioctl.h"
#include "lib/dsmil_util.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DEFAULT_NODE	"/dev/dsmil"
#define DUMP_BLOCK	(1U << 20)

struct ctx {
	const char *node;
	const char *cmd;	/* "token read": for messages */
	bool json;
	bool json_done;		/* a JSON document went to stdout already */
	const char *tail;	/* appended to the next failure message */
	int fd;
};

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

struct help {
	const char *path;
	const char *synopsis;
	const char *text;
};

static const struct help helps[] = {
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
	{ "info", "dsmilctl info [--json]",
"Show the driver's ABI version, features (devices, smi, mmio, writes,\n"
"lockdown), device geometry, MMIO region and chunk geometry and backends.\n" },
	{ "devices", "dsmilctl devices [--group G] [--json]",
"List the devices with their id, name, function, state, group state,\n"
"dependencies and flags (quarantined, SMI token).  --group G lists one group\n"
"(0..5).\n" },
	{ "device", "dsmilctl device DEV activate|deactivate|reset|lock [--json]",
"Change a device's state, one legal transition at a time:\n"
"  activate    OFFLINE -> INITIALIZING -> READY -> ACTIVE, from wherever the\n"
"              device is (ERROR starts again at INITIALIZING).  A LOCKED\n"
"              device is refused: reset it first (locks are deliberate).\n"
"  deactivate  ACTIVE -> READY (nothing to do when READY).\n"
"  reset       to OFFLINE: via ERROR, as the state table allows.\n"
"  lock        any state -> LOCKED.\n"
"Needs CAP_SYS_ADMIN.  When the driver refuses a step the message names the\n"
"errno and the driver's reason (dependency, dependent, quarantined...).\n" },
	{ "group", "dsmilctl group G emergency-stop [--json]",
"Emergency stop: the driver locks every device of group G (0..5) and of every\n"
"group depending on it, in one step.  Needs CAP_SYS_ADMIN.\n" },
	{ "audit", "dsmilctl audit [--since SEQ] [--writes] [--json]",
"Show the driver's audit trail: the last 256 transitions, accepted and\n"
"refused, with time, pid, uid, device, states, result and reason.\n"
"--writes shows the write audit instead: the last 256 token and MMIO\n"
"writes, with time, request id, pid, uid, command, what was written where,\n"
"the value before and the value read back (tokens), how far the write got\n"
"and its result; a read-back that contradicts the write is a mismatch.\n"
"--since SEQ shows entries with sequence number >= SEQ.  Needs CAP_SYS_ADMIN.\n" },
	{ "token", "dsmilctl token read G POSITION | token write G POSITION VALUE",
"Read or write the SMI token of group G (0..5) at POSITION (power, memory,\n"
"storage, sensor; the token is 0x480 + 12 * G + position, owned by device\n"
"DSMIL<G>D<position>).  See 'token read --help', 'token write --help'.\n" },
	{ "token read", "dsmilctl token read G POSITION [--json]",
"Read a token.  Needs CAP_SYS_RAWIO and the owning device READY or ACTIVE.\n" },
	{ "token write", "dsmilctl token write G POSITION VALUE [--json]",
"Write VALUE (0..0xffffffff) to a token.  Needs CAP_SYS_RAWIO, the\n"
"allow_writes module parameter, no kernel lockdown and the owning device\n"
"ACTIVE and not quarantined.  The driver reads the token first, writes it\n"
"and reads it back ('audit --writes' shows all three); a read-back that\n"
"differs from VALUE fails the write (EIO, exit 5).\n" },
	{ "smi", "dsmilctl smi status | smi recover | smi result ID",
"The SMI engine.  See 'smi status --help', 'smi recover --help',\n"
"'smi result --help'.\n" },
	{ "smi status", "dsmilctl smi status [--json]",
"Show the SMI backend, its state (OK or FAULTED), its settings, its counters\n"
"and a log2 histogram of request latency.\n" },
	{ "smi recover", "dsmilctl smi recover [--json]",
"Reset a FAULTED SMI backend so requests reach it again.  After a failed\n"
"recovery the driver makes the next try wait (exponential backoff): a try\n"
"too early is refused (EAGAIN, exit 4).  Needs CAP_SYS_ADMIN and\n"
"CAP_SYS_RAWIO.\n" },
	{ "smi result", "dsmilctl smi result ID [--json]",
"How token request ID ended.  A token read or write whose outcome was not\n"
"known when it returned (exit 7, EINPROGRESS: the firmware call was still\n"
"running at the deadline, or its abort failed) names its request id; the\n"
"driver keeps the final outcome of its last 64 requests.  Exit 7 while the\n"
"request has not ended, 1 (ENOENT) for an id it does not keep.  An\n"
"outcome 'unknown' means a reset ended it after its abort failed: whether a\n"
"write was applied is not known.  Needs CAP_SYS_RAWIO.\n" },
	{ "mmio", "dsmilctl mmio read|write|dump ...",
"Access the DSMIL MMIO region (or one device's 4 KiB window with --device).\n"
"See 'mmio read --help', 'mmio write --help', 'mmio dump --help'.\n" },
	{ "mmio read", "dsmilctl mmio read OFFSET [--width N] [--device DEV] [--json]",
"Read 1, 2, 4 or 8 bytes (--width, default 4) at OFFSET, naturally aligned.\n"
"With --device, OFFSET is inside the device's 4 KiB window and the device\n"
"must be READY or ACTIVE.  Needs CAP_SYS_RAWIO; refused under lockdown.\n" },
	{ "mmio write", "dsmilctl mmio write OFFSET VALUE [--width N] [--device DEV] [--json]",
"Write VALUE (it must fit in --width bytes, default 4) at OFFSET.  Needs\n"
"CAP_SYS_RAWIO, allow_writes, no lockdown; with --device the device must be\n"
"ACTIVE and not quarantined.\n" },
	{ "mmio dump", "dsmilctl mmio dump OFFSET LEN [-o FILE] [--device DEV] [--json]",
"Read LEN bytes (suffix K, M or G allowed) from OFFSET.  With -o FILE the raw\n"
"bytes go to FILE (- for stdout), else a hex dump goes to stdout.  Progress\n"
"is shown on stderr when it is a terminal.  --json prints a summary and\n"
"needs -o.  Needs CAP_SYS_RAWIO; refused under lockdown.\n" },
	{ "chunks", "dsmilctl chunks [--verbose] [--json]",
"Draw the MMIO region's chunks: '#' resident (mapped now), '+' idle (mapped\n"
"before, unmapped now), '.' never mapped; with the counts, the resident cap\n"
"and the mapper's counters.  --verbose adds a line per chunk ever mapped.\n" },
	{ "stats", "dsmilctl stats [--json]",
"Show the driver-wide counters: ioctl calls, bad input, denials, transitions\n"
"and refusals by reason.\n" },
	{ "help", "dsmilctl help [COMMAND...]", "Show help for a command.\n" },
};

static const struct help *find_help(const char *path)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(helps); i++)
		if (!strcmp(helps[i].path, path))
			return &helps[i];
	return NULL;
}

static int print_help(const char *path)
{
	const struct help *h = find_help(path);

	if (!h)
		h = &helps[0];
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

static int usage_error(const char *path, const char *fmt, ...)
{
	const struct help *h = find_help(path);
	va_list ap;

	fputs("dsmilctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (h)
		fprintf(stderr, "Usage: %s\n", h->synopsis);
	fprintf(stderr, "Try 'dsmilctl %s%s--help'.\n", path, *path ? " " : "");
	return DSU_EXIT_USAGE;
}

/* ---- command-line parsing ------------------------------------------------ */

enum {
	OPT_GROUP	= 1 << 0,
	OPT_WIDTH	= 1 << 1,
	OPT_DEVICE	= 1 << 2,
	OPT_OUTPUT	= 1 << 3,
	OPT_SINCE	= 1 << 4,
	OPT_VERBOSE	= 1 << 5,
	OPT_WRITES	= 1 << 6,
};

struct args {
	const char *path;
	int npos;
	char **pos;
	const char *group;
	const char *width;
	const char *device;
	const char *output;
	const char *since;
	bool verbose;
	bool writes;
};

/*
 * Parse the options of a (sub)command.  @argv[0] is the command word.
 * Returns -1 to go on, or the exit status: 0 after --help, 2 after a usage
 * error (message printed).
 */
static int parse_args(const char *path, unsigned int allowed, int min_pos,
		      int max_pos, int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "group",   required_argument, NULL, 'g' },
		{ "width",   required_argument, NULL, 'w' },
		{ "device",  required_argument, NULL, 'd' },
		{ "output",  required_argument, NULL, 'o' },
		{ "since",   required_argument, NULL, 's' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "writes",  no_argument,       NULL, 'W' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char shortopts[] = ":g:w:d:o:s:vh";
	int c, longindex = -1;
	char name[96];

	memset(a, 0, sizeof(*a));
	a->path = path;
	optind = 0;	/* GNU: reinitialise, we parse several argv's */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts,
				&longindex)) != -1) {
		unsigned int bit = 0;

		switch (c) {
		case 'h':
			return print_help(path);
		case 'g':
			a->group = optarg;
			bit = OPT_GROUP;
			break;
		case 'w':
			a->width = optarg;
			bit = OPT_WIDTH;
			break;
		case 'd':
			a->device = optarg;
			bit = OPT_DEVICE;
			break;
		case 'o':
			a->output = optarg;
			bit = OPT_OUTPUT;
			break;
		case 's':
			a->since = optarg;
			bit = OPT_SINCE;
			break;
		case 'v':
			a->verbose = true;
			bit = OPT_VERBOSE;
			break;
		case 'W':
			a->writes = true;
			bit = OPT_WRITES;
			break;
		default:	/* '?', ':' */
			return usage_error(path, "%s",
					   dsu_getopt_error(c, argv, shortopts,
							    name, sizeof(name)));
		}
		if (!(allowed & bit))
			return usage_error(path, "option '%s' does not apply here",
					   dsu_option_name(c, longindex,
							   longopts, name,
							   sizeof(name)));
		longindex = -1;
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	if (a->npos < min_pos)
		return usage_error(path, "missing argument");
	if (a->npos > max_pos)
		return usage_error(path, "unexpected argument '%s'",
				   a->pos[max_pos]);
	return -1;
}

/* Number argument; returns -1 or the usage exit status after a message. */
static int arg_u64(const struct args *a, const char *what, const char *s,
		   uint64_t max, uint64_t *v)
{
	int ret = dsu_parse_u64(s, max, v);

	if (ret == -ERANGE)
		return usage_error(a->path, "%s '%s' is out of range (0..%#" PRIx64 ")",
				   what, s, max);
	if (ret)
		return usage_error(a->path, "%s '%s' is not a number (decimal or 0x hex)",
				   what, s);
	return -1;
}

static int arg_group(const struct args *a, const char *s, unsigned int *g)
{
	uint64_t v;
	int ret = dsu_parse_u64(s, DSMIL_NUM_GROUPS - 1, &v);

	if (ret)
		return usage_error(a->path, "group '%s' is not a group number 0..%d",
				   s, DSMIL_NUM_GROUPS - 1);
	*g = v;
	return -1;
}

static int arg_device(const struct args *a, const char *s, unsigned int *id)
{
	int ret = dsu_parse_device(s, id);

	if (ret == -ERANGE)
		return usage_error(a->path,
				   "device '%s' does not exist (ids 0..%d, DSMIL0D0..DSMIL%dDB)",
				   s, DSMIL_NUM_DEVICES - 1, DSMIL_NUM_GROUPS - 1);
	if (ret)
		return usage_error(a->path,
				   "device '%s' is not an id, G:I or DSMIL<g>D<i> name", s);
	return -1;
}

/* ---- talking to the driver ----------------------------------------------- */

static void json_error(struct ctx *c, struct dsj *j, const char *msg, int err,
		       int reason, int code)
{
	dsj_obj_begin(j, "error");
	dsj_str(j, "command", c->cmd);
	dsj_str(j, "message", msg);
	if (err) {
		dsj_str(j, "errno", dsu_errno_name(err));
		dsj_i64(j, "errno_value", err);
		dsj_str(j, "strerror", strerror(err));
	} else {
		dsj_null(j, "errno");
		dsj_null(j, "errno_value");
		dsj_null(j, "strerror");
	}
	if (reason > 0)
		dsj_str(j, "reason", dsu_reason_name(reason));
	else
		dsj_null(j, "reason");
	dsj_i64(j, "exit_code", code);
	dsj_obj_end(j);
}

/*
 * Report a failure in words on stderr (and, with --json, as the JSON
 * document unless one was printed).  @reason is an enum dsmil_reason the
 * driver gave, or -1; @code the exit status, or -1 for the errno's.
 * Returns the exit status.
 */
static int vfail(struct ctx *c, int code, int err, int reason,
		 const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	if (code < 0)
		code = err ? dsu_exit_for_errno(err) : DSU_EXIT_OTHER;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (err == ENOTTY)
		snprintf(msg + n, sizeof(msg) - n,
			 ": the loaded dsmil driver does not implement this command (ENOTTY); "
			 "see 'dsmilctl info' for its features");
	else if (err)
		snprintf(msg + n, sizeof(msg) - n, ": %s (%s)", strerror(err),
			 dsu_errno_name(err));
	n = strlen(msg);
	if (reason > 0)
		snprintf(msg + n, sizeof(msg) - n, "; driver's reason: %s (%s)",
			 dsu_reason_name(reason), dsu_reason_text(reason));
	n = strlen(msg);
	if (c->tail)
		snprintf(msg + n, sizeof(msg) - n, "%s", c->tail);
	c->tail = NULL;
	fprintf(stderr, "dsmilctl: %s\n", msg);
	if (c->json && !c->json_done) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		json_error(c, &j, msg, err, reason, code);
		dsj_obj_end(&j);
		dsj_end(&j);
		c->json_done = true;
	}
	return code;
}

static int fail(struct ctx *c, int err, int reason, const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = vfail(c, -1, err, reason, fmt, ap);
	va_end(ap);
	return code;
}

/* As fail(), with the exit status given. */
static int fail_code(struct ctx *c, int code, int err, int reason,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(c, code, err, reason, fmt, ap);
	va_end(ap);
	return code;
}

/* Open the node; returns -1 when open, else the exit status. */
static int open_node(struct ctx *c)
{
	struct stat st;
	int err;

	if (c->fd >= 0)
		return -1;
	c->fd = open(c->node, O_RDWR | O_CLOEXEC);
	if (c->fd >= 0)
		return -1;
	err = errno;
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		fprintf(stderr, "dsmilctl: driver not loaded: cannot open %s: %s (%s)%s\n",
			c->node, strerror(err), dsu_errno_name(err),
			stat("/sys/module/dsmil", &st) ?
			"; load it with 'modprobe dsmil'" :
			"; the dsmil module is loaded but the node is missing (devtmpfs/udev?)");
		if (c->json) {
			struct dsj j;

			dsj_init(&j, stdout, true);
			dsj_obj_begin(&j, NULL);
			json_error(c, &j, "driver not loaded", err, -1,
				   DSU_EXIT_NODRIVER);
			dsj_obj_end(&j);
			dsj_end(&j);
			c->json_done = true;
		}
		return DSU_EXIT_NODRIVER;
	case EACCES:
	case EPERM:
		return fail(c, err, -1, "permission refused: cannot open %s (root only)",
			    c->node);
	default:
		return fail(c, err, -1, "cannot open %s", c->node);
	}
}

/* ioctl returning 0 or the positive errno. */
static int xioctl(struct ctx *c, unsigned long cmd, void *arg)
{
	return ioctl(c->fd, cmd, arg) ? errno : 0;
}

static int get_info(struct ctx *c, struct dsmil_info *info)
{
	int err;

	memset(info, 0, sizeof(*info));
	err = xioctl(c, DSMIL_IOC_INFO, info);
	if (err)
		return fail(c, err, -1, "reading driver info");
	return -1;
}

static int get_dev(struct ctx *c, unsigned int id, struct dsmil_dev_info *di)
{
	memset(di, 0, sizeof(*di));
	di->id = id;
	return xioctl(c, DSMIL_IOC_DEV_INFO, di);
}

/*
 * "; DSMIL0D3 is OFFLINE" when the device's state explains a refusal.
 * Returns true when the device is quarantined.
 */
static bool state_hint(struct ctx *c, unsigned int id, char *buf, size_t len)
{
	struct dsmil_dev_info di;
	char name[16];

	buf[0] = '\0';
	if (get_dev(c, id, &di))
		return false;
	dsu_device_name(id, name, sizeof(name));
	snprintf(buf, len, "; %s is %s%s", name, dsu_state_name(di.state),
		 di.flags & DSMIL_DEVF_QUARANTINED ? " and quarantined" : "");
	return di.flags & DSMIL_DEVF_QUARANTINED;
}

/*
 * The exit status of an EPERM on a device-scoped write: a quarantined device
 * refuses every write (4), unless lockdown (3) refused it first.
 */
static int eperm_code(struct ctx *c, int err, bool quarantined)
{
	struct dsmil_info info;

	if (err != EPERM || !quarantined)
		return -1;
	memset(&info, 0, sizeof(info));
	if (!xioctl(c, DSMIL_IOC_INFO, &info) &&
	    (info.features & DSMIL_FEAT_LOCKDOWN))
		return -1;
	return DSU_EXIT_REFUSED;
}

static void json_device_ref(struct dsj *j, const char *key, unsigned int id)
{
	char name[16];

	dsu_device_name(id, name, sizeof(name));
	dsj_obj_begin(j, key);
	dsj_u64(j, "id", id);
	dsj_str(j, "name", name);
	dsj_obj_end(j);
}

/* ---- info ---------------------------------------------------------------- */

static const struct {
	unsigned int bit;
	const char *name;
} features[] = {
	{ DSMIL_FEAT_DEVICES,	"devices" },
	{ DSMIL_FEAT_SMI,	"smi" },
	{ DSMIL_FEAT_MMIO,	"mmio" },
	{ DSMIL_FEAT_WRITES,	"writes" },
	{ DSMIL_FEAT_LOCKDOWN,	"lockdown" },
	{ DSMIL_FEAT_WRITE_FENCE, "write-fence" },
};

static int cmd_info(struct ctx *c, int argc, char **argv)
{
	struct dsmil_info info;
	struct args a;
	size_t i;
	int rc;

	rc = parse_args("info", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	rc = get_info(c, &info);
	if (rc >= 0)
		return rc;

	if (info.abi_version != DSMIL_ABI_VERSION)
		fprintf(stderr, "dsmilctl: warning: driver ABI %u, dsmilctl built for ABI %u\n",
			info.abi_version, (unsigned int)DSMIL_ABI_VERSION);
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "abi_version", info.abi_version);
		dsj_u64(&j, "tool_abi_version", DSMIL_ABI_VERSION);
		dsj_arr_begin(&j, "features");
		for (i = 0; i < ARRAY_SIZE(features); i++)
			if (info.features & features[i].bit)
				dsj_str(&j, NULL, features[i].name);
		dsj_arr_end(&j);
		dsj_u64(&j, "num_groups", info.num_groups);
		dsj_u64(&j, "devs_per_group", info.devs_per_group);
		dsj_u64(&j, "num_devices", info.num_devices);
		dsj_u64(&j, "region_base", info.region_base);
		dsj_u64(&j, "region_size", info.region_size);
		dsj_u64(&j, "num_chunks", info.num_chunks);
		dsj_u64(&j, "chunk_size", info.chunk_size);
		dsj_u64(&j, "max_resident", info.max_resident);
		dsj_strn(&j, "smi_backend", (char *)info.smi_backend,
			 sizeof(info.smi_backend));
		dsj_strn(&j, "mmio_backend", (char *)info.mmio_backend,
			 sizeof(info.mmio_backend));
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("dsmil driver, ABI %u (dsmilctl ABI %u)\n", info.abi_version,
	       (unsigned int)DSMIL_ABI_VERSION);
	printf("features:      ");
	for (i = 0; i < ARRAY_SIZE(features); i++)
		if (info.features & features[i].bit)
			printf("%s ", features[i].name);
	printf("\ndevices:       %u (%u groups x %u)\n", info.num_devices,
	       info.num_groups, info.devs_per_group);
	printf("smi backend:   %.*s\n", (int)sizeof(info.smi_backend),
	       (char *)info.smi_backend);
	printf("mmio backend:  %.*s\n", (int)sizeof(info.mmio_backend),
	       (char *)info.mmio_backend);
	if (info.region_base)
		printf("region:        %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " MiB)\n",
		       (uint64_t)info.region_base,
		       (uint64_t)(info.region_base + info.region_size - 1),
		       (uint64_t)info.region_size >> 20);
	else
		printf("region:        simulated, %" PRIu64 " MiB\n",
		       (uint64_t)info.region_size >> 20);
	printf("chunks:        %u x %u MiB, at most %u mapped at once\n",
	       info.num_chunks, info.chunk_size >> 20, info.max_resident);
	return 0;
}

/* ---- devices ------------------------------------------------------------- */

static int list_devices(struct ctx *c, struct dsmil_dev_info *devs,
			unsigned int *count)
{
	struct dsmil_dev_list dl;
	int err;

	memset(devs, 0, sizeof(*devs) * DSMIL_NUM_DEVICES);
	memset(&dl, 0, sizeof(dl));
	dl.buf = (uintptr_t)devs;
	dl.count = DSMIL_NUM_DEVICES;
	err = xioctl(c, DSMIL_IOC_DEV_LIST, &dl);
	if (err)
		return fail(c, err, -1, "listing devices");
	*count = dl.count < DSMIL_NUM_DEVICES ? dl.count : DSMIL_NUM_DEVICES;
	return -1;
}

static void needs_text(const struct dsmil_dev_info *d, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int b;

	buf[0] = '\0';
	for (b = 0; b < DSMIL_NUM_GROUPS && n < len; b++)
		if (d->dep_groups & (1U << b))
			n += snprintf(buf + n, len - n, "%sG%u", n ? "," : "", b);
	for (b = 0; b < DSMIL_DEVS_PER_GROUP && n < len; b++)
		if (d->dep_devices & (1U << b))
			n += snprintf(buf + n, len - n, "%sD%X", n ? "," : "", b);
	if (!n)
		snprintf(buf, len, "-");
}

static void json_device(struct dsj *j, const struct dsmil_dev_info *d)
{
	unsigned int b;
	char name[16];

	dsj_obj_begin(j, NULL);
	dsj_u64(j, "id", d->id);
	dsj_strn(j, "name", (const char *)d->name, sizeof(d->name));
	dsj_u64(j, "group", d->group);
	dsj_u64(j, "index", d->index);
	dsj_strn(j, "function", (const char *)d->function, sizeof(d->function));
	dsj_str(j, "state", dsu_state_json(d->state));
	dsj_str(j, "group_state", dsu_group_state_json(d->group_state));
	dsj_bool(j, "quarantined", d->flags & DSMIL_DEVF_QUARANTINED);
	if (d->flags & DSMIL_DEVF_HAS_TOKEN)
		dsj_u64(j, "token", d->token);
	else
		dsj_null(j, "token");
	/* What the SMI backend found: present, absent or filtered. */
	if (!(d->flags & DSMIL_DEVF_HAS_TOKEN))
		dsj_null(j, "token_status");
	else if (d->flags & DSMIL_DEVF_TOKEN_ABSENT)
		dsj_str(j, "token_status", "absent");
	else if (d->flags & DSMIL_DEVF_TOKEN_FILTERED)
		dsj_str(j, "token_status", "filtered");
	else
		dsj_str(j, "token_status", "present");
	dsj_arr_begin(j, "needs_groups");
	for (b = 0; b < DSMIL_NUM_GROUPS; b++)
		if (d->dep_groups & (1U << b))
			dsj_u64(j, NULL, b);
	dsj_arr_end(j);
	dsj_arr_begin(j, "needs_devices");
	for (b = 0; b < DSMIL_DEVS_PER_GROUP; b++)
		if (d->dep_devices & (1U << b)) {
			dsu_device_name(d->group * DSMIL_DEVS_PER_GROUP + b,
					name, sizeof(name));
			dsj_str(j, NULL, name);
		}
	dsj_arr_end(j);
	dsj_u64(j, "transitions", d->transitions);
	dsj_obj_end(j);
}

static int cmd_devices(struct ctx *c, int argc, char **argv)
{
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	unsigned int i, count = 0, group = 0;
	bool one_group = false;
	int last_group = -1;
	struct args a;
	int rc;

	rc = parse_args("devices", OPT_GROUP, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.group) {
		rc = arg_group(&a, a.group, &group);
		if (rc >= 0)
			return rc;
		one_group = true;
	}
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	rc = list_devices(c, devs, &count);
	if (rc >= 0)
		return rc;

	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "total", count);
		if (one_group)
			dsj_u64(&j, "group", group);
		else
			dsj_null(&j, "group");
		dsj_arr_begin(&j, "devices");
		for (i = 0; i < count; i++)
			if (!one_group || devs[i].group == group)
				json_device(&j, &devs[i]);
		dsj_arr_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	for (i = 0; i < count; i++) {
		const struct dsmil_dev_info *d = &devs[i];
		char needs[64], flags[64];

		if (one_group && d->group != group)
			continue;
		if (d->group != last_group) {
			last_group = d->group;
			printf("%sgroup %u (%s): %s\n", i && !one_group ? "\n" : "",
			       d->group, dsu_group_name(d->group),
			       dsu_group_state_name(d->group_state));
			printf("  %-3s %-9s %-18s %-13s %-14s %s\n", "ID", "NAME",
			       "FUNCTION", "STATE", "NEEDS", "FLAGS");
		}
		needs_text(d, needs, sizeof(needs));
		flags[0] = '\0';
		if (d->flags & DSMIL_DEVF_HAS_TOKEN)
			snprintf(flags, sizeof(flags), "token=%#06x%s", d->token,
				 d->flags & DSMIL_DEVF_TOKEN_ABSENT ? "(absent)" :
				 d->flags & DSMIL_DEVF_TOKEN_FILTERED ?
				 "(filtered)" : "");
		if (d->flags & DSMIL_DEVF_QUARANTINED)
			snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags),
				 "%squarantined", flags[0] ? " " : "");
		printf("  %-3u %-9.16s %-18.24s %-13s %-14s %s\n", d->id,
		       (const char *)d->name, (const char *)d->function,
		       dsu_state_name(d->state), needs, flags[0] ? flags : "-");
	}
	return 0;
}

/* ---- device ACTION ------------------------------------------------------- */

enum action { ACT_ACTIVATE, ACT_DEACTIVATE, ACT_RESET, ACT_LOCK };

static const char *const action_names[] = {
	[ACT_ACTIVATE] = "activate", [ACT_DEACTIVATE] = "deactivate",
	[ACT_RESET] = "reset", [ACT_LOCK] = "lock",
};

#define MAX_STEPS	4

/*
 * The legal transitions that take a device in state @from where @act wants
 * it.  Returns the number of steps (0: already there), or -1 when the tool
 * refuses (message in @why).
 */
static int plan_steps(enum action act, unsigned int from, uint8_t *steps,
		      const char **why)
{
	static const uint8_t up[] = {
		DSMIL_DEV_INITIALIZING, DSMIL_DEV_READY, DSMIL_DEV_ACTIVE,
	};
	int n = 0;

	switch (act) {
	case ACT_ACTIVATE:
		switch (from) {
		case DSMIL_DEV_ACTIVE:
			return 0;
		case DSMIL_DEV_LOCKED:
			*why = "it is LOCKED (emergency stop or lock): 'reset' it first";
			return -1;
		case DSMIL_DEV_READY:
			steps[n++] = DSMIL_DEV_ACTIVE;
			return n;
		case DSMIL_DEV_INITIALIZING:
			steps[n++] = DSMIL_DEV_READY;
			steps[n++] = DSMIL_DEV_ACTIVE;
			return n;
		default:	/* OFFLINE, ERROR: both may go to INITIALIZING */
			memcpy(steps, up, sizeof(up));
			return sizeof(up);
		}
	case ACT_DEACTIVATE:
		if (from == DSMIL_DEV_READY)
			return 0;
		if (from != DSMIL_DEV_ACTIVE) {
			*why = "deactivate takes an ACTIVE device to READY";
			return -1;
		}
		steps[n++] = DSMIL_DEV_READY;
		return n;
	case ACT_RESET:
		if (from == DSMIL_DEV_OFFLINE)
			return 0;
		if (from != DSMIL_DEV_ERROR)
			steps[n++] = DSMIL_DEV_ERROR;
		steps[n++] = DSMIL_DEV_OFFLINE;
		return n;
	case ACT_LOCK:
		if (from == DSMIL_DEV_LOCKED)
			return 0;
		steps[n++] = DSMIL_DEV_LOCKED;
		return n;
	}
	*why = "unknown action";
	return -1;
}

struct step_result {
	uint8_t from, to, state, reason;
	int err;
};

static int cmd_device(struct ctx *c, int argc, char **argv)
{
	struct step_result res[MAX_STEPS];
	struct dsmil_dev_info di;
	uint8_t steps[MAX_STEPS];
	const char *why = NULL;
	enum action act;
	unsigned int id, cur;
	int i, n, done = 0, err = 0, rc, code;
	const char *verb;
	char name[16], hint[96] = "";
	struct args a;

	rc = parse_args("device", 0, 2, 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_device(&a, a.pos[0], &id);
	if (rc >= 0)
		return rc;
	for (act = 0; act < ARRAY_SIZE(action_names); act++)
		if (!strcasecmp(a.pos[1], action_names[act]))
			break;
	if (act == ARRAY_SIZE(action_names))
		return usage_error("device",
				   "unknown action '%s' (activate, deactivate, reset, lock)",
				   a.pos[1]);
	dsu_device_name(id, name, sizeof(name));

	rc = open_node(c);
	if (rc >= 0)
		return rc;
	err = get_dev(c, id, &di);
	if (err)
		return fail(c, err, -1, "%s: reading its state", name);
	cur = di.state;
	n = plan_steps(act, cur, steps, &why);
	if (n < 0)
		return fail_code(c, DSU_EXIT_REFUSED, 0, -1,
				 "%s %s: refused: %s is %s: %s", name,
				 action_names[act], name, dsu_state_name(cur), why);

	for (i = 0; i < n; i++) {
		struct dsmil_transition t;

		memset(&t, 0, sizeof(t));
		t.id = id;
		t.target = steps[i];
		err = xioctl(c, DSMIL_IOC_DEV_TRANSITION, &t);
		res[i].from = err ? cur : t.prev;
		res[i].to = steps[i];
		res[i].err = err;
		/* The driver copies the argument back on refusal too. */
		res[i].reason = err ? t.reason : DSMIL_REASON_NONE;
		res[i].state = t.state;
		done++;
		if (err) {
			if (t.reason || t.state || t.prev)
				res[i].from = t.prev;
			break;
		}
		cur = t.state;
	}
	/* A failed verification leaves the device in ERROR: say so. */
	if (err && dsu_exit_for_errno(err) == DSU_EXIT_HW)
		state_hint(c, id, hint, sizeof(hint));
	/*
	 * A capability refusal comes from the dispatcher, before the state
	 * machine, and carries no reason: EPERM with a reason (quarantined) is
	 * the device refusing, not a permission problem.
	 */
	code = dsu_exit_for_errno(err);
	if (code == DSU_EXIT_PERM && err && res[done - 1].reason)
		code = DSU_EXIT_REFUSED;
	verb = code == DSU_EXIT_HW ? "failed" : "refused";

	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		json_device_ref(&j, "device", id);
		dsj_str(&j, "action", action_names[act]);
		dsj_str(&j, "from", dsu_state_json(di.state));
		dsj_str(&j, "state", dsu_state_json(err ? res[done - 1].state : cur));
		dsj_bool(&j, "changed", done > 0 && (!err || done > 1));
		dsj_arr_begin(&j, "steps");
		for (i = 0; i < done; i++) {
			dsj_obj_begin(&j, NULL);
			dsj_str(&j, "from", dsu_state_json(res[i].from));
			dsj_str(&j, "to", dsu_state_json(res[i].to));
			dsj_bool(&j, "ok", !res[i].err);
			if (res[i].err)
				dsj_str(&j, "errno", dsu_errno_name(res[i].err));
			else
				dsj_null(&j, "errno");
			dsj_str(&j, "reason", dsu_reason_name(res[i].reason));
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		if (err) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s %s -> %s %s: %s%s", name,
				 dsu_state_name(res[done - 1].from),
				 dsu_state_name(res[done - 1].to), verb,
				 strerror(err), hint);
			json_error(c, &j, msg, err, res[done - 1].reason, code);
		} else {
			dsj_null(&j, "error");
		}
		dsj_obj_end(&j);
		dsj_end(&j);
		c->json_done = true;
	} else {
		printf("%s (%.24s): %s", name, (const char *)di.function,
		       dsu_state_name(di.state));
		for (i = 0; i < done; i++)
			printf(" -> %s%s", dsu_state_name(res[i].to),
			       !res[i].err ? "" : code == DSU_EXIT_HW ?
			       " (failed)" : " (refused)");
		if (!n)
			printf(" (nothing to do)");
		printf("\n");
	}
	if (err) {
		c->tail = hint;
		return fail_code(c, code, err, res[done - 1].reason,
				 "%s %s: %s -> %s %s", name, action_names[act],
				 dsu_state_name(res[done - 1].from),
				 dsu_state_name(res[done - 1].to), verb);
	}
	return 0;
}

/* ---- group G emergency-stop ---------------------------------------------- */

static int cmd_group(struct ctx *c, int argc, char **argv)
{
	struct dsmil_group_stop gs;
	unsigned int g = 0;
	struct args a;
	int rc, err;

	rc = parse_args("group", 0, 2, 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_group(&a, a.pos[0], &g);
	if (rc >= 0)
		return rc;
	if (strcasecmp(a.pos[1], "emergency-stop") && strcasecmp(a.pos[1], "estop"))
		return usage_error("group", "unknown group action '%s' (emergency-stop)",
				   a.pos[1]);
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	memset(&gs, 0, sizeof(gs));
	gs.group = g;
	err = xioctl(c, DSMIL_IOC_GROUP_ESTOP, &gs);
	if (err)
		return fail(c, err, -1, "group %u emergency stop", g);
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "group", g);
		dsj_str(&j, "group_name", dsu_group_name(g));
		dsj_u64(&j, "locked", gs.locked);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("group %u (%s): emergency stop: %u devices locked\n"
	       "(this group and every group depending on it)\n",
	       g, dsu_group_name(g), gs.locked);
	return 0;
}

/* ---- audit --------------------------------------------------------------- */

static void format_time(uint64_t ns, char *buf, size_t len, bool iso)
{
	time_t s = ns / 1000000000ULL;
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03u%s",
		 (unsigned int)(ns % 1000000000ULL / 1000000), iso ? "Z" : "");
}

static const char *const wrec_kinds[] = {
	[DSMIL_WREC_TOKEN] = "token",
	[DSMIL_WREC_MMIO] = "mmio",
	[DSMIL_WREC_MMIO_BULK] = "mmio-bulk",
};

static const char *const wrec_stages[] = {
	[DSMIL_WREC_AT_REFUSED] = "refused",
	[DSMIL_WREC_AT_OLD] = "read-before",
	[DSMIL_WREC_AT_WRITE] = "write",
	[DSMIL_WREC_AT_READBACK] = "read-back",
	[DSMIL_WREC_AT_LATE] = "late",
};

static const char *wrec_name(const char *const *names, size_t n, unsigned int i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

/* A u64 field, or null when its flag says it is not valid. */
static void json_u64_if(struct dsj *j, const char *key, bool valid, uint64_t v)
{
	if (valid)
		dsj_u64(j, key, v);
	else
		dsj_null(j, key);
}

static void json_write_record(struct dsj *j, const struct dsmil_write_record *e)
{
	bool token = e->kind == DSMIL_WREC_TOKEN;
	char when[40];

	format_time(e->time_ns, when, sizeof(when), true);
	dsj_obj_begin(j, NULL);
	dsj_u64(j, "seq", e->seq);
	dsj_u64(j, "time_ns", e->time_ns);
	dsj_str(j, "time", when);
	dsj_u64(j, "request_id", e->request_id);
	dsj_u64(j, "pid", e->pid);
	dsj_u64(j, "uid", e->uid);
	dsj_strn(j, "comm", (const char *)e->comm, sizeof(e->comm));
	dsj_str(j, "kind", wrec_name(wrec_kinds, ARRAY_SIZE(wrec_kinds), e->kind));
	dsj_str(j, "stage", wrec_name(wrec_stages, ARRAY_SIZE(wrec_stages),
				      e->stage));
	if (e->device < DSMIL_NUM_DEVICES)
		json_device_ref(j, "device", e->device);
	else
		dsj_null(j, "device");
	json_u64_if(j, "token", token, e->token);
	json_u64_if(j, "offset", !token, e->offset);
	json_u64_if(j, "length", !token, e->length);
	json_u64_if(j, "done", !token, e->done);
	dsj_bool(j, "device_scoped", e->flags & DSMIL_WREC_F_DEVICE);
	dsj_bool(j, "activate", e->flags & DSMIL_WREC_F_ACTIVATE);
	json_u64_if(j, "old_value", e->flags & DSMIL_WREC_F_OLD, e->old_value);
	json_u64_if(j, "value", e->flags & DSMIL_WREC_F_VALUE, e->value);
	json_u64_if(j, "readback", e->flags & DSMIL_WREC_F_READBACK,
		    e->readback);
	dsj_bool(j, "mismatch", e->flags & DSMIL_WREC_F_MISMATCH);
	dsj_bool(j, "concurrent", e->flags & DSMIL_WREC_F_CONCURRENT);
	dsj_bool(j, "unknown", e->flags & DSMIL_WREC_F_UNKNOWN);
	dsj_bool(j, "ok", !e->error);
	if (e->error)
		dsj_str(j, "errno", dsu_errno_name(e->error));
	else
		dsj_null(j, "errno");
	if (e->readback_error)
		dsj_str(j, "readback_errno", dsu_errno_name(e->readback_error));
	else
		dsj_null(j, "readback_errno");
	dsj_obj_end(j);
}

/* "0x1234" when the flag says the value is there, else "-". */
static void hex_if(char *buf, size_t len, bool valid, uint64_t v)
{
	if (valid)
		snprintf(buf, len, "%#" PRIx64, v);
	else
		snprintf(buf, len, "-");
}

static void print_write_record(const struct dsmil_write_record *e)
{
	char when[40], name[16], what[64], old[24], val[24], rb[24], res[96];
	size_t n;

	format_time(e->time_ns, when, sizeof(when), false);
	if (e->device < DSMIL_NUM_DEVICES)
		dsu_device_name(e->device, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "raw");
	if (e->kind == DSMIL_WREC_TOKEN)
		snprintf(what, sizeof(what), "token %#06x %s", e->token, name);
	else
		snprintf(what, sizeof(what), "%s %s %#" PRIx64 "+%" PRIu64,
			 e->kind == DSMIL_WREC_MMIO ? "mmio" : "bulk", name,
			 (uint64_t)e->offset, (uint64_t)e->length);
	hex_if(old, sizeof(old), e->flags & DSMIL_WREC_F_OLD, e->old_value);
	if (e->flags & DSMIL_WREC_F_ACTIVATE)
		snprintf(val, sizeof(val), "activate");
	else
		hex_if(val, sizeof(val), e->flags & DSMIL_WREC_F_VALUE, e->value);
	hex_if(rb, sizeof(rb), e->flags & DSMIL_WREC_F_READBACK, e->readback);

	n = snprintf(res, sizeof(res), "%s", e->error ?
		     dsu_errno_name(e->error) : "ok");
	if (e->flags & DSMIL_WREC_F_MISMATCH)
		n += snprintf(res + n, sizeof(res) - n, " MISMATCH");
	if (e->stage != DSMIL_WREC_AT_READBACK &&
	    e->stage != DSMIL_WREC_AT_WRITE)
		n += snprintf(res + n, sizeof(res) - n, " (%s)",
			      wrec_name(wrec_stages, ARRAY_SIZE(wrec_stages),
					e->stage));
	if (e->kind != DSMIL_WREC_TOKEN && e->error && e->done)
		n += snprintf(res + n, sizeof(res) - n, " done=%" PRIu64,
			      (uint64_t)e->done);
	if (e->readback_error)
		n += snprintf(res + n, sizeof(res) - n, " read-back %s",
			      dsu_errno_name(e->readback_error));
	if (e->flags & DSMIL_WREC_F_CONCURRENT)
		n += snprintf(res + n, sizeof(res) - n, " (concurrent)");
	if (e->flags & DSMIL_WREC_F_UNKNOWN)
		snprintf(res + n, sizeof(res) - n, " outcome unknown");
	printf("%-6" PRIu64 " %-23s %-6" PRIu64 " %-7u %-5u %-15.16s %-30s %-10s %-10s %-10s %s\n",
	       (uint64_t)e->seq, when, (uint64_t)e->request_id, e->pid,
	       e->uid, (const char *)e->comm, what, old, val, rb, res);
}

/* audit --writes: the write audit. */
static int audit_writes(struct ctx *c, uint64_t since)
{
	static struct dsmil_write_record ents[DSMIL_WRITE_AUDIT_DEPTH];
	struct dsmil_write_audit_read ar;
	unsigned int i;
	int err;

	memset(&ar, 0, sizeof(ar));
	ar.buf = (uintptr_t)ents;
	ar.count = DSMIL_WRITE_AUDIT_DEPTH;
	ar.since_seq = since;
	err = xioctl(c, DSMIL_IOC_WRITE_AUDIT_READ, &ar);
	if (err)
		return fail(c, err, -1, "reading the write audit");
	if (ar.count > DSMIL_WRITE_AUDIT_DEPTH)
		ar.count = DSMIL_WRITE_AUDIT_DEPTH;

	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "next_seq", ar.next_seq);
		dsj_u64(&j, "dropped", ar.dropped);
		dsj_u64(&j, "mismatches", ar.mismatches);
		dsj_u64(&j, "reads", ar.reads);
		dsj_arr_begin(&j, "entries");
		for (i = 0; i < ar.count; i++)
			json_write_record(&j, &ents[i]);
		dsj_arr_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("%-6s %-23s %-6s %-7s %-5s %-15s %-30s %-10s %-10s %-10s %s\n",
	       "SEQ", "TIME (UTC)", "REQ", "PID", "UID", "COMMAND", "WRITE",
	       "BEFORE", "WRITTEN", "READ BACK", "RESULT");
	for (i = 0; i < ar.count; i++)
		print_write_record(&ents[i]);
	if (!ar.count)
		printf("(no entries)\n");
	if (ar.dropped)
		printf("%" PRIu64 " older entries were overwritten (the write audit keeps %d)\n",
		       (uint64_t)ar.dropped, DSMIL_WRITE_AUDIT_DEPTH);
	if (ar.mismatches)
		printf("%" PRIu64 " write-mismatch incident%s since load\n",
		       (uint64_t)ar.mismatches, ar.mismatches == 1 ? "" : "s");
	return 0;
}

static int cmd_audit(struct ctx *c, int argc, char **argv)
{
	static struct dsmil_audit_entry ents[DSMIL_AUDIT_DEPTH];
	struct dsmil_audit_read ar;
	uint64_t since = 0;
	unsigned int i;
	struct args a;
	int rc, err;

	rc = parse_args("audit", OPT_SINCE | OPT_WRITES, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.since) {
		rc = arg_u64(&a, "sequence number", a.since, UINT64_MAX, &since);
		if (rc >= 0)
			return rc;
	}
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	if (a.writes)
		return audit_writes(c, since);
	memset(&ar, 0, sizeof(ar));
	ar.buf = (uintptr_t)ents;
	ar.count = DSMIL_AUDIT_DEPTH;
	ar.since_seq = since;
	err = xioctl(c, DSMIL_IOC_AUDIT_READ, &ar);
	if (err)
		return fail(c, err, -1, "reading the audit trail");
	if (ar.count > DSMIL_AUDIT_DEPTH)
		ar.count = DSMIL_AUDIT_DEPTH;

	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "next_seq", ar.next_seq);
		dsj_u64(&j, "dropped", ar.dropped);
		dsj_arr_begin(&j, "entries");
		for (i = 0; i < ar.count; i++) {
			const struct dsmil_audit_entry *e = &ents[i];
			char when[40], name[16];

			format_time(e->time_ns, when, sizeof(when), true);
			dsu_device_name(e->device, name, sizeof(name));
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "seq", e->seq);
			dsj_u64(&j, "time_ns", e->time_ns);
			dsj_str(&j, "time", when);
			dsj_u64(&j, "pid", e->pid);
			dsj_u64(&j, "uid", e->uid);
			dsj_u64(&j, "device", e->device);
			dsj_str(&j, "name", name);
			dsj_str(&j, "from", dsu_state_json(e->from));
			dsj_str(&j, "to", dsu_state_json(e->to));
			dsj_bool(&j, "ok", !e->error);
			if (e->error)
				dsj_str(&j, "errno", dsu_errno_name(e->error));
			else
				dsj_null(&j, "errno");
			dsj_str(&j, "reason", dsu_reason_name(e->reason));
			dsj_str(&j, "source", dsu_source_name(e->source));
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("%-6s %-23s %-7s %-5s %-9s %-29s %-10s %-14s %s\n", "SEQ",
	       "TIME (UTC)", "PID", "UID", "DEVICE", "TRANSITION", "RESULT",
	       "REASON", "SOURCE");
	for (i = 0; i < ar.count; i++) {
		const struct dsmil_audit_entry *e = &ents[i];
		char when[40], name[16], tr[40];

		format_time(e->time_ns, when, sizeof(when), false);
		dsu_device_name(e->device, name, sizeof(name));
		snprintf(tr, sizeof(tr), "%s -> %s", dsu_state_name(e->from),
			 dsu_state_name(e->to));
		printf("%-6" PRIu64 " %-23s %-7u %-5u %-9s %-29s %-10s %-14s %s\n",
		       (uint64_t)e->seq, when, e->pid, e->uid, name, tr,
		       e->error ? dsu_errno_name(e->error) : "ok",
		       e->reason ? dsu_reason_name(e->reason) : "-",
		       dsu_source_name(e->source));
	}
	if (!ar.count)
		printf("(no entries)\n");
	if (ar.dropped)
		printf("%" PRIu64 " older entries were overwritten (the trail keeps %d)\n",
		       (uint64_t)ar.dropped, DSMIL_AUDIT_DEPTH);
	return 0;
}

/* ---- token --------------------------------------------------------------- */

static int token_cmd(struct ctx *c, bool write, int argc, char **argv)
{
	const char *path = write ? "token write" : "token read";
	struct dsmil_token_req tr;
	unsigned int g = 0, dev;
	uint64_t value = 0;
	char name[16], hint[160] = "";
	struct args a;
	int rc, pos, err;

	rc = parse_args(path, 0, write ? 3 : 2, write ? 3 : 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_group(&a, a.pos[0], &g);
	if (rc >= 0)
		return rc;
	pos = dsu_parse_position(a.pos[1]);
	if (pos < 0)
		return usage_error(path,
				   "unknown token position '%s' (power, memory, storage, sensor)",
				   a.pos[1]);
	if (write) {
		rc = arg_u64(&a, "value", a.pos[2], UINT32_MAX, &value);
		if (rc >= 0)
			return rc;
	}
	dev = g * DSMIL_DEVS_PER_GROUP + pos;
	dsu_device_name(dev, name, sizeof(name));

	rc = open_node(c);
	if (rc >= 0)
		return rc;
	memset(&tr, 0, sizeof(tr));
	tr.group = g;
	tr.position = pos;
	tr.value = value;
	err = xioctl(c, write ? DSMIL_IOC_TOKEN_WRITE : DSMIL_IOC_TOKEN_READ, &tr);
	if (err) {
		bool quarantined = false;

		if (err == ENODEV || err == EPERM || err == ETIMEDOUT)
			quarantined = state_hint(c, dev, hint, sizeof(hint));
		if (err == EINPROGRESS && tr.request_id)
			snprintf(hint, sizeof(hint),
				 "; request %" PRIu64 " may still complete: 'dsmilctl smi result %" PRIu64 "' tells how it ended",
				 (uint64_t)tr.request_id, (uint64_t)tr.request_id);
		c->tail = hint;
		return fail_code(c, eperm_code(c, err, quarantined), err, -1,
				 "%s token %#06x (group %u %s, device %s)",
				 write ? "writing" : "reading",
				 DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * g + pos,
				 g, dsu_position_name(pos), name);
	}
	if (!write)
		value = tr.value;
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_str(&j, "op", write ? "write" : "read");
		dsj_u64(&j, "group", g);
		dsj_str(&j, "position", dsu_position_name(pos));
		dsj_u64(&j, "token", tr.token);
		json_device_ref(&j, "device", dev);
		dsj_u64(&j, "value", value);
		dsj_u64(&j, "duration_ns", tr.duration_ns);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("%s token %#06x (group %u %s, %s) %s %#010" PRIx64 " (%" PRIu64 ")  [%.1f us]\n",
	       write ? "wrote" : "read", tr.token, g, dsu_position_name(pos), name,
	       write ? "<-" : "=", value, value, tr.duration_ns / 1000.0);
	return 0;
}

static int cmd_token(struct ctx *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return argc < 2 ? usage_error("token", "missing 'read' or 'write'") :
				  print_help("token");
	if (!strcmp(argv[1], "read"))
		return token_cmd(c, false, argc - 1, argv + 1);
	if (!strcmp(argv[1], "write"))
		return token_cmd(c, true, argc - 1, argv + 1);
	return usage_error("token", "unknown token command '%s' (read, write)",
			   argv[1]);
}

/* ---- smi ----------------------------------------------------------------- */

static const char *smi_state_json(unsigned int s)
{
	return s == DSMIL_SMI_OK ? "ok" : s == DSMIL_SMI_FAULTED ? "faulted" :
	       "unknown";
}

static int smi_status(struct ctx *c, int argc, char **argv)
{
	struct dsmil_smi_status st;
	struct args a;
	unsigned int b;
	uint64_t max = 0;
	int rc, err;

	rc = parse_args("smi status", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	memset(&st, 0, sizeof(st));
	err = xioctl(c, DSMIL_IOC_SMI_STATUS, &st);
	if (err)
		return fail(c, err, -1, "reading the SMI status");
	const struct {
		const char *name;
		uint64_t v;
	} ctr[] = {
		{ "requests", st.requests }, { "successes", st.successes },
		{ "errors", st.errors }, { "timeouts", st.timeouts },
		{ "hangs", st.hangs }, { "aborts", st.aborts },
		{ "abort_failures", st.abort_failures },
		{ "faulted_entries", st.faulted_entries },
		{ "faulted_rejects", st.faulted_rejects },
		{ "recoveries", st.recoveries },
		{ "recovery_failures", st.recovery_failures },
		{ "retries", st.retries }, { "spacing_waits", st.spacing_waits },
		{ "refused", st.refused },
		{ "error_status", st.error_status }, { "garbage", st.garbage },
		{ "busy_failures", st.busy_failures },
		{ "submit_failures", st.submit_failures },
		{ "cancelled", st.cancelled },
		{ "queue_timeouts", st.queue_timeouts },
		{ "abandoned", st.abandoned },
		{ "spacing_wait_us", st.spacing_wait_us },
		{ "max_latency_us", st.max_latency_us },
		{ "in_doubt", st.in_doubt },
		{ "late_successes", st.late_successes },
		{ "late_failures", st.late_failures },
	};

	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_strn(&j, "backend", (char *)st.backend, sizeof(st.backend));
		dsj_str(&j, "state", smi_state_json(st.state));
		dsj_u64(&j, "consecutive_faults", st.consecutive_faults);
		dsj_u64(&j, "timeout_ms", st.timeout_ms);
		dsj_u64(&j, "hang_ms", st.hang_ms);
		dsj_u64(&j, "min_interval_us", st.min_interval_us);
		dsj_u64(&j, "fault_limit", st.fault_limit);
		dsj_u64(&j, "busy_retries", st.busy_retries);
		dsj_u64(&j, "in_flight", st.in_flight);
		dsj_u64(&j, "recover_backoff_ms", st.recover_backoff_ms);
		dsj_u64(&j, "recover_wait_ms", st.recover_wait_ms);
		dsj_obj_begin(&j, "counters");
		for (b = 0; b < ARRAY_SIZE(ctr); b++)
			dsj_u64(&j, ctr[b].name, ctr[b].v);
		dsj_obj_end(&j);
		dsj_arr_begin(&j, "latency_hist");
		for (b = 0; b < DSMIL_SMI_HIST_BUCKETS; b++) {
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "min_us", b ? 1ULL << (b - 1) : 0);
			if (b == DSMIL_SMI_HIST_BUCKETS - 1)
				dsj_null(&j, "below_us");
			else
				dsj_u64(&j, "below_us", 1ULL << b);
			dsj_u64(&j, "count", st.latency_hist[b]);
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("backend:     %.*s\n", (int)sizeof(st.backend), (char *)st.backend);
	printf("state:       %s", st.state == DSMIL_SMI_FAULTED ? "FAULTED" :
	       st.state == DSMIL_SMI_OK ? "OK" : "unknown");
	if (st.state == DSMIL_SMI_FAULTED)
		printf(" (requests fail at once; 'dsmilctl smi recover' resets it%s)",
		       st.recover_backoff_ms ? ", after the backoff" : "");
	printf("\nfaults:      %u in a row (FAULTED at %u)\n",
	       st.consecutive_faults, st.fault_limit);
	if (st.recover_backoff_ms)
		printf("backoff:     %" PRIu64 " ms after the last failed recovery, %"
		       PRIu64 " ms left before the next try\n",
		       (uint64_t)st.recover_backoff_ms,
		       (uint64_t)st.recover_wait_ms);
	printf("settings:    timeout %u ms, hang %u ms, min interval %u us, %u busy retries\n",
	       st.timeout_ms, st.hang_ms, st.min_interval_us, st.busy_retries);
	printf("in flight:   %u\n", st.in_flight);
	printf("counters:\n");
	for (b = 0; b < ARRAY_SIZE(ctr); b++)
		printf("  %-18s %" PRIu64 "\n", ctr[b].name, ctr[b].v);
	for (b = 0; b < DSMIL_SMI_HIST_BUCKETS; b++)
		if (st.latency_hist[b] > max)
			max = st.latency_hist[b];
	printf("latency (requests by duration):\n");
	if (!max)
		printf("  (none yet)\n");
	for (b = 0; max && b < DSMIL_SMI_HIST_BUCKETS; b++) {
		unsigned int bar;

		if (!st.latency_hist[b])
			continue;
		bar = (unsigned int)((st.latency_hist[b] * 40 + max - 1) / max);
		if (b == DSMIL_SMI_HIST_BUCKETS - 1)
			printf("  >= %7llu us", 1ULL << (b - 1));
		else
			printf("  < %8llu us", 1ULL << b);
		printf(" %10" PRIu64 " %.*s\n", (uint64_t)st.latency_hist[b],
		       (int)bar, "########################################");
	}
	return 0;
}

static int smi_recover(struct ctx *c, int argc, char **argv)
{
	struct dsmil_smi_status st;
	struct args a;
	int rc, err;

	rc = parse_args("smi recover", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	err = xioctl(c, DSMIL_IOC_SMI_RECOVER, NULL);
	if (err == EAGAIN) {
		char hint[96] = "";

		memset(&st, 0, sizeof(st));
		if (!xioctl(c, DSMIL_IOC_SMI_STATUS, &st))
			snprintf(hint, sizeof(hint),
				 "; the backoff after a failed recovery has %" PRIu64 " ms left",
				 (uint64_t)st.recover_wait_ms);
		c->tail = hint;
		return fail(c, err, -1, "SMI recover");
	}
	if (err)
		return fail(c, err, -1, "SMI recover");
	memset(&st, 0, sizeof(st));
	err = xioctl(c, DSMIL_IOC_SMI_STATUS, &st);
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_bool(&j, "recovered", true);
		if (err)
			dsj_null(&j, "state");
		else
			dsj_str(&j, "state", smi_state_json(st.state));
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("SMI backend recovered%s%s\n", err ? "" : "; state ",
	       err ? "" : st.state == DSMIL_SMI_OK ? "OK" : "FAULTED");
	return 0;
}

/* The ending of a DSMIL_IOC_SMI_RESULT record, in words. */
static const char *smi_result_word(const struct dsmil_smi_result *res)
{
	if (res->flags & DSMIL_SMI_RESULT_F_UNKNOWN)
		return "unknown";
	return res->error ? "failed" : "success";
}

static int smi_result(struct ctx *c, int argc, char **argv)
{
	struct dsmil_smi_result res;
	bool write;
	struct args a;
	uint64_t id;
	int rc, err;

	rc = parse_args("smi result", 0, 1, 1, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_u64(&a, "request id", a.pos[0], UINT64_MAX, &id);
	if (rc >= 0)
		return rc;
	if (!id)
		return usage_error(a.path, "request id 0 is never given");
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	memset(&res, 0, sizeof(res));
	res.request_id = id;
	err = xioctl(c, DSMIL_IOC_SMI_RESULT, &res);
	if (err == ENOENT)
		c->tail = "; the driver keeps the outcomes of its last 64 token requests";
	if (err)
		return fail(c, err, -1, "request %" PRIu64, id);
	write = res.flags & DSMIL_SMI_RESULT_F_WRITE;
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "request_id", id);
		dsj_u64(&j, "token", res.token);
		dsj_str(&j, "op", write ? "write" : "read");
		dsj_str(&j, "outcome", smi_result_word(&res));
		if (res.error) {
			dsj_str(&j, "errno", dsu_errno_name(res.error));
			dsj_i64(&j, "errno_value", res.error);
		} else {
			dsj_null(&j, "errno");
			dsj_null(&j, "errno_value");
		}
		dsj_u64(&j, "value", res.value);
		dsj_u64(&j, "duration_ns", res.duration_ns);
		dsj_bool(&j, "in_doubt", res.flags & DSMIL_SMI_RESULT_F_IN_DOUBT);
		dsj_bool(&j, "abandoned",
			 res.flags & DSMIL_SMI_RESULT_F_ABANDONED);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("request %" PRIu64 ": token %#06x %s, %s", id, res.token,
	       write ? "write" : "read", smi_result_word(&res));
	if (res.error)
		printf(" (%s, %s)", dsu_errno_name(res.error),
		       strerror(res.error));
	else if (!write || res.value)
		printf(", value %#010x", res.value);
	printf(" after %.1f ms%s%s\n", res.duration_ns / 1e6,
	       res.flags & DSMIL_SMI_RESULT_F_IN_DOUBT ?
	       "; its caller was told it was in doubt" : "",
	       res.flags & DSMIL_SMI_RESULT_F_ABANDONED ?
	       "; its caller had left" : "");
	if (res.flags & DSMIL_SMI_RESULT_F_UNKNOWN)
		printf("a reset ended it after its abort failed: whether %s is not known\n",
		       write ? "the write was applied" : "the firmware answered");
	return 0;
}

static int cmd_smi(struct ctx *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return argc < 2 ? usage_error("smi", "missing 'status', 'recover' or 'result'") :
				  print_help("smi");
	if (!strcmp(argv[1], "status"))
		return smi_status(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "recover"))
		return smi_recover(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "result"))
		return smi_result(c, argc - 1, argv + 1);
	return usage_error("smi", "unknown smi command '%s' (status, recover, result)",
			   argv[1]);
}

/* ---- mmio ---------------------------------------------------------------- */

struct mmio_target {
	bool device;
	unsigned int id;
	uint64_t limit;		/* size of the region or the window */
};

/* Parse --device and learn the limit offsets are checked against. */
static int mmio_target(struct ctx *c, const struct args *a,
		       struct mmio_target *t)
{
	struct dsmil_info info;
	int rc;

	memset(t, 0, sizeof(*t));
	if (a->device) {
		rc = arg_device(a, a->device, &t->id);
		if (rc >= 0)
			return rc;
		t->device = true;
		t->limit = DSMIL_WINDOW_SIZE;
		return -1;
	}
	/* The region's size is the driver's configuration: ask it. */
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	rc = get_info(c, &info);
	if (rc >= 0)
		return rc;
	t->limit = info.region_size;
	return -1;
}

static int arg_width(const struct args *a, unsigned int *width)
{
	uint64_t w = 4;
	int rc;

	if (a->width) {
		rc = arg_u64(a, "width", a->width, 8, &w);
		if (rc >= 0)
			return rc;
	}
	if (w != 1 && w != 2 && w != 4 && w != 8)
		return usage_error(a->path, "width must be 1, 2, 4 or 8 bytes, not %s",
				   a->width);
	*width = w;
	return -1;
}

static int check_range(const struct args *a, const struct mmio_target *t,
		       uint64_t off, uint64_t len)
{
	if (off >= t->limit || len > t->limit - off)
		return usage_error(a->path,
				   "%#" PRIx64 "+%#" PRIx64 " is outside the %s (%#" PRIx64 " bytes)",
				   off, len, t->device ? "device window" : "region",
				   t->limit);
	return -1;
}

static void where_text(const struct mmio_target *t, uint64_t off, char *buf,
		       size_t len)
{
	char name[16];

	if (!t->device) {
		snprintf(buf, len, "offset %#" PRIx64, off);
		return;
	}
	dsu_device_name(t->id, name, sizeof(name));
	snprintf(buf, len, "%s window offset %#" PRIx64, name, off);
}

static int mmio_rw(struct ctx *c, bool write, int argc, char **argv)
{
	const char *path = write ? "mmio write" : "mmio read";
	struct mmio_target t;
	struct dsmil_mmio_rw rw;
	unsigned int width = 4;
	uint64_t off = 0, value = 0;
	char where[64], hint[96] = "";
	struct args a;
	int rc, err;

	rc = parse_args(path, OPT_WIDTH | OPT_DEVICE, write ? 2 : 1,
			write ? 2 : 1, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_u64(&a, "offset", a.pos[0], UINT64_MAX, &off);
	if (rc >= 0)
		return rc;
	rc = arg_width(&a, &width);
	if (rc >= 0)
		return rc;
	if (off % width)
		return usage_error(path, "offset %#" PRIx64 " is not aligned to the width (%u)",
				   off, width);
	if (write) {
		rc = arg_u64(&a, "value", a.pos[1],
			     width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1,
			     &value);
		if (rc >= 0)
			return rc;
	}
	rc = mmio_target(c, &a, &t);
	if (rc >= 0)
		return rc;
	rc = check_range(&a, &t, off, width);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;

	memset(&rw, 0, sizeof(rw));
	rw.offset = off;
	rw.width = width;
	rw.value = value;
	if (t.device) {
		rw.flags = DSMIL_MMIO_F_DEVICE;
		rw.device = t.id;
	}
	where_text(&t, off, where, sizeof(where));
	err = xioctl(c, write ? DSMIL_IOC_MMIO_WRITE : DSMIL_IOC_MMIO_READ, &rw);
	if (err) {
		bool quarantined = false;

		if (t.device && (err == ENODEV || err == EPERM))
			quarantined = state_hint(c, t.id, hint, sizeof(hint));
		c->tail = hint;
		return fail_code(c, eperm_code(c, err, quarantined), err, -1,
				 "%s %u bytes at %s",
				 write ? "writing" : "reading", width, where);
	}
	if (!write)
		value = rw.value;
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_str(&j, "op", write ? "write" : "read");
		dsj_u64(&j, "offset", off);
		dsj_u64(&j, "width", width);
		dsj_u64(&j, "value", value);
		if (t.device)
			json_device_ref(&j, "device", t.id);
		else
			dsj_null(&j, "device");
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("%s%s %#0*" PRIx64 "\n", where, write ? " <-" : ":",
	       (int)(2 + 2 * width), value);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* hexdump -C style, identical lines squeezed to '*'. */
struct hexdump {
	uint64_t addr;
	uint8_t prev[16];
	bool have_prev, starred;
};

static void hexdump_line(struct hexdump *h, const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 16 && h->have_prev && !memcmp(p, h->prev, 16)) {
		if (!h->starred)
			puts("*");
		h->starred = true;
		h->addr += 16;
		return;
	}
	h->starred = false;
	printf("%08" PRIx64 " ", h->addr);
	for (i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < n)
			printf(" %02x", p[i]);
		else
			printf("   ");
	}
	printf("  |");
	for (i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("|\n");
	memcpy(h->prev, p, n);
	h->have_prev = n == 16;
	h->addr += n;
}

static int mmio_dump(struct ctx *c, int argc, char **argv)
{
	struct mmio_target t;
	struct hexdump hd;
	uint64_t off, len, done = 0, shown_ms = 0;
	bool progress, raw_stdout;
	uint8_t *buf = NULL;
	FILE *out = NULL;
	char where[64], hint[96] = "";
	struct args a;
	int rc, err = 0;

	rc = parse_args("mmio dump", OPT_OUTPUT | OPT_DEVICE, 2, 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_u64(&a, "offset", a.pos[0], UINT64_MAX, &off);
	if (rc >= 0)
		return rc;
	rc = dsu_parse_size(a.pos[1], UINT64_MAX, &len);
	if (rc)
		return usage_error("mmio dump",
				   "length '%s' is not a size (decimal or 0x hex, optional K/M/G)",
				   a.pos[1]);
	if (!len)
		return usage_error("mmio dump", "length must not be 0");
	if (c->json && !a.output)
		return usage_error("mmio dump",
				   "--json needs -o FILE (the bytes go to FILE, the summary to stdout)");
	raw_stdout = a.output && !strcmp(a.output, "-");
	if (c->json && raw_stdout)
		return usage_error("mmio dump",
				   "--json with -o - would mix the bytes and the summary");
	rc = mmio_target(c, &a, &t);
	if (rc >= 0)
		return rc;
	rc = check_range(&a, &t, off, len);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;

	buf = malloc(DUMP_BLOCK);
	if (!buf)
		return fail(c, ENOMEM, -1, "allocating a buffer");
	if (a.output && !raw_stdout) {
		out = fopen(a.output, "wb");
		if (!out) {
			err = errno;
			free(buf);
			return fail_code(c, DSU_EXIT_OTHER, err, -1,
					 "cannot write %s", a.output);
		}
	} else if (raw_stdout) {
		out = stdout;
	}
	/* Long dumps show progress, only to a person watching. */
	progress = isatty(STDERR_FILENO) && len >= 4 * DUMP_BLOCK;
	memset(&hd, 0, sizeof(hd));
	hd.addr = off;

	while (done < len) {
		struct dsmil_mmio_bulk b;
		uint64_t n = len - done < DUMP_BLOCK ? len - done : DUMP_BLOCK;
		size_t i;

		memset(&b, 0, sizeof(b));
		b.offset = off + done;
		b.length = n;
		b.buf = (uintptr_t)buf;
		if (t.device) {
			b.flags = DSMIL_MMIO_F_DEVICE;
			b.device = t.id;
		}
		err = xioctl(c, DSMIL_IOC_MMIO_BULK_READ, &b);
		if (!err && b.done != n)
			err = EINTR;	/* short: a signal stopped it */
		if (err)
			break;
		if (out) {
			if (fwrite(buf, 1, n, out) != n) {
				err = errno ? errno : EIO;
				if (progress)
					fputc('\n', stderr);
				if (out != stdout)
					fclose(out);
				free(buf);
				return fail_code(c, DSU_EXIT_OTHER, err, -1,
						 "writing %s", a.output);
			}
		} else {
			for (i = 0; i < n; i += 16)
				hexdump_line(&hd, buf + i, n - i < 16 ? n - i : 16);
		}
		done += n;
		/* A few updates a second are enough for a person. */
		if (progress && (done == len || now_ms() - shown_ms >= 200)) {
			shown_ms = now_ms();
			fprintf(stderr, "\rdump: %" PRIu64 " / %" PRIu64 " KiB (%3u%%)",
				done >> 10, len >> 10, (unsigned int)(done * 100 / len));
		}
	}
	if (progress)
		fputc('\n', stderr);
	if (!out && !err)
		printf("%08" PRIx64 "\n", hd.addr);
	free(buf);
	if (out && out != stdout && fclose(out) && !err) {
		err = errno;
		return fail_code(c, DSU_EXIT_OTHER, err, -1, "writing %s",
				 a.output);
	}
	if (err) {
		where_text(&t, off + done, where, sizeof(where));
		if (t.device && (err == ENODEV || err == EPERM))
			state_hint(c, t.id, hint, sizeof(hint));
		c->tail = hint;
		return fail(c, err, -1, "dump stopped after %" PRIu64 " of %" PRIu64
			    " bytes, reading at %s", done, len, where);
	}
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "offset", off);
		dsj_u64(&j, "length", len);
		dsj_u64(&j, "bytes", done);
		dsj_str(&j, "file", a.output);
		if (t.device)
			json_device_ref(&j, "device", t.id);
		else
			dsj_null(&j, "device");
		dsj_obj_end(&j);
		dsj_end(&j);
	}
	return 0;
}

static int cmd_mmio(struct ctx *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return argc < 2 ? usage_error("mmio", "missing 'read', 'write' or 'dump'") :
				  print_help("mmio");
	if (!strcmp(argv[1], "read"))
		return mmio_rw(c, false, argc - 1, argv + 1);
	if (!strcmp(argv[1], "write"))
		return mmio_rw(c, true, argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return mmio_dump(c, argc - 1, argv + 1);
	return usage_error("mmio", "unknown mmio command '%s' (read, write, dump)",
			   argv[1]);
}

/* ---- chunks -------------------------------------------------------------- */

enum chunk_state { CH_NEVER, CH_IDLE, CH_RESIDENT };

static const char *const chunk_state_json[] = {
	[CH_NEVER] = "never_mapped", [CH_IDLE] = "idle", [CH_RESIDENT] = "resident",
};

static enum chunk_state chunk_state(const struct dsmil_mmio_status *ms,
				    unsigned int i)
{
	if (ms->resident_map[i / 64] & (1ULL << (i % 64)))
		return CH_RESIDENT;
	if (ms->ever_mapped[i / 64] & (1ULL << (i % 64)))
		return CH_IDLE;
	return CH_NEVER;
}

static int cmd_chunks(struct ctx *c, int argc, char **argv)
{
	static struct dsmil_chunk_stat cs[DSMIL_MAX_CHUNKS];
	struct dsmil_mmio_status ms;
	unsigned int i, n, count[3] = { 0 };
	struct args a;
	int rc, err;

	rc = parse_args("chunks", OPT_VERBOSE, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	memset(&ms, 0, sizeof(ms));
	memset(cs, 0, sizeof(cs));
	ms.chunk_buf = (uintptr_t)cs;
	ms.chunk_count = DSMIL_MAX_CHUNKS;
	err = xioctl(c, DSMIL_IOC_MMIO_STATUS, &ms);
	if (err)
		return fail(c, err, -1, "reading the MMIO mapper's status");
	n = ms.num_chunks < DSMIL_MAX_CHUNKS ? ms.num_chunks : DSMIL_MAX_CHUNKS;
	for (i = 0; i < n; i++)
		count[chunk_state(&ms, i)]++;

	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "region_base", ms.region_base);
		dsj_u64(&j, "region_size", ms.region_size);
		dsj_u64(&j, "chunk_size", ms.chunk_size);
		dsj_u64(&j, "num_chunks", ms.num_chunks);
		dsj_u64(&j, "max_resident", ms.max_resident);
		dsj_u64(&j, "idle_unmap_ms", ms.idle_ms);
		dsj_u64(&j, "busy_wait_ms", ms.busy_wait_ms);
		dsj_u64(&j, "bookkeeping_bytes", ms.bookkeeping);
		dsj_u64(&j, "resident", count[CH_RESIDENT]);
		dsj_u64(&j, "idle", count[CH_IDLE]);
		dsj_u64(&j, "never_mapped", count[CH_NEVER]);
		dsj_obj_begin(&j, "counters");
		dsj_u64(&j, "maps", ms.maps);
		dsj_u64(&j, "unmaps", ms.unmaps);
		dsj_u64(&j, "evictions", ms.evictions);
		dsj_u64(&j, "map_failures", ms.map_failures);
		dsj_u64(&j, "all_busy", ms.all_busy);
		dsj_u64(&j, "hits", ms.hits);
		dsj_u64(&j, "bytes_read", ms.bytes_read);
		dsj_u64(&j, "bytes_written", ms.bytes_written);
		dsj_u64(&j, "refused", ms.refused);
		dsj_obj_end(&j);
		dsj_arr_begin(&j, "chunks");
		for (i = 0; i < n; i++) {
			const struct dsmil_chunk_stat *s = NULL;

			if (i < ms.chunk_count && cs[i].index == i)
				s = &cs[i];
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "index", i);
			dsj_str(&j, "state", chunk_state_json[chunk_state(&ms, i)]);
			dsj_u64(&j, "users", s ? s->users : 0);
			dsj_u64(&j, "maps", s ? s->maps : 0);
			dsj_u64(&j, "hits", s ? s->hits : 0);
			dsj_u64(&j, "idle_ms", s ? s->idle_ms : 0);
			dsj_u64(&j, "bytes_read", s ? s->bytes_read : 0);
			dsj_u64(&j, "bytes_written", s ? s->bytes_written : 0);
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	if (ms.region_base)
		printf("region %#" PRIx64 ", ", (uint64_t)ms.region_base);
	else
		printf("simulated region, ");
	printf("%" PRIu64 " MiB in %u chunks of %u MiB; at most %u mapped at once\n\n",
	       (uint64_t)ms.region_size >> 20, ms.num_chunks, ms.chunk_size >> 20,
	       ms.max_resident);
	for (i = 0; i < n; i += 30) {
		unsigned int k, end = i + 30 < n ? i + 30 : n;

		printf("  %3u-%-3u |", i, end - 1);
		for (k = i; k < end; k++)
			putchar(".+#"[chunk_state(&ms, k)]);
		printf("|%*s %5" PRIu64 " MiB\n", (int)(30 - (end - i)), "",
		       (uint64_t)ms.chunk_size * end >> 20);
	}
	printf("\n  # resident %u (cap %u)   + idle %u   . never mapped %u\n",
	       count[CH_RESIDENT], ms.max_resident, count[CH_IDLE],
	       count[CH_NEVER]);
	printf("  maps %" PRIu64 "  hits %" PRIu64 "  unmaps %" PRIu64
	       "  evictions %" PRIu64 "  map failures %" PRIu64
	       "  all busy %" PRIu64 "\n",
	       (uint64_t)ms.maps, (uint64_t)ms.hits, (uint64_t)ms.unmaps,
	       (uint64_t)ms.evictions, (uint64_t)ms.map_failures,
	       (uint64_t)ms.all_busy);
	printf("  read %" PRIu64 " bytes  written %" PRIu64 " bytes  refused %"
	       PRIu64 "  idle chunks unmapped after %u ms\n",
	       (uint64_t)ms.bytes_read, (uint64_t)ms.bytes_written,
	       (uint64_t)ms.refused, ms.idle_ms);
	if (a.verbose) {
		printf("\n  %-5s %-12s %-6s %-8s %-10s %-12s %-12s %s\n", "CHUNK",
		       "STATE", "USERS", "MAPS", "HITS", "READ", "WRITTEN",
		       "IDLE MS");
		for (i = 0; i < n && i < ms.chunk_count; i++) {
			if (cs[i].index != i || chunk_state(&ms, i) == CH_NEVER)
				continue;
			printf("  %-5u %-12s %-6u %-8" PRIu64 " %-10" PRIu64 " %-12"
			       PRIu64 " %-12" PRIu64 " %" PRIu64 "\n",
			       i, chunk_state_json[chunk_state(&ms, i)], cs[i].users,
			       (uint64_t)cs[i].maps, (uint64_t)cs[i].hits,
			       (uint64_t)cs[i].bytes_read,
			       (uint64_t)cs[i].bytes_written,
			       (uint64_t)cs[i].idle_ms);
		}
	}
	return 0;
}

/* ---- stats --------------------------------------------------------------- */

static int cmd_stats(struct ctx *c, int argc, char **argv)
{
	struct dsmil_stats st;
	unsigned int r;
	struct args a;
	int rc, err;

	rc = parse_args("stats", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node(c);
	if (rc >= 0)
		return rc;
	memset(&st, 0, sizeof(st));
	err = xioctl(c, DSMIL_IOC_STATS, &st);
	if (err)
		return fail(c, err, -1, "reading the driver's counters");
	if (c->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_u64(&j, "ioctls", st.ioctls);
		dsj_u64(&j, "bad_input", st.bad_input);
		dsj_u64(&j, "denied", st.denied);
		dsj_u64(&j, "transitions", st.transitions);
		dsj_obj_begin(&j, "refusals");
		for (r = 1; r < DSMIL_REASON_COUNT; r++) {
			char key[32];
			size_t k;

			/* JSON keys are snake_case: "verify-failed" -> "verify_failed". */
			snprintf(key, sizeof(key), "%s", dsu_reason_name(r));
			for (k = 0; key[k]; k++)
				if (key[k] == '-')
					key[k] = '_';
			dsj_u64(&j, key, st.refusals[r]);
		}
		dsj_obj_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return 0;
	}
	printf("ioctl calls:            %" PRIu64 "\n", (uint64_t)st.ioctls);
	printf("refused for bad input:  %" PRIu64 "\n", (uint64_t)st.bad_input);
	printf("denied by policy:       %" PRIu64 "\n", (uint64_t)st.denied);
	printf("accepted transitions:   %" PRIu64 "\n", (uint64_t)st.transitions);
	printf("refusals by reason:\n");
	for (r = 1; r < DSMIL_REASON_COUNT; r++)
		printf("  %-16s %" PRIu64 "\n", dsu_reason_name(r),
		       (uint64_t)st.refusals[r]);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
} commands[] = {
	{ "info", cmd_info },
	{ "devices", cmd_devices },
	{ "device", cmd_device },
	{ "group", cmd_group },
	{ "audit", cmd_audit },
	{ "token", cmd_token },
	{ "smi", cmd_smi },
	{ "mmio", cmd_mmio },
	{ "chunks", cmd_chunks },
	{ "stats", cmd_stats },
};

static int cmd_help(int argc, char **argv)
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

int main(int argc, char **argv)
{
	struct ctx c = { .node = DEFAULT_NODE, .fd = -1 };
	char cmdname[64];
	int i, n, rc;
	size_t k;

	/*
	 * --json and --node are accepted anywhere before a "--"; take them out
	 * so that each subcommand parser sees only its own options.
	 */
	for (i = 1, n = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json")) {
			c.json = true;
			continue;
		}
		if (!strcmp(argv[i], "--node") || !strncmp(argv[i], "--node=", 7)) {
			if (argv[i][6] == '=')
				c.node = argv[i] + 7;
			else if (i + 1 < argc)
				c.node = argv[++i];
			else
				return usage_error("", "option '--node' needs a value");
			continue;
		}
		argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;

	if (argc < 2)
		return usage_error("", "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return print_help("");
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("dsmilctl (dsmil tools), uapi ABI %d\n", DSMIL_ABI_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help"))
		return cmd_help(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return usage_error("", "unknown option '%s'", argv[1]);
	for (k = 0; k < ARRAY_SIZE(commands); k++) {
		if (strcmp(argv[1], commands[k].name))
			continue;
		snprintf(cmdname, sizeof(cmdname), "%s%s%s", argv[1],
			 argc > 2 && argv[2][0] != '-' &&
			 (!strcmp(argv[1], "token") || !strcmp(argv[1], "smi") ||
			  !strcmp(argv[1], "mmio")) ? " " : "",
			 argc > 2 && argv[2][0] != '-' &&
			 (!strcmp(argv[1], "token") || !strcmp(argv[1], "smi") ||
			  !strcmp(argv[1], "mmio")) ? argv[2] : "");
		c.cmd = cmdname;
		rc = commands[k].fn(&c, argc - 1, argv + 1);
		if (c.fd >= 0)
			close(c.fd);
		if (fflush(stdout) && rc == 0) {
			fprintf(stderr, "dsmilctl: writing the output: %s\n",
				strerror(errno));
			rc = DSU_EXIT_OTHER;
		}
		return rc;
	}
	return usage_error("", "unknown command '%s'", argv[1]);
}
