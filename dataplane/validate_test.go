package dataplane

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// checkValid asserts err is nil when want is "", and otherwise wraps ErrInvalid and
// mentions want.
func checkValid(t *testing.T, name string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error %v", name, err)
	case want != "" && err == nil:
		t.Errorf("%s: no error, want one mentioning %q", name, want)
	case want != "" && !errors.Is(err, ErrInvalid):
		t.Errorf("%s: error %v does not wrap ErrInvalid", name, err)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q does not mention %q", name, err, want)
	}
}

func TestPDRValidate(t *testing.T) {
	ok := PDR{Match: MatchAll(), Priority: 1, FAR: 7}
	with := func(f func(*PDR)) PDR { p := ok; f(&p); return p }
	cases := []struct {
		name string
		pdr  PDR
		want string
	}{
		{"match all", ok, ""},
		{"zero value match, priority set", PDR{Priority: 5}, ""},
		// Exact sets the mask to 0xff, wider than the 2-bit field.
		{"Exact direction", with(func(p *PDR) { p.Match.Direction = Exact(uint8(DirDownlink)) }), "direction value 0x2 / mask 0xff exceed 2 bits"},
		{"priority max", with(func(p *PDR) { p.Priority = 0xffffffff }), ""},
		{"realistic", with(func(p *PDR) {
			p.Match.InPort = Ternary[uint16]{Value: 3, Mask: 0xffff}
			p.Match.Direction = Ternary[uint8]{Value: uint8(DirUplink), Mask: 3}
			p.Match.Src = Prefix(netip.MustParsePrefix("10.1.0.0/16"))
			p.Match.Dst = Exact(IPv4(netip.MustParseAddr("192.0.2.1")))
			p.Match.Proto = Exact[uint8](17)
			p.Match.SrcPort = OnePort(53)
			p.Match.DstPort = PortRange{1024, 65535}
			p.Match.DSCP = Ternary[uint8]{Value: 46, Mask: 0x3f}
		}), ""},
		{"priority 0", with(func(p *PDR) { p.Priority = 0 }), "priority must be > 0"},
		{"in_port bits outside mask", with(func(p *PDR) { p.Match.InPort = Ternary[uint16]{Value: 3, Mask: 1} }), "in_port value 0x3 has bits outside mask 0x1"},
		{"in_port value without mask", with(func(p *PDR) { p.Match.InPort = Ternary[uint16]{Value: 3} }), "in_port"},
		{"direction bits outside mask", with(func(p *PDR) { p.Match.Direction = Ternary[uint8]{Value: 2, Mask: 1} }), "direction value 0x2 has bits outside mask"},
		{"direction value beyond 2 bits", with(func(p *PDR) { p.Match.Direction = Ternary[uint8]{Value: 4, Mask: 4} }), "direction value 0x4 / mask 0x4 exceed 2 bits"},
		{"direction mask beyond 2 bits", with(func(p *PDR) { p.Match.Direction = Ternary[uint8]{Value: 1, Mask: 0xff} }), "exceed 2 bits"},
		{"direction wildcard", with(func(p *PDR) { p.Match.Direction = Ternary[uint8]{} }), ""},
		{"direction 3 exact", with(func(p *PDR) { p.Match.Direction = Ternary[uint8]{Value: 3, Mask: 3} }), ""},
		{"src bits outside mask", with(func(p *PDR) { p.Match.Src = Ternary[uint32]{Value: 0x0a000001, Mask: 0xffffff00} }), "src_addr value 0xa000001 has bits outside mask 0xffffff00"},
		{"dst bits outside mask", with(func(p *PDR) { p.Match.Dst = Ternary[uint32]{Value: 1} }), "dst_addr"},
		{"proto bits outside mask", with(func(p *PDR) { p.Match.Proto = Ternary[uint8]{Value: 6, Mask: 0xf0} }), "ip_proto"},
		{"dscp bits outside mask", with(func(p *PDR) { p.Match.DSCP = Ternary[uint8]{Value: 46, Mask: 0x0f} }), "dscp value 0x2e has bits outside mask"},
		{"dscp value beyond 6 bits", with(func(p *PDR) { p.Match.DSCP = Ternary[uint8]{Value: 64, Mask: 64} }), "dscp value 0x40 / mask 0x40 exceed 6 bits"},
		{"dscp mask beyond 6 bits", with(func(p *PDR) { p.Match.DSCP = Exact[uint8](46) }), "exceed 6 bits"},
		{"dscp 63 exact", with(func(p *PDR) { p.Match.DSCP = Ternary[uint8]{Value: 63, Mask: 63} }), ""},
		{"sport empty range", with(func(p *PDR) { p.Match.SrcPort = PortRange{10, 9} }), "l4_sport range 10..9 is empty"},
		{"dport empty range", with(func(p *PDR) { p.Match.DstPort = PortRange{0xffff, 0} }), "l4_dport range 65535..0"},
		{"dport single port 0", with(func(p *PDR) { p.Match.DstPort = PortRange{} }), ""},
	}
	for _, tc := range cases {
		checkValid(t, tc.name, tc.pdr.Validate(), tc.want)
	}
}

