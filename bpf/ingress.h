/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ingress.h — the first stage on every port: counts the frame, parses it,
 * applies the non_ip table to frames that are not IPv4, decapsulates GRE
 * on WAN ports and answers STAMP probes that came through a tunnel. */
#ifndef LINX_INGRESS_H
#define LINX_INGRESS_H

#include "parse.h"
#include "gre.h"
#include "punt.h"
#include "stage.h"
#include "forward.h"
#include "stamp.h"

/* ingress fills the packet's meta; NEXT_STAGE hands it to the classifier,
 * NEXT_ENCAP (a STAMP reply) to the encapsulation stage. */
static __always_inline int ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	struct port_info *pi = port_of(ifindex);
	struct pkt_meta *m = get_meta();
	int rc;

	if (!pi)
		return XDP_PASS; /* not a linx port (being attached or detached) */
	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 port = pi->port;
	struct port_stats *ps = bpf_map_lookup_elem(&port_counters, &port);
	if (ps)
		count(&ps->rx, frame_len(ctx));

	m->port = port;
	m->role = pi->role;
	m->key.tuple = 0;
	m->key.in_port = port;
	m->local = 0;
	m->term_local = 0;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return drop(ctx, DROP_MALFORMED_ETH);
	__be16 proto = eth->h_proto;
	__u32 off = ETH_HLEN;
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE) {
		__be16 *inner = data + off + 2;
		if ((void *)(inner + 1) > data_end)
			return drop(ctx, DROP_MALFORMED_VLAN);
		proto = *inner;
		off += 4;
		if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE)
			return drop(ctx, DROP_VLAN_DEPTH);
	}
	if (proto != bpf_htons(ETH_P_IP))
		return non_ip(ctx, m, proto);

	rc = parse_ipv4(ctx, off, m);
	if (rc)
		return drop(ctx, rc);

	__u8 dir = pi->role == ROLE_LAN ? DIR_UPLINK : DIR_UNDERLAY;
	if (pi->role == ROLE_WAN && m->key.proto == IPPROTO_GRE) {
		rc = try_decap(ctx, m);
		if (rc > 0)
			return drop(ctx, rc);
		if (rc == 0) {
			rc = parse_ipv4(ctx, ETH_HLEN, m);
			if (rc)
				return drop(ctx, rc);
			dir = DIR_DOWNLINK;
		}
	}
	if (m->key.proto == IPPROTO_UDP && m->l4_off) {
		rc = stamp(ctx, m, dir);
		if (rc != NEXT_STAGE)
			return rc;
	}
	m->key.dscp_dir |= dir;
	return NEXT_STAGE;
}

#endif /* LINX_INGRESS_H */
