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

static __always_inline void count_drop(struct xdp_md *ctx, __u32 reason)
{
	struct counter *c = bpf_map_lookup_elem(&drop_counters, &reason);

	count(c, frame_len(ctx));
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
