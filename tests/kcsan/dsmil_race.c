// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil_race: every dsmil ioctl against every other, on two CPUs at once,
 * for the data-race detector (KCSAN) to watch.  Run by tests/host/kcsan-check
 * in a guest on the KCSAN kernel (tools/dsmil-vm --kernel kcsan).
 *
 * KCSAN samples: it turns an access into a watchpoint now and then, stalls
 * the CPU that made it for a few microseconds and reports when another CPU
 * touches the same word meanwhile.  A race between two ioctls is only seen
 * if both run at the same time on two CPUs, often.  So the "pairs" phase
 * takes every unordered pair of operations (A, B), A = B included, and runs
 * A in a loop on CPU 0 and B in a loop on CPU 1 for --pair-ms, both
 * released by one barrier.  Every call's interval (CLOCK_MONOTONIC before
 * and after the ioctl) is recorded, and the pair's overlap is counted from
 * them: the calls of A whose interval intersects one of B's.  A pair that
 * never overlapped fails the run, so "no report" always means "watched
 * while both ran".  (The kernel part of a call lies inside its interval;
 * with one loop per CPU and nothing else runnable, the intervals are
 * almost all kernel time.)
 *
 * Every operation must also succeed (return 0) at least once, and return
 * only the errnos its contract allows under this load: a harness that only
 * ever got itself refused at the policy check would watch nothing.
 *
 * The "unload" phase races module unload and load against opens of
 * /dev/dsmil (with an ioctl on each) and against reads of the sysfs
 * summary, with the same overlap accounting.
 *
 * Each phase and pair is marked in the kernel log ("dsmil-race: pair A B"),
 * so that tests/kcsan/triage names the pair behind each report.
 *
 * Usage: dsmil_race [--pair-ms N] [--unload-ms N] [--ops A,B,...]
 *                   [--no-unload]
 *   --ops restricts the pairs phase to those operations (by name).
 * Output: TAP.  Exit status 0 when every check passed.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include "../guest/lib/dsmil_test.h"

#define LOAD_PARAMS	"allow_writes=1 max_resident=2 mmio_idle_ms=10"
#define MAX_IV		(1 << 16)	/* intervals per worker and round */
#define MIN_CALLS	8		/* per worker and round, time permitting */
#define MAX_STRETCH	10		/* a round lasts at most this many pair_ms */
#define MAX_TRIES	4		/* rounds per pair until they overlap */
#define BULK_LEN	(64 * 1024)
#define FIRST_DEV	(3 * DSMIL_DEVS_PER_GROUP)	/* groups 3..5 */
#define NDEV		(3 * DSMIL_DEVS_PER_GROUP)
#define STOP_GROUP	5
#define TOGGLE_DEV	(4 * DSMIL_DEVS_PER_GROUP + 11)
#define RAW_CHUNKS	4

struct iv {
	uint64_t s, e;
};

struct worker;

struct op {
	const char *name;
	/* Untimed set-up before each call (may be NULL). */
	void (*prep)(struct worker *w);
	/* The call itself: 0 or an errno. */
	int (*call)(struct worker *w);
	/* Errnos the contract allows here, besides 0 (0-terminated). */
	int ok_errno[8];
	/* Never succeeds on the simulated backend: not required to. */
	bool may_never_succeed;
};

struct worker {
	unsigned int cpu;
	int fd;			/* its own /dev/dsmil, O_NONBLOCK */
	uint64_t rs;
	const struct op *op;	/* this round's */
	uint64_t deadline_ns;
	uint64_t hard_deadline_ns;
	struct iv *iv;
	volatile unsigned int niv;
	struct worker *other;
	uint64_t last_submit;	/* TOKEN_CANCEL's target */
	uint8_t *buf;
	pthread_t tid;
};

/* Per operation, over the whole run. */
struct op_stats {
	uint64_t calls, ok, wrong;
	int wrong_errno;
};

static volatile uint64_t last_request_id;	/* for SMI_RESULT */
static pthread_barrier_t barrier;
static volatile bool quit;

static unsigned int rnd_dev(struct worker *w)
{
	return FIRST_DEV + rnd_below(&w->rs, NDEV);
}

/* A device of groups 3..5 that has a token (positions 0, 3, 6, 9). */
static void rnd_token(struct worker *w, __u8 *group, __u8 *pos)
{
	*group = 3 + rnd_below(&w->rs, 3);
	*pos = 3 * rnd_below(&w->rs, 4);
}

