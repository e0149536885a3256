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
};

#define DSMIL_REASON_COUNT	11

/* struct dsmil_info.features */
#define DSMIL_FEAT_DEVICES	0x1U	/* device model ioctls */
#define DSMIL_FEAT_SMI		0x2U	/* token ioctls */
#define DSMIL_FEAT_MMIO		0x4U	/* region ioctls */
#define DSMIL_FEAT_WRITES	0x8U	/* allow_writes is set now */
#define DSMIL_FEAT_LOCKDOWN	0x10U	/* kernel is locked down */

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
 * @region_base:    physical base (0 for the simulated region).
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
 * @prev:     out: state before the request.
 * @reason:   out: enum dsmil_reason when refused, else DSMIL_REASON_NONE.
 * @reserved0: zero.
 * @state:    out: state after the request.
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
 * @locked:   out: number of devices locked.
 * @reserved: zero.
 */
struct dsmil_group_stop {
	__u8  group;
	__u8  reserved0[3];
	__u32 locked;
	__u64 reserved[2];
};

/* struct dsmil_audit_entry.source */
#define DSMIL_SRC_IOCTL		0	/* a transition request */
#define DSMIL_SRC_ESTOP		1	/* emergency stop */
#define DSMIL_SRC_SMI		2	/* SMI layer fault report */
#define DSMIL_SRC_UNLOAD	3	/* module unload */
#define DSMIL_SRC_INTERNAL	4	/* driver-internal step (verify) */

/**
 * struct dsmil_audit_entry - one transition, accepted or refused.
 * @seq:       sequence number, from 1, never reused.
 * @time_ns:   CLOCK_REALTIME of the request.
 * @pid:       caller's pid (0 for the kernel).
 * @uid:       caller's uid.
 * @device:    device id.
 * @from:      state before.
 * @to:        state requested.
 * @error:     0 when accepted, else the positive errno returned.
 * @reason:    enum dsmil_reason.
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
 * @position:    enum dsmil_token_pos.
 * @token:       out: the token id used.
 * @value:       in (write) / out (read): token value.
 * @reserved0:   zero.
 * @duration_ns: out: time the SMI layer spent on the request.
 * @reserved:    zero.
 */
struct dsmil_token_req {
	__u8  group;
	__u8  position;
	__u16 token;
	__u32 value;
	__u32 reserved0;
	__u32 reserved1;
	__u64 duration_ns;
	__u64 reserved[2];
};

/* struct dsmil_smi_status.state */
#define DSMIL_SMI_OK		0
#define DSMIL_SMI_FAULTED	1	/* fails fast until recovered */

#define DSMIL_SMI_HIST_BUCKETS	20	/* bucket b: latency < 2^b us */

/**
 * struct dsmil_smi_status - DSMIL_IOC_SMI_STATUS: engine state and counters.
 * Counter identity: requests = successes + errors + timeouts + hangs +
 * faulted_rejects + refused.
 */
struct dsmil_smi_status {
	__u8  backend[DSMIL_NAME_LEN];
	__u32 state;
	__u32 consecutive_faults;
	__u32 timeout_ms;
	__u32 hang_ms;
	__u32 min_interval_us;
	__u32 fault_limit;
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
	__u64 recover_backoff_ms;	/* wait before the next recover try */
	__u64 latency_hist[DSMIL_SMI_HIST_BUCKETS];
	__u64 reserved[4];
};

/* struct dsmil_mmio_rw.flags and struct dsmil_mmio_bulk.flags */
#define DSMIL_MMIO_F_DEVICE	0x1U	/* offset is in @device's window */

