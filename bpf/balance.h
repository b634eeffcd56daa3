/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* balance.h — overlay choice for the FAR "balance" action (LBRs: Maglev slots,
 * then members, skipping members whose tunnel or watched port is down, or
 * that an SLA class excludes). */
#ifndef LINX_BALANCE_H
#define LINX_BALANCE_H

#include "forward.h"

static __always_inline int tunnel_up(__u32 id)
{
	struct tunnel *t = bpf_map_lookup_elem(&tunnels, &id);

	return t && (t->flags & (TUNNEL_F_PRESENT | TUNNEL_F_DOWN)) == TUNNEL_F_PRESENT && !port_is_down(t->port);
}

/* member_up reports whether member idx of l may carry flows: no SLA class
 * excludes it (one bit test of l->skip, no map call), its tunnel is up and the
 * port it watches (if any) is up; sets *tid to its tunnel. Without a watch port
 * this costs what tunnel_up does; a watched overlay adds one inlined array
 * lookup, a watched port another. */
static __always_inline int member_up(struct lbr *l, __u32 idx, __u32 *tid)
{
	if (idx >= MAX_LBR_MEMBERS)
		return 0;
	/* The member is read before the mask is tested: its index is then still
	 * in the register the verifier saw bounded. */
	__u32 t = l->members[idx];
	if ((l->skip >> idx) & 1 || !tunnel_up(t))
		return 0;
	__u32 w = l->watch[idx];
	if (w & LBR_WATCH_TUNNEL) {
		if (!tunnel_up(w & ~LBR_WATCH_TUNNEL))
			return 0;
	} else if (w && port_is_down(w)) {
		return 0;
	}
	*tid = t;
	return 1;
}

/* pick_tunnel picks a tunnel from LBR l for the flow of hash h: its Maglev slot,
 * else the next slots, else the first live member after a hash-chosen start.
 * Members that are down (their tunnel, or the port they watch) or excluded by
 * an SLA class (l->skip) are skipped; flows on the other members never move.
 * Sets *tid and returns 0, or returns a drop reason. */
static __always_inline int pick_tunnel(__u32 h, struct lbr *l, __u32 *tid_out)
{
	__u32 slot = h % LBR_SLOTS;
#pragma unroll
	for (int i = 0; i < LBR_PROBES; i++) {
		__u32 s = (slot + i) % LBR_SLOTS;
		barrier_var(s);
		if (s >= LBR_SLOTS)
			break;
		if (member_up(l, l->slots[s], tid_out))
			return 0;
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
		if (member_up(l, idx, tid_out))
			return 0;
	}
	return DROP_LBR_DOWN;
}

#endif /* LINX_BALANCE_H */
