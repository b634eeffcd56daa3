/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fastpath.h — a flow-cache hit of an encap action (IPv4 or IPv6), classified
 * in the entry program: parse → flow cache → linx_encap, one tail call instead of
 * two, the classifier stage skipped, the answer read in place (no copy of it).
 * Everything else — a miss, a bypassed or disabled cache, a drop, pass,
 * forward or punt answer, a FAR with QoS work (meters, a color policy) —
 * takes linx_classify unchanged, which finds the packet's state exactly as the
 * parser left it: the fast path writes nothing before it commits. Once it
 * commits it does what classify's hit does (cache use counters, the PDR
 * counter, the tunnel in the scratch slot), so counters and drop reasons are
 * the staged path's; the encapsulation itself (next hop, MTU, MSS, TTL, DSCP)
 * is linx_encap's, unchanged.
 *
 * Encapsulation stays in its own program: inlined into linx_xdp, whose
 * register pressure makes clang spill offsets between their range check and
 * their use, its MTU and MSS paths fail 6.1's verifier. */
#ifndef LINX_FASTPATH_H
#define LINX_FASTPATH_H

#include "classify.h"
#include "classify6.h"

/* fast_hit returns the way of the packet's flow-cache set that answers for it
 * with an encap action and no QoS work, or NULL. It has no side effect. */
static __always_inline struct flow_entry *fast_hit(struct pkt_meta *m, struct flow_cache_use *use, __u32 h)
{
	__u32 zero = 0;

	if (flow_cache_off || use->bypass)
		return NULL;
	__u32 *genp = bpf_map_lookup_elem(&pdr_gen, &zero);
	__u32 *nhgenp = bpf_map_lookup_elem(&nh_gen, &zero);
	if (!genp || !nhgenp)
		return NULL;
	__u32 idx = h & flow_cache_mask;
	struct flow_set *set = bpf_map_lookup_elem(&flow_cache, &idx);
	if (!set)
		return NULL;
	struct flow_entry *w = &set->way[0];
	if (!way_hit(w, &m->key, *genp, *nhgenp)) {
		w = &set->way[1];
		if (!way_hit(w, &m->key, *genp, *nhgenp))
			return NULL;
	}
	if (w->res.action != FAR_ENCAP || w->res.reason) /* reason: QoS flags, linx_classify's */
		return NULL;
	return w;
}

/* fast_path returns NEXT_ENCAP for an IPv4 packet it classified (its tunnel in
 * the scratch slot), else NEXT_STAGE for linx_classify. */
static __always_inline int fast_path(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct pkt_meta *m = get_meta();
	struct flow_cache_use *use = bpf_map_lookup_elem(&flow_cache_uses, &zero);

	if (!m || !use)
		return NEXT_STAGE;
	__u32 h = flow_hash(&m->key);
	struct flow_entry *w = fast_hit(m, use, h);
	if (!w)
		return NEXT_STAGE;

	/* Committed: classify's accounting of a hit (flow_cache_sampled counts
	 * the packet; it is never bypassed here). */
	flow_cache_sampled(use);
	flow_cache_count(use, 1);
	__u32 rule = w->res.rule;
	count(bpf_map_lookup_elem(&pdr_counters, &rule), frame_len(ctx));
	m->hash = h; /* an IPv6 underlay's flow label (RFC 6438) */
	m->tunnel_id = w->res.tunnel;
	return NEXT_ENCAP;
}

/* fast_path6 is fast_path for an IPv6 packet: NEXT_ENCAP for a flow-cache hit
 * of an encap action with no QoS work (its tunnel and hash in the scratch
 * slot, for linx_encap6), else NEXT_STAGE for linx_classify6, which finds the
 * packet's state as the parser left it. */
static __always_inline int fast_path6(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct pkt_meta *m = get_meta();
	struct flow_cache_use *use = bpf_map_lookup_elem(&flow_cache_uses, &zero);

	if (!m || !use || flow_cache_off || use->bypass)
		return NEXT_STAGE;
	__u32 *genp = bpf_map_lookup_elem(&pdr_gen, &zero);
	if (!genp)
		return NEXT_STAGE;
	__u32 h = flow6_hash(&m->key6);
	__u32 idx = h & flow_cache_mask;
	struct flow6_set *set = bpf_map_lookup_elem(&flow6_cache, &idx);
	if (!set)
		return NEXT_STAGE;
	struct flow6_entry *w = &set->way[0];
	if (!way6_hit(w, &m->key6, *genp)) {
		w = &set->way[1];
		if (!way6_hit(w, &m->key6, *genp))
			return NEXT_STAGE;
	}
	if (w->res.action != FAR_ENCAP || w->res.reason)
		return NEXT_STAGE;

	/* Committed: classify6's accounting of a hit. */
	flow_cache_sampled(use);
	flow_cache_count(use, 1);
	__u32 rule = w->res.rule;
	count(bpf_map_lookup_elem(&pdr_counters, &rule), frame_len(ctx));
	m->hash = h;
	m->tunnel_id = w->res.tunnel;
	return NEXT_ENCAP;
}

#endif /* LINX_FASTPATH_H */
