/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* encap.h — GRE encapsulation into the chosen overlay tunnel. */
#ifndef LINX_ENCAP_H
#define LINX_ENCAP_H

#include "forward.h"
#include "forward6.h"
#include "icmp.h"
#include "gre.h"
#include "icmp6.h"
#include "stage.h"

#define MAX_OVERHEAD6 (40 + 8) /* outer IPv6 + GRE with key */

/* fib6_for looks up the IPv6 route from src to dst leaving by egress_ifindex. */
static __always_inline int fib6_for(struct xdp_md *ctx, struct bpf_fib_lookup *p, const __be32 *src,
				    const __be32 *dst, __u8 tc, __u16 tot_len, __u32 egress_ifindex)
{
	__builtin_memset(p, 0, sizeof(*p));
	p->family = AF_INET6;
	p->flowinfo = bpf_htonl((__u32)tc << 20);
	p->l4_protocol = IPPROTO_GRE;
	p->tot_len = tot_len;
	__builtin_memcpy(p->ipv6_src, src, 16);
	__builtin_memcpy(p->ipv6_dst, dst, 16);
	p->ifindex = egress_ifindex;
	return bpf_fib_lookup(ctx, p, sizeof(*p), BPF_FIB_LOOKUP_OUTPUT);
}

/* too_big_v6u answers a packet that does not fit an overlay over an IPv6
 * underlay whose path MTU is mtu (outer headers: overhead octets): ICMPv6
 * Packet Too Big for IPv6; for IPv4 with DF, ICMP fragmentation needed from
 * the ingress port's IPv4 address (port_addrs4: the tunnel has no IPv4
 * address); else (no DF, no address, an MTU no sender could use) a drop. */
static __always_inline int too_big_v6u(struct xdp_md *ctx, struct pkt_meta *m, __u32 mtu, __u32 overhead,
				       const int inner6)
{
	if (m->local)
		return drop(ctx, DROP_TOO_BIG); /* a STAMP reply: never an ICMP error to ourselves */
	if (inner6)
		return icmp6_too_big(ctx, m, mtu - overhead);
	if (mtu <= overhead + 68 || !m->df)
		return drop(ctx, DROP_TOO_BIG);
	__u32 port = m->port;
	__be32 *from = bpf_map_lookup_elem(&port_addrs4, &port);
	if (!from || !*from)
		return drop(ctx, DROP_TOO_BIG);
	return icmp_too_big(ctx, m, *from, mtu - overhead);
}

/* encap_v6u is do_encap for a tunnel over an IPv6 underlay (TUNNEL_F_V6):
 * outer IPv6 (hop limit GRE_TTL, traffic class as do_encap's outer DSCP, flow
 * label from the inner flow's hash, RFC 6438), endpoints from tunnels6, the
 * same next-hop policy and the same GRE header. ifindex is the tunnel port's
 * interface. */
