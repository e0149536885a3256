// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the device model through /dev/dsmil: listing, bringing
 * group 0 up in order and out of order, emergency stop, quarantine,
 * refusal of unprivileged callers, the audit trail, the counters, the
 * sysfs summary, the dmesg lines, and unload with devices up.
 *
 * Each test starts from a freshly loaded dsmil.ko with default parameters
 * (it reloads the module itself), so that states, audit sequence numbers,
 * counters and the log rate limit start from zero.  Run alone with
 * `tools/dsmil-vm -- /tests/state_test`.
 */
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>

/*
 * The harness's EXPECT_*()/ASSERT_*() compare their two arguments as given;
 * with literals against the uapi's unsigned fields that is a sign-compare
 * warning everywhere under tests/guest/Makefile's -Wextra -Werror.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
/* TEST_F()'s own wrapper keeps a local across its setjmp(). */
#pragma GCC diagnostic ignored "-Wclobbered"

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define SUMMARY		"/sys/class/misc/dsmil/summary"
#define N_DEV		DSMIL_NUM_DEVICES
#define ID(g, i)	((g) * DSMIL_DEVS_PER_GROUP + (i))

#define OFF	DSMIL_DEV_OFFLINE
#define INIT	DSMIL_DEV_INITIALIZING
#define READY	DSMIL_DEV_READY
#define ACT	DSMIL_DEV_ACTIVE
#define ERR	DSMIL_DEV_ERROR
#define LOCK	DSMIL_DEV_LOCKED

static const char *const state_names[] = {
	"OFFLINE", "INITIALIZING", "READY", "ACTIVE", "ERROR", "LOCKED",
};

static const char *const group_state_names[] = {
	"DISABLED", "INITIALIZING", "READY", "ACTIVE", "ERROR",
	"EMERGENCY_STOP",
};

/* The model, from the issue: does device @d need device @x ACTIVE? */
static int needs(unsigned int d, unsigned int x)
{
	static const unsigned char group_needs[DSMIL_NUM_GROUPS] = {
		0x00, 0x01, 0x03, 0x01, 0x07, 0x1f,
	};
	unsigned int dg = d / 12, di = d % 12, xg = x / 12, xi = x % 12;

	if (xi == 0 && (group_needs[dg] & (1u << xg)))
		return 1;
	if (dg || xg || di == 0)
		return 0;
	return di == 1 ? xi == 0 : di == 2 ? xi <= 1 : xi <= 2;
}

static int quarantined(unsigned int id)
{
	return id == ID(0, 9) || id == ID(0, 10) || id == ID(0, 11) ||
	       id == ID(1, 9) || id == ID(2, 9);
}

/* One transition that must succeed. */
static void step(struct __test_metadata *_metadata, int fd, unsigned int id,
		 unsigned int to)
{
	struct dsmil_transition t;
	int ret = dev_transition(fd, id, to, &t);

	ASSERT_EQ(0, ret) TH_LOG("DSMIL%uD%X -> %s: %s, reason %u", id / 12,
				 id % 12, state_names[to], strerror(-ret),
				 t.reason);
	ASSERT_EQ(to, t.state);
	ASSERT_EQ(DSMIL_REASON_NONE, t.reason);
}

#define STEP(fd, id, to)	step(_metadata, fd, id, to)

/* OFFLINE -> INITIALIZING -> READY -> ACTIVE, what it needs first. */
static void bring_up(struct __test_metadata *_metadata, int fd,
		     unsigned int id)
{
	unsigned int x;
	int s;

	for (x = 0; x < id; x++)
		if (needs(id, x))
			bring_up(_metadata, fd, x);
	s = dev_state(fd, id);
	ASSERT_GE(s, 0);
	if (s == ACT)
		return;
	if (s == OFF)
		STEP(fd, id, INIT);
	if (s == OFF || s == INIT)
		STEP(fd, id, READY);
	STEP(fd, id, ACT);
}

/* ---- fixture ------------------------------------------------------------------ */

FIXTURE(state) {
	int fd;
};

