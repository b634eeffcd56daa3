// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* linx.c — the XDP pipeline (the paper's Algorithm 1):
 *
 *   linx_xdp (parser, GRE decap) → linx_classify (PDR) → linx_forward (FAR)
 *                                         → linx_balance (LBR) → linx_encap (GRE)
 *                                         → linx_encap (GRE)
 *
 * Frames that are not IPv4 end in linx_xdp, with their non_ip rule (by EtherType).
 *
 * Stages are chained with tail calls through the "stages" prog array and share the
 * parse results through a per-CPU scratch slot. A missed tail call drops the packet
 * with DROP_TAIL_CALL. Malformed input is dropped with a reason, never XDP_ABORTED.
 * See docs/datapath.md for the policies (fragments, MTU, neighbours).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "linx.h"
#include "maps.h"
#include "lib.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader: classify every packet by tuple-space search, bypassing the
 * flow cache (for measurements and for workloads of one-packet flows). */
const volatile __u8 flow_cache_off = 0;

#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define GRE_F_CSUM 0x8000
#define GRE_F_ROUTING 0x4000
#define GRE_F_KEY 0x2000
#define GRE_F_SEQ 0x1000
#define GRE_F_STRICT 0x0800
#define GRE_F_RECUR 0x0700
#define GRE_F_VERSION 0x0007
#define AF_INET 2
#define MAX_OVERHEAD (20 + 8) /* outer IPv4 + GRE with key */

/* Parse results handed from stage to stage (per-CPU: a packet runs to completion
 * on one CPU). */
struct pkt_meta {
	struct pdr_key key; /* classifier input, network order */
	__u16 port;         /* ingress port id */
	__u16 l3_off;       /* offset of the (inner) IPv4 header */
	__u16 ip_len;       /* IPv4 total length */
	__u16 l4_off;       /* offset of the L4 header, 0 if none (fragment/other) */
	__u8 role;
	__u8 tcp_flags;
	__u8 df;
	__u8 use_miss;      /* no PDR matched: far holds the default */
	__u32 far_id;
	__u32 tunnel_id;    /* chosen overlay, for the encap stage */
	struct far far;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pkt_meta);
	__uint(max_entries, 1);
} scratch SEC(".maps");

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

struct gre_base {
	__be16 flags;
	__be16 proto;
};

static __always_inline struct pkt_meta *get_meta(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline int tail(struct xdp_md *ctx, __u32 stage)
{
	bpf_tail_call(ctx, &stages, stage);
	return drop(ctx, DROP_TAIL_CALL);
}

/* parse_ipv4 validates the IPv4 header at off and fills the classifier key. Returns
 * 0 or a drop reason. */
static __always_inline int parse_ipv4(struct xdp_md *ctx, __u32 off, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + off;

	if ((void *)(ip + 1) > data_end)
		return DROP_MALFORMED_IP;
	if (ip->version != 4)
		return DROP_MALFORMED_IP;
	if (ip->ihl < 5)
		return DROP_IP_IHL;
	__u32 hlen = ip->ihl * 4;
	__u32 tot = be16_len(ip->tot_len);
	if (tot < hlen || data + off + tot > data_end)
		return DROP_IP_LEN;

	m->l3_off = off;
	m->ip_len = tot;
	m->df = !!(ip->frag_off & bpf_htons(IP_DF));
	m->key.src = ip->saddr;
	m->key.dst = ip->daddr;
	m->key.proto = ip->protocol;
	m->key.sport = 0;
	m->key.dport = 0;
	m->key.dscp_dir = ip->tos & 0xfc; /* dscp << 2; direction ORed in later */
	m->l4_off = 0;
	m->tcp_flags = 0;

	/* Fragments: classified on L3 fields with ports 0, every fragment alike. */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return 0;

	__u32 l4 = off + hlen;
	void *l4p = data + l4;
	switch (ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4p;
		if ((void *)(th + 1) > data_end || th->doff < 5 || hlen + th->doff * 4 > tot)
			return DROP_MALFORMED_L4;
		m->key.sport = th->source;
		m->key.dport = th->dest;
		m->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4p;
		if ((void *)(uh + 1) > data_end)
			return DROP_MALFORMED_L4;
		__u32 ulen = be16_len(uh->len);
		if (ulen < sizeof(*uh) || hlen + ulen > tot)
			return DROP_MALFORMED_L4;
		m->key.sport = uh->source;
		m->key.dport = uh->dest;
		break;
	}
	case IPPROTO_ICMP:
		if (l4p + 4 > data_end || hlen + 4 > tot)
			return DROP_MALFORMED_L4;
		break;
	default:
		return 0;
	}
	m->l4_off = l4;
	return 0;
}

