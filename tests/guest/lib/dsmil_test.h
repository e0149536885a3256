/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest-test library: what every guest test (tests/guest), the fuzzer
 * (tests/fuzz) and the benchmark (tools/dsmil-bench.c) need around
 * /dev/dsmil.  Compiled once (lib/dsmil_test.c, lib/tool.c) and linked into
 * each binary by tests/guest/Makefile and tools/Makefile.
 *
 *  - module control: finit_module(2)/delete_module(2) of $DSMIL_KO (default
 *    /lib/dsmil/dsmil.ko), so callers see the real errno (busybox insmod and
 *    rmmod print it, but lose it); back to the defaults of a plain load;
 *  - module parameters (/sys/module/dsmil/parameters) and the debugfs knobs
 *    of the SMI simulator (sim/) and of the chunk mapper (mmio/);
 *  - the kernel log: markers, readers positioned at the end, searches;
 *  - lockdown, privilege drops, time, a seeded RNG;
 *  - snapshots and small wrappers of the ioctls, and the documented counter
 *    identities;
 *  - emergency stops while writes run (lib/stop_race.c), for the stress
 *    suite and the fuzzer;
 *  - for the tool tests (lib/tool.c): running a tool as root, root without
 *    capabilities or uid 1000 with its output captured, and a strict JSON
 *    parser with path lookups.
 *
 * What the tools share with these (time, tools/lib/dsmil_util.h) comes from
 * tools/lib, linked into this library.
 *
 * Conventions: functions that can fail return 0 (or a count) or -errno.
 * Those taking a file descriptor of /dev/dsmil accept -1 for "open the node
 * for this one call".  Nothing here prints; nothing depends on the kselftest
 * harness.
 */
#ifndef DSMIL_TEST_H
#define DSMIL_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <linux/capability.h>

#include "dsmil_ioctl.h"
#include "lib/dsmil_util.h"

#define DSMIL_KO_PATH	"/lib/dsmil/dsmil.ko"
#define DSMIL_DEV	"/dev/dsmil"
#define DSMIL_SYSFS	"/sys/module/dsmil"
#define DSMIL_PARAMS	DSMIL_SYSFS "/parameters"
#define DSMIL_DEBUGFS	"/sys/kernel/debug/dsmil"
#define DSMIL_SIM_DIR	DSMIL_DEBUGFS "/sim"
#define DSMIL_MMIO_DIR	DSMIL_DEBUGFS "/mmio"
#define DSMIL_MMIO_SIM_DIR DSMIL_DEBUGFS "/mmio"
#define DSMIL_TRACEFS	"/sys/kernel/tracing"

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

#define DT_PRINTF(f, a)	__attribute__((format(printf, f, a)))

/* ------------------------------------------------------------------ time */

/* CLOCK_MONOTONIC in ns and in ms; the tools' own (tools/lib). */
static inline uint64_t now_ns(void)
{
	return dsu_now_ns();
}

static inline uint64_t now_ms(void)
{
	return dsu_now_ms();
}

static inline void sleep_ms(unsigned int ms)
{
	dsu_sleep_ms(ms);
}

/* --------------------------------------------------- seeds, environment */

/* splitmix64: seeds and per-call streams (one output per step). */
uint64_t splitmix64(uint64_t *s);
/* Uniform in [0, n); n > 0.  The tiny modulo bias does not matter here. */
uint64_t rnd_below(uint64_t *s, uint64_t n);
/* @arg, else $DSMIL_SEED, else from the clock and the pid. */
uint64_t suite_seed(const char *arg);
/* $name as a number, or @def when unset or empty. */
unsigned long env_ulong(const char *name, unsigned long def);

/* ----------------------------------------------------------------- files */

/* A small text file into @buf, NUL-terminated: bytes read or -errno. */
int read_text(const char *path, char *buf, size_t len);
/* Write @s in one write(2): 0, -errno, or -EIO for a short write. */
int write_text(const char *path, const char *s);
int writef(const char *path, const char *fmt, ...) DT_PRINTF(2, 3);
/* A number (or a bool parameter's Y/N as 1/0) from a file; -1 on failure. */
long long read_num(const char *path);
bool file_exists(const char *path);

/* ---------------------------------------------------------------- module */