FIXTURE_SETUP(state)
{
	int ret = dsmil_reload(NULL);

	ASSERT_EQ(0, ret) TH_LOG("reloading %s: %s", dsmil_ko(),
				 strerror(-ret));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DSMIL_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(state)
{
	if (self->fd >= 0)
		close(self->fd);
	/* The SMI simulator's faults off, whatever the test did. */
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* ---- tests -------------------------------------------------------------------- */

TEST_F(state, list_describes_the_72_devices)
{
	static const char *const functions[12] = {
		"Controller", "Crypto Engine", "Secure Storage",
		"Network Filter", "Audit Logger", "TPM Interface",
		"Secure Boot", "Memory Protection", "Tactical Comm",
		"Emergency Wipe", "JROTC Training", "Hidden Operations",
	};
	struct dsmil_dev_info list[N_DEV + 1], one;
	struct dsmil_info info = {};
	unsigned int id, x, nq = 0;
	char name[16];

	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_INFO, &info));
	EXPECT_TRUE(info.features & DSMIL_FEAT_DEVICES);
	EXPECT_EQ(N_DEV, info.num_devices);

	memset(list, 0xee, sizeof(list));
	ASSERT_EQ(N_DEV, dev_list(self->fd, list, N_DEV + 1));
	EXPECT_EQ(0xeeee, list[N_DEV].id);	/* nothing past the 72 */
	for (id = 0; id < N_DEV; id++) {
		const struct dsmil_dev_info *d = &list[id];
		unsigned int g = id / 12, i = id % 12;
		int token = i % 3 == 0;

		snprintf(name, sizeof(name), "DSMIL%uD%X", g, i);
		EXPECT_STREQ(name, (const char *)d->name);
		EXPECT_STREQ(functions[i], (const char *)d->function);
		EXPECT_EQ(id, d->id);
		EXPECT_EQ(g, d->group);
		EXPECT_EQ(i, d->index);
		EXPECT_EQ(OFF, d->state);
		EXPECT_EQ(DSMIL_GROUP_DISABLED, d->group_state);
		EXPECT_EQ(0, d->transitions);
		EXPECT_EQ(quarantined(id), !!(d->flags & DSMIL_DEVF_QUARANTINED));
		EXPECT_EQ(token, !!(d->flags & DSMIL_DEVF_HAS_TOKEN));
		EXPECT_EQ(token ? DSMIL_TOKEN_BASE + id : 0, d->token);
		nq += quarantined(id);
		for (x = 0; x < N_DEV; x++) {
			int dep = (x % 12 == 0 && (d->dep_groups & (1u << (x / 12)))) ||
				  (x / 12 == g && (d->dep_devices & (1u << (x % 12))));

			EXPECT_EQ(needs(id, x), dep) TH_LOG("%s needs DSMIL%uD%X?",
							    name, x / 12, x % 12);
		}
		/* DEV_INFO says the same */
		ASSERT_EQ(0, dev_info(self->fd, id, &one));
		EXPECT_EQ(0, memcmp(&one, d, sizeof(one)));
	}
	EXPECT_EQ(5, nq);
	EXPECT_STREQ("DSMIL5DB", name);

	/* a short buffer gets the first entries only */
	memset(list, 0xee, sizeof(list));
	ASSERT_EQ(3, dev_list(self->fd, list, 3));
	EXPECT_STREQ("DSMIL0D2", (const char *)list[2].name);
	EXPECT_EQ(0xeeee, list[3].id);
}

TEST_F(state, bring_group0_up_in_order_and_down_again)
{
	struct dsmil_dev_info list[N_DEV];
	struct dsmil_transition t;
	unsigned int i;

	/* the controller first, then 1, then 2, then the others */
	for (i = 0; i < 12; i++) {
		unsigned int id = ID(0, i);

		ASSERT_EQ(0, dev_transition(self->fd, id, INIT, &t));
		EXPECT_EQ(OFF, t.prev);
		EXPECT_EQ(INIT, t.state);
		ASSERT_EQ(0, dev_transition(self->fd, id, READY, &t));
		EXPECT_EQ(INIT, t.prev);
		EXPECT_EQ(READY, t.state);
		if (quarantined(id))
			continue;
		ASSERT_EQ(0, dev_transition(self->fd, id, ACT, &t))
			TH_LOG("DSMIL0D%X: reason %u", i, t.reason);
		EXPECT_EQ(READY, t.prev);
		EXPECT_EQ(ACT, t.state);
		EXPECT_EQ(DSMIL_REASON_NONE, t.reason);
	}
	ASSERT_EQ(N_DEV, dev_list(self->fd, list, N_DEV));
	for (i = 0; i < 12; i++) {
		EXPECT_EQ(quarantined(i) ? READY : ACT, list[i].state);
		EXPECT_EQ(DSMIL_GROUP_ACTIVE, list[i].group_state);
		EXPECT_EQ(quarantined(i) ? 2 : 3, list[i].transitions);
	}
	EXPECT_EQ(DSMIL_GROUP_DISABLED, list[ID(1, 0)].group_state);

	/* down again, dependents first */
	for (i = 12; i-- > 0; ) {
		if (quarantined(i))
			continue;
		ASSERT_EQ(0, dev_transition(self->fd, i, READY, &t))
			TH_LOG("DSMIL0D%X down: reason %u", i, t.reason);
	}
	ASSERT_EQ(N_DEV, dev_list(self->fd, list, N_DEV));
	EXPECT_EQ(DSMIL_GROUP_READY, list[0].group_state);
}

