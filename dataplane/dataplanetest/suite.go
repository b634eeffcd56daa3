// Package dataplanetest is the contract suite every dataplane.Dataplane
// implementation passes: the XDP pipeline (package xdp, as root) and the
// in-memory twin (package memdp). It checks what the layers above rely on
// without looking at packets: rule ids, validation and its messages, the
// error each refusal wraps, capacities, counters starting at zero, the overlays' listing and logical
// ports, Clear. The
// implementations' own tests check the rest (packets for xdp, read-backs and
// hooks for memdp), so the two cannot drift apart on what the contract says.
package dataplanetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
)

// New returns a fresh, empty data path sized by o (zero fields: defaults),
// closed when the test ends. It may skip the test (no privileges).
type New func(t *testing.T, o dataplane.Options) dataplane.Dataplane

// Run runs the whole suite against the data paths newDP makes, one fresh data
// path per subtest.
func Run(t *testing.T, newDP New) { RunFlows(t, newDP, nil) }

// RunFlows is Run plus the cases about which flows a change moves, on the
// forwarding data paths flows makes (nil: those cases are skipped, with the
// reason).
func RunFlows(t *testing.T, newDP New, flows func(t *testing.T) FlowRig) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, New)
	}{
		{"PDRIDs", testPDRIDs},
		{"PDRLifecycle", testPDRLifecycle},
		{"PDRBatch", testPDRBatch},
		{"PDRIPv6", testPDRIPv6},
		{"PDRCounters", testPDRCounters},
		{"PDRDefault", testPDRDefault},
		{"FARs", testFARs},
		{"LBRs", testLBRs},
		{"Tunnels", testTunnels},
		{"TunnelTerms", testTunnelTerms},
		{"TunnelsIPv6Underlay", testTunnelsIPv6},
		{"NonIPRules", testNonIPRules},
		{"Probes", testProbes},
		{"Messages", testMessages},
		{"Clear", testClear},
		{"Meters", testMeters},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDP) })
	}
	t.Run("LBRExclusion", func(t *testing.T) {
		if flows == nil {
			t.Skip("the implementation gives the suite no way to see where flows go (RunFlows)")
		}
		testLBRExclusion(t, flows(t))
	})
}

var (
	addr   = netip.MustParseAddr
	tunnel = dataplane.Tunnel{Port: 2, Src: addr("198.51.100.1"), Dst: addr("203.0.113.9"), Key: 7}
	term   = dataplane.TunnelTerm{Remote: addr("203.0.113.9"), Local: addr("198.51.100.1"), Key: 7}
)

func pdr(prio uint32, far dataplane.FARID) dataplane.PDR {
	return dataplane.PDR{Match: dataplane.MatchAll(), Priority: prio, FAR: far}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func insert(t *testing.T, d dataplane.Dataplane, p dataplane.PDR) dataplane.PDRID {
	t.Helper()
	id, err := d.InsertPDR(p)
	wantErr(t, "insert pdr", err, nil)
	return id
}

// testPDRIDs: ids start at 1, and an insert takes the smallest free one, so a
// controller (and a restart replaying its writes) sees the same ids on both.
func testPDRIDs(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPDRs: 16})
	for i := range 5 {
		if id := insert(t, d, pdr(uint32(i+1), 1)); id != dataplane.PDRID(i+1) {
			t.Fatalf("insert %d got id %d", i, id)
		}
	}
	wantErr(t, "delete 4", d.DeletePDR(4), nil)
	wantErr(t, "delete 2", d.DeletePDR(2), nil)
	for _, want := range []dataplane.PDRID{2, 4, 6} {
		if id := insert(t, d, pdr(uint32(100+want), 1)); id != want {
			t.Fatalf("got id %d, want %d (smallest free)", id, want)
		}
	}
	wantErr(t, "delete 3", d.DeletePDR(3), nil)
	wantErr(t, "delete 1", d.DeletePDR(1), nil)
	ids, err := d.InsertPDRs([]dataplane.PDR{pdr(201, 1), pdr(202, 1), pdr(203, 1)})
	wantErr(t, "batch", err, nil)
	if !slices.Equal(ids, []dataplane.PDRID{1, 3, 7}) {
		t.Fatalf("batch ids %v, want [1 3 7] (smallest free, in order)", ids)
	}
}

