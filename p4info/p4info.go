// Package p4info declares the P4Info of linx's pipeline: the contract between the
// XDP data path, the agent's P4Runtime server and the ONOS pipeconf. The pipeline is
// declared once, in Go (New); p4info.txt is generated from it (go generate ./p4info,
// or make generate) and a test fails when the committed file is stale. Index is the
// validated, immutable lookup structure the server builds from a P4Info.
//
// # Naming
//
// Names follow p4c's output for a P4 control named LinxIngress, because ONOS
// identifies everything by name (PiTableId, PiActionId... are the P4Info
// preamble names) and tools such as p4runtime-shell expect P4-style names:
//
//   - tables, actions, the action profile and counters are fully qualified:
//     "LinxIngress.<object>" (e.g. "LinxIngress.pdr", "LinxIngress.set_far"); their
//     preamble alias is the short name ("pdr"), which p4runtime-shell accepts too;
//   - match fields, action parameters and packet metadata are plain P4 identifiers
//     ("src_addr", "far_id", "ingress_port");
//   - the controller headers are exactly "packet_in" and "packet_out" (no prefix):
//     ONOS looks them up by those names.
//
// Go constants follow one pattern: the kind, then the owner (for fields and
// parameters), then the P4 name in CamelCase — TablePDR, ActionSetFAR,
// FieldPDRSrcAddr (match field src_addr of table pdr), ParamSetGREKey (parameter key
// of action set_gre). Inside a field or parameter name the words "far" and "lbr"
// are written Far and Lbr so that the boundary with the owner stays visible:
// FieldFARFarID is match field far_id of table far. The ID of an object is the same
// identifier with the prefix ID: IDTablePDR, IDFieldPDRSrcAddr, IDParamSetGREKey.
//
// # IDs
//
// Object IDs are 32 bits with the P4Runtime type prefix (p4.config.v1.P4Ids.Prefix)
// in the top byte and a sequence number, starting at 1 in declaration order, in the
// low 24 bits: tables 0x02000001.., actions 0x01000001.., controller headers
// 0x04000001.., action profiles 0x11000001.., counters 0x12000001.., direct
// counters 0x13000001... Match field, parameter and packet metadata IDs are 1..n
// within their table, action or header. IDs are not hashes of names: they never
// change when something is renamed. Rule for edits: append new objects with the
// next free number, never renumber and never reuse the number of a removed object.
//
// # Compatibility with ONOS
//
// ONOS parses the pipeconf's copy of p4info.txt with the P4Runtime protos it was
// built with (v1.2.0 in ONOS 2.5 to 2.7, v1.0.0 in 2.2), and protobuf's text
// parser rejects unknown fields. The P4Info therefore uses only fields that exist
// in P4Runtime v1.0.0: no Table.initial_default_action, has_initial_entries,
// ActionProfile.selector_size_semantics, structured annotations or
// platform properties. The consequences are documented where they matter (pdr's
// initial default action, lbr_selector's group size).
//
// # Pipeline
//
// A packet is classified by table pdr (ternary/range with priorities, higher wins),
// whose entries select a forwarding action rule by id (set_far). Table far applies
// it: drop, pass to the kernel, forward out of a port, encap onto a GRE tunnel,
// balance over tunnels with load-balancing rule lbr (an action selector whose members
// are encap actions), or punt to the controller. Table tunnels describes the GRE
// overlays; table tunnel_term says which GRE packets are decapsulated (and onto which
// tunnel they are accounted). Table non_ip handles frames that are not IPv4, by
// EtherType: pass to the kernel (also its const default), drop, punt, or
// copy_to_controller (a PacketIn, and the frame still goes to the kernel), which
// ONOS's link and host discovery (LLDP, BDDP, ARP) need. Port numbers are the
// agent's P4 port numbers (1..N, the gNMI ifindex), the same in
// packet_in/packet_out metadata.
//
// Default actions: pdr's default action is configurable (pass or drop, DEFAULT_ONLY;
// the data path starts with pass). Every pdr entry must select a FAR (set_far is
// TABLE_ONLY); to send unmatched packets anywhere else, install a wildcard entry at
// the lowest priority. Table non_ip has pass as its const default action (frames
// without an entry go to the kernel). The other tables have drop as a const
// default action: a packet whose FAR, LBR, tunnel or tunnel termination is
// missing is dropped (and counted in drop_counter), and ONOS does not read or
// write their default entries.
package p4info

import (
	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
)

//go:generate go run ./gen

// Package information.
const (
	PkgName = "linx"
	// Arch is pkg_info.arch. ONOS only records it (PiPipelineModel.architecture);
	// "v1model" is avoided on purpose so that no tool assumes BMv2 semantics.
	Arch = "linx-xdp"
	// Version is pkg_info.version, bumped on every change that makes Diff report a
	// difference against the previous version.
	Version = "5"
)

// Tables.
const (
	TablePDR        = "LinxIngress.pdr"
	TableFAR        = "LinxIngress.far"
	TableLBR        = "LinxIngress.lbr"
	TableTunnels    = "LinxIngress.tunnels"
	TableTunnelTerm = "LinxIngress.tunnel_term"
	TableNonIP      = "LinxIngress.non_ip"
	// TableTunnelTerm6 is tunnel_term for GRE inside IPv6 outer headers: a table
	// of its own, so that tunnel_term's 32-bit keys stay as they are.
	TableTunnelTerm6 = "LinxIngress.tunnel_term6"
	TableFARQoS      = "LinxIngress.far_qos"
	TableSLAClass    = "LinxIngress.sla_class"

	IDTablePDR        uint32 = 0x02000001
	IDTableFAR        uint32 = 0x02000002
	IDTableLBR        uint32 = 0x02000003
	IDTableTunnels    uint32 = 0x02000004
	IDTableTunnelTerm uint32 = 0x02000005
	IDTableNonIP      uint32 = 0x02000006
	// Ids from 0x20 up: clear of those that other tables take in sequence.
	IDTableTunnelTerm6 uint32 = 0x02000020
	IDTableFARQoS      uint32 = 0x02000007
	IDTableSLAClass    uint32 = 0x02000008
)

