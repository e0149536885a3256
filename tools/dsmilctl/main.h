/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmilctl's pieces, one file per object in the manner of bpftool:
 *
 *   main.c    global options, the top-level command table, help lookup
 *   common.c  argument parsing, failure reports (text and JSON), the node
 *   info.c    info, stats
 *   device.c  devices, device DEV ACTION, group G emergency-stop
 *   audit.c   audit [--writes]
 *   smi.c     token read|write, smi status|recover|result
 *   mmio.c    mmio read|write|dump, chunks
 *
 * Each object has a table of its commands (struct cmd) and its own help
 * entries (struct help); main.c looks help up across all of them.
 */
#ifndef _DSMILCTL_MAIN_H
#define _DSMILCTL_MAIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dsmil_ioctl.h"
#include "lib/dsmil_util.h"

/* What every command shares: the global options and the open node. */
struct ctx {
	const char *node;
	const char *cmd;	/* "token read": for messages */
	bool json;
	bool json_done;		/* a JSON document went to stdout already */
	const char *tail;	/* appended to the next failure message */
	int fd;
};

extern struct ctx ctl;

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

/* Help for one command path ("", "token", "token read"...). */
struct help {
	const char *path;
	const char *synopsis;
	const char *text;
};

/* Each object's help entries, ended by an entry with a NULL path. */
extern const struct help main_help[];
extern const struct help info_help[];
extern const struct help device_help[];
extern const struct help audit_help[];
extern const struct help smi_help[];
extern const struct help mmio_help[];
extern const struct help metrics_help[];

/* Top-level commands (argv[0] is the command word). */
int do_info(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_devices(int argc, char **argv);
int do_device(int argc, char **argv);
int do_group(int argc, char **argv);
int do_audit(int argc, char **argv);
int do_token(int argc, char **argv);
int do_smi(int argc, char **argv);
int do_mmio(int argc, char **argv);
int do_chunks(int argc, char **argv);
int do_metrics(int argc, char **argv);

/* ---- main.c: help ----------------------------------------------------- */

/* Help for @path on stdout (the top level's when there is none): exit 0. */
int print_help(const char *path);
/* "dsmilctl: <message>", the usage and a hint on stderr: exit 2. */
int usage_error(const char *path, const char *fmt, ...) DSU_PRINTF(2, 3);
/*
 * An object's subcommand: "OBJECT SUB ARGS...", @argv[0] the object's word.
 * -h/--help prints the object's help; a missing or unknown SUB is a usage
 * error naming the table's commands.
 */
int cmd_select(const char *object, const struct cmd *cmds, int argc,
	       char **argv);

/* ---- common.c: command lines ------------------------------------------ */

enum {
	OPT_GROUP	= 1 << 0,
	OPT_WIDTH	= 1 << 1,
	OPT_DEVICE	= 1 << 2,
	OPT_OUTPUT	= 1 << 3,
	OPT_SINCE	= 1 << 4,
	OPT_VERBOSE	= 1 << 5,
	OPT_WRITES	= 1 << 6,
	OPT_ALL		= 1 << 7,
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
	bool all;
};

/*
 * Parse the options of a (sub)command (@allowed: OPT_* bits) and count its
 * positional arguments.  @argv[0] is the command word.  Returns -1 to go
 * on, or the exit status: 0 after --help, 2 after a usage error (message
 * printed).  The arg_*() helpers below return the same way.
 */
int parse_args(const char *path, unsigned int allowed, int min_pos,
	       int max_pos, int argc, char **argv, struct args *a);
int arg_u64(const struct args *a, const char *what, const char *s,
	    uint64_t max, uint64_t *v);
int arg_group(const struct args *a, const char *s, unsigned int *g);
int arg_device(const struct args *a, const char *s, unsigned int *id);

/* ---- common.c: failures ----------------------------------------------- */

/*
 * A command's JSON document on stdout: one object, json_begin() to
 * json_end() (which returns 0, and marks the document printed so that a
 * failure after it adds no second one).
 */
void json_begin(struct dsj *j);
int json_end(struct dsj *j);
/* The "error" member of a JSON document. */
void json_error(struct dsj *j, const char *msg, int err, int reason,
		int code);
/*
 * Report a failure in words on stderr (and, with --json, as the JSON
 * document unless one was printed).  @err is an errno or 0; @reason an enum
 * dsmil_reason the driver gave, or -1.  fail() takes the exit status from
 * @err, fail_code() is given it (-1: from @err).  Returns the exit status.
 */
int fail(int err, int reason, const char *fmt, ...) DSU_PRINTF(3, 4);
int fail_code(int code, int err, int reason, const char *fmt, ...) DSU_PRINTF(4, 5);

/* ---- common.c: the driver --------------------------------------------- */

/* Open the node; returns -1 when open, else the exit status. */
int open_node(void);
/* ioctl on the node: 0 or the positive errno. */
int xioctl(unsigned long cmd, void *arg);
/* DSMIL_IOC_INFO; -1 or the exit status after a message. */
int get_info(struct dsmil_info *info);
/* DSMIL_IOC_DEV_INFO: 0 or the positive errno. */
int get_dev(unsigned int id, struct dsmil_dev_info *di);
/*
 * "; DSMIL0D3 is OFFLINE" into @buf when the device's state explains a
 * refusal.  Returns true when the device is quarantined.
 */
bool state_hint(unsigned int id, char *buf, size_t len);
/* Exit status of an EPERM on a device-scoped write (-1: the errno's). */
int eperm_code(int err, bool quarantined);
/* { "id": ID, "name": "DSMIL<g>D<i>" } */
void json_device_ref(struct dsj *j, const char *key, unsigned int id);

#endif /* _DSMILCTL_MAIN_H */