static int ioc(struct worker *w, unsigned long cmd, void *arg)
{
	return ioctl(w->fd, cmd, arg) ? errno : 0;
}

/* --------------------------------------------------------- operations */

static int c_info(struct worker *w)
{
	struct dsmil_info a = {};

	return ioc(w, DSMIL_IOC_INFO, &a);
}

static int c_stats(struct worker *w)
{
	struct dsmil_stats a = {};

	return ioc(w, DSMIL_IOC_STATS, &a);
}

static int c_write_audit(struct worker *w)
{
	struct dsmil_write_audit_read a = {
		.buf = (uintptr_t)w->buf,
		.count = BULK_LEN / sizeof(struct dsmil_write_record),
	};

	return ioc(w, DSMIL_IOC_WRITE_AUDIT_READ, &a);
}

static int c_dev_info(struct worker *w)
{
	struct dsmil_dev_info a = { .id = rnd_below(&w->rs, DSMIL_NUM_DEVICES) };

	return ioc(w, DSMIL_IOC_DEV_INFO, &a);
}

static int c_dev_list(struct worker *w)
{
	struct dsmil_dev_list a = {
		.buf = (uintptr_t)w->buf,
		.count = DSMIL_NUM_DEVICES,
	};

	return ioc(w, DSMIL_IOC_DEV_LIST, &a);
}

/* One device of group 4 between READY and ACTIVE. */
static int c_transition(struct worker *w)
{
	int s = dev_state(w->fd, TOGGLE_DEV);
	struct dsmil_transition a = {
		.id = TOGGLE_DEV,
		.target = s == DSMIL_DEV_ACTIVE ? DSMIL_DEV_READY : DSMIL_DEV_ACTIVE,
	};

	return ioc(w, DSMIL_IOC_DEV_TRANSITION, &a);
}

/* Group 5 back up after the last stop (dependencies are up already). */
static void p_estop(struct worker *w)
{
	unsigned int id;

	for (id = STOP_GROUP * DSMIL_DEVS_PER_GROUP;
	     id < (STOP_GROUP + 1) * DSMIL_DEVS_PER_GROUP; id++)
		if (dev_state(w->fd, id) != DSMIL_DEV_ACTIVE)
			dev_bring_up(w->fd, id, true);
}

static int c_estop(struct worker *w)
{
	struct dsmil_group_stop a = { .group = STOP_GROUP };

	return ioc(w, DSMIL_IOC_GROUP_ESTOP, &a);
}

static int c_audit(struct worker *w)
{
	struct dsmil_audit_read a = {
		.buf = (uintptr_t)w->buf,
		.count = BULK_LEN / sizeof(struct dsmil_audit_entry),
	};

	return ioc(w, DSMIL_IOC_AUDIT_READ, &a);
}

static int c_token_read(struct worker *w)
{
	struct dsmil_token_req a = {};
	int e;

	rnd_token(w, &a.group, &a.position);
	e = ioc(w, DSMIL_IOC_TOKEN_READ, &a);
	if (a.request_id)
		last_request_id = a.request_id;
	return e;
}

static int c_token_write(struct worker *w)
{
	struct dsmil_token_req a = { .value = splitmix64(&w->rs) & 0xffff };

	rnd_token(w, &a.group, &a.position);
	return ioc(w, DSMIL_IOC_TOKEN_WRITE, &a);
}

static int c_smi_status(struct worker *w)
{
	struct dsmil_smi_status a = {};

	return ioc(w, DSMIL_IOC_SMI_STATUS, &a);
}

static int c_smi_recover(struct worker *w)
{
	return ioc(w, DSMIL_IOC_SMI_RECOVER, NULL);
}

static int c_smi_rescan(struct worker *w)
{
	return ioc(w, DSMIL_IOC_SMI_RESCAN, NULL);
}

static int c_smi_result(struct worker *w)
{
	struct dsmil_smi_result a = { .request_id = last_request_id };

	if (!a.request_id)
		a.request_id = 1;
	return ioc(w, DSMIL_IOC_SMI_RESULT, &a);
}

/* Completion records of this file, without waiting. */
static void drain(struct worker *w)
{
	struct dsmil_token_completion c[16];

	while (read(w->fd, c, sizeof(c)) > 0)
		;
}

