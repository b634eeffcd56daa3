/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* linx.h — types shared by the XDP pipeline and the Go control plane.
 *
 * Every struct and enum here is exported to Go by bpf2go (-type), so Go never
 * mirrors a layout by hand. Addresses, L4 ports and GRE keys are stored in network
 * byte order, exactly as they appear in packets, so the data path never swaps bytes.
 */
#ifndef LINX_H
#define LINX_H

#include <linux/types.h>

/* Tunables. The Go side checks they match its own constants. */
#ifndef MAX_TUPLES
#define MAX_TUPLES 32      /* distinct PDR mask shapes searched per packet */
#endif
#ifndef LBR_SLOTS
#define LBR_SLOTS 1021     /* Maglev lookup-table size per LBR (prime) */
#endif
#ifndef MAX_LBR_MEMBERS
#define MAX_LBR_MEMBERS 16 /* at most 32: lbr.skip has a bit per member */
#endif
#ifndef MAX_PUNT_BYTES
#define MAX_PUNT_BYTES 1536
#endif
#ifndef MAX_NON_IP_RULES
#define MAX_NON_IP_RULES 64 /* entries of the non_ip table (P4 LinxIngress.non_ip) */
#endif
#define TUPLE_SLOTS 4       /* pdr_tuple_list ring (see maps.h) */
#define FLOW_CACHE_WINDOW 1024 /* lookups per decision to use the flow cache or not */
#define FLOW_CACHE_SAMPLE 16   /* bypassed: one packet in this many still uses it */
#define LBR_PROBES 4       /* Maglev slots tried before the member-list fallback */
#define GRE_TTL 64          /* outer IPv4 TTL and outer IPv6 hop limit */
#define GRE6_HDRS_MAX 256   /* outer IPv6 header, its extension headers and GRE: decap's bound */
#define PORT_IFINDEX_DIRECT 4096 /* ifindexes below this find their port in an ARRAY */
#define STAMP_PORT 862     /* UDP port of STAMP session-reflectors (RFC 8762) */
#define STAMP_BASE_LEN 44  /* unauthenticated STAMP test packet without padding */
#ifndef MAX_PROBE_BYTES
#define MAX_PROBE_BYTES 1536 /* largest probe or reply datagram (IPv4 header on) */
#endif
#define IPV6_EXT_MAX 4     /* IPv6 extension headers walked to reach the upper layer */
#define METER_NS 1000000000ULL /* meter tokens are kept in units x 1e9 (units per second x ns) */

