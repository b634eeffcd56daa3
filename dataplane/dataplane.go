// Package dataplane is the contract between linx's control plane and its data
// paths: the typed rules (PDR, FAR, LBR, tunnels, tunnel terminations, non_ip
// rules), the Dataplane interface that installs them, their validation and the
// errors callers map to RPC codes. It has no kernel dependency, so the P4Runtime
// server, translation and the operator CLI build anywhere.
//
// Two implementations: package xdp (the XDP pipeline of bpf/, loaded with
// cilium/ebpf) and package memdp (in memory, for unprivileged tests of the layers
// above). Package dataplanetest holds the suite both must pass. The enum values
// here are those of bpf/linx.h; package xdp fails to compile if they drift.
package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// PortID is a P4 port number: unique per interface, 1..MaxPorts-1. The same number
// appears in gNMI as ifindex and in PacketIn/PacketOut metadata.
type PortID uint16

// PDRID names an installed packet detection rule. It is chosen by the data path on
// insert and doubles as the index of the rule's counter.
type PDRID uint32

// FARID, LBRID and TunnelID are chosen by the controller.
type (
	FARID    uint32
	LBRID    uint32
	TunnelID uint32
)

// Role says whether a port faces the LAN or the WAN (underlay).
type Role uint8

const (
	RoleLAN = Role(1)
	RoleWAN = Role(2)
)

