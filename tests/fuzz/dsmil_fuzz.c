// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil_fuzz: a seeded, reproducible ioctl fuzzer for /dev/dsmil.
 *
 * Runs as root in the debug guest (KASAN, lockdep, kmemleak) with dsmil.ko
 * loaded with default parameters.  Several threads share several open files
 * and issue ioctls drawn from every command of dsmil_ioctl.h, from numbers
 * around them (other nr, size, direction, magic) and from anywhere, with
 * hostile payloads (reserved fields set, huge lengths and counts, offsets
 * near U64_MAX) and bad pointers (NULL, unmapped, kernel addresses, buffers
 * ending at a PROT_NONE page, read-only pages, pages another thread keeps
 * revoking).  Files are closed, reopened and dup2()ed over while other
 * threads use them.
 *
 * Phases: A with the module as loaded (allow_writes off); B after reloading
 * it with allow_writes=1, so the write paths run on the sim backends, while
 * a chaos thread turns the SMI sim's fault knobs on and off; C (the stop
 * mode, --stop-secs, default 3 s) emergency-stops groups while threads
 * write to their devices, well-formed and hostile writes mixed, and the
 * simulators' own counters must show no write to a LOCKED device after its
 * stop returned (lib/stop_race.c).  Asynchronous token requests are submitted
 * and cancelled like any command, and every file is also read() (completion
 * records, O_NONBLOCK, any size and buffer) and poll()ed while threads
 * close it under one another.  Then the module must unload, load again
 * with defaults and answer a set of deterministic checks exactly.  The
 * kernel log (dsmil-vm) and kmemleak do the rest.
 *
 * Every call's command and payload is a pure function of (seed, phase,
 * thread, call number): a failure prints all four, and
 *   dsmil_fuzz --seed S --replay PHASE:THREAD:CALL
 * rebuilds that one call, prints it and runs it alone.
 *
 * Each result is also checked against the contract: the errno must be one
 * the uapi header documents for that command (or the dispatcher's rules for
 * unknown numbers: -ENOTTY, known number with another size/direction:
 * -EINVAL), no call may succeed with an unreadable argument, nothing may be
 * written to a read-only buffer, and outputs must be well formed.
 *
 * Usage: dsmil_fuzz [--seed N] [--calls N] [--threads N] [--files N]
 *                   [--writes-share PCT] [--no-reload] [--no-chaos]
 *                   [--stop-secs N] [--replay P:T:I] [-v]
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/fs.h>

#include "tests/guest/lib/dsmil_test.h"

#define PAGE		4096UL
#define ARG_PAGES	4		/* room for any encodable size */
#define NEST_PAGES	96		/* nested buffers (lists, bulk) */
#define BIG_LEN		(DSMIL_BULK_MAX + PAGE)
#define VOL_PAGES	16
#define MAX_THREADS	32
#define MAX_FILES	64
#define MAX_FAILS	25
#define SLOW_CALL_NS	(10ULL * 1000000000ULL)

/* ----------------------------------------------------------- commands */

enum { F_MAIN = 0 };

struct cmd_desc {
	unsigned int cmd;
	const char *name;
	unsigned int feat;	/* DSMIL_FEAT_* the command needs, 0: always */
	const int *errs;	/* documented errnos, 0-terminated */
};

#define ERRS(...) ((const int[]){ __VA_ARGS__, 0 })

/*
 * The documented errnos per command (dsmil_ioctl.h).  The common ones
 * (-EFAULT, -EINVAL, -EPERM, -EACCES) only where the command can produce
 * them: EPERM/EACCES come from the policy (root has every capability here,
 * so only lockdown and allow_writes can refuse) or from quarantine.
 */
static const struct cmd_desc cmds[] = {
	{ DSMIL_IOC_INFO, "INFO", F_MAIN, ERRS(EFAULT) },
	{ DSMIL_IOC_STATS, "STATS", F_MAIN, ERRS(EFAULT) },
	{ DSMIL_IOC_WRITE_AUDIT_READ, "WRITE_AUDIT_READ", F_MAIN,
	  ERRS(EFAULT, EINVAL, ENOMEM) },
	{ DSMIL_IOC_DEV_INFO, "DEV_INFO", DSMIL_FEAT_DEVICES,
	  ERRS(EFAULT, EINVAL) },
	{ DSMIL_IOC_DEV_LIST, "DEV_LIST", DSMIL_FEAT_DEVICES,
	  ERRS(EFAULT, EINVAL) },
	{ DSMIL_IOC_DEV_TRANSITION, "DEV_TRANSITION", DSMIL_FEAT_DEVICES,
	  ERRS(EFAULT, EINVAL, EBUSY, ENOLINK, EPERM, EIO, ETIMEDOUT,
	       ESHUTDOWN, EINTR, EAGAIN) },
	{ DSMIL_IOC_GROUP_ESTOP, "GROUP_ESTOP", DSMIL_FEAT_DEVICES,
	  ERRS(EFAULT, EINVAL) },
	{ DSMIL_IOC_AUDIT_READ, "AUDIT_READ", DSMIL_FEAT_DEVICES,
	  ERRS(EFAULT, EINVAL, ENOMEM) },
	{ DSMIL_IOC_TOKEN_READ, "TOKEN_READ", DSMIL_FEAT_SMI,
	  ERRS(EFAULT, EINVAL, ENODEV, ETIMEDOUT, EIO, ENXIO, EOPNOTSUPP,
	       EBUSY, ESHUTDOWN, ENOMEM, EINTR, ENOENT, EACCES, EINPROGRESS) },
	{ DSMIL_IOC_TOKEN_WRITE, "TOKEN_WRITE", DSMIL_FEAT_SMI,
	  ERRS(EFAULT, EINVAL, EACCES, EPERM, ENODEV, ETIMEDOUT, EIO, ENXIO,
	       EOPNOTSUPP, EBUSY, ESHUTDOWN, ENOMEM, EINTR, ENOENT, ERANGE,
	       EINPROGRESS) },
	{ DSMIL_IOC_SMI_STATUS, "SMI_STATUS", DSMIL_FEAT_SMI, ERRS(EFAULT) },
	{ DSMIL_IOC_SMI_RECOVER, "SMI_RECOVER", DSMIL_FEAT_SMI,
	  ERRS(EAGAIN, EBUSY, EIO) },
	{ DSMIL_IOC_SMI_RESCAN, "SMI_RESCAN", DSMIL_FEAT_SMI,
	  ERRS(EOPNOTSUPP) },
	{ DSMIL_IOC_SMI_RESULT, "SMI_RESULT", DSMIL_FEAT_SMI,
	  ERRS(EFAULT, EINVAL, EINPROGRESS, ENOENT) },
	{ DSMIL_IOC_TOKEN_SUBMIT, "TOKEN_SUBMIT", DSMIL_FEAT_ASYNC,
	  ERRS(EFAULT, EINVAL, EACCES, EPERM, ENODEV, ENOENT, EOPNOTSUPP,
	       ESHUTDOWN, EAGAIN, ENOMEM) },
	{ DSMIL_IOC_TOKEN_CANCEL, "TOKEN_CANCEL", DSMIL_FEAT_ASYNC,
	  ERRS(EFAULT, EINVAL, EBUSY, ENOENT) },
	{ DSMIL_IOC_MMIO_READ, "MMIO_READ", DSMIL_FEAT_MMIO,
	  ERRS(EFAULT, EINVAL, EPERM, ERANGE, ENODEV, EBUSY, ENOMEM, EIO,
	       EINTR) },
	{ DSMIL_IOC_MMIO_WRITE, "MMIO_WRITE", DSMIL_FEAT_MMIO,
	  ERRS(EFAULT, EINVAL, EPERM, EACCES, ERANGE, ENODEV, EBUSY, ENOMEM,
	       EIO, EINTR) },
	{ DSMIL_IOC_MMIO_BULK_READ, "MMIO_BULK_READ", DSMIL_FEAT_MMIO,
	  ERRS(EFAULT, EINVAL, EPERM, ERANGE, ENODEV, EBUSY, ENOMEM, EIO,
	       EINTR) },
	{ DSMIL_IOC_MMIO_BULK_WRITE, "MMIO_BULK_WRITE", DSMIL_FEAT_MMIO,
	  ERRS(EFAULT, EINVAL, EPERM, EACCES, ERANGE, E2BIG, ENODEV, EBUSY,
	       ENOMEM, EIO, EINTR) },
	{ DSMIL_IOC_MMIO_STATUS, "MMIO_STATUS", DSMIL_FEAT_MMIO,
	  ERRS(EFAULT, EINVAL) },
};

#define NCMDS	ARRAY_SIZE(cmds)

/* Numbers the VFS answers itself (fs/ioctl.c do_vfs_ioctl): never sent. */
static bool vfs_owned(unsigned int cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	/* 'T' FIO*, 'X' FIFREEZE/FITHAW/FS_IOC_FS*XATTR, 'f' FS_IOC_*FLAGS and
	 * FIEMAP, 0x94 FICLONE*, 0x15 FS_IOC_GETFS*: some would freeze or
	 * chattr devtmpfs under us.
	 */
	if (type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	    type == 0x15)
		return true;
	return cmd == FIGETBSZ || cmd == FIBMAP || cmd == FIOCLEX ||
	       cmd == FIONCLEX || cmd == FIONBIO || cmd == FIOASYNC ||
	       cmd == FIOQSIZE;
}

/* ------------------------------------------------------------- memory */

/*
 * Per thread: an argument area (ARG_PAGES pages then a PROT_NONE guard), a
 * nested-buffer area (same shape) and a read-only page.  Shared: a big
 * buffer for full-size bulk calls, a region another thread keeps
 * revoking, and an address that was mapped once and is not any more.
 */
struct arena {
	uint8_t *arg;		/* ARG_PAGES * PAGE, guard after */
	uint8_t *nest;		/* NEST_PAGES * PAGE, guard after */
	uint8_t *ro;		/* one PROT_READ page */
};

static uint8_t *big_buf;		/* BIG_LEN, guard after */
static uint8_t *vol_buf;		/* VOL_PAGES, flipped by the racer */
static uintptr_t unmapped_addr;
static volatile int stop_racer;

static void *map_guarded(size_t len)
{
	uint8_t *p = mmap(NULL, len + PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + len, PAGE, PROT_NONE))
		return NULL;
	return p;
}

static int arena_init(struct arena *a)
{
	a->arg = map_guarded(ARG_PAGES * PAGE);
	a->nest = map_guarded(NEST_PAGES * PAGE);
	a->ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!a->arg || !a->nest || a->ro == MAP_FAILED)
		return -1;
	memset(a->ro, 0, PAGE);
	return mprotect(a->ro, PAGE, PROT_READ);
}

static int shared_init(void)
{
	uint8_t *p;

	big_buf = map_guarded(BIG_LEN);
	vol_buf = map_guarded(VOL_PAGES * PAGE);
	/*
	 * A one-page hole inside a PROT_NONE reservation, made after every
	 * small mapping: what comes later (thread stacks, malloc arenas) is
	 * too big to be placed in it.
	 */
	p = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!big_buf || !vol_buf || p == MAP_FAILED)
		return -1;
	unmapped_addr = (uintptr_t)p + 32 * PAGE;
	return munmap(p + 32 * PAGE, PAGE);
}

/* ------------------------------------------------------------ pointers */

enum ptr_kind {
	P_VALID,	/* fully readable and writable */
	P_GUARD_END,	/* ends exactly at a PROT_NONE page: still valid */
	P_STRADDLE,	/* runs into a PROT_NONE page: partly invalid */
	P_RO,		/* read-only page: copy-out must fail */
	P_VOLATILE,	/* another thread flips it PROT_NONE <-> RW */
	P_NULL,
	P_LOW,		/* 1, 0x10, 0xfff: unmapped low addresses */
	P_UNMAPPED,	/* was mapped, is not */
	P_NONCANON,	/* non-canonical */
	P_KERNEL,	/* canonical kernel addresses */
	P_HIGHUSER,	/* top of user space, unmapped */
	P_NKINDS
};

