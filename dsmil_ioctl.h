/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dsmil: userspace ABI of /dev/dsmil, the Dell Latitude 5450 MIL-SPEC
 * "DSMIL" device driver.
 *
 * Rules every structure below follows, so that 32-bit and 64-bit callers see
 * the same layout and compat_ioctl needs no translation:
 *  - only __u8.. __u64 fields, naturally aligned, with explicit padding;
 *  - user pointers are carried in __u64 fields;
 *  - every structure's size is a multiple of 8;
 *  - fields named reserved* must be zero on input (else -EINVAL) and are
 *    zero on output.
 *
 * The ioctl number decides the argument size and direction: a known command
 * number used with another size or direction fails with -EINVAL, an unknown
 * number with -ENOTTY.  Errors common to every command:
 *   -ENOTTY  unknown command
 *   -EINVAL  size/direction mismatch, non-zero reserved field, bad argument
 *   -EFAULT  the argument (or a buffer it points to) is not accessible
 *   -EPERM   the caller lacks the capability the command needs
 *            (CAP_SYS_ADMIN for state changes, CAP_SYS_RAWIO for hardware)
 *   -EACCES  a hardware write while the allow_writes module parameter is off
 *   -EPERM   hardware access refused by kernel lockdown (see each command)
 * Command-specific errors are listed with each command.
 */
#ifndef _UAPI_LINUX_DSMIL_IOCTL_H
#define _UAPI_LINUX_DSMIL_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change; additions use reserved fields. */
#define DSMIL_ABI_VERSION	1

/*
 * 0xD5 is unclaimed in Documentation/userspace-api/ioctl/ioctl-number.rst
 * (checked against 6.12 by `make check`); dsmil uses numbers 0x00-0x3F.
 */
#define DSMIL_IOC_MAGIC		0xD5

/* Geometry of the device model. */
#define DSMIL_NUM_GROUPS	6
#define DSMIL_DEVS_PER_GROUP	12
#define DSMIL_NUM_DEVICES	(DSMIL_NUM_GROUPS * DSMIL_DEVS_PER_GROUP)

/* Geometry of the MMIO region. */
#define DSMIL_CHUNK_SIZE	0x400000ULL		/* 4 MiB */
#define DSMIL_MAX_CHUNKS	128			/* region <= 512 MiB */
#define DSMIL_DEFAULT_REGION_SIZE (90 * DSMIL_CHUNK_SIZE)	/* 360 MiB */
#define DSMIL_BULK_MAX		(16ULL << 20)		/* per bulk call */
/* Device (g, i) owns the 4 KiB window at g * 64 KiB + i * 4 KiB. */
#define DSMIL_GROUP_STRIDE	0x10000ULL
#define DSMIL_WINDOW_SIZE	0x1000ULL

#define DSMIL_NAME_LEN		16
#define DSMIL_FUNC_LEN		24

/* Device states (struct dsmil_dev_info.state, transition targets). */
enum dsmil_dev_state {
	DSMIL_DEV_OFFLINE	= 0,
	DSMIL_DEV_INITIALIZING	= 1,
	DSMIL_DEV_READY		= 2,
	DSMIL_DEV_ACTIVE	= 3,
	DSMIL_DEV_ERROR		= 4,
	DSMIL_DEV_LOCKED	= 5,
};

#define DSMIL_DEV_NUM_STATES	6

/* Group states, derived from the group's members. */
enum dsmil_group_state {
	DSMIL_GROUP_DISABLED		= 0,
	DSMIL_GROUP_INITIALIZING	= 1,
	DSMIL_GROUP_READY		= 2,
	DSMIL_GROUP_ACTIVE		= 3,
	DSMIL_GROUP_ERROR		= 4,
	DSMIL_GROUP_EMERGENCY_STOP	= 5,
};

/*
 * SMI token positions inside a group.  The token of (group g, position p) is
 * DSMIL_TOKEN_BASE + 12 * g + p and belongs to device (g, p).
 */
enum dsmil_token_pos {
	DSMIL_TOKEN_POWER	= 0,
	DSMIL_TOKEN_MEMORY	= 3,
	DSMIL_TOKEN_STORAGE	= 6,
	DSMIL_TOKEN_SENSOR	= 9,
};

#define DSMIL_TOKEN_BASE	0x0480

/*
 * Why a request was refused or a device changed state: audit entries,
 * refusal counters and the driver's dmesg lines use these codes.
 */
enum dsmil_reason {
	DSMIL_REASON_NONE		= 0,	/* accepted */
	DSMIL_REASON_ILLEGAL		= 1,	/* not in the transition table */
	DSMIL_REASON_DEPENDENCY		= 2,	/* a dependency is not up */
	DSMIL_REASON_DEPENDENT		= 3,	/* a dependent is still ACTIVE */
	DSMIL_REASON_QUARANTINED	= 4,	/* quarantined device */
	DSMIL_REASON_VERIFY_FAILED	= 5,	/* token verification failed */
	DSMIL_REASON_SMI_FAULT		= 6,	/* SMI timeout/hang/error */
	DSMIL_REASON_EMERGENCY_STOP	= 7,	/* group emergency stop */
	DSMIL_REASON_UNLOAD		= 8,	/* module unload */
	DSMIL_REASON_STATE		= 9,	/* device state forbids the access */
	DSMIL_REASON_BAD_ARG		= 10,	/* out-of-range id or argument */
	DSMIL_REASON_RESUME		= 11,	/* re-verify after a system sleep */
};

#define DSMIL_REASON_COUNT	12

/* struct dsmil_info.features */
#define DSMIL_FEAT_DEVICES	0x1U	/* device model ioctls */
#define DSMIL_FEAT_SMI		0x2U	/* token ioctls */
#define DSMIL_FEAT_MMIO		0x4U	/* region ioctls */
#define DSMIL_FEAT_WRITES	0x8U	/* allow_writes is set now */
#define DSMIL_FEAT_LOCKDOWN	0x10U	/* kernel is locked down */
/*
 * Every write is checked again where it is handed to the hardware and an
 * emergency stop waits for the writes in flight (struct dsmil_group_stop
 * in_doubt), a token write past its deadline may answer -EINPROGRESS
 * (DSMIL_TOKEN_F_IN_DOUBT, DSMIL_IOC_SMI_RESULT), and every hardware write
 * is in the write audit (DSMIL_IOC_WRITE_AUDIT_READ).  A driver without
 * this bit leaves in_doubt and those fields zero without the guarantee.
 */
#define DSMIL_FEAT_WRITE_FENCE	0x20U
/* DSMIL_IOC_TOKEN_SUBMIT / _CANCEL, read() and poll() (asynchronous tokens). */
#define DSMIL_FEAT_ASYNC	0x40U

/**
 * struct dsmil_info - DSMIL_IOC_INFO: what this driver is and offers.
 * @abi_version:    DSMIL_ABI_VERSION of the running driver.
 * @features:       DSMIL_FEAT_* flags.
 * @num_groups:     DSMIL_NUM_GROUPS.
 * @devs_per_group: DSMIL_DEVS_PER_GROUP.
 * @num_devices:    DSMIL_NUM_DEVICES.
 * @num_chunks:     chunks in the configured region.
 * @chunk_size:     bytes per chunk.
 * @max_resident:   cap on chunks mapped at once.
 * @region_size:    bytes in the region.
 * @region_base:    physical base (0 for the simulated region); 0 for a
 *                  caller without CAP_SYS_ADMIN, as /proc/iomem shows it.
 * @smi_backend:    NUL-terminated name of the SMI backend.
 * @mmio_backend:   NUL-terminated name of the MMIO backend.
 * @reserved:       zero.
 */