/* $DSMIL_KO, else /lib/dsmil/dsmil.ko. */
const char *dsmil_ko(void);
/* 1 when the module's DMI alias matches this machine (udev would load it). */
int dsmil_dmi_alias_matches(void);
bool dsmil_loaded(void);
/* The reference count from /proc/modules, or -1 when not loaded. */
int dsmil_refcnt(void);
/* finit_module(2) with @params (NULL: none): 0 or -errno. */
int dsmil_load(const char *params);
/* One delete_module(2) without waiting, as rmmod does: 0 or -errno. */
int dsmil_unload(void);
/* Unload, retrying -EAGAIN/-EBUSY for up to @ms (a reference may drop late). */
int dsmil_unload_wait(unsigned int ms);
/* Unload if loaded (waiting up to @ms), then load with @params. */
int dsmil_reload_wait(const char *params, unsigned int ms);
/* The same, waiting up to 5 s. */
int dsmil_reload(const char *params);
/* Can the module be loaded here: no lockdown, or a signed module? */
bool dsmil_can_reload(void);
int dsmil_open(void);
/* Loaded, with every load-time parameter at its default? */
bool dsmil_params_default(void);
/*
 * Back to what a plain load gives, for FIXTURE_TEARDOWN: loaded (reloaded
 * when a load-time parameter differs and a reload is possible), allow_writes
 * off, the SMI simulator's and the mapper's debugfs knobs at their defaults
 * (sim/reset when one is not), the module's trace events off.  What cannot
 * be read (debugfs and tracefs under lockdown) is left alone.  Before a
 * reload, every /dev/dsmil descriptor of this process is closed: a test's
 * own, left open by a failed ASSERT, would pin the module.  0, or the
 * -errno of the load, reload or parameter write that failed.
 */
int dsmil_restore_defaults(void);
/* Close every descriptor of /dev/dsmil this process holds: how many. */
int dsmil_close_all(void);

/* ----------------------------------------- parameters and debugfs knobs */

/* @dir/@name, read as text or a number, or written (printf-style). */
int dir_read_text(const char *dir, const char *name, char *buf, size_t len);
long long dir_read_num(const char *dir, const char *name);
int dir_writef(const char *dir, const char *name, const char *fmt, ...)
	DT_PRINTF(3, 4);

/* /sys/module/dsmil/parameters/@name. */
#define dsmil_param_read(name, buf, len) dir_read_text(DSMIL_PARAMS, name, buf, len)
#define dsmil_param_num(name)		dir_read_num(DSMIL_PARAMS, name)
#define dsmil_param_write(name, ...)	dir_writef(DSMIL_PARAMS, name, __VA_ARGS__)
/* The SMI simulator's knobs (sim/@knob): fault, slow_ms, reset... */
#define sim_knob_write(knob, ...)	dir_writef(DSMIL_SIM_DIR, knob, __VA_ARGS__)
/* The chunk mapper's knobs (mmio/@knob): fail_next_maps, busy_wait_ms. */
#define mmio_knob_num(knob)		dir_read_num(DSMIL_MMIO_DIR, knob)
#define mmio_knob_write(knob, ...)	dir_writef(DSMIL_MMIO_DIR, knob, __VA_ARGS__)
/* A counter of sim/stats ("name=value" lines), or -1. */
long long sim_stat(const char *name);
/* One line of sim/tokens ("<tok> <name> value= reads= writes="). */
bool sim_token_parse(const char *line, unsigned int *token,
		     unsigned int *value, unsigned long long *reads,
		     unsigned long long *writes);
/* What sim/tokens says of @token: 0 or -errno (-ENOENT: no such token). */
int sim_token(unsigned int token, unsigned long long *reads,
	      unsigned long long *writes, unsigned int *value);
/* Reads and writes of @token that reached the simulator, or -1. */
long long sim_reads(unsigned int token);
long long sim_writes(unsigned int token);

/* --------------------------------------------------------------- tracing */

/* Empty the trace buffer (DSMIL_TRACEFS/trace). */
int trace_clear(void);
/* Turn an event ("dsmil/dsmil_mmio_map") or a system ("dsmil") on or off. */
int trace_enable(const char *event, bool on);
/* The trace buffer's text into @buf, NUL-terminated: bytes, or -errno. */
int trace_read(char *buf, size_t size);

