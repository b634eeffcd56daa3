// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* linx.c — the XDP pipeline (the paper's Algorithm 1):
 *
 *   linx_xdp (parser, GRE decap) → linx_classify (PDR, FAR, LBR) → linx_forward
 *                                                                → linx_encap (GRE)
 *   linx_xdp (parser, GRE decap, IPv4 flow-cache hit of an encap) → linx_encap
 *   linx_xdp (IPv6)              → linx_classify6                 → linx_encap6
 *   linx_xdp (IPv6, flow-cache hit of an encap)                  → linx_encap6
 *   linx_xdp (GRE in IPv6)       → linx_decap6 → linx_classify or linx_classify6
 *   linx_encap, linx_encap6 (a tunnel over an IPv6 underlay) → linx_encap_u6, linx_encap6_u6
 *   linx_xdp (STAMP probe from a tunnel, reflected in place)     → linx_encap
 *   linx_decap6 (IPv6 STAMP probe from an IPv6-underlay tunnel)   → linx_encap6 → linx_encap6_u6
 *
 * Frames that are neither IPv4 nor IPv6 end in linx_xdp, with their non_ip rule (by EtherType).
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
#include "classify6.h"
#include "forward.h"
#include "encap.h"
#include "balance.h"
#include "punt.h"
#include "fastpath.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* linx_xdp is the entry point attached to every port: it parses, decapsulates GRE
 * on WAN ports, and hands over to the classifier; a flow-cache hit of an encap
 * action (fastpath.h) goes straight to linx_encap or linx_encap6, and a STAMP
 * probe's reply, rewritten in place, to linx_encap. */
SEC("xdp")
int linx_xdp(struct xdp_md *ctx)
{
	int rc = ingress(ctx);

	if (rc == NEXT_ENCAP)
		return tail(ctx, STAGE_ENCAP);
	if (rc == NEXT_CLASSIFY6) {
		if (fast_path6(ctx) == NEXT_ENCAP)
			return tail(ctx, STAGE_ENCAP6);
		return tail(ctx, STAGE_CLASSIFY6);
	}
	if (rc == NEXT_DECAP6)
		return tail(ctx, STAGE_DECAP6);
	if (rc != NEXT_STAGE)
		return rc;
	if (fast_path(ctx) == NEXT_ENCAP)
		return tail(ctx, STAGE_ENCAP);
	return tail(ctx, STAGE_CLASSIFY);
}

/* linx_decap6 decapsulates GRE that came in an outer IPv6 header (a stage of
 * its own so that linx_xdp keeps the IPv4 underlay's code) and hands the
 * inner packet to the classifier of its family. */
SEC("xdp")
int linx_decap6(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	int rc = decap6(ctx, m);
	if (rc == NEXT_CLASSIFY6) {
		if (fast_path6(ctx) == NEXT_ENCAP)
			return tail(ctx, STAGE_ENCAP6);
		return tail(ctx, STAGE_CLASSIFY6);
	}
	if (rc == NEXT_ENCAP) /* a STAMP probe's reply (stamp6) */
		return tail(ctx, STAGE_ENCAP6);
	if (rc != NEXT_STAGE)
		return rc;
	return tail(ctx, STAGE_CLASSIFY);
}

/* linx_classify selects the packet's PDR and resolves its FAR (an LBR to the
 * flow's tunnel): from the per-CPU flow cache when nothing has changed since the
 * flow was last seen, else by tuple-space search (whose answer is then cached).
 * Drops and passes end here; encapsulation goes straight to linx_encap. */
SEC("xdp")
int linx_classify(struct xdp_md *ctx)
{
	int rc = classify(ctx);

	if (rc == NEXT_ENCAP)
		return tail(ctx, STAGE_ENCAP);
	if (rc != NEXT_STAGE)
		return rc;
	return tail(ctx, STAGE_FORWARD);
}

/* linx_forward applies the FARs that do not encapsulate: forward and punt. */
SEC("xdp")
int linx_forward(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	switch (m->far.action) {
	case FAR_FORWARD:
		return do_forward(ctx, m, m->far.port);
	case FAR_PUNT:
		return punt(ctx, m);
	}
	return drop(ctx, DROP_NO_FAR);
}

/* linx_encap puts the packet into the overlay the forwarder or the load balancer
 * chose. */
SEC("xdp")
int linx_encap(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	int rc = do_encap(ctx, m, m->tunnel_id, 0);
	if (rc == NEXT_ENCAP_U6)
		return tail(ctx, STAGE_ENCAP_U6);
	return rc;
}

/* linx_encap_u6 and linx_encap6_u6 put an IPv4 or IPv6 packet into an
 * overlay over an IPv6 underlay (outer IPv6 header). */
SEC("xdp")
int linx_encap_u6(struct xdp_md *ctx)
{
	return do_encap_u6(ctx, 0);
}

SEC("xdp")
int linx_encap6_u6(struct xdp_md *ctx)
{
	return do_encap_u6(ctx, 1);
}

/* linx_classify6 is linx_classify for IPv6 packets (their own key, tuple space
 * and flow cache); it applies every action but encapsulation itself. */
SEC("xdp")
int linx_classify6(struct xdp_md *ctx)
{
	int rc = classify6(ctx);

	if (rc == NEXT_ENCAP)
		return tail(ctx, STAGE_ENCAP6);
	return rc;
}

/* linx_encap6 puts an IPv6 packet into its overlay (GRE protocol type 0x86dd). */
SEC("xdp")
int linx_encap6(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	int rc = do_encap(ctx, m, m->tunnel_id, 1);
	if (rc == NEXT_ENCAP_U6)
		return tail(ctx, STAGE_ENCAP6_U6);
	return rc;
}

/* linx_pass lets frames through untouched. Attach it to the peer of a veth that
 * linx redirects into when nothing else runs there: veth only delivers redirected
 * frames to a peer with XDP (or GRO) enabled. */
SEC("xdp")
int linx_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