func (r Role) String() string {
	switch r {
	case RoleLAN:
		return "lan"
	case RoleWAN:
		return "wan"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Direction is the classifier's view of where a packet came from.
type Direction uint8

const (
	// DirUplink: arrived on a LAN port.
	DirUplink = Direction(1)
	// DirDownlink: arrived on a WAN port inside a GRE overlay and was decapsulated.
	DirDownlink = Direction(2)
	// DirUnderlay: arrived on a WAN port outside any overlay (plain underlay traffic).
	DirUnderlay = Direction(3)
)

// XDPMode selects how programs are attached.
type XDPMode uint8

const (
	// XDPNative attaches in the driver (the default; veth supports it).
	XDPNative XDPMode = iota
	// XDPGeneric attaches in the skb path: slow, only when asked for.
	XDPGeneric
)

func (m XDPMode) String() string {
	if m == XDPGeneric {
		return "generic"
	}
	return "native"
}

// Ternary matches value v when v&Mask == Value. A zero Mask matches everything.
type Ternary[T ~uint8 | ~uint16 | ~uint32] struct {
	Value, Mask T
}

// Exact returns a ternary that matches v only.
func Exact[T ~uint8 | ~uint16 | ~uint32](v T) Ternary[T] { return Ternary[T]{Value: v, Mask: ^T(0)} }

// Matches reports whether v matches t.
func (t Ternary[T]) Matches(v T) bool { return v&t.Mask == t.Value }

// PortRange matches L4 ports Lo..Hi inclusive. AnyPort matches every port; the zero
// value matches port 0 only.
type PortRange struct{ Lo, Hi uint16 }

// AnyPort is the wildcard port range.
var AnyPort = PortRange{0, 0xffff}

// OnePort returns the range holding p only.
func OnePort(p uint16) PortRange { return PortRange{p, p} }

// Contains reports whether p is within r.
func (r PortRange) Contains(p uint16) bool { return p >= r.Lo && p <= r.Hi }

// IPv4 converts an IPv4 address to the host-order integer used in matches.
func IPv4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// AddrFrom4 is the inverse of IPv4.
func AddrFrom4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Prefix returns the ternary match for an IPv4 prefix.
func Prefix(p netip.Prefix) Ternary[uint32] {
	if p.Bits() == 0 {
		return Ternary[uint32]{}
	}
	mask := ^uint32(0) << (32 - p.Bits())
	return Ternary[uint32]{Value: IPv4(p.Masked().Addr()), Mask: mask}
}

// Addr6 matches an IPv6 address v when v&Mask == Value, bytes in network order.
// A zero Mask matches everything.
type Addr6 struct {
	Value, Mask [16]byte
}

// Prefix6 returns the match of an IPv6 prefix.
func Prefix6(p netip.Prefix) Addr6 {
	var m Addr6
	for i := 0; i < p.Bits(); i++ {
		m.Mask[i/8] |= 0x80 >> (i % 8)
	}
	a := p.Addr().As16()
	for i := range a {
		m.Value[i] = a[i] & m.Mask[i]
	}
	return m
}

// Matches reports whether a matches m.
func (m Addr6) Matches(a [16]byte) bool {
	for i := range a {
		if a[i]&m.Mask[i] != m.Value[i] {
			return false
		}
	}
	return true
}

// IsZero reports a wildcard.
func (m Addr6) IsZero() bool { return m.Mask == [16]byte{} }

// IP versions of PDRMatch.Family.
const (
	FamilyAny  = uint8(0) // both (a rule without address fields)
	FamilyIPv4 = uint8(4)
	FamilyIPv6 = uint8(6)
)

// PDRMatch holds every field a packet detection rule can match. L4 ports of packets
// without TCP/UDP headers (ICMP, fragments) are 0. Proto is the IPv4 protocol or
// the IPv6 upper-layer protocol (after extension headers), DSCP the upper 6 bits of
// the ToS byte or traffic class.
type PDRMatch struct {
	InPort    Ternary[uint16]
	Direction Ternary[uint8]
	Src, Dst  Ternary[uint32] // IPv4 only
	Proto     Ternary[uint8]
	SrcPort   PortRange
	DstPort   PortRange
	DSCP      Ternary[uint8]
	// Family restricts the rule to IPv4 or IPv6 packets (FamilyIPv4, FamilyIPv6);
	// FamilyAny matches both. Src/Dst imply IPv4, Src6/Dst6 IPv6.
	Family     uint8
	Src6, Dst6 Addr6 // IPv6 only
}

// Families returns which IP versions m applies to: Family, else the one its
// address fields imply, else both. Validate refuses contradictions.
func (m PDRMatch) Families() (v4, v6 bool) {
	switch {
	case m.Family == FamilyIPv4 || m.Src.Mask != 0 || m.Dst.Mask != 0:
		return true, false
	case m.Family == FamilyIPv6 || !m.Src6.IsZero() || !m.Dst6.IsZero():
		return false, true
	}
	return true, true
}

// MatchAll returns a match with every field wildcarded.
func MatchAll() PDRMatch { return PDRMatch{SrcPort: AnyPort, DstPort: AnyPort} }

// PDR is a packet detection rule: the highest-priority matching rule selects a FAR.
type PDR struct {
	Match    PDRMatch
	Priority uint32 // > 0; higher wins
	FAR      FARID
}

// PDRKey is what identifies a rule for its controller: P4Runtime's entry key
// (match and priority). No two installed rules share one.
type PDRKey struct {
	Match    PDRMatch
	Priority uint32
}

// Key returns the rule's identity.
func (p PDR) Key() PDRKey { return PDRKey{p.Match, p.Priority} }

// Action is what a FAR does with a packet.
type Action uint8

const (
	ActDrop    = Action(1) // discard (counted as a policy drop)
	ActPass    = Action(2) // hand to the kernel network stack
	ActForward = Action(3) // send out Port unencapsulated
	ActEncap   = Action(4) // GRE-encapsulate onto Tunnel
	ActBalance = Action(5) // pick a tunnel with load-balancing rule LBR
	ActPunt    = Action(6) // send to the controller (PacketIn)
)

func (a Action) String() string {
	switch a {
	case ActDrop:
		return "drop"
	case ActPass:
		return "pass"
	case ActForward:
		return "forward"
	case ActEncap:
		return "encap"
	case ActBalance:
		return "balance"
	case ActPunt:
		return "punt"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// FAR is a forwarding action rule. Only the field its Action uses is meaningful.
type FAR struct {
	Action Action
	Port   PortID   // ActForward
	Tunnel TunnelID // ActEncap
	LBR    LBRID    // ActBalance
}

// NonIPAction is what a non_ip rule does with frames of its EtherType that are
// not IPv4 (ARP, LLDP, IPv6...). Frames without a rule pass to the kernel.
type NonIPAction uint8

const (
	NonIPPass = NonIPAction(1) // hand to the kernel (counted)
	NonIPDrop = NonIPAction(2) // discard, counted as DropNonIPRule
	NonIPPunt = NonIPAction(3) // send to the controller (PacketIn) only
	// NonIPCopyToController sends a copy to the controller and passes the frame
	// to the kernel (ARP must still reach the gateway, which answers it).
	NonIPCopyToController = NonIPAction(4)
)

func (a NonIPAction) String() string {
	switch a {
	case NonIPPass:
		return "pass"
	case NonIPDrop:
		return "drop"
	case NonIPPunt:
		return "punt"
	case NonIPCopyToController:
		return "copy_to_controller"
	}
	return fmt.Sprintf("non_ip_action(%d)", uint8(a))
}

// EtherTypes a non_ip rule cannot have: IPv4 goes to the PDRs, and after one VLAN
// tag another tag is dropped (vlan_depth) before the rules are looked at.
const (
	EtherTypeIPv4   = 0x0800
	EtherTypeDot1Q  = 0x8100
	EtherTypeDot1AD = 0x88a8
)

// Tunnel is one GRE overlay (RFC 2784, key per RFC 2890).
type Tunnel struct {
	Port     PortID     // WAN port the overlay leaves by
	Src, Dst netip.Addr // local and remote underlay addresses, both IPv4 or both IPv6
	Key      uint32     // GRE key; 0 means no key field
	// DSCP of the outer header: copied from the inner header unless SetDSCP.
	SetDSCP bool
	DSCP    uint8
	// Down marks the overlay unusable: LBRs skip it, FARs encapsulating onto it drop.
	Down bool
}

// TunnelTerm says which GRE packets this gateway decapsulates: those from Remote to
// Local carrying Key (0: no key). A GRE packet to a local tunnel address that matches
// no termination is dropped as spoofed.
type TunnelTerm struct {
	Remote, Local netip.Addr
	Key           uint32
}

// TunnelInfo is an installed overlay as ListTunnels reports it.
type TunnelInfo struct {
	ID     TunnelID
	Tunnel Tunnel
	// Port is the overlay's logical port number, TunnelPort(MaxPorts, ID).
	Port uint32
}

// TunnelPort is the logical port number of overlay id on a data path with
// maxPorts ports (Options.MaxPorts): maxPorts + id. Physical ports are
// 1..maxPorts-1, so the two ranges never meet, and a number names the same
// overlay for as long as the sizes stay. gNMI reports each overlay as an
// interface with this ifindex; with the default sizes (512 ports, 4096
// tunnels) every logical port fits the 16 bits of a P4 port number, so an
// action-profile member's watch_port can name one. Frames are never sent out
// of a logical port (Transmit refuses it).
func TunnelPort(maxPorts int, id TunnelID) uint32 { return uint32(maxPorts) + uint32(id) }

// TunnelOfPort is the inverse of TunnelPort: the overlay a logical port
// number names, or false for a number below maxPorts (a physical port).
func TunnelOfPort(maxPorts int, port uint32) (TunnelID, bool) {
	if port < uint32(maxPorts) {
		return 0, false
	}
	return TunnelID(port - uint32(maxPorts)), true
}

// LBRMember is one weighted overlay of a load-balancing rule.
type LBRMember struct {
	Tunnel TunnelID
	Weight uint32 // > 0
	// Watch is the port the member's liveness depends on (P4Runtime's
	// watch_port): while it is down the data path skips the member, as it skips
	// a tunnel that is down, with no user-space round trip, and flows on the
	// other members stay where they are. 0: no watch port. Otherwise a physical
	// port (1..MaxPorts-1: down while SetPortUp says so) or an overlay's logical
	// port (TunnelPort: down while the overlay is marked Down, its WAN port is
	// down, or it does not exist). The Maglev table does not depend on it.
	Watch uint32
	// Excluded takes the member out of the rule without moving anyone else's
	// flows: an SLA class's verdict (internal/slaagent), never a controller's.
	// The member keeps its place in the Maglev table and the data path skips it
	// exactly as it skips a down member, so only its own flows move. With
	// every member excluded the rule behaves as if none were.
	Excluded bool
}

// Counter is a packets/bytes pair summed over CPUs.
type Counter struct{ Packets, Bytes uint64 }

// PortCounters are what the pipeline saw on a port: RX every frame that arrived
// (XDP sees them all, those it hands to the kernel too), TX the frames it
// redirected out of the port (not what the kernel sent there), Drops the frames
// that arrived on the port and the pipeline dropped (any reason).
type PortCounters struct{ RX, TX, Drops Counter }

// TunnelCounters are per-overlay totals: TX encapsulated, RX decapsulated.
type TunnelCounters struct{ TX, RX Counter }

// Punt is a packet sent to the controller by a punt FAR or a non_ip rule that
// punts or copies to the controller.
type Punt struct {
	Port   PortID // ingress port
	Packet []byte // the frame as received (truncated to MaxPuntBytes)
	Length int    // original frame length
}

// STAMPPort is the UDP port of STAMP session-reflectors (RFC 8762 §4.1).
const STAMPPort = 862

// ProbeReply is a STAMP reply that came back through an overlay.
type ProbeReply struct {
	// Tunnel is the overlay the reply arrived through: the tunnel of the
	// termination that decapsulated it.
	Tunnel TunnelID
	// RxTime is when the pipeline received it, on the clock of time.Now, so
	// that it compares with the probe's send time.
	RxTime time.Time
	// Packet is the decapsulated datagram: IPv4 header (IPv6 through a tunnel
	// over an IPv6 underlay), UDP, STAMP reply.
	Packet []byte
}

// Errors returned by data-path implementations. Callers map them to RPC codes.
var (
	ErrExists   = errors.New("entry already exists")
	ErrNotFound = errors.New("entry not found")
	ErrFull     = errors.New("table full")
	ErrInvalid  = errors.New("invalid entry")
	ErrInUse    = errors.New("entry in use")
	// ErrNoNextHop: SendProbe found no underlay route out of the tunnel's port
	// (it lasts until the kernel's routes change); the probe was not sent.
	ErrNoNextHop = errors.New("tunnel has no underlay next hop")
)

// Dataplane is the typed API over the pipeline. Implementations are safe for
// concurrent use. Every mutating call is atomic for packets: a packet sees the
// pipeline either before or after the call, never in between.
type Dataplane interface {
	// Attach puts the pipeline on interface ifname as port id with the given role.
	Attach(ifname string, id PortID, role Role, mode XDPMode) error
	// Detach removes the pipeline from a port.
	Detach(id PortID) error
	Ports() []PortInfo
	// SetPortUp says whether a port's link is up; tunnels over a down port are
	// skipped by load balancing and drop in encap FARs.
	SetPortUp(id PortID, up bool) error

	InsertPDR(p PDR) (PDRID, error)
	// InsertPDRs installs a batch: all or none; each rule becomes live atomically.
	InsertPDRs(ps []PDR) ([]PDRID, error)
	// ModifyPDR changes the FAR a rule selects; match and priority are its identity.
	ModifyPDR(id PDRID, far FARID) error
	DeletePDR(id PDRID) error
	// SetPDRDefault sets what a packet matching no PDR gets (initially ActPass).
	SetPDRDefault(f FAR) error
	PDRCounter(id PDRID) (Counter, error)
	// PDRDefaultCounter counts packets that matched no rule.
	PDRDefaultCounter() (Counter, error)
	ResetPDRCounter(id PDRID) error

	SetFAR(id FARID, f FAR) error // insert or replace
	DeleteFAR(id FARID) error

	SetLBR(id LBRID, members []LBRMember) error // insert or replace
	DeleteLBR(id LBRID) error

	SetTunnel(id TunnelID, t Tunnel) error // insert or replace
	DeleteTunnel(id TunnelID) error
	TunnelCounter(id TunnelID) (TunnelCounters, error)
	// ListTunnels lists the installed overlays by id, each with its logical port
	// number (TunnelPort), from the implementation's own bookkeeping.
	ListTunnels() []TunnelInfo

	SetTunnelTerm(term TunnelTerm, id TunnelID) error // insert or replace
	DeleteTunnelTerm(term TunnelTerm) error

	// SetNonIPRule inserts or replaces what frames of EtherType ethType that are
	// not IPv4 get (the EtherType after at most one VLAN tag). A new rule's
	// counter starts at zero; replacing a rule keeps it.
	SetNonIPRule(ethType uint16, a NonIPAction) error
	DeleteNonIPRule(ethType uint16) error
	// NonIPCounter reads the packets and bytes a non_ip rule handled.
	NonIPCounter(ethType uint16) (Counter, error)

	PortCounter(id PortID) (PortCounters, error)
	Meters
	// DropCounters returns packets and bytes dropped per reason.
	DropCounters() (map[DropReason]Counter, error)

	// Transmit sends a frame out of a port as is (PacketOut). A frame shorter
	// than an Ethernet header, or longer than the port takes (its MTU plus the
	// Ethernet header; the message names the limit), is ErrInvalid; so is a
	// port number outside 1..MaxPorts-1, which includes every overlay's logical
	// port (TunnelPort): frames leave by physical ports only. A port that is
	// not attached is ErrNotFound.
	Transmit(id PortID, frame []byte) error
	// Punts delivers packets punted to the controller until Close.
	Punts() <-chan Punt

	// SendProbe sends an SLA probe through overlay id (docs/sla.md): packet is
	// an IP datagram (header, UDP, STAMP test packet) from the tunnel's Src to
	// its Dst, IPv4 or IPv6 as the tunnel's underlay, which the data path encapsulates exactly as the encap stage would
	// (GRE key, outer DSCP, underlay next hop) and sends out of the tunnel's WAN
	// port, so the probe takes the data's path. A tunnel that does not exist is
	// ErrNotFound; a packet that is not such a datagram, or too long for the
	// port, is ErrInvalid. The XDP data path also refuses a tunnel whose port is
	// not attached (ErrNotFound) or that has no underlay route out of it
	// (ErrNoNextHop); memdp has neither. A tunnel marked Down still sends
	// probes: they are how it comes back.
	SendProbe(id TunnelID, packet []byte) error
	// ProbeReplies delivers STAMP replies (UDP from port STAMPPort) that arrived
	// through a terminated tunnel to the gateway's own tunnel address, until
	// Close. Replies nobody reads in time are dropped, not queued without bound.
	ProbeReplies() <-chan ProbeReply

	// Clear removes every rule, FAR, LBR, tunnel, termination and non_ip rule,
	// and resets every meter and QoS policy (ports stay).
	Clear() error
	// Close detaches every port and releases the pipeline (pinned objects stay;
	// an EBPF loaded with Options.LeaveRunning leaves its ports attached).
	Close() error
}

// PortInfo describes an attached port.
type PortInfo struct {
	ID      PortID
	Name    string
	Ifindex int
	Role    Role
	Mode    XDPMode
}
