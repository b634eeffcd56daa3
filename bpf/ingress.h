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
#include "stamp6.h"
#include "parse6.h"

/* ipv6_to_non_ip reports whether IPv6 frames go to their non_ip rule (one
 * exists for 0x86dd) rather than to the classifier. */
static __always_inline int ipv6_to_non_ip(void)
{
	__u32 zero = 0;
	__u32 *v = bpf_map_lookup_elem(&ipv6_non_ip, &zero);

	return v && *v;
}

/* ingress6 parses an IPv6 packet (at off) for linx_classify6; what the kernel
 * must see (neighbour discovery, link-local, multicast) passes to it. GRE on a
 * WAN port (dir DIR_UNDERLAY) goes to linx_decap6 first (NEXT_DECAP6). */
static __always_inline int ingress6(struct xdp_md *ctx, struct pkt_meta *m, __u32 off, __u8 dir)
{
	int rc = parse_ipv6(ctx, off, m);

	if (rc == PARSE6_KERNEL)
		return XDP_PASS;
	if (rc)
		return drop(ctx, rc);
	m->key6.tuple = 0;
	m->key6.in_port = m->port;
	m->key6.dscp_dir |= dir;
	if (dir != DIR_DOWNLINK && stamp6_not_tunnel(m))
		return drop(ctx, DROP_STAMP_NOT_TUNNEL);
	if (dir == DIR_UNDERLAY && m->key6.proto == IPPROTO_GRE)
		return NEXT_DECAP6;
	return NEXT_CLASSIFY6;
}

/* decap6 decapsulates GRE in IPv6 that ingress6 handed over (NEXT_DECAP6):
 * with a termination (try_decap6), the inner IPv4 packet is parsed for
 * linx_classify (NEXT_STAGE), the inner IPv6 one for linx_classify6
 * (NEXT_CLASSIFY6), both as downlink, but for STAMP to the termination's
 * address (stamp6: a reply to reflect, NEXT_ENCAP, or one for the prober);
 * GRE not to a local tunnel address goes on to linx_classify6 as the underlay
 * packet ingress6 parsed. */
static __always_inline int decap6(struct xdp_md *ctx, struct pkt_meta *m)
{
	int rc = try_decap6(ctx, m);

	if (rc == -1)
		return NEXT_CLASSIFY6;
	if (rc > 0)
		return drop(ctx, rc);
	if (rc == DECAP_IPV6) {
		rc = ingress6(ctx, m, ETH_HLEN, DIR_DOWNLINK);
		if (rc == NEXT_CLASSIFY6 && m->key6.proto == IPPROTO_UDP && m->l4_off)
			return stamp6(ctx, m);
		return rc;
	}
	rc = parse_ipv4(ctx, ETH_HLEN, m);
	if (rc)
		return drop(ctx, rc);
	m->key.dscp_dir |= DIR_DOWNLINK;
	return NEXT_STAGE;
}

/* not_ipv4 handles a frame whose EtherType (proto) is not IPv4: IPv6 to its
 * classifier, the rest to the non_ip table. It takes what the non_ip call of
 * the IPv4-only parser took and finds the IPv6 header again itself, so that
 * the IPv4 path keeps its registers (and its speed). */
static __always_inline int not_ipv4(struct xdp_md *ctx, struct pkt_meta *m, __be16 proto)
{
	if (proto == ETH_P_IPV6_BE && !ipv6_to_non_ip()) {
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		struct ethhdr *eth = data;
		__u32 off = ETH_HLEN;
		if ((void *)(eth + 1) > data_end)
			return drop(ctx, DROP_MALFORMED_ETH);
		if (eth->h_proto != ETH_P_IPV6_BE)
			off += 4; /* one VLAN tag: the parser refused more */
		return ingress6(ctx, m, off, m->role == ROLE_LAN ? DIR_UPLINK : DIR_UNDERLAY);
	}
	return non_ip(ctx, m, proto);
}

/* ingress fills the packet's meta; NEXT_STAGE hands it to the classifier,
 * NEXT_CLASSIFY6 to the IPv6 classifier, NEXT_ENCAP (a STAMP reply) to the
 * encapsulation stage. */
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
		return not_ipv4(ctx, m, proto);

	rc = parse_ipv4(ctx, off, m);
	if (rc)
		return drop(ctx, rc);

	__u8 dir = pi->role == ROLE_LAN ? DIR_UPLINK : DIR_UNDERLAY;
	if (pi->role == ROLE_WAN && m->key.proto == IPPROTO_GRE) {
		rc = try_decap(ctx, m);
		if (rc > 0)
			return drop(ctx, rc);
		if (rc == DECAP_IPV6)
			return ingress6(ctx, m, ETH_HLEN, DIR_DOWNLINK);
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
