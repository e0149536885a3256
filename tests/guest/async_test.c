// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the asynchronous token requests of /dev/dsmil:
 * DSMIL_IOC_TOKEN_SUBMIT and _CANCEL, completion records read() from the
 * same file, poll() and epoll readiness, the per-file limit, close with
 * requests outstanding and the unload after it, the write policy at submit,
 * and an emergency stop while writes wait queued.
 *
 * What reached the "hardware" is judged by the SMI simulator's own counters
 * (sim/tokens, sim/stats), what the engine did by DSMIL_IOC_SMI_STATUS: the
 * counters must move by exactly what the test did.  Each test starts from a
 * freshly loaded module (with its own parameters where it needs them); the
 * runner's kmemleak scan after the run judges the close-with-outstanding
 * paths.  The limit of all files together (DSMIL_ASYNC_GLOBAL_MAX) is
 * reached with the requests held behind one the simulator keeps busy.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define REC_SZ		sizeof(struct dsmil_token_completion)
#define N_CLIENTS	4
#define N_REQUESTS	1000
/* Every token of the model: 6 groups x positions 0, 3, 6, 9. */
#define N_TOKENS	(DSMIL_NUM_GROUPS * 4)

static int submit(int fd, unsigned int op, unsigned int g, unsigned int pos,
		  unsigned int value, __u64 *id)
{
	struct dsmil_token_submit s = {
		.group = g, .position = pos, .op = op, .value = value,
	};
	int ret = dsmil_ioc(fd, DSMIL_IOC_TOKEN_SUBMIT, &s);

	if (id)
		*id = ret ? 0 : s.id;
	return ret;
}

static int cancel(int fd, __u64 id)
{
	struct dsmil_token_cancel c = { .id = id };

	return dsmil_ioc(fd, DSMIL_IOC_TOKEN_CANCEL, &c);
}

/* read(2) of completion records: how many, or -errno. */
static int read_recs(int fd, struct dsmil_token_completion *r, unsigned int n)
{
	ssize_t got = read(fd, r, n * REC_SZ);

	if (got < 0)
		return -errno;
	if (got % REC_SZ)
		return -EPROTO;
	return got / REC_SZ;
}

/* Wait up to @ms for a record, then read them: how many, or -errno. */
static int wait_recs(int fd, struct dsmil_token_completion *r, unsigned int n,
		     unsigned int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, ms);

	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	return read_recs(fd, r, n);
}

/* Every token's device READY: reads pass the state check. */
static int all_tokens_ready(int fd)
{
	unsigned int g, p;
	int ret;

	for (g = 0; g < DSMIL_NUM_GROUPS; g++)
		for (p = 0; p < DSMIL_DEVS_PER_GROUP; p += 3) {
			ret = dev_bring_up(fd, g * DSMIL_DEVS_PER_GROUP + p,
					   false);
			if (ret)
				return ret;
		}
	return 0;
}

static uint64_t sim_reads_all(void)
{
	uint64_t n = 0;
	unsigned int g, p;

	for (g = 0; g < DSMIL_NUM_GROUPS; g++)
		for (p = 0; p < DSMIL_DEVS_PER_GROUP; p += 3)
			n += sim_reads(token_of(g, p));
	return n;
}

FIXTURE(async) {
	int fd;
};

static void async_load(struct __test_metadata *_metadata,
		       struct _test_data_async *self, const char *params)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, dsmil_reload(params)) TH_LOG("insmod dsmil.ko %s", params);
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
	if (!(dsmil_features() & DSMIL_FEAT_ASYNC))
		SKIP(return, "the driver has no asynchronous token requests");
}

FIXTURE_SETUP(async)
{
	self->fd = -1;
	if (!dsmil_can_reload())
		SKIP(return, "lockdown and an unsigned module: cannot reload it");
	if (locked_down())
		SKIP(return, "lockdown: the simulator's knobs are not writable");
	async_load(_metadata, self, NULL);
}

