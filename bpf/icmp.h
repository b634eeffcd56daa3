/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* icmp.h — the MTU policy: MSS clamping of TCP SYNs and ICMP fragmentation
 * needed for DF packets too big for the overlay. */
#ifndef LINX_ICMP_H
#define LINX_ICMP_H

#include "forward.h"

#define MAX_OVERHEAD (20 + 8) /* outer IPv4 + GRE with key */

/* ICMP destination unreachable, fragmentation needed (RFC 1191). Declared here
 * because linux/icmp.h drags in libc headers. */
struct icmp_frag_needed {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;
};
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4

/* clamp_mss lowers the MSS option of a TCP SYN to what fits the overlay, so TCP
 * never needs fragmentation or PMTU discovery across it. The options are parsed
 * from a stack copy (cheap for the verifier); MSS is written back with the TCP
 * checksum fixed incrementally. */
static __always_inline void clamp_mss(struct xdp_md *ctx, struct pkt_meta *m, __u16 max_mss)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4 = m->l4_off;
	__u8 opts[64] = {}; /* 40 bytes of options at most; indices masked with 63 */

	if (l4 > ETH_HLEN + 4 + 60)
		return;
	struct tcphdr *th = data + l4;
	if ((void *)(th + 1) > data_end)
		return;
	/* Options length from doff in 6..15, so that every copy of it (the compiler
	 * may spill it before the helper call) is within [4, 40]: a difference that
	 * could be negative loses its bounds on 6.1 once spilled and reloaded. */
	__u32 doff = th->doff;
	if (doff < 6 || doff > 15)
		return;
	__u32 olen = (doff - 5) * 4;
	if (bpf_xdp_load_bytes(ctx, l4 + sizeof(*th), opts, olen))
		return;

	__u32 i = 0;
	for (int n = 0; n < 10; n++) {
		if (i + 4 > olen)
			return;
		__u8 kind = opts[i & 63];
		if (kind == 0)
			return;
		if (kind == 1) {
			i++;
			continue;
		}
		__u8 len = opts[(i + 1) & 63];
		if (len < 2)
			return;
		if (kind == 2 && len == 4) {
			__u16 old = (__u16)opts[(i + 2) & 63] << 8 | opts[(i + 3) & 63];
			if (old <= max_mss)
				return;
			__be16 oldn = bpf_htons(old), newn = bpf_htons(max_mss);
			__u32 at = l4 + sizeof(*th) + i + 2;
			if (bpf_xdp_store_bytes(ctx, at, &newn, sizeof(newn)))
				return;
			data = (void *)(long)ctx->data;
			data_end = (void *)(long)ctx->data_end;
			th = data + l4;
			if ((void *)(th + 1) > data_end)
				return;
			csum_replace2(&th->check, oldn, newn);
			return;
		}
		i += len;
	}
}

/* icmp_too_big turns the packet into ICMP fragmentation-needed (RFC 1191) for its
 * sender, with the overlay's MTU, and sends it back out of the ingress port. */
static __always_inline int icmp_too_big(struct xdp_md *ctx, struct pkt_meta *m, __be32 from, __u16 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3 = m->l3_off;
	__u8 quote[28]; /* original IPv4 header (no options) + 8 bytes */

	if (l3 != ETH_HLEN && l3 != ETH_HLEN + 4)
		return drop(ctx, DROP_TOO_BIG);
	struct iphdr *ip = data + l3;
	if ((void *)ip + sizeof(quote) > data_end || ip->ihl != 5)
		return drop(ctx, DROP_TOO_BIG);
	__builtin_memcpy(quote, ip, sizeof(quote));
	__be32 to = ip->saddr;

	__u32 want = l3 + sizeof(struct iphdr) + sizeof(struct icmp_frag_needed) + sizeof(quote);
	int delta = (int)want - (int)(data_end - data);
	if (bpf_xdp_adjust_tail(ctx, delta))
		return drop(ctx, DROP_ADJUST);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + 4 + sizeof(struct iphdr) + sizeof(struct icmp_frag_needed) + sizeof(quote) > data_end &&
	    l3 != ETH_HLEN)
		return drop(ctx, DROP_ADJUST);

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return drop(ctx, DROP_ADJUST);
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	ip = data + l3;
	struct icmp_frag_needed *ic = (void *)(ip + 1);
	__u8 *q = (void *)(ic + 1);
	if ((void *)q + sizeof(quote) > data_end)
		return drop(ctx, DROP_ADJUST);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0xc0;
	ip->tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(struct icmp_frag_needed) + sizeof(quote));
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = GRE_TTL;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = from;
	ip->daddr = to;
	ip->check = 0;
	ip->check = ipv4_csum(ip);

	__builtin_memset(ic, 0, sizeof(*ic));
	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->mtu = bpf_htons(mtu);
	__builtin_memcpy(q, quote, sizeof(quote));
	__s64 sum = bpf_csum_diff(0, 0, (__be32 *)ic, sizeof(*ic) + sizeof(quote), 0);
	if (sum < 0)
		return drop(ctx, DROP_ADJUST);
	ic->checksum = csum_fold((__u32)sum);

	struct counter *c;
	__u32 reason = DROP_ICMP_TOO_BIG;
	c = bpf_map_lookup_elem(&drop_counters, &reason);
	count(c, frame_len(ctx));
	/* A redirect, not XDP_TX: veth flushes XDP_TX frames to a peer only when the
	 * peer runs XDP itself, redirects also to a peer with GRO on. */
	return redirect_port(ctx, m->port, ctx->ingress_ifindex);
}

#endif /* LINX_ICMP_H */
