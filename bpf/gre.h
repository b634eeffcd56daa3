/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* gre.h — GRE decapsulation with anti-spoofing (tunnel terminations). */
#ifndef LINX_GRE_H
#define LINX_GRE_H

#include "parse.h"
#include "parse6.h"
#include "maps.h"
#include "counters.h"

#define GRE_F_CSUM 0x8000
#define GRE_F_ROUTING 0x4000
#define GRE_F_KEY 0x2000
#define GRE_F_SEQ 0x1000
#define GRE_F_STRICT 0x0800
#define GRE_F_RECUR 0x0700
#define GRE_F_VERSION 0x0007

struct gre_base {
	__be16 flags;
	__be16 proto;
};

/* gre_term reads the GRE header at offset g: its key into *keyp (the
 * termination key's key field), its length and payload type. Returns 0, or the
 * drop reason of a header this gateway does not decapsulate. */
static __always_inline int gre_term(void *data, void *data_end, __u32 g, __be32 *keyp, __u32 *glenp,
				    __be16 *protop)
{
	struct gre_base *gh = data + g;
	if ((void *)(gh + 1) > data_end)
		return DROP_MALFORMED_GRE;
	__u16 flags = bpf_ntohs(gh->flags);
	if (flags & (GRE_F_ROUTING | GRE_F_STRICT | GRE_F_RECUR | GRE_F_VERSION))
		return DROP_GRE_FLAGS;
	__u32 glen = 4;
	if (flags & GRE_F_CSUM)
		glen += 4;
	if (flags & GRE_F_KEY) {
		__be32 *kp = data + g + glen;
		if ((void *)(kp + 1) > data_end)
			return DROP_MALFORMED_GRE;
		*keyp = *kp;
		glen += 4;
	}
	if (flags & GRE_F_SEQ)
		glen += 4; /* RFC 2890 sequence number: accepted, not enforced */
	if (data + g + glen > data_end)
		return DROP_MALFORMED_GRE;
	if (gh->proto != bpf_htons(ETH_P_IP) && gh->proto != ETH_P_IPV6_BE)
		return DROP_GRE_PROTO;
	*glenp = glen;
	*protop = gh->proto;
	return 0;
}

/* try_decap returns DECAP_IPV6 when it decapsulated an IPv6 packet. */
#define DECAP_IPV6 (-2)

/* try_decap strips outer Ethernet/IPv4/GRE from a GRE packet that a known peer sent
 * to a local tunnel address. Returns 0 (decapsulated, inner IPv4 at offset 14),
 * DECAP_IPV6 (the same, inner IPv6),
 * -1 (not for us: treat as underlay traffic) or a drop reason.
 *
 * The termination is looked up first: a hit implies a local tunnel address, so a
 * peer's packet costs one lookup. Only on a miss does tunnel_locals tell GRE to
 * one of our addresses (bad or spoofed: dropped) from underlay traffic. */
static __always_inline int try_decap(struct xdp_md *ctx, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = m->l3_off;

	/* The outer header follows at most one VLAN tag. Saying so bounds off for the
	 * verifier: 6.1 learns no packet range from a pointer whose variable offset
	 * may reach 0xffff (the scratch slot holds a __u16). */
	if (off > ETH_HLEN + 4)
		return DROP_MALFORMED_IP;
	struct iphdr *ip = data + off;
	if ((void *)(ip + 1) > data_end)
		return DROP_MALFORMED_IP;
	__u32 g = off + ip->ihl * 4;
	struct term_key tk = { .remote = ip->saddr, .local = ip->daddr, .key = 0 };
	__u32 glen = 0;
	__be16 proto = 0;
	int bad = gre_term(data, data_end, g, &tk.key, &glen, &proto);
	__u32 *tid = NULL;
	if (!bad)
		tid = bpf_map_lookup_elem(&tunnel_terms, &tk);
	if (!tid) {
		if (!bpf_map_lookup_elem(&tunnel_locals, &tk.local))
			return -1;
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return DROP_GRE_FRAGMENT;
		return bad ? bad : DROP_GRE_SPOOFED;
	}
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return DROP_GRE_FRAGMENT;
	__u32 tunnel = *tid;
	m->term_local = tk.local;
	m->term_tunnel = tunnel;
	struct tunnel_stats *ts = bpf_map_lookup_elem(&tunnel_counters, &tunnel);
	if (ts)
		count(&ts->rx, frame_len(ctx));

	/* Move the MACs in front of the inner header, then drop everything before. */
	__u32 inner = g + glen;
	if (inner < ETH_HLEN || inner > 14 + 60 + 16 + 4)
		return DROP_MALFORMED_GRE;
	__u32 eoff = inner - ETH_HLEN;
	barrier_var(eoff);
	if (eoff > 60 + 16 + 4)
		return DROP_MALFORMED_GRE;
	struct ethhdr *neth = data + eoff;
	struct ethhdr *oeth = data;
	if ((void *)(neth + 1) > data_end || (void *)(oeth + 1) > data_end)
		return DROP_MALFORMED_GRE;
	__builtin_memcpy(neth->h_dest, oeth->h_dest, ETH_ALEN);
	__builtin_memcpy(neth->h_source, oeth->h_source, ETH_ALEN);
	neth->h_proto = proto;
	if (bpf_xdp_adjust_head(ctx, (int)(inner - ETH_HLEN)))
		return DROP_ADJUST;
	return proto == ETH_P_IPV6_BE ? DECAP_IPV6 : 0;
}

