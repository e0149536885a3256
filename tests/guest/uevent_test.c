// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the driver's uevents (Documentation/dsmil-uevents.rst):
 * a listener on NETLINK_KOBJECT_UEVENT (the kernel's group 1, what udev
 * reads) sees a KOBJ_CHANGE on /devices/platform/dsmil with the documented
 * keys for each device state change, emergency stop (of a group and of
 * everything), SMI FAULTED and recovery; a flood of state changes is held to
 * the documented budget, what is over it counted as dropped and the drop
 * signalled, and an emergency stop still gets through after it.
 *
 * Every test starts from a freshly loaded dsmil.ko, so the budgets are
 * fresh.  At the end the events seen per kind are printed:
 * "# uevents: state=N estop=N smi-faulted=N smi-recovered=N".
 */
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define DEVPATH		"/devices/platform/dsmil"
#define SYSFS_MISC	"/sys/class/misc/dsmil"

/* As dsmil_uevent.h: the budgets per 1000 ms window. */
#define INTERVAL_MS	1000
#define STATE_BURST	16
/* An event the driver should send comes well within this. */
#define WAIT_MS		3000
/* ... and one it should not send would have come within this. */
#define QUIET_MS	400

#define MAX_KEYS	32

/* One uevent: the header and its KEY=value pairs. */
struct uev {
	char buf[4096];
	const char *key[MAX_KEYS];
	const char *val[MAX_KEYS];
	int n;
};

enum { K_STATE, K_ESTOP, K_FAULTED, K_RECOVERED, K_KINDS };
static const char *const kind_names[K_KINDS] = {
	"state", "estop", "smi-faulted", "smi-recovered",
};

/* Events seen per kind by all tests (the harness forks one child each). */
static unsigned long *seen;
static pid_t parent;

__attribute__((constructor)) static void seen_init(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	seen = p == MAP_FAILED ? NULL : p;
	parent = getpid();
}

__attribute__((destructor)) static void seen_print(void)
{
	if (!seen || getpid() != parent)
		return;
	printf("# uevents: state=%lu estop=%lu smi-faulted=%lu smi-recovered=%lu\n",
	       seen[K_STATE], seen[K_ESTOP], seen[K_FAULTED], seen[K_RECOVERED]);
	fflush(stdout);
}

static const char *uev_get(const struct uev *e, const char *key)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (!strcmp(e->key[i], key))
			return e->val[i];
	return NULL;
}

/* A listener on the kernel's uevents, with room for a flood. */
static int uev_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int sz = 4 << 20;
	int fd;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/*
 * The next uevent of the driver (DEVPATH of the platform device and a
 * DSMIL_EVENT key) within @ms: 1, 0 on timeout, -errno.  Others (the
 * module's own add/remove, other devices) are skipped.
 */
static int uev_next(int fd, struct uev *e, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		const char *dp;
		ssize_t len;
		size_t off, next;
		int r;

		if (now >= end)
			return 0;
		r = poll(&p, 1, end - now);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		len = recv(fd, e->buf, sizeof(e->buf) - 1, 0);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;	/* -ENOBUFS: events were lost */
		}
		e->buf[len] = '\0';
		e->n = 0;
		/* "action@devpath\0KEY=value\0..." */
		for (off = strlen(e->buf) + 1; off < (size_t)len && e->n < MAX_KEYS;
		     off += next) {
			char *kv = e->buf + off, *eq = strchr(kv, '=');

			next = strlen(kv) + 1;
			if (!eq)
				continue;
			*eq = '\0';
			e->key[e->n] = kv;
			e->val[e->n] = eq + 1;
			e->n++;
		}
		dp = uev_get(e, "DEVPATH");
		if (!dp || strcmp(dp, DEVPATH) || !uev_get(e, "DSMIL_EVENT"))
			continue;
		return 1;
	}
}

static void uev_count(const struct uev *e)
{
	const char *k = uev_get(e, "DSMIL_EVENT");
	int i;

	for (i = 0; seen && k && i < K_KINDS; i++)
		if (!strcmp(k, kind_names[i]))
			__atomic_fetch_add(&seen[i], 1, __ATOMIC_RELAXED);
}

static long long misc_num(const char *name)
{
	return dir_read_num(SYSFS_MISC, name);
}

FIXTURE(uevent) {
	int fd;		/* /dev/dsmil */
	int nl;		/* the uevent listener */
	bool lockdown;
};

FIXTURE_SETUP(uevent)
{
	self->fd = -1;
	self->nl = -1;
	self->lockdown = locked_down();
	if (!dsmil_can_reload())
		SKIP(return, "lockdown and an unsigned module: cannot reload it");
	/* Fresh budgets, and nothing of an earlier test left queued. */
	ASSERT_EQ(0, dsmil_reload(NULL));
	self->nl = uev_open();
	ASSERT_LE(0, self->nl) TH_LOG("uevent socket: %s", strerror(-self->nl));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/dsmil: %s", strerror(errno));
}