func TestFARValidate(t *testing.T) {
	const maxPorts, maxTunnels = 16, 100
	cases := []struct {
		name string
		far  FAR
		want string
	}{
		{"drop", FAR{Action: ActDrop}, ""},
		{"pass", FAR{Action: ActPass}, ""},
		{"punt", FAR{Action: ActPunt}, ""},
		{"drop ignores other fields", FAR{Action: ActDrop, Port: 999, Tunnel: 999}, ""},
		{"forward", FAR{Action: ActForward, Port: 1}, ""},
		{"forward last port", FAR{Action: ActForward, Port: maxPorts - 1}, ""},
		{"forward port 0", FAR{Action: ActForward}, "far forward port 0 out of range 1..15"},
		{"forward port maxPorts", FAR{Action: ActForward, Port: maxPorts}, "far forward port 16 out of range 1..15"},
		{"encap tunnel 0", FAR{Action: ActEncap}, ""},
		{"encap last tunnel", FAR{Action: ActEncap, Tunnel: maxTunnels - 1}, ""},
		{"encap tunnel maxTunnels", FAR{Action: ActEncap, Tunnel: maxTunnels}, "far encap tunnel id 100 out of range 0..99"},
		{"encap ignores port", FAR{Action: ActEncap, Tunnel: 1, Port: 9999}, ""},
		{"balance any lbr", FAR{Action: ActBalance, LBR: 0xffffffff}, ""},
		{"action 0", FAR{}, "unknown far action 0"},
		{"action 7", FAR{Action: 7}, "unknown far action 7"},
	}
	for _, tc := range cases {
		checkValid(t, tc.name, tc.far.Validate(maxPorts, maxTunnels), tc.want)
	}
}

