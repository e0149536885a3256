/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the reliability and security suites (fuzzer, stress,
 * allocation failures, privilege matrix, lifetime) and nothing else.  Header
 * only: tools/build-user builds every C file of tests/guest and tests/fuzz
 * as its own static binary, so these are static inline.
 *
 * Module loads go straight through finit_module(2)/delete_module(2), so the
 * tests see the real errno (busybox insmod/rmmod print it, but lose it).
 * The module path is $DSMIL_KO, default /lib/dsmil/dsmil.ko.
 */
#ifndef DSMIL_SUITE_H
#define DSMIL_SUITE_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "dsmil_ioctl.h"

#define DSMIL_DEV	"/dev/dsmil"
#define DSMIL_DEBUGFS	"/sys/kernel/debug/dsmil"
#define DSMIL_SIM_DIR	DSMIL_DEBUGFS "/sim"
#define DSMIL_MMIO_DIR	DSMIL_DEBUGFS "/mmio"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static inline const char *dsmil_ko(void)
{
	const char *p = getenv("DSMIL_KO");

	return p && *p ? p : "/lib/dsmil/dsmil.ko";
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ------------------------------------------------------------------ RNG */

/* splitmix64: seeds and per-call streams (one output per step). */
static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0.  The tiny modulo bias does not matter here. */
static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return splitmix64(s) % n;
}

/* Seed from the command line or the environment, else from the clock. */
static inline uint64_t suite_seed(const char *arg)
{
	const char *e = arg ? arg : getenv("DSMIL_SEED");

	if (e && *e)
		return strtoull(e, NULL, 0);
	return now_ns() ^ ((uint64_t)getpid() << 32);
}

static inline unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *e = getenv(name);

	return e && *e ? strtoul(e, NULL, 0) : def;
}

/* -------------------------------------------------------- module control */

static inline bool dsmil_loaded(void)
{
	return access("/sys/module/dsmil", F_OK) == 0;
}

/* Reference count of dsmil from /proc/modules, or -1 if not loaded. */
static inline int dsmil_refcnt(void)
{
	char line[512], name[64];
	int ref = -1, r;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long size;

		if (sscanf(line, "%63s %lu %d", name, &size, &r) == 3 &&
		    !strcmp(name, "dsmil")) {
			ref = r;
			break;
		}
	}
	fclose(f);
	return ref;
}

/* finit_module(2) of $DSMIL_KO with @params.  Returns 0 or -errno. */
static inline int dsmil_load(const char *params)
{
	int fd = open(dsmil_ko(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* delete_module(2) without waiting, as rmmod does.  0 or -errno. */
static inline int dsmil_unload(void)
{
	return syscall(SYS_delete_module, "dsmil", O_NONBLOCK) ? -errno : 0;
}

/* Unload, retrying refusals for up to @ms (a reference may drop late). */
static inline int dsmil_unload_wait(unsigned int ms)
{
	uint64_t end = now_ns() + ms * 1000000ULL;
	int ret;

	for (;;) {
		ret = dsmil_unload();
		if (ret != -EAGAIN && ret != -EBUSY)
			return ret;
		if (now_ns() > end)
			return ret;
		usleep(10000);
	}
}

/* Make sure dsmil is loaded with exactly @params (NULL: defaults). */
static inline int dsmil_reload(const char *params)
{
	int ret;

	if (dsmil_loaded()) {
		ret = dsmil_unload_wait(5000);
		if (ret)
			return ret;
	}
	return dsmil_load(params);
}

static inline int dsmil_open(void)
{
	return open(DSMIL_DEV, O_RDWR | O_CLOEXEC);
}

/* ------------------------------------------------------------ files */

/* Read a small text file into @buf (NUL-terminated).  Bytes or -errno. */
static inline int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = 0;
	close(fd);
	return n;
}

static inline int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static inline int writef(const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return write_text(path, buf);
}

/* Parse a debugfs/sysfs number; -1 on any failure. */
static inline long long read_num(const char *path)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtoll(buf, NULL, 0);
}

/* A marker in the kernel log, so host scripts can attribute reports. */
static inline void kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* A missing marker only costs attribution. */
		if (write(fd, buf, strlen(buf)) < 0)
			buf[0] = 0;
		close(fd);
	}
}

/* ----------------------------------------------------------- lockdown */

enum suite_lockdown { LD_NONE, LD_INTEGRITY, LD_CONFIDENTIALITY };