TEST_F(state, group0_out_of_order_is_refused)
{
	struct dsmil_transition t;
	char want[256];
	int kfd = kmsg_open_end();

	ASSERT_LE(0, kfd);

	/* straight to ACTIVE: not in the table */
	EXPECT_EQ(-EINVAL, dev_transition(self->fd, ID(0, 1), ACT, &t));
	EXPECT_EQ(DSMIL_REASON_ILLEGAL, t.reason);
	EXPECT_EQ(OFF, t.prev);
	EXPECT_EQ(OFF, t.state);

	/* device 1 before device 0 */
	STEP(self->fd, ID(0, 1), INIT);
	STEP(self->fd, ID(0, 1), READY);
	EXPECT_EQ(-ENOLINK, dev_transition(self->fd, ID(0, 1), ACT, &t));
	EXPECT_EQ(DSMIL_REASON_DEPENDENCY, t.reason);
	EXPECT_EQ(READY, t.state);
	/* the group 1 controller before group 0 is up */
	STEP(self->fd, ID(1, 0), INIT);
	STEP(self->fd, ID(1, 0), READY);
	EXPECT_EQ(-ENOLINK, dev_transition(self->fd, ID(1, 0), ACT, &t));

	/* device 3 with 0 and 1 up but not 2 */
	bring_up(_metadata, self->fd, ID(0, 1));
	STEP(self->fd, ID(0, 2), INIT);
	STEP(self->fd, ID(0, 2), READY);
	STEP(self->fd, ID(0, 3), INIT);
	STEP(self->fd, ID(0, 3), READY);
	EXPECT_EQ(-ENOLINK, dev_transition(self->fd, ID(0, 3), ACT, &t));
	EXPECT_EQ(DSMIL_REASON_DEPENDENCY, t.reason);
	STEP(self->fd, ID(0, 2), ACT);
	STEP(self->fd, ID(0, 3), ACT);

	/* the controller cannot leave while its dependents are ACTIVE */
	EXPECT_EQ(-EBUSY, dev_transition(self->fd, ID(0, 0), READY, &t));
	EXPECT_EQ(DSMIL_REASON_DEPENDENT, t.reason);
	EXPECT_EQ(ACT, t.state);
	EXPECT_EQ(-EBUSY, dev_transition(self->fd, ID(0, 0), LOCK, &t));
	EXPECT_EQ(-EBUSY, dev_transition(self->fd, ID(0, 2), ERR, &t));
	EXPECT_EQ(ACT, dev_state(self->fd, ID(0, 0)));

	/* every refusal is one documented line */
	snprintf(want, sizeof(want),
		 "dsmil: refused-transition: dev=DSMIL0D1 from=OFFLINE to=ACTIVE reason=illegal errno=%d pid=%d uid=0",
		 -EINVAL, getpid());
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want),
		 "dsmil: refused-transition: dev=DSMIL0D1 from=READY to=ACTIVE reason=dependency errno=%d pid=%d uid=0 blocker=DSMIL0D0",
		 -ENOLINK, getpid());
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want),
		 "dsmil: refused-transition: dev=DSMIL0D3 from=READY to=ACTIVE reason=dependency errno=%d pid=%d uid=0 blocker=DSMIL0D2",
		 -ENOLINK, getpid());
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want),
		 "dsmil: refused-transition: dev=DSMIL0D0 from=ACTIVE to=READY reason=dependent errno=%d pid=%d uid=0 blocker=DSMIL0D1",
		 -EBUSY, getpid());
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);
	close(kfd);
}