func TestTunnelValidate(t *testing.T) {
	const maxPorts = 8
	a := netip.MustParseAddr
	ok := Tunnel{Port: 2, Src: a("198.51.100.1"), Dst: a("203.0.113.9"), Key: 42}
	with := func(f func(*Tunnel)) Tunnel { x := ok; f(&x); return x }
	cases := []struct {
		name string
		tun  Tunnel
		want string
	}{
		{"ok", ok, ""},
		{"set dscp 63", with(func(x *Tunnel) { x.SetDSCP, x.DSCP = true, 63 }), ""},
		{"down", with(func(x *Tunnel) { x.Down = true }), ""},
		{"private and loopback addresses are fine", with(func(x *Tunnel) { x.Src, x.Dst = a("10.0.0.1"), a("127.0.0.2") }), ""},
		{"dscp 64", with(func(x *Tunnel) { x.SetDSCP, x.DSCP = true, 64 }), "tunnel dscp 64 exceeds 63"},
		{"dscp 64 without SetDSCP", with(func(x *Tunnel) { x.DSCP = 64 }), "dscp"},
		{"port 0", with(func(x *Tunnel) { x.Port = 0 }), "tunnel port 0 out of range 1..7"},
		{"port maxPorts", with(func(x *Tunnel) { x.Port = maxPorts }), "tunnel port 8 out of range"},
		{"missing src", with(func(x *Tunnel) { x.Src = netip.Addr{} }), "tunnel src address is missing"},
		{"ipv6 dst", with(func(x *Tunnel) { x.Dst = a("2001:db8::1") }), "tunnel dst address 2001:db8::1 is IPv6 but tunnel src address 198.51.100.1 is IPv4"},
		{"ipv4-mapped dst", with(func(x *Tunnel) { x.Dst = a("::ffff:192.0.2.1") }), "tunnel dst address ::ffff:192.0.2.1 is IPv4-mapped IPv6"},
		{"ipv6 ok", with(func(x *Tunnel) { x.Src, x.Dst = a("2001:db8:a::1"), a("fd00::2") }), ""},
		{"ipv6 loopback is fine, as IPv4's", with(func(x *Tunnel) { x.Src, x.Dst = a("2001:db8:a::1"), a("::1") }), ""},
		{"ipv6 src ipv4 dst", with(func(x *Tunnel) { x.Src = a("2001:db8:a::1") }), "tunnel dst address 203.0.113.9 is IPv4 but tunnel src address 2001:db8:a::1 is IPv6"},
		{"ipv6 unspecified src", with(func(x *Tunnel) { x.Src, x.Dst = a("::"), a("2001:db8::2") }), "tunnel src address :: is unspecified"},
		{"ipv6 multicast dst", with(func(x *Tunnel) { x.Src, x.Dst = a("2001:db8::1"), a("ff0e::1") }), "tunnel dst address ff0e::1 is multicast"},
		{"ipv6 link-local src", with(func(x *Tunnel) { x.Src, x.Dst = a("fe80::1"), a("2001:db8::2") }), "tunnel src address fe80::1 is link-local"},
		{"ipv6 zone", with(func(x *Tunnel) { x.Src, x.Dst = a("2001:db8::1%eth0"), a("2001:db8::2") }), "tunnel src address 2001:db8::1%eth0 has a zone"},
		{"unspecified src", with(func(x *Tunnel) { x.Src = a("0.0.0.0") }), "tunnel src address 0.0.0.0 is unspecified"},
		{"multicast dst", with(func(x *Tunnel) { x.Dst = a("239.1.1.1") }), "tunnel dst address 239.1.1.1 is multicast"},
		{"broadcast dst", with(func(x *Tunnel) { x.Dst = a("255.255.255.255") }), "tunnel dst address 255.255.255.255 is broadcast"},
	}
	for _, tc := range cases {
		checkValid(t, tc.name, tc.tun.Validate(maxPorts), tc.want)
	}
}

func TestTunnelTermValidate(t *testing.T) {
	a := netip.MustParseAddr
	cases := []struct {
		name string
		term TunnelTerm
		want string
	}{
		{"ok", TunnelTerm{Remote: a("203.0.113.9"), Local: a("198.51.100.1")}, ""},
		{"ok with key", TunnelTerm{Remote: a("203.0.113.9"), Local: a("198.51.100.1"), Key: 0xffffffff}, ""},
		{"zero value", TunnelTerm{}, "tunnel_term remote address is missing"},
		{"missing local", TunnelTerm{Remote: a("203.0.113.9")}, "tunnel_term local address is missing"},
		{"ipv6 remote ipv4 local", TunnelTerm{Remote: a("2001:db8::9"), Local: a("198.51.100.1")}, "tunnel_term local address 198.51.100.1 is IPv4 but tunnel_term remote address 2001:db8::9 is IPv6"},
		{"ipv6 ok", TunnelTerm{Remote: a("2001:db8::9"), Local: a("2001:db8::1"), Key: 3}, ""},
		{"ipv6 multicast local", TunnelTerm{Remote: a("2001:db8::9"), Local: a("ff02::2")}, "tunnel_term local address ff02::2 is multicast"},
		{"unspecified local", TunnelTerm{Remote: a("203.0.113.9"), Local: a("0.0.0.0")}, "tunnel_term local address 0.0.0.0 is unspecified"},
		{"multicast remote", TunnelTerm{Remote: a("224.0.0.5"), Local: a("198.51.100.1")}, "multicast"},
		{"broadcast local", TunnelTerm{Remote: a("203.0.113.9"), Local: a("255.255.255.255")}, "broadcast"},
	}
	for _, tc := range cases {
		checkValid(t, tc.name, tc.term.Validate(), tc.want)
	}
}

