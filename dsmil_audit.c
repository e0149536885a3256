// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the write audit.
 *
 * Every token write and MMIO write the driver was asked for, once it passed
 * the dispatcher's policy and its argument checks, leaves one record: who
 * (pid, uid, command name), what (token, or offset and length, and device),
 * the value before and after (tokens), the value written, how far it got and
 * its result, under the request's id.  The records live in a ring, like the
 * transition audit of dsmil_state.c, with its own lock and sequence numbers;
 * DSMIL_IOC_WRITE_AUDIT_READ copies them out.
 *
 * The ring forgets: when audit is enabled (audit=1, or auditd running) each
 * record also goes to the kernel's audit subsystem as an AUDIT_KERNEL_OTHER
 * record (with the task's identity, and the syscall's own record when made
 * inside one), so that auditd keeps it.  Without auditd, kauditd prints it
 * to the kernel log ("audit: type=1316 ... op=dsmil-write ...").
 *
 * A token read back with another value than the one written is a
 * write-mismatch: counted, logged (rate-limited) and flagged in its record.
 *
 * Documentation/dsmil-state.rst ("The write audit") describes the records.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/audit.h>
#include <linux/cred.h>
#include <linux/minmax.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "dsmil_priv.h"
#include "dsmil_audit.h"

/* write-mismatch lines: 10 per 5 s. */
#define DSMIL_WAUDIT_RL_INTERVAL	(5 * HZ)
#define DSMIL_WAUDIT_RL_BURST		10

static const char *const dsmil_wrec_kind_names[] = {
	[DSMIL_WREC_TOKEN]	= "token",
	[DSMIL_WREC_MMIO]	= "mmio",
	[DSMIL_WREC_MMIO_BULK]	= "mmio-bulk",
};

static const char *const dsmil_wrec_stage_names[] = {
	[DSMIL_WREC_AT_REFUSED]		= "refused",
	[DSMIL_WREC_AT_OLD]		= "read-before",
	[DSMIL_WREC_AT_WRITE]		= "write",
	[DSMIL_WREC_AT_READBACK]	= "read-back",
	[DSMIL_WREC_AT_LATE]		= "late",
};

