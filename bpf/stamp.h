/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stamp.h — STAMP (RFC 8762, unauthenticated mode) in the data path: the
 * stateless session-reflector for probes that came through a terminated tunnel,
 * and the hand-over of replies to this gateway's own prober (docs/sla.md).
 *
 * Only a datagram decapsulated from a terminated tunnel (its remote a configured
 * peer) and addressed to that termination's local address is STAMP for linx.
 * Each tunnel's probes pass a token bucket (stamp_buckets: an inlined array
 * access, a clock read and a lock); those over the rate are dropped before any
 * other work. Answering adds a second clock read (the timestamps) and, for a
 * padded probe, an inlined array access for its zeros. The reply is rewritten in place, never larger than the probe, and
 * leaves through the encap stage into the termination's tunnel. */
#ifndef LINX_STAMP_H
#define LINX_STAMP_H

#include "parse.h"
#include "maps.h"
#include "counters.h"
#include "stage.h"

/* The reflector's error estimate (RFC 4656 §4.1.2 with RFC 8186's Z flag):
 * S = 0 (no claim of UTC synchronisation), Z = 1 (PTPv2 truncated timestamps),
 * scale 22 and multiplier 1: 2^-10 s. Round trips do not depend on it; RFC 4656
 * only forbids a zero multiplier. */
#define STAMP_ERROR_ESTIMATE 0x5601

/* Set by Go at load (Options.StatefulReflector): replies carry the reflector's
 * own sequence number per session, (tunnel, DSCP), instead of the probe's. */
const volatile __u8 stamp_stateful = 0;
#define NSEC_PER_SEC 1000000000ULL

/* Set by Go at load (Options.ReflectorRate, ReflectorBurst): each tunnel's
 * bucket refills at stamp_rate probes per second up to stamp_cap = burst x
 * METER_NS; stamp_fill = ceil(stamp_cap / stamp_rate) ns fills it from empty.
 * rate x elapsed stays below cap + rate for the bounds Go enforces. */
const volatile __u64 stamp_rate = 500;
const volatile __u64 stamp_cap = 100 * METER_NS;
const volatile __u64 stamp_fill = 200000000;

/* stamp_take takes one probe's token from tunnel's bucket: 1 if the probe may
 * be answered, 0 if it is over the rate (or the tunnel id is beyond the map).
 * One inlined array lookup, a clock read and the lock: what a flood of probes
 * costs per packet before it is dropped. */
static __always_inline int stamp_take(__u32 tunnel)
{
	struct stamp_bucket *b = bpf_map_lookup_elem(&stamp_buckets, &tunnel);

	if (!b)
		return 0;
	__u64 now = bpf_ktime_get_ns(); /* before the lock: no helper under it */
	int ok = 0;
	bpf_spin_lock(&b->lock);
	__u64 dt = 0;
	if (now > b->last) { /* a CPU whose read is older than the last refill adds nothing */
		dt = now - b->last;
		b->last = now;
	}
	__u64 tok = stamp_cap;
	if (dt < stamp_fill) {
		tok = b->tok + stamp_rate * dt;
		if (tok > stamp_cap)
			tok = stamp_cap;
	}
	if (tok >= METER_NS) {
		tok -= METER_NS;
		ok = 1;
	}
	b->tok = tok;
	bpf_spin_unlock(&b->lock);
	return ok;
}

/* The session-reflector test packet (RFC 8762 §4.3.1). The session-sender's
 * (§4.2.1) shares its first 14 octets: seq, ts and err. */
struct stamp_reflected {
	__be32 seq;
	__be32 ts_sec;  /* T3 */
	__be32 ts_frac;
	__be16 err;
	__be16 mbz1;
	__be32 rx_sec;  /* T2 */
	__be32 rx_frac;
	__be32 s_seq;   /* the session-sender's sequence number, timestamp (T1), error estimate */
	__be32 s_sec;
	__be32 s_frac;
	__be16 s_err;
	__be16 mbz2;
	__u8 s_ttl;     /* the probe's IPv4 TTL as received */
	__u8 mbz3[3];
};

/* stamp_reflect answers the probe in place (stateless mode: the reply carries the
 * probe's sequence number; stateful: the session's own count) and hands it to the
 * encap stage for the termination's tunnel. T2 = T3 = bpf_ktime_get_tai_ns() as PTPv2 truncated timestamps (TAI
 * seconds and nanoseconds, Z = 1): received and sent in the same program run.
 * Returns NEXT_ENCAP or a drop verdict. */