/* Why a packet was dropped. Index of drop_stats; documented in docs/datapath.md. */
enum drop_reason {
	DROP_UNSPEC = 0,
	DROP_POLICY,           /* a FAR said drop */
	DROP_MALFORMED_ETH,    /* shorter than an Ethernet header (zero length included) */
	DROP_MALFORMED_VLAN,   /* truncated 802.1Q tag */
	DROP_VLAN_DEPTH,       /* more than one VLAN tag */
	DROP_MALFORMED_IP,     /* truncated IPv4 header or version != 4 */
	DROP_IP_IHL,           /* IPv4 ihl < 5 */
	DROP_IP_LEN,           /* IPv4 total length below ihl*4 or beyond the frame */
	DROP_MALFORMED_L4,     /* truncated TCP/UDP/ICMP header, TCP doff < 5, UDP length bad */
	DROP_MALFORMED_GRE,    /* truncated GRE header */
	DROP_GRE_FLAGS,        /* GRE version != 0 or RFC 1701 routing/strict/recursion bits */
	DROP_GRE_PROTO,        /* GRE payload is neither IPv4 nor IPv6 */
	DROP_GRE_FRAGMENT,     /* fragmented GRE packet to a local tunnel address */
	DROP_GRE_SPOOFED,      /* GRE to a local tunnel address from no known peer/key */
	DROP_TAIL_CALL,        /* a pipeline stage was missing */
	DROP_NO_FAR,           /* the PDR named a FAR that does not exist */
	DROP_NO_TUNNEL,        /* encap onto a tunnel that does not exist */
	DROP_TUNNEL_DOWN,      /* encap onto a tunnel marked down */
	DROP_NO_LBR,           /* balance onto an LBR that does not exist */
	DROP_LBR_DOWN,         /* every member of the LBR is down or missing */
	DROP_NO_PORT,          /* forward to a port that is not attached */
	DROP_NO_ROUTE,         /* the FIB has no usable route for the packet */
	DROP_EGRESS_NOT_LINX,  /* the FIB chose an egress without linx attached */
	DROP_TOO_BIG,          /* exceeds the WAN MTU after encapsulation, DF clear */
	DROP_ICMP_TOO_BIG,     /* DF set (IPv6: always), too big: answered with ICMP frag-needed / ICMPv6 packet too big */
	DROP_PUNT_FULL,        /* punt ring buffer full */
	DROP_ADJUST,           /* the kernel refused to grow/shrink the frame */
	DROP_INTERNAL,         /* a per-CPU scratch lookup failed (cannot happen) */
	DROP_NON_IP_RULE,      /* a non_ip rule (by EtherType) said drop */
	DROP_STAMP_SHORT,      /* STAMP probe shorter than the 44-octet base packet */
	DROP_STAMP_ERROR_ESTIMATE, /* STAMP probe whose error estimate has a zero multiplier */
	DROP_STAMP_NOT_TUNNEL, /* STAMP to a local tunnel address that came through no terminated tunnel */
	DROP_STAMP_LOOP,       /* STAMP probe from port 862: a reflector's reply, never answered */
	DROP_STAMP_MALFORMED,  /* STAMP probe with IPv4 options, IPv6 extension headers or octets after its UDP datagram */
	DROP_STAMP_LONG,       /* STAMP probe or reply datagram longer than MAX_PROBE_BYTES (1536) */
	DROP_PROBE_FULL,       /* probe reply ring buffer full (the agent does not read) */
	DROP_MALFORMED_IPV6,    /* truncated IPv6 header or version != 6 */
	DROP_IPV6_LEN,          /* IPv6 payload length beyond the frame */
	DROP_IPV6_EXT,          /* IPv6 extension header truncated, beyond the payload, or hop-by-hop not first */
	DROP_IPV6_EXT_DEPTH,    /* more IPv6 extension headers than the parser walks (IPV6_EXT_MAX) */
	DROP_METER,            /* a FAR's meter colored it and its policy said drop */
	DROP_STAMP_RATE,       /* STAMP probe over its tunnel's reflector rate (token bucket) */
	DROP_REASON_MAX,
};

/* Tail-call indices of the stages after the parser (prog array "stages"). */
enum stage {
	STAGE_CLASSIFY = 0,
	STAGE_FORWARD,
	STAGE_ENCAP,
	STAGE_CLASSIFY6, /* IPv6 packets: their own key, tuple space and flow cache */
	STAGE_ENCAP6,    /* GRE encapsulation of an IPv6 packet */
	STAGE_ENCAP_U6,  /* GRE over an IPv6 underlay, inner IPv4 */
	STAGE_ENCAP6_U6, /* GRE over an IPv6 underlay, inner IPv6 */
	STAGE_DECAP6,    /* GRE in an outer IPv6 header on a WAN port */
	STAGE_MAX,
};

enum role {
	ROLE_LAN = 1,
	ROLE_WAN = 2,
};

enum direction {
	DIR_UPLINK = 1,   /* from a LAN port */
	DIR_DOWNLINK = 2, /* from a WAN port, out of a GRE overlay */
	DIR_UNDERLAY = 3, /* from a WAN port, plain underlay traffic */
};

enum far_action {
	FAR_DROP = 1,
	FAR_PASS = 2,
	FAR_FORWARD = 3,
	FAR_ENCAP = 4,
	FAR_BALANCE = 5,
	FAR_PUNT = 6,
};

/* What a non_ip rule does with a frame that is not IPv4 (ARP, LLDP, IPv6...). */
enum non_ip_action {
	NON_IP_PASS = 1, /* to the kernel */
	NON_IP_DROP = 2,
	NON_IP_PUNT = 3, /* to the controller (PacketIn) only */
	NON_IP_COPY = 4, /* to the controller and to the kernel */
};

enum tunnel_flags {
	TUNNEL_F_KEY = 1,      /* emit a GRE key */
	TUNNEL_F_DOWN = 2,     /* skip in LBRs, drop in encap FARs */
	TUNNEL_F_SET_DSCP = 4, /* outer DSCP from the tunnel, not the inner header */
	TUNNEL_F_PRESENT = 8,  /* the tunnels slot holds a tunnel (a zero slot: none) */
	TUNNEL_F_V6 = 16,      /* IPv6 underlay: endpoints in tunnels6[id], src/dst here 0 */
};

