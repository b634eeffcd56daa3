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
#include "balance.h"
#include "forward.h"
#include "meter.h"

/* Set by the loader: classify every packet by tuple-space search, bypassing the
 * flow cache (for measurements and for workloads of one-packet flows). */
const volatile __u8 flow_cache_off = 0;

/* Set by the loader: flow_cache's number of sets minus one (a power of two minus
 * one). */
const volatile __u32 flow_cache_mask = 0;

/* flow_hash mixes the 5-tuple so one flow always lands on one overlay (Maglev) and
 * in one flow-cache set. Fragments hash on addresses and protocol only (ports are
 * 0 for all of them). Maglev's choice depends on it: changing it moves flows. */
static __always_inline __u32 flow_hash(struct pdr_key *k)
{
	__u64 h = ((__u64)k->src << 32 | k->dst) * 0x9E3779B97F4A7C15ULL;

	h ^= ((__u64)k->sport << 24 | (__u64)k->dport << 8 | k->proto) * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h;
}

/* Set by the loader: the number of bits of pdr_bloom minus one (a power of two
 * minus one); 0: no filter. */
const volatile __u32 pdr_bloom_mask = 0;

/* pdr_bloom_hash mixes a masked pdr_key (read as five 32-bit words) into the
 * Bloom filter's bit. dataplane/xdp/bloom.go computes the same. */
static __always_inline __u32 pdr_bloom_hash(const struct pdr_key *k)
{
	__u32 w[5];

	__builtin_memcpy(w, k, sizeof(w));
	__u64 h = ((__u64)w[1] << 32 | w[0]) * 0x9E3779B97F4A7C15ULL;
	h ^= ((__u64)w[3] << 32 | w[2]) * 0xC2B2AE3D27D4EB4FULL;
	h ^= (__u64)w[4] * 0x165667B19E3779F9ULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h;
}

/* pdr_bloom_may reports whether pdr_entries may hold k: false only when it
 * certainly does not. */
static __always_inline int pdr_bloom_may(const struct pdr_key *k)
{
	if (!pdr_bloom_mask)
		return 1;
	__u32 bit = pdr_bloom_hash(k) & pdr_bloom_mask;
	__u32 word = bit >> 6;
	__u64 *w = bpf_map_lookup_elem(&pdr_bloom, &word);

	return !w || (*w >> (bit & 63)) & 1;
}

/* pdr_key_eq compares two packet keys as five 32-bit words (the key has no
 * padding: 4 + 4 + 4 + 2 + 2 + 2 + 1 + 1 bytes). */
static __always_inline int pdr_key_eq(const struct pdr_key *a, const struct pdr_key *b)
{
	__u32 x[5], y[5];

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}
_Static_assert(sizeof(struct pdr_key) == 20, "pdr_key is compared as five words");

/* tss_lookup finds the highest-priority PDR by tuple-space search: one hash lookup
 * per distinct mask shape, shapes visited in decreasing best priority, so the cost
 * depends on the number of shapes (≤ MAX_TUPLES), never on the number of rules. */
static __always_inline void tss_lookup(struct pdr_key *pk, struct flow_result *res, __u32 *far_id)
{
	res->rule = 0;
	*far_id = 0;
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
		if (!pdr_bloom_may(&k))
			continue;
		struct pdr_entry *e = bpf_map_lookup_elem(&pdr_entries, &k);
		if (!e)
			continue;
#pragma unroll
		for (int j = 0; j < 2; j++) {
			__u32 id = e->rule[j];
			if (!id)
				break;
			struct pdr_rule *r = bpf_map_lookup_elem(&pdr_rules, &id);
			if (!r || !r->priority)
				continue; /* not committed yet, or being deleted */
			if (r->priority > best_prio) {
				best_prio = r->priority;
				res->rule = id;
				*far_id = r->far_id;
			}
			break;
		}
	}
}

/* resolve completes a tuple-search answer with what its FAR does: the action, the
 * egress port, the tunnel (an LBR's Maglev choice for this flow), or the reason to
 * drop. */
static __always_inline void resolve(struct flow_result *res, __u32 far_id, __u32 hash)
{
	__u32 zero = 0;
	struct far f = { .action = FAR_PASS };
	struct far *fp;

	if (res->rule) {
		fp = bpf_map_lookup_elem(&fars, &far_id);
		if (!fp) {
			res->action = FAR_DROP;
			res->reason = DROP_NO_FAR;
			return;
		}
		f = *fp;
	} else {
		fp = bpf_map_lookup_elem(&pdr_miss, &zero);
		if (fp)
			f = *fp;
	}
	res->action = f.action;
	res->reason = f.action == FAR_DROP ? DROP_POLICY : (res->rule ? qos_of(far_id, res->rule) : 0);
	res->port = f.port;
	res->tunnel = f.arg;
	if (f.action != FAR_BALANCE)
		return;
	__u32 lid = f.arg;
	struct lbr *l = bpf_map_lookup_elem(&lbrs, &lid);
	if (!l) {
		res->action = FAR_DROP;
		res->reason = DROP_NO_LBR;
		return;
	}
	__u32 tid = 0;
	int rc = pick_tunnel(hash, l, &tid);
	if (rc) {
		res->action = FAR_DROP;
		res->reason = rc;
		return;
	}
	res->action = FAR_ENCAP;
	res->tunnel = tid;
}

/* flow_cache_sampled counts a classified packet and reports whether it uses
 * the flow cache (of either family): not when the cache is off, or bypassed on
 * this CPU but for one packet in FLOW_CACHE_SAMPLE (see flow_cache_set). */
static __always_inline int flow_cache_sampled(struct flow_cache_use *u)
{
	if (flow_cache_off)
		return 0;
	if (u) {
		u->packets++;
		if (u->bypass && (u->packets & (FLOW_CACHE_SAMPLE - 1)))
			return 0;
	}
	return 1;
}