FIXTURE_TEARDOWN(async)
{
	struct dsmil_smi_status st;

	if (self->fd >= 0 && !smi_wait_idle(self->fd, &st, 5000)) {
		EXPECT_EQ(NULL, smi_identity(&st));
		EXPECT_EQ(smi_hist_total(&st), st.requests - st.refused);
	}
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* A read comes back as one record: its id, token, value, and the engine's. */
TEST_F(async, read_completes)
{
	struct dsmil_token_completion r[2];
	struct dsmil_smi_status st0, st;
	unsigned long long reads0;
	__u64 id;

	ASSERT_EQ(0, dev_bring_up(self->fd, 3, false));
	/* After the bring-up: its verification read the token too. */
	reads0 = sim_reads(token_of(0, 3));
	ASSERT_EQ(0, smi_status(self->fd, &st0));
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 3, 0, &id));
	EXPECT_NE(0, id);
	ASSERT_EQ(1, wait_recs(self->fd, r, 2, 5000));
	EXPECT_EQ(id, r[0].id);
	EXPECT_EQ(0, r[0].error);
	EXPECT_EQ(token_of(0, 3), r[0].token);
	EXPECT_EQ(DSMIL_TOKEN_OP_READ, r[0].op);
	EXPECT_EQ(DSMIL_TOKEN_C_FINAL, r[0].flags);
	EXPECT_EQ(0xd5000000U | token_of(0, 3), r[0].value);
	EXPECT_NE(0, r[0].smi_id);
	EXPECT_NE(id, r[0].smi_id);
	EXPECT_LT(0, r[0].duration_ns);
	EXPECT_EQ(reads0 + 1, sim_reads(token_of(0, 3)));
	ASSERT_EQ(0, smi_wait_idle(self->fd, &st, 3000));
	EXPECT_EQ(st0.requests + 1, st.requests);
	EXPECT_EQ(st0.successes + 1, st.successes);
	/* Ended: nothing more to cancel under its id. */
	EXPECT_EQ(-ENOENT, cancel(self->fd, id));
	EXPECT_EQ(-ENOENT, cancel(self->fd, 0));
}

/* What a synchronous read refuses on arrival, a submit refuses the same. */
TEST_F(async, refused_on_arrival)
{
	struct dsmil_token_submit s = { .op = DSMIL_TOKEN_OP_READ };
	struct dsmil_smi_status st0, st;
	uint64_t reads0 = sim_reads_all();
	__u64 id;
	int kfd;

	ASSERT_EQ(0, smi_status(self->fd, &st0));
	/* OFFLINE device, bad position, bad op, read flags, reserved. */
	EXPECT_EQ(-ENODEV, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(-EINVAL, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, submit(self->fd, DSMIL_TOKEN_OP_READ, 6, 0, 0, NULL));
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);
	EXPECT_EQ(-EINVAL, submit(self->fd, 2, 0, 0, 0, NULL));
	EXPECT_TRUE(kmsg_find(kfd, "refused-input: cmd=token-submit",
			      "why=bad-op errno=-22", NULL));
	/*
	 * A read's value is input nobody reads: refused, not ignored, and
	 * before the state check (the device is OFFLINE: -ENODEV otherwise).
	 */
	EXPECT_EQ(-EINVAL, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 7, &id));
	EXPECT_EQ(0, id);
	EXPECT_TRUE(kmsg_find(kfd, "refused-input: cmd=token-submit",
			      "why=read-value errno=-22", NULL));
	close(kfd);
	s.flags = DSMIL_TOKEN_F_ACTIVATE;
	EXPECT_EQ(-EINVAL, dsmil_ioc(self->fd, DSMIL_IOC_TOKEN_SUBMIT, &s));
	s.flags = 0;
	s.reserved = 1;
	EXPECT_EQ(-EINVAL, dsmil_ioc(self->fd, DSMIL_IOC_TOKEN_SUBMIT, &s));
	EXPECT_EQ(reads0, sim_reads_all());
	ASSERT_EQ(0, smi_status(self->fd, &st));
	/* The token and state refusals count as the synchronous ones do. */
	EXPECT_EQ(st0.refused + 4, st.refused);
	EXPECT_EQ(st0.requests + 4, st.requests);
}

/* read() takes whole records only; O_NONBLOCK says -EAGAIN; poll/epoll. */
TEST_F(async, read_poll_nonblock)
{
	struct dsmil_token_completion r[4];
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pollfd p;
	char small[REC_SZ - 1];
	int fd, ep;
	__u64 id;

	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	fd = open(DSMIL_DEV, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, read_recs(fd, r, 1));
	EXPECT_EQ(-1, read(fd, small, sizeof(small)));
	EXPECT_EQ(EINVAL, errno);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&p, 1, 0));

	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	ASSERT_EQ(0, submit(fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 5000));
	EXPECT_TRUE(out.events & EPOLLIN);
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_TRUE(p.revents & POLLIN);
	/* A buffer for one and a half records gets one. */
	EXPECT_EQ((ssize_t)REC_SZ, read(fd, r, REC_SZ + REC_SZ / 2));
	EXPECT_EQ(id, r[0].id);
	EXPECT_EQ(0, poll(&p, 1, 0));
	EXPECT_EQ(-EAGAIN, read_recs(fd, r, 1));
	close(ep);
	close(fd);
}

