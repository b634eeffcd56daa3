package dataplane

import (
	"fmt"
	"net/netip"
)

// Validation shared by every implementation of Dataplane. Each error wraps
// ErrInvalid and says which field is wrong and why.

// Validate checks a packet detection rule: a positive priority, ternaries without
// value bits outside their mask (as P4Runtime requires, so that every match has one
// canonical form and two rules that match the same packets compare equal), the 2-bit
// direction and 6-bit DSCP fields in range, and non-empty port ranges.
func (p PDR) Validate() error {
	if p.Priority == 0 {
		return fmt.Errorf("%w: pdr priority must be > 0", ErrInvalid)
	}
	m := p.Match
	if err := checkTernary("in_port", m.InPort); err != nil {
		return err
	}
	if err := checkTernary("direction", m.Direction); err != nil {
		return err
	}
	if err := checkWidth("direction", m.Direction, 2); err != nil {
		return err
	}
	if err := checkTernary("src_addr", m.Src); err != nil {
		return err
	}
	if err := checkTernary("dst_addr", m.Dst); err != nil {
		return err
	}
	if err := checkTernary("ip_proto", m.Proto); err != nil {
		return err
	}
	if err := checkRange("l4_sport", m.SrcPort); err != nil {
		return err
	}
	if err := checkRange("l4_dport", m.DstPort); err != nil {
		return err
	}
	if err := checkTernary("dscp", m.DSCP); err != nil {
		return err
	}
	if err := checkWidth("dscp", m.DSCP, 6); err != nil {
		return err
	}
	return checkFamily(m)
}

// checkFamily checks the IPv6 fields and that a rule's fields agree on one IP
// version: IPv4 addresses with IPv6 ones, or either with the other version's
// ip_version, could never match a packet.
func checkFamily(m PDRMatch) error {
	for _, f := range []struct {
		name string
		a    Addr6
	}{{"src_addr6", m.Src6}, {"dst_addr6", m.Dst6}} {
		for i := range f.a.Value {
			if f.a.Value[i]&^f.a.Mask[i] != 0 {
				return fmt.Errorf("%w: pdr %s value %x has bits outside mask %x", ErrInvalid, f.name, f.a.Value, f.a.Mask)
			}
		}
	}
	v4 := m.Src.Mask != 0 || m.Dst.Mask != 0
	v6 := !m.Src6.IsZero() || !m.Dst6.IsZero()
	switch {
	case m.Family != FamilyAny && m.Family != FamilyIPv4 && m.Family != FamilyIPv6:
		return fmt.Errorf("%w: pdr ip_version %d: must be 4 or 6 (or absent: both)", ErrInvalid, m.Family)
	case v4 && v6:
		return fmt.Errorf("%w: pdr matches IPv4 (src_addr/dst_addr) and IPv6 (src_addr6/dst_addr6) addresses: no packet has both", ErrInvalid)
	case v4 && m.Family == FamilyIPv6:
		return fmt.Errorf("%w: pdr src_addr/dst_addr are IPv4 fields, ip_version is 6", ErrInvalid)
	case v6 && m.Family == FamilyIPv4:
		return fmt.Errorf("%w: pdr src_addr6/dst_addr6 are IPv6 fields, ip_version is 4", ErrInvalid)
	}
	return nil
}

func checkTernary[T ~uint8 | ~uint16 | ~uint32](field string, t Ternary[T]) error {
	if t.Value&^t.Mask != 0 {
		return fmt.Errorf("%w: pdr %s value %#x has bits outside mask %#x", ErrInvalid, field, t.Value, t.Mask)
	}
	return nil
}

func checkWidth(field string, t Ternary[uint8], bits uint) error {
	limit := uint8(1)<<bits - 1
	if t.Value > limit || t.Mask > limit {
		return fmt.Errorf("%w: pdr %s value %#x / mask %#x exceed %d bits", ErrInvalid, field, t.Value, t.Mask, bits)
	}
	return nil
}

func checkRange(field string, r PortRange) error {
	if r.Lo > r.Hi {
		return fmt.Errorf("%w: pdr %s range %d..%d is empty (lo > hi)", ErrInvalid, field, r.Lo, r.Hi)
	}
	return nil
}