func testPDRLifecycle(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPDRs: 3})
	m := dataplane.MatchAll()
	m.Proto = dataplane.Exact[uint8](17)
	m.DstPort = dataplane.OnePort(53)
	a := dataplane.PDR{Match: m, Priority: 10, FAR: 99} // FAR 99 does not exist: allowed
	id := insert(t, d, a)

	_, err := d.InsertPDR(a)
	wantErr(t, "same match and priority", err, dataplane.ErrExists)
	b := a
	b.FAR = 5
	_, err = d.InsertPDR(b)
	wantErr(t, "same match and priority, other FAR", err, dataplane.ErrExists)
	b.Priority = 11
	insert(t, d, b) // same match, other priority

	_, err = d.InsertPDR(dataplane.PDR{Match: m})
	wantErr(t, "priority 0", err, dataplane.ErrInvalid)
	bad := a
	bad.Match.Src = dataplane.Ternary[uint32]{Value: 1}
	_, err = d.InsertPDR(bad)
	wantErr(t, "value outside mask", err, dataplane.ErrInvalid)

	insert(t, d, pdr(1, 1))
	_, err = d.InsertPDR(pdr(2, 1))
	wantErr(t, "beyond MaxPDRs", err, dataplane.ErrFull)

	wantErr(t, "modify", d.ModifyPDR(id, 42), nil)
	wantErr(t, "modify unknown", d.ModifyPDR(77, 1), dataplane.ErrNotFound)
	wantErr(t, "modify 0", d.ModifyPDR(0, 1), dataplane.ErrNotFound)

	wantErr(t, "delete", d.DeletePDR(id), nil)
	wantErr(t, "delete again", d.DeletePDR(id), dataplane.ErrNotFound)
	wantErr(t, "delete unknown", d.DeletePDR(1000), dataplane.ErrNotFound)
	// The identity is free again, and so is a slot.
	if id2 := insert(t, d, a); id2 != id {
		t.Fatalf("reinsert got id %d, want reused %d", id2, id)
	}
}

// testPDRBatch: a batch is all or nothing.
// testPDRIPv6 checks IPv6 rules: their identity (a rule per family is another
// rule than one of both) and the validation of the IPv6 fields.
func testPDRIPv6(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPDRs: 8})
	m := dataplane.MatchAll()
	m.Dst6 = dataplane.Prefix6(netip.MustParsePrefix("2001:db8:2::/48"))
	m.Proto = dataplane.Exact[uint8](6)
	m.DstPort = dataplane.PortRange{Lo: 80, Hi: 443}
	insert(t, d, dataplane.PDR{Match: m, Priority: 10, FAR: 1})
	_, err := d.InsertPDR(dataplane.PDR{Match: m, Priority: 10, FAR: 2})
	wantErr(t, "same IPv6 match and priority", err, dataplane.ErrExists)
	both := dataplane.MatchAll()
	both.Proto = dataplane.Exact[uint8](6)
	only4, only6 := both, both
	only4.Family, only6.Family = dataplane.FamilyIPv4, dataplane.FamilyIPv6
	for _, x := range []dataplane.PDRMatch{both, only4, only6} {
		insert(t, d, dataplane.PDR{Match: x, Priority: 5, FAR: 1}) // three rules: the family is part of the match
	}
	for _, c := range []struct {
		what string
		f    func(*dataplane.PDRMatch)
	}{
		{"IPv6 value outside mask", func(x *dataplane.PDRMatch) { x.Src6.Value[15] = 1 }},
		{"IPv4 and IPv6 addresses", func(x *dataplane.PDRMatch) { x.Src = dataplane.Exact[uint32](1) }},
		{"IPv6 address with ip_version 4", func(x *dataplane.PDRMatch) { x.Family = dataplane.FamilyIPv4 }},
		{"ip_version 5", func(x *dataplane.PDRMatch) { x.Dst6 = dataplane.Addr6{}; x.Family = 5 }},
	} {
		bad := m
		c.f(&bad)
		_, err := d.InsertPDR(dataplane.PDR{Match: bad, Priority: 20, FAR: 1})
		wantErr(t, c.what, err, dataplane.ErrInvalid)
	}
	bad := dataplane.MatchAll()
	bad.Src = dataplane.Exact[uint32](1)
	bad.Family = dataplane.FamilyIPv6
	_, err = d.InsertPDR(dataplane.PDR{Match: bad, Priority: 20, FAR: 1})
	wantErr(t, "IPv4 address with ip_version 6", err, dataplane.ErrInvalid)
	// Four rules are installed: the capacity (8) leaves room for four more only.
	for i := range uint32(4) {
		insert(t, d, dataplane.PDR{Match: both, Priority: 100 + i, FAR: 1})
	}
	_, err = d.InsertPDR(dataplane.PDR{Match: both, Priority: 200, FAR: 1})
	wantErr(t, "beyond MaxPDRs", err, dataplane.ErrFull)
}

