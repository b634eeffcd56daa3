// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fwd.c — the forwarding benchmark's own XDP programs (not part of linx):
 *
 *   fwd_gen   traffic generator, run through BPF_PROG_TEST_RUN with live frames:
 *             stamps the header template into every frame, varies the flow, and
 *             redirects into the generator's veth.
 *   fwd_sink  counts and drops at the far end.
 *   fwd_bare  the ceiling: a plain devmap redirect in the gateway.
 *   fwd_stub  drops; put into linx's stage array to time the pipeline up to a stage.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_FRAME 128 /* template bytes; frames are at most this long */

/* What the generator sends. Flow i of flows gets source address
 * base + (i >> 8) (the low 16 bits of the template's source) and source port
 * 1024 + (i & 0xff), so i → 5-tuple is one to one for flows ≤ 2^24. */
struct gen_config {
	__u32 len;    /* frame length = template length, a multiple of 4 */
	__u32 flows;  /* distinct 5-tuples, ≥ 1 */
	__u16 ip_off; /* offset of the IPv4 header whose flow varies (inner for GRE) */
	__u16 l4_off; /* offset of its UDP header */
	__u8 tmpl[MAX_FRAME];
};

/* 0 → generator configuration. Written by Go before a run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct gen_config);
	__uint(max_entries, 1);
} gen_cfg SEC(".maps");

/* 0 → frames generated on this CPU (also the flow sequence). Read by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} gen_sent SEC(".maps");

/* 0 → the generator's veth. Written by Go in the generator's namespace. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} gen_tx SEC(".maps");

/* 0 → the bare gateway's egress veth. Written by Go in the gateway's namespace. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} bare_tx SEC(".maps");

/* Frames seen by the sink per CPU: enum sink_kind → count. Read by Go. */
enum sink_kind {
	SINK_ALL = 0,
	SINK_GRE,   /* IPv4/GRE: what the uplink emits */
	SINK_UDP,   /* IPv4/UDP: what bare, kernel and the downlink emit */
	SINK_OTHER,
	SINK_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, enum sink_kind);
	__type(value, __u64);
	__uint(max_entries, SINK_MAX);
} sink_count SEC(".maps");

static __always_inline void csum_replace2(__u16 *sum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~old;
	s += new;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = (__u16)~s;
}

SEC("xdp")
int fwd_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct gen_config *c = bpf_map_lookup_elem(&gen_cfg, &zero);
	__u64 *sent = bpf_map_lookup_elem(&gen_sent, &zero);

	if (!c || !sent || c->flows == 0)
		return XDP_ABORTED;

	/* Pages are recycled: whatever handled this frame last may have rewritten it
	 * (encap, MACs, TTL), so the whole template goes in every time. */
	__u32 len = c->len;
#pragma unroll
	for (int i = 0; i < MAX_FRAME / 4; i++) {
		if (i * 4 < len && data + (i + 1) * 4 <= data_end)
			((__u32 *)data)[i] = ((__u32 *)c->tmpl)[i];
	}

	__u32 flow = (__u32)(*sent % c->flows);
	*sent += 1;

	__u32 ip_off = c->ip_off, l4_off = c->l4_off;
	if (ip_off > MAX_FRAME - sizeof(struct iphdr) || l4_off > MAX_FRAME - 8)
		return XDP_ABORTED;
	struct iphdr *ip = data + ip_off;
	__be16 *sport = data + l4_off;
	if ((void *)(ip + 1) > data_end || (void *)(sport + 1) > data_end)
		return XDP_ABORTED;
	__u16 *lo = (__u16 *)&ip->saddr + 1; /* low half of the source address */
	__u16 old = *lo;
	__u16 new = bpf_htons(bpf_ntohs(old) + (flow >> 8));
	*lo = new;
	csum_replace2(&ip->check, old, new);
	*sport = bpf_htons(1024 + (flow & 0xff)); /* UDP checksum is 0: none */

	return bpf_redirect_map(&gen_tx, 0, 0);
}

SEC("xdp")
int fwd_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 kind = SINK_OTHER;
	__u32 all = SINK_ALL;
	__u64 *n;

	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP)) {
		if (ip->protocol == IPPROTO_GRE)
			kind = SINK_GRE;
		else if (ip->protocol == IPPROTO_UDP)
			kind = SINK_UDP;
	}
	n = bpf_map_lookup_elem(&sink_count, &all);
	if (n)
		*n += 1;
	n = bpf_map_lookup_elem(&sink_count, &kind);
	if (n)
		*n += 1;
	return XDP_DROP;
}

SEC("xdp")
int fwd_bare(struct xdp_md *ctx)
{
	return bpf_redirect_map(&bare_tx, 0, 0);
}

SEC("xdp")
int fwd_stub(struct xdp_md *ctx)
{
	return XDP_DROP;
}
