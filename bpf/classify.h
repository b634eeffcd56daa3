/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* classify.h — PDR selection: the per-CPU flow cache, else tuple-space search. */
#ifndef LINX_CLASSIFY_H
#define LINX_CLASSIFY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "linx.h"
#include "maps.h"
#include "meta.h"
#include "counters.h"
#include "stage.h"

/* Set by the loader: classify every packet by tuple-space search, bypassing the
 * flow cache (for measurements and for workloads of one-packet flows). */
const volatile __u8 flow_cache_off = 0;

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

/* classify selects the packet's PDR: from the per-CPU flow cache when the
 * classifier has not changed since the flow was last seen, else by tuple-space
 * search (whose answer is then cached). */
static __always_inline int classify(struct xdp_md *ctx)
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
	return NEXT_STAGE;
}

#endif /* LINX_CLASSIFY_H */