TEST_F(state, emergency_stop_locks_the_group_and_its_dependents)
{
	struct dsmil_dev_info before[N_DEV], after[N_DEV];
	unsigned int g, id, locked;
	char want[128];
	int kfd = kmsg_open_end();

	ASSERT_LE(0, kfd);
	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		bring_up(_metadata, self->fd, ID(g, 0));
		bring_up(_metadata, self->fd, ID(g, 4));
	}
	STEP(self->fd, ID(2, 7), INIT);
	ASSERT_EQ(N_DEV, dev_list(self->fd, before, N_DEV));

	/* group 1: 2, 4 and 5 need it; 0 and 3 do not */
	ASSERT_EQ(0, group_estop(self->fd, 1, &locked));
	EXPECT_EQ(48, locked);
	ASSERT_EQ(N_DEV, dev_list(self->fd, after, N_DEV));
	for (id = 0; id < N_DEV; id++) {
		g = id / 12;
		if (g == 0 || g == 3) {
			EXPECT_EQ(before[id].state, after[id].state);
			EXPECT_EQ(DSMIL_GROUP_ACTIVE, after[id].group_state);
		} else {
			EXPECT_EQ(LOCK, after[id].state);
			EXPECT_EQ(DSMIL_GROUP_EMERGENCY_STOP, after[id].group_state);
		}
	}
	snprintf(want, sizeof(want),
		 "dsmil: emergency-stop: group=1 groups=1,2,4,5 locked=48 in_doubt=0 pid=%d uid=0",
		 getpid());
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);

	/* a stopped device comes back only through ERROR */
	EXPECT_EQ(-EINVAL, dev_transition(self->fd, ID(1, 0), ACT, NULL));
	EXPECT_EQ(-EINVAL, dev_transition(self->fd, ID(1, 0), OFF, NULL));
	STEP(self->fd, ID(1, 0), ERR);
	STEP(self->fd, ID(1, 0), INIT);
	STEP(self->fd, ID(1, 0), READY);
	STEP(self->fd, ID(1, 0), ACT);

	/* stopping again counts only what was not locked yet */
	ASSERT_EQ(0, group_estop(self->fd, 2, &locked));
	EXPECT_EQ(0, locked);
	ASSERT_EQ(0, group_estop(self->fd, 0, &locked));
	EXPECT_EQ(12 + 1 + 12, locked);		/* groups 0, 3 and DSMIL1D0 */
	ASSERT_EQ(N_DEV, dev_list(self->fd, after, N_DEV));
	for (id = 0; id < N_DEV; id++)
		EXPECT_EQ(LOCK, after[id].state);
	EXPECT_EQ(-EINVAL, group_estop(self->fd, DSMIL_NUM_GROUPS, NULL));
	EXPECT_EQ(-EINVAL, group_estop(self->fd, 255, NULL));
	close(kfd);
}

TEST_F(state, quarantined_devices_never_become_active)
{
	static const unsigned int q[] = { ID(0, 9), ID(0, 10), ID(0, 11),
					  ID(1, 9), ID(2, 9) };
	struct dsmil_transition t;
	struct dsmil_dev_info di;
	unsigned int i, x;

	for (i = 0; i < ARRAY_SIZE(q); i++) {
		for (x = 0; x < q[i]; x++)
			if (needs(q[i], x))
				bring_up(_metadata, self->fd, x);
		STEP(self->fd, q[i], INIT);
		STEP(self->fd, q[i], READY);
		EXPECT_EQ(-EPERM, dev_transition(self->fd, q[i], ACT, &t));
		EXPECT_EQ(DSMIL_REASON_QUARANTINED, t.reason);
		EXPECT_EQ(READY, t.state);
		ASSERT_EQ(0, dev_info(self->fd, q[i], &di));
		EXPECT_TRUE(di.flags & DSMIL_DEVF_QUARANTINED);
		EXPECT_EQ(READY, di.state);
	}
}

TEST_F(state, unprivileged_caller_is_refused_changes)
{
	struct dsmil_stats st0 = {}, st1 = {};
	struct dsmil_audit_entry e[4];
	struct dsmil_audit_read ar = { .buf = (uintptr_t)e, .count = 4 };
	int status;
	pid_t pid;

	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_STATS, &st0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct dsmil_dev_info di, list[N_DEV];
		int fails = 0;

		if (drop_to_user())
			_exit(100);
		/* the node itself stays root-only */
		if (open(DSMIL_DEV, O_RDWR) >= 0 || errno != EACCES)
			fails |= 1;
		/* with the root-opened fd: reading is allowed... */
		if (dev_info(self->fd, ID(0, 0), &di) || di.state != OFF)
			fails |= 2;
		if (dev_list(self->fd, list, N_DEV) != N_DEV)
			fails |= 4;
		/* ...changing and reading the audit trail are not */
		if (dev_transition(self->fd, ID(0, 0), INIT, NULL) != -EPERM)
			fails |= 8;
		if (group_estop(self->fd, 0, NULL) != -EPERM)
			fails |= 16;
		if (ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar) == 0 ||
		    errno != EPERM)
			fails |= 32;
		_exit(fails);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("failed checks: %#x",
						 WEXITSTATUS(status));

	/* nothing changed, nothing audited, three denials counted */
	EXPECT_EQ(OFF, dev_state(self->fd, ID(0, 0)));
	ar.count = 4;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	EXPECT_EQ(0, ar.count);
	EXPECT_EQ(1, ar.next_seq);
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_STATS, &st1));
	EXPECT_EQ(st0.denied + 3, st1.denied);
	EXPECT_EQ(0, st1.transitions);
}

struct step {
	unsigned int id, target;
	int err;		/* expected errno (0: accepted) */
	unsigned int reason;
};

