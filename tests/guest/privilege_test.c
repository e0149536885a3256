// SPDX-License-Identifier: GPL-2.0
/*
 * The privilege and lockdown matrix: every ioctl command (and open(2), and
 * the quarantine refusals) x {root, root without CAP_SYS_RAWIO, uid 1000
 * without capabilities} x {allow_writes off, on}, in the lockdown mode of
 * the current boot (/sys/kernel/security/lockdown).  tests/host/run-suites
 * runs it in three boots: no lockdown, lockdown=integrity and
 * lockdown=confidentiality.
 *
 * The expected result of every cell is written down once, in matrix[]
 * below (copied into Documentation/dsmil-security.rst).  For every cell
 * the test also proves with the sims' own counters that a refused
 * request never reached the backend (SMI sim: submits and per-token reads
 * and writes; MMIO: bytes, maps and per-chunk hits), and that an allowed
 * one did.  The unprivileged caller uses a file the test opened as root
 * before dropping privileges, as a leaked descriptor would be.
 *
 * Also: the region's physical base reaches only CAP_SYS_ADMIN callers, and
 * under lockdown INFO does not add a kernel log line per call.
 *
 * Needs root.  Switches allow_writes through its module parameter file
 * and leaves it off (without lockdown: reloads dsmil.ko with defaults).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lib/dsmil_test.h"

enum ident { ROOT, NORAWIO, USER, NIDENT };

static const char *const ident_names[] = {
	"root", "root without CAP_SYS_RAWIO", "uid 1000 without capabilities",
};

enum op {
	OP_OPEN, OP_INFO, OP_STATS, OP_DEV_INFO, OP_DEV_LIST, OP_TRANSITION,
	OP_ESTOP, OP_AUDIT, OP_TOKEN_READ, OP_TOKEN_WRITE, OP_SMI_STATUS,
	OP_SMI_RECOVER, OP_MMIO_READ, OP_MMIO_WRITE, OP_BULK_READ,
	OP_BULK_WRITE, OP_MMIO_STATUS, OP_TOKEN_READ_Q, OP_TOKEN_WRITE_Q,
	OP_MMIO_WRITE_Q, OP_MMIO_WRITE_RAWQ, OP_WRITE_AUDIT, OP_SMI_RESULT,
	OP_SMI_RESCAN, OP_SUBMIT_READ, OP_SUBMIT_WRITE, OP_CANCEL,
};

/* Expected errno with allow_writes off and on; 0 is success. */
struct cell {
	int off, on;
};

#define A(e)	{ e, e }	/* the same whatever allow_writes says */
#define W	{ EACCES, 0 }	/* refused only while allow_writes is off */

/* Where a request would land when allowed. */
enum hw { HW_NONE, HW_SMI, HW_MMIO };

struct row {
	const char *name;
	enum op op;
	unsigned int feat;
	enum hw hw;
	/* [lockdown none, integrity, confidentiality][root, norawio, user] */
	struct cell c[3][NIDENT];
};

/*
 * THE MATRIX.  Dispatcher policy order: CAP_SYS_ADMIN, CAP_SYS_RAWIO,
 * lockdown (LOCKDOWN_DEV_MEM: integrity and confidentiality alike), then
 * allow_writes; the handlers then refuse quarantined devices (-EPERM).
 * Keep Documentation/dsmil-security.rst in step.
 */