/* try_decap6 is try_decap for GRE inside an outer IPv6 header, which
 * parse_ipv6 has checked (extension headers walked, m->l4_off the GRE header,
 * 0 for a fragment): terminations and local addresses from tunnel_terms6 and
 * tunnel_locals6, the same results. Outer headers (VLAN tag, IPv6, extension
 * headers, GRE) longer than GRE6_HDRS_MAX octets are not decapsulated: to a
 * local tunnel address they are malformed_gre. */
static __always_inline int try_decap6(struct xdp_md *ctx, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = m->l3_off;

	if (off > ETH_HLEN + 4)
		return DROP_MALFORMED_IPV6;
	struct ipv6hdr *ip6 = data + off;
	if ((void *)(ip6 + 1) > data_end)
		return DROP_MALFORMED_IPV6;
	struct term6_key tk = {};
	__builtin_memcpy(tk.remote, &ip6->saddr, 16);
	__builtin_memcpy(tk.local, &ip6->daddr, 16);
	__u32 g = m->l4_off; /* 0: a fragment */
	int bad = 0;
	__u32 glen = 0;
	__be16 proto = 0;
	if (!g)
		bad = DROP_GRE_FRAGMENT;
	else if (g > ETH_HLEN + GRE6_HDRS_MAX)
		bad = DROP_MALFORMED_GRE;
	else
		bad = gre_term(data, data_end, g, &tk.key, &glen, &proto);
	__u32 *tid = NULL;
	if (!bad)
		tid = bpf_map_lookup_elem(&tunnel_terms6, &tk);
	if (!tid) {
		if (!bpf_map_lookup_elem(&tunnel_locals6, tk.local))
			return -1;
		return bad ? bad : DROP_GRE_SPOOFED;
	}
	__u32 tunnel = *tid;
	m->term_local = 0; /* an IPv4 probe through an IPv6 underlay is data */
	__builtin_memcpy(m->term_local6, tk.local, 16); /* stamp6: inner IPv6 STAMP */
	m->term_tunnel = tunnel;
	struct tunnel_stats *ts = bpf_map_lookup_elem(&tunnel_counters, &tunnel);
	if (ts)
		count(&ts->rx, frame_len(ctx));

	__u32 eoff = g + glen - ETH_HLEN;
	barrier_var(eoff);
	if (eoff > GRE6_HDRS_MAX)
		return DROP_MALFORMED_GRE;
	struct ethhdr *neth = data + eoff;
	struct ethhdr *oeth = data;
	if ((void *)(neth + 1) > data_end || (void *)(oeth + 1) > data_end)
		return DROP_MALFORMED_GRE;
	__builtin_memcpy(neth->h_dest, oeth->h_dest, ETH_ALEN);
	__builtin_memcpy(neth->h_source, oeth->h_source, ETH_ALEN);
	neth->h_proto = proto;
	if (bpf_xdp_adjust_head(ctx, (int)eoff))
		return DROP_ADJUST;
	return proto == ETH_P_IPV6_BE ? DECAP_IPV6 : 0;
}

#endif /* LINX_GRE_H */
