// SPDX-License-Identifier: GPL-2.0
/*
 * Emergency stops while writes run (see dsmil_test.h, "stops while writes
 * run"): the mode the stress suite and the fuzzer share.
 *
 * Groups 3, 4 and 5 (36 devices, none quarantined) are brought ACTIVE, with
 * the controllers they depend on.  Writer threads then write to them without
 * pause: token writes, and MMIO writes into their 4 KiB windows (device-
 * scoped and raw, single and bulk, some bulk writes spanning several
 * windows or two groups); a reader thread keeps the mapper's chunks busy so
 * that writes wait for a slot (with max_resident=1, as the callers load the
 * module) and queue in the SMI engine (the simulator's latency_us), which
 * is where a write checked once could wait through a stop.  The main thread
 * stops group 3, 4 or 5 at a random moment, reads the simulators' own
 * per-device write counters as soon as the stop has returned, lets the
 * writers go on for a while, parks them (every call they had made has
 * returned), reads the counters again: a LOCKED device's counters must not
 * have moved.  The stopped devices are brought back and the next round
 * begins.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "dsmil_test.h"

#define SR_GROUP0	3		/* first target group */
#define SR_NGROUPS	3		/* groups 3, 4, 5 */
#define SR_FIRST	(SR_GROUP0 * DSMIL_DEVS_PER_GROUP)
#define SR_NDEV		(SR_NGROUPS * DSMIL_DEVS_PER_GROUP)
#define SR_MAX_WRITERS	16
#define SR_BUF		(64 * 1024)
#define SR_HOG_LEN	(1024 * 1024)
#define SR_LATENCY_US	"1000"

/* ------------------------------------------------------------ ledger */

int write_ledger_read(struct write_ledger *l)
{
	char line[160];
	FILE *f;
	int seen = 0;

	memset(l, 0, sizeof(*l));
	f = fopen(DSMIL_SIM_DIR "/tokens", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long r, w;
		unsigned int tok, v;

		if (!sim_token_parse(line, &tok, &v, &r, &w) ||
		    tok < DSMIL_TOKEN_BASE ||
		    tok >= DSMIL_TOKEN_BASE + DSMIL_NUM_DEVICES)
			continue;
		l->token[tok - DSMIL_TOKEN_BASE] = w;
		seen++;
	}
	fclose(f);
	if (!seen)
		return -ENODATA;

	seen = 0;
	f = fopen(DSMIL_MMIO_SIM_DIR "/windows", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long w, b;
		unsigned int id;
		char name[16];

		if (sscanf(line, "%u %15s writes=%llu bytes=%llu", &id, name,
			   &w, &b) != 4 || id >= DSMIL_NUM_DEVICES)
			continue;
		l->window[id] = w;
		seen++;
	}
	fclose(f);
	return seen == DSMIL_NUM_DEVICES ? 0 : -ENODATA;
}

/* ------------------------------------------------------------ writers */

enum sr_phase { SR_RUN, SR_PARK, SR_QUIT };

struct sr_ctx;

struct sr_writer {
	struct sr_ctx *c;
	pthread_t tid;
	unsigned int idx;
	uint64_t rs;
	int fd;
	uint8_t *buf;		/* SR_BUF bytes, then a PROT_NONE page */
	uint64_t calls, ok, refused, busy, wrong;
	char why[160];
};

struct sr_ctx {
	const struct stop_race_cfg *cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum sr_phase phase;	/* under @lock */
	unsigned int parked;	/* writers waiting in SR_PARK, under @lock */
	volatile bool hog_stop;
	struct sr_writer w[SR_MAX_WRITERS];
};

static bool sr_has_token(unsigned int id)
{
	return id % DSMIL_DEVS_PER_GROUP % 3 == 0;
}

static uint64_t sr_window(unsigned int id)
{
	return id / DSMIL_DEVS_PER_GROUP * DSMIL_GROUP_STRIDE +
	       id % DSMIL_DEVS_PER_GROUP * DSMIL_WINDOW_SIZE;
}

