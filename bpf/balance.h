/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* balance.h — overlay choice for the FAR "balance" action (LBRs: Maglev slots,
 * then members, skipping tunnels that are down). */
#ifndef LINX_BALANCE_H
#define LINX_BALANCE_H

#include "forward.h"

static __always_inline int tunnel_up(__u32 id)
{
	struct tunnel *t = bpf_map_lookup_elem(&tunnels, &id);

	return t && (t->flags & (TUNNEL_F_PRESENT | TUNNEL_F_DOWN)) == TUNNEL_F_PRESENT && !port_is_down(t->port);
}

/* pick_tunnel picks a tunnel from LBR l for the flow of hash h: its Maglev slot,
 * else the next slots, else the first live member after a hash-chosen start.
 * Members that are down are skipped; flows on live members never move. Sets *tid
 * and returns 0, or returns a drop reason. */
static __always_inline int pick_tunnel(__u32 h, struct lbr *l, __u32 *tid_out)
{
	__u32 slot = h % LBR_SLOTS;
#pragma unroll
	for (int i = 0; i < LBR_PROBES; i++) {
		__u32 s = (slot + i) % LBR_SLOTS;
		barrier_var(s);
		if (s >= LBR_SLOTS)
			break;
		__u32 tid = l->slots[s];
		if (tunnel_up(tid)) {
			*tid_out = tid;
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
			*tid_out = tid;
			return 0;
		}
	}
	return DROP_LBR_DOWN;
}

#endif /* LINX_BALANCE_H */