TEST_F(state, audit_trail_matches_what_was_done)
{
	static const struct step steps[] = {
		{ ID(0, 0), INIT, 0, DSMIL_REASON_NONE },
		{ ID(0, 0), ACT, EINVAL, DSMIL_REASON_ILLEGAL },
		{ ID(0, 0), READY, 0, DSMIL_REASON_NONE },
		{ ID(0, 1), INIT, 0, DSMIL_REASON_NONE },
		{ ID(0, 1), READY, 0, DSMIL_REASON_NONE },
		{ ID(0, 1), ACT, ENOLINK, DSMIL_REASON_DEPENDENCY },
		{ ID(0, 0), ACT, 0, DSMIL_REASON_NONE },
		{ ID(0, 1), ACT, 0, DSMIL_REASON_NONE },
		{ ID(0, 0), ERR, EBUSY, DSMIL_REASON_DEPENDENT },
		{ ID(0, 9), INIT, 0, DSMIL_REASON_NONE },
		{ ID(0, 9), READY, 0, DSMIL_REASON_NONE },
		{ ID(0, 9), ACT, EPERM, DSMIL_REASON_QUARANTINED },
		{ ID(0, 9), 6, EINVAL, DSMIL_REASON_BAD_ARG },
		{ ID(5, 11), LOCK, 0, DSMIL_REASON_NONE },
		{ ID(5, 11), LOCK, 0, DSMIL_REASON_NONE },
	};
	const unsigned int n = ARRAY_SIZE(steps);
	struct dsmil_audit_entry e[DSMIL_AUDIT_DEPTH];
	struct dsmil_audit_read ar = { .buf = (uintptr_t)e };
	unsigned char shadow[N_DEV] = {};
	unsigned int i, locked;
	struct timespec ts;
	__u64 t0, t1;

	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	for (i = 0; i < n; i++)
		ASSERT_EQ(-steps[i].err, dev_transition(self->fd, steps[i].id,
						    steps[i].target, NULL))
			TH_LOG("step %u", i);
	ASSERT_EQ(0, group_estop(self->fd, 4, &locked));
	EXPECT_EQ(23, locked);	/* 4:0-4:B, 5:0-5:A; 5:B was locked */
	clock_gettime(CLOCK_REALTIME, &ts);
	t1 = ts.tv_sec * 1000000000ull + ts.tv_nsec;

	ar.count = DSMIL_AUDIT_DEPTH;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	ASSERT_EQ(n + locked, ar.count);
	EXPECT_EQ(n + locked + 1, ar.next_seq);
	EXPECT_EQ(0, ar.dropped);
	for (i = 0; i < ar.count; i++) {
		const struct dsmil_audit_entry *a = &e[i];

		EXPECT_EQ(i + 1, a->seq);
		EXPECT_EQ(getpid(), (pid_t)a->pid);
		EXPECT_EQ(0, a->uid);
		EXPECT_LE(t0, a->time_ns);
		EXPECT_GE(t1, a->time_ns);
		if (i)
			EXPECT_LE(e[i - 1].time_ns, a->time_ns);
		if (i < n) {
			EXPECT_EQ(steps[i].id, a->device) TH_LOG("entry %u", i);
			EXPECT_EQ(shadow[a->device], a->from) TH_LOG("entry %u", i);
			EXPECT_EQ(steps[i].target, a->to);
			EXPECT_EQ(steps[i].err, (int)a->error);
			EXPECT_EQ(steps[i].reason, a->reason);
			EXPECT_EQ(DSMIL_SRC_IOCTL, a->source);
			if (!steps[i].err)
				shadow[a->device] = a->to;
		} else {
			/* the stop, dependents first */
			EXPECT_EQ(DSMIL_SRC_ESTOP, a->source);
			EXPECT_EQ(DSMIL_REASON_EMERGENCY_STOP, a->reason);
			EXPECT_EQ(LOCK, a->to);
			EXPECT_EQ(0, a->error);
			EXPECT_EQ(ID(5, 10) - (i - n), a->device);
		}
	}

	/* paging: two at a time from seq 5 */
	ar.count = 2;
	ar.since_seq = 5;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	EXPECT_EQ(2, ar.count);
	EXPECT_EQ(5, e[0].seq);
	EXPECT_EQ(6, e[1].seq);
	EXPECT_EQ(ENOLINK, e[1].error);

	ar.count = 0;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	EXPECT_EQ(EINVAL, errno);
	ar.count = 1;
	ar.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(state, audit_trail_wraps_at_256)
{
	struct dsmil_audit_entry e[DSMIL_AUDIT_DEPTH];
	struct dsmil_audit_read ar = { .buf = (uintptr_t)e };
	unsigned int i;

	/* 300 entries: LOCKED -> LOCKED is accepted every time */
	for (i = 0; i < 300; i++)
		ASSERT_EQ(0, dev_transition(self->fd, ID(3, 3), LOCK, NULL));
	ar.count = DSMIL_AUDIT_DEPTH;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	EXPECT_EQ(DSMIL_AUDIT_DEPTH, ar.count);
	EXPECT_EQ(301, ar.next_seq);
	EXPECT_EQ(300 - DSMIL_AUDIT_DEPTH, ar.dropped);
	EXPECT_EQ(300 - DSMIL_AUDIT_DEPTH + 1, e[0].seq);
	EXPECT_EQ(300, e[DSMIL_AUDIT_DEPTH - 1].seq);

	ar.count = DSMIL_AUDIT_DEPTH;
	ar.since_seq = 10;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	EXPECT_EQ(300 - DSMIL_AUDIT_DEPTH + 1 - 10, ar.dropped);
}

TEST_F(state, sysfs_summary_matches_the_ioctl_view)
{
	struct dsmil_dev_info list[N_DEV];
	unsigned int g, i, locked;
	char buf[8192], *line, *save;
	struct stat sb;
	ssize_t n;
	int fd;

	ASSERT_EQ(0, stat(SUMMARY, &sb)) TH_LOG("%s: %s", SUMMARY, strerror(errno));
	EXPECT_EQ(0444, sb.st_mode & 0777);

	/* a mix of every state and group state */
	bring_up(_metadata, self->fd, ID(0, 5));
	bring_up(_metadata, self->fd, ID(3, 0));
	STEP(self->fd, ID(1, 0), INIT);
	STEP(self->fd, ID(1, 0), READY);
	STEP(self->fd, ID(2, 4), INIT);
	STEP(self->fd, ID(3, 8), INIT);
	STEP(self->fd, ID(3, 8), ERR);
	ASSERT_EQ(0, group_estop(self->fd, 4, &locked));

	ASSERT_EQ(N_DEV, dev_list(self->fd, list, N_DEV));
	fd = open(SUMMARY, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = '\0';

	g = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), g++) {
		char want[64], *tok, *tsave;

		ASSERT_GT(DSMIL_NUM_GROUPS, g) TH_LOG("extra line '%s'", line);
		snprintf(want, sizeof(want), "group=%u", g);
		tok = strtok_r(line, " ", &tsave);
		ASSERT_STREQ(want, tok);
		snprintf(want, sizeof(want), "state=%s",
			 group_state_names[list[ID(g, 0)].group_state]);
		tok = strtok_r(NULL, " ", &tsave);
		ASSERT_STREQ(want, tok);
		for (i = 0; i < 12; i++) {
			snprintf(want, sizeof(want), "DSMIL%uD%X=%s", g, i,
				 state_names[list[ID(g, i)].state]);
			tok = strtok_r(NULL, " ", &tsave);
			ASSERT_NE(NULL, tok);
			EXPECT_STREQ(want, tok);
		}
		EXPECT_EQ(NULL, strtok_r(NULL, " ", &tsave));
	}
	EXPECT_EQ(DSMIL_NUM_GROUPS, g);
	/* what the mix above must show */
	EXPECT_EQ(DSMIL_GROUP_ACTIVE, list[ID(0, 0)].group_state);
	EXPECT_EQ(DSMIL_GROUP_READY, list[ID(1, 0)].group_state);
	EXPECT_EQ(DSMIL_GROUP_INITIALIZING, list[ID(2, 0)].group_state);
	EXPECT_EQ(DSMIL_GROUP_ERROR, list[ID(3, 0)].group_state);
	EXPECT_EQ(DSMIL_GROUP_EMERGENCY_STOP, list[ID(4, 0)].group_state);
	EXPECT_EQ(DSMIL_GROUP_EMERGENCY_STOP, list[ID(5, 0)].group_state);
}

