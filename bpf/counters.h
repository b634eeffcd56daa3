/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* counters.h — packet and byte counters, and drops that are counted with a reason. */
#ifndef LINX_COUNTERS_H
#define LINX_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "linx.h"
#include "maps.h"

static __always_inline void count(struct counter *c, __u64 bytes)
{
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline __u64 frame_len(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

/* count_drop counts a dropped frame under its reason and under the port it
 * arrived on: the ingress stage sets the scratch slot's port before its first
 * drop, so the slot names this packet's port (both lookups are inlined arrays). */
static __always_inline void count_drop(struct xdp_md *ctx, __u32 reason)
{
	__u64 len = frame_len(ctx);
	__u32 zero = 0;
	struct counter *c = bpf_map_lookup_elem(&drop_counters, &reason);
	struct pkt_meta *m = bpf_map_lookup_elem(&scratch, &zero);

	count(c, len);
	if (m) {
		__u32 port = m->port;
		struct port_stats *s = bpf_map_lookup_elem(&port_counters, &port);

		if (s)
			count(&s->drop, len);
	}
}

/* drop counts the packet under reason and returns XDP_DROP. Never XDP_ABORTED: that
 * verdict is reserved for bugs. */
static __always_inline int drop(struct xdp_md *ctx, __u32 reason)
{
	count_drop(ctx, reason);
	return XDP_DROP;
}

static __always_inline void count_port_tx(__u32 port, __u64 bytes)
{
	struct port_stats *s = bpf_map_lookup_elem(&port_counters, &port);

	if (s)
		count(&s->tx, bytes);
}


#endif /* LINX_COUNTERS_H */