/* A meter's color (RFC 2697/2698). */
enum meter_color {
	COLOR_GREEN = 0,
	COLOR_YELLOW = 1,
	COLOR_RED = 2,
};

/* How a meter marks (meter.mode). */
enum meter_mode {
	METER_NONE = 0,  /* default (no config): every packet green */
	METER_TRTCM = 1, /* RFC 2698 two-rate three-color */
	METER_SRTCM = 2, /* RFC 2697 single-rate three-color */
};

/* What a color does (qos_policy.act). */
enum color_action {
	COLOR_PASS = 0,   /* on, unchanged */
	COLOR_REMARK = 1, /* on, inner DSCP set to qos_policy.dscp */
	COLOR_DROP = 2,   /* dropped, DROP_METER */
};

/* Which QoS work a FAR's packets need (flow_result.reason of an action that
 * is not FAR_DROP); 0: none, one branch. */
enum qos_flags {
	QOS_F_METER_BYTES = 1,   /* run meters[far] (far_meter, bytes) */
	QOS_F_METER_PACKETS = 2, /* run meters[max_meters + far] (far_packet_meter) */
	QOS_F_POLICY = 4,        /* far_qos[far] holds a policy (else green pass, yellow pass, red drop) */
	QOS_F_PDR_METER = 8,     /* run pdr_meters[rule] (pdr_meter, the rule's direct meter) */
};

/* The classifier's view of a packet; also the key of pdr_entries once masked by a
 * tuple. "tuple" is the mask-shape id (0 in packets). */
struct pdr_key {
	__u32 tuple;
	__be32 src;
	__be32 dst;
	__be16 sport;
	__be16 dport;
	__u16 in_port;
	__u8 proto;
	__u8 dscp_dir; /* dscp << 2 | direction */
};

/* The classifier's view of an IPv6 packet, and the key of pdr6_entries once
 * masked by a tuple of the IPv6 tuple space. Apart from pdr_key so that IPv4
 * packets keep their 20-byte key (hash, compare, flow-cache entry). proto is
 * the upper-layer protocol after the extension headers; dscp_dir holds the
 * traffic class's DSCP. */
struct pdr6_key {
	__u32 tuple;
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u16 in_port;
	__u8 proto;
	__u8 dscp_dir; /* dscp << 2 | direction */
};

/* One mask shape of the tuple-space search, with the highest priority of any rule
 * that has an entry under it (tuples are searched in decreasing max_prio, and the
 * search stops once no remaining tuple can beat the best match). */
struct pdr_tuple {
	struct pdr_key mask; /* mask.tuple holds the tuple id */
	__u32 max_prio;
};

struct pdr_tuples {
	__u32 n;
	__u32 pad;
	struct pdr_tuple t[MAX_TUPLES];
};

/* The IPv6 tuple space's shapes: tuple ids are shared with the IPv4 list (one
 * id space, MAX_TUPLES shapes of both families together). */
struct pdr6_tuple {
	struct pdr6_key mask;
	__u32 max_prio;
};

struct pdr6_tuples {
	__u32 n;
	__u32 pad;
	struct pdr6_tuple t[MAX_TUPLES];
};

/* The rules owning one masked key, best first: a packet takes the first one that is
 * live in pdr_rules. Holding two lets an insert or delete switch a shared key
 * atomically with the rule's commit (see dataplane/classifier.go). */
struct pdr_entry {
	__u32 rule[2];
};

/* A forward action's L2 rewrite, resolved by bpf_fib_lookup on a flow-cache miss
 * and kept in the entry while the next-hop generation (nh_gen) is unchanged, so
 * that a forwarded packet on a hit needs no FIB lookup. */
struct fwd_l2 {
	__u32 ifindex; /* egress interface the FIB chose */
	__u16 port;    /* its linx port; 0: no rewrite cached (the FIB per packet) */
	__u16 mtu;     /* route MTU: a longer packet goes to the kernel, as the FIB says */
	__u8 dmac[6];
	__u8 smac[6];
};

