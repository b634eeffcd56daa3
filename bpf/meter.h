/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* meter.h — FAR meters (RFC 2698 trTCM, RFC 2697 srTCM; bytes or packets) and
 * the per-color policy: pass, remark the inner DSCP, or drop. */
#ifndef LINX_METER_H
#define LINX_METER_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include "linx.h"
#include "maps.h"
#include "meta.h"
#include "lib.h"
#include "counters.h"

/* Set by the loader: meters per P4 meter (far_meter, far_packet_meter), which is
 * also the number of FAR ids that can have meters or a far_qos policy. */
const volatile __u32 max_meters = 0;

/* qos_of says which QoS work the packets of rule (whose FAR is far) need: a
 * direct meter on the rule, a configured FAR meter of either unit, a far_qos
 * policy. Runs on a flow-cache miss only (inlined array reads); the answer is
 * cached with the flow and Go bumps the classifier generation when a meter or
 * a policy changes. */
static __always_inline __u8 qos_of(__u32 far, __u32 rule)
{
	__u8 q = 0;
	struct meter *md = bpf_map_lookup_elem(&pdr_meters, &rule);

	if (md && md->mode != METER_NONE)
		q |= QOS_F_PDR_METER;
	if (far >= max_meters)
		return q;
	struct meter *mb = bpf_map_lookup_elem(&meters, &far);
	if (mb && mb->mode != METER_NONE)
		q |= QOS_F_METER_BYTES;
	__u32 slot = max_meters + far;
	struct meter *mp = bpf_map_lookup_elem(&meters, &slot);
	if (mp && mp->mode != METER_NONE)
		q |= QOS_F_METER_PACKETS;
	struct qos_policy *p = bpf_map_lookup_elem(&far_qos, &far);
	if (p && p->set)
		q |= QOS_F_POLICY;
	return q;
}

/* refill adds rate x elapsed to a bucket. dt is at most fill (Go's ceil(cap /
 * rate)), so rate x dt stays below cap + rate: no overflow for the bounds Go
 * enforces (bursts < 2^32, rates < 2^40). */
static __always_inline __u64 refill(__u64 tok, __u64 cap, __u64 rate, __u64 fill, __u64 dt)
{
	if (dt >= fill)
		return cap;
	tok += rate * dt;
	return tok > cap ? cap : tok;
}

/* meter_color runs one meter on a packet of len bytes, color-blind: RFC 2698 §3
 * (trTCM: red over the peak bucket, yellow over the committed one) or RFC 2697
 * §3 (srTCM: green from Tc, yellow from Te, red otherwise; Tc's overflow fills
 * Te). now is read before the lock (no helper may run under it); a CPU whose
 * clock read is older than the meter's last refill adds nothing. */
static __always_inline __u32 meter_color(struct meter *mt, __u64 len, __u64 now)
{
	__u32 color;

	bpf_spin_lock(&mt->lock);
	__u64 cost = (mt->packets ? 1 : len) * METER_NS;
	__u64 dt = 0;
	if (now > mt->last) {
		dt = now - mt->last;
		mt->last = now;
	}
	if (mt->mode == METER_SRTCM) {
		/* Tc first; what overflows it goes to Te. */
		__u64 t1 = mt->tok1, t2 = mt->tok2;
		if (dt >= mt->fill1) {
			t1 = mt->cap1;
			t2 = mt->cap2;
		} else {
			t1 += mt->rate1 * dt;
			if (t1 > mt->cap1) {
				t2 += t1 - mt->cap1;
				t1 = mt->cap1;
				if (t2 > mt->cap2)
					t2 = mt->cap2;
			}
		}
		if (t1 >= cost) {
			t1 -= cost;
			color = COLOR_GREEN;
		} else if (t2 >= cost) {
			t2 -= cost;
			color = COLOR_YELLOW;
		} else {
			color = COLOR_RED;
		}
		mt->tok1 = t1;
		mt->tok2 = t2;
	} else {
		__u64 tc = refill(mt->tok1, mt->cap1, mt->rate1, mt->fill1, dt);
		__u64 tp = refill(mt->tok2, mt->cap2, mt->rate2, mt->fill2, dt);
		if (tp < cost) {
			color = COLOR_RED;
		} else if (tc < cost) {
			tp -= cost;
			color = COLOR_YELLOW;
		} else {
			tp -= cost;
			tc -= cost;
			color = COLOR_GREEN;
		}
		mt->tok1 = tc;
		mt->tok2 = tp;
	}
	bpf_spin_unlock(&mt->lock);
	return color;
}

/* run_meter colors the packet with the meter mt (if it is configured) and
 * counts it under that color in st; an unconfigured meter (reset since the
 * flow was cached) leaves it green, uncounted. */
