/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lib.h — small helpers: header fields with verifier-visible bounds, checksums. */
#ifndef LINX_LIB_H
#define LINX_LIB_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "linx.h"

/* be16_len converts a big-endian 16-bit length field of the packet (IPv4 total
 * length, UDP length) to a host-order value whose bounds, [0, 0xffff], every
 * kernel's verifier knows. Older verifiers (6.1) forget all bounds of a byte swap
 * (`be16` makes the register unknown), and then refuse to add the length to a
 * packet pointer. The mask restores the bounds; the barrier keeps clang from
 * dropping it as redundant. Use it for every length read from a header. */
static __always_inline __u32 be16_len(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	barrier_var(x);
	return x & 0xffff;
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* ipv4_csum computes the header checksum of a 20-byte IPv4 header (csum field 0). */
static __always_inline __u16 ipv4_csum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return csum_fold(sum);
}

/* csum_replace2 updates a 16-bit one's complement checksum for a 16-bit field that
 * changed from old to new (RFC 1624, eqn. 3). All values in network order. */
static __always_inline void csum_replace2(__u16 *sum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~old;
	s += new;
	*sum = csum_fold(s);
}

#endif /* LINX_LIB_H */