/* try_decap strips outer Ethernet/IPv4/GRE from a GRE packet that a known peer sent
 * to a local tunnel address. Returns 0 (decapsulated, inner IPv4 at offset 14),
 * -1 (not for us: treat as underlay traffic) or a drop reason. */
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
	__be32 local = ip->daddr;
	if (!bpf_map_lookup_elem(&tunnel_locals, &local))
		return -1;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return DROP_GRE_FRAGMENT;

	__u32 g = off + ip->ihl * 4;
	struct gre_base *gh = data + g;
	if ((void *)(gh + 1) > data_end)
		return DROP_MALFORMED_GRE;
	__u16 flags = bpf_ntohs(gh->flags);
	if (flags & (GRE_F_ROUTING | GRE_F_STRICT | GRE_F_RECUR | GRE_F_VERSION))
		return DROP_GRE_FLAGS;
	__u32 glen = 4;
	if (flags & GRE_F_CSUM)
		glen += 4;
	struct term_key tk = { .remote = ip->saddr, .local = local, .key = 0 };
	if (flags & GRE_F_KEY) {
		__be32 *kp = data + g + glen;
		if ((void *)(kp + 1) > data_end)
			return DROP_MALFORMED_GRE;
		tk.key = *kp;
		glen += 4;
	}
	if (flags & GRE_F_SEQ)
		glen += 4; /* RFC 2890 sequence number: accepted, not enforced */
	if (data + g + glen > data_end)
		return DROP_MALFORMED_GRE;
	if (gh->proto != bpf_htons(ETH_P_IP))
		return DROP_GRE_PROTO;

	__u32 *tid = bpf_map_lookup_elem(&tunnel_terms, &tk);
	if (!tid)
		return DROP_GRE_SPOOFED;
	__u32 tunnel = *tid;
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
	neth->h_proto = bpf_htons(ETH_P_IP);
	if (bpf_xdp_adjust_head(ctx, (int)(inner - ETH_HLEN)))
		return DROP_ADJUST;
	return 0;
}

/* send_punt hands the frame (up to MAX_PUNT_BYTES) and its ingress port to the
 * agent through the ring buffer, for a PacketIn. Returns 0 or a drop reason. */