/* ------------------------------------------------------------ kernel log */

/* A marker line in the kernel log (lost silently if /dev/kmsg is not writable). */
void kmsg(const char *fmt, ...) DT_PRINTF(1, 2);
/* A reader of /dev/kmsg positioned after everything logged so far, or -1. */
int kmsg_open_end(void);
/* The next record's message (its first line) into @line: 1, or 0 at the end. */
int kmsg_next(int fd, char *line, size_t size);
/* A record from @fd on whose message holds every needle (NULL-terminated). */
bool kmsg_find(int fd, const char *needle, ...) __attribute__((sentinel));
/*
 * Append every new record's first line ("prio,seq,ts,flags;text") to @out
 * (may be NULL); count the kernel's own records whose text starts with
 * "dsmil: " in *@dsmil_lines (may be NULL).  Records read, or -1.
 */
int kmsg_collect(int fd, FILE *out, int *dsmil_lines);
/* The sequence number of the last record in the log, or -1. */
long long kmsg_last_seq(void);
/* Does a message in the log (all of the ring) match POSIX ERE @regex? */
bool kmsg_grep(const char *regex);

/* -------------------------------------------------------------- lockdown */

enum dsmil_lockdown { LD_NONE, LD_INTEGRITY, LD_CONFIDENTIALITY };

const char *lockdown_name(enum dsmil_lockdown l);
/* The current mode, from /sys/kernel/security/lockdown. */
enum dsmil_lockdown lockdown_mode(void);
/*
 * The mode as first read by this process.  Multi-threaded callers (the
 * fuzzer) must not open files while other threads close and reopen
 * descriptors: call this once before starting threads.
 */
enum dsmil_lockdown lockdown_cached(void);
/* Locked down now (either mode)? */
bool locked_down(void);

/* ------------------------------------------------------------ privileges */

int caps_get(struct __user_cap_data_struct d[2]);
int caps_set(struct __user_cap_data_struct d[2]);
bool cap_effective(int cap);
/* Stay uid 0 but lose @cap for good (bounding, permitted, effective): 0/-1. */
int drop_cap(int cap);
/* Become uid/gid 1000 with no supplementary groups and no capabilities. */
int drop_to_user(void);

/* ------------------------------------------------ ioctls and snapshots */
/* Each takes an open /dev/dsmil, or -1 to open one for the call. */

/* Any dsmil ioctl: 0 or -errno. */
int dsmil_ioc(int fd, unsigned long cmd, void *arg);

int dsmil_info(int fd, struct dsmil_info *info);
/* INFO's feature bits, or 0 when the node cannot be asked. */
unsigned int dsmil_features(void);
/*
 * INFO against the documented values of a default load (sim backends,
 * 360 MiB region, cap @max_resident unless 0): NULL or what is wrong.
 */
const char *dsmil_info_check(const struct dsmil_info *i, unsigned int max_resident);
int dsmil_stats(int fd, struct dsmil_stats *st);

int smi_status(int fd, struct dsmil_smi_status *st);
int smi_recover(int fd);
/* SMI_STATUS until nothing is in flight: 0, -ETIMEDOUT after @ms, -errno. */
int smi_wait_idle(int fd, struct dsmil_smi_status *st, unsigned int ms);
/* requests = successes + errors + timeouts + hangs + faulted_rejects + refused. */
const char *smi_identity(const struct dsmil_smi_status *s);
/* The latency histogram's total (the documented: requests - refused). */
uint64_t smi_hist_total(const struct dsmil_smi_status *s);

int mmio_status(int fd, struct dsmil_mmio_status *st);
/* With the per-chunk table: @n entries of @cs (may be NULL). */
int mmio_status_chunks(int fd, struct dsmil_mmio_status *st,
		       struct dsmil_chunk_stat *cs, uint32_t n);
/* maps - unmaps = resident <= max_resident = popcount(resident_map). */
const char *mmio_identity(const struct dsmil_mmio_status *m);
unsigned int popcount_map(const __u64 *map, unsigned int words);
bool map_bit(const __u64 *map, unsigned int i);
/* MMIO_READ/MMIO_WRITE (@cmd); *@val in and out (may be NULL). */
int mmio_rw(int fd, unsigned long cmd, __u64 off, __u8 width, __u32 flags,
	    __u16 dev, __u64 *val);
