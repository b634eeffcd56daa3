/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* punt.h — frames to the controller through the ring buffer (PacketIn), and the
 * non_ip table that can punt, copy or drop frames that are not IPv4. */
#ifndef LINX_PUNT_H
#define LINX_PUNT_H

#include "parse.h"
#include "maps.h"
#include "counters.h"

/* send_punt hands the frame (up to MAX_PUNT_BYTES) and its ingress port to the
 * agent through the ring buffer, for a PacketIn. Returns 0 or a drop reason. */
static __always_inline int send_punt(struct xdp_md *ctx, __u16 port)
{
	__u64 len = frame_len(ctx);
	__u64 cap = len;

	if (cap > MAX_PUNT_BYTES)
		cap = MAX_PUNT_BYTES;
	struct punt_record *r = bpf_ringbuf_reserve(&punts, sizeof(*r), 0);
	if (!r)
		return DROP_PUNT_FULL;
	r->port = port;
	r->pad = 0;
	r->len = len;
	r->cap_len = cap;
	/* Both bounds are range checks, so every verifier learns them: 6.1's learns
	 * nothing from `cap == 0` and then rejects a helper size whose minimum may
	 * be 0. A punted frame always holds the Ethernet header its caller parsed,
	 * so `cap < ETH_HLEN` is the real minimum. The barrier keeps clang from
	 * merging the checks with the clamp above. */
	barrier_var(cap);
	if (cap < ETH_HLEN || cap > MAX_PUNT_BYTES || bpf_xdp_load_bytes(ctx, 0, r->data, cap)) {
		bpf_ringbuf_discard(r, 0);
		return DROP_MALFORMED_ETH;
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* punt sends the frame to the controller, then drops it. */
static __always_inline int punt(struct xdp_md *ctx, struct pkt_meta *m)
{
	int rc = send_punt(ctx, m->port);

	if (rc)
		return drop(ctx, rc);
	return XDP_DROP;
}

/* non_ip applies the non_ip rule of a frame that is not IPv4, by the EtherType
 * after at most one VLAN tag. Without a rule the kernel gets the frame. */
static __always_inline int non_ip(struct xdp_md *ctx, struct pkt_meta *m, __be16 proto)
{
	struct non_ip_rule *r = bpf_map_lookup_elem(&non_ip_rules, &proto);
	int rc;

	if (!r)
		return XDP_PASS; /* IPv6, ARP...: the kernel's business unless a controller says otherwise */
	__u8 action = r->action;
	struct counter *c = bpf_map_lookup_elem(&non_ip_counters, &proto);
	count(c, frame_len(ctx));
	switch (action) {
	case NON_IP_DROP:
		return drop(ctx, DROP_NON_IP_RULE);
	case NON_IP_PUNT:
		return punt(ctx, m);
	case NON_IP_COPY:
		/* The kernel must see the frame anyway (ARP is answered there): a copy
		 * the ring had no room for is counted, the frame still passes. */
		rc = send_punt(ctx, m->port);
		if (rc)
			count_drop(ctx, rc);
		return XDP_PASS;
	}
	return XDP_PASS;
}

#endif /* LINX_PUNT_H */