static int submit(struct worker *w, uint64_t *id)
{
	struct dsmil_token_submit a = {};
	int e;

	rnd_token(w, &a.group, &a.position);
	if (rnd_below(&w->rs, 4) == 0) {
		a.op = DSMIL_TOKEN_OP_WRITE;
		a.value = splitmix64(&w->rs) & 0xffff;
	}
	e = ioc(w, DSMIL_IOC_TOKEN_SUBMIT, &a);
	if (!e && id)
		*id = a.id;
	return e;
}

/* A submit, then this file's completion records (read(2)) taken. */
static int c_submit(struct worker *w)
{
	int e = submit(w, NULL);

	drain(w);
	return e;
}

static void p_cancel(struct worker *w)
{
	drain(w);
	w->last_submit = 0;
	submit(w, &w->last_submit);
}

static int c_cancel(struct worker *w)
{
	struct dsmil_token_cancel a = { .id = w->last_submit };

	if (!a.id)
		a.id = 1;
	return ioc(w, DSMIL_IOC_TOKEN_CANCEL, &a);
}

/* poll(2) for a completion record of one submitted, and read(2) it. */
static void p_read(struct worker *w)
{
	drain(w);
	submit(w, NULL);
}

static int c_read(struct worker *w)
{
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	struct dsmil_token_completion c;

	poll(&p, 1, 50);
	return read(w->fd, &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : errno;
}

/*
 * Device windows (all in chunk 0) and raw offsets in chunks 0..3: with
 * max_resident=2 (and idle unmapping after 10 ms) chunks are mapped,
 * evicted and unmapped all the time, without the cost of a first touch of
 * all 90 chunks.
 */
static void rw_target(struct worker *w, struct dsmil_mmio_rw *a)
{
	a->width = 1U << rnd_below(&w->rs, 4);
	if (rnd_below(&w->rs, 2)) {
		a->flags = DSMIL_MMIO_F_DEVICE;
		a->device = rnd_dev(w);
		a->offset = rnd_below(&w->rs, DSMIL_WINDOW_SIZE / a->width) * a->width;
	} else {
		a->offset = rnd_below(&w->rs, RAW_CHUNKS * DSMIL_CHUNK_SIZE / 8) * 8;
	}
}

static int c_mmio_read(struct worker *w)
{
	struct dsmil_mmio_rw a = {};

	rw_target(w, &a);
	return ioc(w, DSMIL_IOC_MMIO_READ, &a);
}

/* Writes only into device windows: raw writes elsewhere are refused. */
static int c_mmio_write(struct worker *w)
{
	struct dsmil_mmio_rw a = { .flags = DSMIL_MMIO_F_DEVICE };

	a.width = 1U << rnd_below(&w->rs, 4);
	a.device = rnd_dev(w);
	a.offset = rnd_below(&w->rs, DSMIL_WINDOW_SIZE / a.width) * a.width;
	a.value = splitmix64(&w->rs);
	return ioc(w, DSMIL_IOC_MMIO_WRITE, &a);
}

/* Bulk reads across a chunk boundary: two chunks, max_resident=2. */
static int c_bulk_read(struct worker *w)
{
	uint64_t chunk = 1 + rnd_below(&w->rs, RAW_CHUNKS - 1);
	struct dsmil_mmio_bulk a = {
		.offset = chunk * DSMIL_CHUNK_SIZE - BULK_LEN / 2,
		.length = BULK_LEN,
		.buf = (uintptr_t)w->buf,
	};

	return ioc(w, DSMIL_IOC_MMIO_BULK_READ, &a);
}

static int c_bulk_write(struct worker *w)
{
	struct dsmil_mmio_bulk a = {
		.flags = DSMIL_MMIO_F_DEVICE,
		.device = rnd_dev(w),
		.length = DSMIL_WINDOW_SIZE,
		.buf = (uintptr_t)w->buf,
	};

	return ioc(w, DSMIL_IOC_MMIO_BULK_WRITE, &a);
}

static int c_mmio_status(struct worker *w)
{
	struct dsmil_mmio_status a = {
		.chunk_count = BULK_LEN / sizeof(struct dsmil_chunk_stat),
		.chunk_buf = (uintptr_t)w->buf,
	};

	return ioc(w, DSMIL_IOC_MMIO_STATUS, &a);
}

/*
 * The allowed errnos: ENODEV for a device of group 5 stopped by the other
 * CPU (or one of group 4 between states), EBUSY for every chunk busy or
 * the SMI interface, EAGAIN for the async caps, ETIMEDOUT for a request
 * queued behind the other CPU's, EINVAL for a transition the other CPU
 * made illegal, ENOENT/EINPROGRESS for a result no longer or not yet
 * known, EALREADY for a recovery of an engine that is not FAULTED,
 * EBUSY for a cancel of a request already at the firmware.  SMI_RESCAN is
 * EOPNOTSUPP on the simulator: it runs the dispatcher and the policy.
 */
static const struct op ops[] = {
	{ .name = "INFO", .call = c_info },
	{ .name = "STATS", .call = c_stats },
	{ .name = "WRITE_AUDIT_READ", .call = c_write_audit },
	{ .name = "DEV_INFO", .call = c_dev_info },
	{ .name = "DEV_LIST", .call = c_dev_list },
	{ .name = "DEV_TRANSITION", .call = c_transition, .ok_errno = { EINVAL, EBUSY, ENODEV, EIO, ETIMEDOUT } },
	{ .name = "GROUP_ESTOP", .prep = p_estop, .call = c_estop },
	{ .name = "AUDIT_READ", .call = c_audit },
	{ .name = "TOKEN_READ", .call = c_token_read, .ok_errno = { ENODEV, EBUSY, ETIMEDOUT, EIO } },
	{ .name = "TOKEN_WRITE", .call = c_token_write, .ok_errno = { ENODEV, EBUSY, ETIMEDOUT, EIO } },
	{ .name = "SMI_STATUS", .call = c_smi_status },
	{ .name = "SMI_RECOVER", .call = c_smi_recover, .ok_errno = { EALREADY, EAGAIN } },
	{ .name = "SMI_RESCAN", .call = c_smi_rescan, .ok_errno = { EOPNOTSUPP }, .may_never_succeed = true },
	{ .name = "SMI_RESULT", .call = c_smi_result, .ok_errno = { ENOENT, EINPROGRESS } },
	{ .name = "TOKEN_SUBMIT", .call = c_submit, .ok_errno = { ENODEV, EAGAIN, EBUSY } },
	{ .name = "TOKEN_CANCEL", .prep = p_cancel, .call = c_cancel, .ok_errno = { ENOENT, EALREADY, EINVAL, EBUSY } },
	{ .name = "poll+read", .prep = p_read, .call = c_read, .ok_errno = { EAGAIN } },
	{ .name = "MMIO_READ", .call = c_mmio_read, .ok_errno = { ENODEV, EBUSY } },
	{ .name = "MMIO_WRITE", .call = c_mmio_write, .ok_errno = { ENODEV, EBUSY } },
	{ .name = "MMIO_BULK_READ", .call = c_bulk_read, .ok_errno = { EBUSY } },
	{ .name = "MMIO_BULK_WRITE", .call = c_bulk_write, .ok_errno = { ENODEV, EBUSY } },
	{ .name = "MMIO_STATUS", .call = c_mmio_status },
};
#define NOPS ARRAY_SIZE(ops)

static struct op_stats stats[NOPS];
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

static bool errno_ok(const struct op *op, int e)
{
	unsigned int i;

	if (!e)
		return true;
	for (i = 0; i < ARRAY_SIZE(op->ok_errno) && op->ok_errno[i]; i++)
		if (op->ok_errno[i] == e)
			return true;
	return false;
}

/* ------------------------------------------------------------- workers */

static void *worker_main(void *p)
{
	struct worker *w = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "# cpu %u: sched_setaffinity: %s\n", w->cpu, strerror(errno));
	for (;;) {
		const struct op *op;
		uint64_t calls = 0, ok = 0, wrong = 0;
		int wrong_errno = 0;

		pthread_barrier_wait(&barrier);		/* round starts */
		if (quit)
			return NULL;
		op = w->op;
		/*
		 * For pair_ms, and on until both sides made MIN_CALLS calls
		 * (a slow operation against a fast one), within MAX_STRETCH.
		 */
		while (w->niv < MAX_IV) {
			uint64_t t = now_ns();
			struct iv *iv = &w->iv[w->niv];

			if (t >= w->hard_deadline_ns ||
			    (t >= w->deadline_ns && w->niv >= MIN_CALLS &&
			     w->other->niv >= MIN_CALLS))
				break;
			int e;

			if (op->prep)
				op->prep(w);
			iv->s = now_ns();
			e = op->call(w);
			iv->e = now_ns();
			w->niv++;
			calls++;
			ok += !e;
			if (!errno_ok(op, e)) {
				wrong++;
				wrong_errno = e;
			}
		}
		pthread_mutex_lock(&stats_lock);
		stats[op - ops].calls += calls;
		stats[op - ops].ok += ok;
		stats[op - ops].wrong += wrong;
		if (wrong_errno)
			stats[op - ops].wrong_errno = wrong_errno;
		pthread_mutex_unlock(&stats_lock);
		pthread_barrier_wait(&barrier);		/* round ends */
	}
}