TEST_F(state, counters_match_what_was_done)
{
	struct dsmil_stats st = {};
	unsigned int locked;

	bring_up(_metadata, self->fd, ID(0, 2));		/* 9 transitions */
	EXPECT_EQ(-EBUSY, dev_transition(self->fd, ID(0, 1), READY, NULL));
	EXPECT_EQ(-EBUSY, dev_transition(self->fd, ID(0, 0), ERR, NULL));
	EXPECT_EQ(-EINVAL, dev_transition(self->fd, ID(2, 0), ACT, NULL));
	STEP(self->fd, ID(2, 0), INIT);				/* 10 */
	STEP(self->fd, ID(2, 0), READY);			/* 11 */
	EXPECT_EQ(-ENOLINK, dev_transition(self->fd, ID(2, 0), ACT, NULL));
	EXPECT_EQ(-EINVAL, dev_transition(self->fd, N_DEV, INIT, NULL));
	STEP(self->fd, ID(1, 9), INIT);				/* 12 */
	STEP(self->fd, ID(1, 9), READY);			/* 13 */
	EXPECT_EQ(-EPERM, dev_transition(self->fd, ID(1, 9), ACT, NULL));
	ASSERT_EQ(0, group_estop(self->fd, 5, &locked));		/* 25 */
	EXPECT_EQ(12, locked);

	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_STATS, &st));
	EXPECT_EQ(13 + 12, st.transitions);
	EXPECT_EQ(1, st.refusals[DSMIL_REASON_ILLEGAL]);
	EXPECT_EQ(1, st.refusals[DSMIL_REASON_DEPENDENCY]);
	EXPECT_EQ(2, st.refusals[DSMIL_REASON_DEPENDENT]);
	EXPECT_EQ(1, st.refusals[DSMIL_REASON_QUARANTINED]);
	EXPECT_EQ(1, st.refusals[DSMIL_REASON_BAD_ARG]);
	EXPECT_EQ(0, st.refusals[DSMIL_REASON_VERIFY_FAILED]);
}

