/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: the words the driver uses for its states and refusal reasons in
 * dmesg, sysfs and the audit trail.  Shared with the tools in tools/, which
 * print and parse the same words, so the two cannot drift apart.  Not uapi:
 * the tools are built from this tree; include dsmil_ioctl.h first.
 */
#ifndef _DSMIL_NAMES_H
#define _DSMIL_NAMES_H

#define DSMIL_DEV_STATE_NAMES {					\
	[DSMIL_DEV_OFFLINE]		= "OFFLINE",		\
	[DSMIL_DEV_INITIALIZING]	= "INITIALIZING",	\
	[DSMIL_DEV_READY]		= "READY",		\
	[DSMIL_DEV_ACTIVE]		= "ACTIVE",		\
	[DSMIL_DEV_ERROR]		= "ERROR",		\
	[DSMIL_DEV_LOCKED]		= "LOCKED",		\
}

#define DSMIL_GROUP_STATE_NAMES {				\
	[DSMIL_GROUP_DISABLED]		= "DISABLED",		\
	[DSMIL_GROUP_INITIALIZING]	= "INITIALIZING",	\
	[DSMIL_GROUP_READY]		= "READY",		\
	[DSMIL_GROUP_ACTIVE]		= "ACTIVE",		\
	[DSMIL_GROUP_ERROR]		= "ERROR",		\
	[DSMIL_GROUP_EMERGENCY_STOP]	= "EMERGENCY_STOP",	\
}

/* The words of reason=... in the driver's messages. */
#define DSMIL_REASON_NAMES {					\
	[DSMIL_REASON_NONE]		= "none",		\
	[DSMIL_REASON_ILLEGAL]		= "illegal",		\
	[DSMIL_REASON_DEPENDENCY]	= "dependency",		\
	[DSMIL_REASON_DEPENDENT]	= "dependent",		\
	[DSMIL_REASON_QUARANTINED]	= "quarantined",	\
	[DSMIL_REASON_VERIFY_FAILED]	= "verify-failed",	\
	[DSMIL_REASON_SMI_FAULT]	= "smi-fault",		\
	[DSMIL_REASON_EMERGENCY_STOP]	= "emergency-stop",	\
	[DSMIL_REASON_UNLOAD]		= "unload",		\
	[DSMIL_REASON_STATE]		= "state",		\
	[DSMIL_REASON_BAD_ARG]		= "bad-arg",		\
	[DSMIL_REASON_RESUME]		= "resume",		\
}

/* The words of an audit entry's source, and of SOURCE= in a state uevent. */
#define DSMIL_SOURCE_NAMES {					\
	[DSMIL_SRC_IOCTL]		= "ioctl",		\
	[DSMIL_SRC_ESTOP]		= "emergency-stop",	\
	[DSMIL_SRC_SMI]			= "smi",		\
	[DSMIL_SRC_UNLOAD]		= "unload",		\
	[DSMIL_SRC_INTERNAL]		= "internal",		\
	[DSMIL_SRC_RESUME]		= "resume",		\
}

#endif /* _DSMIL_NAMES_H */