struct dsmil_info {
	__u32 abi_version;
	__u32 features;
	__u16 num_groups;
	__u16 devs_per_group;
	__u16 num_devices;
	__u16 num_chunks;
	__u32 chunk_size;
	__u32 max_resident;
	__u64 region_size;
	__u64 region_base;
	__u8  smi_backend[DSMIL_NAME_LEN];
	__u8  mmio_backend[DSMIL_NAME_LEN];
	__u64 reserved[4];
};

/* struct dsmil_dev_info.flags */
#define DSMIL_DEVF_QUARANTINED	0x1U	/* never ACTIVE, never written */
#define DSMIL_DEVF_HAS_TOKEN	0x2U	/* @token is valid */
#define DSMIL_DEVF_TOKEN_ABSENT	0x4U	/* the firmware has no such token */
#define DSMIL_DEVF_TOKEN_FILTERED 0x8U	/* the kernel's Dell filter refuses it */

/**
 * struct dsmil_dev_info - one device, as DSMIL_IOC_DEV_INFO and
 * DSMIL_IOC_DEV_LIST report it.
 * @id:          global id, group * 12 + index (input of DEV_INFO).
 * @group:       group 0..5.
 * @index:       index 0..11 in the group.
 * @state:       enum dsmil_dev_state.
 * @group_state: enum dsmil_group_state of the device's group.
 * @flags:       DSMIL_DEVF_*.
 * @token:       SMI token of the device, if DSMIL_DEVF_HAS_TOKEN.
 * @dep_groups:  bit g set: needs group g up (its controller ACTIVE).
 * @reserved0:   zero.
 * @dep_devices: bit i set: needs device i of its own group ACTIVE.
 * @reserved1:   zero.
 * @transitions: accepted transitions of this device since load.
 * @name:        "DSMIL<g>D<i>", index in hex, NUL-terminated.
 * @function:    slot function, NUL-terminated.
 * @reserved:    zero.
 */
struct dsmil_dev_info {
	__u16 id;
	__u8  group;
	__u8  index;
	__u8  state;
	__u8  group_state;
	__u16 flags;
	__u16 token;
	__u8  dep_groups;
	__u8  reserved0;
	__u16 dep_devices;
	__u16 reserved1;
	__u64 transitions;
	__u8  name[DSMIL_NAME_LEN];
	__u8  function[DSMIL_FUNC_LEN];
	__u64 reserved[2];
};

/**
 * struct dsmil_dev_list - DSMIL_IOC_DEV_LIST: all devices at once.
 * @buf:      user pointer to an array of struct dsmil_dev_info.
 * @count:    in: entries @buf holds; out: entries written.
 * @total:    out: DSMIL_NUM_DEVICES.
 * @reserved: zero.
 */
struct dsmil_dev_list {
	__u64 buf;
	__u32 count;
	__u32 total;
	__u64 reserved[2];
};

/**
 * struct dsmil_transition - DSMIL_IOC_DEV_TRANSITION: request a state change.
 * @id:       device id.
 * @target:   enum dsmil_dev_state wanted.
 * @prev:     out: state before the request (0 when @id is out of range).
 * @reason:   out: enum dsmil_reason when refused, else DSMIL_REASON_NONE.
 * @reserved0: zero.
 * @state:    out: state after the request (0 when @id is out of range).
 * @reserved1: zero.
 * @reserved: zero.
 */
struct dsmil_transition {
	__u16 id;
	__u8  target;
	__u8  prev;
	__u8  reason;
	__u8  reserved0;
	__u8  state;
	__u8  reserved1;
	__u64 reserved[2];
};

/**
 * struct dsmil_group_stop - DSMIL_IOC_GROUP_ESTOP: lock a group and every
 * group depending on it, in one step.
 * @group:    group to stop.
 * @reserved0: zero.
 * @locked:   out: devices moved to LOCKED (those already LOCKED not counted).
 * @in_doubt: out: writes that were already at the hardware of those devices
 *            when the stop began and had not come back when it returned
 *            (it waits up to 2 s for them): 0 means nothing more will be
 *            written to any device it locked.
 * @reserved1: zero.
 * @reserved: zero.
 */
struct dsmil_group_stop {
	__u8  group;
	__u8  reserved0[3];
	__u32 locked;
	__u32 in_doubt;
	__u32 reserved1;
	__u64 reserved;
};

/* struct dsmil_audit_entry.source */
#define DSMIL_SRC_IOCTL		0	/* a transition request */
#define DSMIL_SRC_ESTOP		1	/* emergency stop */
#define DSMIL_SRC_SMI		2	/* SMI layer fault report */
#define DSMIL_SRC_UNLOAD	3	/* module unload */
#define DSMIL_SRC_INTERNAL	4	/* driver-internal step (verify) */
#define DSMIL_SRC_RESUME	5	/* resume from a system sleep */

/**
 * struct dsmil_audit_entry - one transition, accepted or refused.
 * @seq:       sequence number, from 1, never reused.
 * @time_ns:   CLOCK_REALTIME of the request.
 * @pid:       caller's process id in the initial pid namespace (0 for the
 *             kernel's own threads).
 * @uid:       caller's uid in the initial user namespace.
 * @device:    device id.
 * @from:      state before.
 * @to:        state requested (for accepted entries: the new state).
 * @error:     0 when accepted, else the positive errno returned.
 * @reason:    enum dsmil_reason: why it was refused, or why the driver
 *             made the change (DSMIL_REASON_NONE for an accepted request).
 * @source:    DSMIL_SRC_*.
 * @reserved:  zero.
 */
struct dsmil_audit_entry {
	__u64 seq;
	__u64 time_ns;
	__u32 pid;
	__u32 uid;
	__u16 device;
	__u8  from;
	__u8  to;
	__u32 error;
	__u8  reason;
	__u8  source;
	__u8  reserved[6];
};

#define DSMIL_AUDIT_DEPTH	256

/**
 * struct dsmil_audit_read - DSMIL_IOC_AUDIT_READ: copy the audit trail.
 * @buf:       user pointer to an array of struct dsmil_audit_entry.
 * @count:     in: entries @buf holds; out: entries written, oldest first.
 * @reserved0: zero.
 * @since_seq: in: return only entries with seq >= since_seq (0: all kept).
 * @next_seq:  out: seq the next entry will get.
 * @dropped:   out: entries at or after since_seq lost to wrap-around.
 * @reserved:  zero.
 */
struct dsmil_audit_read {
	__u64 buf;
	__u32 count;
	__u32 reserved0;
	__u64 since_seq;
	__u64 next_seq;
	__u64 dropped;
	__u64 reserved[2];
};

/**
 * struct dsmil_token_req - DSMIL_IOC_TOKEN_READ / DSMIL_IOC_TOKEN_WRITE.
 * @group:       group 0..5.
 * @position:    enum dsmil_token_pos (0, 3, 6 or 9).
 * @token:       out: the token id, DSMIL_TOKEN_BASE + 12 * group + position.
 * @value:       in (write) / out (read): token value.
 * @flags:       in (write): DSMIL_TOKEN_F_ACTIVATE; zero for a read.
 *               out: DSMIL_TOKEN_F_IN_DOUBT added when the call returns
 *               -EINPROGRESS (ignored on input, so the structure can be
 *               sent again as it came back).
 * @old_value:   out (write): the value a fresh read gave just before the
 *               write (the dell-smbios backend reads it within the write);
 *               0 when the write failed or for a read.
 * @duration_ns: out: time the SMI layer spent on the request, queueing
 *               included.
 * @request_id:  out: the request's id (never 0) once it reached the SMI
 *               engine; 0 when it was refused or turned away before
 *               (-ESHUTDOWN, -ENOMEM), or when the caller left (-EINTR,
 *               -ETIMEDOUT) a queued read that stays queued for readers
 *               that joined it: that id's outcome is theirs.  With
 *               -EINPROGRESS,
 *               DSMIL_IOC_SMI_RESULT gives its final outcome by this id.
 *               Ignored on input.
 * @reserved:    zero.
 *
 * The structure is copied back on failure too (@token, @duration_ns and
 * @request_id are then valid when the request got that far, zero
 * otherwise).
 *
 * Dell tokens (smi_backend=dell-smbios) are (id, location, value): a write
 * with DSMIL_TOKEN_F_ACTIVATE writes the token's own value (@value is
 * ignored), as dell-laptop and smbios-token-ctl --activate do; a plain
 * write first reads the location and is refused (-ERANGE, nothing written)
 * unless that read's [min, max] contains @value.
 */
