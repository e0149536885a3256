// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress: 8 threads for DSMIL_STRESS_SECS seconds (default 5;
 * `make fuzz` runs 30) mixing device transitions and emergency stops, token
 * reads and writes, MMIO reads and writes (single and bulk, across chunk
 * boundaries, with a resident cap of 4 so chunks are evicted all the time),
 * status and audit reads, open/close, rmmod attempts, and the sims' fault
 * knobs turned on and off.  Lockdep, KASAN and the hung-task detector of the
 * debug kernel watch; the kernel log is checked by tools/dsmil-vm.
 *
 * At the end the books must balance, exactly:
 *  - SMI: requests = successes + errors + timeouts + hangs + faulted_rejects
 *    + refused; the latency histogram holds requests - refused; and the
 *    requests are exactly the token calls made plus the verifications the
 *    INITIALIZING -> READY transitions ran;
 *  - MMIO: maps - unmaps = resident <= cap; bytes read and written are
 *    exactly what the callers were told they moved; every value written to a
 *    thread's own slots reads back after any number of evictions;
 *  - STATS.ioctls is exactly the number of ioctls made; STATS.transitions
 *    is the sum of the per-device counts and the accepted entries of the
 *    audit trail, whose refused ioctl entries are exactly the refusals the
 *    callers saw;
 *  - no ACTIVE device has a dependency down, no quarantined device is
 *    ACTIVE, every rmmod attempt was refused, no token call exceeded its
 *    bound by more than the slack TCG needs.
 *
 * Then the stop mode (DSMIL_STOP_SECS, default 3; `make fuzz` runs 20):
 * groups are emergency-stopped while token and MMIO writes to their
 * devices run on other threads (lib/stop_race.c), and the simulators' own
 * per-device write counters must not move for a LOCKED device once its
 * stop has returned (with nothing in doubt).
 *
 * Needs root.  Leaves dsmil.ko loaded with default parameters.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define NTHREADS	8
#define CAP		4
#define NCHUNKS		(DSMIL_DEFAULT_REGION_SIZE / DSMIL_CHUNK_SIZE)
#define BULK_LEN	(64 * 1024)
#define TOKEN_BOUND_NS	2000000000ULL	/* 50 ms timeout + TCG slack */

struct tally {
	uint64_t ioctls;		/* every ioctl on a dsmil file */
	uint64_t token_calls;		/* token ioctls (each one request) */
	uint64_t verify_runs;		/* transitions that ran a verification */
	uint64_t tr_ok, tr_refused;	/* transition ioctls */
	uint64_t bytes_read, bytes_written;
	uint64_t rmmod_tries, rmmod_refused;
	uint64_t token_max_ns;
	uint64_t wrong;			/* answers that broke the contract */
	uint64_t ops;
	char why[160];
};

struct ctx {
	volatile bool stop;
	unsigned int features;
	uint64_t seed;
	struct tally t[NTHREADS];
	/* audit trail, accumulated by the observer */
	uint64_t audit_next, audit_ok, audit_refused_ioctl, audit_dropped;
	uint64_t knob_flips;
};

struct arg {
	struct ctx *c;
	unsigned int idx;
};

static void wrong(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->wrong++) {
		va_start(ap, fmt);
		vsnprintf(t->why, sizeof(t->why), fmt, ap);
		va_end(ap);
	}
}