static __always_inline int send_punt(struct xdp_md *ctx, __u16 port)
{
	__u64 len = frame_len(ctx);
	__u64 cap = len;

	if (cap > MAX_PUNT_BYTES)
		cap = MAX_PUNT_BYTES;
	struct punt_record *r = bpf_ringbuf_reserve(&punts, sizeof(*r), 0);
	if (!r)
		return DROP_PUNT_FULL;
	r->port = port;
	r->pad = 0;
	r->len = len;
	r->cap_len = cap;
	/* Both bounds are range checks, so every verifier learns them: 6.1's learns
	 * nothing from `cap == 0` and then rejects a helper size whose minimum may
	 * be 0. A punted frame always holds the Ethernet header its caller parsed,
	 * so `cap < ETH_HLEN` is the real minimum. The barrier keeps clang from
	 * merging the checks with the clamp above. */
	barrier_var(cap);
	if (cap < ETH_HLEN || cap > MAX_PUNT_BYTES || bpf_xdp_load_bytes(ctx, 0, r->data, cap)) {
		bpf_ringbuf_discard(r, 0);
		return DROP_MALFORMED_ETH;
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* punt sends the frame to the controller, then drops it. */
static __always_inline int punt(struct xdp_md *ctx, struct pkt_meta *m)
{
	int rc = send_punt(ctx, m->port);

	if (rc)
		return drop(ctx, rc);
	return XDP_DROP;
}

/* non_ip applies the non_ip rule of a frame that is not IPv4, by the EtherType
 * after at most one VLAN tag. Without a rule the kernel gets the frame. */
static __always_inline int non_ip(struct xdp_md *ctx, struct pkt_meta *m, __be16 proto)
{
	struct non_ip_rule *r = bpf_map_lookup_elem(&non_ip_rules, &proto);
	int rc;

	if (!r)
		return XDP_PASS; /* IPv6, ARP...: the kernel's business unless a controller says otherwise */
	__u8 action = r->action;
	struct counter *c = bpf_map_lookup_elem(&non_ip_counters, &proto);
	count(c, frame_len(ctx));
	switch (action) {
	case NON_IP_DROP:
		return drop(ctx, DROP_NON_IP_RULE);
	case NON_IP_PUNT:
		return punt(ctx, m);
	case NON_IP_COPY:
		/* The kernel must see the frame anyway (ARP is answered there): a copy
		 * the ring had no room for is counted, the frame still passes. */
		rc = send_punt(ctx, m->port);
		if (rc)
			count_drop(ctx, rc);
		return XDP_PASS;
	}
	return XDP_PASS;
}

/* linx_xdp is the entry point attached to every port: it parses, decapsulates GRE
 * on WAN ports, and hands over to the classifier. */
SEC("xdp")
int linx_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	struct port_info *pi = bpf_map_lookup_elem(&ports, &ifindex);
	struct pkt_meta *m = get_meta();
	int rc;

	if (!pi)
		return XDP_PASS; /* not a linx port (being attached or detached) */
	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 port = pi->port;
	struct port_stats *ps = bpf_map_lookup_elem(&port_counters, &port);
	if (ps)
		count(&ps->rx, frame_len(ctx));

	m->port = port;
	m->role = pi->role;
	m->use_miss = 0;
	m->key.tuple = 0;
	m->key.in_port = port;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return drop(ctx, DROP_MALFORMED_ETH);
	__be16 proto = eth->h_proto;
	__u32 off = ETH_HLEN;
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE) {
		__be16 *inner = data + off + 2;
		if ((void *)(inner + 1) > data_end)
			return drop(ctx, DROP_MALFORMED_VLAN);
		proto = *inner;
		off += 4;
		if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE)
			return drop(ctx, DROP_VLAN_DEPTH);
	}
	if (proto != bpf_htons(ETH_P_IP))
		return non_ip(ctx, m, proto);

	rc = parse_ipv4(ctx, off, m);
	if (rc)
		return drop(ctx, rc);

	__u8 dir = pi->role == ROLE_LAN ? DIR_UPLINK : DIR_UNDERLAY;
	if (pi->role == ROLE_WAN && m->key.proto == IPPROTO_GRE) {
		rc = try_decap(ctx, m);
		if (rc > 0)
			return drop(ctx, rc);
		if (rc == 0) {
			rc = parse_ipv4(ctx, ETH_HLEN, m);
			if (rc)
				return drop(ctx, rc);
			dir = DIR_DOWNLINK;
		}
	}
	m->key.dscp_dir |= dir;
	return tail(ctx, STAGE_CLASSIFY);
}

/* tss_lookup finds the highest-priority PDR by tuple-space search: one hash lookup
 * per distinct mask shape, shapes visited in decreasing best priority, so the cost
 * depends on the number of shapes (≤ MAX_TUPLES), never on the number of rules. */
