/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* maps.h — every map of the pipeline: key → value, who writes, who reads.
 * Capacities here are placeholders: the Go loader sets them from its Options. */
#ifndef LINX_MAPS_H
#define LINX_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "linx.h"
#include "meta.h"

/* ifindex → port_info (port 0: no linx port), for ifindexes below
 * PORT_IFINDEX_DIRECT: an inlined array access instead of a hash lookup. Written
 * by Go on Attach; read by the parser. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct port_info);
	__uint(max_entries, PORT_IFINDEX_DIRECT);
} port_by_ifindex SEC(".maps");

/* ifindex → port_info for ifindexes from PORT_IFINDEX_DIRECT up. Written by Go on
 * Attach; read by the parser and the redirect of a FIB-chosen egress. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct port_info);
	__uint(max_entries, 512);
} ports SEC(".maps");

/* port id → ifindex (0: not attached). Written by Go on Attach; read by forward/encap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 512);
} port_ifindex SEC(".maps");

/* port id → the port's IPv6 address, the source of ICMPv6 Packet Too Big
 * (zeroes: none). Written by Go (from netlink, on attach and address events);
 * read by encap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct port_addr6);
	__uint(max_entries, 512);
} port_addrs6 SEC(".maps");

/* port id → the port's IPv4 address (network order; 0: none), the source of
 * the ICMP fragmentation-needed an IPv4 packet too big for an overlay over an
 * IPv6 underlay gets (the tunnel has no IPv4 address to send it from). Written
 * by Go (as port_addrs6); read by encap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __be32);
	__uint(max_entries, 512);
} port_addrs4 SEC(".maps");

/* port id → 1 while the port's link is down (the agent follows the kernel's
 * operstate): tunnels leaving by it count as down. Written by Go; read by the load
 * balancer and encap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 512);
} port_down SEC(".maps");

/* ifindex → ifindex: redirect targets (every attached port). Written by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 512);
} tx_ports SEC(".maps");

/* stage → program: the pipeline's tail calls. Written by Go at load. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, enum stage);
	__type(value, __u32);
	__uint(max_entries, STAGE_MAX);
} stages SEC(".maps");

/* slot → a PDR tuple list; pdr_tuple_slot says which slot is live. Go writes a new
 * list into the next slot, then flips pdr_tuple_slot (one aligned 4-byte write), so
 * a packet sees the old list or the new one, whole: a slot is rewritten only
 * TUPLE_SLOTS-1 list updates later (syscalls of microseconds each), long after any
 * packet that read it (XDP runs to completion, without preemption). Read by the
 * classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pdr_tuples);
	__uint(max_entries, TUPLE_SLOTS);
} pdr_tuple_list SEC(".maps");

/* 0 → live slot of pdr_tuple_list. Written by Go; read by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} pdr_tuple_slot SEC(".maps");

/* masked pdr_key → rules owning it. Written by Go; read by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct pdr_key);
	__type(value, struct pdr_entry);
	__uint(max_entries, 400000);
} pdr_entries SEC(".maps");

/* bit → 1 if some pdr_entries key may hash to it (pdr_bloom_hash of the masked
 * key, tuple id included): a one-hash Bloom filter in front of pdr_entries, so
 * the tuple search skips a tuple whose masked key has no entry with an inlined
 * array access instead of a hash lookup into cold memory. Go sets a key's bit
 * before it writes the key, and clears bits only by rewriting the filter from the
 * keys present (never one a present key needs), so a clear bit proves absence.
 * Words of 64 bits; Go sizes it (a power of two). Read by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 65536);
} pdr_bloom SEC(".maps");

/* rule id → FAR id and priority. A rule is live exactly while its priority is
 * not 0 (PDR priorities start at 1): the single write that commits an insert or
 * a delete (which writes zeroes). An array by the dense rule id: an inlined
 * access, not a hash lookup. Written by Go; read by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pdr_rule);
	__uint(max_entries, 100000);
} pdr_rules SEC(".maps");

/* hash of the packet key & flow_cache_mask → one 2-way set of (key, answer), per
 * CPU. A lookup is an inlined array access and a key compare; a store on a miss
 * is a plain write over the older way (no search, no eviction, no allocation), so
 * more flows than entries cost a tuple-space search each, never more. Written by
 * the classifier; Go only sizes it (FlowCacheSize entries, a power of two, in
 * sets of two). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct flow_set);
	__uint(max_entries, 32768);
} flow_cache SEC(".maps");

/* 0 → how this CPU's packets use flow_cache (struct flow_cache_use). Written and
 * read by the classifier only. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct flow_cache_use);
	__uint(max_entries, 1);
} flow_cache_uses SEC(".maps");

/* The IPv6 tuple space: as pdr_tuple_list, pdr_tuple_slot and pdr_entries, for
 * pdr6_key. Rules of both families share pdr_rules (ids, priorities, the commit)
 * and pdr_bloom (pdr6_bloom_hash). Written by Go; read by linx_classify6. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pdr6_tuples);
	__uint(max_entries, TUPLE_SLOTS);
} pdr6_tuple_list SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} pdr6_tuple_slot SEC(".maps");

/* Not preallocated: memory only for the IPv6 entries there are. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct pdr6_key);
	__type(value, struct pdr_entry);
	__uint(max_entries, 400000);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} pdr6_entries SEC(".maps");

/* The IPv6 flow cache: as flow_cache (same number of sets), for pdr6_key.
 * Written and read by linx_classify6. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct flow6_set);
	__uint(max_entries, 32768);
} flow6_cache SEC(".maps");

/* 0 → 1 while a non_ip rule exists for EtherType 0x86dd: IPv6 frames then get
 * that rule, as before IPv6 PDRs existed, instead of the classifier. An ARRAY
 * (an inlined read) so that IPv6 pays no hash lookup for it. Written by Go;
 * read by the parser for IPv6 frames only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} ipv6_non_ip SEC(".maps");

/* 0 → classifier generation. Go increments it after every committed rule change,
 * which invalidates every flow_cache entry at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} pdr_gen SEC(".maps");

/* 0 → next-hop generation. Go increments it after any route, neighbour, link or
 * address change it hears of over netlink (and on port attach/detach), which
 * invalidates every flow_cache entry of a forward action (its cached L2 rewrite)
 * at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} nh_gen SEC(".maps");

/* 0 → FAR applied when no PDR matches. Written by Go; read by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct far);
	__uint(max_entries, 1);
} pdr_miss SEC(".maps");

/* rule slot → packets/bytes per CPU (slot 0: misses). Written by the classifier;
 * read and reset by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(max_entries, 100001);
} pdr_counters SEC(".maps");

/* FAR id → action. Written by Go; read by the forwarder. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct far);
	__uint(max_entries, 65536);
} fars SEC(".maps");

/* meter slot → token buckets, shared by all CPUs (the value's spin lock):
 * slots 0..max_meters-1 are far_meter (bytes) by FAR id, max_meters.. are
 * far_packet_meter (packets) by FAR id. An ARRAY: one inlined access, no hash.
 * Written by Go; read and updated by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct meter);
	__uint(max_entries, 8192);
} meters SEC(".maps");

/* meter slot → per-color packets and bytes per CPU. Written by the classifier;
 * read by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct meter_stats);
	__uint(max_entries, 8192);
} meter_counters SEC(".maps");

/* rule id → the rule's direct meter (P4 pdr_meter, bytes), shared by all CPUs
 * like meters. Written by Go; read and updated by the classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct meter);
	__uint(max_entries, 100001);
} pdr_meters SEC(".maps");

/* rule id → per-color packets and bytes of its direct meter, per CPU. Written
 * by the classifier; read and zeroed by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct meter_stats);
	__uint(max_entries, 100001);
} pdr_meter_counters SEC(".maps");

/* FAR id → what each meter color does (table far_qos). Written by Go; read by
 * the classifier on a flow-cache miss. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct qos_policy);
	__uint(max_entries, 4096);
} far_qos SEC(".maps");

/* LBR id → Maglev table. Replaced whole by Go; read by the load balancer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lbr);
	__uint(max_entries, 1024);
} lbrs SEC(".maps");

/* tunnel id → GRE overlay (flags without TUNNEL_F_PRESENT: no tunnel). Written
 * by Go (a delete writes zeroes); read by encap and the load balancer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tunnel);
	__uint(max_entries, 4096);
} tunnels SEC(".maps");

/* tunnel id → the endpoints of a tunnel with TUNNEL_F_V6 (IPv6 underlay).
 * Written by Go before the tunnels entry; read by encap for those tunnels only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tunnel6);
	__uint(max_entries, 4096);
} tunnels6 SEC(".maps");

/* tunnel id → underlay next hop (route, neighbour, MTU), kept current by the
 * agent from netlink route/neighbour/link/address events. Written by Go; read by
 * encap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tunnel_nh);
	__uint(max_entries, 4096);
} tunnel_nexthops SEC(".maps");

/* tunnel id → tx/rx per CPU. Written by encap/decap; read by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tunnel_stats);
	__uint(max_entries, 4096);
} tunnel_counters SEC(".maps");

/* (remote, local, key) → tunnel id: GRE this gateway decapsulates. Written by Go;
 * read by the parser. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct term_key);
	__type(value, __u32);
	__uint(max_entries, 4096);
} tunnel_terms SEC(".maps");

/* local tunnel address → number of terminations using it. GRE to one of these that
 * matches no termination is spoofed. Written by Go; read by the parser. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __u32);
	__uint(max_entries, 4096);
} tunnel_locals SEC(".maps");

/* tunnel_terms and tunnel_locals for GRE inside an outer IPv6 header: (remote,
 * local, key) → tunnel id, and local IPv6 tunnel address → terminations using
 * it. Written by Go; read by the parser for IPv6 GRE on WAN ports only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct term6_key);
	__type(value, __u32);
	__uint(max_entries, 4096);
} tunnel_terms6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct addr6);
	__type(value, __u32);
	__uint(max_entries, 4096);
} tunnel_locals6 SEC(".maps");

/* EtherType (network order) → what a frame that is not IPv4 gets; no entry: the
 * kernel. Written by Go; read by the parser, only for frames that are not IPv4. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be16);
	__type(value, struct non_ip_rule);
	__uint(max_entries, MAX_NON_IP_RULES);
} non_ip_rules SEC(".maps");

/* EtherType → packets/bytes per CPU of its non_ip rule, apart from the rule so
 * that changing a rule's action keeps its counts. Zeroed by Go before the rule is
 * written, deleted after it; counted by the parser. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __be16);
	__type(value, struct counter);
	__uint(max_entries, MAX_NON_IP_RULES);
} non_ip_counters SEC(".maps");

/* port id → rx/tx/drop per CPU, as seen by XDP. Written by the pipeline; read by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct port_stats);
	__uint(max_entries, 512);
} port_counters SEC(".maps");

/* drop reason → packets/bytes per CPU. Written by the pipeline; read by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, enum drop_reason);
	__type(value, struct counter);
	__uint(max_entries, DROP_REASON_MAX);
} drop_counters SEC(".maps");

/* 0 → struct pkt_meta: one packet's parse results, handed from stage to stage
 * (per CPU: a packet runs to completion on one CPU). Written and read by the
 * pipeline only. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pkt_meta);
	__uint(max_entries, 1);
} scratch SEC(".maps");

/* Punted packets for the controller (struct punt_record). Read by Go. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 21);
} punts SEC(".maps");

/* STAMP replies for this gateway's prober (struct probe_record), apart from the
 * punts so that neither starves the other and no reply becomes a PacketIn. Read
 * by Go (ProbeReplies). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 19); /* about 330 replies in flight */
} probe_replies SEC(".maps");