static __always_inline __u32 run_meter(struct meter *mt, struct meter_stats *st, __u64 len, __u64 now)
{
	if (!mt || mt->mode == METER_NONE)
		return COLOR_GREEN;
	__u32 color = meter_color(mt, len, now) & 3;
	if (st && color <= COLOR_RED)
		count(&st->color[color], len);
	return color;
}

/* run_far_meter runs meter slot of the FAR meters. */
static __always_inline __u32 run_far_meter(__u32 slot, __u64 len, __u64 now)
{
	return run_meter(bpf_map_lookup_elem(&meters, &slot), bpf_map_lookup_elem(&meter_counters, &slot), len, now);
}

/* remark_dscp sets the IPv4 DSCP (keeping ECN), with an incremental header
 * checksum update (RFC 1624), and the classifier key's copy that encap reads
 * for the outer header. */
static __always_inline int remark_dscp(struct xdp_md *ctx, struct pkt_meta *m, __u8 dscp)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = m->l3_off;

	if (l3_off > ETH_HLEN + 4)
		return -1;
	struct iphdr *ip = data + l3_off;
	if ((void *)(ip + 1) > data_end)
		return -1;
	__u16 old = *(__u16 *)ip;
	ip->tos = (dscp << 2) | (ip->tos & 3);
	csum_replace2(&ip->check, old, *(__u16 *)ip);
	m->key.dscp_dir = (dscp << 2) | (m->key.dscp_dir & 3);
	return 0;
}

/* remark_dscp6 sets the IPv6 traffic class's DSCP (keeping ECN): the class
 * straddles the header's first two octets (version 4 bits, class 8, flow
 * label 20) and IPv6 has no header checksum. The key's copy is what encap
 * reads for the outer header. */
static __always_inline int remark_dscp6(struct xdp_md *ctx, struct pkt_meta *m, __u8 dscp)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = m->l3_off;

	if (l3_off > ETH_HLEN + 4)
		return -1;
	__u8 *h = data + l3_off;
	if ((void *)(h + 2) > data_end)
		return -1;
	__u8 tc = (__u8)((h[0] & 0x0f) << 4 | h[1] >> 4);
	tc = (dscp << 2) | (tc & 3);
	h[0] = (h[0] & 0xf0) | (tc >> 4);
	h[1] = (__u8)(tc << 4) | (h[1] & 0x0f);
	m->key6.dscp_dir = (dscp << 2) | (m->key6.dscp_dir & 3);
	return 0;
}

/* apply_qos runs the rule's direct meter and its FAR's meters (bytes, then
 * packets: the packet takes the worst color) and applies the color's action
 * under the FAR's policy. The FAR id comes from pdr_rules (an inlined array
 * read, on metered packets only): the flow cache keeps just the flags.
 * Returns -1 to go on, else the verdict (a drop). */
static __always_inline int apply_qos(struct xdp_md *ctx, struct pkt_meta *m, __u32 rule, __u8 qos, int v6)
{
	__u64 len = frame_len(ctx);
	__u32 color = COLOR_GREEN;
	struct pdr_rule *r = bpf_map_lookup_elem(&pdr_rules, &rule);

	if (!r || !r->priority)
		return -1; /* the rule is being deleted: its flows are about to go */
	__u32 far = r->far_id;
	if (far >= max_meters)
		qos &= QOS_F_PDR_METER;
	if (qos & (QOS_F_PDR_METER | QOS_F_METER_BYTES | QOS_F_METER_PACKETS)) {
		__u64 now = bpf_ktime_get_ns();
		if (qos & QOS_F_PDR_METER)
			color = run_meter(bpf_map_lookup_elem(&pdr_meters, &rule),
					  bpf_map_lookup_elem(&pdr_meter_counters, &rule), len, now);
		if (qos & QOS_F_METER_BYTES) {
			__u32 c = run_far_meter(far, len, now);
			if (c > color)
				color = c;
		}
		if (qos & QOS_F_METER_PACKETS) {
			__u32 c = run_far_meter(max_meters + far, len, now);
			if (c > color)
				color = c;
		}
	}
	__u8 act = color == COLOR_RED ? COLOR_DROP : COLOR_PASS;
	__u8 dscp = 0;
	if (qos & QOS_F_POLICY) {
		struct qos_policy *p = bpf_map_lookup_elem(&far_qos, &far);
		if (p && p->set && color <= COLOR_RED) {
			act = p->act[color];
			dscp = p->dscp[color];
		}
	}
	if (act == COLOR_DROP)
		return drop(ctx, DROP_METER);
	if (act == COLOR_REMARK) {
		if (v6)
			remark_dscp6(ctx, m, dscp & 0x3f);
		else
			remark_dscp(ctx, m, dscp & 0x3f);
	}
	return -1;
}

#endif /* LINX_METER_H */