/* A blocking read() waits for the record. */
TEST_F(async, blocking_read_waits)
{
	struct dsmil_token_completion r;
	struct pollfd p;
	__u64 id, t0;

	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	ASSERT_EQ(0, sim_knob_write("slow_ms", "300"));
	t0 = now_ns();
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	/* The submit did not wait: the call is still running, no record. */
	p = (struct pollfd){ .fd = self->fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(1, read_recs(self->fd, &r, 1));
	EXPECT_GE(now_ns() - t0, 300 * NSEC_PER_MSEC);
	EXPECT_EQ(id, r.id);
	EXPECT_EQ(0, r.error);
}

static void noop_signal(int sig)
{
	(void)sig;
}

/*
 * A blocking read() with nothing outstanding waits, as a pipe's does, and a
 * signal ends the wait: without SA_RESTART the read returns -EINTR, and the
 * file still works.  (The fuzzer relies on it: a read of a number another
 * thread reopened as a blocking file is ended by its timer.)
 */
TEST_F(async, blocking_read_interrupted)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL,
		.sigev_signo = SIGUSR1,
	};
	/* Repeating: a read that starts late is still ended. */
	struct itimerspec its = {
		.it_value.tv_nsec = 300 * NSEC_PER_MSEC,
		.it_interval.tv_nsec = 300 * NSEC_PER_MSEC,
	};
	struct dsmil_token_completion r;
	timer_t timer;
	__u64 id, t0;

	ASSERT_EQ(0, sigaction(SIGUSR1,
			       &(struct sigaction){ .sa_handler = noop_signal },
			       NULL));
	ASSERT_EQ(0, timer_create(CLOCK_MONOTONIC, &sev, &timer));
	t0 = now_ns();
	ASSERT_EQ(0, timer_settime(timer, 0, &its, NULL));
	EXPECT_EQ(-1, read(self->fd, &r, sizeof(r)));
	EXPECT_EQ(EINTR, errno);
	EXPECT_GE(now_ns() - t0, 300 * NSEC_PER_MSEC);
	timer_delete(timer);

	/* Nothing lost or stuck: the next request's record is read. */
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	ASSERT_EQ(1, read_recs(self->fd, &r, 1));
	EXPECT_EQ(id, r.id);
	EXPECT_EQ(0, r.error);
}