/* Is @e an answer the contract allows for a write to a target device? */
static bool sr_errno_ok(int e, bool hostile)
{
	switch (e) {
	case 0:
	case ENODEV:		/* stopped (LOCKED) or not ACTIVE (yet) */
	case EBUSY:		/* every chunk busy, or the SMI interface */
	case E2BIG:		/* a bulk write over more chunks than the cap */
	case ETIMEDOUT:
	case EIO:
	case ESHUTDOWN:
	case EINTR:
		return true;
	case EINVAL:
	case EFAULT:
	case ERANGE:
	case EPERM:		/* a quarantined device */
		return hostile;
	}
	return false;
}

/* One write; returns 0 or the errno. */
static int sr_write(struct sr_writer *w)
{
	bool hostile = w->c->cfg->hostile && rnd_below(&w->rs, 4) == 0;
	unsigned int id = SR_FIRST + rnd_below(&w->rs, SR_NDEV);
	unsigned int op = rnd_below(&w->rs, 6);
	struct dsmil_token_req t = {};
	struct dsmil_mmio_rw rw = {};
	struct dsmil_mmio_bulk bk = {};
	uint64_t off;

	if (op == 0 && sr_has_token(id)) {
		t.group = id / DSMIL_DEVS_PER_GROUP;
		t.position = id % DSMIL_DEVS_PER_GROUP;
		t.value = splitmix64(&w->rs);
		if (hostile) {
			switch (rnd_below(&w->rs, 3)) {
			case 0:
				t.group = DSMIL_NUM_GROUPS;	/* EINVAL */
				break;
			case 1:
				t.group = 0;			/* quarantined */
				t.position = DSMIL_TOKEN_SENSOR;
				break;
			default:
				t.reserved = 1;		/* EINVAL */
			}
		}
		return ioctl(w->fd, DSMIL_IOC_TOKEN_WRITE, &t) ? errno : 0;
	}
	if (op <= 2) {
		/* Single write: device-scoped (op 1) or raw into the window. */
		rw.width = 1U << rnd_below(&w->rs, 4);
		off = rnd_below(&w->rs, DSMIL_WINDOW_SIZE / rw.width) * rw.width;
		rw.value = splitmix64(&w->rs);
		if (op == 1) {
			rw.flags = DSMIL_MMIO_F_DEVICE;
			rw.device = id;
			rw.offset = off;
		} else {
			rw.offset = sr_window(id) + off;
		}
		if (hostile) {
			switch (rnd_below(&w->rs, 4)) {
			case 0:
				rw.width = 3;			/* EINVAL */
				break;
			case 1:
				rw.offset |= 1;			/* misaligned */
				rw.width = 8;
				break;
			case 2:
				rw.flags = DSMIL_MMIO_F_DEVICE;	/* quarantined */
				rw.device = 9;
				rw.offset = 0;
				break;
			default:
				rw.flags = DSMIL_MMIO_F_DEVICE;	/* ERANGE */
				rw.device = id;
				rw.offset = DSMIL_WINDOW_SIZE;
			}
		}
		return ioctl(w->fd, DSMIL_IOC_MMIO_WRITE, &rw) ? errno : 0;
	}
	/* Bulk writes. */
	switch (op) {
	case 3:		/* device-scoped, inside the window */
		off = rnd_below(&w->rs, DSMIL_WINDOW_SIZE);
		bk.flags = DSMIL_MMIO_F_DEVICE;
		bk.device = id;
		bk.offset = off;
		bk.length = 1 + rnd_below(&w->rs, DSMIL_WINDOW_SIZE - off);
		break;
	case 4:		/* raw, from this window over up to three */
		bk.offset = sr_window(id) + rnd_below(&w->rs, DSMIL_WINDOW_SIZE);
		bk.length = 1 + rnd_below(&w->rs, 3 * DSMIL_WINDOW_SIZE);
		break;
	default:	/* raw, from a group's last windows into the next one's */
		bk.offset = (id / DSMIL_DEVS_PER_GROUP) * DSMIL_GROUP_STRIDE +
			    9 * DSMIL_WINDOW_SIZE +
			    rnd_below(&w->rs, DSMIL_WINDOW_SIZE);
		bk.length = DSMIL_GROUP_STRIDE - 8 * DSMIL_WINDOW_SIZE +
			    rnd_below(&w->rs, 2 * DSMIL_WINDOW_SIZE);
		break;
	}
	bk.buf = (uintptr_t)w->buf;
	if (hostile) {
		switch (rnd_below(&w->rs, 3)) {
		case 0:	/* runs into the PROT_NONE page: EFAULT, nothing written */
			bk.buf = (uintptr_t)(w->buf + SR_BUF - bk.length / 2);
			break;
		case 1:
			bk.length = 0;				/* EINVAL */
			break;
		default:
			bk.reserved[1] = 1;			/* EINVAL */
		}
	}
	return ioctl(w->fd, DSMIL_IOC_MMIO_BULK_WRITE, &bk) ? errno : 0;
}