// Validate checks a forwarding action rule against the table sizes: a known action,
// and for the actions that use one, a port in 1..maxPorts-1 (ActForward) or a
// tunnel id below maxTunnels (ActEncap). ActBalance may name any LBR, installed or
// not; fields the action does not use are ignored.
func (f FAR) Validate(maxPorts, maxTunnels int) error {
	switch f.Action {
	case ActDrop, ActPass, ActBalance, ActPunt:
		return nil
	case ActForward:
		return checkPort("far forward port", f.Port, maxPorts)
	case ActEncap:
		return checkTunnelID("far encap tunnel id", f.Tunnel, maxTunnels)
	}
	return fmt.Errorf("%w: unknown far action %d", ErrInvalid, uint8(f.Action))
}

// ValidatePortID checks that id is a usable port number: 1..maxPorts-1.
func ValidatePortID(id PortID, maxPorts int) error { return checkPort("port", id, maxPorts) }

// ValidateTransmitPort checks the port of a PacketOut (Dataplane.Transmit):
// a physical port number, 1..maxPorts-1. A number from maxPorts up is an
// overlay's logical port (TunnelPort), which takes no frames: the message says
// so, since controllers that discover ports over gNMI (ONOS' LLDP and host
// probes) send packet-outs to every port they know.
func ValidateTransmitPort(id PortID, maxPorts int) error {
	if t, ok := TunnelOfPort(maxPorts, uint32(id)); ok {
		return fmt.Errorf("%w: port %d is the logical port of overlay %d (tunnel-%d): packet-out leaves by physical ports 1..%d only",
			ErrInvalid, id, t, t, maxPorts-1)
	}
	if id == 0 {
		return fmt.Errorf("%w: port 0 is no port (physical ports are 1..%d)", ErrInvalid, maxPorts-1)
	}
	return nil
}

// ValidateTunnelID checks that id is below maxTunnels (tunnel ids index counters).
func ValidateTunnelID(id TunnelID, maxTunnels int) error {
	return checkTunnelID("tunnel id", id, maxTunnels)
}

func checkPort(field string, id PortID, maxPorts int) error {
	if id == 0 || int(id) >= maxPorts {
		return fmt.Errorf("%w: %s %d out of range 1..%d", ErrInvalid, field, id, maxPorts-1)
	}
	return nil
}

func checkTunnelID(field string, id TunnelID, maxTunnels int) error {
	if maxTunnels <= 0 || uint64(id) >= uint64(maxTunnels) {
		return fmt.Errorf("%w: %s %d out of range 0..%d", ErrInvalid, field, id, maxTunnels-1)
	}
	return nil
}

// Validate checks a GRE overlay: unicast underlay addresses of one family (both
// IPv4 or both IPv6: the outer header has one), a port in 1..maxPorts-1 and a
// DSCP that fits 6 bits.
func (t Tunnel) Validate(maxPorts int) error {
	if err := checkEndpoints("tunnel src", t.Src, "tunnel dst", t.Dst); err != nil {
		return err
	}
	if err := checkPort("tunnel port", t.Port, maxPorts); err != nil {
		return err
	}
	if t.DSCP > 63 {
		return fmt.Errorf("%w: tunnel dscp %d exceeds 63", ErrInvalid, t.DSCP)
	}
	return nil
}

// Validate checks a tunnel termination: unicast remote and local addresses of one
// family.
func (t TunnelTerm) Validate() error {
	return checkEndpoints("tunnel_term remote", t.Remote, "tunnel_term local", t.Local)
}

