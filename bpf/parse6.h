/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* parse6.h — IPv6 parsing into the packet's IPv6 key: the fixed header, a bounded
 * walk of extension headers, L4, and what must go to the kernel unclassified. */
#ifndef LINX_PARSE6_H
#define LINX_PARSE6_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "linx.h"
#include "meta.h"
#include "lib.h"

#define ETH_P_IPV6_BE bpf_htons(0x86DD)
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

/* parse_ipv6 returns PARSE6_KERNEL for a packet that goes to the kernel
 * unclassified. */
#define PARSE6_KERNEL (-1)

/* ip6_link_local reports fe80::/10. */
static __always_inline int ip6_link_local(const struct in6_addr *a)
{
	return a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80;
}

/* parse_ipv6 validates the IPv6 header at off, walks at most IPV6_EXT_MAX
 * extension headers (hop-by-hop first only, routing, destination options,
 * fragment) and fills the IPv6 classifier key. Returns 0, PARSE6_KERNEL, or a
 * drop reason.
 *
 * The kernel gets, unclassified, what a router's own stack must see or what is
 * never routed: multicast destinations (neighbour solicitations, router
 * advertisements, MLD), link-local sources or destinations, the unspecified
 * source (duplicate address detection), and ICMPv6 router/neighbour discovery
 * (types 133–137, also unicast).
 *
 * Fragments (a fragment header) are classified with ports 0, the first fragment
 * too, as IPv4 fragments are: proto is the fragment header's next header.
 * A chain longer than IPV6_EXT_MAX headers is dropped (ip6_ext_depth): passing it
 * to the kernel unclassified would let extension headers bypass the PDRs. */
static __always_inline int parse_ipv6(struct xdp_md *ctx, __u32 off, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* At most one VLAN tag before it: bounds off for the verifier. */
	if (off > ETH_HLEN + 4)
		return DROP_MALFORMED_IPV6;
	struct ipv6hdr *ip6 = data + off;
	if ((void *)(ip6 + 1) > data_end)
		return DROP_MALFORMED_IPV6;
	if (ip6->version != 6)
		return DROP_MALFORMED_IPV6;
	__u32 plen = be16_len(ip6->payload_len);
	if (data + off + sizeof(*ip6) + plen > data_end)
		return DROP_IPV6_LEN;

	struct pdr6_key *k = &m->key6;
	__builtin_memcpy(k->src, &ip6->saddr, 16);
	__builtin_memcpy(k->dst, &ip6->daddr, 16);
	k->sport = 0;
	k->dport = 0;
	/* Traffic class: the 4 bits of priority, then the flow label's upper 4. */
	__u8 tc = ip6->priority << 4 | ip6->flow_lbl[0] >> 4;
	k->dscp_dir = tc & 0xfc;
	m->l3_off = off;
	m->ip_len = sizeof(*ip6) + plen;
	m->l4_off = 0;
	m->tcp_flags = 0;
	m->df = 1; /* IPv6 routers never fragment */

	if (ip6->daddr.s6_addr[0] == 0xff || ip6_link_local(&ip6->daddr) || ip6_link_local(&ip6->saddr))
		return PARSE6_KERNEL;
	if ((k->src[0] | k->src[1] | k->src[2] | k->src[3]) == 0)
		return PARSE6_KERNEL;

	__u8 nh = ip6->nexthdr;
	__u32 end = off + sizeof(*ip6) + plen; /* within the frame: checked above */
	__u32 l4 = off + sizeof(*ip6);
	int frag = 0;
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_DEST && nh != NEXTHDR_FRAGMENT)
			break;
		if (nh == NEXTHDR_HOP && i > 0)
			return DROP_IPV6_EXT; /* RFC 8200: only right after the IPv6 header */
		/* Each header is at most 2048 bytes: l4 stays bounded for the verifier. */
		__u8 *eh = data + l4;
		if ((void *)(eh + 8) > data_end)
			return DROP_IPV6_EXT;
		__u32 elen = nh == NEXTHDR_FRAGMENT ? 8 : ((__u32)eh[1] + 1) * 8;
		if (l4 + elen > end)
			return DROP_IPV6_EXT;
		if (nh == NEXTHDR_FRAGMENT)
			frag = 1;
		nh = eh[0];
		l4 += elen;
		if (frag)
			break;
	}
	k->proto = nh;
	if (frag)
		return 0;
	if (nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST || nh == NEXTHDR_FRAGMENT)
		return DROP_IPV6_EXT_DEPTH;

	void *l4p = data + l4;
	switch (nh) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4p;
		if ((void *)(th + 1) > data_end || th->doff < 5 || l4 + th->doff * 4 > end)
			return DROP_MALFORMED_L4;
		k->sport = th->source;
		k->dport = th->dest;
		m->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4p;
		if ((void *)(uh + 1) > data_end)
			return DROP_MALFORMED_L4;
		__u32 ulen = be16_len(uh->len);
		if (ulen < sizeof(*uh) || l4 + ulen > end)
			return DROP_MALFORMED_L4;
		k->sport = uh->source;
		k->dport = uh->dest;
		break;
	}
	case IPPROTO_ICMPV6: {
		__u8 *ic = l4p;
		if ((void *)(ic + 4) > data_end || l4 + 4 > end)
			return DROP_MALFORMED_L4;
		if (ic[0] >= 133 && ic[0] <= 137)
			return PARSE6_KERNEL; /* router and neighbour discovery */
		break;
	}
	case IPPROTO_GRE:
		break; /* m->l4_off for try_decap6 (fragments have none) */
	default:
		return 0;
	}
	m->l4_off = l4;
	return 0;
}

#endif /* LINX_PARSE6_H */
