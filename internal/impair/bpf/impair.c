// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* impair.c — the lab's WAN impairment element (not part of linx): an XDP
 * program on an underlay router's interface that drops, thins or diverts the
 * IPv4 frames arriving on it, as a broken ISP path would, with the carrier up.
 *
 * One config slot (written from Go, read per frame):
 *   blackout      drop every IPv4 frame;
 *   loss_thresh   drop when bpf_get_prandom_u32() < loss_thresh (probability
 *                 loss_thresh / 2^32);
 *   every_nth     drop every n-th IPv4 frame (deterministic loss);
 *   delay_ifindex redirect the surviving frames to this interface (the delay
 *                 line's tap, read by Go, which re-injects them later).
 * Frames that are not IPv4 (ARP above all) always pass, so the link stays
 * resolvable: only the IP path breaks. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct impair_config {
	__u32 blackout;
	__u32 loss_thresh;
	__u32 every_nth;
	__u32 delay_ifindex;
};

struct impair_stats {
	__u64 seen;    /* IPv4 frames */
	__u64 dropped; /* of which dropped */
	__u64 delayed; /* of which sent to the delay line */
	__u64 nth;     /* the every-nth counter */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct impair_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct impair_stats);
} stats SEC(".maps");

SEC("xdp")
int impair(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct impair_config *c = bpf_map_lookup_elem(&config, &zero);
	struct impair_stats *s = bpf_map_lookup_elem(&stats, &zero);
	if (!c || !s)
		return XDP_PASS;
	__sync_fetch_and_add(&s->seen, 1);
	int drop = c->blackout;
	if (!drop && c->loss_thresh && bpf_get_prandom_u32() < c->loss_thresh)
		drop = 1;
	if (!drop && c->every_nth && (__sync_fetch_and_add(&s->nth, 1) + 1) % c->every_nth == 0)
		drop = 1;
	if (drop) {
		__sync_fetch_and_add(&s->dropped, 1);
		return XDP_DROP;
	}
	if (c->delay_ifindex) {
		__sync_fetch_and_add(&s->delayed, 1);
		return bpf_redirect(c->delay_ifindex, 0);
	}
	return XDP_PASS;
}