// Match fields of table pdr. Ternary fields with a zero mask are omitted by clients
// (don't care); L4 ports of packets without TCP/UDP headers are 0.
const (
	FieldPDRIngressPort = "ingress_port" // ternary 16: P4 port the packet arrived on
	FieldPDRDirection   = "direction"    // ternary 2: 1 uplink, 2 downlink, 3 underlay
	FieldPDRSrcAddr     = "src_addr"     // ternary 32: IPv4 source (inner header after decap)
	FieldPDRDstAddr     = "dst_addr"     // ternary 32: IPv4 destination
	FieldPDRIPProto     = "ip_proto"     // ternary 8: IPv4 protocol
	FieldPDRL4Sport     = "l4_sport"     // range 16: TCP/UDP source port
	FieldPDRL4Dport     = "l4_dport"     // range 16: TCP/UDP destination port
	FieldPDRDSCP        = "dscp"         // ternary 6: DSCP (upper 6 bits of ToS or traffic class)
	FieldPDRIPVersion   = "ip_version"   // ternary 4: 4 or 6 (mask 0xf); absent: both
	FieldPDRSrcAddr6    = "src_addr6"    // ternary 128: IPv6 source (inner header after decap)
	FieldPDRDstAddr6    = "dst_addr6"    // ternary 128: IPv6 destination

	IDFieldPDRIngressPort uint32 = 1
	IDFieldPDRDirection   uint32 = 2
	IDFieldPDRSrcAddr     uint32 = 3
	IDFieldPDRDstAddr     uint32 = 4
	IDFieldPDRIPProto     uint32 = 5
	IDFieldPDRL4Sport     uint32 = 6
	IDFieldPDRL4Dport     uint32 = 7
	IDFieldPDRDSCP        uint32 = 8
	IDFieldPDRIPVersion   uint32 = 9
	IDFieldPDRSrcAddr6    uint32 = 10
	IDFieldPDRDstAddr6    uint32 = 11
)

// Match fields of tables far, lbr, tunnels and tunnel_term (all exact).
const (
	FieldFARFarID          = "far_id"
	FieldLBRLbrID          = "lbr_id"
	FieldTunnelsTunnelID   = "tunnel_id"
	FieldTunnelTermSrcAddr = "src_addr" // remote tunnel endpoint (outer IPv4 source)
	FieldTunnelTermDstAddr = "dst_addr" // local tunnel endpoint (outer IPv4 destination)
	FieldTunnelTermGREKey  = "gre_key"  // GRE key; 0 = packet carries no key

	IDFieldFARFarID          uint32 = 1
	IDFieldLBRLbrID          uint32 = 1
	IDFieldTunnelsTunnelID   uint32 = 1
	IDFieldTunnelTermSrcAddr uint32 = 1
	IDFieldTunnelTermDstAddr uint32 = 2
	IDFieldTunnelTermGREKey  uint32 = 3
)

// Match fields of table tunnel_term6 (all exact): tunnel_term's, with 128-bit
// addresses named as the pdr's IPv6 fields are (one name, one width across the
// P4Info, which the ONOS app's constants rely on).
const (
	FieldTunnelTerm6SrcAddr = "src_addr6" // remote tunnel endpoint (outer IPv6 source)
	FieldTunnelTerm6DstAddr = "dst_addr6" // local tunnel endpoint (outer IPv6 destination)
	FieldTunnelTerm6GREKey  = "gre_key"   // GRE key; 0 = packet carries no key

	IDFieldTunnelTerm6SrcAddr uint32 = 1
	IDFieldTunnelTerm6DstAddr uint32 = 2
	IDFieldTunnelTerm6GREKey  uint32 = 3
)

// Match field of table non_ip (exact): the EtherType after at most one VLAN tag.
// IPv4 (0x0800) never reaches the table (the pdr table classifies it); entries for
// it, or for a VLAN tag type, are refused with INVALID_ARGUMENT.
const (
	FieldNonIPEthType          = "eth_type"
	IDFieldNonIPEthType uint32 = 1
)

// Match field of table far_qos (exact): the FAR whose meter colors the policy
// acts on; below the meters' size.
const (
	FieldFARQoSFarID          = "far_id"
	IDFieldFARQoSFarID uint32 = 1
)

// Match field of table sla_class (exact): the LBR whose traffic the class is.
// An SLA class restricts which members of one LBR may carry its flows, so it is
// keyed by that LBR: one class per LBR, and no class can name a missing one.
const (
	FieldSLAClassLbrID          = "lbr_id"
	IDFieldSLAClassLbrID uint32 = 1
)

