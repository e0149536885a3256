// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the write audit (DSMIL_IOC_WRITE_AUDIT_READ) through the
 * real module, with allow_writes=1 and the simulated backends.
 *
 * Each write the test makes is looked up in the audit by what the caller
 * can see (its pid, command name, token or offset) and checked field by
 * field: the value before, the value written, the read-back, the stage and
 * result, the request id.  The SMI simulator's own per-token counters prove
 * what the audited path sent: a read before, the write and a read-back for
 * a token write that passed its checks, nothing for one refused.
 *
 * kernel_audit_record checks the record the kernel's audit subsystem gets:
 * booted with audit=1 (tests/host/audit-check runs this case that way:
 * without auditd, kauditd prints records to the kernel log), the write's
 * "type=1316 ... op=dsmil-write" record must appear with its request id and
 * values, joined to the ioctl's own SYSCALL record; booted without, there
 * must be none.
 */
#include <regex.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

#define SIM_VALUE(tok)	(0xd5000000U | (tok))
#define COMM		"audit_test"

/* The whole write audit, oldest first: records read, or -errno. */
static int waudit_read(int fd, __u64 since, struct dsmil_write_record *r,
		       struct dsmil_write_audit_read *out)
{
	struct dsmil_write_audit_read ar = {
		.buf = (uintptr_t)r, .count = DSMIL_WRITE_AUDIT_DEPTH,
		.since_seq = since,
	};
	int ret = dsmil_ioc(fd, DSMIL_IOC_WRITE_AUDIT_READ, &ar);

	if (out)
		*out = ar;
	return ret ? ret : (int)ar.count;
}

/* The next sequence number: where the records of what follows start. */
static __u64 waudit_next(int fd)
{
	struct dsmil_write_audit_read ar;
	struct dsmil_write_record r;

	memset(&ar, 0, sizeof(ar));
	ar.buf = (uintptr_t)&r;
	ar.count = 1;
	ar.since_seq = ~0ULL;
	if (dsmil_ioc(fd, DSMIL_IOC_WRITE_AUDIT_READ, &ar))
		return 0;
	return ar.next_seq;
}

static int token_write(int fd, unsigned int g, unsigned int pos, __u32 value,
		       struct dsmil_token_req *out)
{
	struct dsmil_token_req tr = { .group = g, .position = pos,
				      .value = value };
	int ret = dsmil_ioc(fd, DSMIL_IOC_TOKEN_WRITE, &tr);

	if (out)
		*out = tr;
	return ret;
}

FIXTURE(waudit) {
	int fd;
	struct dsmil_write_record r[DSMIL_WRITE_AUDIT_DEPTH];
};

FIXTURE_SETUP(waudit)
{
	int ret = dsmil_reload("allow_writes=1");

	ASSERT_EQ(0, ret) TH_LOG("loading dsmil.ko: %s", strerror(-ret));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
	if (dsmil_ioc(self->fd, DSMIL_IOC_WRITE_AUDIT_READ,
		      &(struct dsmil_write_audit_read){}) == -ENOTTY)
		SKIP(return, "the driver has no write audit");
}

FIXTURE_TEARDOWN(waudit)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, dsmil_restore_defaults());
}

/* Every record names this process. */
static void expect_mine(struct __test_metadata *_metadata,
			const struct dsmil_write_record *r)
{
	EXPECT_EQ((__u32)getpid(), r->pid);
	EXPECT_EQ(0, r->uid);
	EXPECT_STREQ(COMM, (const char *)r->comm);
	EXPECT_NE(0, r->time_ns);
	EXPECT_NE(0, r->request_id);
}