#define SAME3(a, b, c)	{ { a, b, c }, { a, b, c }, { a, b, c } }
static const struct row matrix[] = {
	{ "open", OP_OPEN, 0, HW_NONE,
	  SAME3(A(0), A(0), A(EACCES)) },
	{ "INFO", OP_INFO, 0, HW_NONE, SAME3(A(0), A(0), A(0)) },
	{ "STATS", OP_STATS, 0, HW_NONE, SAME3(A(0), A(0), A(0)) },
	{ "DEV_INFO", OP_DEV_INFO, DSMIL_FEAT_DEVICES, HW_NONE,
	  SAME3(A(0), A(0), A(0)) },
	{ "DEV_LIST", OP_DEV_LIST, DSMIL_FEAT_DEVICES, HW_NONE,
	  SAME3(A(0), A(0), A(0)) },
	{ "DEV_TRANSITION", OP_TRANSITION, DSMIL_FEAT_DEVICES, HW_NONE,
	  SAME3(A(0), A(0), A(EPERM)) },
	{ "GROUP_ESTOP", OP_ESTOP, DSMIL_FEAT_DEVICES, HW_NONE,
	  SAME3(A(0), A(0), A(EPERM)) },
	{ "AUDIT_READ", OP_AUDIT, DSMIL_FEAT_DEVICES, HW_NONE,
	  SAME3(A(0), A(0), A(EPERM)) },
	{ "WRITE_AUDIT_READ", OP_WRITE_AUDIT, 0, HW_NONE,
	  SAME3(A(0), A(0), A(EPERM)) },
	{ "TOKEN_READ", OP_TOKEN_READ, DSMIL_FEAT_SMI, HW_SMI,
	  SAME3(A(0), A(EPERM), A(EPERM)) },
	{ "TOKEN_WRITE", OP_TOKEN_WRITE, DSMIL_FEAT_SMI, HW_SMI,
	  { { W, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	{ "SMI_STATUS", OP_SMI_STATUS, DSMIL_FEAT_SMI, HW_NONE,
	  SAME3(A(0), A(0), A(0)) },
	{ "SMI_RECOVER", OP_SMI_RECOVER, DSMIL_FEAT_SMI, HW_SMI,
	  SAME3(A(0), A(EPERM), A(EPERM)) },
	/* An id never issued: past the capability check, -ENOENT. */
	{ "SMI_RESULT", OP_SMI_RESULT, DSMIL_FEAT_SMI, HW_NONE,
	  SAME3(A(ENOENT), A(EPERM), A(EPERM)) },
	/* The sim has no token discovery: past the policy, -EOPNOTSUPP. */
	{ "SMI_RESCAN", OP_SMI_RESCAN, DSMIL_FEAT_SMI, HW_NONE,
	  SAME3(A(EOPNOTSUPP), A(EPERM), A(EPERM)) },
	/* Submitted, then its completion record read: as TOKEN_READ/WRITE. */
	{ "TOKEN_SUBMIT read", OP_SUBMIT_READ, DSMIL_FEAT_ASYNC, HW_SMI,
	  SAME3(A(0), A(EPERM), A(EPERM)) },
	{ "TOKEN_SUBMIT write", OP_SUBMIT_WRITE, DSMIL_FEAT_ASYNC, HW_SMI,
	  { { W, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	/* An id never issued: past the policy, -ENOENT. */
	{ "TOKEN_CANCEL", OP_CANCEL, DSMIL_FEAT_ASYNC, HW_NONE,
	  SAME3(A(ENOENT), A(EPERM), A(EPERM)) },
	{ "MMIO_READ", OP_MMIO_READ, DSMIL_FEAT_MMIO, HW_MMIO,
	  { { A(0), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	{ "MMIO_WRITE", OP_MMIO_WRITE, DSMIL_FEAT_MMIO, HW_MMIO,
	  { { W, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	{ "MMIO_BULK_READ", OP_BULK_READ, DSMIL_FEAT_MMIO, HW_MMIO,
	  { { A(0), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	{ "MMIO_BULK_WRITE", OP_BULK_WRITE, DSMIL_FEAT_MMIO, HW_MMIO,
	  { { W, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	{ "MMIO_STATUS", OP_MMIO_STATUS, DSMIL_FEAT_MMIO, HW_NONE,
	  SAME3(A(0), A(0), A(0)) },
	/* Quarantined DSMIL0D9 (READY): readable, never written. */
	{ "TOKEN_READ quarantined", OP_TOKEN_READ_Q, DSMIL_FEAT_SMI, HW_SMI,
	  SAME3(A(0), A(EPERM), A(EPERM)) },
	{ "TOKEN_WRITE quarantined", OP_TOKEN_WRITE_Q, DSMIL_FEAT_SMI, HW_SMI,
	  { { { EACCES, EPERM }, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	{ "MMIO_WRITE quarantined", OP_MMIO_WRITE_Q, DSMIL_FEAT_MMIO, HW_MMIO,
	  { { { EACCES, EPERM }, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
	/* A raw write into the quarantined device's window: the same. */
	{ "MMIO_WRITE raw, quarantined window", OP_MMIO_WRITE_RAWQ,
	  DSMIL_FEAT_MMIO, HW_MMIO,
	  { { { EACCES, EPERM }, A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) },
	    { A(EPERM), A(EPERM), A(EPERM) } } },
};

/* The devices the cells use. */
#define DEV_CTRL	0	/* DSMIL0D0, token 0x480, brought ACTIVE */
#define DEV_QUAR	9	/* DSMIL0D9, quarantined, token 0x489, READY */
#define DEV_SPARE	64	/* DSMIL5D4: no token, no dependents */
/* Raw region accesses land outside every device window (0..0x5bfff). */
#define MMIO_OFF	0x100000
#define QUAR_WINDOW	(DEV_QUAR * DSMIL_WINDOW_SIZE)	/* DSMIL0D9's window */

/* ------------------------------------------------------------ counters */

/* What the backends saw, from their own counters (debugfs, 0400 files
 * stay readable under lockdown) and from the status ioctls.
 */
struct snap {
	long long sim_submits, sim_resets;
	long long tok_reads[2], tok_writes[2];	/* DEV_CTRL, DEV_QUAR token */
	struct dsmil_smi_status smi;
	struct dsmil_mmio_status mm;
	unsigned long long chunk_hits, chunk_maps;
	unsigned int chunk_lines;
	struct dsmil_stats st;
};

static void take_snap(int fd, struct snap *s)
{
	static char buf[16384];
	char *line;

	memset(s, 0, sizeof(*s));
	s->sim_submits = sim_stat("submits");
	s->sim_resets = sim_stat("resets");
	s->tok_reads[0] = sim_reads(token_of(0, DSMIL_TOKEN_POWER));
	s->tok_writes[0] = sim_writes(token_of(0, DSMIL_TOKEN_POWER));
	s->tok_reads[1] = sim_reads(token_of(0, DSMIL_TOKEN_SENSOR));
	s->tok_writes[1] = sim_writes(token_of(0, DSMIL_TOKEN_SENSOR));
	smi_status(fd, &s->smi);
	mmio_status(fd, &s->mm);
	dsmil_stats(fd, &s->st);
	/* mmio/chunks: "index state users maps hits idle_ms" per chunk. */
	if (read_text(DSMIL_MMIO_DIR "/chunks", buf, sizeof(buf)) > 0) {
		for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			unsigned int idx, users;
			unsigned long long maps, hits;
			char state[16];

			if (sscanf(line, "%u %15s %u %llu %llu", &idx, state,
				   &users, &maps, &hits) == 5) {
				s->chunk_maps += maps;
				s->chunk_hits += hits;
				s->chunk_lines++;
			}
		}
	}
}

/* ----------------------------------------------------------------- ops */

static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/* A legal transition of DEV_SPARE that involves no SMI. */
static unsigned int spare_target(int fd)
{
	switch (dev_state(fd, DEV_SPARE)) {
	case DSMIL_DEV_OFFLINE:
		return DSMIL_DEV_INITIALIZING;
	case DSMIL_DEV_ERROR:
		return DSMIL_DEV_OFFLINE;
	default:	/* INITIALIZING, READY, ACTIVE, LOCKED */
		return DSMIL_DEV_ERROR;
	}
}

/* One cell's request; returns 0 or the errno. */
static int do_op(int fd, enum op op)
{
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	static struct dsmil_audit_entry audit[16];
	static struct dsmil_write_record waudit[16];
	static uint8_t bulk[4096];
	union dsmil_ioc_arg a;
	int nfd;

	memset(&a, 0, sizeof(a));
	switch (op) {
	case OP_OPEN:
		nfd = open(DSMIL_DEV, O_RDWR | O_CLOEXEC);
		if (nfd < 0)
			return errno;
		close(nfd);
		return 0;
	case OP_INFO:
		return do_ioctl(fd, DSMIL_IOC_INFO, &a.info);
	case OP_STATS:
		return do_ioctl(fd, DSMIL_IOC_STATS, &a.st);
	case OP_DEV_INFO:
		a.di.id = DEV_CTRL;
		return do_ioctl(fd, DSMIL_IOC_DEV_INFO, &a.di);
	case OP_DEV_LIST:
		a.dl.buf = (uintptr_t)devs;
		a.dl.count = DSMIL_NUM_DEVICES;
		return do_ioctl(fd, DSMIL_IOC_DEV_LIST, &a.dl);
	case OP_TRANSITION:
		a.tr.id = DEV_SPARE;
		a.tr.target = spare_target(fd);
		return do_ioctl(fd, DSMIL_IOC_DEV_TRANSITION, &a.tr);
	case OP_ESTOP:
		a.gs.group = DEV_SPARE / DSMIL_DEVS_PER_GROUP;
		return do_ioctl(fd, DSMIL_IOC_GROUP_ESTOP, &a.gs);
	case OP_AUDIT:
		a.ar.buf = (uintptr_t)audit;
		a.ar.count = ARRAY_SIZE(audit);
		return do_ioctl(fd, DSMIL_IOC_AUDIT_READ, &a.ar);
	case OP_WRITE_AUDIT:
		a.wa.buf = (uintptr_t)waudit;
		a.wa.count = ARRAY_SIZE(waudit);
		return do_ioctl(fd, DSMIL_IOC_WRITE_AUDIT_READ, &a.wa);
	case OP_TOKEN_READ:
	case OP_TOKEN_READ_Q:
		a.tk.group = 0;
		a.tk.position = op == OP_TOKEN_READ ? DSMIL_TOKEN_POWER :
			       DSMIL_TOKEN_SENSOR;
		return do_ioctl(fd, DSMIL_IOC_TOKEN_READ, &a.tk);
	case OP_TOKEN_WRITE:
	case OP_TOKEN_WRITE_Q:
		a.tk.group = 0;
		a.tk.position = op == OP_TOKEN_WRITE ? DSMIL_TOKEN_POWER :
			       DSMIL_TOKEN_SENSOR;
		a.tk.value = 0x5a5a0000 | getpid();
		return do_ioctl(fd, DSMIL_IOC_TOKEN_WRITE, &a.tk);
	case OP_SMI_STATUS:
		return do_ioctl(fd, DSMIL_IOC_SMI_STATUS, &a.ss);
	case OP_SMI_RECOVER:
		return ioctl(fd, DSMIL_IOC_SMI_RECOVER, 0) ? errno : 0;
	case OP_SMI_RESULT:
		a.sr.request_id = UINT64_MAX;
		return do_ioctl(fd, DSMIL_IOC_SMI_RESULT, &a.sr);
	case OP_SMI_RESCAN:
		return ioctl(fd, DSMIL_IOC_SMI_RESCAN, 0) ? errno : 0;
	case OP_SUBMIT_READ:
	case OP_SUBMIT_WRITE: {
		struct dsmil_token_submit sub = {
			.group = 0, .position = DSMIL_TOKEN_POWER,
		};
		struct dsmil_token_completion rec;
		int err;

		if (op == OP_SUBMIT_WRITE) {
			sub.op = DSMIL_TOKEN_OP_WRITE;
			sub.value = 0x5a5a0000 | getpid();
		}
		err = do_ioctl(fd, DSMIL_IOC_TOKEN_SUBMIT, &sub);
		if (err)
			return err;
		/* Its end, so that the counters after it are final. */
		if (read(fd, &rec, sizeof(rec)) != sizeof(rec) || rec.id != sub.id)
			return EPROTO;
		/* In doubt is no outcome a cell expects: it fails. */
		if (!(rec.flags & DSMIL_TOKEN_C_FINAL))
			return EINPROGRESS;
		/* Never sent: timed out while queued (see cell()). */
		if (rec.error == ETIMEDOUT && rec.flags & DSMIL_TOKEN_C_UNSENT)
			return ETIME;
		return rec.error;
	}
	case OP_CANCEL: {
		struct dsmil_token_cancel can = { .id = UINT64_MAX };

		return do_ioctl(fd, DSMIL_IOC_TOKEN_CANCEL, &can);
	}
	case OP_MMIO_READ:
		a.rw.offset = MMIO_OFF;
		a.rw.width = 4;
		return do_ioctl(fd, DSMIL_IOC_MMIO_READ, &a.rw);
	case OP_MMIO_WRITE:
		a.rw.offset = MMIO_OFF;
		a.rw.width = 4;
		a.rw.value = 0xa5a50000 | getpid();
		return do_ioctl(fd, DSMIL_IOC_MMIO_WRITE, &a.rw);
	case OP_MMIO_WRITE_Q:
		a.rw.flags = DSMIL_MMIO_F_DEVICE;
		a.rw.device = DEV_QUAR;
		a.rw.offset = 0;
		a.rw.width = 4;
		a.rw.value = 0xdeadbeef;
		return do_ioctl(fd, DSMIL_IOC_MMIO_WRITE, &a.rw);
	case OP_MMIO_WRITE_RAWQ:
		a.rw.offset = QUAR_WINDOW;
		a.rw.width = 4;
		a.rw.value = 0xdeadbeef;
		return do_ioctl(fd, DSMIL_IOC_MMIO_WRITE, &a.rw);
	case OP_BULK_READ:
	case OP_BULK_WRITE:
		a.bk.offset = MMIO_OFF;
		a.bk.length = sizeof(bulk);
		a.bk.buf = (uintptr_t)bulk;
		return do_ioctl(fd, op == OP_BULK_READ ?
				DSMIL_IOC_MMIO_BULK_READ :
				DSMIL_IOC_MMIO_BULK_WRITE, &a.bk);
	case OP_MMIO_STATUS:
		return do_ioctl(fd, DSMIL_IOC_MMIO_STATUS, &a.ms);
	}
	return EINVAL;
}

/*
 * Run @op as @id in a child, with @fd opened by root beforehand.  Returns
 * the errno (0: success), or -1 if the child could not drop privileges.
 */
static int run_as(enum ident id, int fd, enum op op)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (id == NORAWIO && drop_cap(CAP_SYS_RAWIO))
			_exit(255);
		if (id == USER && drop_to_user())
			_exit(255);
		/* Prove the identity really is what the column says. */
		if ((id == NORAWIO && (!cap_effective(CAP_SYS_ADMIN) ||
				       cap_effective(CAP_SYS_RAWIO) || getuid())) ||
		    (id == USER && (cap_effective(CAP_SYS_ADMIN) ||
				    geteuid() != 1000)) ||
		    (id == ROOT && !cap_effective(CAP_SYS_RAWIO)))
			_exit(254);
		_exit(do_op(fd, op));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	status = WEXITSTATUS(status);
	return status >= 254 ? -1 : status;
}

static const char *err_name(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "success";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENODEV: return "ENODEV";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EIO: return "EIO";
	case ERANGE: return "ERANGE";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* ------------------------------------------------------------- fixture */

FIXTURE(priv)
{
	int fd;
	unsigned int features;
	enum dsmil_lockdown ld;
};

FIXTURE_VARIANT(priv)
{
	enum ident id;
	bool writes;
};

FIXTURE_VARIANT_ADD(priv, root) { .id = ROOT, .writes = false };
FIXTURE_VARIANT_ADD(priv, norawio) { .id = NORAWIO, .writes = false };
FIXTURE_VARIANT_ADD(priv, uid1000) { .id = USER, .writes = false };
FIXTURE_VARIANT_ADD(priv, root_writes) { .id = ROOT, .writes = true };
FIXTURE_VARIANT_ADD(priv, norawio_writes) { .id = NORAWIO, .writes = true };
FIXTURE_VARIANT_ADD(priv, uid1000_writes) { .id = USER, .writes = true };

static bool writes_param(void)
{
	return dsmil_param_num("allow_writes") == 1;
}

FIXTURE_SETUP(priv)
{
	struct dsmil_info info;
	int ret;

	/*
	 * allow_writes is a writable parameter (0644) the driver reads at
	 * every call: set it there, which also works once the kernel is
	 * locked down (no module can be loaded then).  Variants run in order,
	 * so it changes once.
	 */
	if (!dsmil_loaded()) {
		ret = dsmil_load(variant->writes ? "allow_writes=1" : "");
		ASSERT_EQ(0, ret) TH_LOG("loading %s: %s", dsmil_ko(),
					 strerror(-ret));
	} else if (writes_param() != variant->writes) {
		ASSERT_EQ(0, dsmil_param_write("allow_writes", "%d", variant->writes));
	}
	ASSERT_EQ(variant->writes, writes_param());
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, dsmil_info(self->fd, &info));
	self->features = info.features;
	self->ld = lockdown_mode();
	ASSERT_EQ(variant->writes, !!(info.features & DSMIL_FEAT_WRITES));
	ASSERT_EQ(self->ld != LD_NONE, !!(info.features & DSMIL_FEAT_LOCKDOWN));

	/* The hardware cells need DSMIL0D0 ACTIVE and DSMIL0D9 READY. */
	if (info.features & DSMIL_FEAT_DEVICES) {
		if (dev_state(self->fd, DEV_CTRL) != DSMIL_DEV_ACTIVE)
			ASSERT_EQ(0, dev_bring_up(self->fd, DEV_CTRL, true));
		if (dev_state(self->fd, DEV_QUAR) != DSMIL_DEV_READY)
			ASSERT_EQ(0, dev_bring_up(self->fd, DEV_QUAR, false));
	}
}

FIXTURE_TEARDOWN(priv)
{
	close(self->fd);
	/* allow_writes off again (its variant's setup turns it on). */
	EXPECT_EQ(0, dsmil_restore_defaults());
}

static const struct row *row_of(enum op op)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(matrix); i++)
		if (matrix[i].op == op)
			return &matrix[i];
	return NULL;
}

/* Bytes an allowed MMIO cell moves. */
static unsigned int mmio_bytes(enum op op)
{
	return op == OP_BULK_READ || op == OP_BULK_WRITE ? 4096 : 4;
}

static void cell(struct __test_metadata *_metadata,
		 FIXTURE_DATA(priv) *self, const FIXTURE_VARIANT(priv) *variant,
		 enum op op)
{
	const struct row *r = row_of(op);
	const struct cell *c = &r->c[self->ld][variant->id];
	int want = variant->writes ? c->on : c->off;
	bool quar_write = op == OP_TOKEN_WRITE_Q || op == OP_MMIO_WRITE_Q ||
			  op == OP_MMIO_WRITE_RAWQ;
	bool write_op = op == OP_TOKEN_WRITE || op == OP_MMIO_WRITE ||
			op == OP_BULK_WRITE || op == OP_SUBMIT_WRITE ||
			quar_write;
	bool policy_refusal;
	struct snap b, a;
	int got, q;

	if (r->feat && !(self->features & r->feat))
		SKIP(return, "%s: that part of the driver is not built", r->name);

	take_snap(self->fd, &b);
	/* The proof needs the sims' own counters: they must be readable. */
	if (r->hw == HW_SMI)
		ASSERT_LE(0, b.sim_submits + b.tok_reads[0] + b.tok_writes[1])
			TH_LOG("cannot read " DSMIL_SIM_DIR "/stats and /tokens");
	if (r->hw == HW_MMIO)
		ASSERT_EQ(DSMIL_DEFAULT_REGION_SIZE / DSMIL_CHUNK_SIZE,
			  b.chunk_lines)
			TH_LOG("cannot read " DSMIL_MMIO_DIR "/chunks");
	got = run_as(variant->id, self->fd, op);
	take_snap(self->fd, &a);

	ksft_print_msg("[lockdown=%s allow_writes=%d] %s as %s: %s (expected %s)\n",
		       lockdown_name(self->ld), variant->writes, r->name,
		       ident_names[variant->id], err_name(got), err_name(want));
	ASSERT_NE(-1, got) TH_LOG("the child could not take the identity");
	/*
	 * An allowed submitted read that waited past the sim's 50 ms bound
	 * in the engine's queue and was never sent (a host too loaded to run
	 * the worker) was allowed, but its counters are not the cell's:
	 * nothing to judge.  A timeout or hang at the firmware fails.
	 */
	if (want == 0 && got == ETIME && op == OP_SUBMIT_READ)
		SKIP(return, "%s: allowed, then timed out in the queue, unsent (host load)",
		     r->name);
	EXPECT_EQ(want, got);

	/*
	 * A refusal by the dispatcher's policy is counted as denied (an
	 * answer past the policy, SMI_RESULT's -ENOENT, is not).
	 */
	policy_refusal = (want == EPERM || want == EACCES) && op != OP_OPEN &&
			 !(quar_write && want == EPERM && variant->id == ROOT &&
			   self->ld == LD_NONE);
	if (op != OP_OPEN) {
		EXPECT_EQ(b.st.denied + (policy_refusal ? 1 : 0), a.st.denied)
			TH_LOG("STATS.denied must count exactly the policy refusal");
	}

	q = op == OP_TOKEN_READ_Q || op == OP_TOKEN_WRITE_Q;
	if (r->hw == HW_SMI && want) {
		/* Nothing reached the SMI sim. */
		EXPECT_EQ(b.sim_submits, a.sim_submits)
			TH_LOG("a refused %s reached the SMI backend", r->name);
		EXPECT_EQ(b.tok_reads[q], a.tok_reads[q]);
		EXPECT_EQ(b.tok_writes[q], a.tok_writes[q]);
		EXPECT_EQ(b.sim_resets, a.sim_resets);
		EXPECT_EQ(b.smi.recoveries + b.smi.recovery_failures,
			  a.smi.recoveries + a.smi.recovery_failures);
		if (policy_refusal) {
			EXPECT_EQ(b.smi.requests, a.smi.requests)
				TH_LOG("a request the policy refused entered the engine");
		}
	} else if (r->hw == HW_SMI && op != OP_SMI_RECOVER && write_op) {
		/*
		 * An allowed token write is audited: the token is read (the
		 * value before), written once and read back, all on that
		 * token.
		 */
		EXPECT_EQ(b.sim_submits + 3, a.sim_submits);
		EXPECT_EQ(b.tok_writes[q] + 1, a.tok_writes[q]);
		EXPECT_EQ(b.tok_reads[q] + 2, a.tok_reads[q]);
		EXPECT_EQ(b.smi.successes + 3, a.smi.successes);
	} else if (r->hw == HW_SMI && op != OP_SMI_RECOVER) {
		/* Allowed: exactly one request reached it, on that token. */
		EXPECT_EQ(b.sim_submits + 1, a.sim_submits);
		EXPECT_EQ(b.tok_reads[q] + 1, a.tok_reads[q]);
		EXPECT_EQ(b.smi.successes + 1, a.smi.successes);
	}
	if (r->hw == HW_MMIO && want) {
		EXPECT_EQ(b.mm.bytes_read, a.mm.bytes_read)
			TH_LOG("a refused %s reached the region", r->name);
		EXPECT_EQ(b.mm.bytes_written, a.mm.bytes_written)
			TH_LOG("a refused %s wrote to the region", r->name);
		EXPECT_EQ(b.mm.maps, a.mm.maps);
		EXPECT_EQ(b.chunk_hits, a.chunk_hits);
		EXPECT_EQ(b.chunk_maps, a.chunk_maps);
	} else if (r->hw == HW_MMIO) {
		if (write_op) {
			EXPECT_EQ(b.mm.bytes_written + mmio_bytes(op),
				  a.mm.bytes_written);
		} else {
			EXPECT_EQ(b.mm.bytes_read + mmio_bytes(op),
				  a.mm.bytes_read);
		}
		/* The sim's per-chunk counters saw it (a hit or a map). */
		EXPECT_LT(b.chunk_hits + b.chunk_maps, a.chunk_hits + a.chunk_maps);
	}
}

#define CELL_TEST(name, op) \
	TEST_F(priv, name) { cell(_metadata, self, variant, op); }

CELL_TEST(open, OP_OPEN)
CELL_TEST(info, OP_INFO)
CELL_TEST(stats, OP_STATS)
CELL_TEST(dev_info, OP_DEV_INFO)
CELL_TEST(dev_list, OP_DEV_LIST)
CELL_TEST(dev_transition, OP_TRANSITION)
CELL_TEST(group_estop, OP_ESTOP)
CELL_TEST(audit_read, OP_AUDIT)
CELL_TEST(write_audit_read, OP_WRITE_AUDIT)
CELL_TEST(token_read, OP_TOKEN_READ)
CELL_TEST(token_write, OP_TOKEN_WRITE)
CELL_TEST(smi_status, OP_SMI_STATUS)
CELL_TEST(smi_recover, OP_SMI_RECOVER)
CELL_TEST(smi_result, OP_SMI_RESULT)
CELL_TEST(smi_rescan, OP_SMI_RESCAN)
CELL_TEST(token_submit_read, OP_SUBMIT_READ)
CELL_TEST(token_submit_write, OP_SUBMIT_WRITE)
CELL_TEST(token_cancel, OP_CANCEL)
CELL_TEST(mmio_read, OP_MMIO_READ)
CELL_TEST(mmio_write, OP_MMIO_WRITE)
CELL_TEST(mmio_bulk_read, OP_BULK_READ)
CELL_TEST(mmio_bulk_write, OP_BULK_WRITE)
CELL_TEST(mmio_status, OP_MMIO_STATUS)
CELL_TEST(token_read_quarantined, OP_TOKEN_READ_Q)
CELL_TEST(token_write_quarantined, OP_TOKEN_WRITE_Q)
CELL_TEST(mmio_write_quarantined, OP_MMIO_WRITE_Q)
CELL_TEST(mmio_write_raw_quarantined_window, OP_MMIO_WRITE_RAWQ)

/* Every command of the header has a row (a new command needs one). */
TEST(matrix_covers_every_command)
{
	static const unsigned long cmds[] = {
		DSMIL_IOC_INFO, DSMIL_IOC_STATS, DSMIL_IOC_WRITE_AUDIT_READ,
		DSMIL_IOC_DEV_INFO, DSMIL_IOC_DEV_LIST, DSMIL_IOC_DEV_TRANSITION,
		DSMIL_IOC_GROUP_ESTOP, DSMIL_IOC_AUDIT_READ,
		DSMIL_IOC_TOKEN_READ, DSMIL_IOC_TOKEN_WRITE,
		DSMIL_IOC_SMI_STATUS, DSMIL_IOC_SMI_RECOVER, DSMIL_IOC_SMI_RESULT,
		DSMIL_IOC_SMI_RESCAN, DSMIL_IOC_TOKEN_SUBMIT,
		DSMIL_IOC_TOKEN_CANCEL,
		DSMIL_IOC_MMIO_READ, DSMIL_IOC_MMIO_WRITE,
		DSMIL_IOC_MMIO_BULK_READ, DSMIL_IOC_MMIO_BULK_WRITE,
		DSMIL_IOC_MMIO_STATUS,
	};
	/* Numbers 0x00-0x3f in use by the header, by block. */
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		n += _IOC_TYPE(cmds[i]) == DSMIL_IOC_MAGIC;
	EXPECT_EQ(ARRAY_SIZE(cmds), n);
	/* 21 commands + open + 4 quarantine rows + TOKEN_SUBMIT's second. */
	EXPECT_EQ(ARRAY_SIZE(cmds) + 6, ARRAY_SIZE(matrix));
}

/* ------------------------------------------------- physical addresses */

/*
 * What a caller learns of the region's physical base: INFO and MMIO_STATUS
 * on a descriptor root opened (as a leaked one would be), and the mmio_base
 * parameter file.  As /proc/iomem: the real base for CAP_SYS_ADMIN, 0 for
 * anyone else, asked at the ioctl, not at open.
 */
struct seen {
	int info_err, status_err, param_err;	/* 0 or errno */
	__u64 info_base, status_base, param;
};

enum who { WHO_ROOT, WHO_NOADMIN, WHO_USER };

static int seen_as(enum who who, int fd, struct seen *out)
{
	int p[2], status;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct dsmil_mmio_status ms = {};
		struct dsmil_info info = {};
		struct seen s = {};
		char buf[64];
		int ret;

		close(p[0]);
		if ((who == WHO_NOADMIN && drop_cap(CAP_SYS_ADMIN)) ||
		    (who == WHO_USER && drop_to_user()))
			_exit(255);
		if (cap_effective(CAP_SYS_ADMIN) != (who == WHO_ROOT))
			_exit(254);
		s.info_err = ioctl(fd, DSMIL_IOC_INFO, &info) ? errno : 0;
		s.info_base = info.region_base;
		s.status_err = ioctl(fd, DSMIL_IOC_MMIO_STATUS, &ms) ? errno : 0;
		s.status_base = ms.region_base;
		ret = dsmil_param_read("mmio_base", buf, sizeof(buf));
		s.param_err = ret < 0 ? -ret : 0;
		s.param = ret < 0 ? 0 : strtoull(buf, NULL, 0);
		_exit(write(p[1], &s, sizeof(s)) == sizeof(s) ? 0 : 253);
	}
	close(p[1]);
	if (read(p[0], out, sizeof(*out)) != sizeof(*out))
		memset(out, 0xff, sizeof(*out));
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(paddr) {
	int fd;
	__u64 base;
};

FIXTURE_SETUP(paddr)
{
	char params[64];
	__u64 bar, size;

	self->fd = -1;
	if (locked_down())
		SKIP(return, "lockdown refuses mmio_base= (a hardware address)");
	if (bar_info(&bar, &size) || size < 64 * 1048576ULL + DSMIL_DEFAULT_REGION_SIZE)
		SKIP(return, "no ivshmem BAR (run under tools/dsmil-vm)");
	/* The real iomem backend on the BAR, 64 MiB in, as mmio_test does. */
	self->base = bar + 64 * 1048576ULL;
	snprintf(params, sizeof(params), "mmio_base=0x%llx",
		 (unsigned long long)self->base);
	ASSERT_EQ(0, dsmil_reload(params));
	self->fd = dsmil_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(paddr)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, dsmil_restore_defaults());
}

TEST_F(paddr, region_base_only_for_cap_sys_admin)
{
	static const char *const names[] = {
		"root", "root without CAP_SYS_ADMIN", "uid 1000",
	};
	struct stat st;
	struct seen s;
	unsigned int who;

	/* The parameter is not world-readable. */
	ASSERT_EQ(0, stat(DSMIL_PARAMS "/mmio_base", &st));
	EXPECT_EQ(0400, st.st_mode & 0777);

	for (who = WHO_ROOT; who <= WHO_USER; who++) {
		bool admin = who == WHO_ROOT;

		ASSERT_EQ(0, seen_as(who, self->fd, &s))
			TH_LOG("%s: the child could not take the identity", names[who]);
		ksft_print_msg("%s: INFO.region_base=%#llx MMIO_STATUS.region_base=%#llx mmio_base parameter: %s\n",
			       names[who], (unsigned long long)s.info_base,
			       (unsigned long long)s.status_base,
			       s.param_err ? strerror(s.param_err) : "readable");
		EXPECT_EQ(0, s.info_err);
		EXPECT_EQ(0, s.status_err);
		EXPECT_EQ(admin ? self->base : 0, s.info_base) TH_LOG("%s", names[who]);
		EXPECT_EQ(admin ? self->base : 0, s.status_base) TH_LOG("%s", names[who]);
		if (who == WHO_USER) {
			EXPECT_EQ(EACCES, s.param_err);
		} else {
			EXPECT_EQ(0, s.param_err);
			EXPECT_EQ(self->base, s.param);
		}
	}
}

/* ------------------------------------------------------------ lockdown */

/*
 * Under lockdown, asking it logs "Lockdown: <comm>: /dev/mem,kmem,port is
 * restricted" each time (rate-limited to 10 per 5 s).  INFO asked at every
 * call: a line per call.  The driver now remembers the answer: N calls add
 * at most one line.  Spread over 6 s, so that the kernel's rate limit
 * (which an earlier test may have used up) cannot hide a line per call.
 */
TEST(lockdown_is_asked_without_a_log_line_per_call)
{
	uint64_t end;
	char line[512];
	int kfd, fd, lines = 0, calls = 0;

	if (!locked_down())
		SKIP(return, "not locked down (run-suites has the lockdown boots)");
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	kfd = kmsg_open_end();
	ASSERT_LE(0, kfd);
	end = now_ns() + 6 * NSEC_PER_SEC;
	while (now_ns() < end) {
		struct dsmil_info info;

		ASSERT_EQ(0, dsmil_info(fd, &info));
		EXPECT_TRUE(info.features & DSMIL_FEAT_LOCKDOWN);
		calls++;
		usleep(100000);
	}
	while (kmsg_next(kfd, line, sizeof(line)) == 1)
		if (strstr(line, "Lockdown: ") &&
		    strstr(line, "/dev/mem,kmem,port"))
			lines++;
	ksft_print_msg("%d INFO calls under lockdown=%s: %d \"Lockdown: ... /dev/mem,kmem,port\" line(s)\n",
		       calls, lockdown_name(lockdown_mode()), lines);
	EXPECT_LE(lines, 1);
	close(kfd);
	close(fd);
}

/*
 * Leave the module as the next test expects it: default parameters.  A
 * fixture of its own, registered after priv, so that it runs last (plain
 * TEST()s run first).
 */
FIXTURE(final) {};
FIXTURE_SETUP(final) {}
FIXTURE_TEARDOWN(final) {}

TEST_F(final, restore_defaults)
{
	struct dsmil_info info;
	int fd;

	if (lockdown_mode() == LD_NONE) {
		ASSERT_EQ(0, dsmil_reload(NULL));
	} else {
		ASSERT_EQ(0, dsmil_param_write("allow_writes", "0"));
	}
	fd = dsmil_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dsmil_info(fd, &info));
	EXPECT_FALSE(!!(info.features & DSMIL_FEAT_WRITES));
	close(fd);
}

TEST_HARNESS_MAIN
