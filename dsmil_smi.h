/* SPDX-License-Identifier: GPL-2.0 */
/* dsmil: SMI engine and its backends (dsmil_smi.c). */
#ifndef _DSMIL_SMI_H
#define _DSMIL_SMI_H

#include <linux/types.h>

#include "dsmil_ioctl.h"

struct dentry;

/**
 * struct dsmil_smi_config - SMI engine settings, from module parameters.
 * @backend:         "sim" or "dell-smbios".
 * @timeout_ms:      bound on a caller's whole wait.
 * @hang_ms:         busy with unchanged status this long is a hang.
 * @min_interval_us: minimum spacing between two SMIs.
 * @fault_limit:     consecutive faults that make the backend FAULTED.
 * @busy_retries:    retries of a submit refused as busy.
 */
struct dsmil_smi_config {
	char backend[DSMIL_NAME_LEN];
	unsigned int timeout_ms;
	unsigned int hang_ms;
	unsigned int min_interval_us;
	unsigned int fault_limit;
	unsigned int busy_retries;
};

struct dsmil_smi {
	const char *backend_name;
};

int dsmil_smi_init(struct dsmil_smi *smi, const struct dsmil_smi_config *cfg,
		   struct dentry *debugfs);
void dsmil_smi_exit(struct dsmil_smi *smi);

/**
 * dsmil_smi_verify_device - check device @id answers through its token.
 * @smi: SMI engine.
 * @id:  global device id.
 *
 * Used by the state machine for INITIALIZING -> READY, without its lock
 * held.  Reads the device's token bypassing the device-state check (the
 * device is INITIALIZING) and does not report faults back to the state
 * machine: the caller decides.  A device without a token verifies trivially.
 *
 * Return: 0 or the request's negative errno (-EIO, -ETIMEDOUT, -ESHUTDOWN...).
 */
int dsmil_smi_verify_device(struct dsmil_smi *smi, unsigned int id);

#endif /* _DSMIL_SMI_H */