static __always_inline int encap_v6u(struct xdp_md *ctx, struct pkt_meta *m, __u32 tunnel_id, struct tunnel *t,
				     __u32 ifindex, const int inner6)
{
	struct tunnel6 *e = bpf_map_lookup_elem(&tunnels6, &tunnel_id);
	if (!e)
		return drop(ctx, DROP_NO_TUNNEL);
	__u32 port = t->port;
	__u8 flags = t->flags;
	__be32 key = t->key;
	__u32 glen = (flags & TUNNEL_F_KEY) ? 8 : 4;
	__u32 overhead = sizeof(struct ipv6hdr) + glen;
	__u32 outer_len = m->ip_len + overhead;
	__u8 inner_tos = (inner6 ? m->key6.dscp_dir : m->key.dscp_dir) & 0xfc;
	__u8 tc = (flags & TUNNEL_F_SET_DSCP) ? (t->dscp << 2) : inner_tos;
	__u32 label = m->local ? 0 : m->hash & 0xfffff;

	struct tunnel_nh *nh = bpf_map_lookup_elem(&tunnel_nexthops, &tunnel_id);
	__u8 state = nh ? nh->state : NH_UNKNOWN;
	__u32 out_ifindex = ifindex;
	__u32 mtu = 0;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	int pass = 0;
	if (state == NH_OK && nh->ifindex == out_ifindex) {
		mtu = nh->mtu;
		if (outer_len > mtu)
			return too_big_v6u(ctx, m, mtu, overhead, inner6);
		__builtin_memcpy(dmac, nh->dmac, ETH_ALEN);
		__builtin_memcpy(smac, nh->smac, ETH_ALEN);
	} else if (state == NH_NO_NEIGH) {
		pass = 1; /* encapsulate, then let the kernel resolve the neighbour */
	} else if (state == NH_NO_ROUTE) {
		return drop(ctx, DROP_NO_ROUTE);
	} else {
		struct bpf_fib_lookup p;
		int rc = fib6_for(ctx, &p, e->src, e->dst, tc, outer_len, out_ifindex);
		switch (rc) {
		case BPF_FIB_LKUP_RET_SUCCESS:
			break;
		case BPF_FIB_LKUP_RET_NO_NEIGH:
			pass = 1;
			break;
		case BPF_FIB_LKUP_RET_FRAG_NEEDED:
			return too_big_v6u(ctx, m, p.mtu_result, overhead, inner6);
		default:
			return drop(ctx, DROP_NO_ROUTE);
		}
		if (!pass) {
			out_ifindex = p.ifindex;
			__builtin_memcpy(dmac, p.dmac, ETH_ALEN);
			__builtin_memcpy(smac, p.smac, ETH_ALEN);
		}
	}

	/* MSS: as do_encap, for the largest overhead of an IPv6 underlay. */
	__u32 hdrs = inner6 ? 40 + 20 : 20 + 20;
	if ((inner6 ? m->key6.proto : m->key.proto) == IPPROTO_TCP && (m->tcp_flags & 0x02) && m->l4_off) {
		if (!mtu && bpf_check_mtu(ctx, out_ifindex, &mtu, 0, 0) < 0)
			mtu = 0;
		if (mtu > MAX_OVERHEAD6 + hdrs + 536)
			clamp_mss(ctx, m, mtu - MAX_OVERHEAD6 - hdrs);
	}
	if (!m->local && (inner6 ? dec_hop(ctx, m->l3_off) : dec_ttl(ctx, m->l3_off)))
		return XDP_PASS;

	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *oeth = data;
	if ((void *)(oeth + 1) > data_end)
		return drop(ctx, DROP_MALFORMED_ETH);
	if (pass) {
		__builtin_memcpy(dmac, oeth->h_dest, ETH_ALEN);
		__builtin_memcpy(smac, oeth->h_source, ETH_ALEN);
	}

	int grow = (int)(ETH_HLEN + overhead) - (int)m->l3_off;
	if (bpf_xdp_adjust_head(ctx, -grow))
		return drop(ctx, DROP_ADJUST);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct gre_base *gh = (void *)(ip6 + 1);
	__be32 *kp = (void *)(gh + 1);
	if ((void *)(kp + 1) > data_end)
		return drop(ctx, DROP_ADJUST);

	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = ETH_P_IPV6_BE;

	*(__be32 *)ip6 = bpf_htonl(6 << 28 | (__u32)tc << 20 | label);
	ip6->payload_len = bpf_htons(m->ip_len + glen);
	ip6->nexthdr = IPPROTO_GRE;
	ip6->hop_limit = GRE_TTL;
	__builtin_memcpy(&ip6->saddr, e->src, 16);
	__builtin_memcpy(&ip6->daddr, e->dst, 16);

	gh->proto = inner6 ? ETH_P_IPV6_BE : bpf_htons(ETH_P_IP);
	if (flags & TUNNEL_F_KEY) {
		gh->flags = bpf_htons(GRE_F_KEY);
		*kp = key;
	} else {
		gh->flags = 0;
	}

	struct tunnel_stats *ts = bpf_map_lookup_elem(&tunnel_counters, &tunnel_id);
	if (ts)
		count(&ts->tx, frame_len(ctx));
	if (pass)
		return XDP_PASS;
	if (out_ifindex == ifindex)
		return redirect_port(ctx, port, out_ifindex);
	return redirect(ctx, out_ifindex);
}

