/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the dsmil userspace tools (dsmilctl, dsmil-monitor,
 * dsmil-bench) and the guest-test library (tests/guest/lib): messages and
 * time, a small JSON writer, strict number parsing, the names of the
 * driver's enums and the errno -> exit code policy.
 *
 * Every C file in tools/lib is linked into every tool binary and into the
 * guest-test library (32-bit too), so nothing here may depend on one
 * particular tool.  Exported names start with dsu_ (util) or dsj_ (JSON
 * writer).
 */
#ifndef _DSMIL_TOOLS_UTIL_H
#define _DSMIL_TOOLS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Userspace has no <linux/compiler.h>: its __printf(), spelled out once. */
#define DSU_PRINTF(f, a)	__attribute__((format(printf, f, a)))

/*
 * The name messages start with ("dsmilctl: ..."); a tool sets it first
 * thing in main() so that its messages do not depend on the name it was
 * run by.  NULL: the name it was run by.
 */
extern const char *dsu_prog;
/* "<prog>: <message>\n" on stderr. */
void dsu_err(const char *fmt, ...) DSU_PRINTF(1, 2);
void dsu_verr(const char *fmt, va_list ap) DSU_PRINTF(1, 0);
/* dsu_err(), then exit(1). */
_Noreturn void dsu_die(const char *fmt, ...) DSU_PRINTF(1, 2);

/* CLOCK_MONOTONIC in ns and in ms; a sleep that signals do not cut short. */
uint64_t dsu_now_ns(void);
uint64_t dsu_now_ms(void);
void dsu_sleep_ms(unsigned int ms);

/* dsmilctl exit codes; documented in dsmilctl(8) and dsmil-tools.rst. */
enum dsu_exit {
	DSU_EXIT_OK		= 0,
	DSU_EXIT_OTHER		= 1,	/* anything not below */
	DSU_EXIT_USAGE		= 2,	/* bad command line */
	DSU_EXIT_PERM		= 3,	/* EPERM / EACCES */
	DSU_EXIT_REFUSED	= 4,	/* device or state refused the request */
	DSU_EXIT_HW		= 5,	/* hardware timeout or fault */
	DSU_EXIT_NODRIVER	= 6,	/* no /dev/dsmil: driver not loaded */
	DSU_EXIT_UNKNOWN	= 7,	/* EINPROGRESS: outcome not known yet */
};

/* Exit code for an errno returned by an ioctl on /dev/dsmil. */
int dsu_exit_for_errno(int err);
/* Symbolic errno name ("ENOLINK"); "E<n>" for one without a name. */
const char *dsu_errno_name(int err);

/*
 * Parse an unsigned number: decimal, or hex with a 0x/0X prefix.  No sign,
 * no spaces, no trailing characters.  Returns 0 and stores it, or -EINVAL
 * (not a number) or -ERANGE (greater than @max).
 */
int dsu_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* As dsu_parse_u64, with an optional binary suffix K, M or G (KiB...). */
int dsu_parse_size(const char *s, uint64_t max, uint64_t *out);

/*
 * Parse a device: a global id (0..71, decimal or hex), "G:I" (group and
 * index, index decimal or hex), or a name DSMIL<g>D<i> with the index in
 * hex, case-insensitive.  Returns 0 or -EINVAL/-ERANGE.
 */
int dsu_parse_device(const char *s, unsigned int *id);
/* Format device @id's name, DSMIL<g>D<i>, into @buf (>= 16 bytes). */
void dsu_device_name(unsigned int id, char *buf, size_t len);

/*
 * What is wrong with the option getopt_long() just refused (@c: '?' or ':';
 * @shortopts: its optstring, starting with ':'), naming the option as the
 * user wrote it: "unknown option '-x'", "option '--kind' needs a value",
 * "option '--json' takes no value".  Not argv[optind - 1]: inside a bundle
 * ("-jx") getopt has not moved past the word yet, that is an earlier word.
 * Returns @buf.
 */
const char *dsu_getopt_error(int c, char *const argv[], const char *shortopts,
			     char *buf, size_t len);
/*
 * The option getopt_long() just returned @c for (@longindex: what it stored
 * there, -1 before the call): "--name" or "-x".  Returns @buf.
 */
struct option;
const char *dsu_option_name(int c, int longindex,
			    const struct option *longopts, char *buf,
			    size_t len);

/* Names of the uapi enums: upper case for people, lower case for JSON. */
const char *dsu_state_name(unsigned int state);		/* "ACTIVE" */
const char *dsu_state_json(unsigned int state);		/* "active" */
const char *dsu_group_state_name(unsigned int gstate);	/* "EMERGENCY_STOP" */
const char *dsu_group_state_json(unsigned int gstate);	/* "emergency_stop" */
const char *dsu_group_name(unsigned int group);		/* "Core Security" */
const char *dsu_reason_name(unsigned int reason);	/* "dependency" */
const char *dsu_reason_text(unsigned int reason);	/* sentence */
const char *dsu_source_name(unsigned int source);	/* "ioctl" */
/* Token position name ("power") or NULL; and the reverse (-1 if none). */
const char *dsu_position_name(unsigned int pos);
int dsu_parse_position(const char *s);

/*
 * A minimal streaming JSON writer.  Keys are given with each value; inside
 * arrays the key is NULL.  Output is one document, indented when @pretty,
 * else on one line (JSON lines).
 */
#define DSJ_MAX_DEPTH	16

struct dsj {
	FILE *f;
	bool pretty;
	int depth;
	bool need_comma[DSJ_MAX_DEPTH];
};

void dsj_init(struct dsj *j, FILE *f, bool pretty);
void dsj_obj_begin(struct dsj *j, const char *key);
void dsj_obj_end(struct dsj *j);
void dsj_arr_begin(struct dsj *j, const char *key);
void dsj_arr_end(struct dsj *j);
void dsj_u64(struct dsj *j, const char *key, uint64_t v);
void dsj_i64(struct dsj *j, const char *key, int64_t v);
void dsj_double(struct dsj *j, const char *key, double v);
void dsj_bool(struct dsj *j, const char *key, bool v);
void dsj_null(struct dsj *j, const char *key);
void dsj_str(struct dsj *j, const char *key, const char *s);
/* A string of at most @len bytes (stops at a NUL). */
void dsj_strn(struct dsj *j, const char *key, const char *s, size_t len);
/* Ends the document with a newline and flushes. */
void dsj_end(struct dsj *j);

#endif /* _DSMIL_TOOLS_UTIL_H */