/* flow_cache_set returns the packet's flow-cache set, or NULL when the cache is
 * off, or bypassed on this CPU because a window of FLOW_CACHE_WINDOW lookups
 * found fewer than a quarter hits: with more flows than entries a lookup
 * misses into cold memory and its store evicts a flow that would not have come
 * back in time, ~100 ns for nothing. Bypassed, one packet in FLOW_CACHE_SAMPLE
 * still uses it, and a window of those with enough hits turns it back on. */
static __always_inline struct flow_set *flow_cache_set(struct flow_cache_use *u, __u32 h)
{
	if (!flow_cache_sampled(u))
		return NULL;
	__u32 idx = h & flow_cache_mask;
	return bpf_map_lookup_elem(&flow_cache, &idx);
}

/* flow_cache_count records one lookup's outcome and, at the end of a window,
 * decides whether this CPU bypasses the cache. */
static __always_inline void flow_cache_count(struct flow_cache_use *u, int hit)
{
	if (!u)
		return;
	u->hits += hit;
	if (++u->lookups < FLOW_CACHE_WINDOW)
		return;
	u->bypass = u->hits < FLOW_CACHE_WINDOW / 4;
	u->lookups = 0;
	u->hits = 0;
}

/* way_hit reports whether a flow-cache way answers for key: same key, same
 * classifier generation and, for a forward action (whose L2 rewrite came from the
 * FIB), same next-hop generation. */
static __always_inline int way_hit(const struct flow_entry *w, const struct pdr_key *key, __u32 gen,
				   __u32 nhgen)
{
	return w->res.gen == gen && (w->res.action != FAR_FORWARD || w->res.nh_gen == nhgen) &&
	       pdr_key_eq(&w->key, key);
}

/* apply_answer is what both families do with the classifier's answer: count
 * the rule, run its QoS work (meter.h), hand the action to later stages in the
 * scratch slot, and end drops and passes. Returns a verdict, NEXT_ENCAP, or
 * NEXT_STAGE for the actions each family applies itself (forward, punt). v6 (a
 * constant) says which header a remark rewrites. */
static __always_inline int apply_answer(struct xdp_md *ctx, struct pkt_meta *m, const struct flow_result *res,
					const int v6)
{
	__u32 rule = res->rule;
	struct counter *c = bpf_map_lookup_elem(&pdr_counters, &rule);

	count(c, frame_len(ctx));
	if (res->reason && res->action != FAR_DROP) {
		int v = apply_qos(ctx, m, res->rule, res->reason, v6);
		if (v >= 0)
			return v;
	}
	m->far.action = res->action;
	m->far.port = res->port;
	m->tunnel_id = res->tunnel;
	switch (res->action) {
	case FAR_DROP:
		return drop(ctx, res->reason);
	case FAR_PASS:
		return XDP_PASS;
	case FAR_ENCAP:
		return NEXT_ENCAP;
	}
	return NEXT_STAGE;
}

/* classify selects the packet's PDR: from the per-CPU flow cache when the
 * classifier has not changed since the flow was last seen, else by tuple-space
 * search (whose answer is then cached). A forward action with a cached L2
 * rewrite is applied here; other forwards and punts go to linx_forward. */
static __always_inline int classify(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();
	__u32 zero = 0;

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	/* Both generations are read before anything they guard is: an answer
	 * resolved from a FIB the agent then reports changed is stored stale. */
	__u32 *genp = bpf_map_lookup_elem(&pdr_gen, &zero);
	__u32 gen = genp ? *genp : 0;
	__u32 *nhgenp = bpf_map_lookup_elem(&nh_gen, &zero);
	__u32 nhgen = nhgenp ? *nhgenp : 0;

	__u32 h = flow_hash(&m->key);
	m->hash = h;

	struct flow_result res;
	int verdict = -1; /* the miss path's verdict for the packet, if it has one */
	struct flow_cache_use *use = bpf_map_lookup_elem(&flow_cache_uses, &zero);
	struct flow_set *set = flow_cache_set(use, h);
	if (set && way_hit(&set->way[0], &m->key, gen, nhgen)) {
		res = set->way[0].res;
		flow_cache_count(use, 1);
	} else if (set && way_hit(&set->way[1], &m->key, gen, nhgen)) {
		res = set->way[1].res;
		flow_cache_count(use, 1);
	} else {
		__u32 far_id;
		__builtin_memset(&res, 0, sizeof(res)); /* every field defined, whatever the answer */
		tss_lookup(&m->key, &res, &far_id);
		resolve(&res, far_id, h);
		res.gen = gen;
		res.nh_gen = nhgen;
		res.l2.port = 0;
		/* A forward's L2 rewrite is cached only from a FIB answer that
		 * forwards: no neighbour, too big, local or no route are asked again
		 * per packet (linx_forward) until the next hops change. */
		if (res.action == FAR_FORWARD)
			verdict = fib_resolve(ctx, m, res.port, &res.l2);
		if (set) {
			flow_cache_count(use, 0);
			/* The new entry takes way 0; way 0's moves to way 1 unless it is this
			 * flow's stale answer. */
			if (!pdr_key_eq(&set->way[0].key, &m->key))
				set->way[1] = set->way[0];
			set->way[0].key = m->key;
			set->way[0].res = res;
		}
	}

	int rc = apply_answer(ctx, m, &res, 0);
	if (rc != NEXT_STAGE || res.action != FAR_FORWARD)
		return rc;
	if (verdict >= 0)
		return verdict;
	if (res.l2.port)
		return forward_l2(ctx, m, &res.l2);
	return NEXT_STAGE;
}

#endif /* LINX_CLASSIFY_H */