/* The classifier's answer for one exact packet key, resolved as far as later
 * stages need it: the FAR's action (an LBR's already turned into its Maglev
 * tunnel choice, which is flow-sticky anyway), so that a flow-cache hit costs no
 * FAR, LBR or tunnel lookup. Valid while gen is the generation Go bumps after any
 * change of PDRs, FARs, LBRs, tunnels or port state; a FAR_FORWARD answer also
 * while nh_gen is the next-hop generation (bumped on any route, neighbour, link
 * or address change, and on port attach/detach). */
struct flow_result {
	__u32 rule; /* 0: no PDR matched */
	__u32 gen;
	__u32 nh_gen;
	__u8 action; /* enum far_action; never FAR_BALANCE (resolved to FAR_ENCAP) */
	__u8 reason; /* FAR_DROP: the drop reason; other actions: enum qos_flags of
		      * the rule's FAR (kept here so that the entry does not grow) */
	__u16 port;  /* FAR_FORWARD: the FAR's port */
	__u32 tunnel; /* FAR_ENCAP: the overlay */
	struct fwd_l2 l2; /* FAR_FORWARD: the rewrite, when l2.port != 0 */
};

/* A flow-cache entry: the packet key it answers for and the answer, valid while gen
 * equals the classifier generation (bumped by Go after every rule change). An
 * entry whose key.in_port is 0 is empty: port ids start at 1. */
struct flow_entry {
	struct pdr_key key;
	struct flow_result res;
};

/* An IPv6 flow-cache entry (flow6_cache): as flow_entry, with the IPv6 key. */
struct flow6_entry {
	struct pdr6_key key;
	struct flow_result res;
};

struct flow6_set {
	struct flow6_entry way[2];
};

/* One set of the 2-way set-associative flow cache: way[0] is the newer entry. */
struct flow_set {
	struct flow_entry way[2];
};

/* Per-CPU use of the flow cache: when a window of lookups found too few hits
 * (more flows than it holds), the classifier stops reading and writing it,
 * except for one packet in FLOW_CACHE_SAMPLE, whose hits decide when to use
 * it again. */
struct flow_cache_use {
	__u32 packets; /* classified, for sampling */
	__u32 lookups; /* in this window */
	__u32 hits;    /* in this window */
	__u32 bypass;  /* 1: skip the cache but for samples */
};

struct pdr_rule {
	__u32 far_id;
	__u32 priority;
};

struct far {
	__u8 action; /* enum far_action */
	__u8 pad;
	__u16 port;  /* FAR_FORWARD */
	__u32 arg;   /* FAR_ENCAP: tunnel id, FAR_BALANCE: lbr id */
};

/* One token-bucket meter (RFC 2698 trTCM or RFC 2697 srTCM, color-blind),
 * shared by every CPU: the lock serialises the refill and the take, so N CPUs
 * together pass the configured rate, not N times it. Tokens are units x 1e9
 * (bytes or packets), so refilling is one multiply: rate (units/s) x elapsed ns.
 * Written by Go (config, full buckets, last 0) under the lock (BPF_F_LOCK);
 * read and updated by the classifier. */
struct meter {
	struct bpf_spin_lock lock;
	__u8 mode;    /* enum meter_mode */
	__u8 packets; /* 1: the unit is packets, 0: bytes */
	__u16 pad;
	__u64 last;   /* bpf_ktime_get_ns of the last refill */
	__u64 tok1;   /* trTCM: committed bucket Tc; srTCM: Tc */
	__u64 tok2;   /* trTCM: peak bucket Tp; srTCM: excess bucket Te */
	__u64 rate1;  /* trTCM: CIR; srTCM: CIR (units per second) */
	__u64 rate2;  /* trTCM: PIR; srTCM: unused */
	__u64 cap1;   /* CBS x 1e9 */
	__u64 cap2;   /* trTCM: PBS x 1e9; srTCM: EBS x 1e9 */
	__u64 fill1;  /* ns that fill bucket 1 from empty (srTCM: both) */
	__u64 fill2;  /* ns that fill bucket 2 from empty (trTCM) */
};

/* What each color does for one FAR (index: enum meter_color). */
struct qos_policy {
	__u8 act[3];  /* enum color_action */
	__u8 dscp[3]; /* COLOR_REMARK: the DSCP */
	__u8 set;     /* 1: an entry (else the default policy) */
	__u8 pad;
};

/* lbr.watch[i]: member i's watch port (P4Runtime watch_port), resolved by Go:
 * 0 none, a port id, or LBR_WATCH_TUNNEL | tunnel id for an overlay's logical
 * port. The member is skipped while what it watches is down. */