/* Calls of @a whose interval intersects one of @b's; both sorted. */
static uint64_t overlap(const struct iv *a, unsigned int na,
			const struct iv *b, unsigned int nb, uint64_t *ns)
{
	unsigned int i, j = 0, k;
	uint64_t n = 0;

	*ns = 0;
	for (i = 0; i < na; i++) {
		bool hit = false;

		while (j < nb && b[j].e <= a[i].s)
			j++;
		for (k = j; k < nb && b[k].s < a[i].e; k++) {
			uint64_t s = a[i].s > b[k].s ? a[i].s : b[k].s;
			uint64_t e = a[i].e < b[k].e ? a[i].e : b[k].e;

			*ns += e - s;
			hit = true;
		}
		n += hit;
	}
	return n;
}

static int tap_n;
static int tap_failed;

static void tap(bool pass, const char *fmt, ...) DT_PRINTF(2, 3);

static void tap(bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	tap_failed += !pass;
}

/* Groups 0..5's controllers and groups 3..5 ACTIVE (as stop_race does). */
static unsigned int bring_up(int fd)
{
	static const unsigned int first[] = {
		0, 1, 2, 1 * DSMIL_DEVS_PER_GROUP, 2 * DSMIL_DEVS_PER_GROUP,
		3 * DSMIL_DEVS_PER_GROUP, 4 * DSMIL_DEVS_PER_GROUP,
	};
	unsigned int i, id, n = 0, tries;

	for (i = 0; i < ARRAY_SIZE(first); i++)
		for (tries = 0; tries < 3 &&
		     dev_state(fd, first[i]) != DSMIL_DEV_ACTIVE; tries++)
			dev_bring_up(fd, first[i], true);
	for (id = FIRST_DEV; id < FIRST_DEV + NDEV; id++) {
		for (tries = 0; tries < 3 &&
		     dev_state(fd, id) != DSMIL_DEV_ACTIVE; tries++)
			dev_bring_up(fd, id, true);
		n += dev_state(fd, id) == DSMIL_DEV_ACTIVE;
	}
	return n;
}