struct dsmil_token_req {
	__u8  group;
	__u8  position;
	__u16 token;
	__u32 value;
	__u32 flags;
	__u32 old_value;
	__u64 duration_ns;
	__u64 request_id;
	__u64 reserved;
};

/* struct dsmil_token_req.flags */
#define DSMIL_TOKEN_F_ACTIVATE	0x1U
/*
 * Out only: the outcome was not known when the caller's wait ended: the
 * deadline passed while the firmware call (a synchronous backend:
 * dell-smbios) was running, which cannot be stopped and may still complete;
 * or, on a polled backend, the engine gave no verdict in time or its abort
 * failed.  It is unknown, not a failure.  The call returned -EINPROGRESS;
 * DSMIL_IOC_SMI_RESULT tells the outcome once known.
 */
#define DSMIL_TOKEN_F_IN_DOUBT	0x80000000U

/*
 * The write audit (DSMIL_IOC_WRITE_AUDIT_READ): one record per token write
 * and MMIO write (single or bulk) that passed the dispatcher's policy and
 * its argument checks, whatever became of it.  Documentation/dsmil-state.rst
 * ("The write audit") describes what each kind records.
 */

/* struct dsmil_write_record.kind */
#define DSMIL_WREC_TOKEN	1	/* DSMIL_IOC_TOKEN_WRITE */
#define DSMIL_WREC_MMIO		2	/* DSMIL_IOC_MMIO_WRITE */
#define DSMIL_WREC_MMIO_BULK	3	/* DSMIL_IOC_MMIO_BULK_WRITE */

/*
 * struct dsmil_write_record.stage: how far the write got.
 *   REFUSED   refused by the device state, quarantine or the write policy,
 *             on arrival or at the hand-off: nothing was written
 *   OLD       token: reading the value before failed; the write was not sent
 *   WRITE     handed to the SMI engine or the mapper: @error is its result
 *   READBACK  token: written, then read back (see the flags)
 *   LATE      the final outcome of request @request_id, whose caller left
 *             before it ended (told -EINPROGRESS, or killed): @error is
 *             that outcome (with DSMIL_WREC_F_UNKNOWN: never learned), and
 *             the who fields are the engine's worker; the caller's own
 *             record has the same @request_id (match by it: the LATE
 *             record may come first)
 */
#define DSMIL_WREC_AT_REFUSED	1
#define DSMIL_WREC_AT_OLD	2
#define DSMIL_WREC_AT_WRITE	3
#define DSMIL_WREC_AT_READBACK	4
#define DSMIL_WREC_AT_LATE	5

/*
 * struct dsmil_write_record.flags.  MISMATCH: @readback differs from @value
 * (a write-mismatch incident).  CONCURRENT: another write of the same token
 * ran at the same time, so @readback was not compared.
 */
#define DSMIL_WREC_F_DEVICE	0x01U	/* MMIO: @offset is in @device's window */
#define DSMIL_WREC_F_ACTIVATE	0x02U	/* token: DSMIL_TOKEN_F_ACTIVATE */
#define DSMIL_WREC_F_OLD	0x04U	/* @old_value is valid */
#define DSMIL_WREC_F_VALUE	0x08U	/* @value is valid */
#define DSMIL_WREC_F_READBACK	0x10U	/* @readback is valid */
#define DSMIL_WREC_F_MISMATCH	0x20U	/* @readback != @value */
#define DSMIL_WREC_F_CONCURRENT	0x40U	/* not compared: writes overlapped */
/*
 * LATE: a reset (DSMIL_IOC_SMI_RECOVER) or the unload ended the request
 * after its abort failed; the interface never said how it ended, so
 * whether the write was applied is unknown (@error is ETIMEDOUT).
 */
#define DSMIL_WREC_F_UNKNOWN	0x80U

/* struct dsmil_write_record.device of a raw MMIO write */
#define DSMIL_WREC_NO_DEVICE	0xffff

/**
 * struct dsmil_write_record - one hardware write, as the write audit keeps it.
 * @seq:        sequence number, from 1, never reused.
 * @time_ns:    CLOCK_REALTIME when the write ended (the record was made).
 * @request_id: the request's id, unique for the module's life (the SMI
 *              engine and the mapper share one counter).
 * @pid:        caller's process id in the initial pid namespace (0 for the
 *              kernel's own threads).
 * @uid:        caller's uid in the initial user namespace.
 * @comm:       caller's command name, NUL-terminated.
 * @kind:       DSMIL_WREC_TOKEN, _MMIO or _MMIO_BULK.
 * @stage:      DSMIL_WREC_AT_*: how far the write got.
 * @device:     the device written: the token's owner, the device of a
 *              device-scoped MMIO write; DSMIL_WREC_NO_DEVICE for a raw
 *              MMIO write.
 * @token:      token id (kind TOKEN), else 0.
 * @reserved0:  zero.
 * @flags:      DSMIL_WREC_F_*.
 * @error:      0, or the positive errno the caller got.
 * @readback_error: token: 0, or the positive errno of a read-back that
 *              failed (the write itself had succeeded).
 * @reserved1:  zero.
 * @offset:     MMIO: the offset given (in the region, or in @device's window
 *              with DSMIL_WREC_F_DEVICE); token: 0.
 * @length:     MMIO: bytes the caller asked to write; token: 0.
 * @done:       MMIO: bytes written (as the reply's @done); token: 0.
 * @old_value:  token: the value read just before the write
 *              (DSMIL_WREC_F_OLD).  MMIO registers are not read first:
 *              reading a register can have effects of its own.
 * @value:      the value written, or to be written when the write did not
 *              happen (DSMIL_WREC_F_VALUE): token value, or the low @length
 *              bytes of a single MMIO write.  A bulk write's bytes are not
 *              kept; nor is a token activation's value (the firmware's).
 * @readback:   token: the value read right after the write
 *              (DSMIL_WREC_F_READBACK).
 * @reserved:   zero.
 */
struct dsmil_write_record {
	__u64 seq;
	__u64 time_ns;
	__u64 request_id;
	__u32 pid;
	__u32 uid;
	__u8  comm[DSMIL_NAME_LEN];
	__u8  kind;
	__u8  stage;
	__u16 device;
	__u16 token;
	__u16 reserved0;
	__u32 flags;
	__u32 error;
	__u32 readback_error;
	__u32 reserved1;
	__u64 offset;
	__u64 length;
	__u64 done;
	__u64 old_value;
	__u64 value;
	__u64 readback;
	__u64 reserved[2];
};

#define DSMIL_WRITE_AUDIT_DEPTH	256