static __always_inline int stamp_reflect(struct xdp_md *ctx, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* Decapsulated: the inner IPv4 header is at ETH_HLEN (ingress moved it). */
	struct iphdr *ip = data + ETH_HLEN;
	struct udphdr *uh = (void *)(ip + 1);
	struct stamp_reflected *s = (void *)(uh + 1);

	/* Two reflectors would answer each other's replies for ever. */
	if (m->key.sport == bpf_htons(STAMP_PORT))
		return drop(ctx, DROP_STAMP_LOOP);
	if ((void *)s > data_end)
		return drop(ctx, DROP_MALFORMED_L4); /* parse_ipv4 saw the UDP header */
	if (ip->ihl != 5)
		return drop(ctx, DROP_STAMP_MALFORMED);
	__u32 ulen = be16_len(uh->len);
	if (ulen + sizeof(struct iphdr) != m->ip_len)
		return drop(ctx, DROP_STAMP_MALFORMED);
	if (ulen < sizeof(struct udphdr) + STAMP_BASE_LEN || (void *)(s + 1) > data_end)
		return drop(ctx, DROP_STAMP_SHORT);
	if (m->ip_len > MAX_PROBE_BYTES)
		return drop(ctx, DROP_STAMP_LONG);
	if (((__u8 *)&s->err)[1] == 0) /* the multiplier: the low octet */
		return drop(ctx, DROP_STAMP_ERROR_ESTIMATE);
	/* Over the tunnel's rate: dropped before the timestamps, the padding's
	 * copy and the encap stage, so a flood costs less than data. */
	if (!stamp_take(m->term_tunnel))
		return drop(ctx, DROP_STAMP_RATE);

	__be32 seq = s->seq; /* stateless: the probe's */
	if (stamp_stateful) {
		/* One lock and one write per probe: stateful mode's price. */
		__u32 slot = m->term_tunnel * 64 + (ip->tos >> 2);
		struct stamp_session *ss = bpf_map_lookup_elem(&stamp_sessions, &slot);
		if (!ss)
			return drop(ctx, DROP_NO_TUNNEL); /* a tunnel id beyond MaxTunnels */
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
	s->s_ttl = ip->ttl;
	s->mbz3[0] = 0;
	s->mbz3[1] = 0;
	s->mbz3[2] = 0;

	/* Back to the sender: the addresses and ports swapped, a fresh TTL (encap
	 * leaves the gateway's own packets' TTL alone), the UDP checksum 0 (none,
	 * legal for IPv4) rather than a sum over the whole probe. */
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->ttl = 255;
	ip->check = 0;
	ip->check = ipv4_csum(ip);
	__be16 port = uh->source;
	uh->source = uh->dest;
	uh->dest = port;
	uh->check = 0;

	/* Padding (or TLVs linx does not implement) comes back zeroed: one copy from
	 * a zero map value, whatever its length. */
	__u32 pad = ulen - sizeof(struct udphdr) - STAMP_BASE_LEN;
	if (pad) {
		__u32 zero = 0;
		struct stamp_zeros *z = bpf_map_lookup_elem(&stamp_zeros, &zero);
		/* A 64-bit copy of pad - 1, range-checked, plus 1: 6.1's verifier then
		 * knows the size is not 0 (clang would turn `pad < 1` into `== 0`, from
		 * which 6.1 learns nothing; see send_punt). */
		__u64 n = (__u64)pad - 1;
		barrier_var(n);
		if (!z || n >= MAX_PROBE_BYTES ||
		    bpf_xdp_store_bytes(ctx, ETH_HLEN + sizeof(*ip) + sizeof(*uh) + STAMP_BASE_LEN, z->b, n + 1))
			return drop(ctx, DROP_INTERNAL);
	}

	m->local = 1;
	m->df = 0; /* too big for the way back: dropped, never an ICMP error to ourselves */
	m->tunnel_id = m->term_tunnel;
	return NEXT_ENCAP;
}

/* stamp_deliver hands a reply to this gateway's prober through probe_replies,
 * with the termination's tunnel and the monotonic receive time, and consumes it.
 * A full ring (nobody reads) drops it. */
static __always_inline int stamp_deliver(struct xdp_md *ctx, struct pkt_meta *m)
{
	__u64 rx = bpf_ktime_get_ns();
	__u32 len = m->ip_len;

	if (len > MAX_PROBE_BYTES)
		return drop(ctx, DROP_STAMP_LONG);
	struct probe_record *r = bpf_ringbuf_reserve(&probe_replies, sizeof(*r), 0);
	if (!r)
		return drop(ctx, DROP_PROBE_FULL);
	r->tunnel = m->term_tunnel;
	r->len = len;
	r->rx_ns = rx;
	/* Range checks on a 64-bit copy, as in send_punt: every verifier (6.1's too)
	 * then knows the helper's size is neither 0 nor beyond the record; parse_ipv4
	 * has seen IPv4 and UDP headers, so 28 is the real minimum. */
	__u64 n = len;
	barrier_var(n);
	if (n < 28 || n > MAX_PROBE_BYTES || bpf_xdp_load_bytes(ctx, ETH_HLEN, r->data, n)) {
		bpf_ringbuf_discard(r, 0);
		return drop(ctx, DROP_MALFORMED_L4);
	}
	bpf_ringbuf_submit(r, 0);
	return XDP_DROP;
}

/* stamp picks out STAMP for the gateway itself from a parsed UDP datagram
 * (dir: how it arrived): a probe to reflect, a reply for the prober, or STAMP to a
 * local tunnel address that came through no terminated tunnel, dropped: the
 * reflector answers configured peers only, never the open Internet. Anything
 * else returns NEXT_STAGE (data, the classifier's business). Costs a comparison
 * for UDP that is not STAMP; a tunnel_locals lookup for STAMP outside tunnels. */
static __always_inline int stamp(struct xdp_md *ctx, struct pkt_meta *m, __u8 dir)
{
	__be16 port = bpf_htons(STAMP_PORT);

	if (m->key.dport != port && m->key.sport != port)
		return NEXT_STAGE;
	if (dir != DIR_DOWNLINK) {
		if (m->key.dport == port && bpf_map_lookup_elem(&tunnel_locals, &m->key.dst))
			return drop(ctx, DROP_STAMP_NOT_TUNNEL);
		return NEXT_STAGE;
	}
	if (m->key.dst != m->term_local)
		return NEXT_STAGE; /* through the overlay to a host behind the gateway */
	if (m->key.dport == port)
		return stamp_reflect(ctx, m);
	return stamp_deliver(ctx, m);
}

#endif /* LINX_STAMP_H */