/* do_encap_u6 is the stage after do_encap's NEXT_ENCAP_U6: encap_v6u with
 * the tunnel do_encap checked (looked up again: another program). */
static __always_inline int do_encap_u6(struct xdp_md *ctx, const int inner6)
{
	struct pkt_meta *m = get_meta();
	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 tunnel_id = m->tunnel_id;
	struct tunnel *t = bpf_map_lookup_elem(&tunnels, &tunnel_id);
	if (!t || !(t->flags & TUNNEL_F_PRESENT))
		return drop(ctx, DROP_NO_TUNNEL);
	__u32 port = t->port;
	__u32 *ifx = bpf_map_lookup_elem(&port_ifindex, &port);
	if (!ifx || !*ifx)
		return drop(ctx, DROP_NO_PORT);
	return encap_v6u(ctx, m, tunnel_id, t, *ifx, inner6);
}

/* do_encap puts the packet into GRE overlay tunnel_id: outer Ethernet from the
 * tunnel's next hop (tunnel_nexthops, kept by the agent; the FIB until it has one),
 * outer IPv4 (DF, TTL 64, DSCP copied unless the tunnel sets one), GRE with an
 * optional key. The gateway's own packets (m->local: STAMP replies) keep their
 * TTL and go out even on a tunnel marked down: the far end's probes are how its
 * quality is known, and how it comes back. inner6 (a constant: each caller
 * compiles its own copy) says the packet is IPv6 (GRE protocol type 0x86dd, hop
 * limit, traffic class). A tunnel over an IPv6 underlay is left, after the
 * checks both share, to its own stage (NEXT_ENCAP_U6: do_encap_u6), so that
 * this one stays the IPv4 underlay's. */