func TestValidateMembers(t *testing.T) {
	const maxPorts, maxTunnels = 32, 64
	many := func(n int, w uint32) []LBRMember {
		m := make([]LBRMember, n)
		for i := range m {
			m[i] = LBRMember{Tunnel: TunnelID(i), Weight: w}
		}
		return m
	}
	cases := []struct {
		name string
		m    []LBRMember
		want string
	}{
		{"one", members(1, 1), ""},
		{"three", members(1, 5, 2, 3, 3, 2), ""},
		{"max members", many(MaxLBRMembers, 1), ""},
		{"last tunnel id", members(maxTunnels-1, 1), ""},
		{"total weight LBRSlots", members(1, LBRSlots-1, 2, 1), ""},
		{"nil", nil, "lbr needs at least one member"},
		{"empty", []LBRMember{}, "at least one member"},
		{"too many", many(MaxLBRMembers+1, 1), "lbr has 17 members, at most 16 allowed"},
		{"zero weight", members(1, 1, 2, 0), "lbr member tunnel 2 has weight 0"},
		{"duplicate tunnel", members(1, 1, 2, 1, 1, 3), "lbr lists tunnel 1 twice"},
		{"tunnel id maxTunnels", members(1, 1, maxTunnels, 1), "lbr member tunnel id 64 out of range 0..63"},
		{"total weight LBRSlots+1", members(1, LBRSlots, 2, 1), "lbr total weight 1022 exceeds 1021 slots"},
		{"total weight overflowing uint32", members(1, 0xffffffff, 2, 0xffffffff), "total weight 8589934590"},
		{"watch physical port", []LBRMember{{Tunnel: 1, Weight: 1, Watch: 1}, {Tunnel: 2, Weight: 1, Watch: maxPorts - 1}}, ""},
		{"watch logical ports", []LBRMember{{Tunnel: 1, Weight: 1, Watch: maxPorts}, {Tunnel: 2, Weight: 1, Watch: maxPorts + maxTunnels - 1}}, ""},
		{"watch beyond the logical ports", []LBRMember{{Tunnel: 1, Weight: 1, Watch: maxPorts + maxTunnels}},
			"lbr member tunnel 1: watch port 96 is neither a port (1..31) nor an overlay's logical port (32..95)"},
	}
	for _, tc := range cases {
		checkValid(t, tc.name, ValidateMembers(tc.m, maxPorts, maxTunnels), tc.want)
	}
}

func TestValidateIDs(t *testing.T) {
	checkValid(t, "port 1", ValidatePortID(1, 2), "")
	checkValid(t, "port 0", ValidatePortID(0, 2), "port 0 out of range 1..1")
	checkValid(t, "port max", ValidatePortID(2, 2), "port 2 out of range")
	checkValid(t, "port 65535 of default", ValidatePortID(65535, DefaultOptions.MaxPorts), "port 65535")
	checkValid(t, "tunnel 0", ValidateTunnelID(0, 1), "")
	checkValid(t, "tunnel max", ValidateTunnelID(1, 1), "tunnel id 1 out of range 0..0")
	checkValid(t, "tunnel huge", ValidateTunnelID(0xffffffff, DefaultOptions.MaxTunnels), "tunnel id 4294967295")
	checkValid(t, "no tunnels", ValidateTunnelID(0, 0), "tunnel id 0")
}

// members builds LBR members from (tunnel, weight) pairs.
func members(pairs ...uint32) []LBRMember {
	var m []LBRMember
	for i := 0; i+1 < len(pairs); i += 2 {
		m = append(m, LBRMember{Tunnel: TunnelID(pairs[i]), Weight: pairs[i+1]})
	}
	return m
}