static int xioctl(struct tally *t, int fd, unsigned long cmd, void *arg)
{
	t->ioctls++;
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static bool has_token(unsigned int id)
{
	return (id % DSMIL_DEVS_PER_GROUP) % 3 == 0;
}

/* Thread 0: device transitions (legal walks) and emergency stops. */
static void transitions(struct ctx *c, struct tally *t, int fd, uint64_t *rs)
{
	static const int ok_errs[] = {
		EINVAL, EBUSY, ENOLINK, EPERM, EIO, ETIMEDOUT, ESHUTDOWN,
		EAGAIN, EINTR, 0,
	};
	struct dsmil_transition tr = {};
	struct dsmil_group_stop gs = {};
	unsigned int id, i;
	int st, e;

	if (rnd_below(rs, 300) == 0) {
		/* Group 5 has no dependents: stop it, the rest goes on. */
		gs.group = 5;
		if (xioctl(t, fd, DSMIL_IOC_GROUP_ESTOP, &gs))
			wrong(t, "GROUP_ESTOP 5: %s", strerror(errno));
		return;
	}
	id = rnd_below(rs, 4) ? rnd_below(rs, 3 * DSMIL_DEVS_PER_GROUP) :
	     rnd_below(rs, DSMIL_NUM_DEVICES);
	if (rnd_below(rs, 2))
		id = id / DSMIL_DEVS_PER_GROUP * DSMIL_DEVS_PER_GROUP +
		     rnd_below(rs, 3);	/* controllers and group 0's core */
	t->ioctls++;
	st = dev_state(fd, id);
	if (st < 0) {
		wrong(t, "DEV_INFO %u: %s", id, strerror(-st));
		return;
	}
	tr.id = id;
	switch (st) {
	case DSMIL_DEV_OFFLINE:
		tr.target = DSMIL_DEV_INITIALIZING;
		break;
	case DSMIL_DEV_INITIALIZING:
		tr.target = rnd_below(rs, 8) ? DSMIL_DEV_READY : DSMIL_DEV_ERROR;
		break;
	case DSMIL_DEV_READY:
		tr.target = rnd_below(rs, 6) ? DSMIL_DEV_ACTIVE : DSMIL_DEV_ERROR;
		break;
	case DSMIL_DEV_ACTIVE:
		tr.target = rnd_below(rs, 3) ? DSMIL_DEV_READY : DSMIL_DEV_ERROR;
		break;
	case DSMIL_DEV_ERROR:
		tr.target = rnd_below(rs, 2) ? DSMIL_DEV_OFFLINE :
			    DSMIL_DEV_INITIALIZING;
		break;
	default:
		tr.target = DSMIL_DEV_ERROR;
	}
	if (rnd_below(rs, 100) == 0)
		tr.target = rnd_below(rs, DSMIL_DEV_NUM_STATES);
	e = xioctl(t, fd, DSMIL_IOC_DEV_TRANSITION, &tr);
	for (i = 0; ok_errs[i] && ok_errs[i] != e; i++)
		;
	if (e && !ok_errs[i])
		wrong(t, "DEV_TRANSITION %u -> %u: %s", id, tr.target,
		      strerror(e));
	if (e)
		t->tr_refused++;
	else
		t->tr_ok++;
	/*
	 * INITIALIZING -> READY of a device with a token runs exactly one
	 * SMI request, whatever comes of it.  @prev (copied back on refusal
	 * too) is the state the request found.
	 */
	if (tr.target == DSMIL_DEV_READY && has_token(id) &&
	    tr.prev == DSMIL_DEV_INITIALIZING && e != EINVAL)
		t->verify_runs++;
	if (!e && tr.state != tr.target)
		wrong(t, "DEV_TRANSITION %u accepted but state %u != %u", id,
		      tr.state, tr.target);
	/* Leave the observer time to drain the audit ring (256 entries). */
	usleep(300);
}

/*
 * The write audit's token reads since load (the value before and the
 * read-back of each audited write): each is one SMI request too.
 */
static int audit_reads(int fd, uint64_t *reads)
{
	struct dsmil_write_record r;
	struct dsmil_write_audit_read ar = {
		.buf = (uintptr_t)&r, .count = 1, .since_seq = ~0ULL,
	};
	int ret = dsmil_ioc(fd, DSMIL_IOC_WRITE_AUDIT_READ, &ar);

	*reads = ar.reads;
	return ret;
}

/* Threads 1, 2: token reads and writes, recover when FAULTED. */
static void tokens(struct ctx *c, struct tally *t, int fd, uint64_t *rs)
{
	/* dsmil_ioctl.h, TOKEN_READ/WRITE (EPERM: quarantined writes). */
	static const int ok_errs[] = {
		EINVAL, ENODEV, ETIMEDOUT, EIO, ENXIO, EOPNOTSUPP, EBUSY,
		ESHUTDOWN, ENOMEM, EPERM, EINPROGRESS, 0,
	};
	struct dsmil_token_req r = {
		.group = rnd_below(rs, 50) ? rnd_below(rs, DSMIL_NUM_GROUPS) : 6,
		.position = 3 * rnd_below(rs, 4),
		.value = splitmix64(rs),
	};
	bool wr = rnd_below(rs, 4) == 0;
	uint64_t t0 = now_ns(), dt;
	unsigned int i;
	int e;

	e = xioctl(t, fd, wr ? DSMIL_IOC_TOKEN_WRITE : DSMIL_IOC_TOKEN_READ, &r);
	dt = now_ns() - t0;
	t->token_calls++;
	if (dt > t->token_max_ns)
		t->token_max_ns = dt;
	for (i = 0; ok_errs[i] && ok_errs[i] != e; i++)
		;
	if (e && !ok_errs[i])
		wrong(t, "TOKEN_%s %u/%u: %s", wr ? "WRITE" : "READ", r.group,
		      r.position, strerror(e));
	if (!e && r.token != token_of(r.group, r.position))
		wrong(t, "token %#x for %u/%u", r.token, r.group, r.position);
	/* Outcome unknown at the deadline: said so, with the id to ask by. */
	if (e == EINPROGRESS &&
	    (!(r.flags & DSMIL_TOKEN_F_IN_DOUBT) || !r.request_id))
		wrong(t, "TOKEN_%s EINPROGRESS without IN_DOUBT and an id",
		      wr ? "WRITE" : "READ");
	if (e == ESHUTDOWN && rnd_below(rs, 2)) {
		e = ioctl(fd, DSMIL_IOC_SMI_RECOVER, 0) ? errno : 0;
		t->ioctls++;
		if (e && e != EAGAIN && e != EBUSY && e != EIO)
			wrong(t, "SMI_RECOVER: %s", strerror(e));
	}
}

/* Threads 3, 4: MMIO.  Each owns one 8-byte slot per chunk and the bulk
 * windows of every other chunk boundary, and checks they hold what it
 * wrote, whatever was evicted meanwhile.
 */
struct mmio_state {
	uint64_t slot[NCHUNKS];
	bool written[NCHUNKS];
	uint8_t pat[BULK_LEN], back[BULK_LEN];
};

static void mmio(struct ctx *c, struct tally *t, int fd, uint64_t *rs,
		 unsigned int k, struct mmio_state *m)
{
	static const int ok_errs[] = { EBUSY, ENOMEM, EIO, 0 };
	unsigned int ch = rnd_below(rs, NCHUNKS), i;
	struct dsmil_mmio_rw rw = {
		/* Outside the device windows (raw writes there are gated). */
		.offset = ch * DSMIL_CHUNK_SIZE + 0x100000 + 8 * k,
		.width = 8,
	};
	struct dsmil_mmio_bulk bk = {};
	int e;

	switch (rnd_below(rs, 4)) {
	case 0:		/* write my slot */
		rw.value = splitmix64(rs);
		e = xioctl(t, fd, DSMIL_IOC_MMIO_WRITE, &rw);
		if (!e) {
			m->slot[ch] = rw.value;
			m->written[ch] = true;
			t->bytes_written += 8;
		}
		break;
	case 1:		/* read it back */
		e = xioctl(t, fd, DSMIL_IOC_MMIO_READ, &rw);
		if (!e) {
			t->bytes_read += 8;
			if (m->written[ch] && rw.value != m->slot[ch])
				wrong(t, "chunk %u slot: read %#llx, wrote %#llx",
				      ch, (unsigned long long)rw.value,
				      (unsigned long long)m->slot[ch]);
		}
		break;
	default:	/* bulk write + read across a chunk boundary */
		ch = (rnd_below(rs, (NCHUNKS - 1) / 2) * 2 + k % 2) + 1;
		bk.offset = ch * DSMIL_CHUNK_SIZE - BULK_LEN / 2;
		bk.length = BULK_LEN;
		for (i = 0; i < BULK_LEN; i += 8) {
			uint64_t v = splitmix64(rs);

			memcpy(m->pat + i, &v, 8);
		}
		bk.buf = (uintptr_t)m->pat;
		e = xioctl(t, fd, DSMIL_IOC_MMIO_BULK_WRITE, &bk);
		t->bytes_written += bk.done;
		if (e)
			break;
		if (bk.done != BULK_LEN)
			wrong(t, "bulk write done %llu", (unsigned long long)bk.done);
		bk.buf = (uintptr_t)m->back;
		bk.done = 0;
		e = xioctl(t, fd, DSMIL_IOC_MMIO_BULK_READ, &bk);
		t->bytes_read += bk.done;
		if (!e && memcmp(m->pat, m->back, BULK_LEN))
			wrong(t, "bulk read at %#llx differs from what was written",
			      (unsigned long long)bk.offset);
		break;
	}
	for (i = 0; ok_errs[i] && ok_errs[i] != e; i++)
		;
	if (e && !ok_errs[i])
		wrong(t, "MMIO: %s", strerror(e));
}

/* Thread 5: status readers, monotonic counters, the audit trail. */
static void observe(struct ctx *c, struct tally *t, int fd)
{
	static struct dsmil_audit_entry ents[DSMIL_AUDIT_DEPTH];
	static struct dsmil_stats last_st;
	static struct dsmil_smi_status last_smi;
	static struct dsmil_mmio_status last_mm;
	struct dsmil_audit_read ar = {
		.buf = (uintptr_t)ents, .count = DSMIL_AUDIT_DEPTH,
		.since_seq = c->audit_next,
	};
	struct dsmil_stats st;
	struct dsmil_smi_status s;
	struct dsmil_mmio_status m;
	struct dsmil_info info;
	static unsigned int round;
	unsigned int i;

	/* The audit trail every time, so the ring never laps us. */
	if (round++ % 8)
		goto audit;
	t->ioctls += 2;
	if (dsmil_stats(fd, &st) || dsmil_info(fd, &info) ||
	    dsmil_info_check(&info, CAP))
		wrong(t, "STATS/INFO");
	if (st.ioctls < last_st.ioctls || st.transitions < last_st.transitions)
		wrong(t, "STATS went backwards");
	last_st = st;
	if (c->features & DSMIL_FEAT_SMI) {
		t->ioctls++;
		if (smi_status(fd, &s) || s.requests < last_smi.requests ||
		    s.successes < last_smi.successes)
			wrong(t, "SMI_STATUS failed or went backwards");
		last_smi = s;
	}
	if (c->features & DSMIL_FEAT_MMIO) {
		t->ioctls++;
		if (mmio_status(fd, &m) || m.maps < last_mm.maps ||
		    m.resident > CAP)
			wrong(t, "MMIO_STATUS failed, went backwards or over the cap");
		last_mm = m;
	}
audit:
	if (c->features & DSMIL_FEAT_DEVICES) {
		t->ioctls++;
		if (ioctl(fd, DSMIL_IOC_AUDIT_READ, &ar)) {
			wrong(t, "AUDIT_READ: %s", strerror(errno));
			return;
		}
		c->audit_dropped += ar.dropped;
		for (i = 0; i < ar.count; i++) {
			if (ents[i].seq < c->audit_next)
				wrong(t, "audit seq %llu went back",
				      (unsigned long long)ents[i].seq);
			if (!ents[i].error)
				c->audit_ok++;
			else if (ents[i].source == DSMIL_SRC_IOCTL)
				c->audit_refused_ioctl++;
		}
		if (ar.count)
			c->audit_next = ents[ar.count - 1].seq + 1;
	}
	usleep(1000);
}

/* Thread 6: open, ask, close. */
static void churn(struct tally *t)
{
	int fd = dsmil_open();

	if (fd < 0) {
		wrong(t, "open: %s", strerror(errno));
		return;
	}
	t->ioctls++;
	{
		struct dsmil_info info;

		if (dsmil_info(fd, &info) || dsmil_info_check(&info, CAP))
			wrong(t, "INFO on a fresh file");
	}
	close(fd);
}

/* Thread 7: rmmod attempts (all refused: files are open) and fault knobs. */
static void chaos(struct ctx *c, struct tally *t, uint64_t *rs)
{
	static const char *const knobs[][2] = {
		{ DSMIL_SIM_DIR "/flaky_every", "3" },
		{ DSMIL_SIM_DIR "/latency_us", "300" },
		{ DSMIL_SIM_DIR "/slow_ms", "2" },
		{ DSMIL_SIM_DIR "/fault", "error" },
		{ DSMIL_SIM_DIR "/fault", "hang" },
		{ DSMIL_SIM_DIR "/busy_submits", "5" },
		{ DSMIL_MMIO_DIR "/fail_next_maps", "1" },
	};
	static const char *const rest[] = { "0", "0", "0", "none", "none",
					    "0", "0" };
	unsigned int k = rnd_below(rs, ARRAY_SIZE(knobs));
	int ret;

	ret = dsmil_unload();
	t->rmmod_tries++;
	if (ret == -EAGAIN)
		t->rmmod_refused++;
	else
		wrong(t, "rmmod with files open: %s", ret ? strerror(-ret) :
		      "it unloaded");
	if (access(knobs[k][0], W_OK) == 0 && !write_text(knobs[k][0], knobs[k][1])) {
		c->knob_flips++;
		usleep(20000 + rnd_below(rs, 30000));
		write_text(knobs[k][0], rest[k]);
	}
	usleep(20000 + rnd_below(rs, 60000));
}

static void *thread_main(void *p)
{
	struct arg *a = p;
	struct ctx *c = a->c;
	struct tally *t = &c->t[a->idx];
	uint64_t rs = c->seed ^ (a->idx * 0x9e3779b97f4a7c15ULL);
	struct mmio_state *m = NULL;
	int fd = dsmil_open();

	if (fd < 0) {
		wrong(t, "open: %s", strerror(errno));
		return NULL;
	}
	if (a->idx == 3 || a->idx == 4)
		m = calloc(1, sizeof(*m));
	while (!c->stop) {
		switch (a->idx) {
		case 0:
			if (c->features & DSMIL_FEAT_DEVICES)
				transitions(c, t, fd, &rs);
			else
				usleep(1000);
			break;
		case 1:
		case 2:
			if (c->features & DSMIL_FEAT_SMI)
				tokens(c, t, fd, &rs);
			else
				usleep(1000);
			break;
		case 3:
		case 4:
			if ((c->features & DSMIL_FEAT_MMIO) && m)
				mmio(c, t, fd, &rs, a->idx, m);
			else
				usleep(1000);
			break;
		case 5:
			observe(c, t, fd);
			break;
		case 6:
			churn(t);
			break;
		default:
			chaos(c, t, &rs);
			break;
		}
		t->ops++;
	}
	free(m);
	close(fd);
	return NULL;
}

/* No ACTIVE device may have a dependency that is not up. */
static const char *dependency_violation(const struct dsmil_dev_info *d)
{
	static char why[96];
	unsigned int i, g, j;

	for (i = 0; i < DSMIL_NUM_DEVICES; i++) {
		if (d[i].state != DSMIL_DEV_ACTIVE)
			continue;
		if (d[i].flags & DSMIL_DEVF_QUARANTINED)
			return "a quarantined device is ACTIVE";
		for (g = 0; g < DSMIL_NUM_GROUPS; g++)
			if ((d[i].dep_groups & (1U << g)) &&
			    d[g * DSMIL_DEVS_PER_GROUP].state != DSMIL_DEV_ACTIVE) {
				snprintf(why, sizeof(why),
					 "%s ACTIVE with group %u down", d[i].name, g);
				return why;
			}
		for (j = 0; j < DSMIL_DEVS_PER_GROUP; j++)
			if ((d[i].dep_devices & (1U << j)) &&
			    d[d[i].group * DSMIL_DEVS_PER_GROUP + j].state !=
			    DSMIL_DEV_ACTIVE) {
				snprintf(why, sizeof(why),
					 "%s ACTIVE with device %u of its group down",
					 d[i].name, j);
				return why;
			}
	}
	return NULL;
}

static const char *const names[NTHREADS] = {
	"transitions", "tokens", "tokens", "mmio", "mmio", "observer",
	"open/close", "rmmod+faults",
};

FIXTURE(stress)
{
	int fd;
};

FIXTURE_SETUP(stress)
{
	int ret = dsmil_reload("allow_writes=1 max_resident=4 mmio_idle_ms=20");

	ASSERT_EQ(0, ret) TH_LOG("load: %s", strerror(-ret));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(stress)
{
	close(self->fd);
	/* No request left stuck at the sim to pin the module, then defaults. */
	if (access(DSMIL_SIM_DIR "/reset", W_OK) == 0)
		sim_knob_write("reset", "1");
	dsmil_reload(NULL);
}

TEST_F_TIMEOUT(stress, eight_threads, 900)
{
	unsigned int secs = env_ulong("DSMIL_STRESS_SECS", 5), i;
	struct dsmil_smi_status s0 = {}, s1 = {};
	uint64_t wreads0 = 0, wreads1 = 0;
	struct dsmil_mmio_status m0 = {}, m1 = {};
	struct dsmil_stats st0, st1;
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	struct dsmil_dev_list dl = {
		.buf = (uintptr_t)devs, .count = DSMIL_NUM_DEVICES,
	};
	struct ctx *c = calloc(1, sizeof(*c));
	pthread_t tid[NTHREADS];
	struct arg args[NTHREADS];
	struct dsmil_info info;
	struct tally sum = {};
	uint64_t dev_tr = 0, t0, token_max = 0, end;
	uint64_t main_ioctls = 0;
	const char *why;

	ASSERT_NE(NULL, c);
	c->seed = suite_seed(NULL);
	ASSERT_EQ(0, dsmil_info(self->fd, &info));
	c->features = info.features;
	ksft_print_msg("seed=0x%016llx threads=%d seconds=%u cap=%d parts:%s%s%s\n",
		       (unsigned long long)c->seed, NTHREADS, secs, CAP,
		       info.features & DSMIL_FEAT_DEVICES ? " devices" : "",
		       info.features & DSMIL_FEAT_SMI ? " smi" : "",
		       info.features & DSMIL_FEAT_MMIO ? " mmio" : "");

	/* Group 0's controller up, so that dependents can come up too. */
	if (c->features & DSMIL_FEAT_DEVICES)
		ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	if (c->features & DSMIL_FEAT_DEVICES) {
		struct dsmil_audit_read ar = { .buf = (uintptr_t)devs,
					       .count = 1 };

		/* Only the trail from here on counts. */
		ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
		c->audit_next = ar.next_seq;
	}
	/* STATS counts itself: calls after this one are compared. */
	ASSERT_EQ(0, dsmil_stats(self->fd, &st0));
	if (c->features & DSMIL_FEAT_SMI) {
		ASSERT_EQ(0, smi_status(self->fd, &s0));
		main_ioctls++;
		ASSERT_EQ(0, audit_reads(self->fd, &wreads0));
		main_ioctls++;
	}
	if (c->features & DSMIL_FEAT_MMIO) {
		ASSERT_EQ(0, mmio_status(self->fd, &m0));
		main_ioctls++;
	}

	t0 = now_ns();
	for (i = 0; i < NTHREADS; i++) {
		args[i] = (struct arg){ .c = c, .idx = i };
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, thread_main, &args[i]));
	}
	end = t0 + secs * 1000000000ULL;
	while (now_ns() < end)
		usleep(100000);
	c->stop = true;
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	ksft_print_msg("ran %.1f s\n", (now_ns() - t0) / 1e9);

	if (access(DSMIL_SIM_DIR "/reset", W_OK) == 0)
		sim_knob_write("reset", "1");
	mmio_knob_write("fail_next_maps", "0");

	for (i = 0; i < NTHREADS; i++) {
		struct tally *t = &c->t[i];

		ksft_print_msg("thread %u (%s): %llu ops, %llu ioctls, %llu wrong%s%s\n",
			       i, names[i], (unsigned long long)t->ops,
			       (unsigned long long)t->ioctls,
			       (unsigned long long)t->wrong,
			       t->wrong ? ": " : "", t->why);
		EXPECT_EQ(0ULL, t->wrong) TH_LOG("thread %u: %s", i, t->why);
		sum.ioctls += t->ioctls;
		sum.token_calls += t->token_calls;
		sum.verify_runs += t->verify_runs;
		sum.tr_ok += t->tr_ok;
		sum.tr_refused += t->tr_refused;
		sum.bytes_read += t->bytes_read;
		sum.bytes_written += t->bytes_written;
		sum.rmmod_tries += t->rmmod_tries;
		sum.rmmod_refused += t->rmmod_refused;
		if (t->token_max_ns > token_max)
			token_max = t->token_max_ns;
	}
	ksft_print_msg("rmmod: %llu attempts, %llu refused; fault knob flips: %llu\n",
		       (unsigned long long)sum.rmmod_tries,
		       (unsigned long long)sum.rmmod_refused,
		       (unsigned long long)c->knob_flips);
	EXPECT_LT(0ULL, sum.rmmod_tries);
	EXPECT_EQ(sum.rmmod_tries, sum.rmmod_refused);

	/* SMI books. */
	if (c->features & DSMIL_FEAT_SMI) {
		end = now_ns() + 5000000000ULL;
		do {
			ASSERT_EQ(0, smi_status(self->fd, &s1));
			main_ioctls++;
		} while (s1.in_flight && now_ns() < end && !usleep(20000));
		EXPECT_EQ(0U, s1.in_flight);
		why = smi_identity(&s1);
		EXPECT_EQ(NULL, why) TH_LOG("%s", why);
		EXPECT_EQ(s1.requests - s1.refused, smi_hist_total(&s1));
		ksft_print_msg("SMI: %llu requests = %llu successes + %llu errors + %llu timeouts + %llu hangs + %llu faulted_rejects + %llu refused; %llu token calls + %llu verifications; slowest token call %.1f ms\n",
			       (unsigned long long)(s1.requests - s0.requests),
			       (unsigned long long)(s1.successes - s0.successes),
			       (unsigned long long)(s1.errors - s0.errors),
			       (unsigned long long)(s1.timeouts - s0.timeouts),
			       (unsigned long long)(s1.hangs - s0.hangs),
			       (unsigned long long)(s1.faulted_rejects - s0.faulted_rejects),
			       (unsigned long long)(s1.refused - s0.refused),
			       (unsigned long long)sum.token_calls,
			       (unsigned long long)sum.verify_runs,
			       token_max / 1e6);
		ASSERT_EQ(0, audit_reads(self->fd, &wreads1));
		main_ioctls++;
		ksft_print_msg("SMI: %llu of the requests are the write audit's reads (before and back)\n",
			       (unsigned long long)(wreads1 - wreads0));
		EXPECT_EQ(sum.token_calls + sum.verify_runs + wreads1 - wreads0,
			  s1.requests - s0.requests)
			TH_LOG("every token call and verification is one request, every audited write's read another");
		EXPECT_GT(TOKEN_BOUND_NS, token_max);
	}

	/* MMIO books. */
	if (c->features & DSMIL_FEAT_MMIO) {
		ASSERT_EQ(0, mmio_status(self->fd, &m1));
		main_ioctls++;
		why = mmio_identity(&m1);
		EXPECT_EQ(NULL, why) TH_LOG("%s", why);
		EXPECT_EQ((unsigned int)CAP, m1.max_resident);
		ksft_print_msg("MMIO: maps=%llu unmaps=%llu evictions=%llu map_failures=%llu all_busy=%llu resident=%u; read %llu B, wrote %llu B\n",
			       (unsigned long long)(m1.maps - m0.maps),
			       (unsigned long long)(m1.unmaps - m0.unmaps),
			       (unsigned long long)(m1.evictions - m0.evictions),
			       (unsigned long long)(m1.map_failures - m0.map_failures),
			       (unsigned long long)(m1.all_busy - m0.all_busy),
			       m1.resident,
			       (unsigned long long)sum.bytes_read,
			       (unsigned long long)sum.bytes_written);
		EXPECT_EQ(sum.bytes_read, m1.bytes_read - m0.bytes_read);
		EXPECT_EQ(sum.bytes_written, m1.bytes_written - m0.bytes_written);
		EXPECT_LT(0ULL, m1.evictions - m0.evictions)
			TH_LOG("the cap never made anything evict");
	}

	/* Devices, transitions, audit. */
	if (c->features & DSMIL_FEAT_DEVICES) {
		ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_DEV_LIST, &dl));
		main_ioctls++;
		ASSERT_EQ((unsigned int)DSMIL_NUM_DEVICES, dl.count);
		why = dependency_violation(devs);
		EXPECT_EQ(NULL, why) TH_LOG("%s", why);
		for (i = 0; i < DSMIL_NUM_DEVICES; i++)
			dev_tr += devs[i].transitions;
		/* Drain the trail (observe() counts its own ioctls). */
		observe(c, &sum, self->fd);
	}
	ASSERT_EQ(0, dsmil_stats(self->fd, &st1));
	main_ioctls++;
	if (c->features & DSMIL_FEAT_DEVICES) {
		ksft_print_msg("transitions: %llu accepted / %llu refused by ioctl; STATS +%llu; audit: %llu accepted, %llu refused ioctls, %llu dropped\n",
			       (unsigned long long)sum.tr_ok,
			       (unsigned long long)sum.tr_refused,
			       (unsigned long long)(st1.transitions - st0.transitions),
			       (unsigned long long)c->audit_ok,
			       (unsigned long long)c->audit_refused_ioctl,
			       (unsigned long long)c->audit_dropped);
		EXPECT_EQ(st1.transitions, dev_tr);
		EXPECT_LE(sum.tr_ok, st1.transitions - st0.transitions);
		if (!c->audit_dropped) {
			EXPECT_EQ(st1.transitions - st0.transitions, c->audit_ok);
			EXPECT_EQ(sum.tr_refused, c->audit_refused_ioctl);
		}
	}
	ksft_print_msg("ioctls: %llu made, STATS counted %llu\n",
		       (unsigned long long)(sum.ioctls + main_ioctls),
		       (unsigned long long)(st1.ioctls - st0.ioctls));
	EXPECT_EQ(sum.ioctls + main_ioctls, st1.ioctls - st0.ioctls);
	free(c);
}

