// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* linx.c — the XDP pipeline (the paper's Algorithm 1):
 *
 *   linx_xdp (parser, GRE decap) → linx_classify (PDR) → linx_forward (FAR)
 *                                         → linx_balance (LBR) → linx_encap (GRE)
 *                                         → linx_encap (GRE)
 *
 * Frames that are not IPv4 end in linx_xdp, with their non_ip rule (by EtherType).
 *
 * Stages are chained with tail calls through the "stages" prog array and share the
 * parse results through a per-CPU scratch slot. A missed tail call drops the packet
 * with DROP_TAIL_CALL. Malformed input is dropped with a reason, never XDP_ABORTED.
 * See docs/datapath.md for the policies (fragments, MTU, neighbours).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "linx.h"
#include "maps.h"
#include "stage.h"
#include "ingress.h"
#include "classify.h"
#include "forward.h"
#include "encap.h"
#include "balance.h"
#include "punt.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* linx_xdp is the entry point attached to every port: it parses, decapsulates GRE
 * on WAN ports, and hands over to the classifier. */
SEC("xdp")
int linx_xdp(struct xdp_md *ctx)
{
	int rc = ingress(ctx);

	if (rc != NEXT_STAGE)
		return rc;
	return tail(ctx, STAGE_CLASSIFY);
}

/* linx_classify selects the packet's PDR: from the per-CPU flow cache when the
 * classifier has not changed since the flow was last seen, else by tuple-space
 * search (whose answer is then cached). */
SEC("xdp")
int linx_classify(struct xdp_md *ctx)
{
	int rc = classify(ctx);

	if (rc != NEXT_STAGE)
		return rc;
	return tail(ctx, STAGE_FORWARD);
}

/* linx_forward applies the FAR the classifier selected. */
SEC("xdp")
int linx_forward(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	if (!m->use_miss) {
		__u32 id = m->far_id;
		struct far *f = bpf_map_lookup_elem(&fars, &id);
		if (!f)
			return drop(ctx, DROP_NO_FAR);
		m->far = *f;
	}
	switch (m->far.action) {
	case FAR_DROP:
		return drop(ctx, DROP_POLICY);
	case FAR_PASS:
		return XDP_PASS;
	case FAR_FORWARD:
		return do_forward(ctx, m, m->far.port);
	case FAR_ENCAP:
		m->tunnel_id = m->far.arg;
		return tail(ctx, STAGE_ENCAP);
	case FAR_BALANCE:
		return tail(ctx, STAGE_BALANCE);
	case FAR_PUNT:
		return punt(ctx, m);
	}
	return drop(ctx, DROP_NO_FAR);
}

/* linx_balance picks a tunnel from the FAR's LBR: the flow's Maglev slot, else the
 * next slots, else the first live member after a hash-chosen start. Members that
 * are down are skipped; flows on live members never move. */
SEC("xdp")
int linx_balance(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 id = m->far.arg;
	struct lbr *l = bpf_map_lookup_elem(&lbrs, &id);
	if (!l)
		return drop(ctx, DROP_NO_LBR);
	int rc = pick_tunnel(m, l);
	if (rc)
		return drop(ctx, rc);
	return tail(ctx, STAGE_ENCAP);
}

/* linx_encap puts the packet into the overlay the forwarder or the load balancer
 * chose. */
SEC("xdp")
int linx_encap(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	return do_encap(ctx, m, m->tunnel_id);
}

/* linx_pass lets frames through untouched. Attach it to the peer of a veth that
 * linx redirects into when nothing else runs there: veth only delivers redirected
 * frames to a peer with XDP (or GRO) enabled. */
SEC("xdp")
int linx_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