static int worker_open(struct worker *w)
{
	w->fd = open(DSMIL_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	return w->fd < 0 ? -errno : 0;
}

/* ------------------------------------------------------------- phases */

static void phase_pairs(struct worker *w, const bool *sel, unsigned int pair_ms)
{
	static uint64_t ov[NOPS][NOPS], ov_ns[NOPS][NOPS];
	unsigned int a, b, pairs = 0, fd, nsel = 0;
	uint64_t t0 = now_ns();

	fd = dsmil_open();
	printf("# %u devices of groups 3..5 ACTIVE\n", bring_up(fd));
	close(fd);
	for (a = 0; a < NOPS; a++)
		nsel += sel[a];
	for (a = 0; a < NOPS; a++) {
		for (b = a; b < NOPS; b++) {
			unsigned int try;
			uint64_t ns;

			if (!sel[a] || !sel[b])
				continue;
			kmsg("dsmil-race: pair %s %s", ops[a].name, ops[b].name);
			w[0].op = &ops[a];
			w[1].op = &ops[b];
			ov[a][b] = ov_ns[a][b] = 0;
			/* Again, while they did not overlap (MAX_TRIES). */
			for (try = 0; try < MAX_TRIES && !ov[a][b]; try++) {
				uint64_t t = now_ns();

				w[0].deadline_ns = w[1].deadline_ns =
					t + pair_ms * NSEC_PER_MSEC;
				w[0].hard_deadline_ns = w[1].hard_deadline_ns =
					t + MAX_STRETCH * pair_ms * NSEC_PER_MSEC;
				w[0].niv = w[1].niv = 0;
				pthread_barrier_wait(&barrier);
				pthread_barrier_wait(&barrier);
				ov[a][b] = overlap(w[0].iv, w[0].niv, w[1].iv,
						   w[1].niv, &ns);
				ov_ns[a][b] = ns;
				if (!ov[a][b])
					printf("# pair %s %s did not overlap: %u and %u calls\n",
					       ops[a].name, ops[b].name, w[0].niv, w[1].niv);
			}
			ov[b][a] = ov[a][b];
			ov_ns[b][a] = ns;
			pairs++;
		}
	}
	kmsg("dsmil-race: pairs done");
	printf("# pairs phase: %u pairs of %u operations, %u ms each, %.1f s\n",
	       pairs, nsel, pair_ms,
	       (double)(now_ns() - t0) / NSEC_PER_SEC);

	for (a = 0; a < NOPS; a++) {
		const struct op_stats *s = &stats[a];
		unsigned int least = a, missing = 0;

		if (!sel[a])
			continue;
		for (b = 0; b < NOPS; b++) {
			if (!sel[b])
				continue;
			missing += !ov[a][b];
			if (ov[a][b] < ov[a][least])
				least = b;
		}
		tap(!missing && (s->ok || ops[a].may_never_succeed) && !s->wrong,
		    "%s: %llu calls, %llu returned 0, %llu unexpected errno%s%s; "
		    "overlapped %u of %u operations (fewest: %s, %llu calls, %.2f ms)",
		    ops[a].name, (unsigned long long)s->calls,
		    (unsigned long long)s->ok, (unsigned long long)s->wrong,
		    s->wrong ? " e.g. " : "",
		    s->wrong ? strerror(s->wrong_errno) : "",
		    nsel - missing, nsel, ops[least].name,
		    (unsigned long long)ov[a][least],
		    (double)ov_ns[a][least] / NSEC_PER_MSEC);
	}
}

/*
 * Unload against opens: CPU 0 unloads (O_NONBLOCK, as rmmod: -EAGAIN while
 * a file is open), loads again and leaves the module loaded for a moment;
 * CPU 1 opens /dev/dsmil and asks INFO, or reads the sysfs summary.  The
 * phase lasts @ms, and on (up to 5 x @ms) until there were UNLOAD_CYCLES
 * unloads and the other side succeeded at least once: a load takes
 * seconds on a slow guest.
 */
#define UNLOAD_CYCLES	3
#define UNLOAD_REST_MS	20

struct unload_ctx {
	uint64_t deadline_ns, hard_deadline_ns;
	int mode;		/* 0: open + INFO, 1: summary */
	struct iv *iv[2];
	volatile unsigned int niv[2];
	volatile uint64_t unloads, opens;
	uint64_t loads, load_err, busy;
};

static bool unload_done(struct unload_ctx *u)
{
	uint64_t t = now_ns();

	return t >= u->hard_deadline_ns ||
	       (t >= u->deadline_ns && u->unloads >= UNLOAD_CYCLES && u->opens);
}

static void *unloader_main(void *p)
{
	struct unload_ctx *u = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!unload_done(u) && u->niv[0] + 2 <= MAX_IV) {
		struct iv *iv = &u->iv[0][u->niv[0]];
		int e;

		iv->s = now_ns();
		e = dsmil_unload();
		iv->e = now_ns();
		u->niv[0]++;
		if (e) {
			u->busy += e == -EAGAIN || e == -EBUSY;
			continue;
		}
		u->unloads++;
		iv = &u->iv[0][u->niv[0]];
		iv->s = now_ns();
		e = dsmil_load(LOAD_PARAMS);
		iv->e = now_ns();
		u->niv[0]++;
		if (e)
			u->load_err++;
		else
			u->loads++;
		sleep_ms(UNLOAD_REST_MS);
	}
	return NULL;
}