/**
 * struct dsmil_write_audit_read - DSMIL_IOC_WRITE_AUDIT_READ: copy the
 * write audit.
 * @buf:        user pointer to an array of struct dsmil_write_record.
 * @count:      in: entries @buf holds; out: entries written, oldest first.
 * @reserved0:  zero.
 * @since_seq:  in: return only records with seq >= since_seq (0: all kept).
 * @next_seq:   out: seq the next record will get.
 * @dropped:    out: records at or after since_seq lost to wrap-around.
 * @mismatches: out: write-mismatch incidents since load (a token read back
 *              with another value than the one written).
 * @reads:      out: token reads the audited writes made since load (values
 *              before and read-backs, tried): each is also an SMI request
 *              (struct dsmil_smi_status.requests), so that requests =
 *              token calls + verifications + @reads.
 * @reserved:   zero.
 */
struct dsmil_write_audit_read {
	__u64 buf;
	__u32 count;
	__u32 reserved0;
	__u64 since_seq;
	__u64 next_seq;
	__u64 dropped;
	__u64 mismatches;
	__u64 reads;
	__u64 reserved;
};

/* struct dsmil_smi_status.state */
#define DSMIL_SMI_OK		0
#define DSMIL_SMI_FAULTED	1	/* fails fast until recovered */

/*
 * struct dsmil_smi_status.latency_hist: bucket 0 counts requests that took
 * less than 1 us, bucket b (1..18) those that took [2^(b-1), 2^b) us, and
 * bucket 19 those that took 2^18 us (262 ms) or more.
 */
#define DSMIL_SMI_HIST_BUCKETS	20

/**
 * struct dsmil_smi_status - DSMIL_IOC_SMI_STATUS: engine state and counters.
 * @backend:            NUL-terminated backend name ("sim", "dell-smbios").
 * @state:              DSMIL_SMI_OK or DSMIL_SMI_FAULTED.
 * @consecutive_faults: faults since the last well-formed answer.
 * @timeout_ms:         bound on a caller's whole wait (smi_timeout_ms).
 * @hang_ms:            busy and unchanged this long is a hang (smi_hang_ms).
 * @min_interval_us:    minimum spacing of two SMIs (smi_min_interval_us).
 * @fault_limit:        consecutive faults that make it FAULTED.
 * @busy_retries:       retries of a submit refused as busy.
 * @in_flight:          requests accepted and not finished yet, including
 *                      requests whose caller stopped waiting.
 * @requests:           token requests finished (every outcome below).
 * @successes:          requests that completed with a value.
 * @errors:             requests that ended with an error other than the
 *                      ones counted below: @error_status + @garbage +
 *                      @busy_failures + @submit_failures + @cancelled.
 * @timeouts:           requests whose deadline (smi_timeout_ms) passed, at
 *                      the hardware (then aborted) or, @queue_timeouts of
 *                      them, before reaching it.
 * @hangs:              requests whose status stayed busy and unchanged for
 *                      smi_hang_ms (aborted), or whose synchronous call took
 *                      longer than smi_hang_ms.
 * @aborts:             backend aborts attempted (after a timeout, hang or
 *                      garbage status).
 * @abort_failures:     aborts the backend reported as failed (each makes the
 *                      backend FAULTED at once).
 * @faulted_entries:    times the backend became FAULTED.
 * @faulted_rejects:    requests refused at once because it was FAULTED (no
 *                      hardware touched).
 * @recoveries:         successful DSMIL_IOC_SMI_RECOVER resets.
 * @recovery_failures:  failed resets.
 * @retries:            submits repeated after a busy-at-submit answer.
 * @spacing_waits:      requests that waited for smi_min_interval_us.
 * @refused:            requests refused before the engine: bad group or
 *                      position, or the device state check.
 * @recover_backoff_ms: backoff set by the last failed recovery (0: none);
 *                      it doubles with every failure, up to 10 s.
 * @recover_wait_ms:    ms left before DSMIL_IOC_SMI_RECOVER may try again.
 * @latency_hist:       time of every request that was not refused, by
 *                      DSMIL_SMI_HIST_BUCKETS log2 buckets.
 * @error_status:       part of @errors: the SMI answered with an error code.
 * @garbage:            part of @errors: the status read 0xff (or busy and
 *                      error at once); counted as a fault and aborted.
 * @busy_failures:      part of @errors: still busy at submit after the
 *                      retries (-EBUSY).
 * @submit_failures:    part of @errors: the backend could not start it.
 * @cancelled:          part of @errors: a fatal signal ended the caller's
 *                      wait before the request reached the hardware, or an
 *                      asynchronous request was cancelled while queued
 *                      (DSMIL_IOC_TOKEN_CANCEL, or its file closed).
 * @queue_timeouts:     part of @timeouts: the deadline passed while queued.
 * @abandoned:          requests whose caller stopped waiting (deadline or
 *                      fatal signal) while the request was at the hardware;
 *                      each is counted by its real outcome once it ends.
 * @spacing_wait_us:    total time spent waiting for the spacing.
 * @max_latency_us:     longest request.
 * @in_doubt:           requests whose caller got -EINPROGRESS: the deadline
 *                      passed while their synchronous firmware call ran,
 *                      the engine gave no verdict on a polled one in time,
 *                      or its abort failed.
 *                      Each is also counted, once it ends, by its real
 *                      outcome (and in @abandoned if its caller had left
 *                      the engine's wait), and in one of:
 * @late_successes:     part of @in_doubt: ended with success after all
 *                      (counted in @successes, never as a timeout).
 * @late_failures:      part of @in_doubt: ended with an error (counted in
 *                      @errors, @timeouts or @hangs), or ended by a reset
 *                      after a failed abort (DSMIL_SMI_RESULT_F_UNKNOWN).
 *                      @in_doubt - @late_successes -
 *                      @late_failures calls are still running.
 * @coalesced:          token reads served by another read's firmware call
 *                      (single-flight): a read arriving while a read of
 *                      the same token is queued or at the firmware shares
 *                      its result.  Each is also counted once, by that
 *                      call's outcome, among the requests above, so
 *                      requests - @coalesced calls were made (or refused,
 *                      rejected...) for callers.
 *
 * Counter identity, exact whenever @in_flight is 0 (every request is
 * counted once, when it finishes):
 *   requests = successes + errors + timeouts + hangs + faulted_rejects +
 *              refused
 * and the sum of @latency_hist is requests - refused.  Token requests the
 * dispatcher refused (capability, lockdown, allow_writes) never reach the
 * engine; DSMIL_IOC_STATS counts them as denied.
 */
struct dsmil_smi_status {
	__u8  backend[DSMIL_NAME_LEN];
	__u32 state;
	__u32 consecutive_faults;
	__u32 timeout_ms;
	__u32 hang_ms;
	__u32 min_interval_us;
	__u32 fault_limit;
	__u32 busy_retries;
	__u32 in_flight;
	__u64 requests;
	__u64 successes;
	__u64 errors;
	__u64 timeouts;
	__u64 hangs;
	__u64 aborts;
	__u64 abort_failures;
	__u64 faulted_entries;
	__u64 faulted_rejects;
	__u64 recoveries;
	__u64 recovery_failures;
	__u64 retries;
	__u64 spacing_waits;
	__u64 refused;
	__u64 recover_backoff_ms;
	__u64 recover_wait_ms;
	__u64 latency_hist[DSMIL_SMI_HIST_BUCKETS];
	__u64 error_status;
	__u64 garbage;
	__u64 busy_failures;
	__u64 submit_failures;
	__u64 cancelled;
	__u64 queue_timeouts;
	__u64 abandoned;
	__u64 spacing_wait_us;
	__u64 max_latency_us;
	__u64 in_doubt;
	__u64 late_successes;
	__u64 late_failures;
	__u64 coalesced;
};