/**
 * struct dsmil_mmio_rw - DSMIL_IOC_MMIO_READ / DSMIL_IOC_MMIO_WRITE: one
 * naturally aligned access of 1, 2, 4 or 8 bytes.
 * @offset:    byte offset in the region (or in the device window).
 * @value:     in (write) / out (read).
 * @width:     1, 2, 4 or 8.
 * @reserved0: zero.
 * @device:    device id, with DSMIL_MMIO_F_DEVICE.
 * @flags:     DSMIL_MMIO_F_*.
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
 * struct dsmil_mmio_bulk - DSMIL_IOC_MMIO_BULK_READ / _BULK_WRITE.
 * @offset:   byte offset in the region (or in the device window).
 * @length:   bytes, at most DSMIL_BULK_MAX.
 * @buf:      user pointer to @length bytes.
 * @done:     out: bytes copied (less than @length only when a fatal signal
 *            stopped a read).
 * @flags:    DSMIL_MMIO_F_*.
 * @device:   device id, with DSMIL_MMIO_F_DEVICE.
 * @reserved0: zero.
 * @reserved: zero.
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
 * struct dsmil_chunk_stat - per-chunk counters.
 * @index:     chunk index.
 * @users:     accesses in flight now.
 * @resident:  1 if mapped now.
 * @reserved0: zero.
 * @maps:      times mapped.
 * @hits:      accesses that found it mapped.
 * @idle_ms:   ms since last use (0 if never used).
 */
struct dsmil_chunk_stat {
	__u32 index;
	__u32 users;
	__u8  resident;
	__u8  reserved0[7];
	__u64 maps;
	__u64 hits;
	__u64 idle_ms;
};

/**
 * struct dsmil_mmio_status - DSMIL_IOC_MMIO_STATUS: the mapper's state.
 * @chunk_buf:   user pointer to an array of struct dsmil_chunk_stat, or 0.
 * @chunk_count: in: entries @chunk_buf holds; out: entries written.
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
	__u64 reserved[4];
};

/**
 * struct dsmil_stats - DSMIL_IOC_STATS: driver-wide counters.
 * @ioctls:       ioctl calls.
 * @bad_input:    calls refused for their argument (-EINVAL/-ENOTTY/-EFAULT).
 * @denied:       calls refused by capability, lockdown or allow_writes.
 * @transitions:  accepted device transitions.
 * @refusals:     refused transitions and accesses, by enum dsmil_reason.
 */