// Actions.
const (
	ActionSetFAR  = "LinxIngress.set_far"  // pdr: select FAR far_id
	ActionDrop    = "LinxIngress.drop"     // discard
	ActionPass    = "LinxIngress.pass"     // hand to the kernel network stack
	ActionForward = "LinxIngress.forward"  // send out of port, unencapsulated
	ActionEncap   = "LinxIngress.encap"    // GRE-encapsulate onto tunnel_id
	ActionBalance = "LinxIngress.balance"  // load-balance with LBR lbr_id
	ActionPunt    = "LinxIngress.punt"     // send to the controller (PacketIn)
	ActionSetGRE  = "LinxIngress.set_gre"  // tunnels: describe a GRE overlay
	ActionDecap   = "LinxIngress.decap"    // tunnel_term: decapsulate, account to tunnel_id
	ActionSetGRE6 = "LinxIngress.set_gre6" // tunnels: a GRE overlay over an IPv6 underlay
	// ActionCopyToController: non_ip: send a copy to the controller and pass the
	// frame to the kernel.
	ActionCopyToController = "LinxIngress.copy_to_controller"
	// ActionSetQoS: far_qos: what each meter color does (pass, remark, drop).
	ActionSetQoS = "LinxIngress.set_qos"
	// ActionPolice: far_qos's const default: green and yellow pass, red drops.
	ActionPolice = "LinxIngress.police"
	// ActionSetSLA: sla_class: the SLA limits of the LBR's traffic, which the
	// agent's prober enforces by choosing the members that meet them.
	ActionSetSLA = "LinxIngress.set_sla"
	// ActionNoSLA: sla_class's const default: no limits, every live member.
	ActionNoSLA = "LinxIngress.no_sla"

	IDActionSetFAR           uint32 = 0x01000001
	IDActionDrop             uint32 = 0x01000002
	IDActionPass             uint32 = 0x01000003
	IDActionForward          uint32 = 0x01000004
	IDActionEncap            uint32 = 0x01000005
	IDActionBalance          uint32 = 0x01000006
	IDActionPunt             uint32 = 0x01000007
	IDActionSetGRE           uint32 = 0x01000008
	IDActionDecap            uint32 = 0x01000009
	IDActionCopyToController uint32 = 0x0100000a
	IDActionSetGRE6          uint32 = 0x01000020 // from 0x20: clear of ids taken in sequence
	IDActionSetQoS           uint32 = 0x0100000b
	IDActionPolice           uint32 = 0x0100000c
	IDActionSetSLA           uint32 = 0x0100000d
	IDActionNoSLA            uint32 = 0x0100000e
)

// Action parameters.
const (
	ParamSetFARFarID    = "far_id"
	ParamForwardPort    = "port"
	ParamEncapTunnelID  = "tunnel_id"
	ParamBalanceLbrID   = "lbr_id"
	ParamSetGREPort     = "port"     // WAN port the overlay leaves by
	ParamSetGRESrcAddr  = "src_addr" // local underlay IPv4 address
	ParamSetGREDstAddr  = "dst_addr" // remote underlay IPv4 address
	ParamSetGREKey      = "key"      // GRE key; 0 = no key field
	ParamDecapTunnelID  = "tunnel_id"
	ParamSetGRE6Port    = "port"      // WAN port the overlay leaves by
	ParamSetGRE6SrcAddr = "src_addr6" // local underlay IPv6 address
	ParamSetGRE6DstAddr = "dst_addr6" // remote underlay IPv6 address
	ParamSetGRE6Key     = "key"       // GRE key; 0 = no key field
	ParamSetSLADSCP     = "dscp"      // DSCP of the class's probes
	ParamSetSLARttUs    = "rtt_us"    // round-trip time limit, µs; 0 = none
	ParamSetSLALossPpm  = "loss_ppm"  // loss limit, parts per million (0..1e6); 0 = none
	ParamSetSLAJitterUs = "jitter_us" // jitter limit, µs; 0 = none

	IDParamSetFARFarID    uint32 = 1
	IDParamForwardPort    uint32 = 1
	IDParamEncapTunnelID  uint32 = 1
	IDParamBalanceLbrID   uint32 = 1
	IDParamSetGREPort     uint32 = 1
	IDParamSetGRESrcAddr  uint32 = 2
	IDParamSetGREDstAddr  uint32 = 3
	IDParamSetGREKey      uint32 = 4
	IDParamDecapTunnelID  uint32 = 1
	IDParamSetGRE6Port    uint32 = 1
	IDParamSetGRE6SrcAddr uint32 = 2
	IDParamSetGRE6DstAddr uint32 = 3
	IDParamSetGRE6Key     uint32 = 4
	IDParamSetSLADSCP     uint32 = 1
	IDParamSetSLARttUs    uint32 = 2
	IDParamSetSLALossPpm  uint32 = 3
	IDParamSetSLAJitterUs uint32 = 4
)

// Parameters of set_qos: per color an action (ColorPass 0, ColorRemark 1,
// ColorDrop 2) and the DSCP a remark sets.
const (
	ParamSetQoSGreen      = "green"
	ParamSetQoSGreenDSCP  = "green_dscp"
	ParamSetQoSYellow     = "yellow"
	ParamSetQoSYellowDSCP = "yellow_dscp"
	ParamSetQoSRed        = "red"
	ParamSetQoSRedDSCP    = "red_dscp"

	IDParamSetQoSGreen      uint32 = 1
	IDParamSetQoSGreenDSCP  uint32 = 2
	IDParamSetQoSYellow     uint32 = 3
	IDParamSetQoSYellowDSCP uint32 = 4
	IDParamSetQoSRed        uint32 = 5
	IDParamSetQoSRedDSCP    uint32 = 6
)

// Color actions of set_qos.
const (
	ColorPass   = 0
	ColorRemark = 1
	ColorDrop   = 2
)