/* struct dsmil_smi_result.flags */
#define DSMIL_SMI_RESULT_F_WRITE	0x1U	/* a token write (else a read) */
#define DSMIL_SMI_RESULT_F_IN_DOUBT	0x2U	/* its caller got -EINPROGRESS */
#define DSMIL_SMI_RESULT_F_ABANDONED	0x4U	/* its caller left before the end */
/*
 * Ended by a backend reset (DSMIL_IOC_SMI_RECOVER) after its abort failed:
 * the interface never said how it ended, and a write may or may not have
 * been applied (error ETIMEDOUT).
 */
#define DSMIL_SMI_RESULT_F_UNKNOWN	0x8U

/*
 * The final outcomes DSMIL_IOC_SMI_RESULT keeps: those of the last
 * DSMIL_SMI_RESULTS requests that reached the SMI engine.
 */
#define DSMIL_SMI_RESULTS	64

/**
 * struct dsmil_smi_result - DSMIL_IOC_SMI_RESULT: the final outcome of a
 * token request, by its id.
 * @request_id:  in: struct dsmil_token_req.request_id of the request.
 * @token:       out: its token.
 * @flags:       out: DSMIL_SMI_RESULT_F_*.
 * @reserved0:   zero.
 * @error:       out: 0 (success) or the positive errno it ended with, with
 *               the meaning DSMIL_IOC_TOKEN_READ documents.  Never
 *               EINPROGRESS: only final outcomes are kept.
 * @value:       out: the value read; for a write on dell-smbios the value
 *               before it; 0 otherwise or on error.
 * @reserved1:   zero.
 * @duration_ns: out: from its arrival until the backend was done with it.
 * @reserved:    zero.
 */
struct dsmil_smi_result {
	__u64 request_id;
	__u16 token;
	__u8  flags;
	__u8  reserved0;
	__u32 error;
	__u32 value;
	__u32 reserved1;
	__u64 duration_ns;
	__u64 reserved[2];
};

/*
 * Asynchronous token requests (DSMIL_IOC_TOKEN_SUBMIT, DSMIL_IOC_TOKEN_CANCEL,
 * read() and poll() on the same file).  Each open file is a client: it has
 * at most DSMIL_ASYNC_MAX requests outstanding (submitted, and whose
 * completion record has not been read yet), and reads one fixed-size
 * struct dsmil_token_completion per request that ended, in the order they
 * ended.  Closing the file cancels what is still queued and drops the
 * records nobody read; a request already at the firmware finishes there.
 * All files together have at most DSMIL_ASYNC_GLOBAL_MAX requests not
 * ended yet (eight files' worth: a request a closed file left at the
 * firmware still counts), so that asynchronous clients cannot fill the
 * SMI engine's queue ahead of synchronous callers without bound.
 *
 * Writes run one at a time, in submit order across all files, on one
 * writer (each is the audited write of DSMIL_IOC_TOKEN_WRITE: up to three
 * SMI calls), and each is bounded from its submit: a write still waiting
 * for the writer smi_timeout_ms after its submit ends unsent with
 * ETIMEDOUT (and its audit record), so of many writes queued at once only
 * about smi_timeout_ms / (3 SMI calls) can be made in time.  A file's 64
 * writes queued ahead delay other files' writes (no fairness between
 * files beyond these caps).
 */
#define DSMIL_ASYNC_MAX		64
#define DSMIL_ASYNC_GLOBAL_MAX	512

/* struct dsmil_token_submit.op, struct dsmil_token_completion.op */
#define DSMIL_TOKEN_OP_READ	0
#define DSMIL_TOKEN_OP_WRITE	1

/**
 * struct dsmil_token_submit - DSMIL_IOC_TOKEN_SUBMIT: queue one token
 * request and return at once.
 * @group:     group 0..5.
 * @position:  enum dsmil_token_pos (0, 3, 6 or 9).
 * @op:        DSMIL_TOKEN_OP_READ or DSMIL_TOKEN_OP_WRITE.
 * @value:     (write) the value to write; zero for a read (-EINVAL).
 * @flags:     (write) DSMIL_TOKEN_F_ACTIVATE; zero for a read.
 * @reserved0: zero.
 * @id:        out: the request's id (never 0), which its completion record
 *             and DSMIL_IOC_TOKEN_CANCEL name.  Ignored on input.
 * @reserved:  zero.
 */
struct dsmil_token_submit {
	__u8  group;
	__u8  position;
	__u16 op;
	__u32 value;
	__u32 flags;
	__u32 reserved0;
	__u64 id;
	__u64 reserved;
};

/**
 * struct dsmil_token_cancel - DSMIL_IOC_TOKEN_CANCEL: cancel a queued request.
 * @id:       the id DSMIL_IOC_TOKEN_SUBMIT returned on this file.
 * @reserved: zero.
 */
struct dsmil_token_cancel {
	__u64 id;
	__u64 reserved;
};

/* struct dsmil_token_completion.flags */
/* The request was cancelled (DSMIL_IOC_TOKEN_CANCEL) before it was sent. */
#define DSMIL_TOKEN_C_CANCELLED	0x1U
/*
 * The outcome in @error is final.  A request whose firmware call outlived
 * its bound and could not be aborted (a write; a read on a polled backend
 * whose abort failed) ends with EINPROGRESS and DSMIL_TOKEN_C_IN_DOUBT
 * instead, and DSMIL_IOC_SMI_RESULT gives its final outcome by @smi_id.
 */
#define DSMIL_TOKEN_C_FINAL	0x2U
#define DSMIL_TOKEN_C_IN_DOUBT	0x4U
/*
 * The request never reached the firmware (cancelled, timed out while
 * queued, refused at the hand-off, FAULTED): nothing was sent, and it may
 * simply be submitted again.  A write's record sets it only when the
 * write was cancelled.
 */
#define DSMIL_TOKEN_C_UNSENT	0x8U

/**
 * struct dsmil_token_completion - what read() on /dev/dsmil returns, one
 * per request that ended.
 * @id:          the id DSMIL_IOC_TOKEN_SUBMIT returned.
 * @smi_id:      the SMI engine's id of the request (a write: of the write
 *               itself, which the write audit's @request_id names); 0 when
 *               it never reached the engine.
 * @duration_ns: from the submit to the end.
 * @token:       the token.
 * @op:          DSMIL_TOKEN_OP_*.
 * @reserved0:   zero.
 * @error:       0, or the positive errno it ended with: those of
 *               DSMIL_IOC_TOKEN_READ / _WRITE, and ECANCELED (cancelled).
 * @value:       a read's value; a write's value before it (0 when unknown).
 * @flags:       DSMIL_TOKEN_C_*.
 * @reserved:    zero.
 */
struct dsmil_token_completion {
	__u64 id;
	__u64 smi_id;
	__u64 duration_ns;
	__u16 token;
	__u8  op;
	__u8  reserved0;
	__u32 error;
	__u32 value;
	__u32 flags;
	__u64 reserved;
};

/* struct dsmil_mmio_rw.flags and struct dsmil_mmio_bulk.flags */
#define DSMIL_MMIO_F_DEVICE	0x1U	/* offset is in @device's window */

/**
 * struct dsmil_mmio_rw - DSMIL_IOC_MMIO_READ / DSMIL_IOC_MMIO_WRITE: one
 * naturally aligned access of 1, 2, 4 or 8 bytes.
 * @offset:    byte offset in the region, or in @device's 4 KiB window with
 *             DSMIL_MMIO_F_DEVICE.
 * @value:     in (write): the value, of which the low @width bytes are
 *             written; out (read): the value read, zero-extended.
 * @width:     1, 2, 4 or 8; @offset must be a multiple of it.
 * @reserved0: zero.
 * @device:    device id with DSMIL_MMIO_F_DEVICE, else zero.
 * @flags:     DSMIL_MMIO_F_*; other bits must be zero.
 * @reserved:  zero.
 */