static const char *const ptr_names[] = {
	"valid", "guard-end", "straddle", "read-only", "volatile", "null",
	"low", "unmapped", "non-canonical", "kernel", "high-user",
};

static bool ptr_bad(enum ptr_kind k)
{
	return k >= P_NULL || k == P_STRADDLE;
}

static const uint64_t kernel_addrs[] = {
	0xffff888000000000ULL,	/* direct map */
	0xffff800000000000ULL,
	0xffffffff81000000ULL,	/* kernel text */
	0xffffffffa0000000ULL,	/* modules */
	0xffffffffff600000ULL,	/* vsyscall page */
	0xfffffffffffff000ULL,
	0xffffffffffffffffULL,
	0xffffc90000000000ULL,	/* vmalloc */
};

static const uint64_t noncanon_addrs[] = {
	0x0000800000000000ULL, 0x8000000000000000ULL,
	0xdead000000000000ULL, 0x00ff000000001000ULL,
};

/*
 * A pointer for @len bytes, of a kind drawn at random (bad kinds
 * @bad_pct percent of the time).  @base/@space: the guarded area to carve
 * valid pointers from.
 */
static uint64_t gen_ptr(uint64_t *rs, uint8_t *base, size_t space,
			const struct arena *a, size_t len, unsigned int bad_pct,
			enum ptr_kind *kind)
{
	unsigned int r = rnd_below(rs, 100);
	enum ptr_kind k;

	if (r >= bad_pct) {
		r = rnd_below(rs, 100);
		k = r < 55 ? P_VALID : r < 80 ? P_GUARD_END : r < 90 ?
		    P_STRADDLE : r < 95 ? P_RO : P_VOLATILE;
	} else {
		k = P_NULL + rnd_below(rs, P_NKINDS - P_NULL);
	}
	if ((k == P_VALID || k == P_GUARD_END) && len > space)
		k = P_STRADDLE;
	if (k == P_RO && len > PAGE)
		k = P_STRADDLE;
	if (k == P_VOLATILE && len > VOL_PAGES * PAGE)
		k = P_STRADDLE;
	if (k == P_STRADDLE && len == 0)
		k = P_VALID;
	*kind = k;

	switch (k) {
	case P_VALID:
		return (uintptr_t)base;
	case P_GUARD_END:
		return (uintptr_t)base + space - len;
	case P_STRADDLE:
		/* Start so that at least one byte lies in the guard page. */
		if (len <= 1)
			return (uintptr_t)base + space;
		return (uintptr_t)base + space -
		       (rnd_below(rs, len - 1 < 64 ? len - 1 : 64) + 1);
	case P_RO:
		return (uintptr_t)a->ro + PAGE - len;
	case P_VOLATILE:
		return (uintptr_t)vol_buf +
		       rnd_below(rs, VOL_PAGES * PAGE - len + 1);
	case P_NULL:
		return 0;
	case P_LOW:
		return (const uint64_t[]){ 1, 0x10, 0xfff }[rnd_below(rs, 3)];
	case P_UNMAPPED:
		return unmapped_addr + rnd_below(rs, PAGE);
	case P_NONCANON:
		return noncanon_addrs[rnd_below(rs, ARRAY_SIZE(noncanon_addrs))];
	case P_KERNEL:
		return kernel_addrs[rnd_below(rs, ARRAY_SIZE(kernel_addrs))];
	case P_HIGHUSER:
	default:
		return 0x7ffffffff000ULL - rnd_below(rs, 2) * PAGE;
	}
}

/* ------------------------------------------------------ field values */

static uint64_t interesting64(uint64_t *rs)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 0xff, 0x100, 0xfff, 0x1000, 0xffff,
		0x10000, DSMIL_CHUNK_SIZE - 1, DSMIL_CHUNK_SIZE,
		DSMIL_CHUNK_SIZE + 1, DSMIL_BULK_MAX, DSMIL_BULK_MAX + 1,
		DSMIL_DEFAULT_REGION_SIZE - 8, DSMIL_DEFAULT_REGION_SIZE - 1,
		DSMIL_DEFAULT_REGION_SIZE, DSMIL_DEFAULT_REGION_SIZE + 1,
		DSMIL_MAX_CHUNKS * DSMIL_CHUNK_SIZE, 0x7fffffffULL,
		0xffffffffULL, 0x100000000ULL, 1ULL << 63, ~0ULL, ~0ULL - 1,
		~0ULL - 7, ~0ULL - 4095, ~0ULL - DSMIL_CHUNK_SIZE + 1,
	};

	if (rnd_below(rs, 4) == 0)
		return splitmix64(rs);
	return v[rnd_below(rs, ARRAY_SIZE(v))];
}

static uint32_t interesting32(uint64_t *rs)
{
	static const uint32_t v[] = {
		0, 1, 2, 5, 6, 11, 12, 71, 72, 73, 89, 90, 91, 127, 128, 255,
		256, 257, 1024, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	};

	if (rnd_below(rs, 4) == 0)
		return splitmix64(rs);
	return v[rnd_below(rs, ARRAY_SIZE(v))];
}

/* A region offset: mostly valid and aligned to @align, sometimes not. */
static uint64_t gen_offset(uint64_t *rs, unsigned int align)
{
	unsigned int r = rnd_below(rs, 100);
	uint64_t off;

	if (r < 55) {
		off = rnd_below(rs, DSMIL_DEFAULT_REGION_SIZE);
	} else if (r < 80) {
		/* Around a chunk edge. */
		off = rnd_below(rs, 91) * DSMIL_CHUNK_SIZE +
		      (int64_t)rnd_below(rs, 33) - 16;
	} else if (r < 90) {
		/* Inside a device window (region-relative). */
		off = rnd_below(rs, DSMIL_NUM_GROUPS) * DSMIL_GROUP_STRIDE +
		      rnd_below(rs, DSMIL_DEVS_PER_GROUP) * DSMIL_WINDOW_SIZE +
		      rnd_below(rs, DSMIL_WINDOW_SIZE);
	} else {
		return interesting64(rs);
	}
	if (align && rnd_below(rs, 10))
		off &= ~(uint64_t)(align - 1);
	return off;
}

static unsigned int gen_width(uint64_t *rs)
{
	static const unsigned int bad[] = { 0, 3, 5, 6, 7, 9, 16, 255 };

	if (rnd_below(rs, 10))
		return 1U << rnd_below(rs, 4);
	return bad[rnd_below(rs, ARRAY_SIZE(bad))];
}

/* A device id: mostly valid, biased to group 0 and controllers. */
static unsigned int gen_dev(uint64_t *rs)
{
	unsigned int r = rnd_below(rs, 100);

	if (r < 30)
		return rnd_below(rs, DSMIL_DEVS_PER_GROUP);
	if (r < 50)
		return rnd_below(rs, DSMIL_NUM_GROUPS) * DSMIL_DEVS_PER_GROUP;
	if (r < 92)
		return rnd_below(rs, DSMIL_NUM_DEVICES);
	return interesting32(rs) & 0xffff;
}

/* Set a random byte of [off, off+len) non-zero, @pct percent of the time. */
static void maybe_dirty(uint64_t *rs, void *arg, size_t off, size_t len,
			unsigned int pct, bool *dirtied)
{
	uint8_t *p = arg;

	if (!len || rnd_below(rs, 100) >= pct)
		return;
	p[off + rnd_below(rs, len)] = 1 + rnd_below(rs, 255);
	*dirtied = true;
}

#define DIRTY(rs, s, field, pct, d) \
	maybe_dirty(rs, s, offsetof(typeof(*(s)), field), \
		    sizeof((s)->field), pct, d)

/* ---------------------------------------------------------------- calls */

enum call_kind {
	K_EXACT,	/* a command of the header, exactly */
	K_SIZE,		/* known number, other size */
	K_DIR,		/* known number, other direction */
	K_NR,		/* our magic, any number */
	K_MAGIC,	/* another magic, numbers near ours */
	K_RANDOM,	/* any 32-bit number */
	K_NKINDS
};

static const char *const kind_names[] = {
	"exact", "other-size", "other-dir", "other-nr", "other-magic", "random",
};

struct call {
	unsigned int cmd;
	enum call_kind kind;
	const struct cmd_desc *d;	/* for K_EXACT */
	uint64_t arg;			/* what ioctl() gets */
	enum ptr_kind akind;
	size_t size;			/* _IOC_SIZE */
	bool nested;			/* has a user pointer inside */
	uint64_t nptr;
	enum ptr_kind nkind;
	uint64_t nlen;			/* bytes the nested pointer should hold */
	uint64_t nvalid;		/* of which accessible (straddle: fewer) */
	bool rsvd_dirty;		/* a reserved* field was set non-zero */
	uint8_t payload[ARG_PAGES * PAGE];
};

/* Where the argument goes and what it points at. */
static void place_arg(uint64_t *rs, struct call *c, const struct arena *a,
		      unsigned int bad_pct)
{
	c->arg = gen_ptr(rs, a->arg, ARG_PAGES * PAGE, a, c->size, bad_pct,
			 &c->akind);
}

/* A nested user buffer of @len bytes. */
static uint64_t gen_nested(uint64_t *rs, struct call *c, const struct arena *a,
			   uint64_t len)
{
	uint8_t *base = a->nest;
	size_t space = NEST_PAGES * PAGE;

	/* Full-size bulk buffers are rare: they cost real time under TCG. */
	if (len > space && len <= BIG_LEN - PAGE && rnd_below(rs, 4) == 0) {
		base = big_buf;
		space = BIG_LEN - PAGE;
	}
	c->nested = true;
	c->nlen = len;
	c->nptr = gen_ptr(rs, base, space, a, len, 15, &c->nkind);
	if (c->nkind == P_STRADDLE)
		c->nvalid = (uintptr_t)base + space - c->nptr;
	else if (ptr_bad(c->nkind))
		c->nvalid = 0;
	else
		c->nvalid = len;
	return c->nptr;
}

static uint64_t gen_bulk_len(uint64_t *rs)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 8, 64, 4095, 4096, 4097, 8192, 65536, 65537,
		256 * 1024, DSMIL_CHUNK_SIZE, DSMIL_CHUNK_SIZE + 1,
		DSMIL_BULK_MAX, DSMIL_BULK_MAX + 1, ~0ULL, ~0ULL - 4095,
		0x100000000ULL,
	};
	unsigned int r = rnd_below(rs, 100);

	if (r < 70)
		return rnd_below(rs, 3 * PAGE) + 1;
	if (r < 96)
		return v[rnd_below(rs, 14)];	/* up to chunk + 1 */
	return v[rnd_below(rs, ARRAY_SIZE(v))];
}

/* Offset of the user pointer inside @cmd's argument, or -1. */
static int ptr_field(unsigned int cmd)
{
	switch (cmd) {
	case DSMIL_IOC_DEV_LIST:
		return offsetof(struct dsmil_dev_list, buf);
	case DSMIL_IOC_AUDIT_READ:
		return offsetof(struct dsmil_audit_read, buf);
	case DSMIL_IOC_WRITE_AUDIT_READ:
		return offsetof(struct dsmil_write_audit_read, buf);
	case DSMIL_IOC_MMIO_BULK_READ:
	case DSMIL_IOC_MMIO_BULK_WRITE:
		return offsetof(struct dsmil_mmio_bulk, buf);
	case DSMIL_IOC_MMIO_STATUS:
		return offsetof(struct dsmil_mmio_status, chunk_buf);
	}
	return -1;
}