// checkEndpoints checks a pair of underlay addresses: each unicast of its family,
// and both of the same one. IPv4-mapped IPv6 addresses are refused: an IPv4
// endpoint is written as IPv4, so that one endpoint has one spelling.
func checkEndpoints(fa string, a netip.Addr, fb string, b netip.Addr) error {
	if err := checkUnicast(fa, a); err != nil {
		return err
	}
	if err := checkUnicast(fb, b); err != nil {
		return err
	}
	if a.Is4() != b.Is4() {
		return fmt.Errorf("%w: %s address %s is IPv%d but %s address %s is IPv%d: both ends of a tunnel are of one family",
			ErrInvalid, fb, b, family(b), fa, a, family(a))
	}
	return nil
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// checkUnicast accepts a unicast IPv4 address (checkUnicast4) or a global or
// unique-local IPv6 one: not unspecified, multicast, link-local (a
// tunnel endpoint has no zone) nor IPv4-mapped.
func checkUnicast(field string, a netip.Addr) error {
	if !a.IsValid() || a.Is4() {
		return checkUnicast4(field, a)
	}
	switch {
	case a.Is4In6():
		return fmt.Errorf("%w: %s address %s is IPv4-mapped IPv6: write the IPv4 address", ErrInvalid, field, a)
	case a.Zone() != "":
		return fmt.Errorf("%w: %s address %s has a zone", ErrInvalid, field, a)
	case a.IsUnspecified():
		return fmt.Errorf("%w: %s address %s is unspecified", ErrInvalid, field, a)
	case a.IsMulticast():
		return fmt.Errorf("%w: %s address %s is multicast", ErrInvalid, field, a)
	case a.IsLinkLocalUnicast():
		return fmt.Errorf("%w: %s address %s is link-local", ErrInvalid, field, a)
	}
	return nil
}

// checkUnicast4 accepts a plain IPv4 address (not IPv4-mapped IPv6) that is neither
// unspecified, multicast nor the limited broadcast address.
func checkUnicast4(field string, a netip.Addr) error {
	switch {
	case !a.IsValid():
		return fmt.Errorf("%w: %s address is missing", ErrInvalid, field)
	case !a.Is4():
		return fmt.Errorf("%w: %s address %s is not IPv4", ErrInvalid, field, a)
	case a.IsUnspecified():
		return fmt.Errorf("%w: %s address %s is unspecified", ErrInvalid, field, a)
	case a.IsMulticast():
		return fmt.Errorf("%w: %s address %s is multicast", ErrInvalid, field, a)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: %s address %s is broadcast", ErrInvalid, field, a)
	}
	return nil
}

// ValidateMembers checks a load-balancing rule's members: 1..MaxLBRMembers of them,
// each with a positive weight, a distinct tunnel id below maxTunnels and a watch
// port that is 0, a physical port number (below maxPorts) or an overlay's logical
// port (TunnelPort of an id below maxTunnels), and a total weight of at most
// LBRSlots so that every member gets a slot of the Maglev table.
func ValidateMembers(m []LBRMember, maxPorts, maxTunnels int) error {
	if len(m) == 0 {
		return fmt.Errorf("%w: lbr needs at least one member", ErrInvalid)
	}
	if len(m) > MaxLBRMembers {
		return fmt.Errorf("%w: lbr has %d members, at most %d allowed", ErrInvalid, len(m), MaxLBRMembers)
	}
	seen := make(map[TunnelID]bool, len(m))
	var total uint64
	for _, x := range m {
		if x.Weight == 0 {
			return fmt.Errorf("%w: lbr member tunnel %d has weight 0", ErrInvalid, x.Tunnel)
		}
		if err := checkTunnelID("lbr member tunnel id", x.Tunnel, maxTunnels); err != nil {
			return err
		}
		if seen[x.Tunnel] {
			return fmt.Errorf("%w: lbr lists tunnel %d twice", ErrInvalid, x.Tunnel)
		}
		if t, logical := TunnelOfPort(maxPorts, x.Watch); logical && uint64(t) >= uint64(maxTunnels) {
			return fmt.Errorf("%w: lbr member tunnel %d: watch port %d is neither a port (1..%d) nor an overlay's logical port (%d..%d)",
				ErrInvalid, x.Tunnel, x.Watch, maxPorts-1, TunnelPort(maxPorts, 0), TunnelPort(maxPorts, TunnelID(maxTunnels-1)))
		}
		seen[x.Tunnel] = true
		total += uint64(x.Weight)
	}
	if total > LBRSlots {
		return fmt.Errorf("%w: lbr total weight %d exceeds %d slots", ErrInvalid, total, LBRSlots)
	}
	return nil
}

// ValidateNonIPRule checks a non_ip rule: a known action, and an EtherType that
// can reach the table (not IPv4, which the PDRs classify, nor a VLAN tag type).
func ValidateNonIPRule(ethType uint16, a NonIPAction) error {
	switch ethType {
	case EtherTypeIPv4:
		return fmt.Errorf("%w: non_ip rule for EtherType 0x0800: IPv4 is classified by the pdr table", ErrInvalid)
	case EtherTypeDot1Q, EtherTypeDot1AD:
		return fmt.Errorf("%w: non_ip rule for EtherType %#04x: rules match the EtherType after the VLAN tag, and a second tag is dropped", ErrInvalid, ethType)
	}
	switch a {
	case NonIPPass, NonIPDrop, NonIPPunt, NonIPCopyToController:
		return nil
	}
	return fmt.Errorf("%w: non_ip rule for EtherType %#04x: unknown action %d", ErrInvalid, ethType, a)
}