/* MMIO_BULK_READ/MMIO_BULK_WRITE (@cmd); *@done gets the bytes moved. */
int mmio_bulk(int fd, unsigned long cmd, __u64 off, void *buf, __u64 len,
	      __u32 flags, __u16 dev, __u64 *done);

int dev_info(int fd, unsigned int id, struct dsmil_dev_info *di);
/* The device's state, or -errno. */
int dev_state(int fd, unsigned int id);
/* One transition; *@out (may be NULL) gets the answer (state, reason...). */
int dev_transition(int fd, unsigned int id, unsigned int target,
		   struct dsmil_transition *out);
/*
 * From wherever it is to READY (@active: ACTIVE): LOCKED -> ERROR,
 * OFFLINE/ERROR -> INITIALIZING -> READY [-> ACTIVE].  Dependencies first
 * are the caller's business.  0 or the first failing -errno.
 */
int dev_bring_up(int fd, unsigned int id, bool active);
/* DEV_LIST into @di (@count entries): entries listed, -EPROTO if the
 * driver's total is not DSMIL_NUM_DEVICES, or -errno.
 */
int dev_list(int fd, struct dsmil_dev_info *di, unsigned int count);
/* GROUP_ESTOP; *@locked (may be NULL) gets the devices it locked. */
int group_estop(int fd, unsigned int group, unsigned int *locked);

/* The SMI token of device position @pos of group @group. */
static inline unsigned int token_of(unsigned int group, unsigned int pos)
{
	return DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * group + pos;
}

/* Room for the argument of any dsmil ioctl. */
union dsmil_ioc_arg {
	struct dsmil_info info;
	struct dsmil_stats st;
	struct dsmil_dev_info di;
	struct dsmil_dev_list dl;
	struct dsmil_transition tr;
	struct dsmil_group_stop gs;
	struct dsmil_audit_read ar;
	struct dsmil_write_audit_read wa;
	struct dsmil_token_req tk;
	struct dsmil_smi_status ss;
	struct dsmil_smi_result sr;
	struct dsmil_mmio_rw rw;
	struct dsmil_mmio_bulk bk;
	struct dsmil_mmio_status ms;
};

/* ------------------------------------ stops while writes run (stop_race.c) */

/*
 * The writes each device saw, from the simulators' own counters: token
 * writes that reached the SMI sim (sim/tokens; 0 for a device without a
 * token) and writes into the device's MMIO window that reached the sim
 * region (mmio/windows).
 */
struct write_ledger {
	uint64_t token[DSMIL_NUM_DEVICES];
	uint64_t window[DSMIL_NUM_DEVICES];
};

/* 0, or -errno (-ENODATA: a counter file did not parse). */
int write_ledger_read(struct write_ledger *l);

struct stop_race_cfg {
	uint64_t seed;
	unsigned int secs;	/* rounds for this long (at least 3); 0: 3 s */
	unsigned int writers;	/* writer threads, 1..16; 0: 4 */
	bool hostile;		/* also malformed and refused writes (fuzzer) */
};

struct stop_race_result {
	uint64_t rounds;
	uint64_t stops, locked;	/* GROUP_ESTOPs made, devices they locked */
	uint64_t calls, ok;	/* writer ioctls, and those that returned 0 */
	uint64_t refused, busy;	/* ... -ENODEV (device state), -EBUSY */
	uint64_t landed;	/* writes the sims counted, all devices */
	uint64_t handoffs;	/* STATS.handoffs during the run */
	uint64_t handoff_refused; /* STATS.handoff_refused during the run */
	uint64_t in_doubt;	/* struct dsmil_group_stop.in_doubt, summed */
	uint64_t after_stop;	/* writes a LOCKED device saw after its stop */
	uint64_t after_stop_tokens; /* ... of them token writes (SMI sim) */
	uint64_t wrong;		/* answers outside the contract */
	char why[256];		/* the first violation or wrong answer */
};