/* DSMIL_ASYNC_MAX outstanding per file, unread records included. */
TEST_F(async, limit_eagain)
{
	struct dsmil_token_completion r[DSMIL_ASYNC_MAX];
	unsigned int i, got = 0;
	int fd2, n;
	__u64 id;

	/* Room for the whole queue: an abort at its deadline would ERROR it. */
	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	for (i = 0; i < DSMIL_ASYNC_MAX; i++)
		ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	EXPECT_EQ(-EAGAIN, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	/* Per file: another one is not limited by this one. */
	fd2 = dsmil_open();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, submit(fd2, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	close(fd2);
	/* Reading one record frees one slot. */
	while (got < 1) {
		n = wait_recs(self->fd, r, 1, 5000);
		ASSERT_LT(0, n);
		got += n;
	}
	EXPECT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	EXPECT_EQ(-EAGAIN, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	while (got < DSMIL_ASYNC_MAX + 1) {
		n = wait_recs(self->fd, r, DSMIL_ASYNC_MAX, 5000);
		ASSERT_LT(0, n);
		got += n;
	}
}

/*
 * The limit of all files together: DSMIL_ASYNC_GLOBAL_MAX requests not
 * ended (held behind one the simulator keeps at the firmware), and another
 * file, with nothing of its own outstanding, is told -EAGAIN; nothing of
 * it reaches the engine, and everything held ends (answered, or, bounded
 * from its submit like any request, a queue timeout).
 */
TEST_F(async, global_limit_eagain)
{
	const unsigned int nfd = DSMIL_ASYNC_GLOBAL_MAX / DSMIL_ASYNC_MAX;
	struct dsmil_token_completion r[DSMIL_ASYNC_MAX];
	struct dsmil_smi_status st0, st;
	unsigned int i, j, got, bad = 0, ok = 0, extra = 0;
	int fds[DSMIL_ASYNC_GLOBAL_MAX / DSMIL_ASYNC_MAX];
	bool held;
	int n, ret;
	__u64 id;

	/* The longest bound: the held request answers within it. */
	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	ASSERT_EQ(0, smi_wait_idle(self->fd, &st0, 3000));
	ASSERT_EQ(0, sim_knob_write("slow_ms", "700"));
	for (i = 0; i < nfd; i++) {
		fds[i] = dsmil_open();
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, submit(fds[0], DSMIL_TOKEN_OP_READ, 0, 0, 0, NULL));
	for (i = 0; i < 100 && sim_stat("active") != 1; i++)
		sleep_ms(5);
	ASSERT_EQ(1, sim_stat("active"));
	ASSERT_EQ(0, sim_knob_write("slow_ms", "0"));
	for (i = 0; i < nfd; i++)
		for (j = !i; j < DSMIL_ASYNC_MAX; j++)
			ASSERT_EQ(0, submit(fds[i], DSMIL_TOKEN_OP_READ, 0, 0,
					    0, NULL));
	/*
	 * The held one still at the firmware proves that nothing has ended
	 * (each queued read is younger than it).  A host too slow to make
	 * 511 submits within the 700 ms hold cannot show the limit: the
	 * earliest reads may have timed out and freed their places.
	 */
	held = sim_stat("active") == 1;
	/* This file has nothing outstanding: the limit is the global one. */
	ret = submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id);
	if (held && sim_stat("active") == 1) {
		EXPECT_EQ(-EAGAIN, ret);
	} else {
		held = false;
		EXPECT_TRUE(ret == 0 || ret == -EAGAIN) TH_LOG("submit: %d", ret);
	}
	if (!ret)
		extra = 1;	/* the host was too slow: it went in */

	for (i = 0; i < nfd; i++) {
		for (got = 0; got < DSMIL_ASYNC_MAX; got += n) {
			n = wait_recs(fds[i], r, DSMIL_ASYNC_MAX, 5000);
			ASSERT_LT(0, n);
			for (j = 0; j < (unsigned int)n; j++) {
				ok += !r[j].error;
				bad += (r[j].error && r[j].error != ETIMEDOUT) ||
				       !(r[j].flags & DSMIL_TOKEN_C_FINAL);
			}
		}
		EXPECT_EQ(DSMIL_ASYNC_MAX, got);
	}
	if (extra) {
		ASSERT_EQ(1, wait_recs(self->fd, r, 1, 5000));
		ok += !r[0].error;
		bad += r[0].error && r[0].error != ETIMEDOUT;
	}
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, ok);	/* at least the held one */
	/* All ended: room again, for any file. */
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &id));
	ASSERT_EQ(1, wait_recs(self->fd, r, 1, 5000));
	EXPECT_EQ(id, r[0].id);
	EXPECT_EQ(0, r[0].error);
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	ASSERT_EQ(0, smi_wait_idle(self->fd, &st, 5000));
	/* The refused submit was no request: the held ones and the last. */
	EXPECT_EQ(st0.requests + DSMIL_ASYNC_GLOBAL_MAX + extra + 1,
		  st.requests);
	EXPECT_EQ(st0.successes + ok + 1, st.successes);
	EXPECT_EQ(st0.queue_timeouts + DSMIL_ASYNC_GLOBAL_MAX + extra - ok,
		  st.queue_timeouts);
	EXPECT_EQ(st0.refused, st.refused);
	/* Only a test that passed the rest may say it could not show this. */
	if (!held && _metadata->exit_code == KSFT_PASS)
		SKIP(return, "the host took longer than the 700 ms hold to make 511 submits: the limit was not shown (the accounting was)");
}

/*
 * Cancel: a queued read ends at once, unsent (its token's read counter
 * does not move), one at the firmware says -EBUSY and reports normally.
 */
TEST_F(async, cancel_queued_and_busy)
{
	struct dsmil_token_completion r[2];
	struct dsmil_smi_status st0, st;
	unsigned long long q0;
	__u64 a, b;
	int i, n;

	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	ASSERT_EQ(0, dev_bring_up(self->fd, 3, false));
	ASSERT_EQ(0, sim_knob_write("slow_ms", "300"));
	ASSERT_EQ(0, smi_status(self->fd, &st0));
	q0 = sim_reads(token_of(0, 3));
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0, &a));
	/* A reaches the firmware and stays there; B queues behind it. */
	for (i = 0; i < 100 && sim_stat("active") != 1; i++)
		sleep_ms(5);
	ASSERT_EQ(1, sim_stat("active"));
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 3, 0, &b));
	EXPECT_EQ(-EBUSY, cancel(self->fd, a));
	EXPECT_EQ(0, cancel(self->fd, b));
	EXPECT_EQ(-ENOENT, cancel(self->fd, b));

	ASSERT_EQ(1, wait_recs(self->fd, r, 1, 1000));	/* B, at once */
	EXPECT_EQ(b, r[0].id);
	EXPECT_EQ(token_of(0, 3), r[0].token);
	EXPECT_EQ(ECANCELED, r[0].error);
	EXPECT_EQ(DSMIL_TOKEN_C_CANCELLED | DSMIL_TOKEN_C_FINAL |
		  DSMIL_TOKEN_C_UNSENT, r[0].flags);
	n = wait_recs(self->fd, r, 2, 5000);
	ASSERT_EQ(1, n);
	EXPECT_EQ(a, r[0].id);
	EXPECT_EQ(0, r[0].error);
	EXPECT_EQ(q0, sim_reads(token_of(0, 3)));
	ASSERT_EQ(0, smi_wait_idle(self->fd, &st, 3000));
	EXPECT_EQ(st0.requests + 2, st.requests);
	EXPECT_EQ(st0.cancelled + 1, st.cancelled);
	EXPECT_EQ(st0.successes + 1, st.successes);
}