func testPDRBatch(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPDRs: 4})
	var ps []dataplane.PDR
	for i := range 5 {
		ps = append(ps, pdr(uint32(i+1), 1))
	}
	_, err := d.InsertPDRs(ps)
	wantErr(t, "5 PDRs into 4", err, dataplane.ErrFull)
	_, err = d.PDRCounter(1)
	wantErr(t, "a refused batch left pdr 1 behind", err, dataplane.ErrNotFound)

	dup := []dataplane.PDR{pdr(1, 1), pdr(2, 1), pdr(1, 2)}
	_, err = d.InsertPDRs(dup)
	wantErr(t, "batch with a duplicate", err, dataplane.ErrExists)
	invalid := []dataplane.PDR{pdr(1, 1), {Match: dataplane.MatchAll()}}
	_, err = d.InsertPDRs(invalid)
	wantErr(t, "batch with an invalid rule", err, dataplane.ErrInvalid)
	_, err = d.PDRCounter(1)
	wantErr(t, "refused batches left pdr 1 behind", err, dataplane.ErrNotFound)

	ids, err := d.InsertPDRs(ps[:4])
	wantErr(t, "4 PDRs", err, nil)
	if !slices.Equal(ids, []dataplane.PDRID{1, 2, 3, 4}) {
		t.Fatalf("ids %v", ids)
	}
	_, err = d.InsertPDR(ps[0])
	if !errors.Is(err, dataplane.ErrExists) && !errors.Is(err, dataplane.ErrFull) {
		t.Fatalf("fifth PDR into a full table: %v", err)
	}
}

func testPDRCounters(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{})
	id := insert(t, d, pdr(1, 1))
	c, err := d.PDRCounter(id)
	wantErr(t, "counter", err, nil)
	if c != (dataplane.Counter{}) {
		t.Fatalf("fresh counter %+v", c)
	}
	wantErr(t, "reset", d.ResetPDRCounter(id), nil)
	wantErr(t, "reset unknown", d.ResetPDRCounter(id+1), dataplane.ErrNotFound)
	_, err = d.PDRCounter(id + 1)
	wantErr(t, "counter unknown", err, dataplane.ErrNotFound)
	wantErr(t, "delete", d.DeletePDR(id), nil)
	_, err = d.PDRCounter(id)
	wantErr(t, "counter of deleted", err, dataplane.ErrNotFound)
	if c, err := d.PDRDefaultCounter(); err != nil || c != (dataplane.Counter{}) {
		t.Fatalf("default counter of a fresh data path: %+v %v", c, err)
	}
	drops, err := d.DropCounters()
	wantErr(t, "drop counters", err, nil)
	if len(drops) != 0 {
		t.Fatalf("drops of a fresh data path: %v", drops)
	}
}

func testPDRDefault(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPorts: 4})
	wantErr(t, "set drop", d.SetPDRDefault(dataplane.FAR{Action: dataplane.ActDrop}), nil)
	wantErr(t, "port beyond MaxPorts", d.SetPDRDefault(dataplane.FAR{Action: dataplane.ActForward, Port: 4}), dataplane.ErrInvalid)
	wantErr(t, "no action", d.SetPDRDefault(dataplane.FAR{}), dataplane.ErrInvalid)
}

func testFARs(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxFARs: 2, MaxPorts: 4, MaxTunnels: 8})
	wantErr(t, "set 1", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActForward, Port: 3}), nil)
	wantErr(t, "set 2", d.SetFAR(2, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 7}), nil)
	wantErr(t, "third", d.SetFAR(3, dataplane.FAR{Action: dataplane.ActDrop}), dataplane.ErrFull)
	wantErr(t, "replace while full", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 9}), nil)
	wantErr(t, "bad port", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActForward, Port: 4}), dataplane.ErrInvalid)
	wantErr(t, "bad tunnel", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 8}), dataplane.ErrInvalid)
	wantErr(t, "bad action", d.SetFAR(1, dataplane.FAR{Action: 77}), dataplane.ErrInvalid)

	// No referential integrity: a FAR used by a rule may go.
	insert(t, d, pdr(1, 2))
	wantErr(t, "delete used FAR", d.DeleteFAR(2), nil)
	wantErr(t, "delete again", d.DeleteFAR(2), dataplane.ErrNotFound)
	wantErr(t, "room again", d.SetFAR(3, dataplane.FAR{Action: dataplane.ActPunt}), nil)
}

func testLBRs(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxLBRs: 1, MaxTunnels: 16})
	// Members may name tunnels that do not exist (yet).
	wantErr(t, "set", d.SetLBR(10, []dataplane.LBRMember{{Tunnel: 3, Weight: 2}, {Tunnel: 1, Weight: 1}}), nil)
	wantErr(t, "full", d.SetLBR(11, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}}), dataplane.ErrFull)
	wantErr(t, "replace", d.SetLBR(10, []dataplane.LBRMember{{Tunnel: 5, Weight: 1}}), nil)
	wantErr(t, "no members", d.SetLBR(10, nil), dataplane.ErrInvalid)
	wantErr(t, "duplicate member", d.SetLBR(10, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 1, Weight: 2}}), dataplane.ErrInvalid)
	wantErr(t, "tunnel id too big", d.SetLBR(10, []dataplane.LBRMember{{Tunnel: 16, Weight: 1}}), dataplane.ErrInvalid)
	wantErr(t, "zero weight", d.SetLBR(10, []dataplane.LBRMember{{Tunnel: 1, Weight: 0}}), dataplane.ErrInvalid)
	wantErr(t, "delete unknown", d.DeleteLBR(11), dataplane.ErrNotFound)
	wantErr(t, "delete", d.DeleteLBR(10), nil)
	wantErr(t, "delete again", d.DeleteLBR(10), dataplane.ErrNotFound)
}

