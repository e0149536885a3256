/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: tracepoints of the chunk mapper (events dsmil:dsmil_mmio_*).
 *
 *   echo 1 > /sys/kernel/tracing/events/dsmil/enable
 *   cat /sys/kernel/tracing/trace_pipe
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dsmil

#if !defined(_DSMIL_MMIO_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DSMIL_MMIO_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

/* Why a chunk was unmapped: dsmil_mmio_unmap's @why. */
#define DSMIL_UNMAP_EVICT	0	/* LRU eviction to stay under the cap */
#define DSMIL_UNMAP_IDLE	1	/* idle for idle_ms */
#define DSMIL_UNMAP_EXIT	2	/* instance teardown */
#define DSMIL_UNMAP_SUSPEND	3	/* system sleep */

TRACE_EVENT(dsmil_mmio_map,
	    TP_PROTO(unsigned int chunk, u64 phys, unsigned int resident,
		     u64 duration_ns, int err),
	    TP_ARGS(chunk, phys, resident, duration_ns, err),
	    TP_STRUCT__entry(__field(unsigned int, chunk)
			     __field(u64, phys)
			     __field(unsigned int, resident)
			     __field(u64, duration_ns)
			     __field(int, err)),
	    TP_fast_assign(__entry->chunk = chunk;
			   __entry->phys = phys;
			   __entry->resident = resident;
			   __entry->duration_ns = duration_ns;
			   __entry->err = err;),
	    TP_printk("chunk=%u phys=0x%llx resident=%u duration_ns=%llu err=%d",
		      __entry->chunk, __entry->phys, __entry->resident,
		      __entry->duration_ns, __entry->err)
);

TRACE_EVENT(dsmil_mmio_unmap,
	    TP_PROTO(unsigned int chunk, int why, unsigned int resident,
		     u64 idle_ns),
	    TP_ARGS(chunk, why, resident, idle_ns),
	    TP_STRUCT__entry(__field(unsigned int, chunk)
			     __field(int, why)
			     __field(unsigned int, resident)
			     __field(u64, idle_ns)),
	    TP_fast_assign(__entry->chunk = chunk;
			   __entry->why = why;
			   __entry->resident = resident;
			   __entry->idle_ns = idle_ns;),
	    TP_printk("chunk=%u why=%s resident=%u idle_ns=%llu",
		      __entry->chunk,
		      __print_symbolic(__entry->why,
				       { DSMIL_UNMAP_EVICT, "evict" },
				       { DSMIL_UNMAP_IDLE, "idle" },
				       { DSMIL_UNMAP_EXIT, "exit" },
				       { DSMIL_UNMAP_SUSPEND, "suspend" }),
		      __entry->resident, __entry->idle_ns)
);

TRACE_EVENT(dsmil_mmio_evict,
	    TP_PROTO(unsigned int victim, unsigned int wanted, u64 idle_ns),
	    TP_ARGS(victim, wanted, idle_ns),
	    TP_STRUCT__entry(__field(unsigned int, victim)
			     __field(unsigned int, wanted)
			     __field(u64, idle_ns)),
	    TP_fast_assign(__entry->victim = victim;
			   __entry->wanted = wanted;
			   __entry->idle_ns = idle_ns;),
	    TP_printk("victim=%u wanted=%u idle_ns=%llu",
		      __entry->victim, __entry->wanted, __entry->idle_ns)
);

#endif /* _DSMIL_MMIO_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dsmil_mmio_trace
#include <trace/define_trace.h>