/*
 * Close with requests outstanding (one at the firmware, the rest queued),
 * then unload: nobody blocks, the module goes, nothing leaks (kmemleak).
 */
TEST_F(async, close_outstanding_then_unload)
{
	unsigned int i;
	int i2;

	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	ASSERT_EQ(0, sim_knob_write("slow_ms", "600"));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_READ, 0, 0, 0,
				    NULL));
	for (i2 = 0; i2 < 100 && sim_stat("active") != 1; i2++)
		sleep_ms(5);
	ASSERT_EQ(1, sim_stat("active"));
	close(self->fd);
	self->fd = -1;
	/* close did not wait for the request at the firmware: still there. */
	EXPECT_EQ(1, sim_stat("active"));
	EXPECT_EQ(0, dsmil_unload_wait(5000));
	EXPECT_FALSE(dsmil_loaded());
	ASSERT_EQ(0, dsmil_load(NULL));
}

/* A write needs what TOKEN_WRITE needs, checked at the submit. */
TEST_F(async, write_refused_at_submit)
{
	struct dsmil_smi_status st0, st;
	struct dsmil_stats s0, s;
	unsigned long long w0;

	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "0"));
	ASSERT_EQ(0, smi_status(self->fd, &st0));
	ASSERT_EQ(0, dsmil_stats(self->fd, &s0));
	w0 = sim_writes(token_of(0, 0));
	EXPECT_EQ(-EACCES, submit(self->fd, DSMIL_TOKEN_OP_WRITE, 0, 0, 0x42,
				  NULL));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	ASSERT_EQ(0, dsmil_stats(self->fd, &s));
	EXPECT_EQ(st0.requests, st.requests);
	EXPECT_EQ(s0.denied + 1, s.denied);
	EXPECT_EQ(w0, sim_writes(token_of(0, 0)));

	/* Allowed, but the device is only READY: the state refuses it. */
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, dev_bring_up(self->fd, 3, false));
	EXPECT_EQ(-ENODEV, submit(self->fd, DSMIL_TOKEN_OP_WRITE, 0, 3, 0x42,
				  NULL));
	EXPECT_EQ(w0, sim_writes(token_of(0, 0)));
}

/* A write is audited as TOKEN_WRITE's, in the submitter's name. */
TEST_F(async, write_audited)
{
	struct dsmil_write_record w[DSMIL_WRITE_AUDIT_DEPTH];
	struct dsmil_write_audit_read ar = {
		.buf = (uintptr_t)w, .count = DSMIL_WRITE_AUDIT_DEPTH,
	};
	struct dsmil_token_completion r;
	unsigned long long w0;
	unsigned int i, mine = 0;
	__u64 id;

	/* What is checked is the record: a host stall must not fail the write. */
	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	w0 = sim_writes(token_of(0, 0));
	ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_WRITE, 0, 0, 0x4242, &id));
	ASSERT_EQ(1, wait_recs(self->fd, &r, 1, 5000));
	EXPECT_EQ(id, r.id);
	EXPECT_EQ(0, r.error);
	EXPECT_EQ(DSMIL_TOKEN_OP_WRITE, r.op);
	EXPECT_EQ(token_of(0, 0), r.token);
	EXPECT_EQ(DSMIL_TOKEN_C_FINAL, r.flags);
	EXPECT_EQ(0xd5000000U | token_of(0, 0), r.value);	/* before */
	EXPECT_EQ(w0 + 1, sim_writes(token_of(0, 0)));

	ASSERT_EQ(0, dsmil_ioc(self->fd, DSMIL_IOC_WRITE_AUDIT_READ, &ar));
	for (i = 0; i < ar.count; i++) {
		if (w[i].request_id != r.smi_id)
			continue;
		mine++;
		EXPECT_EQ(DSMIL_WREC_AT_READBACK, w[i].stage);
		EXPECT_EQ(0x4242, w[i].value);
		EXPECT_EQ(0x4242, w[i].readback);
		EXPECT_EQ(0xd5000000U | token_of(0, 0), w[i].old_value);
		EXPECT_EQ((__u32)getpid(), w[i].pid);
		EXPECT_EQ(0, w[i].error);
	}
	EXPECT_EQ(1, mine);
}