func testTunnels(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxTunnels: 4, MaxPorts: 4})
	wantErr(t, "set", d.SetTunnel(3, tunnel), nil)
	wantErr(t, "id MaxTunnels", d.SetTunnel(4, tunnel), dataplane.ErrInvalid)
	bad := tunnel
	bad.Dst = addr("224.0.0.1")
	wantErr(t, "multicast dst", d.SetTunnel(1, bad), dataplane.ErrInvalid)
	bad = tunnel
	bad.Port = 4
	wantErr(t, "port", d.SetTunnel(1, bad), dataplane.ErrInvalid)

	c, err := d.TunnelCounter(3)
	wantErr(t, "counter", err, nil)
	if c != (dataplane.TunnelCounters{}) {
		t.Fatalf("fresh counters %+v", c)
	}
	_, err = d.TunnelCounter(2)
	wantErr(t, "counter of unknown", err, dataplane.ErrNotFound)
	other := tunnel
	other.Key = 0
	wantErr(t, "set 0", d.SetTunnel(0, other), nil)
	wantTunnels(t, d, []dataplane.TunnelInfo{{ID: 0, Tunnel: other, Port: 4}, {ID: 3, Tunnel: tunnel, Port: 7}})
	down := tunnel
	down.Down = true
	wantErr(t, "replace", d.SetTunnel(3, down), nil)
	wantTunnels(t, d, []dataplane.TunnelInfo{{ID: 0, Tunnel: other, Port: 4}, {ID: 3, Tunnel: down, Port: 7}})
	wantErr(t, "delete", d.DeleteTunnel(3), nil)
	wantErr(t, "delete again", d.DeleteTunnel(3), dataplane.ErrNotFound)
	_, err = d.TunnelCounter(3)
	wantErr(t, "counter of deleted", err, dataplane.ErrNotFound)
	wantTunnels(t, d, []dataplane.TunnelInfo{{ID: 0, Tunnel: other, Port: 4}})
	wantErr(t, "delete 0", d.DeleteTunnel(0), nil)
	wantTunnels(t, d, []dataplane.TunnelInfo{})

	// Logical ports take no packet-out, whether or not their overlay exists;
	// the message names the overlay.
	frame := make([]byte, 64)
	for _, port := range []dataplane.PortID{4, 7, 0xffff} {
		err := d.Transmit(port, frame)
		wantErr(t, fmt.Sprintf("transmit on logical port %d", port), err, dataplane.ErrInvalid)
		if want := fmt.Sprintf("overlay %d (tunnel-%d)", port-4, port-4); !strings.Contains(err.Error(), want) {
			t.Errorf("transmit on logical port %d: %q does not name %q", port, err, want)
		}
	}
	wantErr(t, "transmit on port 0", d.Transmit(0, frame), dataplane.ErrInvalid)
	wantErr(t, "transmit on a detached physical port", d.Transmit(3, frame), dataplane.ErrNotFound)

	if got := dataplane.TunnelPort(512, 97); got != 609 {
		t.Errorf("TunnelPort(512, 97) = %d", got)
	}
	if id, ok := dataplane.TunnelOfPort(512, 609); !ok || id != 97 {
		t.Errorf("TunnelOfPort(512, 609) = %d, %v", id, ok)
	}
	if _, ok := dataplane.TunnelOfPort(512, 511); ok {
		t.Errorf("TunnelOfPort(512, 511) names an overlay")
	}
}

func wantTunnels(t *testing.T, d dataplane.Dataplane, want []dataplane.TunnelInfo) {
	t.Helper()
	if got := d.ListTunnels(); !slices.Equal(got, want) {
		t.Errorf("ListTunnels() = %+v, want %+v", got, want)
	}
}