FIXTURE_TEARDOWN(uevent)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->nl >= 0)
		close(self->nl);
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* The next driver event, which must be a state event of @id from -> to. */
static void expect_state(struct __test_metadata *_metadata, int nl,
			 unsigned int id, unsigned int from, unsigned int to,
			 const char *reason, const char *source)
{
	char num[16], name[32];
	struct uev e;

	ASSERT_EQ(1, uev_next(nl, &e, WAIT_MS))
		TH_LOG("no state event for device %u %s -> %s", id,
		       dsu_state_name(from), dsu_state_name(to));
	uev_count(&e);
	snprintf(num, sizeof(num), "%u", id);
	snprintf(name, sizeof(name), "DSMIL%uD%X", id / 12, id % 12);
	EXPECT_STREQ("change", uev_get(&e, "ACTION"));
	EXPECT_STREQ("platform", uev_get(&e, "SUBSYSTEM"));
	ASSERT_STREQ("state", uev_get(&e, "DSMIL_EVENT"));
	ASSERT_STREQ(num, uev_get(&e, "DEVICE"));
	EXPECT_STREQ(name, uev_get(&e, "DEVICE_NAME"));
	snprintf(num, sizeof(num), "%u", id / 12);
	EXPECT_STREQ(num, uev_get(&e, "GROUP"));
	EXPECT_STREQ(dsu_state_name(from), uev_get(&e, "FROM"));
	EXPECT_STREQ(dsu_state_name(to), uev_get(&e, "TO"));
	EXPECT_STREQ(reason, uev_get(&e, "REASON"));
	EXPECT_STREQ(source, uev_get(&e, "SOURCE"));
}

/* No driver event within QUIET_MS. */
static void expect_quiet(struct __test_metadata *_metadata, int nl)
{
	struct uev e;

	EXPECT_EQ(0, uev_next(nl, &e, QUIET_MS))
		TH_LOG("unexpected event DSMIL_EVENT=%s DEVICE=%s",
		       uev_get(&e, "DSMIL_EVENT"), uev_get(&e, "DEVICE") ?: "-");
}

TEST_F(uevent, state_changes)
{
	int nl = self->nl, fd = self->fd;

	ASSERT_EQ(0, dev_transition(fd, 0, DSMIL_DEV_INITIALIZING, NULL));
	expect_state(_metadata, nl, 0, DSMIL_DEV_OFFLINE, DSMIL_DEV_INITIALIZING,
		     "none", "ioctl");
	/* Verified through the SMI engine, the lock dropped meanwhile. */
	ASSERT_EQ(0, dev_transition(fd, 0, DSMIL_DEV_READY, NULL));
	expect_state(_metadata, nl, 0, DSMIL_DEV_INITIALIZING, DSMIL_DEV_READY,
		     "none", "ioctl");
	ASSERT_EQ(0, dev_transition(fd, 0, DSMIL_DEV_ACTIVE, NULL));
	expect_state(_metadata, nl, 0, DSMIL_DEV_READY, DSMIL_DEV_ACTIVE,
		     "none", "ioctl");
	ASSERT_EQ(0, dev_transition(fd, 0, DSMIL_DEV_READY, NULL));
	expect_state(_metadata, nl, 0, DSMIL_DEV_ACTIVE, DSMIL_DEV_READY,
		     "none", "ioctl");
	ASSERT_EQ(0, dev_transition(fd, 13, DSMIL_DEV_INITIALIZING, NULL));
	expect_state(_metadata, nl, 13, DSMIL_DEV_OFFLINE, DSMIL_DEV_INITIALIZING,
		     "none", "ioctl");

	/* A refused transition changes nothing: no event. */
	EXPECT_EQ(-EINVAL, dev_transition(fd, 1, DSMIL_DEV_READY, NULL));
	expect_quiet(_metadata, nl);

	EXPECT_EQ(5, misc_num("uevents_sent"));
	EXPECT_EQ(0, misc_num("uevents_dropped"));
}

/* The one estop event of a stop of @group, which must lock @locked devices. */
static void expect_estop(struct __test_metadata *_metadata, int nl,
			 unsigned int group, const char *groups,
			 const char *scope, unsigned int locked)
{
	char num[16];
	struct uev e;

	ASSERT_EQ(1, uev_next(nl, &e, WAIT_MS))
		TH_LOG("no estop event for group %u", group);
	uev_count(&e);
	EXPECT_STREQ("change", uev_get(&e, "ACTION"));
	ASSERT_STREQ("estop", uev_get(&e, "DSMIL_EVENT"));
	snprintf(num, sizeof(num), "%u", group);
	EXPECT_STREQ(num, uev_get(&e, "GROUP"));
	EXPECT_STREQ(groups, uev_get(&e, "GROUPS"));
	EXPECT_STREQ(scope, uev_get(&e, "SCOPE"));
	snprintf(num, sizeof(num), "%u", locked);
	EXPECT_STREQ(num, uev_get(&e, "LOCKED"));
	EXPECT_STREQ("0", uev_get(&e, "IN_DOUBT"));
}

