/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: SMI engine tracepoints (dsmil_smi.c defines them).
 *
 *   echo 1 > /sys/kernel/tracing/events/dsmil/dsmil_smi_request/enable
 *   cat /sys/kernel/tracing/trace_pipe
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dsmil

#if !defined(_DSMIL_SMI_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DSMIL_SMI_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>

/*
 * One event per token request, when it ends, refused and FAULTED ones
 * included: result is 0 or the errno the request ended with (for a request
 * whose caller gave up, its real outcome), duration_ns the time from its
 * arrival to its end.
 */
TRACE_EVENT(dsmil_smi_request,
	    TP_PROTO(u16 token, u8 op, const char *backend, int result,
		     u64 duration_ns),
	    TP_ARGS(token, op, backend, result, duration_ns),
	    TP_STRUCT__entry(__field(u16, token)
			     __field(u8, op)
			     /* Fixed size: __string() differs in 6.1/6.12. */
			     __array(char, backend, 16)
			     __field(int, result)
			     __field(u64, duration_ns)),
	    TP_fast_assign(__entry->token = token;
			   __entry->op = op;
			   strscpy_pad(__entry->backend, backend,
				       sizeof(__entry->backend));
			   __entry->result = result;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("token=0x%04x op=%s backend=%s result=%d duration_ns=%llu",
		      __entry->token,
		      __print_symbolic(__entry->op, { 0, "read" },
				       { 1, "write" }),
		      __entry->backend, __entry->result,
		      (unsigned long long)__entry->duration_ns)
);

#endif /* _DSMIL_SMI_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dsmil_smi_trace
#include <trace/define_trace.h>