func testTunnelTerms(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxTerms: 1, MaxTunnels: 8})
	wantErr(t, "set", d.SetTunnelTerm(term, 1), nil)
	wantErr(t, "replace", d.SetTunnelTerm(term, 2), nil)
	other := term
	other.Key = 8
	wantErr(t, "full", d.SetTunnelTerm(other, 2), dataplane.ErrFull)
	wantErr(t, "tunnel id", d.SetTunnelTerm(term, 8), dataplane.ErrInvalid)
	wantErr(t, "mixed families", d.SetTunnelTerm(dataplane.TunnelTerm{Remote: addr("2001:db8::1"), Local: term.Local}, 1), dataplane.ErrInvalid)
	wantErr(t, "zero term", d.SetTunnelTerm(dataplane.TunnelTerm{}, 1), dataplane.ErrInvalid)
	wantErr(t, "delete other", d.DeleteTunnelTerm(other), dataplane.ErrNotFound)
	wantErr(t, "delete", d.DeleteTunnelTerm(term), nil)
	wantErr(t, "delete again", d.DeleteTunnelTerm(term), dataplane.ErrNotFound)
	wantErr(t, "room again", d.SetTunnelTerm(other, 2), nil)
}

// testTunnelsIPv6 checks overlays and terminations over an IPv6 underlay: both
// ends of one family, each a unicast address of it, refusals naming the field;
// accepted, listed and deleted like IPv4 ones.
func testTunnelsIPv6(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxTunnels: 4, MaxPorts: 4, MaxTerms: 2})
	t6 := dataplane.Tunnel{Port: 2, Src: addr("2001:db8:a::1"), Dst: addr("2001:db8:b::1"), Key: 7, SetDSCP: true, DSCP: 46}
	term6 := dataplane.TunnelTerm{Remote: t6.Dst, Local: t6.Src, Key: 7}
	for _, c := range []struct {
		name, field string
		src, dst    string
	}{
		{"v4 src v6 dst", "tunnel dst", "198.51.100.1", "2001:db8:b::1"},
		{"v6 src v4 dst", "tunnel dst", "2001:db8:a::1", "203.0.113.9"},
		{"multicast dst", "tunnel dst", "2001:db8:a::1", "ff02::1"},
		{"link-local src", "tunnel src", "fe80::1", "2001:db8:b::1"},
		{"unspecified src", "tunnel src", "::", "2001:db8:b::1"},
		{"v4-mapped src", "tunnel src", "::ffff:198.51.100.1", "2001:db8:b::1"},
	} {
		bad := t6
		bad.Src, bad.Dst = addr(c.src), addr(c.dst)
		err := d.SetTunnel(1, bad)
		wantErr(t, c.name, err, dataplane.ErrInvalid)
		if err != nil && !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v does not name %q", c.name, err, c.field)
		}
		badTerm := dataplane.TunnelTerm{Remote: addr(c.dst), Local: addr(c.src)}
		field := strings.Replace(strings.Replace(c.field, "tunnel dst", "tunnel_term remote", 1), "tunnel src", "tunnel_term local", 1)
		err = d.SetTunnelTerm(badTerm, 1)
		wantErr(t, "term "+c.name, err, dataplane.ErrInvalid)
		if err != nil && c.name != "v4 src v6 dst" && c.name != "v6 src v4 dst" && !strings.Contains(err.Error(), field) {
			t.Errorf("term %s: %v does not name %q", c.name, err, field)
		}
	}
	wantErr(t, "set", d.SetTunnel(1, t6), nil)
	wantErr(t, "set v4", d.SetTunnel(2, tunnel), nil)
	wantTunnels(t, d, []dataplane.TunnelInfo{{ID: 1, Tunnel: t6, Port: 5}, {ID: 2, Tunnel: tunnel, Port: 6}})
	if c, err := d.TunnelCounter(1); err != nil || c != (dataplane.TunnelCounters{}) {
		t.Errorf("TunnelCounter(1) = %+v, %v; want zero", c, err)
	}
	wantErr(t, "term", d.SetTunnelTerm(term6, 1), nil)
	wantErr(t, "term v4", d.SetTunnelTerm(term, 2), nil)
	wantErr(t, "term full", d.SetTunnelTerm(dataplane.TunnelTerm{Remote: addr("2001:db8:c::1"), Local: t6.Src}, 1), dataplane.ErrFull)
	wantErr(t, "delete term", d.DeleteTunnelTerm(term6), nil)
	wantErr(t, "delete term again", d.DeleteTunnelTerm(term6), dataplane.ErrNotFound)
	// A tunnel over an IPv6 underlay takes IPv6 probes only (dataplane.ValidateProbe).
	wantErr(t, "probe", d.SendProbe(1, probe(tunnel.Src, tunnel.Dst, 16)), dataplane.ErrInvalid)
	wantErr(t, "delete", d.DeleteTunnel(1), nil)
	wantTunnels(t, d, []dataplane.TunnelInfo{{ID: 2, Tunnel: tunnel, Port: 6}})
}

// probe is an IPv4/UDP datagram to the STAMP port carrying n octets, from src to
// dst: what SendProbe takes.
func probe(src, dst netip.Addr, n int) []byte {
	b := make([]byte, 28+n)
	b[0], b[8], b[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], 40000)
	binary.BigEndian.PutUint16(b[22:], dataplane.STAMPPort)
	binary.BigEndian.PutUint16(b[24:], uint16(8+n))
	return b
}