TEST_F(state, bad_arguments_are_refused)
{
	struct dsmil_transition t = { .id = N_DEV, .target = INIT };
	struct dsmil_group_stop gs = { .group = 0 };
	struct dsmil_dev_list dl = { .buf = 0, .count = 4 };
	struct dsmil_dev_info di = { .id = 0 };
	struct dsmil_stats s0 = {}, s1 = {};

	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_STATS, &s0));
	/* the reason comes back with the refusal */
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_DEV_TRANSITION, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(DSMIL_REASON_BAD_ARG, t.reason);
	t.id = 0;
	t.target = DSMIL_DEV_NUM_STATES;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_DEV_TRANSITION, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(DSMIL_REASON_BAD_ARG, t.reason);
	/* reserved fields are checked before anything happens */
	t.target = INIT;
	t.reserved1 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_DEV_TRANSITION, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(OFF, dev_state(self->fd, 0));
	gs.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_GROUP_ESTOP, &gs));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(OFF, dev_state(self->fd, 0));
	di.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_DEV_INFO, &di));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, dev_info(self->fd, N_DEV, &di));
	EXPECT_EQ(-EINVAL, dev_info(self->fd, 0xffff, &di));
	/* buffers */
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_DEV_LIST, &dl));
	EXPECT_EQ(EFAULT, errno);
	dl.count = 0;
	EXPECT_EQ(-1, ioctl(self->fd, DSMIL_IOC_DEV_LIST, &dl));
	EXPECT_EQ(EINVAL, errno);

	/* handler-level bad input is counted like the dispatcher's */
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_STATS, &s1));
	EXPECT_EQ(s0.bad_input + 7, s1.bad_input);
	EXPECT_EQ(2, s1.refusals[DSMIL_REASON_BAD_ARG]);
	EXPECT_EQ(0, s1.transitions);
}

/*
 * The real SMI layer (simulated backend) underneath: a failing verification
 * puts the device in ERROR; a hung token read on an ACTIVE controller puts
 * it in ERROR and takes its ACTIVE dependents back to READY, in one step.
 */