/* A group and what depends on it: one event, none per locked device. */
TEST_F(uevent, group_estop)
{
	unsigned int locked;

	ASSERT_EQ(0, group_estop(self->fd, 4, &locked));
	ASSERT_EQ(24, locked);
	expect_estop(_metadata, self->nl, 4, "4,5", "group", 24);
	expect_quiet(_metadata, self->nl);

	/* Stopping it again locks nothing, and is still told. */
	ASSERT_EQ(0, group_estop(self->fd, 5, &locked));
	ASSERT_EQ(0, locked);
	expect_estop(_metadata, self->nl, 5, "5", "group", 0);
}

/* Group 0: every group needs it, so everything stops. */
TEST_F(uevent, global_estop)
{
	unsigned int locked;

	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	expect_state(_metadata, self->nl, 0, DSMIL_DEV_OFFLINE,
		     DSMIL_DEV_INITIALIZING, "none", "ioctl");
	expect_state(_metadata, self->nl, 0, DSMIL_DEV_INITIALIZING,
		     DSMIL_DEV_READY, "none", "ioctl");
	expect_state(_metadata, self->nl, 0, DSMIL_DEV_READY,
		     DSMIL_DEV_ACTIVE, "none", "ioctl");

	ASSERT_EQ(0, group_estop(self->fd, 0, &locked));
	ASSERT_EQ(DSMIL_NUM_DEVICES, locked);
	expect_estop(_metadata, self->nl, 0, "0,1,2,3,4,5", "global",
		     DSMIL_NUM_DEVICES);
	expect_quiet(_metadata, self->nl);
	EXPECT_EQ(4, misc_num("uevents_sent"));
}

static int read_dev(int fd, unsigned int id)
{
	struct dsmil_token_req tr = { .group = id / 12, .position = id % 12 };

	return dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &tr);
}

/*
 * Three hung SMIs (smi_fault_limit) make the backend FAULTED; each timed-out
 * device goes to ERROR (a state event of source smi); the third one's
 * request is named by the smi-faulted event.  DSMIL_IOC_SMI_RECOVER ends it.
 */
TEST_F(uevent, smi_faulted_and_recovered)
{
	static const unsigned int devs[] = { 0, 3, 6 };
	bool faulted = false, err[3] = {};
	struct dsmil_smi_status st;
	const char *v;
	struct uev e;
	unsigned int i;
	char *end;

	if (self->lockdown)
		SKIP(return, "lockdown: debugfs knobs are not writable");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, dev_bring_up(self->fd, devs[i], false));
		expect_state(_metadata, self->nl, devs[i], DSMIL_DEV_OFFLINE,
			     DSMIL_DEV_INITIALIZING, "none", "ioctl");
		expect_state(_metadata, self->nl, devs[i], DSMIL_DEV_INITIALIZING,
			     DSMIL_DEV_READY, "none", "ioctl");
	}

	ASSERT_EQ(0, sim_knob_write("fault", "hang"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-ETIMEDOUT, read_dev(self->fd, devs[i]));
	ASSERT_EQ(0, smi_status(self->fd, &st));
	ASSERT_EQ(DSMIL_SMI_FAULTED, st.state);

	/* Four events: each device's ERROR, and FAULTED. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, uev_next(self->nl, &e, WAIT_MS))
			TH_LOG("%u of 4 events", i);
		uev_count(&e);
		EXPECT_STREQ("change", uev_get(&e, "ACTION"));
		v = uev_get(&e, "DSMIL_EVENT");
		if (!strcmp(v, "smi-faulted")) {
			EXPECT_FALSE(faulted);
			faulted = true;
			EXPECT_STREQ("6", uev_get(&e, "DEVICE"));
			EXPECT_STREQ("DSMIL0D6", uev_get(&e, "DEVICE_NAME"));
			EXPECT_STREQ("0x0486", uev_get(&e, "TOKEN"));
			EXPECT_STREQ("hang", uev_get(&e, "REASON"));
			continue;
		}
		ASSERT_STREQ("state", v);
		v = uev_get(&e, "DEVICE");
		ASSERT_NE(NULL, v);
		EXPECT_STREQ("READY", uev_get(&e, "FROM"));
		EXPECT_STREQ("ERROR", uev_get(&e, "TO"));
		EXPECT_STREQ("smi-fault", uev_get(&e, "REASON"));
		EXPECT_STREQ("smi", uev_get(&e, "SOURCE"));
		if (!strcmp(v, "0"))
			err[0] = true;
		else if (!strcmp(v, "3"))
			err[1] = true;
		else if (!strcmp(v, "6"))
			err[2] = true;
	}
	EXPECT_TRUE(faulted);
	EXPECT_TRUE(err[0] && err[1] && err[2]);

	ASSERT_EQ(0, sim_knob_write("fault", "none"));
	ASSERT_EQ(0, smi_recover(self->fd));
	ASSERT_EQ(1, uev_next(self->nl, &e, WAIT_MS)) TH_LOG("no smi-recovered");
	uev_count(&e);
	ASSERT_STREQ("smi-recovered", uev_get(&e, "DSMIL_EVENT"));
	v = uev_get(&e, "FAULTED_MS");
	ASSERT_NE(NULL, v);
	strtoull(v, &end, 10);
	EXPECT_TRUE(*v && !*end) TH_LOG("FAULTED_MS=%s", v);

	/* Recovering a backend that is not FAULTED is no event. */
	ASSERT_EQ(0, smi_recover(self->fd));
	expect_quiet(_metadata, self->nl);
}

