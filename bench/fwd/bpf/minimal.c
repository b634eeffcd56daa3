// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* minimal.c — the floor of the uplink's job on this harness (not part of linx):
 * the smallest program that does what linx's uplink does to a packet, with
 * nothing linx has for correctness or policy. Per packet: parse Ethernet, IPv4
 * (ihl 5, no fragment) and UDP; one per-CPU ARRAY lookup keyed by a hash of
 * the 5-tuple (its value: a precomputed outer Ethernet + IPv4 + GRE-with-key
 * header and a devmap slot); bpf_xdp_adjust_head; copy the header in; outer
 * total length and IPv4 header checksum; bpf_redirect_map. Anything else
 * passes to the kernel. Go fills every slot (minimal.go), alternating between
 * the two overlays as Maglev over two equal members would. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MIN_SLOTS 65536 /* a power of two */
#define MIN_HDR 44      /* Ethernet 14 + IPv4 20 + GRE with key 8, + 2 so that it is whole words */

/* One slot: the outer headers to write in front of the IPv4 packet. hdr[0..1]
 * is padding so that the IPv4 header is 4-byte aligned in the value; the
 * outer total length and checksum are 0 in it (set per packet). */
struct min_slot {
	__u8 hdr[MIN_HDR];
	__u32 tx; /* tx_min key */
};

/* hash of the 5-tuple & (MIN_SLOTS - 1) → slot, per CPU. Written by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct min_slot);
	__uint(max_entries, MIN_SLOTS);
} min_slots SEC(".maps");

/* slot tx → egress interface. Written by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 2);
} tx_min SEC(".maps");

static __always_inline __u32 tuple_hash(__be32 src, __be32 dst, __be32 ports, __u8 proto)
{
	__u64 h = ((__u64)src << 32 | dst) * 0x9E3779B97F4A7C15ULL;

	h ^= ((__u64)ports << 8 | proto) * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h;
}

SEC("xdp")
int minimal_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh = (void *)(ip + 1);

	if ((void *)(uh + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->version != 4 || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS;
	__u32 tot = bpf_ntohs(ip->tot_len) & 0xffff;
	if (tot < sizeof(*ip) + sizeof(*uh) || data + sizeof(*eth) + tot > data_end)
		return XDP_PASS;

	__u32 idx = tuple_hash(ip->saddr, ip->daddr, *(__be32 *)uh, ip->protocol) & (MIN_SLOTS - 1);
	struct min_slot *s = bpf_map_lookup_elem(&min_slots, &idx);
	if (!s)
		return XDP_PASS;

	if (bpf_xdp_adjust_head(ctx, -(int)(MIN_HDR - 2 - sizeof(*eth))))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + MIN_HDR - 2 > data_end)
		return XDP_DROP;
	/* Ethernet (14 bytes) then the 28 bytes of IPv4 + GRE, from the slot's
	 * aligned copy (it starts 2 bytes in). */
	__builtin_memcpy(data, s->hdr + 2, MIN_HDR - 2);
	struct iphdr *oip = data + sizeof(*eth);
	oip->tot_len = bpf_htons(tot + 28);
	__u16 *w = (__u16 *)oip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	oip->check = (__u16)~sum;
	return bpf_redirect_map(&tx_min, s->tx, 0);
}