static void *opener_main(void *p)
{
	struct unload_ctx *u = p;
	cpu_set_t set;
	char buf[4096];

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!unload_done(u) && u->niv[1] < MAX_IV) {
		struct iv *iv = &u->iv[1][u->niv[1]];
		struct dsmil_info info;
		int fd;

		iv->s = now_ns();
		if (u->mode == 0) {
			fd = open(DSMIL_DEV, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				if (!ioctl(fd, DSMIL_IOC_INFO, &info))
					u->opens++;
				close(fd);
			}
		} else if (read_text("/sys/class/misc/dsmil/summary", buf,
				     sizeof(buf)) > 0) {
			u->opens++;
		}
		iv->e = now_ns();
		u->niv[1]++;
	}
	return NULL;
}

static void phase_unload(unsigned int ms)
{
	static const char *const what[] = { "open + INFO", "sysfs summary read" };
	int mode;

	for (mode = 0; mode < 2; mode++) {
		struct unload_ctx u = { .mode = mode };
		pthread_t t0, t1;
		uint64_t n, ns;

		u.iv[0] = calloc(MAX_IV, sizeof(struct iv));
		u.iv[1] = calloc(MAX_IV, sizeof(struct iv));
		if (!u.iv[0] || !u.iv[1])
			exit(2);
		kmsg("dsmil-race: unload against %s", what[mode]);
		u.deadline_ns = now_ns() + ms * NSEC_PER_MSEC;
		u.hard_deadline_ns = now_ns() + 5ULL * ms * NSEC_PER_MSEC;
		pthread_create(&t0, NULL, unloader_main, &u);
		pthread_create(&t1, NULL, opener_main, &u);
		pthread_join(t0, NULL);
		pthread_join(t1, NULL);
		n = overlap(u.iv[0], u.niv[0], u.iv[1], u.niv[1], &ns);
		tap(u.unloads >= UNLOAD_CYCLES && u.loads == u.unloads &&
		    !u.load_err && u.opens && n,
		    "unload against %s: %llu unloads (%llu refused busy), %llu loads "
		    "(%llu failed), %llu %s, %llu unload/load calls overlapped (%.2f ms)",
		    what[mode], (unsigned long long)u.unloads,
		    (unsigned long long)u.busy,
		    (unsigned long long)u.loads, (unsigned long long)u.load_err,
		    (unsigned long long)u.opens,
		    mode ? "reads" : "opens", (unsigned long long)n,
		    (double)ns / NSEC_PER_MSEC);
		free(u.iv[0]);
		free(u.iv[1]);
		if (!dsmil_loaded())
			dsmil_load(LOAD_PARAMS);
	}
	kmsg("dsmil-race: unload done");
}