#define FLOOD	200

/*
 * Many state changes at once: no more state events than the budget allows
 * in the time the flood took, every change either sent or counted as
 * dropped, the drop signalled (at most once per interval), and an
 * emergency stop right after still told (it has a budget of its own).
 */
TEST_F(uevent, flood_is_rate_limited)
{
	long long sent0, dropped0, sent, dropped, last_dropped = 0;
	unsigned int i, windows, state = 0, signals = 0, estops = 0, locked;
	uint64_t t0, ms;
	struct uev e;
	char *end;
	int r;

	ASSERT_EQ(0, dev_bring_up(self->fd, 0, false));
	expect_state(_metadata, self->nl, 0, DSMIL_DEV_OFFLINE,
		     DSMIL_DEV_INITIALIZING, "none", "ioctl");
	expect_state(_metadata, self->nl, 0, DSMIL_DEV_INITIALIZING,
		     DSMIL_DEV_READY, "none", "ioctl");
	/* Counted once kobject_uevent_env() returns: just after we saw it. */
	for (t0 = now_ms(); misc_num("uevents_sent") < 2 && now_ms() - t0 < WAIT_MS; )
		sleep_ms(10);
	sent0 = misc_num("uevents_sent");
	dropped0 = misc_num("uevents_dropped");
	ASSERT_EQ(2, sent0);
	ASSERT_EQ(0, dropped0);

	t0 = now_ms();
	for (i = 0; i < FLOOD; i++)
		ASSERT_EQ(0, dev_transition(self->fd, 0, i % 2 ? DSMIL_DEV_READY :
					    DSMIL_DEV_ACTIVE, NULL));
	ms = now_ms() - t0;
	ASSERT_EQ(0, group_estop(self->fd, 0, &locked));

	/* Windows the flood can have touched: each opens with an event. */
	windows = ms / INTERVAL_MS + 2;
	while ((r = uev_next(self->nl, &e, 1500)) == 1) {
		const char *k = uev_get(&e, "DSMIL_EVENT");

		uev_count(&e);
		if (!strcmp(k, "state")) {
			state++;
		} else if (!strcmp(k, "dropped")) {
			signals++;
			last_dropped = strtoll(uev_get(&e, "DROPPED") ?: "x", &end, 10);
			EXPECT_EQ('\0', *end);
		} else if (!strcmp(k, "estop")) {
			estops++;
			EXPECT_STREQ("global", uev_get(&e, "SCOPE"));
		} else {
			TH_LOG("unexpected DSMIL_EVENT=%s", k);
			EXPECT_TRUE(false);
		}
	}
	ASSERT_EQ(0, r) TH_LOG("uevent socket: %s", strerror(-r));
	sent = misc_num("uevents_sent") - sent0;
	dropped = misc_num("uevents_dropped") - dropped0;
	TH_LOG("flood: %u changes in %llu ms: %u state events, %lld dropped, %u drop signals",
	       FLOOD, (unsigned long long)ms, state, dropped, signals);

	/* The budget: the first window had 2 events already. */
	EXPECT_GE(STATE_BURST * windows, state + 2);
	EXPECT_LE(STATE_BURST - 2, state);
	/* Every change was sent (and seen) or counted as dropped. */
	EXPECT_EQ(state + estops, sent);
	EXPECT_EQ(FLOOD, state + dropped);
	/* The drop was told, not more than once per interval. */
	EXPECT_LE(1, signals);
	EXPECT_GE(windows, signals);
	EXPECT_LE(1, last_dropped);
	EXPECT_GE(dropped, last_dropped);
	/* The stop after the flood was not crowded out. */
	EXPECT_EQ(1, estops);
}

TEST_HARNESS_MAIN