struct dsmil_mmio_rw {
	__u64 offset;
	__u64 value;
	__u8  width;
	__u8  reserved0;
	__u16 device;
	__u32 flags;
	__u64 reserved[2];
};

/**
 * struct dsmil_mmio_bulk - DSMIL_IOC_MMIO_BULK_READ / _BULK_WRITE: copy
 * between the region and a user buffer, across chunk boundaries.
 * @offset:    byte offset in the region (or in the device window); any
 *             alignment.
 * @length:    bytes, 1..DSMIL_BULK_MAX (and within the 4 KiB window with
 *             DSMIL_MMIO_F_DEVICE).
 * @buf:       user pointer to @length bytes.
 * @done:      out, also on error: bytes copied.  A read stops early only at
 *             a fatal signal or an error; a write is all or nothing except
 *             when the caller's own buffer turns unreadable during the copy
 *             (-EFAULT, see DSMIL_IOC_MMIO_BULK_WRITE).
 * @flags:     DSMIL_MMIO_F_*; other bits must be zero.
 * @device:    device id with DSMIL_MMIO_F_DEVICE, else zero.
 * @reserved0: zero.
 * @reserved:  zero.
 */
struct dsmil_mmio_bulk {
	__u64 offset;
	__u64 length;
	__u64 buf;
	__u64 done;
	__u32 flags;
	__u16 device;
	__u16 reserved0;
	__u64 reserved[2];
};

/**
 * struct dsmil_chunk_stat - one chunk, as DSMIL_IOC_MMIO_STATUS reports it.
 * @index:         chunk index; the chunk covers bytes
 *                 [index * chunk_size, (index + 1) * chunk_size).
 * @users:         accesses holding the chunk now.
 * @resident:      1 if mapped now.
 * @ever_mapped:   1 if mapped at least once since load.
 * @reserved0:     zero.
 * @maps:          times mapped.
 * @hits:          accesses that found it mapped.
 * @idle_ms:       ms since its last use (0 if never used).
 * @bytes_read:    bytes read from it.
 * @bytes_written: bytes written to it.
 * @reserved:      zero.
 */
struct dsmil_chunk_stat {
	__u32 index;
	__u32 users;
	__u8  resident;
	__u8  ever_mapped;
	__u8  reserved0[6];
	__u64 maps;
	__u64 hits;
	__u64 idle_ms;
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 reserved[2];
};

/**
 * struct dsmil_mmio_status - DSMIL_IOC_MMIO_STATUS: the mapper's state.
 * @region_base:   physical base (0 for the simulated region); 0 for a
 *                 caller without CAP_SYS_ADMIN, as in struct dsmil_info.
 * @region_size:   bytes in the region.
 * @chunk_size:    DSMIL_CHUNK_SIZE.
 * @num_chunks:    chunks in the region.
 * @max_resident:  cap on chunks mapped at once.
 * @resident:      chunks mapped now.
 * @idle_ms:       idle chunks are unmapped after this delay (0: never).
 * @chunk_count:   in: entries @chunk_buf holds; out: entries written
 *                 (min(in, num_chunks); 0 when @chunk_buf is 0).
 * @chunk_buf:     user pointer to an array of struct dsmil_chunk_stat, or 0.
 * @resident_map:  bit c (word c / 64, bit c % 64) set: chunk c is mapped.
 * @ever_mapped:   bit c set: chunk c was mapped at least once since load.
 * @maps:          successful chunk maps.
 * @unmaps:        chunk unmaps (evictions, idle unmaps, suspends and unload).
 * @evictions:     unmaps of the least recently used idle chunk to stay
 *                 under the cap.
 * @map_failures:  failed chunk maps (each also logged as map-failure).
 * @all_busy:      accesses refused with -EBUSY: the cap was reached and
 *                 every resident chunk stayed in use for @busy_wait_ms.
 * @bytes_read:    bytes read from the region.
 * @bytes_written: bytes written to the region.
 * @refused:       accesses refused for their argument (-EINVAL, -ERANGE,
 *                 -E2BIG) or by the device state machine.
 * @busy_wait_ms:  bound on the wait for a slot when every chunk is busy.
 * @bookkeeping:   bytes of kernel memory the mapper's per-chunk and
 *                 per-region bookkeeping takes (not the mapped chunks).
 * @hits:          accesses that found their chunk mapped (all chunks).
 * @reserved:      zero.
 * Counter identity: maps - unmaps = resident.
 */
struct dsmil_mmio_status {
	__u64 region_base;
	__u64 region_size;
	__u32 chunk_size;
	__u32 num_chunks;
	__u32 max_resident;
	__u32 resident;
	__u32 idle_ms;
	__u32 chunk_count;
	__u64 chunk_buf;
	__u64 resident_map[DSMIL_MAX_CHUNKS / 64];
	__u64 ever_mapped[DSMIL_MAX_CHUNKS / 64];
	__u64 maps;
	__u64 unmaps;
	__u64 evictions;
	__u64 map_failures;
	__u64 all_busy;
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 refused;
	__u32 busy_wait_ms;
	__u32 bookkeeping;
	__u64 hits;
	__u64 reserved[4];
};

/**
 * struct dsmil_stats - DSMIL_IOC_STATS: driver-wide counters.
 * @ioctls:       ioctl calls.
 * @bad_input:    calls refused for their argument (-EINVAL/-ENOTTY/-EFAULT).
 * @denied:       calls refused by capability, lockdown or allow_writes.
 * @transitions:  accepted device transitions.
 * @refusals:     refused transitions and accesses, by enum dsmil_reason.
 * @handoffs:     hardware accesses re-checked where they were handed to a
 *                backend (an SMI, an MMIO write chunk or page).
 * @handoff_refused: of those, refused there (device state, quarantine,
 *                lockdown or allow_writes changed while the request waited):
 *                nothing was sent.
 * @in_doubt:     writes an emergency stop gave up waiting for (struct
 *                dsmil_group_stop.in_doubt, summed).
 * @reserved:     zero.
 */
struct dsmil_stats {
	__u64 ioctls;
	__u64 bad_input;
	__u64 denied;
	__u64 transitions;
	__u64 refusals[16];
	__u64 handoffs;
	__u64 handoff_refused;
	__u64 in_doubt;
	__u64 reserved;
};

/*
 * DSMIL_IOC_INFO: any opener.  No command-specific errors.
 */
#define DSMIL_IOC_INFO		_IOR(DSMIL_IOC_MAGIC, 0x00, struct dsmil_info)
/*
 * DSMIL_IOC_STATS: any opener.  No command-specific errors.
 */
#define DSMIL_IOC_STATS		_IOR(DSMIL_IOC_MAGIC, 0x01, struct dsmil_stats)
/*
 * DSMIL_IOC_WRITE_AUDIT_READ: CAP_SYS_ADMIN (the records name who wrote
 * what).  -EINVAL: count is 0; -EFAULT: buf is not writable; -ENOMEM.
 */
#define DSMIL_IOC_WRITE_AUDIT_READ _IOWR(DSMIL_IOC_MAGIC, 0x02, struct dsmil_write_audit_read)

/*
 * DSMIL_IOC_DEV_INFO: any opener.  -EINVAL: id >= DSMIL_NUM_DEVICES.
 * DSMIL_IOC_DEV_LIST: any opener.  Writes min(count, DSMIL_NUM_DEVICES)
 *   entries, one consistent snapshot of the states.  -EINVAL: count is 0;
 *   -EFAULT: buf is not writable.
 * Documentation/dsmil-state.rst describes the model: transition table,
 * dependencies, quarantine, group states.
 */