/*
 * A submitter with an empty name (prctl(PR_SET_NAME, "")) is still named
 * by its write's audit record; before, the record named the writer's
 * kernel worker (pid 0, uid 0).
 */
TEST_F(async, write_audited_empty_comm)
{
	struct dsmil_write_record w[DSMIL_WRITE_AUDIT_DEPTH];
	struct dsmil_write_audit_read ar = {
		.buf = (uintptr_t)w, .count = DSMIL_WRITE_AUDIT_DEPTH,
	};
	struct dsmil_token_completion r;
	char name[16] = {};
	unsigned int i, mine = 0;
	int ret;
	__u64 id;

	/* What is checked is the record: a host stall must not fail the write. */
	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, prctl(PR_GET_NAME, name));
	ASSERT_EQ(0, prctl(PR_SET_NAME, ""));
	ret = submit(self->fd, DSMIL_TOKEN_OP_WRITE, 0, 0, 0x4343, &id);
	ASSERT_EQ(0, prctl(PR_SET_NAME, name));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(1, wait_recs(self->fd, &r, 1, 5000));
	EXPECT_EQ(0, r.error);

	ASSERT_EQ(0, dsmil_ioc(self->fd, DSMIL_IOC_WRITE_AUDIT_READ, &ar));
	for (i = 0; i < ar.count; i++) {
		if (w[i].request_id != r.smi_id)
			continue;
		mine++;
		EXPECT_EQ(DSMIL_WREC_AT_READBACK, w[i].stage);
		EXPECT_EQ((__u32)getpid(), w[i].pid);
		EXPECT_EQ((__u32)getuid(), w[i].uid);
		EXPECT_EQ(0, w[i].comm[0]);
	}
	EXPECT_EQ(1, mine);
}

/*
 * An emergency stop while writes wait queued: none of them reaches the
 * simulator after the stop returned (its own counter says so); each ends
 * refused (-ENODEV), timed out in the queue, or, the one under way when
 * the stop came, written before the stop returned.
 */
TEST_F(async, estop_while_writes_queued)
{
	struct dsmil_token_completion r[32];
	unsigned long long at_stop, w0;
	unsigned int i, got = 0, refused = 0, written = 0;
	int n;

	/*
	 * 20 ms a call, under a 1 s deadline: the sixteen writes take far
	 * longer than submitting them and the stop, however slow the guest
	 * (KCSAN under load), so some are still queued when it comes.
	 */
	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	ASSERT_EQ(0, dsmil_param_write("allow_writes", "1"));
	ASSERT_EQ(0, sim_knob_write("latency_us", "20000"));
	w0 = sim_writes(token_of(0, 0));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, submit(self->fd, DSMIL_TOKEN_OP_WRITE, 0, 0,
				    0x100 + i, NULL));
	ASSERT_EQ(0, group_estop(self->fd, 0, NULL));
	at_stop = sim_writes(token_of(0, 0));
	while (got < 16) {
		n = wait_recs(self->fd, r, 32, 5000);
		ASSERT_LT(0, n);
		for (i = 0; i < (unsigned int)n; i++) {
			EXPECT_TRUE(r[i].error == 0 || r[i].error == ENODEV ||
				    r[i].error == ETIMEDOUT)
				TH_LOG("write %llu: errno %u",
				       (unsigned long long)r[i].id, r[i].error);
			EXPECT_EQ(token_of(0, 0), r[i].token);
			refused += r[i].error == ENODEV;
			written += !r[i].error;
		}
		got += n;
	}
	EXPECT_EQ(at_stop, sim_writes(token_of(0, 0)));
	/* Exactly the writes reported done reached the simulator. */
	EXPECT_EQ(at_stop - w0, written);
	EXPECT_LT(0, refused);
	EXPECT_EQ(DSMIL_DEV_LOCKED, dev_state(self->fd, 0));
}

/* ---- 1000 requests from 4 clients ---------------------------------------- */

