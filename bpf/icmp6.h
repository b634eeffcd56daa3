/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* icmp6.h — the MTU policy for IPv6: ICMPv6 Packet Too Big (RFC 4443) for a
 * packet too big for its overlay (IPv6 routers never fragment). */
#ifndef LINX_ICMP6_H
#define LINX_ICMP6_H

#include "forward6.h"

#define ICMP6_PACKET_TOO_BIG 2
#define IPV6_MIN_MTU 1280
/* Bytes of the offending packet quoted (from its IPv6 header on): its headers
 * and the start of its payload, enough for the sender to find the flow. */
#define PTB_QUOTE 128
#define PTB_HDRS (40 + 8) /* the new IPv6 header and the ICMPv6 header */

/* icmp6_too_big turns the packet into ICMPv6 Packet Too Big for its sender,
 * with the overlay's MTU, sourced from the ingress port's IPv6 address
 * (port_addr6, kept by the agent) and sent back out of the ingress port. A port
 * without an IPv6 address, or an overlay MTU below IPv6's minimum (no sender
 * could comply), drops the packet as too_big. */
static __always_inline int icmp6_too_big(struct xdp_md *ctx, struct pkt_meta *m, __u32 mtu)
{
	__u32 port = m->port;
	struct port_addr6 *from = bpf_map_lookup_elem(&port_addrs6, &port);
	__u32 l3 = m->l3_off;

	if (!from || !(from->a[0] | from->a[1] | from->a[2] | from->a[3]) || mtu < IPV6_MIN_MTU)
		return drop(ctx, DROP_TOO_BIG);
	if (l3 != ETH_HLEN && l3 != ETH_HLEN + 4)
		return drop(ctx, DROP_TOO_BIG);
	__be32 src[4];
	__builtin_memcpy(src, from->a, sizeof(src));
	/* Room for the new headers in front: the original packet, from its IPv6
	 * header, becomes the quote. */
	if (bpf_xdp_adjust_head(ctx, -PTB_HDRS))
		return drop(ctx, DROP_ADJUST);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *old = data + PTB_HDRS;
	if ((void *)(old + ETH_HLEN + 4 + 40 + PTB_QUOTE) > data_end)
		return drop(ctx, DROP_ADJUST);
	struct ethhdr *eth = data;
	struct ethhdr *oeth = (void *)old;
	__builtin_memcpy(eth->h_dest, oeth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, oeth->h_dest, ETH_ALEN);
	if (l3 == ETH_HLEN + 4) {
		/* The same VLAN tag back: TPID and TCI, then the EtherType. */
		__builtin_memcpy(&eth->h_proto, &oeth->h_proto, 4);
		*(__be16 *)(data + ETH_HLEN + 2) = ETH_P_IPV6_BE;
	} else {
		eth->h_proto = ETH_P_IPV6_BE;
	}
	struct ipv6hdr *ip6 = data + l3;
	struct ipv6hdr *oip6 = (void *)(old + l3);
	__u8 *ic = (void *)(ip6 + 1);
	if ((void *)(oip6 + 1) > data_end || (void *)(ic + 8) > data_end)
		return drop(ctx, DROP_ADJUST);
	__builtin_memcpy(&ip6->daddr, &oip6->saddr, 16);
	__builtin_memcpy(&ip6->saddr, src, 16);
	*(__be32 *)ip6 = bpf_htonl(6 << 28);
	ip6->payload_len = bpf_htons(8 + PTB_QUOTE);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	ic[0] = ICMP6_PACKET_TOO_BIG;
	ic[1] = 0;
	*(__u16 *)(ic + 2) = 0;
	*(__be32 *)(ic + 4) = bpf_htonl(mtu);

	/* Cut the quote to PTB_QUOTE bytes. */
	__u32 want = l3 + PTB_HDRS + PTB_QUOTE;
	int delta = (int)want - (int)(data_end - data);
	if (bpf_xdp_adjust_tail(ctx, delta))
		return drop(ctx, DROP_ADJUST);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip6 = data + l3;
	ic = (void *)(ip6 + 1);
	if ((void *)(ic + 8 + PTB_QUOTE) > data_end)
		return drop(ctx, DROP_ADJUST);
	/* Checksum over the pseudo-header (addresses, length, next header) and
	 * the ICMPv6 message. */
	__s64 s = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
	if (s < 0)
		return drop(ctx, DROP_ADJUST);
	s = bpf_csum_diff(0, 0, (__be32 *)ic, 8 + PTB_QUOTE, (__u32)s);
	if (s < 0)
		return drop(ctx, DROP_ADJUST);
	__u64 sum = (__u32)s;
	sum += bpf_htonl(8 + PTB_QUOTE);
	sum += bpf_htonl(IPPROTO_ICMPV6);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	*(__u16 *)(ic + 2) = csum_fold((__u32)sum);

	struct counter *c;
	__u32 reason = DROP_ICMP_TOO_BIG;
	c = bpf_map_lookup_elem(&drop_counters, &reason);
	count(c, frame_len(ctx));
	return redirect_port(ctx, m->port, ctx->ingress_ifindex);
}

#endif /* LINX_ICMP6_H */