static __always_inline int do_encap(struct xdp_md *ctx, struct pkt_meta *m, __u32 tunnel_id, const int inner6)
{
	struct tunnel *t = bpf_map_lookup_elem(&tunnels, &tunnel_id);
	if (!t || !(t->flags & TUNNEL_F_PRESENT))
		return drop(ctx, DROP_NO_TUNNEL);
	__u32 port = t->port;
	if (((t->flags & TUNNEL_F_DOWN) && !m->local) || port_is_down(port))
		return drop(ctx, DROP_TUNNEL_DOWN);
	__u32 *ifx = bpf_map_lookup_elem(&port_ifindex, &port);
	if (!ifx || !*ifx)
		return drop(ctx, DROP_NO_PORT);
	if (t->flags & TUNNEL_F_V6)
		return NEXT_ENCAP_U6;

	__u32 glen = (t->flags & TUNNEL_F_KEY) ? 8 : 4;
	__u32 overhead = sizeof(struct iphdr) + glen;
	__u32 outer_len = m->ip_len + overhead;
	__u8 inner_tos = (inner6 ? m->key6.dscp_dir : m->key.dscp_dir) & 0xfc;
	__u8 tos = (t->flags & TUNNEL_F_SET_DSCP) ? (t->dscp << 2) : inner_tos;
	__be32 saddr = t->src, daddr = t->dst, key = t->key;
	__u8 flags = t->flags;

	/* The next hop the agent keeps per tunnel; the FIB only while it has none. */
	struct tunnel_nh *nh = bpf_map_lookup_elem(&tunnel_nexthops, &tunnel_id);
	__u8 state = nh ? nh->state : NH_UNKNOWN;
	__u32 out_ifindex = *ifx;
	__u32 mtu = 0;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	int pass = 0;
	if (state == NH_OK && nh->ifindex == out_ifindex) {
		mtu = nh->mtu;
		if (outer_len > mtu) {
			if (inner6)
				return icmp6_too_big(ctx, m, mtu - overhead);
			if (mtu <= overhead + 68)
				return drop(ctx, DROP_TOO_BIG);
			if (m->df)
				return icmp_too_big(ctx, m, saddr, mtu - overhead);
			return drop(ctx, DROP_TOO_BIG);
		}
		__builtin_memcpy(dmac, nh->dmac, ETH_ALEN);
		__builtin_memcpy(smac, nh->smac, ETH_ALEN);
	} else if (state == NH_NO_NEIGH) {
		pass = 1; /* encapsulate, then let the kernel resolve the neighbour */
	} else if (state == NH_NO_ROUTE) {
		return drop(ctx, DROP_NO_ROUTE);
	} else {
		struct bpf_fib_lookup p;
		int rc = fib_for(ctx, &p, saddr, daddr, tos, outer_len, out_ifindex);
		switch (rc) {
		case BPF_FIB_LKUP_RET_SUCCESS:
			break;
		case BPF_FIB_LKUP_RET_NO_NEIGH:
			pass = 1;
			break;
		case BPF_FIB_LKUP_RET_FRAG_NEEDED:
			if (inner6)
				return icmp6_too_big(ctx, m, p.mtu_result - overhead);
			if (p.mtu_result <= overhead + 68)
				return drop(ctx, DROP_TOO_BIG);
			if (m->df)
				return icmp_too_big(ctx, m, saddr, p.mtu_result - overhead);
			return drop(ctx, DROP_TOO_BIG);
		default:
			return drop(ctx, DROP_NO_ROUTE);
		}
		if (!pass) {
			out_ifindex = p.ifindex;
			__builtin_memcpy(dmac, p.dmac, ETH_ALEN);
			__builtin_memcpy(smac, p.smac, ETH_ALEN);
		}
	}

	/* The MSS limits what the far end sends back, over whichever overlay its
	 * gateway picks: clamp for the largest overhead (GRE with a key), not this
	 * tunnel's. */
	__u32 hdrs = inner6 ? 40 + 20 : 20 + 20; /* inner IP + TCP headers */
	if ((inner6 ? m->key6.proto : m->key.proto) == IPPROTO_TCP && (m->tcp_flags & 0x02) && m->l4_off) {
		if (!mtu && bpf_check_mtu(ctx, out_ifindex, &mtu, 0, 0) < 0)
			mtu = 0;
		if (mtu > MAX_OVERHEAD + hdrs + 536)
			clamp_mss(ctx, m, mtu - MAX_OVERHEAD - hdrs);
	}
	if (!m->local && (inner6 ? dec_hop(ctx, m->l3_off) : dec_ttl(ctx, m->l3_off)))
		return XDP_PASS;

	/* Keep the original MACs for the kernel path (it must accept the frame). */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *oeth = data;
	if ((void *)(oeth + 1) > data_end)
		return drop(ctx, DROP_MALFORMED_ETH);
	if (pass) {
		__builtin_memcpy(dmac, oeth->h_dest, ETH_ALEN);
		__builtin_memcpy(smac, oeth->h_source, ETH_ALEN);
	}

	int grow = (int)(ETH_HLEN + overhead) - (int)m->l3_off;
	if (bpf_xdp_adjust_head(ctx, -grow))
		return drop(ctx, DROP_ADJUST);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct gre_base *gh = (void *)(ip + 1);
	__be32 *kp = (void *)(gh + 1);
	if ((void *)(kp + 1) > data_end)
		return drop(ctx, DROP_ADJUST);

	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos;
	ip->tot_len = bpf_htons(outer_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(IP_DF);
	ip->ttl = GRE_TTL;
	ip->protocol = IPPROTO_GRE;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = 0;
	ip->check = ipv4_csum(ip);

	gh->proto = inner6 ? ETH_P_IPV6_BE : bpf_htons(ETH_P_IP);
	if (flags & TUNNEL_F_KEY) {
		gh->flags = bpf_htons(GRE_F_KEY);
		*kp = key;
	} else {
		gh->flags = 0;
	}

	struct tunnel_stats *ts = bpf_map_lookup_elem(&tunnel_counters, &tunnel_id);
	if (ts)
		count(&ts->tx, frame_len(ctx));
	if (pass)
		return XDP_PASS;
	if (out_ifindex == *ifx)
		return redirect_port(ctx, port, out_ifindex);
	return redirect(ctx, out_ifindex);
}

#endif /* LINX_ENCAP_H */
