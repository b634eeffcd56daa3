/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stage.h — moving between stages: the per-CPU scratch slot and tail calls.
 * tail() is the only place that calls bpf_tail_call, and every caller returns its
 * verdict at once (internal/bpfsrc's test enforces both): a missed tail call
 * always drops with DROP_TAIL_CALL. */
#ifndef LINX_STAGE_H
#define LINX_STAGE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "linx.h"
#include "maps.h"
#include "counters.h"

/* A stage function returns NEXT_STAGE when its entry should tail-call the next
 * stage, else the packet's verdict. */
#define NEXT_STAGE (-1)
/* ... or NEXT_ENCAP when it should tail-call the encapsulation stage. */
#define NEXT_ENCAP (-2)
/* ... or NEXT_CLASSIFY6 when the parser hands an IPv6 packet to linx_classify6. */
#define NEXT_CLASSIFY6 (-3)
/* ... or NEXT_DECAP6 when the parser hands GRE in IPv6 on a WAN port to linx_decap6. */
#define NEXT_DECAP6 (-4)
/* ... or NEXT_ENCAP_U6 when encapsulation is over an IPv6 underlay (linx_encap_u6). */
#define NEXT_ENCAP_U6 (-5)

static __always_inline struct pkt_meta *get_meta(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline int tail(struct xdp_md *ctx, __u32 stage)
{
	bpf_tail_call(ctx, &stages, stage);
	return drop(ctx, DROP_TAIL_CALL);
}

#endif /* LINX_STAGE_H */
