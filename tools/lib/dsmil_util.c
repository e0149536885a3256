// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the dsmil userspace tools; see dsmil_util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dsmil_ioctl.h"
#include "dsmil_names.h"
#include "lib/dsmil_util.h"

const char *dsu_prog;

void dsu_verr(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", dsu_prog ? dsu_prog :
		program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void dsu_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dsu_verr(fmt, ap);
	va_end(ap);
}

void dsu_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dsu_verr(fmt, ap);
	va_end(ap);
	exit(1);
}

uint64_t dsu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t dsu_now_ms(void)
{
	return dsu_now_ns() / 1000000;
}

void dsu_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int dsu_exit_for_errno(int err)
{
	switch (err) {
	case 0:
		return DSU_EXIT_OK;
	case EPERM:
	case EACCES:
		return DSU_EXIT_PERM;
	case ENODEV:
	case EBUSY:
	case ENOLINK:
	case EINVAL:
	case ERANGE:
	case EAGAIN:
	case ENXIO:
	case EOPNOTSUPP:
	case E2BIG:
		return DSU_EXIT_REFUSED;
	case ETIMEDOUT:
	case EIO:
	case ESHUTDOWN:
		return DSU_EXIT_HW;
	case EINPROGRESS:
		return DSU_EXIT_UNKNOWN;
	default:
		return DSU_EXIT_OTHER;
	}
}

const char *dsu_errno_name(int err)
{
	static char buf[16];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

const char *dsu_getopt_error(int c, char *const argv[], const char *shortopts,
			     char *buf, size_t len)
{
	const char *word = optind > 0 ? argv[optind - 1] : NULL;
	bool known = optopt && optopt != ':' && strchr(shortopts, optopt);
	bool long_opt = word && !strncmp(word, "--", 2);
	char name[48];

	/*
	 * A long option is consumed whole, so it is argv[optind - 1]: unknown
	 * (optopt 0), given a value it does not take (optopt its val), or
	 * missing its value (':', only ever at the end of argv).  An unknown
	 * short option is named by optopt, wherever it sat.
	 */
	if (c != ':' && optopt && !known)
		long_opt = false;
	if (long_opt)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(word, "="),
			 word);
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (c == ':')
		snprintf(buf, len, "option '%s' needs a value", name);
	else if (long_opt && known)
		snprintf(buf, len, "option '%s' takes no value", name);
	else
		snprintf(buf, len, "unknown option '%s'", name);
	return buf;
}

const char *dsu_option_name(int c, int longindex,
			    const struct option *longopts, char *buf,
			    size_t len)
{
	if (longindex >= 0)
		snprintf(buf, len, "--%s", longopts[longindex].name);
	else
		snprintf(buf, len, "-%c", c);
	return buf;
}

int dsu_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* strtoull() would accept a sign and leading spaces: we do not. */
	if (!(base == 16 ? isxdigit((unsigned char)*s) :
			   isdigit((unsigned char)*s)))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int dsu_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char num[32];
	size_t n;
	unsigned int shift = 0;
	uint64_t v;
	int ret;

	if (!s || !*s)
		return -EINVAL;
	n = strlen(s);
	if (n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	/* A hex number may end in a digit that looks like a suffix; not K/M/G. */
	switch (num[n - 1]) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	}
	if (shift)
		num[n - 1] = '\0';
	ret = dsu_parse_u64(num, UINT64_MAX >> shift, &v);
	if (ret)
		return ret;
	v <<= shift;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int dsu_parse_device(const char *s, unsigned int *id)
{
	uint64_t g, i;
	const char *colon;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	if (!strncasecmp(s, "DSMIL", 5)) {
		/* DSMIL<g>D<i>: one decimal group digit, one hex index digit. */
		s += 5;
		if (!isdigit((unsigned char)s[0]) || toupper((unsigned char)s[1]) != 'D' ||
		    !isxdigit((unsigned char)s[2]) || s[3])
			return -EINVAL;
		g = s[0] - '0';
		i = strtoul(s + 2, &end, 16);
		if (g >= DSMIL_NUM_GROUPS || i >= DSMIL_DEVS_PER_GROUP)
			return -ERANGE;
		*id = g * DSMIL_DEVS_PER_GROUP + i;
		return 0;
	}
	colon = strchr(s, ':');
	if (colon) {
		char grp[24];
		size_t n = colon - s;
		int ret;

		if (n == 0 || n >= sizeof(grp))
			return -EINVAL;
		memcpy(grp, s, n);
		grp[n] = '\0';
		ret = dsu_parse_u64(grp, DSMIL_NUM_GROUPS - 1, &g);
		if (!ret)
			ret = dsu_parse_u64(colon + 1, DSMIL_DEVS_PER_GROUP - 1, &i);
		if (ret)
			return ret;
		*id = g * DSMIL_DEVS_PER_GROUP + i;
		return 0;
	}
	if (dsu_parse_u64(s, UINT64_MAX, &i))
		return -EINVAL;
	if (i >= DSMIL_NUM_DEVICES)
		return -ERANGE;
	*id = i;
	return 0;
}