// testProbes checks SendProbe's refusals, which do not depend on a port being
// attached: an unknown tunnel, and datagrams that are not what it sends.
func testProbes(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxTunnels: 4, MaxPorts: 4})
	wantErr(t, "set", d.SetTunnel(1, tunnel), nil)
	good := probe(tunnel.Src, tunnel.Dst, 44)
	wantErr(t, "unknown tunnel", d.SendProbe(2, good), dataplane.ErrNotFound)
	// With a key, GRE and the outer IPv4 header take 28 octets of a 1500 MTU.
	wantErr(t, "one octet too long", d.SendProbe(1, probe(tunnel.Src, tunnel.Dst, 1500-28-28+1)), dataplane.ErrInvalid)
	wantErr(t, "shorter than IPv4 and UDP", d.SendProbe(1, good[:27]), dataplane.ErrInvalid)
	wantErr(t, "wrong source", d.SendProbe(1, probe(addr("198.51.100.2"), tunnel.Dst, 44)), dataplane.ErrInvalid)
	wantErr(t, "wrong destination", d.SendProbe(1, probe(tunnel.Src, addr("203.0.113.10"), 44)), dataplane.ErrInvalid)
	for _, c := range []struct {
		what string
		edit func(b []byte)
	}{
		{"IPv4 options", func(b []byte) { b[0] = 0x46 }},
		{"IPv6", func(b []byte) { b[0] = 0x60 }},
		{"TCP", func(b []byte) { b[9] = 6 }},
		{"IPv4 length", func(b []byte) { binary.BigEndian.PutUint16(b[2:], uint16(len(b)-1)) }},
		{"UDP length", func(b []byte) { binary.BigEndian.PutUint16(b[24:], 8+43) }},
	} {
		b := slices.Clone(good)
		c.edit(b)
		wantErr(t, c.what, d.SendProbe(1, b), dataplane.ErrInvalid)
	}
	err := d.SendProbe(1, good[:27])
	if err == nil || !strings.Contains(err.Error(), "tunnel 1") {
		t.Errorf("refusal %q does not name the tunnel", err)
	}
}

func testNonIPRules(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{})
	const lldp, arp = 0x88cc, 0x0806
	wantErr(t, "set", d.SetNonIPRule(lldp, dataplane.NonIPPunt), nil)
	c, err := d.NonIPCounter(lldp)
	wantErr(t, "counter", err, nil)
	if c != (dataplane.Counter{}) {
		t.Fatalf("fresh counter %+v", c)
	}
	wantErr(t, "replace", d.SetNonIPRule(lldp, dataplane.NonIPDrop), nil)
	for _, et := range []uint16{dataplane.EtherTypeIPv4, dataplane.EtherTypeDot1Q, dataplane.EtherTypeDot1AD} {
		wantErr(t, "reserved EtherType", d.SetNonIPRule(et, dataplane.NonIPDrop), dataplane.ErrInvalid)
	}
	wantErr(t, "bad action", d.SetNonIPRule(arp, 0), dataplane.ErrInvalid)
	_, err = d.NonIPCounter(arp)
	wantErr(t, "counter of unknown", err, dataplane.ErrNotFound)
	wantErr(t, "delete unknown", d.DeleteNonIPRule(arp), dataplane.ErrNotFound)
	wantErr(t, "delete", d.DeleteNonIPRule(lldp), nil)
	wantErr(t, "delete again", d.DeleteNonIPRule(lldp), dataplane.ErrNotFound)
	for i := range dataplane.MaxNonIPRules {
		wantErr(t, "fill", d.SetNonIPRule(uint16(0x9000+i), dataplane.NonIPPass), nil)
	}
	wantErr(t, "full", d.SetNonIPRule(lldp, dataplane.NonIPPass), dataplane.ErrFull)
}

// testMessages: both data paths say the same thing about the same bad input,
// so what an operator reads in a P4Runtime error does not depend on which
// one runs.
func testMessages(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPorts: 8, MaxTunnels: 8})
	bad := tunnel
	bad.Dst = addr("224.0.0.1")
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"priority 0", func() error { _, err := d.InsertPDR(dataplane.PDR{Match: dataplane.MatchAll()}); return err }(),
			"invalid entry: pdr priority must be > 0"},
		{"far port", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActForward, Port: 8}),
			"invalid entry: far forward port 8 out of range 1..7"},
		{"far tunnel", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 8}),
			"invalid entry: far encap tunnel id 8 out of range 0..7"},
		{"tunnel dst", d.SetTunnel(1, bad), "invalid entry: tunnel dst address 224.0.0.1 is multicast"},
		{"tunnel id", d.SetTunnel(8, tunnel), "invalid entry: tunnel id 8 out of range 0..7"},
		{"lbr weight", d.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1}}), "invalid entry: lbr member tunnel 1 has weight 0"},
		{"non_ip", d.SetNonIPRule(dataplane.EtherTypeIPv4, dataplane.NonIPDrop),
			"invalid entry: non_ip rule for EtherType 0x0800: IPv4 is classified by the pdr table"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.what, tc.err, tc.want)
		}
	}
}