enum { ID_PENDING, ID_CANCEL_OK };

struct client {
	uint64_t seed;
	unsigned int share;		/* requests to submit */
	/* Results. */
	unsigned int submitted, completed, cancelled, dropped, cancel_ok;
	unsigned int closes, eagain, wrong;
	char why[200];
};

struct id_slot {
	__u64 id;
	int state;
	unsigned int token;
};

static void client_wrong(struct client *c, const char *fmt, unsigned long long a,
			 unsigned long long b)
{
	if (!c->wrong++)
		snprintf(c->why, sizeof(c->why), fmt, a, b);
}

static struct id_slot *slot_of(struct id_slot *s, unsigned int n, __u64 id)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (s[i].id == id)
			return &s[i];
	return NULL;
}

static void take_recs(struct client *c, int fd, struct id_slot *s,
		      unsigned int *n)
{
	struct dsmil_token_completion r[16];
	struct id_slot *sl;
	int got, i;

	while ((got = read_recs(fd, r, 16)) > 0) {
		for (i = 0; i < got; i++) {
			sl = slot_of(s, *n, r[i].id);
			if (!sl) {
				client_wrong(c, "record of id %llu not outstanding (%llu)",
					     r[i].id, 0);
				continue;
			}
			if ((r[i].flags & DSMIL_TOKEN_C_UNSENT) && !r[i].error)
				client_wrong(c, "id %llu unsent but succeeded (%llu)",
					     r[i].id, 0);
			if (r[i].flags & DSMIL_TOKEN_C_CANCELLED) {
				if (sl->state != ID_CANCEL_OK ||
				    r[i].error != ECANCELED)
					client_wrong(c, "id %llu cancelled, errno %llu, without a cancel",
						     r[i].id, r[i].error);
				c->cancelled++;
			} else {
				if (sl->state == ID_CANCEL_OK)
					client_wrong(c, "id %llu cancelled but completed (errno %llu)",
						     r[i].id, r[i].error);
				if (!(r[i].flags & DSMIL_TOKEN_C_FINAL))
					client_wrong(c, "id %llu not final (flags %#llx)",
						     r[i].id, r[i].flags);
				if (r[i].error && r[i].error != ETIMEDOUT)
					client_wrong(c, "id %llu errno %llu",
						     r[i].id, r[i].error);
				if (r[i].token != sl->token)
					client_wrong(c, "id %llu: record of token %#llx",
						     r[i].id, r[i].token);
				c->completed++;
			}
			*sl = s[--*n];	/* seen once: forget it */
		}
	}
	if (got < 0 && got != -EAGAIN)
		client_wrong(c, "read: errno %llu (%llu)", -got, 0);
}

static void *client_fn(void *arg)
{
	struct client *c = arg;
	struct id_slot s[DSMIL_ASYNC_MAX];
	unsigned int n = 0, i;
	int fd, ret;
	__u64 id;

	fd = open(DSMIL_DEV, O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		client_wrong(c, "open: errno %llu (%llu)", errno, 0);
		return NULL;
	}
	/*
	 * Per step: submit 60%, cancel 5%, close the file 0.3%, else take
	 * the records there are.
	 */
	while (c->submitted < c->share || n) {
		uint64_t dice = rnd_below(&c->seed, 1000);

		if (c->submitted < c->share && dice < 600) {
			unsigned int t = rnd_below(&c->seed, N_TOKENS);

			ret = submit(fd, DSMIL_TOKEN_OP_READ, t / 4, t % 4 * 3,
				     0, &id);
			if (ret == -EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLIN };

				c->eagain++;
				if (n != DSMIL_ASYNC_MAX)
					client_wrong(c, "-EAGAIN with %llu outstanding (%llu)",
						     n, 0);
				/* At the limit: wait for a record, take them. */
				if (poll(&p, 1, 5000) != 1)
					client_wrong(c, "no record in 5 s at the limit (%llu, %llu)",
						     n, 0);
				take_recs(c, fd, s, &n);
			} else if (ret) {
				client_wrong(c, "submit: errno %llu (%llu)", -ret, 0);
			} else if (slot_of(s, n, id)) {
				client_wrong(c, "id %llu given twice (%llu)", id, 0);
			} else {
				s[n++] = (struct id_slot){
					.id = id,
					.token = token_of(t / 4, t % 4 * 3),
				};
				c->submitted++;
			}
		} else if (n && dice < 650) {
			struct id_slot *sl = &s[rnd_below(&c->seed, n)];

			if (sl->state == ID_CANCEL_OK)
				continue;
			ret = cancel(fd, sl->id);
			if (!ret) {
				sl->state = ID_CANCEL_OK;
				c->cancel_ok++;
			} else if (ret != -EBUSY && ret != -ENOENT) {
				client_wrong(c, "cancel: errno %llu (%llu)", -ret, 0);
			}
		} else if (dice < 653) {
			/* Close with whatever is outstanding: dropped. */
			c->dropped += n;
			n = 0;
			c->closes++;
			close(fd);
			fd = open(DSMIL_DEV, O_RDWR | O_NONBLOCK);
			if (fd < 0) {
				client_wrong(c, "reopen: errno %llu (%llu)", errno, 0);
				return NULL;
			}
		} else {
			take_recs(c, fd, s, &n);
			if (c->submitted >= c->share && n) {
				struct pollfd p = { .fd = fd, .events = POLLIN };

				if (poll(&p, 1, 5000) != 1)
					client_wrong(c, "no record in 5 s, %llu outstanding (%llu)",
						     n, 0);
			}
		}
	}
	for (i = 0; i < n; i++)
		client_wrong(c, "id %llu never ended (%llu)", s[i].id, 0);
	close(fd);
	return NULL;
}