void dsu_device_name(unsigned int id, char *buf, size_t len)
{
	snprintf(buf, len, "DSMIL%uD%X", id / DSMIL_DEVS_PER_GROUP,
		 id % DSMIL_DEVS_PER_GROUP);
}

/* The driver's own words (dmesg, sysfs, audit), from the shared header. */
static const char *const dsu_states[] = DSMIL_DEV_STATE_NAMES;
static const char *const dsu_group_states[] = DSMIL_GROUP_STATE_NAMES;
static const char *const dsu_reasons[] = DSMIL_REASON_NAMES;

/* The tools' JSON vocabulary: an output format of its own, kept stable. */
static const char *const dsu_states_json[] = {
	[DSMIL_DEV_OFFLINE]	 = "offline",
	[DSMIL_DEV_INITIALIZING] = "initializing",
	[DSMIL_DEV_READY]	 = "ready",
	[DSMIL_DEV_ACTIVE]	 = "active",
	[DSMIL_DEV_ERROR]	 = "error",
	[DSMIL_DEV_LOCKED]	 = "locked",
};

static const char *const dsu_group_states_json[] = {
	[DSMIL_GROUP_DISABLED]	     = "disabled",
	[DSMIL_GROUP_INITIALIZING]   = "initializing",
	[DSMIL_GROUP_READY]	     = "ready",
	[DSMIL_GROUP_ACTIVE]	     = "active",
	[DSMIL_GROUP_ERROR]	     = "error",
	[DSMIL_GROUP_EMERGENCY_STOP] = "emergency_stop",
};

static const char *const dsu_groups[DSMIL_NUM_GROUPS] = {
	"Core Security", "Extended Security", "Network Operations",
	"Data Processing", "Communications", "Advanced Features",
};

static const char *const dsu_reason_texts[] = {
	[DSMIL_REASON_NONE]		= "accepted",
	[DSMIL_REASON_ILLEGAL]		= "the state table does not allow this transition",
	[DSMIL_REASON_DEPENDENCY]	= "a device or group it depends on is not up",
	[DSMIL_REASON_DEPENDENT]	= "a device depending on it is still ACTIVE",
	[DSMIL_REASON_QUARANTINED]	= "the device is quarantined: never ACTIVE, never written",
	[DSMIL_REASON_VERIFY_FAILED]	= "verifying the device through its SMI token failed",
	[DSMIL_REASON_SMI_FAULT]	= "an SMI request on its token timed out, hung or failed",
	[DSMIL_REASON_EMERGENCY_STOP]	= "its group was emergency-stopped",
	[DSMIL_REASON_UNLOAD]		= "the module is unloading",
	[DSMIL_REASON_STATE]		= "the device's state does not allow the access",
	[DSMIL_REASON_BAD_ARG]		= "an id or argument is out of range",
	[DSMIL_REASON_RESUME]		= "the machine slept: the device must be verified again",
};

static const char *const dsu_sources[] = DSMIL_SOURCE_NAMES;

#define DSU_NAME(tbl, v) \
	((v) < ARRAY_SIZE(tbl) && (tbl)[v] ? (tbl)[v] : "unknown")

const char *dsu_state_name(unsigned int state)
{
	return DSU_NAME(dsu_states, state);
}

const char *dsu_state_json(unsigned int state)
{
	return DSU_NAME(dsu_states_json, state);
}

