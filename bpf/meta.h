/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* meta.h — the parse results one packet carries from stage to stage. */
#ifndef LINX_META_H
#define LINX_META_H

#include <linux/types.h>
#include "linx.h"

/* Parse results handed from stage to stage (per-CPU: a packet runs to completion
 * on one CPU). */
struct pkt_meta {
	struct pdr_key key; /* classifier input, network order */
	__u16 port;         /* ingress port id */
	__u16 l3_off;       /* offset of the (inner) IPv4 or IPv6 header */
	__u16 ip_len;       /* IPv4 total length; IPv6: 40 + payload length */
	__u16 l4_off;       /* offset of the L4 header, 0 if none (fragment/other) */
	__u8 role;
	__u8 tcp_flags;
	__u8 df;
	__u8 local;         /* 1: the gateway's own packet (a STAMP reply): encap skips
			     * the tunnel's down flag and the TTL decrement */
	__u32 tunnel_id;    /* chosen overlay, for the encap stage */
	__be32 term_local;  /* decapsulated: the termination's local address, else 0 */
	__u32 term_tunnel;  /* decapsulated: the termination's tunnel id */
	__u32 hash;         /* flow_hash(&key), set by the classifier */
	struct far far;     /* the resolved action (action, port) */
	struct pdr6_key key6; /* classifier input of an IPv6 packet (key unused then) */
	__be32 term_local6[4]; /* decapsulated from an IPv6 underlay: the termination's
				* local address (set by try_decap6 only; stamp6 reads it) */
};

#endif /* LINX_META_H */