TEST_F(waudit, token_writes_recorded)
{
	unsigned int tok = token_of(0, DSMIL_TOKEN_POWER);
	long long reads, writes, reads3;
	struct dsmil_token_req tr;
	__u64 next;
	int n;

	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	ASSERT_EQ(0, dev_bring_up(self->fd, 3, false));		/* READY */
	reads = sim_reads(tok);
	writes = sim_writes(tok);
	reads3 = sim_reads(token_of(0, 3));
	ASSERT_LE(0, reads);
	next = waudit_next(self->fd);
	ASSERT_EQ(1, next);	/* a fresh module: nothing written yet */

	ASSERT_EQ(0, token_write(self->fd, 0, DSMIL_TOKEN_POWER, 0x1234, &tr));
	EXPECT_EQ(SIM_VALUE(tok), tr.old_value);
	ASSERT_EQ(0, token_write(self->fd, 0, DSMIL_TOKEN_POWER, 0x5678, NULL));
	/* READY is not enough to write: refused, recorded, nothing sent. */
	EXPECT_EQ(-ENODEV, token_write(self->fd, 0, 3, 0x99, NULL));

	/* Each write: a read before, the write, a read-back. */
	EXPECT_EQ(reads + 4, sim_reads(tok));
	EXPECT_EQ(writes + 2, sim_writes(tok));
	EXPECT_EQ(reads3, sim_reads(token_of(0, 3)));
	EXPECT_EQ(0, sim_writes(token_of(0, 3)));

	n = waudit_read(self->fd, next, self->r, NULL);
	ASSERT_EQ(3, n);
	for (int i = 0; i < n; i++) {
		expect_mine(_metadata, &self->r[i]);
		EXPECT_EQ(next + i, self->r[i].seq);
		EXPECT_EQ(DSMIL_WREC_TOKEN, self->r[i].kind);
		if (i)
			EXPECT_LT(self->r[i - 1].request_id, self->r[i].request_id);
	}
	EXPECT_EQ(DSMIL_WREC_AT_READBACK, self->r[0].stage);
	EXPECT_EQ(0, self->r[0].device);
	EXPECT_EQ(tok, self->r[0].token);
	EXPECT_EQ(DSMIL_WREC_F_OLD | DSMIL_WREC_F_VALUE | DSMIL_WREC_F_READBACK,
		  self->r[0].flags);
	EXPECT_EQ(SIM_VALUE(tok), self->r[0].old_value);
	EXPECT_EQ(0x1234, self->r[0].value);
	EXPECT_EQ(0x1234, self->r[0].readback);
	EXPECT_EQ(0, self->r[0].error);

	EXPECT_EQ(0x1234, self->r[1].old_value);
	EXPECT_EQ(0x5678, self->r[1].value);
	EXPECT_EQ(0x5678, self->r[1].readback);

	EXPECT_EQ(DSMIL_WREC_AT_REFUSED, self->r[2].stage);
	EXPECT_EQ(ENODEV, self->r[2].error);
	EXPECT_EQ(3, self->r[2].device);
	EXPECT_EQ(token_of(0, 3), self->r[2].token);
	EXPECT_EQ(DSMIL_WREC_F_VALUE, self->r[2].flags);
	EXPECT_EQ(0x99, self->r[2].value);

	/* Bad arguments are not writes: no record. */
	EXPECT_EQ(-EINVAL, token_write(self->fd, 6, 0, 1, NULL));
	EXPECT_EQ(next + 3, waudit_next(self->fd));
}