/* Wait while parked; false when told to quit. */
static bool sr_wait_run(struct sr_ctx *c)
{
	bool run;

	pthread_mutex_lock(&c->lock);
	while (c->phase == SR_PARK) {
		c->parked++;
		pthread_cond_broadcast(&c->cond);
		pthread_cond_wait(&c->cond, &c->lock);
		c->parked--;
	}
	run = c->phase == SR_RUN;
	pthread_mutex_unlock(&c->lock);
	return run;
}

static void *sr_writer_main(void *p)
{
	struct sr_writer *w = p;
	struct sr_ctx *c = w->c;

	while (sr_wait_run(c)) {
		int e = sr_write(w);

		w->calls++;
		w->ok += !e;
		w->refused += e == ENODEV;
		w->busy += e == EBUSY;
		if (!sr_errno_ok(e, c->cfg->hostile) && !w->wrong++)
			snprintf(w->why, sizeof(w->why),
				 "writer %u: a write got %s", w->idx,
				 strerror(e));
	}
	return NULL;
}

/*
 * Takes the mapper's only slot now and then with 1 MiB reads of other
 * chunks: writes to the windows (chunk 0) wait for it, and find chunk 0
 * unmapped.  Pauses between reads, or the writers would only time out.
 */
static void *sr_hog_main(void *p)
{
	struct sr_ctx *c = p;
	uint64_t rs = c->cfg->seed ^ 0x686f67ULL;
	unsigned int nchunks = DSMIL_DEFAULT_REGION_SIZE / DSMIL_CHUNK_SIZE;
	void *buf = malloc(SR_HOG_LEN);
	int fd = dsmil_open();

	while (buf && fd >= 0 && !c->hog_stop) {
		__u64 off = (1 + rnd_below(&rs, nchunks - 1)) * DSMIL_CHUNK_SIZE;

		mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf, SR_HOG_LEN,
			  0, 0, NULL);
		usleep(1000 + rnd_below(&rs, 5000));
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static void sr_set_phase(struct sr_ctx *c, enum sr_phase ph)
{
	pthread_mutex_lock(&c->lock);
	c->phase = ph;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Park every writer: when this returns, each call they made has returned. */
static void sr_park(struct sr_ctx *c, unsigned int n)
{
	pthread_mutex_lock(&c->lock);
	c->phase = SR_PARK;
	while (c->parked < n)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------- devices */

/*
 * Everything the targets need, then the targets, ACTIVE; a device that
 * cannot be brought up (a verification the sim failed) is retried, then
 * left as it is (writes to it are refused, which the writers accept).
 * Returns the number of target devices ACTIVE.
 */
static unsigned int sr_bring_up(int fd)
{
	static const unsigned int first[] = {
		0, 1, 2,				/* group 0's core */
		1 * DSMIL_DEVS_PER_GROUP,		/* controllers */
		2 * DSMIL_DEVS_PER_GROUP,
		3 * DSMIL_DEVS_PER_GROUP,
		4 * DSMIL_DEVS_PER_GROUP,
	};
	unsigned int i, id, n = 0, tries;

	for (i = 0; i < ARRAY_SIZE(first); i++)
		for (tries = 0; tries < 3 &&
		     dev_state(fd, first[i]) != DSMIL_DEV_ACTIVE; tries++)
			dev_bring_up(fd, first[i], true);
	for (id = SR_FIRST; id < SR_FIRST + SR_NDEV; id++) {
		for (tries = 0; tries < 3 &&
		     dev_state(fd, id) != DSMIL_DEV_ACTIVE; tries++)
			dev_bring_up(fd, id, true);
		n += dev_state(fd, id) == DSMIL_DEV_ACTIVE;
	}
	return n;
}

/* ----------------------------------------------------------------- run */

static void sr_note(struct stop_race_result *res, const char *fmt, ...)
	DT_PRINTF(2, 3);

static void sr_note(struct stop_race_result *res, const char *fmt, ...)
{
	va_list ap;

	if (res->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

/* One round: stop a group while the writers run, compare the ledgers. */
static int sr_round(struct sr_ctx *c, int fd, uint64_t *rs, unsigned int nw,
		    struct stop_race_result *res)
{
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	struct dsmil_group_stop gs = {
		.group = SR_GROUP0 + rnd_below(rs, SR_NGROUPS),
	};
	struct write_ledger a, b;
	unsigned int id, nlocked = 0;
	int ret;

	sr_set_phase(c, SR_RUN);
	/* Let writes queue and wait, then stop in the middle of them. */
	usleep(10000 + rnd_below(rs, 90000));
	if (ioctl(fd, DSMIL_IOC_GROUP_ESTOP, &gs)) {
		ret = -errno;
		sr_park(c, nw);
		return ret;
	}
	ret = write_ledger_read(&a);
	res->stops++;
	res->locked += gs.locked;
	res->in_doubt += gs.in_doubt;
	if (gs.in_doubt)
		sr_note(res, "round %llu: the stop of group %u reported %u write(s) in doubt",
			(unsigned long long)res->rounds, gs.group, gs.in_doubt);
	/* Writes the stop should have fenced would land now. */
	usleep(20000 + rnd_below(rs, 40000));
	sr_park(c, nw);
	if (ret || (ret = write_ledger_read(&b)))
		return ret;
	ret = dev_list(fd, devs, DSMIL_NUM_DEVICES);
	if (ret < 0)
		return ret;

	for (id = 0; id < DSMIL_NUM_DEVICES; id++) {
		uint64_t n;

		if (devs[id].state != DSMIL_DEV_LOCKED)
			continue;
		nlocked++;
		if (gs.in_doubt)
			continue;	/* the stop said it could not promise */
		n = (b.token[id] - a.token[id]) + (b.window[id] - a.window[id]);
		if (!n)
			continue;
		res->after_stop += n;
		res->after_stop_tokens += b.token[id] - a.token[id];
		sr_note(res, "round %llu: %s (LOCKED by the stop of group %u) saw %llu token and %llu window write(s) after the stop returned",
			(unsigned long long)res->rounds, devs[id].name,
			gs.group,
			(unsigned long long)(b.token[id] - a.token[id]),
			(unsigned long long)(b.window[id] - a.window[id]));
	}
	if (nlocked != gs.locked) {
		res->wrong++;
		sr_note(res, "round %llu: the stop of group %u said it locked %u devices, %u are LOCKED",
			(unsigned long long)res->rounds, gs.group, gs.locked,
			nlocked);
	}
	return 0;
}

int stop_race_run(const struct stop_race_cfg *cfg, struct stop_race_result *res)
{
	unsigned int nw = cfg->writers ? cfg->writers : 4, i;
	struct write_ledger l0, l1;
	struct dsmil_stats s0, s1;
	struct sr_ctx *c;
	pthread_t hog;
	uint64_t rs = cfg->seed ^ 0x73746f70ULL, end;
	int fd, ret;

	memset(res, 0, sizeof(*res));
	if (nw > SR_MAX_WRITERS)
		return -EINVAL;
	if ((dsmil_features() & (DSMIL_FEAT_DEVICES | DSMIL_FEAT_SMI |
				 DSMIL_FEAT_MMIO | DSMIL_FEAT_WRITES)) !=
	    (DSMIL_FEAT_DEVICES | DSMIL_FEAT_SMI | DSMIL_FEAT_MMIO |
	     DSMIL_FEAT_WRITES))
		return -EOPNOTSUPP;
	ret = write_ledger_read(&l0);
	if (ret)
		return ret;
	fd = dsmil_open();
	if (fd < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->cfg = cfg;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->phase = SR_PARK;
	for (i = 0; i < SR_MAX_WRITERS; i++)
		c->w[i].fd = -1;

	/* SMIs that take a while: writes queue behind each other. */
	sim_knob_write("latency_us", SR_LATENCY_US);
	sr_bring_up(fd);
	dsmil_stats(fd, &s0);

	for (i = 0; i < nw; i++) {
		struct sr_writer *w = &c->w[i];

		w->c = c;
		w->idx = i;
		w->rs = cfg->seed ^ (0x5752ULL + i) * 0x9e3779b97f4a7c15ULL;
		w->fd = dsmil_open();
		w->buf = mmap(NULL, SR_BUF + 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->fd < 0 || w->buf == MAP_FAILED ||
		    mprotect(w->buf + SR_BUF, 4096, PROT_NONE)) {
			ret = -ENOMEM;
			nw = i;
			goto out;
		}
		memset(w->buf, 0xa5 ^ i, SR_BUF);
		if (pthread_create(&w->tid, NULL, sr_writer_main, w)) {
			ret = -EAGAIN;
			nw = i;
			goto out;
		}
	}
	if (pthread_create(&hog, NULL, sr_hog_main, c)) {
		ret = -EAGAIN;
		goto out;
	}

	end = now_ns() + (uint64_t)(cfg->secs ? cfg->secs : 3) * NSEC_PER_SEC;
	while (res->rounds < 3 || now_ns() < end) {
		sr_park(c, nw);
		sr_bring_up(fd);
		ret = sr_round(c, fd, &rs, nw, res);
		res->rounds++;
		if (ret) {
			sr_note(res, "round %llu: %s", (unsigned long long)res->rounds,
				strerror(-ret));
			break;
		}
	}
	c->hog_stop = true;
	pthread_join(hog, NULL);
out:
	sr_set_phase(c, SR_QUIT);
	for (i = 0; i < nw; i++) {
		struct sr_writer *w = &c->w[i];

		pthread_join(w->tid, NULL);
		res->calls += w->calls;
		res->ok += w->ok;
		res->refused += w->refused;
		res->busy += w->busy;
		res->wrong += w->wrong;
		if (w->wrong)
			sr_note(res, "%s", w->why);
	}
	for (i = 0; i < SR_MAX_WRITERS; i++) {
		if (c->w[i].fd >= 0)
			close(c->w[i].fd);
		if (c->w[i].buf && c->w[i].buf != MAP_FAILED)
			munmap(c->w[i].buf, SR_BUF + 4096);
	}
	sim_knob_write("latency_us", "0");
	if (!dsmil_stats(fd, &s1)) {
		res->handoffs = s1.handoffs - s0.handoffs;
		res->handoff_refused = s1.handoff_refused - s0.handoff_refused;
	}
	if (!write_ledger_read(&l1))
		for (i = 0; i < DSMIL_NUM_DEVICES; i++)
			res->landed += (l1.token[i] - l0.token[i]) +
				       (l1.window[i] - l0.window[i]);
	close(fd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return ret;
}
