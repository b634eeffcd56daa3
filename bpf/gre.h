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

/* gre_term reads the GRE header at offset g into the termination key (the key
 * field) and its length. Returns 0, or the drop reason of a header this gateway
 * does not decapsulate. */
static __always_inline int gre_term(void *data, void *data_end, __u32 g, struct term_key *tk, __u32 *glenp,
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
		tk->key = *kp;
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
	int bad = gre_term(data, data_end, g, &tk, &glen, &proto);
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

#endif /* LINX_GRE_H */
