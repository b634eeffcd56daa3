/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* balance.h — overlay choice for the FAR "balance" action (LBRs: Maglev slots,
 * then members, skipping tunnels that are down). */
#ifndef LINX_BALANCE_H
#define LINX_BALANCE_H

#include "forward.h"

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

/* pick_tunnel picks a tunnel from LBR l: the flow's Maglev slot, else the next
 * slots, else the first live member after a hash-chosen start. Members that are
 * down are skipped; flows on live members never move. Sets m->tunnel_id and
 * returns 0, or returns a drop reason. */
static __always_inline int pick_tunnel(struct pkt_meta *m, struct lbr *l)
{
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
			return 0;
		}
	}
	__u32 n = l->n_members;
	if (n == 0 || n > MAX_LBR_MEMBERS)
		return DROP_LBR_DOWN;
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
			return 0;
		}
	}
	return DROP_LBR_DOWN;
}

#endif /* LINX_BALANCE_H */