enum lbr_watch {
	LBR_WATCH_TUNNEL = 0x40000000,
};

/* lbr.skip: bit i set = member i is excluded by an SLA class (the agent's
 * verdict): it keeps its Maglev slots, so no other member's flows move, and is
 * skipped as a down member is. Go never sets every member's bit. */
struct lbr {
	__u32 n_members;
	__u32 skip;                     /* excluded members, bit i = members[i] */
	__u32 members[MAX_LBR_MEMBERS]; /* tunnel ids, fallback when probes hit down members */
	__u32 watch[MAX_LBR_MEMBERS];   /* watched port of each member, see LBR_WATCH_TUNNEL */
	__u8 slots[LBR_SLOTS];          /* Maglev table of member indexes, built in Go */
};

struct tunnel {
	__be32 src;
	__be32 dst;
	__be32 key;
	__u16 port; /* WAN port the overlay leaves by */
	__u8 flags; /* enum tunnel_flags */
	__u8 dscp;
};

/* The endpoints of a tunnel over an IPv6 underlay (tunnels6, by the tunnel's
 * id), apart from struct tunnel so that the IPv4 underlay's entry stays 16
 * bytes and its encapsulation reads nothing more. */
struct tunnel6 {
	__be32 src[4];
	__be32 dst[4];
};

/* Whether a tunnel's underlay next hop is known (tunnel_nh.state). */
enum nh_state {
	NH_UNKNOWN = 0,  /* the agent has not resolved it: ask the FIB per packet */
	NH_OK = 1,       /* route and neighbour known: ifindex, MACs, MTU valid */
	NH_NO_NEIGH = 2, /* route known, neighbour not (yet): the kernel resolves it */
	NH_NO_ROUTE = 3, /* no usable route */
};

/* A tunnel's underlay next hop as the agent resolved it from the kernel's routes
 * and neighbours (netlink), so encapsulation needs no FIB lookup per packet. */
struct tunnel_nh {
	__u32 ifindex; /* egress interface (the tunnel's port) */
	__u16 mtu;     /* route MTU, else the interface's */
	__u8 state;    /* enum nh_state */
	__u8 pad;
	__u8 dmac[6];
	__u8 smac[6];
};

/* A linx port's IPv6 address (network order; zeroes: none), the source of the
 * ICMPv6 errors the data path sends out of it. */
struct port_addr6 {
	__be32 a[4];
};

struct term_key {
	__be32 remote;
	__be32 local;
	__be32 key; /* 0: no GRE key */
};

/* tunnel_terms6's key: term_key for GRE inside an outer IPv6 header. */
struct term6_key {
	__be32 remote[4];
	__be32 local[4];
	__be32 key; /* 0: no GRE key */
};

/* An IPv6 address as a map key (tunnel_locals6). */
struct addr6 {
	__be32 a[4];
};

struct non_ip_rule {
	__u8 action; /* enum non_ip_action */
	__u8 pad[3];
};

struct port_info {
	__u16 port;
	__u8 role; /* enum role */
	__u8 pad;
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-color packets and bytes of one meter. */
struct meter_stats {
	struct counter color[3]; /* enum meter_color */
};

struct port_stats {
	struct counter rx;   /* every frame that arrived (XDP sees them all) */
	struct counter tx;   /* frames the pipeline redirected out of the port */
	struct counter drop; /* frames that arrived here and the pipeline dropped */
};

struct tunnel_stats {
	struct counter tx;
	struct counter rx;
};

/* Ring-buffer record of a punted packet; data holds cap_len bytes of the frame. */
struct punt_record {
	__u16 port;
	__u16 pad;
	__u32 len;
	__u32 cap_len;
	__u8 data[MAX_PUNT_BYTES];
};

/* Ring-buffer record of a STAMP reply for this gateway's prober (probe_replies,
 * apart from punts: replies are never PacketIns). data holds the decapsulated
 * IPv4 datagram, len octets of it. */
struct probe_record {
	__u32 tunnel; /* the termination's tunnel: the overlay the reply came through */
	__u32 len;
	__u64 rx_ns;  /* bpf_ktime_get_ns (CLOCK_MONOTONIC) at reception */
	__u8 data[MAX_PROBE_BYTES];
};

#endif /* LINX_H */