static const char *dsmil_waudit_rec_name(const char *const *names, size_t n,
					 unsigned int i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

/**
 * dsmil_waudit_who - who asks: the calling process, or 0/0 and its name
 * for a kernel thread.
 * @rec: gets pid, uid and comm.
 *
 * dsmil_waudit_add() stamps a record with it; dsmil_waudit_add_as() names
 * the writer it is given instead: an asynchronous write, made by a worker
 * on behalf of the process that submitted it, is recorded as that
 * process's.
 */
void dsmil_waudit_who(struct dsmil_write_record *rec)
{
	char comm[TASK_COMM_LEN];

	get_task_comm(comm, current);
	strscpy_pad((char *)rec->comm, comm, sizeof(rec->comm));
	if (current->flags & PF_KTHREAD) {
		rec->pid = 0;
		rec->uid = 0;
		return;
	}
	rec->pid = task_tgid_nr(current);
	rec->uid = from_kuid_munged(&init_user_ns, current_uid());
}

static void dsmil_waudit_dev_name(char *buf, size_t len, unsigned int id)
{
	if (id < DSMIL_NUM_DEVICES)
		snprintf(buf, len, "DSMIL%uD%X", id / DSMIL_DEVS_PER_GROUP,
			 id % DSMIL_DEVS_PER_GROUP);
	else
		strscpy(buf, "none", len);
}

/*
 * The record for the kernel's audit subsystem.  Inside a system call the
 * record joins its context, which makes the kernel emit the syscall's own
 * record (exe, auid, session...) with the same serial number.
 */
static void dsmil_waudit_kernel_audit(const struct dsmil_write_record *rec)
{
	struct audit_buffer *ab;
	gfp_t gfp = GFP_KERNEL;
	char dev[24];

	if (!audit_enabled)
		return;
	/*
	 * A LATE record comes from the SMI engine's worker, which every
	 * dell-smbios request goes through: it must not wait out a full
	 * audit backlog (audit_backlog_wait_time, 60 s), so it does not wait
	 * at all (a lost record is counted by audit as lost).
	 */
	if (current->flags & PF_KTHREAD)
		gfp = GFP_NOWAIT;
	ab = audit_log_start(audit_context(), gfp, AUDIT_KERNEL_OTHER);
	if (!ab)
		return;
	dsmil_waudit_dev_name(dev, sizeof(dev), rec->device);
	audit_log_format(ab, "op=dsmil-write kind=%s request=%llu dev=%s stage=%s",
			 dsmil_waudit_rec_name(dsmil_wrec_kind_names,
					       ARRAY_SIZE(dsmil_wrec_kind_names),
					       rec->kind),
			 rec->request_id, dev,
			 dsmil_waudit_rec_name(dsmil_wrec_stage_names,
					       ARRAY_SIZE(dsmil_wrec_stage_names),
					       rec->stage));
	if (rec->kind == DSMIL_WREC_TOKEN)
		audit_log_format(ab, " token=0x%04x", rec->token);
	else
		audit_log_format(ab, " offset=0x%llx len=%llu done=%llu",
				 rec->offset, rec->length, rec->done);
	if (rec->flags & DSMIL_WREC_F_OLD)
		audit_log_format(ab, " old=0x%llx", rec->old_value);
	if (rec->flags & DSMIL_WREC_F_VALUE)
		audit_log_format(ab, " new=0x%llx", rec->value);
	if (rec->flags & DSMIL_WREC_F_ACTIVATE)
		audit_log_format(ab, " activate=1");
	if (rec->flags & DSMIL_WREC_F_READBACK)
		audit_log_format(ab, " readback=0x%llx mismatch=%u",
				 rec->readback,
				 !!(rec->flags & DSMIL_WREC_F_MISMATCH));
	if (rec->flags & DSMIL_WREC_F_UNKNOWN)
		audit_log_format(ab, " outcome=unknown");
	audit_log_format(ab, " errno=%d", -(int)rec->error);
	audit_log_task_info(ab);
	audit_log_format(ab, " res=%u", !rec->error);
	audit_log_end(ab);
}

static void dsmil_waudit_log_mismatch(struct dsmil_write_audit *wa,
				      const struct dsmil_write_record *rec)
{
	char dev[24];

	atomic64_inc(&wa->mismatches);
	if (!__ratelimit(&wa->rs))
		return;
	dsmil_waudit_dev_name(dev, sizeof(dev), rec->device);
	dsmil_warn(dsmil_dev(dsmil_from_waudit(wa)), "write-mismatch: token=%#06x dev=%s request=%llu old=%#010llx written=%#010llx readback=%#010llx pid=%u uid=%u errno=%d\n",
		   rec->token, dev, rec->request_id, rec->old_value, rec->value, rec->readback,
		   rec->pid, rec->uid, -(int)rec->error);
}

/**
 * dsmil_waudit_add_as - keep one record, made on behalf of @who.
 * @wa:  the write audit.
 * @rec: as for dsmil_waudit_add().
 * @who: pid, uid and comm from dsmil_waudit_who(); NULL: the caller.
 *
 * Whether the writer is named is said by @who, never read off @rec: a
 * process may have an empty comm (prctl(PR_SET_NAME, "")), and its
 * record must still not name the worker that made its write.
 */
void dsmil_waudit_add_as(struct dsmil_write_audit *wa,
			 struct dsmil_write_record *rec,
			 const struct dsmil_write_record *who)
{
	struct dsmil_write_record *e;

	if (who) {
		rec->pid = who->pid;
		rec->uid = who->uid;
		memcpy(rec->comm, who->comm, sizeof(rec->comm));
	} else {
		dsmil_waudit_who(rec);
	}
	rec->time_ns = ktime_get_real_ns();

	spin_lock(&wa->lock);
	rec->seq = wa->next++;
	e = &wa->ring[(rec->seq - 1) % DSMIL_WRITE_AUDIT_DEPTH];
	*e = *rec;
	spin_unlock(&wa->lock);

	if (rec->flags & DSMIL_WREC_F_MISMATCH)
		dsmil_waudit_log_mismatch(wa, rec);
	dsmil_waudit_kernel_audit(rec);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_add_as);

void dsmil_waudit_add(struct dsmil_write_audit *wa,
		      struct dsmil_write_record *rec)
{
	dsmil_waudit_add_as(wa, rec, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_add);

u64 dsmil_waudit_begin(struct dsmil_write_audit *wa, unsigned int id)
{
	struct dsmil_waudit_dev *d;
	u64 cookie;

	if (WARN_ON_ONCE(id >= DSMIL_NUM_DEVICES))
		return U64_MAX;
	d = &wa->dev[id];
	spin_lock(&wa->lock);
	/* Whoever runs now is no longer alone; nor is this one. */
	if (d->writers)
		d->epoch++;
	cookie = d->writers ? U64_MAX : d->epoch;
	d->writers++;
	spin_unlock(&wa->lock);
	return cookie;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_begin);

bool dsmil_waudit_end(struct dsmil_write_audit *wa, unsigned int id,
		      u64 cookie)
{
	struct dsmil_waudit_dev *d;
	bool alone;

	if (WARN_ON_ONCE(id >= DSMIL_NUM_DEVICES))
		return false;
	d = &wa->dev[id];
	spin_lock(&wa->lock);
	alone = cookie == d->epoch;
	if (!WARN_ON_ONCE(!d->writers))
		d->writers--;
	spin_unlock(&wa->lock);
	return alone;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_end);

/* The argument refusals of the MMIO write commands: nothing to audit. */
static bool dsmil_waudit_mmio_arg_refusal(int ret, u64 done)
{
	switch (ret) {
	case -EINVAL:
	case -ERANGE:
	case -E2BIG:
		return true;
	case -EFAULT:
		/* The caller's buffer, before a byte moved. */
		return !done;
	}
	return false;
}

/* Refused by the device state, quarantine or the write policy. */
static u8 dsmil_waudit_mmio_stage(int ret, u64 done)
{
	if (!done && (ret == -ENODEV || ret == -EPERM || ret == -EACCES))
		return DSMIL_WREC_AT_REFUSED;
	return DSMIL_WREC_AT_WRITE;
}

int dsmil_waudit_mmio(struct dsmil *dsm, const struct dsmil_mmio_rw *rw,
		      int ret)
{
	struct dsmil_write_record rec = {
		.kind = DSMIL_WREC_MMIO,
		.device = DSMIL_WREC_NO_DEVICE,
		.offset = rw->offset,
		.length = rw->width,
		.done = ret ? 0 : rw->width,
		.flags = DSMIL_WREC_F_VALUE,
		.error = -ret,
	};

	if (dsmil_waudit_mmio_arg_refusal(ret, 0))
		return ret;
	rec.request_id = dsmil_next_request_id(dsm);
	rec.stage = dsmil_waudit_mmio_stage(ret, rec.done);
	if (rw->flags & DSMIL_MMIO_F_DEVICE) {
		rec.flags |= DSMIL_WREC_F_DEVICE;
		rec.device = rw->device;
	}
	/* The low @width bytes are what the mapper writes. */
	rec.value = rw->width < 8 ? rw->value & (BIT_ULL(8 * rw->width) - 1) :
				    rw->value;
	dsmil_waudit_add(&dsm->waudit, &rec);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_mmio);

int dsmil_waudit_mmio_bulk(struct dsmil *dsm, const struct dsmil_mmio_bulk *b,
			   int ret)
{
	struct dsmil_write_record rec = {
		.kind = DSMIL_WREC_MMIO_BULK,
		.device = DSMIL_WREC_NO_DEVICE,
		.offset = b->offset,
		.length = b->length,
		.done = b->done,
		.error = -ret,
	};

	if (dsmil_waudit_mmio_arg_refusal(ret, b->done))
		return ret;
	rec.request_id = dsmil_next_request_id(dsm);
	rec.stage = dsmil_waudit_mmio_stage(ret, b->done);
	if (b->flags & DSMIL_MMIO_F_DEVICE) {
		rec.flags |= DSMIL_WREC_F_DEVICE;
		rec.device = b->device;
	}
	dsmil_waudit_add(&dsm->waudit, &rec);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_mmio_bulk);

void dsmil_waudit_late(struct dsmil_write_audit *wa, u64 request_id,
		       unsigned int id, u16 token, int error, bool unknown)
{
	struct dsmil_write_record rec = {
		.kind = DSMIL_WREC_TOKEN,
		.stage = DSMIL_WREC_AT_LATE,
		.request_id = request_id,
		.device = id < DSMIL_NUM_DEVICES ? id : DSMIL_WREC_NO_DEVICE,
		.token = token,
		.flags = unknown ? DSMIL_WREC_F_UNKNOWN : 0,
		.error = -error,
	};

	dsmil_waudit_add(wa, &rec);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_late);

/**
 * dsmil_waudit_copy - copy records out of the ring.
 * @wa:       the write audit.
 * @since:    first sequence number wanted (0 or 1: all kept).
 * @out:      room for @max records.
 * @max:      records @out holds.
 * @next_seq: out: sequence number the next record will get.
 * @dropped:  out: records at or after @since lost to wrap-around.
 *
 * Return: records copied, oldest first.
 */
VISIBLE_IF_KUNIT unsigned int dsmil_waudit_copy(struct dsmil_write_audit *wa,
						u64 since,
						struct dsmil_write_record *out,
						unsigned int max, u64 *next_seq,
						u64 *dropped)
{
	unsigned int n = 0;
	u64 oldest, next, s;

	since = max_t(u64, since, 1);
	spin_lock(&wa->lock);
	next = wa->next;
	oldest = next > DSMIL_WRITE_AUDIT_DEPTH ?
		 next - DSMIL_WRITE_AUDIT_DEPTH : 1;
	for (s = max(since, oldest); s < next && n < max; s++)
		out[n++] = wa->ring[(s - 1) % DSMIL_WRITE_AUDIT_DEPTH];
	spin_unlock(&wa->lock);

	*next_seq = next;
	*dropped = since < oldest ? oldest - since : 0;
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_copy);

/* -EINVAL/-EFAULT of the read: counted and logged like the dispatcher's. */
static int dsmil_waudit_bad_input(struct dsmil *dsm, const char *why, int err)
{
	atomic64_inc(&dsm->bad_input);
	dsmil_warn_ratelimited(dsmil_dev(dsm), "refused-input: cmd=write-audit-read nr=%#x pid=%d why=%s errno=%d\n",
			       (unsigned int)_IOC_NR(DSMIL_IOC_WRITE_AUDIT_READ),
			       task_tgid_nr(current), why, err);
	return err;
}

int dsmil_waudit_ioc_read(struct dsmil *dsm, void *arg)
{
	struct dsmil_write_audit_read *ar = arg;
	struct dsmil_write_record *buf;
	unsigned int n;
	int ret = 0;

	if (!ar->count)
		return dsmil_waudit_bad_input(dsm, "count-zero", -EINVAL);
	/* Copy out of the ring under the lock, to the user without it. */
	n = min_t(u32, ar->count, DSMIL_WRITE_AUDIT_DEPTH);
	buf = kvcalloc(n, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	n = dsmil_waudit_copy(&dsm->waudit, ar->since_seq, buf, n,
			      &ar->next_seq, &ar->dropped);
	ar->mismatches = atomic64_read(&dsm->waudit.mismatches);
	ar->reads = atomic64_read(&dsm->waudit.reads);
	if (copy_to_user(u64_to_user_ptr(ar->buf), buf, n * sizeof(*buf)))
		ret = dsmil_waudit_bad_input(dsm, "fault", -EFAULT);
	kvfree(buf);
	ar->count = n;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_waudit_ioc_read);

/**
 * dsmil_waudit_init - an empty write audit.
 * @wa: zeroed, inside a struct dsmil.
 *
 * Return: 0 or -ENOMEM.
 */
int dsmil_waudit_init(struct dsmil_write_audit *wa)
{
	wa->ring = kvcalloc(DSMIL_WRITE_AUDIT_DEPTH, sizeof(*wa->ring),
			    GFP_KERNEL);
	if (!wa->ring)
		return -ENOMEM;
	spin_lock_init(&wa->lock);
	wa->next = 1;
	atomic64_set(&wa->mismatches, 0);
	atomic64_set(&wa->reads, 0);
	ratelimit_state_init(&wa->rs, DSMIL_WAUDIT_RL_INTERVAL,
			     DSMIL_WAUDIT_RL_BURST);
	return 0;
}

/**
 * dsmil_waudit_exit - free the ring.
 * @wa: from dsmil_waudit_init(); nothing records any more.
 */
void dsmil_waudit_exit(struct dsmil_write_audit *wa)
{
	kvfree(wa->ring);
	wa->ring = NULL;
}