TEST_F(state, verification_and_faults_through_the_smi_layer)
{
	struct dsmil_token_req tr = { .group = 0, .position = DSMIL_TOKEN_POWER };
	struct dsmil_audit_entry e[DSMIL_AUDIT_DEPTH];
	struct dsmil_audit_read ar = { .buf = (uintptr_t)e };
	struct dsmil_transition t;
	char want[256];
	int kfd, ret;

	if (access(DSMIL_SIM_DIR "/fault", W_OK))
		SKIP(return, "no SMI simulator knobs at " DSMIL_SIM_DIR);
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);

	/* the SMI answers with an error status: -EIO, device ERROR */
	ASSERT_EQ(0, sim_knob_write("fault", "error"));
	STEP(self->fd, ID(0, 0), INIT);
	EXPECT_EQ(-EIO, dev_transition(self->fd, ID(0, 0), READY, &t));
	EXPECT_EQ(DSMIL_REASON_VERIFY_FAILED, t.reason);
	EXPECT_EQ(ERR, t.state);
	EXPECT_EQ(ERR, dev_state(self->fd, ID(0, 0)));
	/* a device without a token verifies trivially */
	STEP(self->fd, ID(0, 1), INIT);
	STEP(self->fd, ID(0, 1), READY);
	snprintf(want, sizeof(want),
		 "dsmil: device-error: dev=DSMIL0D0 from=INITIALIZING to=ERROR reason=verify-failed errno=%d demoted=0",
		 -EIO);
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);

	/* it answers again: back up */
	ASSERT_EQ(0, sim_knob_write("fault", "none"));
	STEP(self->fd, ID(0, 0), INIT);
	STEP(self->fd, ID(0, 0), READY);
	STEP(self->fd, ID(0, 0), ACT);
	STEP(self->fd, ID(0, 1), ACT);
	bring_up(_metadata, self->fd, ID(1, 0));
	bring_up(_metadata, self->fd, ID(0, 2));

	/* the controller's token hangs: it fails, its dependents step back */
	ASSERT_EQ(0, sim_knob_write("fault", "hang"));
	ret = ioctl(self->fd, DSMIL_IOC_TOKEN_READ, &tr) ? -errno : 0;
	EXPECT_EQ(-ETIMEDOUT, ret);
	ASSERT_EQ(0, sim_knob_write("fault", "none"));
	EXPECT_EQ(ERR, dev_state(self->fd, ID(0, 0)));
	EXPECT_EQ(READY, dev_state(self->fd, ID(0, 1)));
	EXPECT_EQ(READY, dev_state(self->fd, ID(0, 2)));
	EXPECT_EQ(READY, dev_state(self->fd, ID(1, 0)));
	snprintf(want, sizeof(want),
		 "dsmil: device-error: dev=DSMIL0D0 from=ACTIVE to=ERROR reason=smi-fault errno=%d demoted=3",
		 -ETIMEDOUT);
	EXPECT_TRUE(kmsg_find(kfd, want, NULL)) TH_LOG("no '%s'", want);

	/* audited as the SMI layer's doing, dependents first */
	ar.count = DSMIL_AUDIT_DEPTH;
	ASSERT_EQ(0, ioctl(self->fd, DSMIL_IOC_AUDIT_READ, &ar));
	ASSERT_LE(4, ar.count);
	EXPECT_EQ(ID(1, 0), e[ar.count - 4].device);
	EXPECT_EQ(ID(0, 2), e[ar.count - 3].device);
	EXPECT_EQ(ID(0, 1), e[ar.count - 2].device);
	EXPECT_EQ(ID(0, 0), e[ar.count - 1].device);
	EXPECT_EQ(DSMIL_REASON_DEPENDENCY, e[ar.count - 2].reason);
	EXPECT_EQ(DSMIL_REASON_SMI_FAULT, e[ar.count - 1].reason);
	EXPECT_EQ(ERR, e[ar.count - 1].to);
	EXPECT_EQ(DSMIL_SRC_SMI, e[ar.count - 1].source);
	EXPECT_EQ(DSMIL_SRC_SMI, e[ar.count - 4].source);
	close(kfd);
}

TEST_F(state, unload_with_everything_up_is_clean)
{
	struct dsmil_dev_info list[N_DEV];
	char line[512];
	unsigned int id;
	int kfd, ret, unloaded = 0;

	for (id = 0; id < N_DEV; id++) {
		if (quarantined(id)) {
			STEP(self->fd, id, INIT);
			STEP(self->fd, id, READY);
		} else {
			bring_up(_metadata, self->fd, id);
		}
	}
	ASSERT_EQ(N_DEV, dev_list(self->fd, list, N_DEV));
	for (id = 0; id < N_DEV; id++) {
		EXPECT_EQ(quarantined(id) ? READY : ACT, list[id].state);
		EXPECT_EQ(DSMIL_GROUP_ACTIVE, list[id].group_state);
	}

	/* the open file pins the module */
	EXPECT_NE(0, syscall(SYS_delete_module, "dsmil", O_NONBLOCK));
	close(self->fd);
	self->fd = -1;

	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);
	ASSERT_EQ(0, syscall(SYS_delete_module, "dsmil", O_NONBLOCK))
		TH_LOG("rmmod: %s", strerror(errno));
	/* taken down without a refusal, an error or a stop on the way */
	while ((ret = kmsg_next(kfd, line, sizeof(line))) > 0) {
		if (strstr(line, "dsmil: unloaded"))
			unloaded = 1;
		EXPECT_EQ(NULL, strstr(line, "dsmil: refused-")) TH_LOG("%s", line);
		EXPECT_EQ(NULL, strstr(line, "dsmil: device-error")) TH_LOG("%s", line);
		EXPECT_EQ(NULL, strstr(line, "dsmil: emergency-stop")) TH_LOG("%s", line);
		EXPECT_EQ(NULL, strstr(line, "callbacks suppressed")) TH_LOG("%s", line);
	}
	EXPECT_TRUE(unloaded);
	close(kfd);

	/* back: everything OFFLINE again */
	ret = dsmil_reload(NULL);
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(N_DEV, dev_list(self->fd, list, N_DEV));
	for (id = 0; id < N_DEV; id++)
		EXPECT_EQ(OFF, list[id].state);
}

TEST_HARNESS_MAIN