const char *dsu_group_state_name(unsigned int gstate)
{
	return DSU_NAME(dsu_group_states, gstate);
}

const char *dsu_group_state_json(unsigned int gstate)
{
	return DSU_NAME(dsu_group_states_json, gstate);
}

const char *dsu_group_name(unsigned int group)
{
	return DSU_NAME(dsu_groups, group);
}

const char *dsu_reason_name(unsigned int reason)
{
	return DSU_NAME(dsu_reasons, reason);
}

const char *dsu_reason_text(unsigned int reason)
{
	return DSU_NAME(dsu_reason_texts, reason);
}

const char *dsu_source_name(unsigned int source)
{
	return DSU_NAME(dsu_sources, source);
}

static const struct {
	const char *name;
	unsigned int pos;
} dsu_positions[] = {
	{ "power",   DSMIL_TOKEN_POWER },
	{ "memory",  DSMIL_TOKEN_MEMORY },
	{ "storage", DSMIL_TOKEN_STORAGE },
	{ "sensor",  DSMIL_TOKEN_SENSOR },
};

const char *dsu_position_name(unsigned int pos)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dsu_positions); i++)
		if (dsu_positions[i].pos == pos)
			return dsu_positions[i].name;
	return NULL;
}

int dsu_parse_position(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dsu_positions); i++)
		if (!strcasecmp(s, dsu_positions[i].name))
			return dsu_positions[i].pos;
	return -1;
}

/* ---- JSON writer -------------------------------------------------------- */

void dsj_init(struct dsj *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void dsj_indent(struct dsj *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void dsj_put_string(struct dsj *j, const char *s, size_t len)
{
	size_t i;

	fputc('"', j->f);
	for (i = 0; i < len && s[i]; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '"':
			fputs("\\\"", j->f);
			break;
		case '\\':
			fputs("\\\\", j->f);
			break;
		case '\n':
			fputs("\\n", j->f);
			break;
		case '\t':
			fputs("\\t", j->f);
			break;
		case '\r':
			fputs("\\r", j->f);
			break;
		default:
			/* Control bytes and non-ASCII (not known to be UTF-8). */
			if (c < 0x20 || c >= 0x7f)
				fprintf(j->f, "\\u%04x", c);
			else
				fputc(c, j->f);
		}
	}
	fputc('"', j->f);
}

/* Separator, indentation and key before a value. */
static void dsj_value_prefix(struct dsj *j, const char *key)
{
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			fputc(',', j->f);
		j->need_comma[j->depth] = true;
		dsj_indent(j);
	}
	if (key) {
		dsj_put_string(j, key, SIZE_MAX);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void dsj_open(struct dsj *j, const char *key, char c)
{
	dsj_value_prefix(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < DSJ_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void dsj_close(struct dsj *j, char c)
{
	bool empty = !j->need_comma[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		dsj_indent(j);
	fputc(c, j->f);
}

void dsj_obj_begin(struct dsj *j, const char *key)
{
	dsj_open(j, key, '{');
}

void dsj_obj_end(struct dsj *j)
{
	dsj_close(j, '}');
}

void dsj_arr_begin(struct dsj *j, const char *key)
{
	dsj_open(j, key, '[');
}

void dsj_arr_end(struct dsj *j)
{
	dsj_close(j, ']');
}

void dsj_u64(struct dsj *j, const char *key, uint64_t v)
{
	dsj_value_prefix(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void dsj_i64(struct dsj *j, const char *key, int64_t v)
{
	dsj_value_prefix(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void dsj_double(struct dsj *j, const char *key, double v)
{
	dsj_value_prefix(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void dsj_bool(struct dsj *j, const char *key, bool v)
{
	dsj_value_prefix(j, key);
	fputs(v ? "true" : "false", j->f);
}

void dsj_null(struct dsj *j, const char *key)
{
	dsj_value_prefix(j, key);
	fputs("null", j->f);
}

void dsj_str(struct dsj *j, const char *key, const char *s)
{
	dsj_strn(j, key, s, SIZE_MAX);
}

void dsj_strn(struct dsj *j, const char *key, const char *s, size_t len)
{
	dsj_value_prefix(j, key);
	if (s)
		dsj_put_string(j, s, len);
	else
		fputs("null", j->f);
}

void dsj_end(struct dsj *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