// testClear: every rule and table goes, ids start over, counters from zero.
func testClear(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxPDRs: 4})
	id1 := insert(t, d, pdr(1, 1))
	insert(t, d, pdr(2, 1))
	wantErr(t, "delete", d.DeletePDR(id1), nil)
	wantErr(t, "default", d.SetPDRDefault(dataplane.FAR{Action: dataplane.ActDrop}), nil)
	wantErr(t, "far", d.SetFAR(1, dataplane.FAR{Action: dataplane.ActDrop}), nil)
	wantErr(t, "lbr", d.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}}), nil)
	wantErr(t, "tunnel", d.SetTunnel(1, tunnel), nil)
	wantErr(t, "term", d.SetTunnelTerm(term, 1), nil)
	wantErr(t, "non_ip", d.SetNonIPRule(0x88cc, dataplane.NonIPPunt), nil)

	wantErr(t, "clear", d.Clear(), nil)
	wantErr(t, "far gone", d.DeleteFAR(1), dataplane.ErrNotFound)
	wantErr(t, "lbr gone", d.DeleteLBR(1), dataplane.ErrNotFound)
	wantErr(t, "tunnel gone", d.DeleteTunnel(1), dataplane.ErrNotFound)
	wantErr(t, "term gone", d.DeleteTunnelTerm(term), dataplane.ErrNotFound)
	wantErr(t, "non_ip gone", d.DeleteNonIPRule(0x88cc), dataplane.ErrNotFound)
	ids, err := d.InsertPDRs([]dataplane.PDR{pdr(1, 1), pdr(2, 1), pdr(3, 1), pdr(4, 1)})
	wantErr(t, "a cleared table has room for MaxPDRs", err, nil)
	if ids[0] != 1 {
		t.Fatalf("ids after Clear %v, want from 1", ids)
	}
	if c, _ := d.PDRCounter(ids[0]); c != (dataplane.Counter{}) {
		t.Fatalf("counter after Clear %+v", c)
	}
	if c, _ := d.PDRDefaultCounter(); c != (dataplane.Counter{}) {
		t.Fatalf("default counter after Clear %+v", c)
	}
	wantErr(t, "tunnel again", d.SetTunnel(1, tunnel), nil)
	if c, _ := d.TunnelCounter(1); c != (dataplane.TunnelCounters{}) {
		t.Fatalf("tunnel counters survived Clear: %+v", c)
	}
}