struct dsmil_stats {
	__u64 ioctls;
	__u64 bad_input;
	__u64 denied;
	__u64 transitions;
	__u64 refusals[16];
	__u64 reserved[4];
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
 * DSMIL_IOC_DEV_INFO: any opener.  -EINVAL: id >= DSMIL_NUM_DEVICES.
 * DSMIL_IOC_DEV_LIST: any opener.  -EINVAL: count is 0.
 */
#define DSMIL_IOC_DEV_INFO	_IOWR(DSMIL_IOC_MAGIC, 0x10, struct dsmil_dev_info)
#define DSMIL_IOC_DEV_LIST	_IOWR(DSMIL_IOC_MAGIC, 0x11, struct dsmil_dev_list)
/*
 * DSMIL_IOC_DEV_TRANSITION: CAP_SYS_ADMIN.  The structure is copied back on
 * refusal too, with @reason set.
 *   -EINVAL  id or target out of range, or the transition is not legal
 *   -EBUSY   a device depending on this one is ACTIVE
 *   -ENOLINK a device or group this one depends on is not up
 *   -EPERM   the device is quarantined (never ACTIVE) or lacks CAP_SYS_ADMIN
 *   -EIO     token verification during INITIALIZING -> READY failed; the
 *            device is now ERROR
 *   -ETIMEDOUT the verification SMI timed out; the device is now ERROR
 */
#define DSMIL_IOC_DEV_TRANSITION _IOWR(DSMIL_IOC_MAGIC, 0x12, struct dsmil_transition)
/*
 * DSMIL_IOC_GROUP_ESTOP: CAP_SYS_ADMIN.  -EINVAL: group out of range.
 */
#define DSMIL_IOC_GROUP_ESTOP	_IOWR(DSMIL_IOC_MAGIC, 0x13, struct dsmil_group_stop)
/*
 * DSMIL_IOC_AUDIT_READ: CAP_SYS_ADMIN.  -EINVAL: count is 0.
 */
#define DSMIL_IOC_AUDIT_READ	_IOWR(DSMIL_IOC_MAGIC, 0x14, struct dsmil_audit_read)

/*
 * DSMIL_IOC_TOKEN_READ: CAP_SYS_RAWIO.
 *   -EINVAL    group or position out of range (no hardware touched)
 *   -ENODEV    the device owning the token is not READY or ACTIVE
 *   -ETIMEDOUT the SMI did not complete in time or hung (it was aborted);
 *              the device is now ERROR
 *   -EIO       the SMI reported an error, or returned garbage status
 *   -ESHUTDOWN the SMI backend is FAULTED; DSMIL_IOC_SMI_RECOVER resets it
 *   -EINTR     a fatal signal ended the wait
 * DSMIL_IOC_TOKEN_WRITE: CAP_SYS_RAWIO, allow_writes (-EACCES), no lockdown
 *   (-EPERM), device ACTIVE (-ENODEV) and not quarantined (-EPERM); then as
 *   TOKEN_READ.
 */
#define DSMIL_IOC_TOKEN_READ	_IOWR(DSMIL_IOC_MAGIC, 0x20, struct dsmil_token_req)
#define DSMIL_IOC_TOKEN_WRITE	_IOWR(DSMIL_IOC_MAGIC, 0x21, struct dsmil_token_req)
/*
 * DSMIL_IOC_SMI_STATUS: any opener.  No command-specific errors.
 */
#define DSMIL_IOC_SMI_STATUS	_IOR(DSMIL_IOC_MAGIC, 0x22, struct dsmil_smi_status)
/*
 * DSMIL_IOC_SMI_RECOVER: CAP_SYS_ADMIN and CAP_SYS_RAWIO.
 *   -EAGAIN  the backoff after a failed recovery has not elapsed
 *   -EIO     the backend reset failed (the backoff doubles)
 */
#define DSMIL_IOC_SMI_RECOVER	_IO(DSMIL_IOC_MAGIC, 0x23)

/*
 * DSMIL_IOC_MMIO_READ / _BULK_READ: CAP_SYS_RAWIO; refused (-EPERM) under
 * lockdown, like /dev/mem.  DSMIL_IOC_MMIO_WRITE / _BULK_WRITE also need
 * allow_writes (-EACCES).
 *   -EINVAL  bad width, misaligned offset, non-zero reserved field
 *   -ERANGE  offset/length outside the region or the device window
 *   -ENODEV  device-scoped access to a device not READY/ACTIVE (read) or not
 *            ACTIVE (write)
 *   -EPERM   device-scoped write to a quarantined device
 *   -EBUSY   every resident chunk is in use and the cap is reached
 *   -ENOMEM / -EIO  the chunk could not be mapped
 *   -EINTR   a fatal signal stopped a bulk read before any byte was copied
 */
#define DSMIL_IOC_MMIO_READ	_IOWR(DSMIL_IOC_MAGIC, 0x30, struct dsmil_mmio_rw)
#define DSMIL_IOC_MMIO_WRITE	_IOWR(DSMIL_IOC_MAGIC, 0x31, struct dsmil_mmio_rw)
#define DSMIL_IOC_MMIO_BULK_READ  _IOWR(DSMIL_IOC_MAGIC, 0x32, struct dsmil_mmio_bulk)
#define DSMIL_IOC_MMIO_BULK_WRITE _IOWR(DSMIL_IOC_MAGIC, 0x33, struct dsmil_mmio_bulk)
/*
 * DSMIL_IOC_MMIO_STATUS: any opener.  -EFAULT if chunk_buf is bad.
 */
#define DSMIL_IOC_MMIO_STATUS	_IOWR(DSMIL_IOC_MAGIC, 0x34, struct dsmil_mmio_status)

#endif /* _UAPI_LINUX_DSMIL_IOCTL_H */
