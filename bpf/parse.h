/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* parse.h — Ethernet, VLAN and IPv4/L4 header parsing into the packet's meta. */
#ifndef LINX_PARSE_H
#define LINX_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "linx.h"
#include "meta.h"
#include "lib.h"

#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* parse_ipv4 validates the IPv4 header at off and fills the classifier key. Returns
 * 0 or a drop reason. */
static __always_inline int parse_ipv4(struct xdp_md *ctx, __u32 off, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + off;

	if ((void *)(ip + 1) > data_end)
		return DROP_MALFORMED_IP;
	if (ip->version != 4)
		return DROP_MALFORMED_IP;
	if (ip->ihl < 5)
		return DROP_IP_IHL;
	__u32 hlen = ip->ihl * 4;
	__u32 tot = be16_len(ip->tot_len);
	if (tot < hlen || data + off + tot > data_end)
		return DROP_IP_LEN;

	m->l3_off = off;
	m->ip_len = tot;
	m->df = !!(ip->frag_off & bpf_htons(IP_DF));
	m->key.src = ip->saddr;
	m->key.dst = ip->daddr;
	m->key.proto = ip->protocol;
	m->key.sport = 0;
	m->key.dport = 0;
	m->key.dscp_dir = ip->tos & 0xfc; /* dscp << 2; direction ORed in later */
	m->l4_off = 0;
	m->tcp_flags = 0;

	/* Fragments: classified on L3 fields with ports 0, every fragment alike. */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return 0;

	__u32 l4 = off + hlen;
	void *l4p = data + l4;
	switch (ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4p;
		if ((void *)(th + 1) > data_end || th->doff < 5 || hlen + th->doff * 4 > tot)
			return DROP_MALFORMED_L4;
		m->key.sport = th->source;
		m->key.dport = th->dest;
		m->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4p;
		if ((void *)(uh + 1) > data_end)
			return DROP_MALFORMED_L4;
		__u32 ulen = be16_len(uh->len);
		if (ulen < sizeof(*uh) || hlen + ulen > tot)
			return DROP_MALFORMED_L4;
		m->key.sport = uh->source;
		m->key.dport = uh->dest;
		break;
	}
	case IPPROTO_ICMP:
		if (l4p + 4 > data_end || hlen + 4 > tot)
			return DROP_MALFORMED_L4;
		break;
	default:
		return 0;
	}
	m->l4_off = l4;
	return 0;
}

#endif /* LINX_PARSE_H */
