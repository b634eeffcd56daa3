/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stamp6.h — STAMP through overlays over an IPv6 underlay (docs/sla.md): such a
 * tunnel's probes are IPv6 + UDP/862 between its IPv6 underlay addresses, the
 * mirror of the IPv4 case. The same reflector (same checks, drop reasons, size
 * rule, the tunnel's rate limit, timestamps) and the same hand-over of replies as stamp.h; only the IP
 * header differs, and UDP over IPv6 needs its checksum (RFC 8200 §8.1). Runs in
 * linx_decap6, so the IPv4 path does not carry its code. */
#ifndef LINX_STAMP6_H
#define LINX_STAMP6_H

#include "stamp.h"

/* stamp6_csum is the UDP checksum of the reply: pseudo-header, UDP header
 * (checksum 0) and the 44-octet base. The padding, zeroed, adds nothing. A
 * fixed 42 words: no loop over the probe's length. */
static __always_inline __u16 stamp6_csum(struct ipv6hdr *ip6, __u32 ulen)
{
	__u16 *w = (__u16 *)&ip6->saddr;
	__u32 sum = bpf_htons((__u16)ulen) + bpf_htons(IPPROTO_UDP);

#pragma unroll
	for (int i = 0; i < (32 + 8 + STAMP_BASE_LEN) / 2; i++)
		sum += w[i]; /* addresses, then the UDP header and the base behind them */
	__u16 c = csum_fold(sum);
	return c ? c : 0xffff; /* 0 means "no checksum", which IPv6 forbids */
}

/* stamp6_reflect is stamp_reflect for an IPv6 probe decapsulated at ETH_HLEN.
 * Extension headers or octets after the UDP datagram are stamp_malformed. */
static __always_inline int stamp6_reflect(struct xdp_md *ctx, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct udphdr *uh = (void *)(ip6 + 1);
	struct stamp_reflected *s = (void *)(uh + 1);

	if (m->key6.sport == bpf_htons(STAMP_PORT))
		return drop(ctx, DROP_STAMP_LOOP);
	if (m->l4_off != ETH_HLEN + sizeof(*ip6))
		return drop(ctx, DROP_STAMP_MALFORMED);
	if ((void *)s > data_end)
		return drop(ctx, DROP_MALFORMED_L4); /* parse_ipv6 saw the UDP header */
	__u32 ulen = be16_len(uh->len);
	if (ulen + sizeof(*ip6) != m->ip_len)
		return drop(ctx, DROP_STAMP_MALFORMED);
	if (ulen < sizeof(struct udphdr) + STAMP_BASE_LEN || (void *)(s + 1) > data_end)
		return drop(ctx, DROP_STAMP_SHORT);
	if (m->ip_len > MAX_PROBE_BYTES)
		return drop(ctx, DROP_STAMP_LONG);
	if (((__u8 *)&s->err)[1] == 0) /* the multiplier: the low octet */
		return drop(ctx, DROP_STAMP_ERROR_ESTIMATE);
	/* The tunnel's token bucket, shared with IPv4 probes (stamp_take). */
	if (!stamp_take(m->term_tunnel))
		return drop(ctx, DROP_STAMP_RATE);

	__be32 seq = s->seq; /* stateless: the probe's */
	if (stamp_stateful) {
		/* The session: the tunnel and the probe's DSCP, as for IPv4. */
		__u32 slot = m->term_tunnel * 64 + (m->key6.dscp_dir >> 2);
		struct stamp_session *ss = bpf_map_lookup_elem(&stamp_sessions, &slot);
		if (!ss)
			return drop(ctx, DROP_NO_TUNNEL);
		bpf_spin_lock(&ss->lock);
		__u32 next = ss->next++;
		bpf_spin_unlock(&ss->lock);
		seq = bpf_htonl(next);
	}

	__u64 now = bpf_ktime_get_tai_ns();
	__be32 sec = bpf_htonl((__u32)(now / NSEC_PER_SEC));
	__be32 frac = bpf_htonl((__u32)(now % NSEC_PER_SEC));
	s->s_seq = s->seq;
	s->seq = seq;
	s->s_sec = s->ts_sec;
	s->s_frac = s->ts_frac;
	s->s_err = s->err;
	s->ts_sec = sec;
	s->ts_frac = frac;
	s->err = bpf_htons(STAMP_ERROR_ESTIMATE);
	s->mbz1 = 0;
	s->rx_sec = sec;
	s->rx_frac = frac;
	s->mbz2 = 0;
	s->s_ttl = ip6->hop_limit; /* the probe's hop limit as received */
	s->mbz3[0] = 0;
	s->mbz3[1] = 0;
	s->mbz3[2] = 0;

	/* Back to the sender: addresses and ports swapped (the checksum does not
	 * see the order), a fresh hop limit, the traffic class kept. */
	struct in6_addr a = ip6->saddr;
	ip6->saddr = ip6->daddr;
	ip6->daddr = a;
	ip6->hop_limit = 255;
	__be16 port = uh->source;
	uh->source = uh->dest;
	uh->dest = port;
	uh->check = 0;

	__u32 pad = ulen - sizeof(struct udphdr) - STAMP_BASE_LEN;
	if (pad) {
		__u32 zero = 0;
		struct stamp_zeros *z = bpf_map_lookup_elem(&stamp_zeros, &zero);
		__u64 n = (__u64)pad - 1; /* see stamp_reflect */
		barrier_var(n);
		if (!z || n >= MAX_PROBE_BYTES ||
		    bpf_xdp_store_bytes(ctx, ETH_HLEN + sizeof(*ip6) + sizeof(*uh) + STAMP_BASE_LEN, z->b, n + 1))
			return drop(ctx, DROP_INTERNAL);
		/* The helper invalidated the packet pointers. */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		ip6 = data + ETH_HLEN;
		uh = (void *)(ip6 + 1);
		s = (void *)(uh + 1);
		if ((void *)(s + 1) > data_end)
			return drop(ctx, DROP_INTERNAL);
	}
	uh->check = stamp6_csum(ip6, ulen);

	m->local = 1;
	m->tunnel_id = m->term_tunnel;
	return NEXT_ENCAP;
}

/* stamp6 picks out STAMP for the gateway itself from an IPv6 UDP datagram
 * decapsulated from an IPv6 underlay (decap6): a probe to the termination's
 * local address is reflected (NEXT_ENCAP: into linx_encap6), a reply goes to
 * the prober (stamp_deliver, whose record holds the IPv6 packet); anything
 * else is data (NEXT_CLASSIFY6). */
static __always_inline int stamp6(struct xdp_md *ctx, struct pkt_meta *m)
{
	__be16 port = bpf_htons(STAMP_PORT);

	if (m->key6.dport != port && m->key6.sport != port)
		return NEXT_CLASSIFY6;
	if ((m->key6.dst[0] ^ m->term_local6[0]) | (m->key6.dst[1] ^ m->term_local6[1]) |
	    (m->key6.dst[2] ^ m->term_local6[2]) | (m->key6.dst[3] ^ m->term_local6[3]))
		return NEXT_CLASSIFY6; /* through the overlay to a host behind the gateway */
	if (m->key6.dport == port)
		return stamp6_reflect(ctx, m);
	return stamp_deliver(ctx, m);
}

/* stamp6_not_tunnel reports STAMP to a local IPv6 tunnel address that came
 * through no terminated tunnel (from a LAN or the underlay): dropped as
 * stamp_not_tunnel, as for IPv4. Costs a comparison for other IPv6 packets. */
static __always_inline int stamp6_not_tunnel(struct pkt_meta *m)
{
	return m->key6.proto == IPPROTO_UDP && m->l4_off && m->key6.dport == bpf_htons(STAMP_PORT) &&
	       bpf_map_lookup_elem(&tunnel_locals6, m->key6.dst);
}

#endif /* LINX_STAMP6_H */