#define DSMIL_IOC_DEV_INFO	_IOWR(DSMIL_IOC_MAGIC, 0x10, struct dsmil_dev_info)
#define DSMIL_IOC_DEV_LIST	_IOWR(DSMIL_IOC_MAGIC, 0x11, struct dsmil_dev_list)
/*
 * DSMIL_IOC_DEV_TRANSITION: CAP_SYS_ADMIN.  The structure is copied back on
 * refusal too, with @reason set.  Every request, accepted or refused, is
 * audited (except an out-of-range id).
 *   -EINVAL  id or target out of range (DSMIL_REASON_BAD_ARG), or the
 *            transition is not in the table (DSMIL_REASON_ILLEGAL)
 *   -EBUSY   the device is ACTIVE and a device depending on it is ACTIVE
 *            (DSMIL_REASON_DEPENDENT); leave dependents first
 *   -ENOLINK to ACTIVE: a device or group this one depends on is not up
 *            (DSMIL_REASON_DEPENDENCY)
 *   -EPERM   to ACTIVE: the device is quarantined (DSMIL_REASON_QUARANTINED);
 *            or the caller lacks CAP_SYS_ADMIN; or, to READY for a device
 *            with a token, lacks CAP_SYS_RAWIO (the verification is an SMI)
 *   INITIALIZING -> READY verifies the device through the SMI layer first
 *   (DSMIL_REASON_VERIFY_FAILED when that fails):
 *   -EIO     the verification failed; the device is now ERROR
 *   -ETIMEDOUT the verification SMI timed out or hung; the device is now
 *            ERROR
 *   -ESHUTDOWN the SMI backend is FAULTED; the device is now ERROR
 *   -EINTR   a fatal signal ended the verification; the device stays
 *            INITIALIZING
 *   -EAGAIN  the device changed state while it was being verified (another
 *            request, an emergency stop or a fault won); nothing was done
 *            (DSMIL_REASON_STATE)
 */
#define DSMIL_IOC_DEV_TRANSITION _IOWR(DSMIL_IOC_MAGIC, 0x12, struct dsmil_transition)
/*
 * DSMIL_IOC_GROUP_ESTOP: CAP_SYS_ADMIN.  Locks, in one step, every device of
 * the group and of every group that depends on it; @locked counts those not
 * LOCKED before.  A LOCKED device leaves only for ERROR.  -EINVAL: group out
 * of range.
 */
#define DSMIL_IOC_GROUP_ESTOP	_IOWR(DSMIL_IOC_MAGIC, 0x13, struct dsmil_group_stop)
/*
 * DSMIL_IOC_AUDIT_READ: CAP_SYS_ADMIN (the trail names who did what).
 *   -EINVAL: count is 0; -EFAULT: buf is not writable; -ENOMEM.
 */
#define DSMIL_IOC_AUDIT_READ	_IOWR(DSMIL_IOC_MAGIC, 0x14, struct dsmil_audit_read)

/*
 * DSMIL_IOC_TOKEN_READ: CAP_SYS_RAWIO.  Every caller's whole wait (queueing
 * behind other requests included) is bounded by smi_timeout_ms.
 *   -EINVAL    group or position out of range (no hardware touched)
 *   -ENODEV    the device owning the token is not READY or ACTIVE
 *   -ETIMEDOUT the request did not finish before its deadline, or the SMI
 *              hung (busy and unchanged for smi_hang_ms); an SMI at the
 *              hardware was aborted and the device is now ERROR (not for a
 *              request that timed out while still queued, nor for one that
 *              reached the hardware with less than smi_hang_ms left)
 *   -EIO       the SMI reported a failure, returned garbage status (0xff),
 *              or could not be started
 *   -ENXIO     the firmware rejected the token (unknown token, invalid
 *              parameter; Dell result -2, "not supported")
 *   -EINVAL    (also) the firmware answered a result code it does not
 *              define (Dell: anything but 0, -1, -2; as dell_smbios_error())
 *   -EOPNOTSUPP the firmware does not support the operation (sim);
 *              DSMIL_TOKEN_F_ACTIVATE on a backend without token values
 *   -ENOENT    the firmware's token table has no such token (discovered at
 *              load or DSMIL_IOC_SMI_RESCAN; nothing sent)
 *   -EACCES    (also) the kernel's Dell filter refuses the token, as
 *              /dev/wmi/dell-smbios would (dell_smbios_call_filter();
 *              nothing sent)
 *   -ERANGE    (write) @value is outside the [min, max] a fresh read of
 *              the token's location reported (nothing written)
 *   -EBUSY     the SMI interface stayed busy at submit after the retries
 *   -ESHUTDOWN the SMI backend is FAULTED (no hardware touched);
 *              DSMIL_IOC_SMI_RECOVER resets it
 *   -ENOMEM    no memory for the request
 *   -EINTR     a fatal signal ended the wait (the request, if already at the
 *              hardware, is finished by the engine)
 *   -EINPROGRESS  (synchronous backend: dell-smbios) the deadline passed
 *              while the firmware call was running; it cannot be stopped
 *              and may still complete: the outcome is unknown, not a
 *              failure, and the device stays as it was.  (Polled backend:
 *              the engine gave no verdict in time, or its abort failed:
 *              the engine aborts at the deadline, so the device goes to
 *              ERROR as for -ETIMEDOUT, by the same rule; a failed abort
 *              also makes the backend FAULTED, and the outcome is known, as
 *              DSMIL_SMI_RESULT_F_UNKNOWN, only when DSMIL_IOC_SMI_RECOVER
 *              resets it.)  @flags has
 *              DSMIL_TOKEN_F_IN_DOUBT, @request_id the id under which
 *              DSMIL_IOC_SMI_RESULT gives the outcome once the call ends
 *              (and the "smi-late" log line reports it)
 *   The state and policy checks are made again when the request is handed
 *   to the backend (after waiting behind other SMIs, for the spacing or for
 *   a busy retry): a device stopped, faulted or deactivated meanwhile, or
 *   (write) allow_writes cleared or lockdown raised, refuses it there with
 *   the same errnos (-ENODEV, -EPERM, -EACCES) and nothing is sent.
 * DSMIL_IOC_TOKEN_WRITE: CAP_SYS_RAWIO, no lockdown (-EPERM), allow_writes
 *   (-EACCES), device ACTIVE (-ENODEV) and not quarantined (-EPERM); then as
 *   TOKEN_READ.  A write is audited (DSMIL_IOC_WRITE_AUDIT_READ) and is three
 *   requests, each bounded by smi_timeout_ms: the token is read (the value
 *   before; a backend that reports it with the write, dell-smbios, is not
 *   read separately), written, and read back.  Besides TOKEN_READ's:
 *   (any)     the read before failed: its errno; nothing was written
 *   -EIO      (also) the read-back differs from the value written: the
 *             firmware acknowledged a write that did not take (logged as
 *             write-mismatch; not checked for DSMIL_TOKEN_F_ACTIVATE, nor
 *             when another write of the token ran at the same time)
 *   A read-back that fails leaves the write's success standing (0); its
 *   errno is in the audit record.
 *   Once DSMIL_IOC_GROUP_ESTOP has returned (in_doubt 0), no write
 *   reaches a device it locked.
 */
#define DSMIL_IOC_TOKEN_READ	_IOWR(DSMIL_IOC_MAGIC, 0x20, struct dsmil_token_req)
#define DSMIL_IOC_TOKEN_WRITE	_IOWR(DSMIL_IOC_MAGIC, 0x21, struct dsmil_token_req)
/*
 * DSMIL_IOC_SMI_STATUS: any opener.  No command-specific errors.
 */