static inline const char *lockdown_name(enum suite_lockdown l)
{
	return l == LD_NONE ? "none" :
	       l == LD_INTEGRITY ? "integrity" : "confidentiality";
}

/* The current mode, from "[none] integrity confidentiality". */
static inline enum suite_lockdown lockdown_mode(void)
{
	char buf[128];

	if (read_text("/sys/kernel/security/lockdown", buf, sizeof(buf)) <= 0)
		return LD_NONE;
	if (strstr(buf, "[integrity]"))
		return LD_INTEGRITY;
	if (strstr(buf, "[confidentiality]"))
		return LD_CONFIDENTIALITY;
	return LD_NONE;
}

/*
 * The mode as first read by this process.  Multi-threaded callers (the
 * fuzzer) must not open files while other threads close and reopen
 * descriptors: call this once before starting threads.
 */
static inline enum suite_lockdown lockdown_cached(void)
{
	static int mode = -1;

	if (mode < 0)
		mode = lockdown_mode();
	return mode;
}

/* ------------------------------------------------------- privileges */

static inline int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capget, &h, d);
}

static inline int caps_set(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capset, &h, d);
}

static inline bool cap_effective(int cap)
{
	struct __user_cap_data_struct d[2] = {};

	if (caps_get(d))
		return false;
	return d[cap / 32].effective & (1U << (cap % 32));
}

/* Stay uid 0 but lose @cap for good (bounding, permitted, effective). */
static inline int drop_cap(int cap)
{
	struct __user_cap_data_struct d[2] = {};

	if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) || caps_get(d))
		return -1;
	d[cap / 32].effective &= ~(1U << (cap % 32));
	d[cap / 32].permitted &= ~(1U << (cap % 32));
	d[cap / 32].inheritable &= ~(1U << (cap % 32));
	if (caps_set(d))
		return -1;
	return cap_effective(cap) ? -1 : 0;
}

/* Become uid/gid 1000 with no capabilities at all. */
static inline int drop_to_user(void)
{
	struct __user_cap_data_struct d[2] = {};

	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) ||
	    setresuid(1000, 1000, 1000))
		return -1;
	/* From root to non-root clears the sets already; be explicit. */
	if (caps_set(d) || caps_get(d))
		return -1;
	return d[0].effective | d[0].permitted | d[1].effective |
	       d[1].permitted ? -1 : 0;
}

/* -------------------------------------------------- driver snapshots */

static inline int dsmil_info(int fd, struct dsmil_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, DSMIL_IOC_INFO, info) ? -errno : 0;
}

/*
 * Check INFO against the documented values for a default load (sim
 * backends, 360 MiB region, cap @max_resident).  Returns NULL or what is
 * wrong.
 */
static inline const char *dsmil_info_check(const struct dsmil_info *i,
					   unsigned int max_resident)
{
	unsigned int k;

	if (i->abi_version != DSMIL_ABI_VERSION)
		return "abi_version";
	if (i->num_groups != DSMIL_NUM_GROUPS ||
	    i->devs_per_group != DSMIL_DEVS_PER_GROUP ||
	    i->num_devices != DSMIL_NUM_DEVICES)
		return "device geometry";
	if (i->chunk_size != DSMIL_CHUNK_SIZE)
		return "chunk_size";
	if (i->region_size != DSMIL_DEFAULT_REGION_SIZE ||
	    i->num_chunks != DSMIL_DEFAULT_REGION_SIZE / DSMIL_CHUNK_SIZE)
		return "region geometry";
	if (i->region_base != 0)
		return "region_base (sim must be 0)";
	if (max_resident && i->max_resident != max_resident)
		return "max_resident";
	if (!memchr(i->smi_backend, 0, sizeof(i->smi_backend)) ||
	    !memchr(i->mmio_backend, 0, sizeof(i->mmio_backend)))
		return "backend name not NUL-terminated";
	if ((i->features & DSMIL_FEAT_SMI) &&
	    strcmp((const char *)i->smi_backend, "sim"))
		return "smi_backend (default is sim)";
	if ((i->features & DSMIL_FEAT_MMIO) &&
	    strcmp((const char *)i->mmio_backend, "sim"))
		return "mmio_backend (default is sim)";
	if (i->features & ~(DSMIL_FEAT_DEVICES | DSMIL_FEAT_SMI |
			    DSMIL_FEAT_MMIO | DSMIL_FEAT_WRITES |
			    DSMIL_FEAT_LOCKDOWN))
		return "unknown feature bits";
	if (!(i->features & DSMIL_FEAT_LOCKDOWN) != (lockdown_cached() == LD_NONE))
		return "FEAT_LOCKDOWN disagrees with /sys/kernel/security/lockdown";
	for (k = 0; k < ARRAY_SIZE(i->reserved); k++)
		if (i->reserved[k])
			return "reserved not zero";
	return NULL;
}

