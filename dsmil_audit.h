/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: the write audit (dsmil_audit.c): a record of every hardware write.
 *
 * The SMI engine and the mapper describe each write they were asked for
 * (after the dispatcher's policy and their own argument checks) and hand it
 * here; this part stamps it (sequence number, time, who), keeps the last
 * DSMIL_WRITE_AUDIT_DEPTH in a ring that DSMIL_IOC_WRITE_AUDIT_READ copies
 * out, sends it to the kernel's audit subsystem when audit is enabled, and
 * reports a write the read-back contradicts (write-mismatch).  It calls
 * nothing else of the driver: the other parts call it.
 */
#ifndef _DSMIL_AUDIT_H
#define _DSMIL_AUDIT_H

#include <linux/atomic.h>
#include <linux/ratelimit_types.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

#include "dsmil_ioctl.h"

struct dsmil;

/**
 * struct dsmil_waudit_dev - token writes of one device, for the read-back.
 * @writers: token writes between dsmil_waudit_begin() and _end().
 * @epoch:   bumped whenever a write begins while another runs.
 */
struct dsmil_waudit_dev {
	unsigned int writers;
	u32 epoch;
};

/**
 * struct dsmil_write_audit - the write audit of one driver instance.
 * @lock:       protects @next, @ring and @dev; never held while sleeping.
 * @next:       sequence number of the next record (from 1).
 * @ring:       the last DSMIL_WRITE_AUDIT_DEPTH records; the record with
 *              sequence number s lives at (s - 1) % DSMIL_WRITE_AUDIT_DEPTH.
 * @dev:        per device: token writes running now.
 * @mismatches: write-mismatch incidents since load.
 * @reads:      token reads the audited writes made (before and back).
 * @rs:         rate limit of the write-mismatch lines.
 */
struct dsmil_write_audit {
	spinlock_t lock;	/* @next, @ring, @dev */
	u64 next;
	struct dsmil_write_record *ring;
	struct dsmil_waudit_dev dev[DSMIL_NUM_DEVICES];
	atomic64_t mismatches;
	atomic64_t reads;
	struct ratelimit_state rs;
};

int dsmil_waudit_init(struct dsmil_write_audit *wa);
void dsmil_waudit_exit(struct dsmil_write_audit *wa);

/**
 * dsmil_waudit_add - keep one record and report it.
 * @wa:  the write audit.
 * @rec: what the writer filled in: kind, stage, request_id, device, token,
 *       flags, error, readback_error, offset, length, done, old_value,
 *       value, readback.  The rest (seq, time, who) is set here, in the
 *       caller's context, which must be the process that asked for the write
 *       (or a kernel thread finishing it: pid 0).
 *
 * Also sends the record to the kernel's audit subsystem when audit is
 * enabled, and counts and logs (rate-limited) DSMIL_WREC_F_MISMATCH.  May
 * sleep.
 */
void dsmil_waudit_add(struct dsmil_write_audit *wa,
		      struct dsmil_write_record *rec);

/*
 * Who asks (dsmil_waudit_who()), and a record that names a writer other
 * than the caller (@who; NULL: the caller): an asynchronous write made by
 * a worker for the process that submitted it.
 */
void dsmil_waudit_who(struct dsmil_write_record *rec);
void dsmil_waudit_add_as(struct dsmil_write_audit *wa,
			 struct dsmil_write_record *rec,
			 const struct dsmil_write_record *who);

/*
 * Did another token write of device @id run while this one did?  A token
 * write calls dsmil_waudit_begin() before it reads the value before, and
 * dsmil_waudit_end() after its read-back, with the cookie begin returned:
 * end returns true when the write ran alone, so that its read-back can be
 * compared with the value written.
 */
u64 dsmil_waudit_begin(struct dsmil_write_audit *wa, unsigned int id);
bool dsmil_waudit_end(struct dsmil_write_audit *wa, unsigned int id,
		      u64 cookie);

/*
 * The mapper's call sites, one line each: record the MMIO write @rw (or
 * bulk write @b) that ended with @ret, unless it was refused for its
 * argument; return @ret.
 */
int dsmil_waudit_mmio(struct dsmil *dsm, const struct dsmil_mmio_rw *rw,
		      int ret);
int dsmil_waudit_mmio_bulk(struct dsmil *dsm, const struct dsmil_mmio_bulk *b,
			   int ret);

/*
 * The final outcome @error of request @request_id (a token write of @token,
 * device @id), whose caller left before it ended: a record of stage
 * DSMIL_WREC_AT_LATE, with DSMIL_WREC_F_UNKNOWN when @unknown (a reset
 * ended it after its abort failed).
 */
void dsmil_waudit_late(struct dsmil_write_audit *wa, u64 request_id,
		       unsigned int id, u16 token, int error, bool unknown);

/* DSMIL_IOC_WRITE_AUDIT_READ, for the ioctl table of dsmil_main.c. */
int dsmil_waudit_ioc_read(struct dsmil *dsm, void *arg);

#if IS_ENABLED(CONFIG_KUNIT)
unsigned int dsmil_waudit_copy(struct dsmil_write_audit *wa, u64 since,
			       struct dsmil_write_record *out,
			       unsigned int max, u64 *next_seq, u64 *dropped);
#endif

#endif /* _DSMIL_AUDIT_H */
