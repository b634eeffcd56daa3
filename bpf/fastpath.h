/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fastpath.h — an IPv4 flow-cache hit of an encap or forward action, finished
 * in the entry program: parse → flow cache → header write → redirect, with no
 * tail call and the answer read in place (no copy of it, no stage-to-stage
 * fields in the scratch slot). Everything else — a miss, a bypassed or
 * disabled cache, a drop, pass or punt, a FAR with QoS work (meters, a color
 * policy) — takes the staged slow path unchanged, which finds the packet's
 * state exactly as the parser left it: the fast path writes nothing before it
 * commits. Once it commits it does what classify's hit does (cache use
 * counters, the PDR counter) and then what linx_encap or forward_l2 does, the
 * same functions, so counters, MTU, DSCP, TTL and drop reasons are the slow
 * path's. */
#ifndef LINX_FASTPATH_H
#define LINX_FASTPATH_H

#include "classify.h"
#include "encap.h"

/* fast_hit returns the way of the packet's flow-cache set that answers for it
 * with an action the fast path finishes, or NULL (the slow path's business).
 * It has no side effect. */
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
	if (w->res.reason) /* QoS flags: meters and policies run in linx_classify */
		return NULL;
	if (w->res.action == FAR_ENCAP || (w->res.action == FAR_FORWARD && w->res.l2.port))
		return w;
	return NULL;
}

/* fast_path finishes an IPv4 packet the parser handed to the classifier, or
 * returns NEXT_STAGE for the slow path. */
static __always_inline int fast_path(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct pkt_meta *m = get_meta();
	struct flow_cache_use *use = bpf_map_lookup_elem(&flow_cache_uses, &zero);

	if (!m || !use)
		return NEXT_STAGE;
	struct flow_entry *w = fast_hit(m, use, flow_hash(&m->key));
	if (!w)
		return NEXT_STAGE;

	/* Committed: classify's accounting of a hit. */
	use->packets++;
	flow_cache_count(use, 1);
	__u32 rule = w->res.rule;
	count(bpf_map_lookup_elem(&pdr_counters, &rule), frame_len(ctx));
	if (w->res.action == FAR_ENCAP)
		return do_encap(ctx, m, w->res.tunnel, 0);
	return forward_l2(ctx, m, &w->res.l2);
}

#endif /* LINX_FASTPATH_H */