static inline int dsmil_stats(int fd, struct dsmil_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, DSMIL_IOC_STATS, st) ? -errno : 0;
}

static inline int smi_status(int fd, struct dsmil_smi_status *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, DSMIL_IOC_SMI_STATUS, st) ? -errno : 0;
}

static inline int mmio_status(int fd, struct dsmil_mmio_status *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, DSMIL_IOC_MMIO_STATUS, st) ? -errno : 0;
}

/* The documented SMI identity; NULL or what is off. */
static inline const char *smi_identity(const struct dsmil_smi_status *s)
{
	uint64_t sum = s->successes + s->errors + s->timeouts + s->hangs +
		       s->faulted_rejects + s->refused;

	return s->requests == sum ? NULL :
	       "requests != successes+errors+timeouts+hangs+faulted_rejects+refused";
}

static inline unsigned int popcount_map(const __u64 *map, unsigned int words)
{
	unsigned int i, n = 0;

	for (i = 0; i < words; i++)
		n += __builtin_popcountll(map[i]);
	return n;
}

/* The documented MMIO identities; NULL or what is off. */
static inline const char *mmio_identity(const struct dsmil_mmio_status *m)
{
	if (m->maps - m->unmaps != m->resident)
		return "maps - unmaps != resident";
	if (m->resident > m->max_resident)
		return "resident > max_resident";
	if (popcount_map(m->resident_map, ARRAY_SIZE(m->resident_map)) !=
	    m->resident)
		return "popcount(resident_map) != resident";
	return NULL;
}

/* Bring device @id from OFFLINE up to @target (READY or ACTIVE). */
static inline int dev_transition(int fd, unsigned int id, unsigned int target,
				 struct dsmil_transition *out)
{
	struct dsmil_transition t = { .id = id, .target = target };
	int ret = ioctl(fd, DSMIL_IOC_DEV_TRANSITION, &t) ? -errno : 0;

	if (out)
		*out = t;
	return ret;
}

static inline int dev_state(int fd, unsigned int id)
{
	struct dsmil_dev_info d = { .id = id };

	if (ioctl(fd, DSMIL_IOC_DEV_INFO, &d))
		return -errno;
	return d.state;
}

/*
 * OFFLINE/ERROR -> INITIALIZING -> READY [-> ACTIVE].  Controllers first is
 * the caller's business.  Returns 0 or the first failing -errno.
 */
static inline int dev_bring_up(int fd, unsigned int id, bool active)
{
	int st = dev_state(fd, id), ret;

	if (st < 0)
		return st;
	if (st == DSMIL_DEV_LOCKED) {
		ret = dev_transition(fd, id, DSMIL_DEV_ERROR, NULL);
		if (ret)
			return ret;
		st = DSMIL_DEV_ERROR;
	}
	if (st == DSMIL_DEV_OFFLINE || st == DSMIL_DEV_ERROR) {
		ret = dev_transition(fd, id, DSMIL_DEV_INITIALIZING, NULL);
		if (ret)
			return ret;
		st = DSMIL_DEV_INITIALIZING;
	}
	if (st == DSMIL_DEV_INITIALIZING) {
		ret = dev_transition(fd, id, DSMIL_DEV_READY, NULL);
		if (ret)
			return ret;
		st = DSMIL_DEV_READY;
	}
	if (active && st == DSMIL_DEV_READY)
		return dev_transition(fd, id, DSMIL_DEV_ACTIVE, NULL);
	return 0;
}

static inline unsigned int token_of(unsigned int group, unsigned int pos)
{
	return DSMIL_TOKEN_BASE + 12 * group + pos;
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
	struct dsmil_token_req tk;
	struct dsmil_smi_status ss;
	struct dsmil_mmio_rw rw;
	struct dsmil_mmio_bulk bk;
	struct dsmil_mmio_status ms;
};

#endif /* DSMIL_SUITE_H */
