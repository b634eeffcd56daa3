/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* forward6.h — the FAR "forward" action for IPv6 packets: the kernel's FIB
 * (AF_INET6) per packet, hop limit, redirect. */
#ifndef LINX_FORWARD6_H
#define LINX_FORWARD6_H

#include "forward.h"
#include "parse6.h"

#define AF_INET6 10

/* dec_hop decrements the IPv6 hop limit like a router (no checksum). Returns -1
 * when the packet must go to the kernel instead (it sends time exceeded). */
static __always_inline int dec_hop(struct xdp_md *ctx, __u32 l3_off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (l3_off > ETH_HLEN + 4)
		return -1;
	struct ipv6hdr *ip6 = data + l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (ip6->hop_limit <= 1)
		return -1;
	ip6->hop_limit--;
	return 0;
}

/* do_forward6 sends an IPv6 packet unencapsulated out of port with MACs from
 * the FIB and neighbour table. As for IPv4: no neighbour, too big (the kernel
 * sends Packet Too Big), local delivery or an expiring hop limit go to the
 * kernel; no route is dropped. */
static __always_inline int do_forward6(struct xdp_md *ctx, struct pkt_meta *m, __u32 port)
{
	__u32 *ifx = bpf_map_lookup_elem(&port_ifindex, &port);
	if (!ifx || !*ifx)
		return drop(ctx, DROP_NO_PORT);
	struct bpf_fib_lookup p;
	__builtin_memset(&p, 0, sizeof(p));
	p.family = AF_INET6;
	p.flowinfo = bpf_htonl((__u32)(m->key6.dscp_dir & 0xfc) << 20);
	p.l4_protocol = m->key6.proto;
	p.tot_len = m->ip_len;
	__builtin_memcpy(p.ipv6_src, m->key6.src, 16);
	__builtin_memcpy(p.ipv6_dst, m->key6.dst, 16);
	p.ifindex = *ifx;
	int rc = bpf_fib_lookup(ctx, &p, sizeof(p), BPF_FIB_LOOKUP_OUTPUT);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		return XDP_PASS;
	default:
		return drop(ctx, DROP_NO_ROUTE);
	}
	if (dec_hop(ctx, m->l3_off))
		return XDP_PASS;
	int strip = m->l3_off - ETH_HLEN;
	if (strip > 0 && bpf_xdp_adjust_head(ctx, strip))
		return drop(ctx, DROP_ADJUST);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return drop(ctx, DROP_ADJUST);
	__builtin_memcpy(eth->h_dest, p.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p.smac, ETH_ALEN);
	eth->h_proto = ETH_P_IPV6_BE;
	return redirect(ctx, p.ifindex);
}

#endif /* LINX_FORWARD6_H */
