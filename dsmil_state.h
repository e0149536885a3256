/* SPDX-License-Identifier: GPL-2.0 */
/* dsmil: device model and state machine (dsmil_state.c). */
#ifndef _DSMIL_STATE_H
#define _DSMIL_STATE_H

#include <linux/mutex.h>
#include <linux/sysfs.h>
#include <linux/types.h>

#include "dsmil_ioctl.h"

struct dsmil_state {
	struct mutex lock;
};

int dsmil_state_init(struct dsmil_state *st);
void dsmil_state_exit(struct dsmil_state *st);
u64 dsmil_state_transitions(struct dsmil_state *st);

/*
 * Interfaces for the SMI engine and the MMIO mapper.  Neither may be called
 * with a lock of the caller's held that the state machine could need.
 */

/**
 * dsmil_state_check_access - may device @id's hardware be touched now?
 * @st:    state machine.
 * @id:    global device id (< DSMIL_NUM_DEVICES).
 * @write: false for a read (READY or ACTIVE), true for a write (ACTIVE and
 *         not quarantined).
 *
 * Reads the state without the lock: the answer holds for the moment of the
 * call; an access already at the hardware is not stopped by a later state
 * change (an SMI cannot be interrupted anyway).  Refusals are counted and
 * logged here.
 *
 * Return: 0, -EINVAL (bad id), -ENODEV (state) or -EPERM (quarantined write).
 */
int dsmil_state_check_access(struct dsmil_state *st, unsigned int id,
			     bool write);

/**
 * dsmil_state_report_fault - a layer below saw device @id's hardware fail.
 * @st:     state machine.
 * @id:     global device id.
 * @reason: DSMIL_REASON_SMI_FAULT and the like.
 * @err:    the negative errno the layer returned.
 *
 * Moves the device to ERROR (if its state allows) and logs why.  Called by the
 * SMI engine with none of its locks held.
 */
void dsmil_state_report_fault(struct dsmil_state *st, unsigned int id,
			      enum dsmil_reason reason, int err);

extern const struct attribute_group dsmil_state_attr_group;

#endif /* _DSMIL_STATE_H */
