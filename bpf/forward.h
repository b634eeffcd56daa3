/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* forward.h — routing through the kernel's FIB and neighbours, TTL, redirects:
 * the FAR "forward" action (without a tunnel). */
#ifndef LINX_FORWARD_H
#define LINX_FORWARD_H

#include "parse.h"
#include "maps.h"
#include "counters.h"

#define AF_INET 2

/* fib_for looks up the route for daddr leaving by egress_ifindex. */
static __always_inline int fib_for(struct xdp_md *ctx, struct bpf_fib_lookup *p, __be32 saddr,
				   __be32 daddr, __u8 tos, __u16 tot_len, __u32 egress_ifindex)
{
	__builtin_memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->tos = tos;
	p->tot_len = tot_len;
	p->ipv4_src = saddr;
	p->ipv4_dst = daddr;
	p->ifindex = egress_ifindex;
	return bpf_fib_lookup(ctx, p, sizeof(*p), BPF_FIB_LOOKUP_OUTPUT);
}

/* port_is_down reports a port whose link is down: its tunnels are unusable. */
static __always_inline int port_is_down(__u32 port)
{
	__u32 *down = bpf_map_lookup_elem(&port_down, &port);

	return down && *down;
}

/* port_of returns the linx port on ifindex, NULL if there is none: an array
 * access for small ifindexes, a hash lookup for the others. */
static __always_inline struct port_info *port_of(__u32 ifindex)
{
	if (ifindex < PORT_IFINDEX_DIRECT) {
		struct port_info *pi = bpf_map_lookup_elem(&port_by_ifindex, &ifindex);
		return pi && pi->port ? pi : NULL;
	}
	return bpf_map_lookup_elem(&ports, &ifindex);
}

/* redirect_port sends the frame out of linx port `port`, whose interface is
 * ifindex (the devmap holds only linx ports, so the peer's XDP or GRO takes the
 * frame). */
static __always_inline int redirect_port(struct xdp_md *ctx, __u32 port, __u32 ifindex)
{
	count_port_tx(port, frame_len(ctx));
	return bpf_redirect_map(&tx_ports, ifindex, XDP_DROP);
}

/* redirect sends the frame out of ifindex if linx runs there. */
static __always_inline int redirect(struct xdp_md *ctx, __u32 ifindex)
{
	struct port_info *out = port_of(ifindex);

	if (!out)
		return drop(ctx, DROP_EGRESS_NOT_LINX);
	return redirect_port(ctx, out->port, ifindex);
}

/* dec_ttl decrements the IPv4 TTL like a router. Returns -1 when the packet must go
 * to the kernel instead (TTL expiring: it sends ICMP time exceeded). */
static __always_inline int dec_ttl(struct xdp_md *ctx, __u32 l3_off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (l3_off > ETH_HLEN + 4)
		return -1;
	struct iphdr *ip = data + l3_off;

	if ((void *)(ip + 1) > data_end)
		return -1;
	if (ip->ttl <= 1)
		return -1;
	__u16 old = *(__u16 *)&ip->ttl;
	ip->ttl--;
	csum_replace2(&ip->check, old, *(__u16 *)&ip->ttl);
	return 0;
}

/* fib_resolve asks the kernel's FIB and neighbours how to send the packet
 * unencapsulated out of port, and fills l2 with the answer: egress, its port,
 * MACs and the route MTU. Returns -1 when resolved, else the packet's verdict:
 * the kernel for an unknown neighbour, a too-big packet or local delivery (it
 * resolves or reports them), a drop without a port or a route. An egress without
 * linx leaves l2->port 0 (forward_l2 drops it). */
static __always_inline int fib_resolve(struct xdp_md *ctx, struct pkt_meta *m, __u32 port,
				       struct fwd_l2 *l2)
{
	__u32 *ifx = bpf_map_lookup_elem(&port_ifindex, &port);
	if (!ifx || !*ifx)
		return drop(ctx, DROP_NO_PORT);
	__u32 ifindex = *ifx;

	struct bpf_fib_lookup p;
	__u8 tos = m->key.dscp_dir & 0xfc;
	int rc = fib_for(ctx, &p, m->key.src, m->key.dst, tos, m->ip_len, ifindex);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
	case BPF_FIB_LKUP_RET_NOT_FWDED: /* for the gateway itself: local delivery */
		return XDP_PASS;
	default:
		return drop(ctx, DROP_NO_ROUTE);
	}
	l2->ifindex = p.ifindex;
	l2->port = port;
	if (p.ifindex != ifindex) {
		struct port_info *out = port_of(p.ifindex);
		l2->port = out ? out->port : 0;
	}
	__builtin_memcpy(l2->dmac, p.dmac, ETH_ALEN);
	__builtin_memcpy(l2->smac, p.smac, ETH_ALEN);
	/* The route MTU, for later packets of the flow: the FIB reports it only to a
	 * packet that exceeds it. */
	rc = fib_for(ctx, &p, m->key.src, m->key.dst, tos, 0xffff, ifindex);
	l2->mtu = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? p.mtu_result : 0xffff;
	return -1;
}

/* forward_l2 sends the packet out of l2's egress with l2's MACs: the TTL
 * decremented, a VLAN tag stripped. A packet over the route MTU or with an
 * expiring TTL goes to the kernel, which reports it. */
static __always_inline int forward_l2(struct xdp_md *ctx, struct pkt_meta *m, const struct fwd_l2 *l2)
{
	if (m->ip_len > l2->mtu)
		return XDP_PASS; /* the FIB would answer FRAG_NEEDED */
	if (dec_ttl(ctx, m->l3_off))
		return XDP_PASS;

	/* Strip a VLAN tag if there was one: the egress frame is untagged. */
	int strip = m->l3_off - ETH_HLEN;
	if (strip > 0 && bpf_xdp_adjust_head(ctx, strip))
		return drop(ctx, DROP_ADJUST);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return drop(ctx, DROP_ADJUST);
	__builtin_memcpy(eth->h_dest, l2->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, l2->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	if (!l2->port)
		return drop(ctx, DROP_EGRESS_NOT_LINX);
	return redirect_port(ctx, l2->port, l2->ifindex);
}

/* do_forward sends the packet unencapsulated out of port, with MACs from the
 * kernel's FIB and neighbour table, asked for this packet (a flow-cache hit
 * carries the answer instead: see classify). */
static __always_inline int do_forward(struct xdp_md *ctx, struct pkt_meta *m, __u32 port)
{
	struct fwd_l2 l2;
	int rc = fib_resolve(ctx, m, port, &l2);

	if (rc >= 0)
		return rc;
	return forward_l2(ctx, m, &l2);
}

#endif /* LINX_FORWARD_H */