/* ------------------------------------------------------------ stop mode */

FIXTURE(stop)
{
	int unused;
};

FIXTURE_SETUP(stop)
{
	/*
	 * One chunk resident: MMIO writes wait for the slot a reader holds.
	 * A long SMI timeout: token writes queue behind slow SMIs instead of
	 * timing out (the stop's drain, 2 s, covers it).
	 */
	int ret = dsmil_reload("allow_writes=1 max_resident=1 smi_timeout_ms=1000 smi_hang_ms=500");

	ASSERT_EQ(0, ret) TH_LOG("load: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(stop)
{
	if (access(DSMIL_SIM_DIR "/reset", W_OK) == 0)
		sim_knob_write("reset", "1");
	dsmil_reload(NULL);
}

TEST_F_TIMEOUT(stop, writes_never_land_after_a_stop, 600)
{
	struct stop_race_cfg cfg = {
		.seed = suite_seed(NULL),
		.secs = env_ulong("DSMIL_STOP_SECS", 3),
		.writers = 4,
	};
	struct stop_race_result res;
	uint64_t t0 = now_ns();
	int ret;

	ksft_print_msg("stop mode: seed=0x%016llx writers=%u seconds=%u\n",
		       (unsigned long long)cfg.seed, cfg.writers, cfg.secs);
	ret = stop_race_run(&cfg, &res);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "needs the device model, SMI and MMIO parts");
	ASSERT_EQ(0, ret) TH_LOG("%s (%s)", strerror(-ret), res.why);
	ksft_print_msg("stop mode: %llu rounds in %.1f s: %llu stops locking %llu devices; %llu write calls (%llu returned 0, %llu -ENODEV, %llu -EBUSY), %llu writes landed; refused at the hand-off %llu of %llu; in doubt %llu; writes after stop = %llu (%llu token, %llu MMIO window)\n",
		       (unsigned long long)res.rounds, (now_ns() - t0) / 1e9,
		       (unsigned long long)res.stops,
		       (unsigned long long)res.locked,
		       (unsigned long long)res.calls,
		       (unsigned long long)res.ok,
		       (unsigned long long)res.refused,
		       (unsigned long long)res.busy,
		       (unsigned long long)res.landed,
		       (unsigned long long)res.handoff_refused,
		       (unsigned long long)res.handoffs,
		       (unsigned long long)res.in_doubt,
		       (unsigned long long)res.after_stop,
		       (unsigned long long)res.after_stop_tokens,
		       (unsigned long long)(res.after_stop - res.after_stop_tokens));
	EXPECT_EQ(0ULL, res.after_stop) TH_LOG("%s", res.why);
	EXPECT_EQ(0ULL, res.in_doubt) TH_LOG("%s", res.why);
	EXPECT_EQ(0ULL, res.wrong) TH_LOG("%s", res.why);
	/* Without writes that landed, nothing was proven. */
	EXPECT_LT(0ULL, res.landed) TH_LOG("no write reached the sims");
	EXPECT_LT(0ULL, res.stops);
}

TEST_HARNESS_MAIN