#define DSMIL_IOC_SMI_STATUS	_IOR(DSMIL_IOC_MAGIC, 0x22, struct dsmil_smi_status)
/*
 * DSMIL_IOC_SMI_RECOVER: CAP_SYS_ADMIN and CAP_SYS_RAWIO.  Resets a FAULTED
 * backend; returns 0 at once (touching nothing) when it is not FAULTED.
 *   -EAGAIN  the backoff after a failed recovery has not elapsed
 *            (struct dsmil_smi_status.recover_wait_ms says how long)
 *   -EBUSY   a request the engine still owns is at the hardware
 *   -EIO     the backend reset failed (the backoff doubles, from 100 ms up
 *            to 10 s)
 */
#define DSMIL_IOC_SMI_RECOVER	_IO(DSMIL_IOC_MAGIC, 0x23)
/*
 * DSMIL_IOC_SMI_RESCAN: CAP_SYS_ADMIN and CAP_SYS_RAWIO.  Asks the backend
 * again which DSMIL tokens the firmware has (and which the kernel's Dell
 * filter refuses); DSMIL_IOC_DEV_INFO flags follow.  Sends no token call.
 *   -EOPNOTSUPP  the backend has no discovery (sim)
 */
#define DSMIL_IOC_SMI_RESCAN	_IO(DSMIL_IOC_MAGIC, 0x24)
/*
 * DSMIL_IOC_SMI_RESULT: CAP_SYS_RAWIO.  The final outcome of one of the last
 * DSMIL_SMI_RESULTS token requests that reached the engine, by request id;
 * meant for a call that returned -EINPROGRESS.  Touches no hardware.
 *   -EINVAL       @request_id is 0
 *   -EINPROGRESS  the request has not ended yet (its call is still running,
 *                 or it is still queued)
 *   -ENOENT       no such request: never issued, not a token request, or
 *                 aged out of the last DSMIL_SMI_RESULTS
 */
#define DSMIL_IOC_SMI_RESULT	_IOWR(DSMIL_IOC_MAGIC, 0x25, struct dsmil_smi_result)

/*
 * DSMIL_IOC_TOKEN_SUBMIT: CAP_SYS_RAWIO; a write also no lockdown (-EPERM)
 * and allow_writes (-EACCES).  Checks the request as DSMIL_IOC_TOKEN_READ /
 * _WRITE do on arrival (the same errnos: -EINVAL, -ENODEV, -EPERM,
 * -ENOENT, -EACCES, -EOPNOTSUPP, -ESHUTDOWN, nothing queued), queues it
 * and returns its id at once; its outcome is read() later as a struct
 * dsmil_token_completion.  The request is checked again where it reaches
 * the hardware, and bounded as a synchronous one from the submit: one
 * still queued smi_timeout_ms after it (a write: each of its requests)
 * ends with ETIMEDOUT, untouched.  A write is audited as TOKEN_WRITE's.
 *   -EINVAL  @op unknown, or (read) @flags not zero
 *   -EAGAIN  DSMIL_ASYNC_MAX requests of this file are outstanding (their
 *            completions not read yet), or DSMIL_ASYNC_GLOBAL_MAX requests
 *            of all files have not ended yet
 *   -ENOMEM  no memory for the request
 * DSMIL_IOC_TOKEN_CANCEL: CAP_SYS_RAWIO.  A request still queued ends at
 *   once, unsent, with error ECANCELED and DSMIL_TOKEN_C_CANCELLED (its
 *   completion is read() as any other).
 *   -EBUSY   the request is at the firmware (or, a write, under way): it
 *            finishes and reports normally
 *   -ENOENT  no request of this file has that id outstanding (never
 *            submitted here, or already ended)
 * read(): whole struct dsmil_token_completion records, as many as fit and
 *   are ready; blocks until one is unless O_NONBLOCK.
 *   -EINVAL  the buffer is smaller than one record
 *   -EAGAIN  O_NONBLOCK and no record ready
 *   -EINTR / -ERESTARTSYS  a signal arrived while waiting
 * poll(): EPOLLIN | EPOLLRDNORM while a record is ready.
 */
#define DSMIL_IOC_TOKEN_SUBMIT	_IOWR(DSMIL_IOC_MAGIC, 0x26, struct dsmil_token_submit)
#define DSMIL_IOC_TOKEN_CANCEL	_IOW(DSMIL_IOC_MAGIC, 0x27, struct dsmil_token_cancel)

/*
 * DSMIL_IOC_MMIO_READ / _BULK_READ: CAP_SYS_RAWIO; refused (-EPERM) under
 * lockdown, like /dev/mem (LOCKDOWN_DEV_MEM).  DSMIL_IOC_MMIO_WRITE /
 * _BULK_WRITE also need allow_writes (-EACCES).  Every argument is checked
 * (the whole range, with overflow-safe arithmetic) before any byte moves:
 *   -EINVAL  bad width, offset not a multiple of the width, length 0 or over
 *            DSMIL_BULK_MAX, unknown flag, @device set without
 *            DSMIL_MMIO_F_DEVICE, device id out of range, non-zero reserved
 *            field
 *   -ERANGE  offset/length (or offset + length) outside the region or the
 *            device window; logged as refused-access, counted in @refused
 *   -E2BIG   a bulk write touching more chunks than max_resident (a write
 *            maps every chunk it touches before the first byte lands)
 *   -ENODEV  device-scoped access to a device not READY/ACTIVE (read) or not
 *            ACTIVE (write); or a raw write (without DSMIL_MMIO_F_DEVICE,
 *            single or bulk) touching the window of a device not ACTIVE.
 *            Checked again where each page reaches the hardware: a bulk
 *            write whose window is stopped meanwhile (emergency stop) ends
 *            at that page, @done counting the bytes that landed (likewise
 *            -EPERM/-EACCES when lockdown or allow_writes change)
 *   -EPERM   device-scoped write to a quarantined device, or a raw write
 *            touching a quarantined device's window.  A raw write must pass
 *            the device-scoped write check for every window it touches,
 *            before any byte is written; raw reads are not restricted
 *   -EBUSY   the cap was reached and every resident chunk stayed in use for
 *            busy_wait_ms (see struct dsmil_mmio_status.all_busy); nothing
 *            was written; retry
 *   -ENOMEM / -EIO  a chunk could not be mapped (logged as map-failure);
 *            nothing was written
 *   -EFAULT  @buf is not accessible.  A bulk write checks (faults in) the
 *            whole buffer first and then writes nothing; only a buffer the
 *            caller unmaps while the call runs can stop it part way, and
 *            @done then counts the bytes that landed
 *   -EINTR   a fatal signal arrived before the first byte was copied (a bulk
 *            read stopped later returns 0 with @done < @length; a bulk write,
 *            once started, completes)
 * Bulk commands copy the argument back on error too, so @done is valid.
 */
#define DSMIL_IOC_MMIO_READ	_IOWR(DSMIL_IOC_MAGIC, 0x30, struct dsmil_mmio_rw)
#define DSMIL_IOC_MMIO_WRITE	_IOWR(DSMIL_IOC_MAGIC, 0x31, struct dsmil_mmio_rw)
#define DSMIL_IOC_MMIO_BULK_READ  _IOWR(DSMIL_IOC_MAGIC, 0x32, struct dsmil_mmio_bulk)
#define DSMIL_IOC_MMIO_BULK_WRITE _IOWR(DSMIL_IOC_MAGIC, 0x33, struct dsmil_mmio_bulk)
/*
 * DSMIL_IOC_MMIO_STATUS: any opener.
 *   -EFAULT  chunk_buf is not writable
 *   -ENOMEM  no memory for the per-chunk table (only with chunk_buf set)
 *   -EINTR   a fatal signal arrived while waiting for the mapper's lock
 */
#define DSMIL_IOC_MMIO_STATUS	_IOWR(DSMIL_IOC_MAGIC, 0x34, struct dsmil_mmio_status)

#endif /* _UAPI_LINUX_DSMIL_IOCTL_H */