/* One record per MMIO write ioctl, raw or device-scoped, single or bulk. */
TEST_F(waudit, mmio_writes_recorded)
{
	static __u8 buf[64 * 1024];
	__u64 next, v = 0x1122334455667788ULL, done = 0;
	const __u64 boundary = 3 * DSMIL_CHUNK_SIZE;
	int n;

	if (!(dsmil_features() & DSMIL_FEAT_MMIO))
		SKIP(return, "the driver has no MMIO ioctls");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	memset(buf, 0xa5, sizeof(buf));
	next = waudit_next(self->fd);

	/* Raw, outside every device window. */
	ASSERT_EQ(0, mmio_rw(self->fd, DSMIL_IOC_MMIO_WRITE, 0x100008, 8, 0, 0,
			     &v));
	/* Device-scoped, 2 bytes of a wider value. */
	v = 0xabcdef;
	ASSERT_EQ(0, mmio_rw(self->fd, DSMIL_IOC_MMIO_WRITE, 0x10, 2,
			     DSMIL_MMIO_F_DEVICE, 0, &v));
	/* Bulk, 16 pages across a chunk boundary: still one record. */
	ASSERT_EQ(0, mmio_bulk(self->fd, DSMIL_IOC_MMIO_BULK_WRITE,
			       boundary - sizeof(buf) / 2, buf, sizeof(buf), 0,
			       0, &done));
	ASSERT_EQ(sizeof(buf), done);
	/* Refused for the argument (past the region): not a write. */
	EXPECT_EQ(-ERANGE, mmio_rw(self->fd, DSMIL_IOC_MMIO_WRITE,
				   DSMIL_DEFAULT_REGION_SIZE, 4, 0, 0, &v));
	/* Refused by the device's state (OFFLINE): recorded. */
	EXPECT_EQ(-ENODEV, mmio_rw(self->fd, DSMIL_IOC_MMIO_WRITE, 0, 4,
				   DSMIL_MMIO_F_DEVICE, 5, &v));

	n = waudit_read(self->fd, next, self->r, NULL);
	ASSERT_EQ(4, n);
	for (int i = 0; i < n; i++) {
		expect_mine(_metadata, &self->r[i]);
		EXPECT_EQ(0, self->r[i].token);
		EXPECT_EQ(0, self->r[i].old_value);
		EXPECT_FALSE(self->r[i].flags & (DSMIL_WREC_F_OLD |
						 DSMIL_WREC_F_READBACK));
	}
	EXPECT_EQ(DSMIL_WREC_MMIO, self->r[0].kind);
	EXPECT_EQ(DSMIL_WREC_AT_WRITE, self->r[0].stage);
	EXPECT_EQ(DSMIL_WREC_NO_DEVICE, self->r[0].device);
	EXPECT_EQ(0x100008, self->r[0].offset);
	EXPECT_EQ(8, self->r[0].length);
	EXPECT_EQ(8, self->r[0].done);
	EXPECT_EQ(0x1122334455667788ULL, self->r[0].value);
	EXPECT_EQ(DSMIL_WREC_F_VALUE, self->r[0].flags);
	EXPECT_EQ(0, self->r[0].error);

	EXPECT_EQ(0, self->r[1].device);
	EXPECT_EQ(DSMIL_WREC_F_VALUE | DSMIL_WREC_F_DEVICE, self->r[1].flags);
	EXPECT_EQ(0x10, self->r[1].offset);
	EXPECT_EQ(2, self->r[1].length);
	EXPECT_EQ(0xcdef, self->r[1].value);

	EXPECT_EQ(DSMIL_WREC_MMIO_BULK, self->r[2].kind);
	EXPECT_EQ(boundary - sizeof(buf) / 2, self->r[2].offset);
	EXPECT_EQ(sizeof(buf), self->r[2].length);
	EXPECT_EQ(sizeof(buf), self->r[2].done);
	EXPECT_EQ(0, self->r[2].flags);
	EXPECT_EQ(0, self->r[2].error);

	EXPECT_EQ(DSMIL_WREC_AT_REFUSED, self->r[3].stage);
	EXPECT_EQ(5, self->r[3].device);
	EXPECT_EQ(ENODEV, self->r[3].error);
	EXPECT_EQ(0, self->r[3].done);
}

/* Firmware that acknowledges a write and ignores it. */
TEST_F(waudit, write_mismatch)
{
	unsigned int tok = token_of(0, DSMIL_TOKEN_POWER);
	struct dsmil_write_audit_read ar;
	char want[160];
	__u64 next;
	int kfd, n;
	bool seen;

	if (locked_down())
		SKIP(return, "the simulator's knobs need debugfs (lockdown)");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	ASSERT_EQ(0, sim_knob_write("drop_writes", "1"));
	next = waudit_next(self->fd);
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);

	EXPECT_EQ(-EIO, token_write(self->fd, 0, DSMIL_TOKEN_POWER, 0xbeef,
				    NULL));
	EXPECT_EQ(1, sim_writes(tok));		/* it reached the simulator */
	EXPECT_EQ(1, sim_stat("dropped_writes"));

	n = waudit_read(self->fd, next, self->r, &ar);
	ASSERT_EQ(1, n);
	EXPECT_EQ(1, ar.mismatches);
	EXPECT_EQ(DSMIL_WREC_AT_READBACK, self->r[0].stage);
	EXPECT_TRUE(self->r[0].flags & DSMIL_WREC_F_MISMATCH);
	EXPECT_EQ(SIM_VALUE(tok), self->r[0].old_value);
	EXPECT_EQ(0xbeef, self->r[0].value);
	EXPECT_EQ(SIM_VALUE(tok), self->r[0].readback);
	EXPECT_EQ(EIO, self->r[0].error);

	snprintf(want, sizeof(want),
		 "write-mismatch: token=0x%04x dev=DSMIL0D0 request=%llu ",
		 tok, (unsigned long long)self->r[0].request_id);
	seen = kmsg_find(kfd, want, "written=0x0000beef",
			 "readback=0xd5000480", NULL);
	close(kfd);
	EXPECT_TRUE(seen) TH_LOG("no '%s' line", want);

	/* The knob is used up: the next write takes, no new incident. */
	EXPECT_EQ(0, token_write(self->fd, 0, DSMIL_TOKEN_POWER, 0xbeef, NULL));
	ASSERT_EQ(2, waudit_read(self->fd, next, self->r, &ar));
	EXPECT_EQ(1, ar.mismatches);
	EXPECT_EQ(0xbeef, self->r[1].readback);
	EXPECT_EQ(0, self->r[1].error);
}