int main(int argc, char **argv)
{
	unsigned int pair_ms = env_ulong("DSMIL_RACE_PAIR_MS", 150);
	unsigned int unload_ms = env_ulong("DSMIL_RACE_UNLOAD_MS", 3000);
	bool sel[NOPS], unload = true;
	const char *only = NULL;
	struct worker w[2] = {};
	unsigned int i, nsel = 0;
	int ret;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--pair-ms") && i + 1 < (unsigned int)argc)
			pair_ms = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--unload-ms") && i + 1 < (unsigned int)argc)
			unload_ms = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ops") && i + 1 < (unsigned int)argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--no-unload"))
			unload = false;
		else {
			fprintf(stderr, "usage: %s [--pair-ms N] [--unload-ms N] [--ops A,B] [--no-unload]\n",
				argv[0]);
			return 2;
		}
	}
	for (i = 0; i < NOPS; i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), ",%s,", ops[i].name);
		if (only) {
			char list[512];

			snprintf(list, sizeof(list), ",%s,", only);
			sel[i] = strstr(list, pat);
		} else {
			sel[i] = true;
		}
		nsel += sel[i];
	}

	printf("TAP version 13\n");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("1..0 # SKIP needs two CPUs\n");
		return 4;
	}
	printf("1..%u\n", 1 + nsel + (unload ? 2 : 0));
	ret = dsmil_reload(LOAD_PARAMS);
	tap(!ret, "dsmil.ko loaded with %s (%s)", LOAD_PARAMS, ret ? strerror(-ret) : "ok");
	if (ret)
		return 1;
	kmsg("dsmil-race: begin");

	if (pthread_barrier_init(&barrier, NULL, 3))
		return 2;
	for (i = 0; i < 2; i++) {
		w[i].cpu = i;
		w[i].other = &w[!i];
		w[i].rs = 0x7ace0000ULL + i;
		w[i].iv = calloc(MAX_IV, sizeof(struct iv));
		w[i].buf = calloc(1, BULK_LEN);
		if (!w[i].iv || !w[i].buf || worker_open(&w[i]) ||
		    pthread_create(&w[i].tid, NULL, worker_main, &w[i]))
			return 2;
		memset(w[i].buf, 0x5a, BULK_LEN);
	}
	phase_pairs(w, sel, pair_ms);
	quit = true;
	pthread_barrier_wait(&barrier);
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].tid, NULL);
		close(w[i].fd);
	}
	if (unload)
		phase_unload(unload_ms);
	kmsg("dsmil-race: end");
	printf("# %d of %d checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}