/* 0 → MAX_PROBE_BYTES zero octets: the source the STAMP reflector copies over a
 * probe's padding (one helper call whatever its length). Never written. */
struct stamp_zeros {
	__u8 b[MAX_PROBE_BYTES];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct stamp_zeros);
	__uint(max_entries, 1);
} stamp_zeros SEC(".maps");

/* The stateful reflector's sessions (RFC 8762 §4.3): tunnel id × 64 + the
 * probe's DSCP → the sequence number of the session's next reply, under a lock
 * (clang's default BPF target, v1, has no fetch-and-add that returns the old
 * value). Written by the reflector only when Go loaded it stateful; sized
 * MaxTunnels × 64 by Go whatever the mode, so pins survive a change of mode. */
struct stamp_session {
	struct bpf_spin_lock lock;
	__u32 next;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct stamp_session);
	__uint(max_entries, 4096 * 64);
} stamp_sessions SEC(".maps");

/* The reflector's token bucket of each tunnel (RFC 8762 asks reflectors to
 * guard against floods): tunnel id → probes it may still answer, x METER_NS,
 * refilled at stamp_rate per second up to stamp_cap. Shared by every CPU under
 * its lock, so the rate is per tunnel, not per CPU. Written by the reflector
 * only; zeroed by Go's map creation (a first probe finds it full); sized
 * MaxTunnels by Go. */
struct stamp_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 last; /* bpf_ktime_get_ns of the last refill */
	__u64 tok;  /* probes x METER_NS */
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct stamp_bucket);
	__uint(max_entries, 4096);
} stamp_buckets SEC(".maps");

/* Never read or written: its value type keeps the types that the code uses only as
 * constants or through sizeof in BTF, so bpf2go can export them to Go instead of
 * Go mirroring them by hand. */
struct linx_abi {
	struct punt_record punt;
	struct probe_record probe;
	enum role role;
	enum direction direction;
	enum far_action far_action;
	enum tunnel_flags tunnel_flags;
	enum non_ip_action non_ip_action;
	enum nh_state nh_state;
	enum meter_color meter_color;
	enum meter_mode meter_mode;
	enum color_action color_action;
	enum qos_flags qos_flags;
	enum lbr_watch lbr_watch;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct linx_abi);
	__uint(max_entries, 1);
} abi SEC(".maps");

#endif /* LINX_MAPS_H */