/* ~10 s on a quiet TCG guest; the default 30 s is too close under KCSAN. */
TEST_F_TIMEOUT(async, thousand_from_four_clients, 120)
{
	struct client c[N_CLIENTS] = {};
	struct dsmil_smi_status st0, st;
	pthread_t th[N_CLIENTS];
	unsigned int i, completed = 0, cancelled = 0, dropped = 0;
	unsigned int cancel_ok = 0, closes = 0, eagain = 0, submitted = 0;
	uint64_t seed = suite_seed(NULL), reads0, ended;

	/*
	 * A deadline that covers the deepest queue (4 x DSMIL_ASYNC_MAX
	 * behind 50 us SMIs and their spacing): a request aborted at the
	 * firmware would put its device in ERROR and refuse what follows.
	 */
	async_load(_metadata, self, "smi_timeout_ms=1000 smi_hang_ms=500");
	ASSERT_EQ(0, all_tokens_ready(self->fd));
	ASSERT_EQ(0, sim_knob_write("latency_us", "50"));
	ASSERT_EQ(0, smi_wait_idle(self->fd, &st0, 3000));
	reads0 = sim_reads_all();
	for (i = 0; i < N_CLIENTS; i++) {
		c[i].seed = seed + i;
		c[i].share = N_REQUESTS / N_CLIENTS;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, client_fn, &c[i]));
	}
	for (i = 0; i < N_CLIENTS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, c[i].wrong) TH_LOG("client %u: %s", i, c[i].why);
		submitted += c[i].submitted;
		completed += c[i].completed;
		cancelled += c[i].cancelled;
		dropped += c[i].dropped;
		cancel_ok += c[i].cancel_ok;
		closes += c[i].closes;
		eagain += c[i].eagain;
	}
	ksft_print_msg("async: completed=%u cancelled=%u dropped-at-close=%u (closes=%u eagain=%u seed=%llu)\n",
		       completed, cancelled, dropped, closes, eagain,
		       (unsigned long long)seed);
	EXPECT_EQ(N_REQUESTS, submitted);
	/* Every id once: read as completed or cancelled, or closed over. */
	EXPECT_EQ(N_REQUESTS, completed + cancelled + dropped);
	EXPECT_LE(cancelled, cancel_ok);
	EXPECT_LE(cancel_ok, cancelled + dropped);

	ASSERT_EQ(0, smi_wait_idle(self->fd, &st, 10000));
	/* The engine moved by exactly what the clients did. */
	EXPECT_EQ(st0.requests + N_REQUESTS, st.requests);
	EXPECT_EQ(st0.refused, st.refused);
	EXPECT_EQ(st0.faulted_rejects, st.faulted_rejects);
	EXPECT_EQ(st0.hangs, st.hangs);
	EXPECT_GE(st.cancelled - st0.cancelled, cancelled);
	EXPECT_LE(st.cancelled - st0.cancelled, cancelled + dropped);
	ended = (st.successes - st0.successes) + (st.timeouts - st0.timeouts);
	EXPECT_EQ(N_REQUESTS - (st.cancelled - st0.cancelled), ended);
	EXPECT_EQ(st0.errors + (st.cancelled - st0.cancelled), st.errors);
	/* What was not cancelled reached the simulator (or timed out queued). */
	EXPECT_EQ(sim_reads_all() - reads0 + (st.queue_timeouts -
					      st0.queue_timeouts), ended);
}

TEST_HARNESS_MAIN