/*
 * Emergency stops while writes run: rounds of (groups 3, 4, 5 ACTIVE,
 * writers writing tokens and MMIO windows, a stop of one of those groups,
 * the sims' counters read when it returns and again once every write made
 * meanwhile has returned).  Needs root and dsmil.ko loaded with
 * allow_writes=1 (max_resident=1 and smi_timeout_ms=1000 make writes wait
 * where a stop can overtake them).  Leaves devices ACTIVE or LOCKED.
 * Returns 0 (then see @res), or -errno if it could not run: -EOPNOTSUPP
 * without the device model, SMI, MMIO parts or writes allowed; -ENODATA
 * without the sims' counters.
 */
int stop_race_run(const struct stop_race_cfg *cfg, struct stop_race_result *res);

/* ------------------------------------------------- the ivshmem BAR (dsmil-vm) */

/* BAR 2's physical base and size, from /run/dsmil-bar: 0 or -1. */
int bar_info(__u64 *base, __u64 *size);
/* The device's sysfs directory, from /run/dsmil-bar-dev: 0 or -1. */
int bar_sysfs_dir(char *dir, size_t len);
/*
 * The first @size bytes of BAR 2 through its sysfs resource2 file, shared,
 * read-only or read-write; NULL on failure.  No driver owns the ivshmem
 * device, so its memory decoding is off until something enables it
 * (dsmil-vm does at boot; this makes sure): without that, reads see zeros
 * and writes vanish, through the driver and through this mapping alike.
 */
void *bar_map(__u64 size, bool writable);

/* ------------------------------------------- tool tests (lib/tool.c) */

enum tt_priv {
	TT_ROOT,		/* as we are: root with every capability */
	TT_USER,		/* uid/gid 1000, no capabilities */
	TT_ROOT_NOCAPS,		/* uid 0 without CAP_SYS_ADMIN/CAP_SYS_RAWIO */
};

struct tt_run {
	int status;		/* exit status, or 128 + signal */
	char *out;		/* stdout, NUL-terminated */
	char *err;		/* stderr */
	pid_t pid;		/* the tool's pid (audit entries carry it) */
};

/*
 * Run argv (argv[0] found in PATH) as @priv, stdin from /dev/null, stdout
 * and stderr captured: 0, or -1 if it could not be run or read.
 */
int tt_runv(struct tt_run *r, enum tt_priv priv, char *const argv[]);
/* tt_run(&r, TT_ROOT, "dsmilctl", "info", NULL) */
int tt_run(struct tt_run *r, enum tt_priv priv, ...) __attribute__((sentinel));
/* Split a command line on spaces (no quoting) and run it as root. */
int tt_sh(struct tt_run *r, const char *fmt, ...) DT_PRINTF(2, 3);
void tt_run_free(struct tt_run *r);

enum tt_jtype { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

struct tt_json {
	enum tt_jtype type;
	bool b;
	bool is_int;		/* a number without fraction or exponent */
	bool neg;
	uint64_t u;		/* |integer| */
	double d;
	char *s;		/* string value (decoded) */
	int n;			/* array/object members */
	char **keys;		/* object keys */
	struct tt_json **v;	/* members */
};

/*
 * Parse exactly one JSON document (surrounding white space allowed).
 * Returns NULL and sets *err (if given) on any syntax error.
 */
struct tt_json *tt_json_parse(const char *text, const char **err);
void tt_json_free(struct tt_json *j);
/*
 * A member by path: "devices[3].state", "kinds.smi-timeout", "[0].kind".
 * Keys are [A-Za-z0-9_-]+.  NULL when absent.
 */
struct tt_json *tt_jget(struct tt_json *j, const char *path);
/* Unsigned integer at path, or ~0 (never a real value in these tests). */
uint64_t tt_jnum(struct tt_json *root, const char *fmt, ...) DT_PRINTF(2, 3);
/* String at path, or NULL. */
const char *tt_jstr(struct tt_json *root, const char *fmt, ...) DT_PRINTF(2, 3);
/* Boolean at path: 0 or 1, or -1 when absent or not a boolean. */
int tt_jbool(struct tt_json *root, const char *fmt, ...) DT_PRINTF(2, 3);
/* Type at path, or -1 when absent. */
int tt_jtype(struct tt_json *root, const char *fmt, ...) DT_PRINTF(2, 3);
/* Members of the array/object at path, or -1. */
int tt_jlen(struct tt_json *root, const char *fmt, ...) DT_PRINTF(2, 3);

#endif /* DSMIL_TEST_H */
