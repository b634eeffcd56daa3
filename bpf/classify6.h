/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* classify6.h — PDR selection for IPv6 packets: the IPv6 flow cache, else the
 * IPv6 tuple space. The same algorithm as classify.h over pdr6_key, kept apart
 * so that IPv4 packets pay nothing for IPv6 (their key, hash and compare stay
 * 20 bytes). Rules of both families share pdr_rules, so one priority order and
 * one commit cover both. */
#ifndef LINX_CLASSIFY6_H
#define LINX_CLASSIFY6_H

#include "classify.h"
#include "forward6.h"
#include "punt.h"

/* flow6_hash mixes the 5-tuple like flow_hash (Maglev, flow-cache set), every
 * address word through its own multiply: XOR-folding the words first collapsed
 * structured addresses (words that change together) into a few sets, so the
 * flow cache thrashed and the bypass switched it off. */
static __always_inline __u32 flow6_hash(struct pdr6_key *k)
{
	__u64 h = 0x6A09E667F3BCC909ULL;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		h = (h ^ k->src[i]) * 0x9E3779B97F4A7C15ULL;
		h = (h ^ k->dst[i]) * 0x9E3779B97F4A7C15ULL;
	}
	h ^= ((__u64)k->sport << 24 | (__u64)k->dport << 8 | k->proto) * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h;
}

#define PDR6_KEY_WORDS 11
_Static_assert(sizeof(struct pdr6_key) == PDR6_KEY_WORDS * 4, "pdr6_key is hashed and compared as 11 words");

/* pdr6_bloom_hash is the pdr_bloom bit of a masked pdr6_key (read as eleven
 * 32-bit words). dataplane/xdp/bloom.go computes the same. */
static __always_inline __u32 pdr6_bloom_hash(const struct pdr6_key *k)
{
	__u32 w[PDR6_KEY_WORDS];
	__u64 h = 0x6A09E667F3BCC909ULL;

	__builtin_memcpy(w, k, sizeof(w));
#pragma unroll
	for (int i = 0; i < PDR6_KEY_WORDS; i++)
		h = (h ^ w[i]) * 0x9E3779B97F4A7C15ULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h;
}

static __always_inline int pdr6_bloom_may(const struct pdr6_key *k)
{
	if (!pdr_bloom_mask)
		return 1;
	__u32 bit = pdr6_bloom_hash(k) & pdr_bloom_mask;
	__u32 word = bit >> 6;
	__u64 *w = bpf_map_lookup_elem(&pdr_bloom, &word);

	return !w || (*w >> (bit & 63)) & 1;
}

static __always_inline int pdr6_key_eq(const struct pdr6_key *a, const struct pdr6_key *b)
{
	__u32 x[PDR6_KEY_WORDS], y[PDR6_KEY_WORDS], d = 0;

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
#pragma unroll
	for (int i = 0; i < PDR6_KEY_WORDS; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* tss6_lookup is tss_lookup over the IPv6 tuple space. */
static __always_inline void tss6_lookup(struct pdr6_key *pk, struct flow_result *res, __u32 *far_id)
{
	res->rule = 0;
	*far_id = 0;
	__u32 zero = 0;
	__u32 *slotp = bpf_map_lookup_elem(&pdr6_tuple_slot, &zero);
	if (!slotp)
		return;
	__u32 slot = *slotp & (TUPLE_SLOTS - 1);
	struct pdr6_tuples *tt = bpf_map_lookup_elem(&pdr6_tuple_list, &slot);
	__u32 best_prio = 0;

	if (!tt)
		return;
	__u32 n = tt->n;
	for (__u32 i = 0; i < MAX_TUPLES; i++) {
		if (i >= n)
			break;
		struct pdr6_tuple *t = &tt->t[i];
		if (t->max_prio <= best_prio)
			break;
		struct pdr6_key k;
		k.tuple = t->mask.tuple;
#pragma unroll
		for (int j = 0; j < 4; j++) {
			k.src[j] = pk->src[j] & t->mask.src[j];
			k.dst[j] = pk->dst[j] & t->mask.dst[j];
		}
		k.sport = pk->sport & t->mask.sport;
		k.dport = pk->dport & t->mask.dport;
		k.in_port = pk->in_port & t->mask.in_port;
		k.proto = pk->proto & t->mask.proto;
		k.dscp_dir = pk->dscp_dir & t->mask.dscp_dir;
		if (!pdr6_bloom_may(&k))
			continue;
		struct pdr_entry *e = bpf_map_lookup_elem(&pdr6_entries, &k);
		if (!e)
			continue;
#pragma unroll
		for (int j = 0; j < 2; j++) {
			__u32 id = e->rule[j];
			if (!id)
				break;
			struct pdr_rule *r = bpf_map_lookup_elem(&pdr_rules, &id);
			if (!r || !r->priority)
				continue;
			if (r->priority > best_prio) {
				best_prio = r->priority;
				res->rule = id;
				*far_id = r->far_id;
			}
			break;
		}
	}
}

static __always_inline int way6_hit(const struct flow6_entry *w, const struct pdr6_key *key, __u32 gen)
{
	return w->res.gen == gen && pdr6_key_eq(&w->key, key);
}

/* classify6 is classify for IPv6 packets. Forward asks the FIB per packet (no
 * cached rewrite) and punt is sent from here: linx_forward handles IPv4 only. */
static __always_inline int classify6(struct xdp_md *ctx)
{
	struct pkt_meta *m = get_meta();
	__u32 zero = 0;

	if (!m)
		return drop(ctx, DROP_INTERNAL);
	__u32 *genp = bpf_map_lookup_elem(&pdr_gen, &zero);
	__u32 gen = genp ? *genp : 0;

	__u32 h = flow6_hash(&m->key6);
	m->hash = h;

	struct flow_result res;
	struct flow_cache_use *use = bpf_map_lookup_elem(&flow_cache_uses, &zero);
	struct flow6_set *set = NULL;
	if (flow_cache_sampled(use)) {
		__u32 idx = h & flow_cache_mask;
		set = bpf_map_lookup_elem(&flow6_cache, &idx);
	}
	if (set && way6_hit(&set->way[0], &m->key6, gen)) {
		res = set->way[0].res;
		flow_cache_count(use, 1);
	} else if (set && way6_hit(&set->way[1], &m->key6, gen)) {
		res = set->way[1].res;
		flow_cache_count(use, 1);
	} else {
		__u32 far_id;
		__builtin_memset(&res, 0, sizeof(res));
		tss6_lookup(&m->key6, &res, &far_id);
		resolve(&res, far_id, h);
		res.gen = gen;
		if (set) {
			flow_cache_count(use, 0);
			if (!pdr6_key_eq(&set->way[0].key, &m->key6))
				set->way[1] = set->way[0];
			set->way[0].key = m->key6;
			set->way[0].res = res;
		}
	}

	int rc = apply_answer(ctx, m, &res, 1);
	if (rc != NEXT_STAGE)
		return rc;
	switch (res.action) {
	case FAR_FORWARD:
		return do_forward6(ctx, m, res.port);
	case FAR_PUNT:
		return punt(ctx, m);
	}
	return drop(ctx, DROP_NO_FAR);
}

#endif /* LINX_CLASSIFY6_H */