static __always_inline void tss_lookup(struct pdr_key *pk, struct flow_result *res)
{
	res->rule = 0;
	res->far_id = 0;
	__u32 zero = 0;
	__u32 *slotp = bpf_map_lookup_elem(&pdr_tuple_slot, &zero);
	if (!slotp)
		return;
	__u32 slot = *slotp & (TUPLE_SLOTS - 1);
	struct pdr_tuples *tt = bpf_map_lookup_elem(&pdr_tuple_list, &slot);
	__u32 best_prio = 0;

	if (!tt)
		return;
	__u32 n = tt->n;
	for (__u32 i = 0; i < MAX_TUPLES; i++) {
		if (i >= n)
			break;
		struct pdr_tuple *t = &tt->t[i];
		if (t->max_prio <= best_prio)
			break;
		struct pdr_key k = {
			.tuple = t->mask.tuple,
			.src = pk->src & t->mask.src,
			.dst = pk->dst & t->mask.dst,
			.sport = pk->sport & t->mask.sport,
			.dport = pk->dport & t->mask.dport,
			.in_port = pk->in_port & t->mask.in_port,
			.proto = pk->proto & t->mask.proto,
			.dscp_dir = pk->dscp_dir & t->mask.dscp_dir,
		};
		struct pdr_entry *e = bpf_map_lookup_elem(&pdr_entries, &k);
		if (!e)
			continue;
#pragma unroll
		for (int j = 0; j < 2; j++) {
			__u32 id = e->rule[j];
			if (!id)
				break;
			struct pdr_rule *r = bpf_map_lookup_elem(&pdr_rules, &id);
			if (!r)
				continue; /* not committed yet, or being deleted */
			if (r->priority > best_prio) {
				best_prio = r->priority;
				res->rule = id;
				res->far_id = r->far_id;
			}
			break;
		}
	}
}

/* linx_classify selects the packet's PDR: from the per-CPU flow cache when the
 * classifier has not changed since the flow was last seen, else by tuple-space
 * search (whose answer is then cached). */
SEC("xdp")
int linx_classify(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();
	__u32 zero = 0;

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 *genp = bpf_map_lookup_elem(&pdr_gen, &zero);
	__u32 gen = genp ? *genp : 0;

	struct flow_result res;
	struct flow_result *cached = NULL;
	if (!flow_cache_off)
		cached = bpf_map_lookup_elem(&flow_cache, &m->key);
	if (cached && cached->gen == gen) {
		res = *cached;
	} else {
		tss_lookup(&m->key, &res);
		res.gen = gen;
		if (!flow_cache_off)
			bpf_map_update_elem(&flow_cache, &m->key, &res, BPF_ANY);
	}

	__u32 rule = res.rule;
	struct counter *c = bpf_map_lookup_elem(&pdr_counters, &rule);
	count(c, frame_len(ctx));
	if (rule) {
		m->far_id = res.far_id;
	} else {
		struct far *f = bpf_map_lookup_elem(&pdr_miss, &zero);
		m->use_miss = 1;
		if (f)
			m->far = *f;
		else
			m->far.action = FAR_PASS;
	}
	return tail(ctx, STAGE_FORWARD);
}

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

/* redirect sends the frame out of ifindex if linx runs there (the devmap holds only
 * linx ports, so the peer's XDP or GRO takes the frame). */