// Meters. Both are indirect, indexed by FAR id (a FAR is metered by the cells
// of its own id, so no action parameter names a meter and the FAR table keeps
// its actions), two-rate three-color (the MeterSpec type is left unset, which
// is TWO_RATE_THREE_COLOR, because ONOS cannot parse the field); a config with
// eburst set is a single-rate three-color marker (RFC 2697). See
// docs/p4runtime.md.
const (
	MeterFAR       = "LinxIngress.far_meter"        // bytes; index: FAR id
	MeterFARPacket = "LinxIngress.far_packet_meter" // packets; index: FAR id

	IDMeterFAR       uint32 = 0x14000001
	IDMeterFARPacket uint32 = 0x14000002

	// DirectMeterPDR meters each pdr entry's packets in bytes; its colors
	// combine with the FAR's meters' (the worse wins) under the FAR's far_qos
	// policy.
	DirectMeterPDR          = "LinxIngress.pdr_meter"
	IDDirectMeterPDR uint32 = 0x15000001
)

// Action profile (an action selector) implementing table lbr.
const (
	ActionProfileLBRSelector          = "LinxIngress.lbr_selector"
	IDActionProfileLBRSelector uint32 = 0x11000001
)

// Counters. All count packets and bytes.
const (
	DirectCounterPDR          = "LinxIngress.pdr_counter" // per pdr entry
	IDDirectCounterPDR uint32 = 0x13000001

	DirectCounterNonIP          = "LinxIngress.non_ip_counter" // per non_ip entry
	IDDirectCounterNonIP uint32 = 0x13000002

	CounterPortRX   = "LinxIngress.port_rx_counter"   // index: port number; received by XDP
	CounterPortTX   = "LinxIngress.port_tx_counter"   // index: port number; transmitted by XDP
	CounterTunnelTX = "LinxIngress.tunnel_tx_counter" // index: tunnel id; encapsulated
	CounterTunnelRX = "LinxIngress.tunnel_rx_counter" // index: tunnel id; decapsulated
	CounterDrop     = "LinxIngress.drop_counter"      // index: drop reason code

	IDCounterPortRX   uint32 = 0x12000001
	IDCounterPortTX   uint32 = 0x12000002
	IDCounterTunnelTX uint32 = 0x12000003
	IDCounterTunnelRX uint32 = 0x12000004
	IDCounterDrop     uint32 = 0x12000005
)

// Controller packet metadata. Each header is a whole number of bytes.
const (
	PacketIn        = "packet_in"
	PacketOut       = "packet_out"
	MetaIngressPort = "ingress_port" // packet_in: port the packet arrived on
	MetaEgressPort  = "egress_port"  // packet_out: port to transmit on

	IDPacketIn        uint32 = 0x04000001
	IDPacketOut       uint32 = 0x04000002
	IDMetaIngressPort uint32 = 1
	IDMetaEgressPort  uint32 = 1
)

// Bit widths of the values carried in matches, parameters and metadata.
const (
	BitsPort      = 16 // P4 port numbers
	BitsDirection = 2
	BitsAddr      = 32  // IPv4 addresses
	BitsAddr6     = 128 // IPv6 addresses
	BitsIPVersion = 4
	BitsIPProto   = 8
	BitsL4Port    = 16
	BitsDSCP      = 6
	BitsRuleID    = 32 // far_id, lbr_id, tunnel_id
	BitsGREKey    = 32
	BitsEthType   = 16
	BitsColorAct  = 2  // set_qos color actions
	BitsMicros    = 32 // sla limits in µs (up to 71 minutes)
	BitsPPM       = 20 // parts per million, 0..1e6
)

// Sizes are the capacities advertised in the P4Info. They are not part of the
// contract (Diff ignores them): the agent advertises what its data path was
// configured with. Zero fields take the values of DefaultSizes.
type Sizes struct {
	PDRs        int // entries of table pdr
	FARs        int // entries of table far
	LBRs        int // entries of table lbr
	Tunnels     int // entries of table tunnels; also the size of the tunnel counters (tunnel ids must be < Tunnels)
	TunnelTerms int // entries of table tunnel_term
	NonIPRules  int // entries of table non_ip
	SLAClasses  int // entries of table sla_class
	Ports       int // size of the port counters (port numbers must be < Ports)
	DropReasons int // size of drop_counter (drop reason codes must be < DropReasons)
	Meters      int // size of far_meter, far_packet_meter and table far_qos (FAR ids that can be metered)

	// LBRMembers is the size of lbr_selector: members across all groups.
	LBRMembers int
	// LBRMaxGroupSize is lbr_selector's max_group_size: members per group.
	LBRMaxGroupSize int
}

// DefaultSizes are the sizes of the committed p4info.txt. They equal the data
// path's defaults (dataplane.DefaultOptions; a test checks it). LBRMembers is
// LBRs*LBRMaxGroupSize, so that ONOS, which allocates members per group, can fill
// every group.
var DefaultSizes = Sizes{
	PDRs:            100_000,
	FARs:            65_536,
	LBRs:            1_024,
	Tunnels:         4_096,
	TunnelTerms:     4_096,
	NonIPRules:      64,
	SLAClasses:      64,
	Ports:           512,
	DropReasons:     64,
	Meters:          4_096,
	LBRMembers:      1_024 * 16,
	LBRMaxGroupSize: 16,
}