/* Fill the payload of an exact command. */
static void gen_payload(uint64_t *rs, struct call *c, const struct arena *a)
{
	void *p = c->payload;
	bool *dd = &c->rsvd_dirty;
	const unsigned int rp = 8;	/* percent per reserved field */

	switch (c->cmd) {
	case DSMIL_IOC_DEV_INFO: {
		struct dsmil_dev_info *s = p;

		s->id = gen_dev(rs);
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved1, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_DEV_LIST: {
		struct dsmil_dev_list *s = p;
		static const uint32_t cnt[] = { 0, 1, 2, 71, 72, 73, 256,
						 0x7fffffff, 0xffffffff };

		s->count = rnd_below(rs, 5) ? cnt[rnd_below(rs, ARRAY_SIZE(cnt))] :
			   interesting32(rs);
		s->total = splitmix64(rs);
		s->buf = gen_nested(rs, c, a, (uint64_t)s->count *
				    sizeof(struct dsmil_dev_info));
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_DEV_TRANSITION: {
		struct dsmil_transition *s = p;

		s->id = gen_dev(rs);
		s->target = rnd_below(rs, 10) ? rnd_below(rs, 6) :
			    interesting32(rs);
		s->prev = splitmix64(rs);
		s->state = splitmix64(rs);
		DIRTY(rs, s, reason, 5, dd);	/* output only; ignored */
		*dd = false;
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved1, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_GROUP_ESTOP: {
		struct dsmil_group_stop *s = p;

		/* Valid stops lock many devices: keep them uncommon. */
		s->group = rnd_below(rs, 4) ? 6 + rnd_below(rs, 250) :
			   rnd_below(rs, DSMIL_NUM_GROUPS);
		s->locked = splitmix64(rs);
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_AUDIT_READ: {
		struct dsmil_audit_read *s = p;
		static const uint32_t cnt[] = { 0, 1, 3, 255, 256, 257,
						 0xffffffff };

		s->count = cnt[rnd_below(rs, ARRAY_SIZE(cnt))];
		s->since_seq = rnd_below(rs, 3) ? rnd_below(rs, 2000) :
			       interesting64(rs);
		s->next_seq = splitmix64(rs);
		s->dropped = splitmix64(rs);
		s->buf = gen_nested(rs, c, a, (uint64_t)s->count *
				    sizeof(struct dsmil_audit_entry));
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_WRITE_AUDIT_READ: {
		struct dsmil_write_audit_read *s = p;
		static const uint32_t cnt[] = { 0, 1, 3, 255, 256, 257,
						 0xffffffff };

		s->count = cnt[rnd_below(rs, ARRAY_SIZE(cnt))];
		s->since_seq = rnd_below(rs, 3) ? rnd_below(rs, 2000) :
			       interesting64(rs);
		s->next_seq = splitmix64(rs);
		s->dropped = splitmix64(rs);
		s->mismatches = splitmix64(rs);
		s->reads = splitmix64(rs);
		s->buf = gen_nested(rs, c, a, (uint64_t)s->count *
				    sizeof(struct dsmil_write_record));
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_TOKEN_READ:
	case DSMIL_IOC_TOKEN_WRITE: {
		struct dsmil_token_req *s = p;

		s->group = rnd_below(rs, 10) ? rnd_below(rs, DSMIL_NUM_GROUPS) :
			   interesting32(rs);
		s->position = rnd_below(rs, 10) ? 3 * rnd_below(rs, 4) :
			      interesting32(rs);
		s->token = splitmix64(rs);
		s->value = interesting32(rs);
		s->duration_ns = splitmix64(rs);
		/* Input flags (not reserved) and the old_value output. */
		s->flags = rnd_below(rs, 10) ? 0 : interesting32(rs);
		/* A reply sent again as it came back: IN_DOUBT is ignored. */
		if (!rnd_below(rs, 20))
			s->flags |= DSMIL_TOKEN_F_IN_DOUBT;
		s->old_value = splitmix64(rs);
		s->request_id = splitmix64(rs);	/* output only */
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_TOKEN_SUBMIT: {
		struct dsmil_token_submit *s = p;

		s->group = rnd_below(rs, 10) ? rnd_below(rs, DSMIL_NUM_GROUPS) :
			   interesting32(rs);
		s->position = rnd_below(rs, 10) ? 3 * rnd_below(rs, 4) :
			      interesting32(rs);
		s->op = rnd_below(rs, 10) ? rnd_below(rs, 2) : interesting32(rs);
		/* A read with a value is refused: mostly zero, to get reads in. */
		s->value = s->op == DSMIL_TOKEN_OP_READ && rnd_below(rs, 10) ?
			   0 : interesting32(rs);
		s->flags = rnd_below(rs, 10) ? 0 : interesting32(rs);
		s->id = splitmix64(rs);		/* output only */
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_TOKEN_CANCEL: {
		struct dsmil_token_cancel *s = p;

		/* Ids are small and dense: near the ones handed out, or any. */
		s->id = rnd_below(rs, 4) ? rnd_below(rs, 4096) : splitmix64(rs);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_MMIO_READ:
	case DSMIL_IOC_MMIO_WRITE: {
		struct dsmil_mmio_rw *s = p;

		s->width = gen_width(rs);
		s->value = interesting64(rs);
		if (rnd_below(rs, 5) == 0) {
			s->flags = DSMIL_MMIO_F_DEVICE;
			s->device = gen_dev(rs);
			s->offset = rnd_below(rs, 8) ?
				    rnd_below(rs, DSMIL_WINDOW_SIZE) &
				    ~(uint64_t)((s->width ?: 1) - 1) :
				    interesting64(rs);
		} else {
			s->offset = gen_offset(rs, s->width);
			if (rnd_below(rs, 20) == 0)
				s->flags = interesting32(rs);
			if (rnd_below(rs, 10) == 0)
				s->device = interesting32(rs);
		}
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_MMIO_BULK_READ:
	case DSMIL_IOC_MMIO_BULK_WRITE: {
		struct dsmil_mmio_bulk *s = p;

		s->length = gen_bulk_len(rs);
		if (rnd_below(rs, 5) == 0) {
			s->flags = DSMIL_MMIO_F_DEVICE;
			s->device = gen_dev(rs);
			s->offset = rnd_below(rs, 8) ?
				    rnd_below(rs, DSMIL_WINDOW_SIZE) :
				    interesting64(rs);
			if (rnd_below(rs, 3))
				s->length = rnd_below(rs, DSMIL_WINDOW_SIZE + 2);
		} else {
			s->offset = gen_offset(rs, 0);
			if (rnd_below(rs, 20) == 0)
				s->flags = interesting32(rs);
		}
		s->done = splitmix64(rs);
		/* Never ask for a valid buffer beyond what exists. */
		s->buf = gen_nested(rs, c, a, s->length <= BIG_LEN - PAGE ?
				    s->length : 0);
		if (s->length > BIG_LEN - PAGE)
			c->nlen = s->length;
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_MMIO_STATUS: {
		struct dsmil_mmio_status *s = p;
		static const uint32_t cnt[] = { 0, 0, 1, 89, 90, 91, 128, 129,
						 0xffffffff };

		s->chunk_count = cnt[rnd_below(rs, ARRAY_SIZE(cnt))];
		if (s->chunk_count)
			s->chunk_buf = gen_nested(rs, c, a,
						  (uint64_t)s->chunk_count *
						  sizeof(struct dsmil_chunk_stat));
		else if (rnd_below(rs, 2))
			s->chunk_buf = kernel_addrs[rnd_below(rs, ARRAY_SIZE(kernel_addrs))];
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	case DSMIL_IOC_SMI_RESULT: {
		struct dsmil_smi_result *s = p;

		/* Ids are small and dense: near the ones handed out, or any. */
		s->request_id = rnd_below(rs, 4) ? rnd_below(rs, 4096) :
			       splitmix64(rs);
		DIRTY(rs, s, reserved0, rp, dd);
		DIRTY(rs, s, reserved1, rp, dd);
		DIRTY(rs, s, reserved, rp, dd);
		break;
	}
	default:
		/* INFO, STATS, SMI_STATUS (_IOR), SMI_RECOVER, SMI_RESCAN (_IO). */
		break;
	}
	/*
	 * Now and then, garbage anywhere in the argument but in a user
	 * pointer: a pointer with one byte changed may land in this process's
	 * own memory (its .bss, heap or stack), and the kernel would then
	 * rightly write there.
	 */
	if (rnd_below(rs, 50) == 0) {
		size_t i = rnd_below(rs, c->size ?: 1);
		int po = ptr_field(c->cmd);

		if (po < 0 || i < (size_t)po || i >= (size_t)po + 8)
			c->payload[i] ^= 1 + rnd_below(rs, 255);
	}
}

/* Known numbers in the header, for mutations. */
static unsigned int known_nr(uint64_t *rs)
{
	return _IOC_NR(cmds[rnd_below(rs, NCMDS)].cmd);
}

static unsigned int gen_cmd(uint64_t *rs, struct call *c)
{
	unsigned int r = rnd_below(rs, 100), dir, size, cmd;
	const struct cmd_desc *d = &cmds[rnd_below(rs, NCMDS)];
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};

	do {
		if (r < 72) {
			c->kind = K_EXACT;
			c->d = d;
			return d->cmd;
		}
		if (r < 80) {
			c->kind = K_SIZE;
			size = rnd_below(rs, 3) ? _IOC_SIZE(d->cmd) +
				8 * ((int)rnd_below(rs, 9) - 4) :
				rnd_below(rs, 1U << _IOC_SIZEBITS);
			size &= (1U << _IOC_SIZEBITS) - 1;
			cmd = _IOC(_IOC_DIR(d->cmd), DSMIL_IOC_MAGIC,
				   _IOC_NR(d->cmd), size);
		} else if (r < 86) {
			c->kind = K_DIR;
			dir = dirs[rnd_below(rs, 4)];
			cmd = _IOC(dir, DSMIL_IOC_MAGIC, _IOC_NR(d->cmd),
				   rnd_below(rs, 2) ? _IOC_SIZE(d->cmd) :
				   rnd_below(rs, 1024));
		} else if (r < 93) {
			c->kind = K_NR;
			cmd = _IOC(dirs[rnd_below(rs, 4)], DSMIL_IOC_MAGIC,
				   rnd_below(rs, 2) ? rnd_below(rs, 0x40) :
				   rnd_below(rs, 256),
				   rnd_below(rs, 2) ? _IOC_SIZE(d->cmd) :
				   rnd_below(rs, 1024));
		} else if (r < 97) {
			c->kind = K_MAGIC;
			cmd = _IOC(_IOC_DIR(d->cmd),
				   (DSMIL_IOC_MAGIC + (int)rnd_below(rs, 9) - 4 +
				    256 * (rnd_below(rs, 4) == 0)) & 0xff ?:
				   rnd_below(rs, 256),
				   rnd_below(rs, 2) ? _IOC_NR(d->cmd) :
				   known_nr(rs) + rnd_below(rs, 3),
				   _IOC_SIZE(d->cmd));
		} else {
			c->kind = K_RANDOM;
			cmd = splitmix64(rs);
		}
		/* A mutation may land on a real command: that is fine. */
		r = 0;
	} while (vfs_owned(cmd));
	return cmd;
}

static const struct cmd_desc *desc_of(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < NCMDS; i++)
		if (cmds[i].cmd == cmd)
			return &cmds[i];
	return NULL;
}

/*
 * Build call number @idx of (@phase, @thread): a pure function of the seed
 * and those numbers, so any call can be rebuilt alone.
 */
static uint64_t fuzz_seed;

static void gen_call(struct call *c, unsigned int phase, unsigned int thread,
		     uint64_t idx, const struct arena *a)
{
	uint64_t rs = fuzz_seed ^ ((uint64_t)phase << 56) ^
		      ((uint64_t)thread << 48) ^ (idx * 0xd1342543de82ef95ULL);
	unsigned int bad_pct;

	splitmix64(&rs);
	memset(c, 0, offsetof(struct call, payload));
	c->cmd = gen_cmd(&rs, c);
	if (c->kind != K_EXACT) {
		c->d = desc_of(c->cmd);
		if (c->d)
			c->kind = K_EXACT;
	}
	c->size = _IOC_SIZE(c->cmd);
	memset(c->payload, 0, c->size + 8);
	if (c->kind == K_EXACT) {
		gen_payload(&rs, c, a);
		bad_pct = 12;
	} else {
		/* Random bytes, or zeros, for a command nobody knows. */
		if (rnd_below(&rs, 2)) {
			size_t i;

			for (i = 0; i < c->size; i += 8) {
				uint64_t v = splitmix64(&rs);

				memcpy(c->payload + i, &v, 8);
			}
		}
		bad_pct = 25;
	}
	place_arg(&rs, c, a, bad_pct);
	/* The kernel sees other bytes there than the payload. */
	if (c->akind == P_RO || c->akind == P_VOLATILE) {
		c->nested = false;
		c->rsvd_dirty = false;
	}
}

/* --------------------------------------------------------- bookkeeping */

struct worker {
	pthread_t tid;
	unsigned int idx;
	unsigned int phase;
	uint64_t first, count;		/* call numbers [first, first+count) */
	struct arena a;
	uint64_t calls, ok, churn;
	uint64_t by_cmd[NCMDS];
	uint64_t by_errno[256];
	uint64_t slowest_ns;
	unsigned int slowest_cmd;
	pid_t tid_k;			/* its kernel thread id, for /proc */
	uint64_t cur;			/* the op it is in (stall report) */
	timer_t read_timer;		/* read_poll()'s bound, this thread's */
	bool have_timer;
	uint64_t read_intr;		/* reads that timer interrupted */
};

static int fds[MAX_FILES];
static unsigned int nfiles = 4, nthreads = 4;
/* The parts of the driver built in: INFO's other bits are states or promises. */
#define FEAT_PARTS	(DSMIL_FEAT_DEVICES | DSMIL_FEAT_SMI | DSMIL_FEAT_MMIO | \
			 DSMIL_FEAT_ASYNC)
static unsigned int features;
static bool writes_on;
static int verbose;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int fails;

static void hexdump(const uint8_t *p, size_t n)
{
	size_t i;

	if (n > 128)
		n = 128;
	for (i = 0; i < n; i++)
		fprintf(stderr, "%02x%s", p[i], (i % 32 == 31) ? "\n#   " : " ");
	fprintf(stderr, "\n");
}

static const char *cmd_name(const struct call *c)
{
	return c->d ? c->d->name : kind_names[c->kind];
}

static void fail_call(const struct call *c, unsigned int phase,
		      unsigned int thread, uint64_t idx, long ret, int err,
		      const char *why)
{
	pthread_mutex_lock(&fail_lock);
	if (++fails <= MAX_FAILS) {
		fprintf(stderr,
			"# FAIL seed=0x%016" PRIx64 " call=%u:%u:%" PRIu64
			" cmd=0x%08x (%s, %s) arg=%s nested=%s ret=%ld errno=%d (%s): %s\n"
			"#   replay: dsmil_fuzz --seed 0x%016" PRIx64
			" --replay %u:%u:%" PRIu64 "%s\n#   payload: ",
			fuzz_seed, phase, thread, idx, c->cmd, cmd_name(c),
			kind_names[c->kind], ptr_names[c->akind],
			c->nested ? ptr_names[c->nkind] : "-", ret, err,
			strerror(err), why, fuzz_seed, phase, thread, idx,
			phase ? " (phase 1: load with allow_writes=1)" : "");
		hexdump(c->payload, c->size);
	}
	pthread_mutex_unlock(&fail_lock);
}

static bool errno_in(const int *errs, int e)
{
	for (; *errs; errs++)
		if (*errs == e)
			return true;
	return false;
}

/*
 * What the contract says about this call.  Returns NULL when the outcome
 * is acceptable, else why not.
 */
static const char *judge(const struct call *c, long ret, int err,
			 const void *out)
{
	bool known_nr = false, implemented;
	const struct cmd_desc *d = c->d;
	unsigned int i;

	if (ret != 0 && ret != -1)
		return "ioctl returned a value other than 0 or -1";
	if (_IOC_TYPE(c->cmd) != DSMIL_IOC_MAGIC) {
		return ret == -1 && err == ENOTTY ? NULL :
		       "foreign magic must get -ENOTTY";
	}
	for (i = 0; i < NCMDS; i++)
		if (_IOC_NR(cmds[i].cmd) == _IOC_NR(c->cmd) &&
		    (!cmds[i].feat || (features & cmds[i].feat)))
			known_nr = true;
	if (!d) {
		if (!known_nr)
			return ret == -1 && err == ENOTTY ? NULL :
			       "unknown number must get -ENOTTY";
		return ret == -1 && err == EINVAL ? NULL :
		       "known number with another size/direction must get -EINVAL";
	}
	implemented = !d->feat || (features & d->feat);
	if (!implemented)
		return ret == -1 && err == ENOTTY ? NULL :
		       "command of a part not built must get -ENOTTY";

	if (ret == -1 && !errno_in(d->errs, err))
		return "errno not documented for this command";

	/* The dispatcher rejects a set reserved field before any handler. */
	if (c->rsvd_dirty && (c->akind == P_VALID || c->akind == P_GUARD_END)) {
		if (ret == 0)
			return "succeeded with a reserved field set";
		if (err != EINVAL && err != EPERM && err != EACCES)
			return "a reserved field set must get -EINVAL";
	}

	/* An argument the kernel cannot read or write in full. */
	if (_IOC_DIR(c->cmd) != _IOC_NONE && ptr_bad(c->akind)) {
		if (ret == 0)
			return c->akind == P_KERNEL ?
			       "SECURITY: succeeded with a kernel-address argument" :
			       "succeeded with an unreadable argument";
		/*
		 * Copy-in fails after the policy check; a read-only command's
		 * handler runs and then copy-out fails.
		 */
		if (_IOC_DIR(c->cmd) & _IOC_WRITE) {
			if (err != EFAULT && err != EACCES && err != EPERM)
				return "unreadable argument must get -EFAULT (or a policy refusal before it)";
		} else if (err != EFAULT) {
			return "unwritable argument must get -EFAULT";
		}
	}
	if ((_IOC_DIR(c->cmd) & _IOC_READ) && c->akind == P_RO && ret == 0)
		return "succeeded although the result could not be copied to a read-only page";

	if (ret != 0)
		return NULL;

	/*
	 * Nested buffers: nothing may be claimed copied beyond what is
	 * accessible (a buffer running into a PROT_NONE page still takes the
	 * entries that fit before it; a NULL/unmapped/kernel one takes none).
	 */
	if (c->nested && ptr_bad(c->nkind) && c->akind != P_VOLATILE) {
		uint64_t used = 0;

		switch (c->cmd) {
		case DSMIL_IOC_DEV_LIST:
			used = (uint64_t)((const struct dsmil_dev_list *)out)->count *
			       sizeof(struct dsmil_dev_info);
			break;
		case DSMIL_IOC_AUDIT_READ:
			used = (uint64_t)((const struct dsmil_audit_read *)out)->count *
			       sizeof(struct dsmil_audit_entry);
			break;
		case DSMIL_IOC_WRITE_AUDIT_READ:
			used = (uint64_t)((const struct dsmil_write_audit_read *)out)->count *
			       sizeof(struct dsmil_write_record);
			break;
		case DSMIL_IOC_MMIO_STATUS:
			used = (uint64_t)((const struct dsmil_mmio_status *)out)->chunk_count *
			       sizeof(struct dsmil_chunk_stat);
			break;
		case DSMIL_IOC_MMIO_BULK_READ:
		case DSMIL_IOC_MMIO_BULK_WRITE:
			used = ((const struct dsmil_mmio_bulk *)out)->done;
			break;
		}
		if (used > c->nvalid)
			return c->nkind == P_KERNEL ?
			       "SECURITY: claims data copied through a kernel address" :
			       "claims more copied than the buffer has accessible bytes";
	}
	return NULL;
}

/* Output checks for a successful exact call whose argument was readable. */
static const char *check_output(const struct call *c, const void *out)
{
	unsigned int k;

	switch (c->cmd) {
	case DSMIL_IOC_INFO: {
		const struct dsmil_info *i = out;
		const char *why = dsmil_info_check(i, 0);

		if (why)
			return why;
		if (!!(i->features & DSMIL_FEAT_WRITES) != writes_on)
			return "INFO: FEAT_WRITES does not match allow_writes";
		break;
	}
	case DSMIL_IOC_DEV_INFO: {
		const struct dsmil_dev_info *d = out;
		char name[DSMIL_NAME_LEN];

		snprintf(name, sizeof(name), "DSMIL%uD%X",
			 d->id / DSMIL_DEVS_PER_GROUP,
			 d->id % DSMIL_DEVS_PER_GROUP);
		if (d->id >= DSMIL_NUM_DEVICES ||
		    d->group != d->id / DSMIL_DEVS_PER_GROUP ||
		    d->index != d->id % DSMIL_DEVS_PER_GROUP)
			return "DEV_INFO: id/group/index inconsistent";
		if (d->state >= DSMIL_DEV_NUM_STATES || d->group_state > 5)
			return "DEV_INFO: state out of range";
		if (strncmp((const char *)d->name, name, sizeof(d->name)))
			return "DEV_INFO: name is not DSMIL<g>D<i>";
		if (d->reserved0 || d->reserved1 || d->reserved[0] ||
		    d->reserved[1])
			return "DEV_INFO: reserved output not zero";
		break;
	}
	case DSMIL_IOC_DEV_LIST: {
		const struct dsmil_dev_list *l = out;
		const struct dsmil_dev_list *in = (const void *)c->payload;

		if (l->count > in->count || l->count > DSMIL_NUM_DEVICES)
			return "DEV_LIST: more entries than asked for or exist";
		if (l->total != DSMIL_NUM_DEVICES)
			return "DEV_LIST: total != 72";
		break;
	}
	case DSMIL_IOC_DEV_TRANSITION: {
		const struct dsmil_transition *t = out;
		const struct dsmil_transition *in = (const void *)c->payload;

		if (t->state != in->target || t->reason != DSMIL_REASON_NONE)
			return "DEV_TRANSITION: success but state != target or reason set";
		break;
	}
	case DSMIL_IOC_AUDIT_READ: {
		const struct dsmil_audit_read *r = out;
		const struct dsmil_audit_read *in = (const void *)c->payload;

		if (r->count > in->count || r->count > DSMIL_AUDIT_DEPTH)
			return "AUDIT_READ: more entries than asked for or kept";
		break;
	}
	case DSMIL_IOC_WRITE_AUDIT_READ: {
		const struct dsmil_write_audit_read *r = out;
		const struct dsmil_write_audit_read *in = (const void *)c->payload;

		if (r->count > in->count || r->count > DSMIL_WRITE_AUDIT_DEPTH)
			return "WRITE_AUDIT_READ: more records than asked for or kept";
		break;
	}
	case DSMIL_IOC_TOKEN_READ:
	case DSMIL_IOC_TOKEN_WRITE: {
		const struct dsmil_token_req *t = out;

		if (t->group >= DSMIL_NUM_GROUPS || t->position > 9 ||
		    t->position % 3)
			return "token call succeeded outside 6 groups x 4 positions";
		if (t->token != token_of(t->group, t->position))
			return "token != 0x480 + 12 * group + position";
		if (t->reserved)
			return "token: reserved output not zero";
		if (!t->request_id)
			return "token call succeeded without a request id";
		if (t->flags & ~DSMIL_TOKEN_F_ACTIVATE ||
		    (c->cmd == DSMIL_IOC_TOKEN_READ && t->flags))
			return "token call succeeded with unknown flags";
		if (c->cmd == DSMIL_IOC_TOKEN_WRITE && !writes_on)
			return "TOKEN_WRITE succeeded with allow_writes off";
		break;
	}
	case DSMIL_IOC_SMI_STATUS: {
		const struct dsmil_smi_status *s = out;

		if (s->state > DSMIL_SMI_FAULTED)
			return "SMI_STATUS: unknown state";
		/* Each coalesced read is one of the requests, counted together. */
		if (s->coalesced > s->requests)
			return "SMI_STATUS: more coalesced reads than requests";
		if (s->late_successes + s->late_failures > s->in_doubt)
			return "SMI_STATUS: more late outcomes than calls in doubt";
		break;
	}
	case DSMIL_IOC_SMI_RESULT: {
		const struct dsmil_smi_result *r = out;
		const struct dsmil_smi_result *in = (const void *)c->payload;

		if (r->request_id != in->request_id)
			return "SMI_RESULT: request_id changed";
		if (r->error == EINPROGRESS)
			return "SMI_RESULT: an outcome kept that is not final";
		if (r->flags & ~(DSMIL_SMI_RESULT_F_WRITE |
				 DSMIL_SMI_RESULT_F_IN_DOUBT |
				 DSMIL_SMI_RESULT_F_ABANDONED |
				 DSMIL_SMI_RESULT_F_UNKNOWN))
			return "SMI_RESULT: unknown flags";
		if (r->error && r->value)
			return "SMI_RESULT: a value with an error";
		if (r->reserved0 || r->reserved1 || r->reserved[0] ||
		    r->reserved[1])
			return "SMI_RESULT: reserved output not zero";
		break;
	}
	case DSMIL_IOC_MMIO_READ: {
		const struct dsmil_mmio_rw *m = out;

		if (m->width < 8 && (m->value >> (8 * m->width)))
			return "MMIO_READ: value wider than the access";
		break;
	}
	case DSMIL_IOC_MMIO_WRITE:
		if (!writes_on)
			return "MMIO_WRITE succeeded with allow_writes off";
		break;
	case DSMIL_IOC_MMIO_BULK_READ:
	case DSMIL_IOC_MMIO_BULK_WRITE: {
		const struct dsmil_mmio_bulk *b = out;

		if (c->cmd == DSMIL_IOC_MMIO_BULK_WRITE && !writes_on)
			return "MMIO_BULK_WRITE succeeded with allow_writes off";
		if (b->length > DSMIL_BULK_MAX)
			return "bulk call longer than DSMIL_BULK_MAX succeeded";
		if (b->done != b->length)
			return "bulk call succeeded with done != length";
		break;
	}
	case DSMIL_IOC_MMIO_STATUS: {
		const struct dsmil_mmio_status *m = out;
		const struct dsmil_mmio_status *in = (const void *)c->payload;

		if (m->num_chunks != DSMIL_DEFAULT_REGION_SIZE / DSMIL_CHUNK_SIZE ||
		    m->chunk_size != DSMIL_CHUNK_SIZE)
			return "MMIO_STATUS: geometry";
		if (m->chunk_count > in->chunk_count ||
		    m->chunk_count > m->num_chunks)
			return "MMIO_STATUS: more chunk entries than asked for or exist";
		if (m->resident > m->max_resident)
			return "MMIO_STATUS: resident > max_resident";
		for (k = 0; k < ARRAY_SIZE(m->reserved); k++)
			if (m->reserved[k])
				return "MMIO_STATUS: reserved output not zero";
		break;
	}
	}
	return NULL;
}

/* The read-only page must still hold zeros. */
static bool ro_dirty(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return true;
	return false;
}

/*
 * -ENOTTY for a command the driver knows: say what @fd is now, and what a
 * fresh file of the driver answers to the same call.
 */
static void explain_enotty(const struct call *c, int fd, uint8_t *argp)
{
	char link[64], target[128] = "?";
	ssize_t n;
	int nfd;
	long r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0)
		target[n] = 0;
	nfd = dsmil_open();
	if (nfd >= 0 && argp) {
		memcpy(argp, c->payload, c->size);
		r = ioctl(nfd, c->cmd, (unsigned long)c->arg);
		fprintf(stderr, "#   fd %d is now %s; the same call on a fresh file: %ld %s\n",
			fd, target, r, r ? strerror(errno) : "");
	} else {
		fprintf(stderr, "#   fd %d is now %s\n", fd, target);
	}
	if (nfd >= 0)
		close(nfd);
}

/* Run one built call on @fd.  Returns false if it broke the contract. */
static bool run_call(struct worker *w, struct call *c, int fd, uint64_t idx)
{
	uint8_t *argp = (uint8_t *)(uintptr_t)c->arg;
	bool readable = c->akind == P_VALID || c->akind == P_GUARD_END;
	static __thread uint8_t out[ARG_PAGES * PAGE];
	uint64_t t0, dt;
	const char *why;
	long ret;
	int err;

	if (readable) {
		memcpy(argp, c->payload, c->size);
	} else if (c->akind == P_STRADDLE) {
		/* What fits before the guard page. */
		size_t room = w->a.arg + ARG_PAGES * PAGE - argp;

		memcpy(argp, c->payload, room < c->size ? room : c->size);
	}
	t0 = now_ns();
	ret = ioctl(fd, c->cmd, (unsigned long)c->arg);
	err = ret ? errno : 0;
	dt = now_ns() - t0;

	w->calls++;
	if (dt > w->slowest_ns) {
		w->slowest_ns = dt;
		w->slowest_cmd = c->cmd;
	}
	if (ret == 0)
		w->ok++;
	w->by_errno[err & 0xff]++;
	if (c->d)
		w->by_cmd[c->d - cmds]++;

	/* A file closed under us by another thread: nothing to judge. */
	if (ret == -1 && err == EBADF)
		return true;

	memcpy(out, readable ? argp : c->payload, c->size);
	why = judge(c, ret, err, out);
	if (!why && ret == 0 && c->d && readable)
		why = check_output(c, out);
	if (!why && c->akind == P_RO && ro_dirty(argp, c->size))
		why = "the kernel wrote into a read-only page";
	if (!why && dt > SLOW_CALL_NS)
		why = "call took longer than 10 s";
	if (why) {
		fail_call(c, w->phase, w->idx, idx, ret, err, why);
		if (ret == -1 && err == ENOTTY)
			explain_enotty(c, fd, readable ? argp : NULL);
		return false;
	}
	if (verbose > 1)
		fprintf(stderr, "# %u:%u:%" PRIu64 " cmd=0x%08x %s arg=%s -> %ld %s\n",
			w->phase, w->idx, idx, c->cmd, cmd_name(c),
			ptr_names[c->akind], ret, ret ? strerror(err) : "");
	return true;
}

/* An exact call with a valid argument, for the state walk. */
static void exact_call(struct call *c, const struct worker *w, unsigned int cmd)
{
	memset(c, 0, offsetof(struct call, payload));
	c->cmd = cmd;
	c->d = desc_of(cmd);
	c->kind = K_EXACT;
	c->size = _IOC_SIZE(cmd);
	c->akind = P_VALID;
	c->arg = (uintptr_t)w->a.arg;
	memset(c->payload, 0, c->size);
}

/* Legal successors (from the device model), LOCKED kept rare. */
static unsigned int next_state(uint64_t *rs, unsigned int s)
{
	static const uint8_t succ[DSMIL_DEV_NUM_STATES][3] = {
		[DSMIL_DEV_OFFLINE] = { DSMIL_DEV_INITIALIZING },
		[DSMIL_DEV_INITIALIZING] = { DSMIL_DEV_READY, DSMIL_DEV_READY,
					     DSMIL_DEV_ERROR },
		[DSMIL_DEV_READY] = { DSMIL_DEV_ACTIVE, DSMIL_DEV_ACTIVE,
				      DSMIL_DEV_ERROR },
		[DSMIL_DEV_ACTIVE] = { DSMIL_DEV_READY, DSMIL_DEV_ACTIVE,
				       DSMIL_DEV_ERROR },
		[DSMIL_DEV_ERROR] = { DSMIL_DEV_OFFLINE, DSMIL_DEV_INITIALIZING,
				      DSMIL_DEV_INITIALIZING },
		[DSMIL_DEV_LOCKED] = { DSMIL_DEV_ERROR },
	};

	if (s >= DSMIL_DEV_NUM_STATES)
		return rnd_below(rs, DSMIL_DEV_NUM_STATES);
	if (rnd_below(rs, 50) == 0)
		return DSMIL_DEV_LOCKED;
	if (s == DSMIL_DEV_OFFLINE || s == DSMIL_DEV_LOCKED)
		return succ[s][0];
	return succ[s][rnd_below(rs, 3)];
}

/* DEV_INFO then a legal transition: walks devices deep into the model. */
static void walk(struct worker *w, uint64_t *rs, int fd, uint64_t idx,
		 struct call *c)
{
	struct dsmil_dev_info *di = (void *)c->payload;
	struct dsmil_transition *t = (void *)c->payload;
	unsigned int id = rnd_below(rs, 3) ?
		rnd_below(rs, DSMIL_DEVS_PER_GROUP) :
		rnd_below(rs, 2) ?
		rnd_below(rs, DSMIL_NUM_GROUPS) * DSMIL_DEVS_PER_GROUP :
		rnd_below(rs, DSMIL_NUM_DEVICES);
	unsigned int state;

	exact_call(c, w, DSMIL_IOC_DEV_INFO);
	di->id = id;
	if (!run_call(w, c, fd, idx))
		return;
	di = (void *)w->a.arg;
	if (di->id != id)
		return;			/* the call failed (EBADF) */
	state = di->state;
	exact_call(c, w, DSMIL_IOC_DEV_TRANSITION);
	t->id = id;
	t->target = next_state(rs, state);
	run_call(w, c, fd, idx);
}

/*
 * Close/reopen/dup2 a file slot while other threads may be using it.  A
 * slot is taken out (-1) while it is being replaced, so only its taker
 * closes it; the fd number may meanwhile be reused by another slot's open,
 * which is the race wanted.  So no thread may open any other file while a
 * phase runs (it could take such a number, and a stale slot would then
 * reach that file): whatever must be read from files is read before.
 */
static void churn(struct worker *w, uint64_t *rs, unsigned int slot)
{
	int old = __atomic_exchange_n(&fds[slot], -1, __ATOMIC_ACQ_REL);
	int nfd, src;

	if (old < 0)
		return;
	w->churn++;
	switch (rnd_below(rs, 4)) {
	case 0:		/* dup2 another live file over this number */
		src = __atomic_load_n(&fds[rnd_below(rs, nfiles)],
				      __ATOMIC_ACQUIRE);
		if (src >= 0 && src != old && dup2(src, old) < 0 &&
		    errno != EBADF)
			perror("dup2");
		nfd = old;
		break;
	case 1:		/* read-only, non-blocking open */
		close(old);
		nfd = open(DSMIL_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		break;
	case 2:		/* new file first, then close the old one */
		nfd = dsmil_open();
		close(old);
		break;
	default:	/* close, then reopen: the number is free a while */
		close(old);
		nfd = dsmil_open();
		break;
	}
	if (nfd < 0) {
		fprintf(stderr, "# open " DSMIL_DEV ": %s\n", strerror(errno));
		nfd = dsmil_open();
	}
	__atomic_store_n(&fds[slot], nfd, __ATOMIC_RELEASE);
}

static uint64_t op_stream(unsigned int phase, unsigned int thread, uint64_t idx)
{
	uint64_t rs = ~fuzz_seed ^ ((uint64_t)phase << 56) ^
		      ((uint64_t)thread << 48) ^ (idx * 0x9e3779b97f4a7c15ULL);

	splitmix64(&rs);
	return rs;
}

/* ------------------------------------------- read() and poll() of a file */

#define REC	sizeof(struct dsmil_token_completion)

static void fail_io(const struct worker *w, uint64_t idx, const char *what,
		    long ret, int err, const char *why)
{
	pthread_mutex_lock(&fail_lock);
	if (++fails <= MAX_FAILS)
		fprintf(stderr,
			"# FAIL seed=0x%016" PRIx64 " call=%u:%u:%" PRIu64
			" %s ret=%ld errno=%d (%s): %s\n",
			fuzz_seed, w->phase, w->idx, idx, what, ret, err,
			strerror(err), why);
	pthread_mutex_unlock(&fail_lock);
}

/* A completion record as the uapi header describes it, or why not. */
static const char *check_record(const struct dsmil_token_completion *r)
{
	static const int errs[] = { ECANCELED, EINVAL, ENODEV, EPERM, EACCES,
				    ETIMEDOUT, EIO, ENXIO, EOPNOTSUPP, ENOENT,
				    ERANGE, EBUSY, ESHUTDOWN, ENOMEM, EINTR,
				    EINPROGRESS, 0 };

	if (!r->id)
		return "record with id 0";
	if (r->op > DSMIL_TOKEN_OP_WRITE)
		return "record with an unknown op";
	if (r->reserved0 || r->reserved)
		return "record with a reserved field set";
	if (r->flags & ~(DSMIL_TOKEN_C_CANCELLED | DSMIL_TOKEN_C_FINAL |
			 DSMIL_TOKEN_C_IN_DOUBT | DSMIL_TOKEN_C_UNSENT))
		return "record with an unknown flag";
	if (!(r->flags & DSMIL_TOKEN_C_FINAL) == !(r->flags & DSMIL_TOKEN_C_IN_DOUBT))
		return "record neither final nor in doubt (or both)";
	if (r->token < DSMIL_TOKEN_BASE ||
	    r->token >= DSMIL_TOKEN_BASE + DSMIL_NUM_DEVICES)
		return "record of a token outside the DSMIL range";
	if (r->error && !errno_in(errs, r->error))
		return "record with an errno not documented";
	if (!!(r->flags & DSMIL_TOKEN_C_CANCELLED) != (r->error == ECANCELED))
		return "record cancelled without ECANCELED (or the reverse)";
	if ((r->flags & DSMIL_TOKEN_C_CANCELLED) &&
	    !(r->flags & DSMIL_TOKEN_C_UNSENT))
		return "a cancelled request not marked unsent";
	if ((r->flags & DSMIL_TOKEN_C_UNSENT) && !r->error)
		return "an unsent request that succeeded";
	return NULL;
}

/*
 * The bound on a read: READ_BOUND_MS after it starts, read_poll()'s timer
 * sends this thread READ_SIGNAL, whose handler does nothing and is installed
 * without SA_RESTART, so a read blocked in the driver returns -EINTR.
 */
#define READ_SIGNAL	SIGUSR1
#define READ_BOUND_MS	500

/* Set by this thread's timer signal: an EINTR the fuzzer caused itself. */
static __thread volatile sig_atomic_t read_signalled;

static void read_signal(int sig)
{
	(void)sig;
	read_signalled = 1;
}

static void read_timer_init(struct worker *w)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = READ_SIGNAL,
	};

	/* glibc 2.36 names it only through its union (no sigev_notify_thread_id). */
	sev._sigev_un._tid = gettid();
	w->have_timer = !timer_create(CLOCK_MONOTONIC, &sev, &w->read_timer);
	if (!w->have_timer)
		perror("timer_create");
}

/*
 * Repeating: a thread delayed past the bound before its read() starts gets
 * the signal again while it waits, not once before and never after.
 */
static void read_timer_arm(struct worker *w, bool on)
{
	struct itimerspec its = {
		.it_value.tv_nsec = on ? READ_BOUND_MS * 1000000L : 0,
		.it_interval.tv_nsec = on ? READ_BOUND_MS * 1000000L : 0,
	};

	if (on)
		read_signalled = 0;
	if (w->have_timer)
		timer_settime(w->read_timer, 0, &its, NULL);
}

/*
 * read() or poll() of file @fd, which another thread may close meanwhile.
 * Reads are meant to be non-blocking (the fuzzer sets O_NONBLOCK on the
 * file first): a blocking read of a file whose records another thread takes
 * could wait for ever.  But between the fcntl() and the read() another
 * thread may close the number and open a blocking file under it, or dup2()
 * a blocking one over it (churn(): the race wanted), and that read then
 * waits for a record that may never come; in one run all other threads
 * finished and the fuzzer waited 25 min for it.  So every read is bounded
 * by this thread's timer (READ_BOUND_MS): a blocked read must then return
 * -EINTR, which is what the driver owes a signalled reader.
 */
static void read_poll(struct worker *w, uint64_t *rs, int fd, uint64_t idx)
{
	static const size_t lens[] = { 0, 1, REC - 1, REC, REC + 1, 2 * REC,
				       16 * REC, 64 * REC, 65 * REC + 3 };
	struct dsmil_token_completion *r;
	enum ptr_kind kind;
	const char *why = NULL;
	uint64_t buf;
	size_t len;
	ssize_t ret;
	int err, i;

	w->calls++;
	if (rnd_below(rs, 3) == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

		ret = poll(&p, 1, 0);
		err = ret < 0 ? errno : 0;
		if (ret < 0 || ret > 1)
			why = "poll() failed";
		else if (p.revents & POLLNVAL)
			return;		/* closed under us */
		else if (p.revents & ~(POLLIN | POLLRDNORM))
			why = "poll() reports more than readable";
		if (why)
			fail_io(w, idx, "poll", ret, err, why);
		return;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return;			/* closed under us */
	len = lens[rnd_below(rs, ARRAY_SIZE(lens))];
	buf = gen_ptr(rs, w->a.nest, NEST_PAGES * PAGE, &w->a, len, 15, &kind);
	read_timer_arm(w, true);
	ret = read(fd, (void *)(uintptr_t)buf, len);
	err = ret < 0 ? errno : 0;
	read_timer_arm(w, false);
	if (ret < 0) {
		if (err == EBADF)
			return;
		/* A blocking file under the number, and the timer ended it. */
		if (err == EINTR && read_signalled) {
			w->read_intr++;
			return;
		}
		/* The VFS checks the buffer (access_ok) before the driver. */
		if (len < REC && err != EINVAL &&
		    !(err == EFAULT && ptr_bad(kind)))
			why = "read() of less than one record must get -EINVAL";
		else if (err != EAGAIN && err != EINVAL && err != EFAULT)
			why = "read() errno not documented";
		else if (err == EINVAL && len >= REC)
			why = "read() of a whole record got -EINVAL";
	} else if (len < REC) {
		why = "read() of less than one record succeeded";
	} else if (!ret || ret % REC || (size_t)ret > len) {
		why = "read() returned no whole number of records";
	} else if (ptr_bad(kind) && kind != P_STRADDLE) {
		why = kind == P_KERNEL ?
		      "SECURITY: read() copied records to a kernel address" :
		      "read() copied records to an unwritable buffer";
	} else if (kind == P_VALID || kind == P_GUARD_END) {
		r = (struct dsmil_token_completion *)(uintptr_t)buf;
		for (i = 0; i < ret / (ssize_t)REC && !why; i++)
			why = check_record(&r[i]);
	}
	if (why)
		fail_io(w, idx, "read", ret, err, why);
}

/* Operation @idx of @w: a churn, a walk or a generated call. */
static bool do_op(struct worker *w, uint64_t idx, struct call *c)
{
	uint64_t rs = op_stream(w->phase, w->idx, idx);
	unsigned int op = rnd_below(&rs, 1000);
	unsigned int slot = rnd_below(&rs, nfiles);
	int fd;

	if (op < 8) {
		churn(w, &rs, slot);
		return true;
	}
	fd = __atomic_load_n(&fds[slot], __ATOMIC_ACQUIRE);
	if (fd >= 0 && fd <= 2) {
		/* 0-2 are kept open on /dev/null or a tty: never ours. */
		fprintf(stderr, "# FAIL seed=0x%016" PRIx64 " file slot %u holds fd %d: the fuzzer's memory was overwritten\n",
			fuzz_seed, slot, fd);
		fails++;
		return false;
	}
	if (op < 20 && (features & DSMIL_FEAT_ASYNC)) {
		read_poll(w, &rs, fd, idx);
		return true;
	}
	if (op < 100 && (features & DSMIL_FEAT_DEVICES)) {
		walk(w, &rs, fd, idx, c);
		return true;
	}
	gen_call(c, w->phase, w->idx, idx, &w->a);
	return run_call(w, c, fd, idx);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct call *c = malloc(sizeof(*c));
	uint64_t i;

	if (!c)
		return NULL;
	__atomic_store_n(&w->tid_k, gettid(), __ATOMIC_RELAXED);
	read_timer_init(w);
	for (i = w->first; i < w->first + w->count; i++) {
		__atomic_store_n(&w->cur, i, __ATOMIC_RELAXED);
		do_op(w, i, c);
		if (fails > MAX_FAILS)
			break;
	}
	if (w->have_timer)
		timer_delete(w->read_timer);
	w->have_timer = false;
	free(c);
	return NULL;
}

/* ------------------------------------------------- racer and chaos */

/*
 * Fault knobs of the sims (debugfs): each entry is set to a value now and
 * then and back to its rest value.  Missing files are skipped, so the
 * fuzzer runs whatever parts have landed.
 */
struct knob {
	const char *path;
	const char *const vals[4];
	const char *rest;
	int fd;
};

static struct knob knobs[] = {
	{ DSMIL_SIM_DIR "/fault", { "hang", "error", "garbage", "flaky" },
	  "none", -1 },
	{ DSMIL_SIM_DIR "/latency_us", { "0", "200", "2000", "0" }, "0", -1 },
	{ DSMIL_MMIO_DIR "/fail_next_maps", { "1", "3", "1", "2" }, "0", -1 },
};

static int knobs_open(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		knobs[i].fd = open(knobs[i].path, O_WRONLY | O_CLOEXEC);
		n += knobs[i].fd >= 0;
	}
	return n;
}

static void knob_set(struct knob *k, const char *v)
{
	if (k->fd >= 0 && pwrite(k->fd, v, strlen(v), 0) < 0 && verbose)
		fprintf(stderr, "# %s <- %s: %s\n", k->path, v, strerror(errno));
}

static void knobs_close(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		if (knobs[i].fd < 0)
			continue;
		knob_set(&knobs[i], knobs[i].rest);
		close(knobs[i].fd);
		knobs[i].fd = -1;
	}
}

static bool chaos_on;
static uint64_t chaos_flips, prot_flips;

/*
 * Flips the volatile region between inaccessible and read-write every
 * millisecond or so, and with chaos on, sets a fault knob for ~50 ms every
 * ~200 ms.
 */
static void *racer_main(void *arg)
{
	uint64_t rs = fuzz_seed ^ 0x7261636572ULL, last = now_ns();
	struct knob *cur = NULL;
	bool none = false;

	(void)arg;
	while (!stop_racer) {
		none = !none;
		mprotect(vol_buf, VOL_PAGES * PAGE,
			 none ? PROT_NONE : PROT_READ | PROT_WRITE);
		prot_flips++;
		usleep(500 + rnd_below(&rs, 1000));
		if (!chaos_on || now_ns() - last < 50000000ULL)
			continue;
		last = now_ns();
		if (cur) {
			knob_set(cur, cur->rest);
			cur = NULL;
			usleep(150000);
		} else {
			cur = &knobs[rnd_below(&rs, ARRAY_SIZE(knobs))];
			if (cur->fd >= 0) {
				knob_set(cur, cur->vals[rnd_below(&rs, 4)]);
				chaos_flips++;
			} else {
				cur = NULL;
			}
		}
	}
	if (cur)
		knob_set(cur, cur->rest);
	mprotect(vol_buf, VOL_PAGES * PAGE, PROT_READ | PROT_WRITE);
	return NULL;
}

/* ----------------------------------------------------- checks */

static int check_fail(const char *what, const char *why)
{
	fprintf(stderr, "# FAIL seed=0x%016" PRIx64 " %s: %s\n", fuzz_seed,
		what, why);
	fails++;
	return -1;
}

/* Wait for no SMI request in flight, then the documented identities. */
static int check_quiescent(int fd, const char *when, bool writes)
{
	struct dsmil_smi_status s;
	struct dsmil_mmio_status m;
	struct dsmil_stats st;
	struct dsmil_info info;
	const char *why;
	int ret = 0, w;
	unsigned int i;

	if (dsmil_info(fd, &info))
		return check_fail(when, "INFO failed");
	why = dsmil_info_check(&info, 0);
	if (why)
		ret = check_fail(when, why);
	if (!!(info.features & DSMIL_FEAT_WRITES) != writes)
		ret = check_fail(when, "FEAT_WRITES does not match allow_writes");

	if (features & DSMIL_FEAT_SMI) {
		w = smi_wait_idle(fd, &s, 5000);
		if (w && w != -ETIMEDOUT)
			return check_fail(when, "SMI_STATUS failed");
		if (s.in_flight)
			ret = check_fail(when, "SMI requests still in flight after 5 s");
		why = smi_identity(&s);
		if (why)
			ret = check_fail(when, why);
		if (smi_hist_total(&s) != s.requests - s.refused)
			ret = check_fail(when, "sum(latency_hist) != requests - refused");
		printf("# %s: SMI requests=%llu successes=%llu errors=%llu timeouts=%llu hangs=%llu faulted_rejects=%llu refused=%llu aborts=%llu faulted_entries=%llu recoveries=%llu\n",
		       when, (unsigned long long)s.requests,
		       (unsigned long long)s.successes,
		       (unsigned long long)s.errors,
		       (unsigned long long)s.timeouts,
		       (unsigned long long)s.hangs,
		       (unsigned long long)s.faulted_rejects,
		       (unsigned long long)s.refused,
		       (unsigned long long)s.aborts,
		       (unsigned long long)s.faulted_entries,
		       (unsigned long long)s.recoveries);
	}
	if (features & DSMIL_FEAT_MMIO) {
		if (mmio_status(fd, &m))
			return check_fail(when, "MMIO_STATUS failed");
		why = mmio_identity(&m);
		if (why)
			ret = check_fail(when, why);
		printf("# %s: MMIO maps=%llu unmaps=%llu resident=%u evictions=%llu map_failures=%llu all_busy=%llu bytes_read=%llu bytes_written=%llu refused=%llu\n",
		       when, (unsigned long long)m.maps,
		       (unsigned long long)m.unmaps, m.resident,
		       (unsigned long long)m.evictions,
		       (unsigned long long)m.map_failures,
		       (unsigned long long)m.all_busy,
		       (unsigned long long)m.bytes_read,
		       (unsigned long long)m.bytes_written,
		       (unsigned long long)m.refused);
	}
	if (features & DSMIL_FEAT_DEVICES) {
		static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
		struct dsmil_dev_list l = {
			.buf = (uintptr_t)devs, .count = DSMIL_NUM_DEVICES,
		};
		uint8_t seen[DSMIL_NUM_DEVICES] = {};
		uint64_t sum = 0;

		if (ioctl(fd, DSMIL_IOC_DEV_LIST, &l) || l.count != DSMIL_NUM_DEVICES)
			return check_fail(when, "DEV_LIST of all 72 failed");
		for (i = 0; i < DSMIL_NUM_DEVICES; i++) {
			if (devs[i].id >= DSMIL_NUM_DEVICES || seen[devs[i].id]++)
				ret = check_fail(when, "DEV_LIST does not list each device once");
			if ((devs[i].flags & DSMIL_DEVF_QUARANTINED) &&
			    devs[i].state == DSMIL_DEV_ACTIVE)
				ret = check_fail(when, "a quarantined device is ACTIVE");
			sum += devs[i].transitions;
		}
		if (dsmil_stats(fd, &st))
			return check_fail(when, "STATS failed");
		if (sum != st.transitions)
			ret = check_fail(when, "sum of per-device transitions != STATS.transitions");
		printf("# %s: transitions=%llu ioctls=%llu bad_input=%llu denied=%llu\n",
		       when, (unsigned long long)st.transitions,
		       (unsigned long long)st.ioctls,
		       (unsigned long long)st.bad_input,
		       (unsigned long long)st.denied);
	}
	return ret;
}

/* Exact answers from a freshly loaded module (default parameters). */
static int check_fresh(void)
{
	const char *w = "fresh module";
	struct dsmil_stats s1, s2;
	struct dsmil_info info;
	const char *why;
	int fd = dsmil_open(), ret = 0, i;

	if (fd < 0)
		return check_fail(w, "open /dev/dsmil failed");
	if (dsmil_info(fd, &info)) {
		close(fd);
		return check_fail(w, "INFO failed");
	}
	why = dsmil_info_check(&info, 8);
	if (why)
		ret = check_fail(w, why);
	if (info.features & DSMIL_FEAT_WRITES)
		ret = check_fail(w, "FEAT_WRITES set with default parameters");
	if ((info.features & FEAT_PARTS) != features)
		ret = check_fail(w, "features changed across reloads");

	if (ioctl(fd, _IO(DSMIL_IOC_MAGIC, 0x0f), 0) != -1 || errno != ENOTTY)
		ret = check_fail(w, "unused number 0x0f did not get -ENOTTY");
	if (ioctl(fd, _IOC(_IOC_READ, DSMIL_IOC_MAGIC, 0, sizeof(info) - 8),
		  &info) != -1 || errno != EINVAL)
		ret = check_fail(w, "INFO with a short size did not get -EINVAL");
	if (ioctl(fd, _IOWR(DSMIL_IOC_MAGIC, 0, struct dsmil_info), &info) != -1 ||
	    errno != EINVAL)
		ret = check_fail(w, "INFO as _IOWR did not get -EINVAL");
	if (ioctl(fd, DSMIL_IOC_INFO, 0xffff888000000000UL) != -1 ||
	    errno != EFAULT)
		ret = check_fail(w, "INFO to a kernel address did not get -EFAULT");
	if (ioctl(fd, DSMIL_IOC_INFO, NULL) != -1 || errno != EFAULT)
		ret = check_fail(w, "INFO to NULL did not get -EFAULT");

	/* STATS counts every call exactly. */
	if (dsmil_stats(fd, &s1))
		ret = check_fail(w, "STATS failed");
	for (i = 0; i < 3; i++)
		ioctl(fd, DSMIL_IOC_INFO, &info);
	ioctl(fd, _IO(DSMIL_IOC_MAGIC, 0x0e), 0);
	ioctl(fd, _IO(DSMIL_IOC_MAGIC, 0x0d), 0);
	if (dsmil_stats(fd, &s2))
		ret = check_fail(w, "STATS failed");
	if (s2.ioctls - s1.ioctls != 6)
		ret = check_fail(w, "STATS.ioctls did not count 6 calls exactly");
	if (s2.bad_input - s1.bad_input != 2)
		ret = check_fail(w, "STATS.bad_input did not count 2 unknown commands");

	if (features & DSMIL_FEAT_DEVICES) {
		struct dsmil_dev_info d = { .id = 0 };

		if (ioctl(fd, DSMIL_IOC_DEV_INFO, &d) ||
		    strcmp((char *)d.name, "DSMIL0D0") ||
		    d.state != DSMIL_DEV_OFFLINE)
			ret = check_fail(w, "DEV_INFO 0 is not an OFFLINE DSMIL0D0");
		d = (struct dsmil_dev_info){ .id = DSMIL_NUM_DEVICES };
		if (ioctl(fd, DSMIL_IOC_DEV_INFO, &d) != -1 || errno != EINVAL)
			ret = check_fail(w, "DEV_INFO 72 did not get -EINVAL");
		d = (struct dsmil_dev_info){ .id = 1, .reserved1 = 1 };
		if (ioctl(fd, DSMIL_IOC_DEV_INFO, &d) != -1 || errno != EINVAL)
			ret = check_fail(w, "DEV_INFO with reserved1 set did not get -EINVAL");
	}
	if (features & DSMIL_FEAT_SMI) {
		struct dsmil_smi_status s;
		struct dsmil_token_req t = { .group = 6 };

		if (smi_status(fd, &s) || s.state != DSMIL_SMI_OK ||
		    strcmp((char *)s.backend, "sim") || smi_identity(&s))
			ret = check_fail(w, "SMI_STATUS of a fresh module is not OK/sim/consistent");
		if (ioctl(fd, DSMIL_IOC_TOKEN_READ, &t) != -1 || errno != EINVAL)
			ret = check_fail(w, "TOKEN_READ of group 6 did not get -EINVAL");
	}
	if (features & DSMIL_FEAT_MMIO) {
		struct dsmil_mmio_status m;
		struct dsmil_mmio_rw r = { .offset = DSMIL_DEFAULT_REGION_SIZE,
					   .width = 4 };

		if (mmio_status(fd, &m) || mmio_identity(&m) || m.resident)
			ret = check_fail(w, "MMIO_STATUS of a fresh module is not empty/consistent");
		if (ioctl(fd, DSMIL_IOC_MMIO_READ, &r) != -1 || errno != ERANGE)
			ret = check_fail(w, "MMIO_READ one past the region did not get -ERANGE");
		r = (struct dsmil_mmio_rw){ .offset = 0, .width = 4 };
		if (lockdown_cached() == LD_NONE && ioctl(fd, DSMIL_IOC_MMIO_READ, &r))
			ret = check_fail(w, "MMIO_READ at 0 failed");
	}
	close(fd);
	return ret;
}

/* -------------------------------------------------------------- phases */

static struct worker workers[MAX_THREADS];
static uint64_t total_calls, total_ok, total_churn;
static uint64_t tot_by_cmd[NCMDS], tot_by_errno[256];

/*
 * No call finished in STALL_S seconds: a thread is stuck, in the driver or
 * in the fuzzer.  Every call the driver serves is bounded (the SMI layer's
 * deadlines, non-blocking reads, read_poll()'s timer), so that is a failure,
 * reported with what each unfinished thread is in and where its kernel
 * stack waits, rather than a guest that runs silently into its timeout.
 */
#define STALL_S		180

static void summary(void);

static void proc_line(pid_t tid, const char *what)
{
	char path[64], buf[2048];

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, what);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return;
	printf("#   %s:\n", what);
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		printf("#     %s\n", l);
}

static void report_stall(unsigned int phase, const bool *joined)
{
	unsigned int i;
	char why[64];

	snprintf(why, sizeof(why), "no call finished in %d s", STALL_S);
	check_fail("stall", why);
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];
		pid_t tid = __atomic_load_n(&w->tid_k, __ATOMIC_RELAXED);

		if (joined[i])
			continue;
		printf("# stalled: phase %u thread %u (tid %d) in op %" PRIu64 " (--replay %u:%u:%" PRIu64 ")\n",
		       phase, i, tid, __atomic_load_n(&w->cur, __ATOMIC_RELAXED),
		       phase, i, __atomic_load_n(&w->cur, __ATOMIC_RELAXED));
		proc_line(tid, "syscall");
		proc_line(tid, "wchan");
		proc_line(tid, "stack");
	}
	fflush(stdout);
}

static int run_phase(unsigned int phase, uint64_t calls, bool chaos)
{
	pthread_t racer;
	uint64_t per = calls / nthreads, t0 = now_ns(), last = t0, done, intr;
	uint64_t prev, moved;
	bool joined[MAX_THREADS] = { false };
	unsigned int i, k, left;

	for (i = 0; i < nfiles; i++) {
		fds[i] = dsmil_open();
		if (fds[i] < 0) {
			perror("open " DSMIL_DEV);
			return -1;
		}
	}
	chaos_on = chaos && knobs_open() > 0;
	stop_racer = 0;
	if (pthread_create(&racer, NULL, racer_main, NULL))
		return -1;
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		memset(w->by_cmd, 0, sizeof(w->by_cmd));
		memset(w->by_errno, 0, sizeof(w->by_errno));
		w->calls = w->ok = w->churn = w->slowest_ns = 0;
		w->read_intr = 0;
		w->idx = i;
		w->phase = phase;
		w->first = 0;
		w->count = per + (i == 0 ? calls % nthreads : 0);
		if (pthread_create(&w->tid, NULL, worker_main, w))
			return -1;
	}
	/*
	 * Until every worker has ended (they stop at their count, or past
	 * MAX_FAILS): progress every ~10 s, so a long run shows life, and a
	 * stall is reported, not waited out.
	 */
	for (left = nthreads, prev = 0, moved = t0; left;) {
		usleep(200000);
		for (i = 0; i < nthreads; i++)
			if (!joined[i] &&
			    !pthread_tryjoin_np(workers[i].tid, NULL)) {
				joined[i] = true;
				left--;
			}
		done = 0;
		for (i = 0; i < nthreads; i++)
			done += __atomic_load_n(&workers[i].calls, __ATOMIC_RELAXED);
		if (done != prev) {
			prev = done;
			moved = now_ns();
		} else if (left && now_ns() - moved > STALL_S * 1000000000ULL) {
			report_stall(phase, joined);
			/*
			 * Its threads may never return: end here, the sims'
			 * fault knobs back at rest first (the racer may still
			 * flip one: it ends with the process).
			 */
			stop_racer = 1;
			usleep(100000);
			knobs_close();
			summary();
			printf("# dsmil_fuzz: seed=0x%016" PRIx64 " stalled in phase %u: FAILED\n",
			       fuzz_seed, phase);
			exit(1);
		}
		if (now_ns() - last > 10000000000ULL) {
			last = now_ns();
			printf("# phase %u: %" PRIu64 "/%" PRIu64 " calls, %.0f s\n",
			       phase, done, calls, (last - t0) / 1e9);
			fflush(stdout);
		}
	}
	stop_racer = 1;
	pthread_join(racer, NULL);
	knobs_close();

	done = 0;
	intr = 0;
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		done += w->calls;
		intr += w->read_intr;
		total_ok += w->ok;
		total_churn += w->churn;
		for (k = 0; k < NCMDS; k++)
			tot_by_cmd[k] += w->by_cmd[k];
		for (k = 0; k < 256; k++)
			tot_by_errno[k] += w->by_errno[k];
		if (w->slowest_ns > 1000000000ULL)
			printf("# phase %u thread %u: slowest call %.3f s (cmd 0x%08x)\n",
			       phase, i, w->slowest_ns / 1e9, w->slowest_cmd);
	}
	total_calls += done;
	printf("# phase %u (%s%s): %" PRIu64 " calls in %.1f s, %u threads, %u files, %" PRIu64 " racer flips, %" PRIu64 " fault knob flips\n",
	       phase, writes_on ? "allow_writes=1" : "defaults",
	       chaos_on ? ", chaos" : "", done, (now_ns() - t0) / 1e9,
	       nthreads, nfiles, prot_flips, chaos_flips);
	if (intr)
		printf("# phase %u: %" PRIu64 " reads found a blocking file under their number and were interrupted after %d ms\n",
		       phase, intr, READ_BOUND_MS);
	for (i = 0; i < nfiles; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

/* The module must unload once every file is closed. */
static int reload(const char *params)
{
	int ret = dsmil_unload_wait(10000);

	if (ret)
		return check_fail("unload after fuzzing", strerror(-ret));
	ret = dsmil_load(params);
	if (ret)
		return check_fail("load", strerror(-ret));
	return 0;
}

struct replay_spec {
	unsigned int phase, thread;
	uint64_t idx;
};

/* PHASE:THREAD:CALL, checked before anything touches the module. */
static int parse_replay(const char *spec, struct replay_spec *r)
{
	char end;

	if (sscanf(spec, "%u:%u:%" SCNu64 "%c", &r->phase, &r->thread,
		   &r->idx, &end) != 3 || r->phase > 1 ||
	    r->thread >= MAX_THREADS) {
		fprintf(stderr, "--replay PHASE:THREAD:CALL (phase 0 or 1, thread < %d)\n",
			MAX_THREADS);
		return -1;
	}
	return 0;
}

static int replay(const struct replay_spec *r)
{
	struct worker *w = &workers[0];
	struct call *c;
	int fd;

	if (r->phase == 1 && reload("allow_writes=1"))
		return 1;
	c = calloc(1, sizeof(*c));
	if (!c) {
		perror("replay");
		return 1;
	}
	writes_on = r->phase == 1;
	for (fd = 0; fd < (int)nfiles; fd++)
		fds[fd] = dsmil_open();
	w->idx = r->thread;
	w->phase = r->phase;
	verbose = 2;
	printf("# replaying call %u:%u:%" PRIu64 " of seed 0x%016" PRIx64 "\n",
	       r->phase, r->thread, r->idx, fuzz_seed);
	gen_call(c, r->phase, r->thread, r->idx, &w->a);
	printf("# generated: cmd=0x%08x (%s, %s) size=%zu arg=%s nested=%s\n",
	       c->cmd, cmd_name(c), kind_names[c->kind], c->size,
	       ptr_names[c->akind], c->nested ? ptr_names[c->nkind] : "-");
	fprintf(stderr, "#   payload: ");
	hexdump(c->payload, c->size);
	fails = 0;
	do_op(w, r->idx, c);
	free(c);
	if (r->phase == 1)
		reload(NULL);
	return fails ? 1 : 0;
}

/*
 * Phase 2, the stop mode: groups stopped while writes (well-formed and
 * hostile) run on other threads; no write may reach a LOCKED device after
 * its stop returned.  Needs its own load: one chunk resident, slow SMIs.
 */
static int run_stop_phase(unsigned int secs)
{
	struct stop_race_cfg cfg = {
		.seed = fuzz_seed, .secs = secs, .writers = 4, .hostile = true,
	};
	struct stop_race_result res;
	uint64_t t0 = now_ns();
	int ret;

	if (reload("allow_writes=1 max_resident=1 smi_timeout_ms=1000 smi_hang_ms=500"))
		return -1;
	ret = stop_race_run(&cfg, &res);
	if (access(DSMIL_SIM_DIR "/reset", W_OK) == 0)
		sim_knob_write("reset", "1");
	if (ret == -EOPNOTSUPP) {
		printf("# phase 2 (stop while writing): skipped, the driver lacks a part it needs\n");
		return 0;
	}
	if (ret)
		return check_fail("phase 2 (stop while writing)", strerror(-ret));
	total_calls += res.calls;
	total_ok += res.ok;
	printf("# phase 2 (stop while writing): %" PRIu64 " rounds in %.1f s, %" PRIu64 " stops locking %" PRIu64 " devices, %" PRIu64 " write calls (%" PRIu64 " returned 0, %" PRIu64 " -ENODEV, %" PRIu64 " -EBUSY), %" PRIu64 " writes landed; refused at the hand-off %" PRIu64 " of %" PRIu64 "; in doubt %" PRIu64 "; writes after stop = %" PRIu64 " (%" PRIu64 " token, %" PRIu64 " MMIO window)\n",
	       res.rounds, (now_ns() - t0) / 1e9, res.stops, res.locked,
	       res.calls, res.ok, res.refused, res.busy, res.landed, res.handoff_refused,
	       res.handoffs, res.in_doubt, res.after_stop,
	       res.after_stop_tokens, res.after_stop - res.after_stop_tokens);
	if (res.after_stop || res.in_doubt || res.wrong)
		return check_fail("phase 2 (stop while writing)", res.why);
	if (!res.landed)
		return check_fail("phase 2 (stop while writing)",
				  "no write reached the sims: nothing was proven");
	return 0;
}

static void summary(void)
{
	unsigned int i;

	printf("# calls by command:");
	for (i = 0; i < NCMDS; i++)
		printf(" %s=%" PRIu64, cmds[i].name, tot_by_cmd[i]);
	printf("\n# results:");
	for (i = 0; i < 256; i++)
		if (tot_by_errno[i])
			printf(" %s=%" PRIu64, i ? strerror(i) : "ok",
			       tot_by_errno[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "files", required_argument, NULL, 'f' },
		{ "writes-share", required_argument, NULL, 'w' },
		{ "no-reload", no_argument, NULL, 'R' },
		{ "no-chaos", no_argument, NULL, 'C' },
		{ "stop-secs", required_argument, NULL, 'S' },
		{ "replay", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint64_t calls = env_ulong("DSMIL_FUZZ_CALLS", 100000);
	unsigned int share = 50, i;
	unsigned int stop_secs = env_ulong("DSMIL_STOP_SECS", 3);
	const char *seed_arg = NULL;
	struct replay_spec rspec;
	bool do_reload = true, chaos = true, do_replay = false;
	struct dsmil_info info;
	uint64_t t0 = now_ns();
	int opt, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Descriptors 0-2 taken, so that every file the fuzzer opens is >= 3. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	while ((opt = getopt_long(argc, argv, "s:n:t:f:w:r:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seed_arg = optarg; break;
		case 'n': calls = strtoull(optarg, NULL, 0); break;
		case 't': nthreads = strtoul(optarg, NULL, 0); break;
		case 'f': nfiles = strtoul(optarg, NULL, 0); break;
		case 'w': share = strtoul(optarg, NULL, 0); break;
		case 'R': do_reload = false; break;
		case 'C': chaos = false; break;
		case 'S': stop_secs = strtoul(optarg, NULL, 0); break;
		case 'r':
			if (parse_replay(optarg, &rspec))
				return 2;
			do_replay = true;
			break;
		case 'v': verbose++; break;
		default:
			printf("usage: %s [--seed N] [--calls N] [--threads N] [--files N]\n"
			       "       [--writes-share PCT] [--no-reload] [--no-chaos]\n"
			       "       [--stop-secs N] [--replay PHASE:THREAD:CALL] [-v]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!nthreads || nthreads > MAX_THREADS || !nfiles || nfiles > MAX_FILES ||
	    share > 100) {
		fprintf(stderr, "threads 1..%d, files 1..%d, writes-share 0..100\n",
			MAX_THREADS, MAX_FILES);
		return 2;
	}
	fuzz_seed = suite_seed(seed_arg);
	printf("# dsmil_fuzz: seed=0x%016" PRIx64 " calls=%" PRIu64 " threads=%u files=%u writes-share=%u%% lockdown=%s\n",
	       fuzz_seed, calls, nthreads, nfiles, share,
	       lockdown_name(lockdown_cached()));
	signal(SIGPIPE, SIG_IGN);
	/* No SA_RESTART: a read the timer interrupts must return (read_poll()). */
	sigaction(READ_SIGNAL, &(struct sigaction){ .sa_handler = read_signal },
		  NULL);

	if (!dsmil_loaded() && dsmil_load(NULL)) {
		perror("load dsmil");
		return 1;
	}
	for (i = 0; i < MAX_THREADS; i++)
		if (arena_init(&workers[i].a))
			return 1;
	if (shared_init())
		return 1;
	fd = dsmil_open();
	if (fd < 0 || dsmil_info(fd, &info)) {
		perror("INFO");
		return 1;
	}
	close(fd);
	features = info.features & FEAT_PARTS;
	writes_on = info.features & DSMIL_FEAT_WRITES;
	printf("# parts present:%s%s%s\n",
	       features & DSMIL_FEAT_DEVICES ? " devices" : "",
	       features & DSMIL_FEAT_SMI ? " smi" : "",
	       features & DSMIL_FEAT_MMIO ? " mmio" : "");

	if (do_replay)
		return replay(&rspec);

	/* Phase 0: as loaded (allow_writes off). */
	if (run_phase(0, do_reload ? calls - calls * share / 100 : calls, false))
		return 1;
	fd = dsmil_open();
	check_quiescent(fd, "after phase 0", writes_on);
	close(fd);

	/* Phase 1: allow_writes=1, with the sims' fault knobs flipping. */
	if (do_reload && calls * share / 100) {
		if (reload("allow_writes=1"))
			goto out;
		writes_on = true;
		if (run_phase(1, calls * share / 100, chaos))
			return 1;
		fd = dsmil_open();
		check_quiescent(fd, "after phase 1", true);
		close(fd);
	}
	/* Phase 2: emergency stops while writes run. */
	if (do_reload && stop_secs && fails <= MAX_FAILS)
		run_stop_phase(stop_secs);
	/* It must unload, load again and answer exactly. */
	if (do_reload && !reload(NULL)) {
		writes_on = false;
		check_fresh();
	}
out:
	summary();
	printf("# dsmil_fuzz: seed=0x%016" PRIx64 " %" PRIu64 " calls (%" PRIu64 " succeeded, %" PRIu64 " file churns) in %.1f s: %s\n",
	       fuzz_seed, total_calls, total_ok, total_churn,
	       (now_ns() - t0) / 1e9, fails ? "FAILED" : "passed");
	if (fails)
		printf("# %u failure(s); rerun with --seed 0x%016" PRIx64 "\n",
		       fails, fuzz_seed);
	return fails ? 1 : 0;
}