/* Reading the write audit names who wrote what: CAP_SYS_ADMIN only. */
TEST_F(waudit, read_needs_cap_sys_admin)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct dsmil_write_record r;
		struct dsmil_write_audit_read ar = {
			.buf = (uintptr_t)&r, .count = 1,
		};

		if (drop_cap(CAP_SYS_ADMIN))
			_exit(2);
		_exit(dsmil_ioc(self->fd, DSMIL_IOC_WRITE_AUDIT_READ, &ar) ==
		      -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* count 0 and a reserved field set: -EINVAL. */
	EXPECT_EQ(-EINVAL, dsmil_ioc(self->fd, DSMIL_IOC_WRITE_AUDIT_READ,
				     &(struct dsmil_write_audit_read){}));
	EXPECT_EQ(-EINVAL, dsmil_ioc(self->fd, DSMIL_IOC_WRITE_AUDIT_READ,
				     &(struct dsmil_write_audit_read){
					     .count = 1, .reserved0 = 1 }));
}

/* Was the kernel booted with audit=1? */
static bool audit_on_cmdline(void)
{
	char cmdline[4096];
	char *p;

	if (read_text("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		return false;
	for (p = strtok(cmdline, " \n"); p; p = strtok(NULL, " \n"))
		if (!strcmp(p, "audit=1"))
			return true;
	return false;
}

/* "audit(T:S)" of @line into @stamp, or false. */
static bool audit_stamp(const char *line, char *stamp, size_t len)
{
	const char *a = strstr(line, "audit("), *e;

	if (!a || !(e = strchr(a, ')')) || (size_t)(e - a + 1) >= len)
		return false;
	memcpy(stamp, a, e - a + 1);
	stamp[e - a + 1] = '\0';
	return true;
}

/*
 * Our record and the ioctl's SYSCALL record, from the kernel log (kauditd
 * prints them a little later): waits up to @ms for both.
 */
static void find_audit_records(int kfd, const char *mine, char *rec,
			       size_t len, bool *syscall_seen, int ms)
{
	char line[2048], stamp[64] = "";
	int tries;

	rec[0] = '\0';
	*syscall_seen = false;
	for (tries = 0; tries < ms / 100 && !*syscall_seen; tries++) {
		while (kmsg_next(kfd, line, sizeof(line))) {
			if (!rec[0] && strstr(line, "type=1316 ") &&
			    strstr(line, mine)) {
				snprintf(rec, len, "%s", line);
				audit_stamp(line, stamp, sizeof(stamp));
			} else if (stamp[0] && strstr(line, "type=1300 ") &&
				   strstr(line, stamp)) {
				*syscall_seen = true;
			}
		}
		if (!*syscall_seen)
			sleep_ms(100);
	}
}

TEST_F(waudit, kernel_audit_record)
{
	char mine[64], rec[2048];
	bool on = audit_on_cmdline(), syscall_seen;
	__u64 next;
	int kfd;

	if (on)
		ASSERT_TRUE(file_exists("/proc/self/loginuid"))
			TH_LOG("booted with audit=1 but the kernel has no audit (CONFIG_AUDIT)");
	ASSERT_EQ(0, dev_bring_up(self->fd, 0, true));
	next = waudit_next(self->fd);
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);
	ASSERT_EQ(0, token_write(self->fd, 0, DSMIL_TOKEN_POWER, 0x4321, NULL));
	ASSERT_EQ(1, waudit_read(self->fd, next, self->r, NULL));
	snprintf(mine, sizeof(mine), "op=dsmil-write kind=token request=%llu ",
		 (unsigned long long)self->r[0].request_id);

	/* Off, a record would not take long either: 2 s is plenty. */
	find_audit_records(kfd, mine, rec, sizeof(rec), &syscall_seen,
			   on ? 10000 : 2000);
	close(kfd);
	if (!on) {
		/* audit is off: the driver sends nothing to it. */
		EXPECT_STREQ("", rec);
		return;
	}
	ASSERT_STRNE("", rec) TH_LOG("no audit record '%s'", mine);
	ksft_print_msg("audit record: %s\n", rec);
	EXPECT_NE(NULL, strstr(rec, "dev=DSMIL0D0 stage=read-back token=0x0480 old=0xd5000480 new=0x4321 readback=0x4321 mismatch=0 errno=0"));
	EXPECT_NE(NULL, strstr(rec, " comm=\"" COMM "\""));
	EXPECT_NE(NULL, strstr(rec, " res=1"));
	/* Made inside the ioctl: the syscall's own record shares its serial. */
	EXPECT_TRUE(syscall_seen) TH_LOG("no type=1300 record with the same serial");
}

TEST_HARNESS_MAIN