// WithDefaults returns s with zero fields replaced by DefaultSizes.
func (s Sizes) WithDefaults() Sizes {
	d := DefaultSizes
	def := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&s.PDRs, d.PDRs)
	def(&s.FARs, d.FARs)
	def(&s.LBRs, d.LBRs)
	def(&s.Tunnels, d.Tunnels)
	def(&s.TunnelTerms, d.TunnelTerms)
	def(&s.NonIPRules, d.NonIPRules)
	def(&s.SLAClasses, d.SLAClasses)
	def(&s.Ports, d.Ports)
	def(&s.DropReasons, d.DropReasons)
	def(&s.Meters, d.Meters)
	def(&s.LBRMembers, d.LBRMembers)
	def(&s.LBRMaxGroupSize, d.LBRMaxGroupSize)
	return s
}

// New returns linx's P4Info with the given sizes (zero fields take defaults). Every
// call returns a fresh message that the caller owns. Negative sizes yield a P4Info
// that NewIndex rejects.
func New(sizes Sizes) *p4configv1.P4Info {
	s := sizes.WithDefaults()
	return &p4configv1.P4Info{
		PkgInfo: &p4configv1.PkgInfo{
			Name:    PkgName,
			Version: Version,
			Arch:    Arch,
			Doc: doc("linx SD-WAN edge gateway: XDP data path driven through P4Runtime",
				"Rules of the HELIOS/LINX model: PDR (packet detection), FAR (forwarding action), "+
					"LBR (load balancing over GRE overlays), plus the GRE overlays and their terminations."),
		},
		Tables: []*p4configv1.Table{
			{
				Preamble: preamble(IDTablePDR, TablePDR,
					"Packet detection rules: classify a packet and select a FAR (highest priority wins)",
					"The default action applies on a miss: pass (initially) or drop. "+
						"Every entry selects a FAR; install a lowest-priority wildcard entry to send unmatched packets elsewhere."),
				MatchFields: []*p4configv1.MatchField{
					ternary(IDFieldPDRIngressPort, FieldPDRIngressPort, BitsPort, "P4 port number the packet arrived on"),
					ternary(IDFieldPDRDirection, FieldPDRDirection, BitsDirection,
						"1 uplink (from a LAN port), 2 downlink (from a WAN port, decapsulated), 3 underlay (plain traffic on a WAN port)"),
					ternary(IDFieldPDRSrcAddr, FieldPDRSrcAddr, BitsAddr, "IPv4 source address (of the inner header after decapsulation)"),
					ternary(IDFieldPDRDstAddr, FieldPDRDstAddr, BitsAddr, "IPv4 destination address (of the inner header after decapsulation)"),
					ternary(IDFieldPDRIPProto, FieldPDRIPProto, BitsIPProto, "IPv4 protocol number; IPv6: the upper-layer protocol after the extension headers"),
					rangeField(IDFieldPDRL4Sport, FieldPDRL4Sport, BitsL4Port, "TCP/UDP source port (0 without TCP/UDP header)"),
					rangeField(IDFieldPDRL4Dport, FieldPDRL4Dport, BitsL4Port, "TCP/UDP destination port (0 without TCP/UDP header)"),
					ternary(IDFieldPDRDSCP, FieldPDRDSCP, BitsDSCP, "DSCP: upper 6 bits of the IPv4 ToS byte or IPv6 traffic class"),
					ternary(IDFieldPDRIPVersion, FieldPDRIPVersion, BitsIPVersion,
						"IP version the entry applies to: 4 or 6, mask 0xf; absent: both (implied by src_addr/dst_addr or src_addr6/dst_addr6)"),
					ternary(IDFieldPDRSrcAddr6, FieldPDRSrcAddr6, BitsAddr6, "IPv6 source address (of the inner header after decapsulation)"),
					ternary(IDFieldPDRDstAddr6, FieldPDRDstAddr6, BitsAddr6, "IPv6 destination address (of the inner header after decapsulation)"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionSetFAR, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionPass, p4configv1.ActionRef_DEFAULT_ONLY),
					actionRef(IDActionDrop, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				DirectResourceIds: []uint32{IDDirectCounterPDR, IDDirectMeterPDR},
				Size:              int64(s.PDRs),
			},
			{
				Preamble: preamble(IDTableFAR, TableFAR,
					"Forwarding action rules: what to do with a packet a PDR selected",
					"A miss (a PDR naming an unknown far_id) drops the packet."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldFARFarID, FieldFARFarID, BitsRuleID, "FAR id, chosen by the controller"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionDrop, p4configv1.ActionRef_TABLE_AND_DEFAULT),
					actionRef(IDActionPass, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionForward, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionEncap, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionBalance, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionPunt, p4configv1.ActionRef_TABLE_ONLY),
				},
				ConstDefaultActionId: IDActionDrop,
				Size:                 int64(s.FARs),
			},
			{
				Preamble: preamble(IDTableLBR, TableLBR,
					"Load-balancing rules: spread a class of traffic over weighted GRE overlays",
					"Entries point to a group of lbr_selector (5-tuple hash, weighted members, each an encap action). "+
						"Members whose tunnel is down are skipped. A miss drops the packet."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldLBRLbrID, FieldLBRLbrID, BitsRuleID, "LBR id, chosen by the controller"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionEncap, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionDrop, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				ConstDefaultActionId: IDActionDrop,
				ImplementationId:     IDActionProfileLBRSelector,
				Size:                 int64(s.LBRs),
			},
			{
				Preamble: preamble(IDTableTunnels, TableTunnels,
					"GRE overlays (RFC 2784, key per RFC 2890)",
					"Underlay next-hop MAC addresses come from the kernel. Tunnel ids must be below the size of the tunnel counters. "+
						"Encapsulating onto a missing tunnel drops the packet."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldTunnelsTunnelID, FieldTunnelsTunnelID, BitsRuleID, "tunnel id, chosen by the controller"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionSetGRE, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionSetGRE6, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionDrop, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				ConstDefaultActionId: IDActionDrop,
				Size:                 int64(s.Tunnels),
			},
			{
				Preamble: preamble(IDTableTunnelTerm, TableTunnelTerm,
					"GRE tunnel terminations: which GRE packets this gateway decapsulates",
					"A GRE packet to a local tunnel address that matches no entry is dropped as spoofed; non-GRE packets never reach this table."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldTunnelTermSrcAddr, FieldTunnelTermSrcAddr, BitsAddr, "remote tunnel endpoint: outer IPv4 source"),
					exact(IDFieldTunnelTermDstAddr, FieldTunnelTermDstAddr, BitsAddr, "local tunnel endpoint: outer IPv4 destination"),
					exact(IDFieldTunnelTermGREKey, FieldTunnelTermGREKey, BitsGREKey, "GRE key; 0 matches packets without a key field"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionDecap, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionDrop, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				ConstDefaultActionId: IDActionDrop,
				Size:                 int64(s.TunnelTerms),
			},
			{
				Preamble: preamble(IDTableTunnelTerm6, TableTunnelTerm6,
					"GRE tunnel terminations over an IPv6 underlay: tunnel_term for GRE inside IPv6 outer headers",
					"A GRE packet to a local IPv6 tunnel address that matches no entry is dropped as spoofed. "+
						"tunnel_term and tunnel_term6 share one capacity: size is that of both together."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldTunnelTerm6SrcAddr, FieldTunnelTerm6SrcAddr, BitsAddr6, "remote tunnel endpoint: outer IPv6 source"),
					exact(IDFieldTunnelTerm6DstAddr, FieldTunnelTerm6DstAddr, BitsAddr6, "local tunnel endpoint: outer IPv6 destination"),
					exact(IDFieldTunnelTerm6GREKey, FieldTunnelTerm6GREKey, BitsGREKey, "GRE key; 0 matches packets without a key field"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionDecap, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionDrop, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				ConstDefaultActionId: IDActionDrop,
				Size:                 int64(s.TunnelTerms),
			},
			{
				Preamble: preamble(IDTableNonIP, TableNonIP,
					"What to do with frames that are not IPv4 (ARP, LLDP, IPv6...), by EtherType; default: pass to the kernel",
					"IPv4 goes to table pdr and never reaches this table: an entry for 0x0800 (or a VLAN tag type) is refused. "+
						"punt and copy_to_controller send a PacketIn with ingress_port, as the far action punt does."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldNonIPEthType, FieldNonIPEthType, BitsEthType, "EtherType after at most one VLAN tag"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionPass, p4configv1.ActionRef_TABLE_AND_DEFAULT),
					actionRef(IDActionDrop, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionPunt, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionCopyToController, p4configv1.ActionRef_TABLE_ONLY),
				},
				ConstDefaultActionId: IDActionPass,
				DirectResourceIds:    []uint32{IDDirectCounterNonIP},
				Size:                 int64(s.NonIPRules),
			},
			{
				Preamble: preamble(IDTableFARQoS, TableFARQoS,
					"What each color of a FAR's meters does: pass, remark the inner DSCP, or drop",
					"Keyed by FAR id (below the meters' size). Without a meter config every packet is green, so a green remark "+
						"sets the DSCP of all the FAR's packets. A miss applies police: green and yellow pass, red drops."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldFARQoSFarID, FieldFARQoSFarID, BitsRuleID, "FAR id; also the index of its far_meter and far_packet_meter cells"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionSetQoS, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionPolice, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				ConstDefaultActionId: IDActionPolice,
				Size:                 int64(s.Meters),
			},
			{
				Preamble: preamble(IDTableSLAClass, TableSLAClass,
					"SLA classes: the limits an LBR's traffic must be carried within (docs/sla.md)",
					"The agent's prober measures every member tunnel of the LBR; only members within the limits carry "+
						"its flows, and when none is, the best live one does. A limit of 0 is not checked. Without an entry "+
						"(no_sla), every live member carries the LBR's traffic."),
				MatchFields: []*p4configv1.MatchField{
					exact(IDFieldSLAClassLbrID, FieldSLAClassLbrID, BitsRuleID, "id of an entry of table lbr"),
				},
				ActionRefs: []*p4configv1.ActionRef{
					actionRef(IDActionSetSLA, p4configv1.ActionRef_TABLE_ONLY),
					actionRef(IDActionNoSLA, p4configv1.ActionRef_DEFAULT_ONLY),
				},
				ConstDefaultActionId: IDActionNoSLA,
				Size:                 int64(s.SLAClasses),
			},
		},
		Actions: []*p4configv1.Action{
			action(IDActionSetFAR, ActionSetFAR, "Select forwarding action rule far_id",
				param(IDParamSetFARFarID, ParamSetFARFarID, BitsRuleID, "id of an entry of table far")),
			action(IDActionDrop, ActionDrop, "Discard the packet (counted in drop_counter)"),
			action(IDActionPass, ActionPass, "Hand the packet to the kernel network stack"),
			action(IDActionForward, ActionForward, "Send the packet out of a port, unencapsulated",
				param(IDParamForwardPort, ParamForwardPort, BitsPort, "P4 port number")),
			action(IDActionEncap, ActionEncap, "GRE-encapsulate the packet onto a tunnel",
				param(IDParamEncapTunnelID, ParamEncapTunnelID, BitsRuleID, "id of an entry of table tunnels")),
			action(IDActionBalance, ActionBalance, "Pick a tunnel with a load-balancing rule",
				param(IDParamBalanceLbrID, ParamBalanceLbrID, BitsRuleID, "id of an entry of table lbr")),
			action(IDActionPunt, ActionPunt, "Send the packet to the controller as a PacketIn"),
			action(IDActionSetGRE, ActionSetGRE, "Describe a GRE overlay",
				param(IDParamSetGREPort, ParamSetGREPort, BitsPort, "WAN port the overlay leaves by"),
				param(IDParamSetGRESrcAddr, ParamSetGRESrcAddr, BitsAddr, "local underlay IPv4 address"),
				param(IDParamSetGREDstAddr, ParamSetGREDstAddr, BitsAddr, "remote underlay IPv4 address"),
				param(IDParamSetGREKey, ParamSetGREKey, BitsGREKey, "GRE key; 0 = no key field")),
			action(IDActionDecap, ActionDecap, "Decapsulate the GRE packet and account it to a tunnel",
				param(IDParamDecapTunnelID, ParamDecapTunnelID, BitsRuleID, "id of an entry of table tunnels")),
			action(IDActionSetGRE6, ActionSetGRE6, "Describe a GRE overlay over an IPv6 underlay",
				param(IDParamSetGRE6Port, ParamSetGRE6Port, BitsPort, "WAN port the overlay leaves by"),
				param(IDParamSetGRE6SrcAddr, ParamSetGRE6SrcAddr, BitsAddr6, "local underlay IPv6 address"),
				param(IDParamSetGRE6DstAddr, ParamSetGRE6DstAddr, BitsAddr6, "remote underlay IPv6 address"),
				param(IDParamSetGRE6Key, ParamSetGRE6Key, BitsGREKey, "GRE key; 0 = no key field")),
			action(IDActionCopyToController, ActionCopyToController,
				"Send a copy to the controller (PacketIn) and pass the frame on to the kernel (ARP must still reach the gateway's kernel, which answers it)"),
			action(IDActionSetQoS, ActionSetQoS, "Per meter color: 0 pass, 1 remark the inner DSCP to the color's dscp, 2 drop (counted as meter)",
				param(IDParamSetQoSGreen, ParamSetQoSGreen, BitsColorAct, "green: 0 pass, 1 remark, 2 drop"),
				param(IDParamSetQoSGreenDSCP, ParamSetQoSGreenDSCP, BitsDSCP, "DSCP a green remark sets"),
				param(IDParamSetQoSYellow, ParamSetQoSYellow, BitsColorAct, "yellow: 0 pass, 1 remark, 2 drop"),
				param(IDParamSetQoSYellowDSCP, ParamSetQoSYellowDSCP, BitsDSCP, "DSCP a yellow remark sets"),
				param(IDParamSetQoSRed, ParamSetQoSRed, BitsColorAct, "red: 0 pass, 1 remark, 2 drop"),
				param(IDParamSetQoSRedDSCP, ParamSetQoSRedDSCP, BitsDSCP, "DSCP a red remark sets")),
			action(IDActionPolice, ActionPolice, "Green and yellow pass, red drops (counted as meter)"),
			action(IDActionSetSLA, ActionSetSLA, "Carry the LBR's traffic only on members within these limits",
				param(IDParamSetSLADSCP, ParamSetSLADSCP, BitsDSCP, "DSCP of the probes that measure the class's path"),
				param(IDParamSetSLARttUs, ParamSetSLARttUs, BitsMicros, "round-trip time limit in microseconds; 0: none"),
				param(IDParamSetSLALossPpm, ParamSetSLALossPpm, BitsPPM, "loss limit in parts per million (at most 1000000); 0: none"),
				param(IDParamSetSLAJitterUs, ParamSetSLAJitterUs, BitsMicros, "jitter limit in microseconds; 0: none")),
			action(IDActionNoSLA, ActionNoSLA, "No SLA limits: every live member of the LBR carries its traffic"),
		},
		ActionProfiles: []*p4configv1.ActionProfile{{
			Preamble: preamble(IDActionProfileLBRSelector, ActionProfileLBRSelector,
				"Action selector of table lbr: weighted encap members, selected by a 5-tuple hash",
				"max_group_size counts members, whatever their weights (sum_of_members semantics, as ONOS assumes; "+
					"the field selector_size_semantics is left unset because ONOS cannot parse it)."),
			TableIds:     []uint32{IDTableLBR},
			WithSelector: true,
			Size:         int64(s.LBRMembers),
			MaxGroupSize: int32(s.LBRMaxGroupSize),
		}},
		Counters: []*p4configv1.Counter{
			counter(IDCounterPortRX, CounterPortRX, s.Ports, "Packets and bytes received by XDP, indexed by port number"),
			counter(IDCounterPortTX, CounterPortTX, s.Ports, "Packets and bytes transmitted by XDP, indexed by port number"),
			counter(IDCounterTunnelTX, CounterTunnelTX, s.Tunnels, "Packets and bytes encapsulated onto each tunnel, indexed by tunnel id"),
			counter(IDCounterTunnelRX, CounterTunnelRX, s.Tunnels, "Packets and bytes decapsulated from each tunnel, indexed by tunnel id"),
			counter(IDCounterDrop, CounterDrop, s.DropReasons, "Packets and bytes dropped, indexed by drop reason code (see docs/datapath.md)"),
		},
		Meters: []*p4configv1.Meter{
			{
				Preamble: preamble(IDMeterFAR, MeterFAR, "Meters FAR id's packets in bytes (rates in bytes/s, bursts in bytes)",
					"Two-rate three-color (RFC 2698); with eburst set, single-rate three-color (RFC 2697, cir = pir, cburst = pburst). "+
						"No config: every packet green. Colors act as table far_qos says."),
				Spec: &p4configv1.MeterSpec{Unit: p4configv1.MeterSpec_BYTES},
				Size: int64(s.Meters),
			},
			{
				Preamble: preamble(IDMeterFARPacket, MeterFARPacket, "Meters FAR id's packets in packets (rates in packets/s, bursts in packets)",
					"As far_meter; a FAR with both meters takes the worse color."),
				Spec: &p4configv1.MeterSpec{Unit: p4configv1.MeterSpec_PACKETS},
				Size: int64(s.Meters),
			},
		},
		DirectMeters: []*p4configv1.DirectMeter{{
			Preamble: preamble(IDDirectMeterPDR, DirectMeterPDR, "Meters each pdr entry's packets in bytes",
				"As far_meter (trTCM; eburst set: srTCM); the packet takes the worse of its colors and those of its FAR's meters, and the FAR's far_qos policy acts on it."),
			Spec:          &p4configv1.MeterSpec{Unit: p4configv1.MeterSpec_BYTES},
			DirectTableId: IDTablePDR,
		}},
		DirectCounters: []*p4configv1.DirectCounter{
			{
				Preamble:      preamble(IDDirectCounterPDR, DirectCounterPDR, "Packets and bytes matched by each pdr entry", ""),
				Spec:          &p4configv1.CounterSpec{Unit: p4configv1.CounterSpec_BOTH},
				DirectTableId: IDTablePDR,
			},
			{
				Preamble:      preamble(IDDirectCounterNonIP, DirectCounterNonIP, "Packets and bytes handled by each non_ip entry", ""),
				Spec:          &p4configv1.CounterSpec{Unit: p4configv1.CounterSpec_BOTH},
				DirectTableId: IDTableNonIP,
			},
		},
		ControllerPacketMetadata: []*p4configv1.ControllerPacketMetadata{
			{
				Preamble: &p4configv1.Preamble{Id: IDPacketIn, Name: PacketIn,
					Doc: doc("Metadata of PacketIn messages (packets punted to the controller)", "")},
				Metadata: []*p4configv1.ControllerPacketMetadata_Metadata{
					{Id: IDMetaIngressPort, Name: MetaIngressPort, Bitwidth: BitsPort},
				},
			},
			{
				Preamble: &p4configv1.Preamble{Id: IDPacketOut, Name: PacketOut,
					Doc: doc("Metadata of PacketOut messages (frames the controller transmits as is)", "")},
				Metadata: []*p4configv1.ControllerPacketMetadata_Metadata{
					{Id: IDMetaEgressPort, Name: MetaEgressPort, Bitwidth: BitsPort},
				},
			},
		},
	}
}

func doc(brief, description string) *p4configv1.Documentation {
	return &p4configv1.Documentation{Brief: brief, Description: description}
}

// preamble names a fully qualified object; its alias is the part after the control.
func preamble(id uint32, name, brief, description string) *p4configv1.Preamble {
	alias := name
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			alias = name[i+1:]
			break
		}
	}
	return &p4configv1.Preamble{Id: id, Name: name, Alias: alias, Doc: doc(brief, description)}
}

func matchField(id uint32, name string, bits int32, mt p4configv1.MatchField_MatchType, brief string) *p4configv1.MatchField {
	return &p4configv1.MatchField{
		Id: id, Name: name, Bitwidth: bits,
		Match: &p4configv1.MatchField_MatchType_{MatchType: mt},
		Doc:   doc(brief, ""),
	}
}

func exact(id uint32, name string, bits int32, brief string) *p4configv1.MatchField {
	return matchField(id, name, bits, p4configv1.MatchField_EXACT, brief)
}

func ternary(id uint32, name string, bits int32, brief string) *p4configv1.MatchField {
	return matchField(id, name, bits, p4configv1.MatchField_TERNARY, brief)
}

func rangeField(id uint32, name string, bits int32, brief string) *p4configv1.MatchField {
	return matchField(id, name, bits, p4configv1.MatchField_RANGE, brief)
}

func actionRef(id uint32, scope p4configv1.ActionRef_Scope) *p4configv1.ActionRef {
	return &p4configv1.ActionRef{Id: id, Scope: scope}
}

func action(id uint32, name, brief string, params ...*p4configv1.Action_Param) *p4configv1.Action {
	return &p4configv1.Action{Preamble: preamble(id, name, brief, ""), Params: params}
}

func param(id uint32, name string, bits int32, brief string) *p4configv1.Action_Param {
	return &p4configv1.Action_Param{Id: id, Name: name, Bitwidth: bits, Doc: doc(brief, "")}
}

func counter(id uint32, name string, size int, brief string) *p4configv1.Counter {
	return &p4configv1.Counter{
		Preamble: preamble(id, name, brief, ""),
		Spec:     &p4configv1.CounterSpec{Unit: p4configv1.CounterSpec_BOTH},
		Size:     int64(size),
	}
}
