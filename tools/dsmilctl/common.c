// SPDX-License-Identifier: GPL-2.0
/*
 * What dsmilctl's commands share: their option parser and argument checks,
 * failure reports in words and as JSON, and the node and its ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "main.h"

/* ---- command-line parsing ------------------------------------------------ */

int parse_args(const char *path, unsigned int allowed, int min_pos,
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
		{ "all",     no_argument,       NULL, 'A' },
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
		case 'A':
			a->all = true;
			bit = OPT_ALL;
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

int arg_u64(const struct args *a, const char *what, const char *s,
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

int arg_group(const struct args *a, const char *s, unsigned int *g)
{
	uint64_t v;
	int ret = dsu_parse_u64(s, DSMIL_NUM_GROUPS - 1, &v);

	if (ret)
		return usage_error(a->path, "group '%s' is not a group number 0..%d",
				   s, DSMIL_NUM_GROUPS - 1);
	*g = v;
	return -1;
}

int arg_device(const struct args *a, const char *s, unsigned int *id)
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

/* ---- output: JSON documents and failures -------------------------------- */

void json_error(struct dsj *j, const char *msg, int err, int reason, int code)
{
	dsj_obj_begin(j, "error");
	dsj_str(j, "command", ctl.cmd);
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

void json_begin(struct dsj *j)
{
	dsj_init(j, stdout, true);
	dsj_obj_begin(j, NULL);
}

int json_end(struct dsj *j)
{
	dsj_obj_end(j);
	dsj_end(j);
	ctl.json_done = true;
	return 0;
}

/* With --json and no document printed yet: { "error": ... } on stdout. */
static void json_error_doc(const char *msg, int err, int reason, int code)
{
	struct dsj j;

	if (!ctl.json || ctl.json_done)
		return;
	json_begin(&j);
	json_error(&j, msg, err, reason, code);
	json_end(&j);
}

static int vfail(int code, int err, int reason, const char *fmt, va_list ap)
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
	if (ctl.tail)
		snprintf(msg + n, sizeof(msg) - n, "%s", ctl.tail);
	ctl.tail = NULL;
	dsu_err("%s", msg);
	json_error_doc(msg, err, reason, code);
	return code;
}

int fail(int err, int reason, const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = vfail(-1, err, reason, fmt, ap);
	va_end(ap);
	return code;
}

int fail_code(int code, int err, int reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(code, err, reason, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- talking to the driver ----------------------------------------------- */

int open_node(void)
{
	struct stat st;
	int err;

	if (ctl.fd >= 0)
		return -1;
	ctl.fd = open(ctl.node, O_RDWR | O_CLOEXEC);
	if (ctl.fd >= 0)
		return -1;
	err = errno;
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		dsu_err("driver not loaded: cannot open %s: %s (%s)%s",
			ctl.node, strerror(err), dsu_errno_name(err),
			stat("/sys/module/dsmil", &st) ?
			"; load it with 'modprobe dsmil'" :
			"; the dsmil module is loaded but the node is missing (devtmpfs/udev?)");
		json_error_doc("driver not loaded", err, -1, DSU_EXIT_NODRIVER);
		return DSU_EXIT_NODRIVER;
	case EACCES:
	case EPERM:
		return fail(err, -1, "permission refused: cannot open %s (root only)",
			    ctl.node);
	default:
		return fail(err, -1, "cannot open %s", ctl.node);
	}
}

int xioctl(unsigned long cmd, void *arg)
{
	return ioctl(ctl.fd, cmd, arg) ? errno : 0;
}

int get_info(struct dsmil_info *info)
{
	int err;

	memset(info, 0, sizeof(*info));
	err = xioctl(DSMIL_IOC_INFO, info);
	if (err)
		return fail(err, -1, "reading driver info");
	return -1;
}

int get_dev(unsigned int id, struct dsmil_dev_info *di)
{
	memset(di, 0, sizeof(*di));
	di->id = id;
	return xioctl(DSMIL_IOC_DEV_INFO, di);
}

bool state_hint(unsigned int id, char *buf, size_t len)
{
	struct dsmil_dev_info di;
	char name[16];

	buf[0] = '\0';
	if (get_dev(id, &di))
		return false;
	dsu_device_name(id, name, sizeof(name));
	snprintf(buf, len, "; %s is %s%s", name, dsu_state_name(di.state),
		 di.flags & DSMIL_DEVF_QUARANTINED ? " and quarantined" : "");
	return di.flags & DSMIL_DEVF_QUARANTINED;
}

/*
 * A quarantined device refuses every write (4), unless lockdown (3) refused
 * it first.
 */
int eperm_code(int err, bool quarantined)
{
	struct dsmil_info info;

	if (err != EPERM || !quarantined)
		return -1;
	memset(&info, 0, sizeof(info));
	if (!xioctl(DSMIL_IOC_INFO, &info) &&
	    (info.features & DSMIL_FEAT_LOCKDOWN))
		return -1;
	return DSU_EXIT_REFUSED;
}

void json_device_ref(struct dsj *j, const char *key, unsigned int id)
{
	char name[16];

	dsu_device_name(id, name, sizeof(name));
	dsj_obj_begin(j, key);
	dsj_u64(j, "id", id);
	dsj_str(j, "name", name);
	dsj_obj_end(j);
}