static __always_inline int redirect(struct xdp_md *ctx, __u32 ifindex)
{
	struct port_info *out = bpf_map_lookup_elem(&ports, &ifindex);

	if (!out)
		return drop(ctx, DROP_EGRESS_NOT_LINX);
	count_port_tx(out->port, frame_len(ctx));
	return bpf_redirect_map(&tx_ports, ifindex, XDP_DROP);
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

/* do_forward sends the packet unencapsulated out of port, with MACs from the
 * kernel's FIB and neighbour table. Unknown neighbours, MTU problems and expiring
 * TTLs go to the kernel, which resolves or reports them. */
static __always_inline int do_forward(struct xdp_md *ctx, struct pkt_meta *m, __u32 port)
{
	__u32 *ifx = bpf_map_lookup_elem(&port_ifindex, &port);
	if (!ifx || !*ifx)
		return drop(ctx, DROP_NO_PORT);
	__u32 ifindex = *ifx;

	struct bpf_fib_lookup p;
	int rc = fib_for(ctx, &p, m->key.src, m->key.dst, m->key.dscp_dir & 0xfc, m->ip_len, ifindex);
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
	__builtin_memcpy(eth->h_dest, p.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p.smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return redirect(ctx, p.ifindex);
}

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
	__u32 olen = th->doff * 4 - sizeof(*th);
	if (olen < 4 || olen > 40)
		return;
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
	return redirect(ctx, ctx->ingress_ifindex);
}

/* do_encap puts the packet into GRE overlay tunnel_id: outer Ethernet from the FIB,
 * outer IPv4 (DF, TTL 64, DSCP copied unless the tunnel sets one), GRE with an
 * optional key. */
static __always_inline int do_encap(struct xdp_md *ctx, struct pkt_meta *m, __u32 tunnel_id)
{
	struct tunnel *t = bpf_map_lookup_elem(&tunnels, &tunnel_id);
	if (!t)
		return drop(ctx, DROP_NO_TUNNEL);
	__u32 port = t->port;
	if ((t->flags & TUNNEL_F_DOWN) || port_is_down(port))
		return drop(ctx, DROP_TUNNEL_DOWN);
	__u32 *ifx = bpf_map_lookup_elem(&port_ifindex, &port);
	if (!ifx || !*ifx)
		return drop(ctx, DROP_NO_PORT);

	__u32 glen = (t->flags & TUNNEL_F_KEY) ? 8 : 4;
	__u32 overhead = sizeof(struct iphdr) + glen;
	__u32 outer_len = m->ip_len + overhead;
	__u8 inner_tos = m->key.dscp_dir & 0xfc;
	__u8 tos = (t->flags & TUNNEL_F_SET_DSCP) ? (t->dscp << 2) : inner_tos;
	__be32 saddr = t->src, daddr = t->dst, key = t->key;
	__u8 flags = t->flags;

	struct bpf_fib_lookup p;
	int rc = fib_for(ctx, &p, saddr, daddr, tos, outer_len, *ifx);
	int pass = 0;
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		pass = 1; /* encapsulate, then let the kernel resolve the neighbour */
		break;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		if (p.mtu_result <= overhead + 68)
			return drop(ctx, DROP_TOO_BIG);
		if (m->df)
			return icmp_too_big(ctx, m, saddr, p.mtu_result - overhead);
		return drop(ctx, DROP_TOO_BIG);
	default:
		return drop(ctx, DROP_NO_ROUTE);
	}

	/* The MSS limits what the far end sends back, over whichever overlay its
	 * gateway picks: clamp for the largest overhead (GRE with a key), not this
	 * tunnel's. */
	if (m->key.proto == IPPROTO_TCP && (m->tcp_flags & 0x02) && m->l4_off) {
		__u32 mtu = 0;
		if (bpf_check_mtu(ctx, pass ? *ifx : p.ifindex, &mtu, 0, 0) >= 0 && mtu > MAX_OVERHEAD + 40 + 536)
			clamp_mss(ctx, m, mtu - MAX_OVERHEAD - 40);
	}
	if (dec_ttl(ctx, m->l3_off))
		return XDP_PASS;

	/* Keep the original MACs for the kernel path (it must accept the frame). */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *oeth = data;
	if ((void *)(oeth + 1) > data_end)
		return drop(ctx, DROP_MALFORMED_ETH);
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	if (pass) {
		__builtin_memcpy(dmac, oeth->h_dest, ETH_ALEN);
		__builtin_memcpy(smac, oeth->h_source, ETH_ALEN);
	} else {
		__builtin_memcpy(dmac, p.dmac, ETH_ALEN);
		__builtin_memcpy(smac, p.smac, ETH_ALEN);
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

	gh->proto = bpf_htons(ETH_P_IP);
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
	return redirect(ctx, p.ifindex);
}

/* linx_forward applies the FAR the classifier selected. */
SEC("xdp")
int linx_forward(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	if (!m->use_miss) {
		__u32 id = m->far_id;
		struct far *f = bpf_map_lookup_elem(&fars, &id);
		if (!f)
			return drop(ctx, DROP_NO_FAR);
		m->far = *f;
	}
	switch (m->far.action) {
	case FAR_DROP:
		return drop(ctx, DROP_POLICY);
	case FAR_PASS:
		return XDP_PASS;
	case FAR_FORWARD:
		return do_forward(ctx, m, m->far.port);
	case FAR_ENCAP:
		m->tunnel_id = m->far.arg;
		return tail(ctx, STAGE_ENCAP);
	case FAR_BALANCE:
		return tail(ctx, STAGE_BALANCE);
	case FAR_PUNT:
		return punt(ctx, m);
	}
	return drop(ctx, DROP_NO_FAR);
}

/* flow_hash mixes the 5-tuple so one flow always lands on one overlay. Fragments
 * hash on addresses and protocol only (ports are 0 for all of them). */
static __always_inline __u32 flow_hash(struct pdr_key *k)
{
	__u64 h = ((__u64)k->src << 32 | k->dst) * 0x9E3779B97F4A7C15ULL;

	h ^= ((__u64)k->sport << 24 | (__u64)k->dport << 8 | k->proto) * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h;
}

static __always_inline int tunnel_up(__u32 id)
{
	struct tunnel *t = bpf_map_lookup_elem(&tunnels, &id);

	return t && !(t->flags & TUNNEL_F_DOWN) && !port_is_down(t->port);
}

/* linx_balance picks a tunnel from the FAR's LBR: the flow's Maglev slot, else the
 * next slots, else the first live member after a hash-chosen start. Members that
 * are down are skipped; flows on live members never move. */
SEC("xdp")
int linx_balance(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 id = m->far.arg;
	struct lbr *l = bpf_map_lookup_elem(&lbrs, &id);
	if (!l)
		return drop(ctx, DROP_NO_LBR);

	__u32 h = flow_hash(&m->key);
	__u32 slot = h % LBR_SLOTS;
#pragma unroll
	for (int i = 0; i < LBR_PROBES; i++) {
		__u32 s = (slot + i) % LBR_SLOTS;
		barrier_var(s);
		if (s >= LBR_SLOTS)
			break;
		__u32 tid = l->slots[s];
		if (tunnel_up(tid)) {
			m->tunnel_id = tid;
			return tail(ctx, STAGE_ENCAP);
		}
	}
	__u32 n = l->n_members;
	if (n == 0 || n > MAX_LBR_MEMBERS)
		return drop(ctx, DROP_LBR_DOWN);
	__u32 start = h % n;
	for (__u32 i = 0; i < MAX_LBR_MEMBERS; i++) {
		if (i >= n)
			break;
		__u32 idx = (start + i) % n;
		barrier_var(idx);
		if (idx >= MAX_LBR_MEMBERS)
			break;
		__u32 tid = l->members[idx];
		if (tunnel_up(tid)) {
			m->tunnel_id = tid;
			return tail(ctx, STAGE_ENCAP);
		}
	}
	return drop(ctx, DROP_LBR_DOWN);
}

/* linx_encap puts the packet into the overlay the forwarder or the load balancer
 * chose. */
SEC("xdp")
int linx_encap(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	return do_encap(ctx, m, m->tunnel_id);
}

/* linx_pass lets frames through untouched. Attach it to the peer of a veth that
 * linx redirects into when nothing else runs there: veth only delivers redirected
 * frames to a peer with XDP (or GRO) enabled. */
SEC("xdp")
int linx_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