// testMeters: meter configs and QoS policies are validated alike (the field
// named, out of range apart from invalid), a meter of either unit can be set
// and reset at every index below MaxMeters, and counters start at zero.
func testMeters(t *testing.T, newDP New) {
	d := newDP(t, dataplane.Options{MaxMeters: 8, MaxPDRs: 4})
	ok := dataplane.MeterConfig{CIR: 1000, CBurst: 1500, PIR: 2000, PBurst: 3000}
	for _, unit := range []dataplane.MeterUnit{dataplane.MeterBytes, dataplane.MeterPackets} {
		for _, far := range []dataplane.FARID{0, 7} {
			id := dataplane.MeterID{Unit: unit, FAR: far}
			wantErr(t, "set meter", d.SetMeter(id, ok), nil)
			wantErr(t, "srTCM", d.SetMeter(id, dataplane.MeterConfig{CIR: 10, CBurst: 5, PIR: 10, PBurst: 5, EBurst: 7}), nil)
			wantErr(t, "reset meter", d.SetMeter(id, dataplane.MeterConfig{}), nil)
			c, err := d.MeterCounters(id)
			wantErr(t, "meter counters", err, nil)
			if c != (dataplane.MeterCounters{}) {
				t.Fatalf("fresh meter %+v counts %+v", id, c)
			}
		}
	}
	wantErr(t, "index = MaxMeters", d.SetMeter(dataplane.MeterID{FAR: 8}, ok), dataplane.ErrOutOfRange)
	_, err := d.MeterCounters(dataplane.MeterID{FAR: 8})
	wantErr(t, "counters at MaxMeters", err, dataplane.ErrOutOfRange)
	wantErr(t, "pir < cir", d.SetMeter(dataplane.MeterID{FAR: 1}, dataplane.MeterConfig{CIR: 2, CBurst: 1, PIR: 1, PBurst: 1}), dataplane.ErrInvalid)
	wantErr(t, "zero burst", d.SetMeter(dataplane.MeterID{FAR: 1}, dataplane.MeterConfig{CIR: 1, PIR: 1, PBurst: 1}), dataplane.ErrInvalid)
	wantErr(t, "oversized burst", d.SetMeter(dataplane.MeterID{FAR: 1}, dataplane.MeterConfig{CIR: 1, CBurst: 1 << 33, PIR: 1, PBurst: 1}), dataplane.ErrOutOfRange)
	wantErr(t, "srTCM pburst", d.SetMeter(dataplane.MeterID{FAR: 1}, dataplane.MeterConfig{CIR: 1, CBurst: 1, PIR: 1, PBurst: 2, EBurst: 1}), dataplane.ErrInvalid)
	wantErr(t, "unit", d.SetMeter(dataplane.MeterID{Unit: 2, FAR: 1}, ok), dataplane.ErrInvalid)

	// The listing metrics and gNMI export: configured meters only, sorted.
	ml, isLister := d.(dataplane.MeterLister)
	if !isLister {
		t.Fatalf("%T does not list its meters (dataplane.MeterLister)", d)
	}
	wantErr(t, "set meter", d.SetMeter(dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 2}, ok), nil)
	wantErr(t, "set meter", d.SetMeter(dataplane.MeterID{FAR: 5}, ok), nil)
	wantErr(t, "set meter", d.SetMeter(dataplane.MeterID{FAR: 3}, ok), nil)
	wantErr(t, "reset meter", d.SetMeter(dataplane.MeterID{FAR: 3}, dataplane.MeterConfig{}), nil)
	if got, want := ml.MeterIDs(), []dataplane.MeterID{{FAR: 5}, {Unit: dataplane.MeterPackets, FAR: 2}}; !slices.Equal(got, want) {
		t.Fatalf("MeterIDs() = %v, want %v (configured ones, by unit then FAR)", got, want)
	}

	q := dataplane.QoSPolicy{Green: dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: 46}, Red: dataplane.ColorPolicy{Action: dataplane.ColorDrop}}
	wantErr(t, "qos", d.SetFARQoS(7, q), nil)
	wantErr(t, "qos default", d.SetFARQoS(7, dataplane.DefaultQoS), nil)
	wantErr(t, "qos index", d.SetFARQoS(8, q), dataplane.ErrOutOfRange)
	wantErr(t, "qos dscp", d.SetFARQoS(1, dataplane.QoSPolicy{Yellow: dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: 64}}), dataplane.ErrInvalid)
	wantErr(t, "qos action", d.SetFARQoS(1, dataplane.QoSPolicy{Red: dataplane.ColorPolicy{Action: 3}}), dataplane.ErrInvalid)

	// Direct meters of rules.
	wantErr(t, "pdr meter of no rule", d.SetPDRMeter(1, ok), dataplane.ErrNotFound)
	id := insert(t, d, pdr(1, 1))
	wantErr(t, "pdr meter", d.SetPDRMeter(id, ok), nil)
	wantErr(t, "pdr meter pir < cir", d.SetPDRMeter(id, dataplane.MeterConfig{CIR: 2, CBurst: 1, PIR: 1, PBurst: 1}), dataplane.ErrInvalid)
	if c, err := d.PDRMeterCounters(id); err != nil || c != (dataplane.MeterCounters{}) {
		t.Fatalf("fresh pdr meter counts %+v, %v", c, err)
	}
	id2 := insert(t, d, pdr(2, 1))
	if got := ml.PDRMeterIDs(); !slices.Equal(got, []dataplane.PDRID{id}) {
		t.Fatalf("PDRMeterIDs() = %v, want [%d] (rule %d has no meter)", got, id, id2)
	}
	wantErr(t, "pdr meter reset", d.SetPDRMeter(id, dataplane.MeterConfig{}), nil)
	if got := ml.PDRMeterIDs(); len(got) != 0 {
		t.Fatalf("PDRMeterIDs() = %v after the reset, want none", got)
	}
	wantErr(t, "pdr meter", d.SetPDRMeter(id2, ok), nil)
	wantErr(t, "delete pdr", d.DeletePDR(id2), nil)
	if got := ml.PDRMeterIDs(); len(got) != 0 {
		t.Fatalf("PDRMeterIDs() = %v after the rule's deletion, want none", got)
	}
	wantErr(t, "delete pdr", d.DeletePDR(id), nil)
	_, err = d.PDRMeterCounters(id)
	wantErr(t, "pdr meter counts of a deleted rule", err, dataplane.ErrNotFound)
	wantErr(t, "clear", d.Clear(), nil)
	if got := ml.MeterIDs(); len(got) != 0 {
		t.Fatalf("MeterIDs() = %v after Clear, want none", got)
	}
}
