package memdp

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"

	dp "github.com/linx-sdwan/linx/dataplane"
)

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func pdr(prio uint32, far dp.FARID) dp.PDR {
	return dp.PDR{Match: dp.MatchAll(), Priority: prio, FAR: far}
}

var (
	addr   = netip.MustParseAddr
	tunnel = dp.Tunnel{Port: 2, Src: addr("198.51.100.1"), Dst: addr("203.0.113.9"), Key: 7}
	term   = dp.TunnelTerm{Remote: addr("203.0.113.9"), Local: addr("198.51.100.1"), Key: 7}
)

func TestDefaults(t *testing.T) {
	d := New(dp.Options{MaxPDRs: 5})
	o := d.Options()
	if o.MaxPDRs != 5 || o.MaxFARs != dp.DefaultOptions.MaxFARs || o.MaxPorts != dp.DefaultOptions.MaxPorts {
		t.Fatalf("options %+v", o)
	}
	if f := d.PDRDefault(); f != (dp.FAR{Action: dp.ActPass}) {
		t.Fatalf("initial default %+v, want pass", f)
	}
	if len(d.Ports()) != 0 || len(d.PDRs()) != 0 || len(d.FARs()) != 0 || len(d.LBRs()) != 0 ||
		len(d.Tunnels()) != 0 || len(d.Terms()) != 0 || len(d.Transmitted()) != 0 {
		t.Fatal("new data path is not empty")
	}
	drops, err := d.DropCounters()
	wantErr(t, "DropCounters", err, nil)
	if len(drops) != 0 {
		t.Fatalf("drops %v", drops)
	}
}

func TestAttachDetach(t *testing.T) {
	d := New(dp.Options{MaxPorts: 8})
	wantErr(t, "attach wan0", d.Attach("wan0", 5, dp.RoleWAN, dp.XDPNative), nil)
	wantErr(t, "attach lan0", d.Attach("lan0", 1, dp.RoleLAN, dp.XDPGeneric), nil)
	wantErr(t, "attach lan1", d.Attach("lan1", 7, dp.RoleLAN, dp.XDPNative), nil)

	wantErr(t, "duplicate id", d.Attach("other", 5, dp.RoleLAN, dp.XDPNative), dp.ErrExists)
	wantErr(t, "duplicate name", d.Attach("wan0", 6, dp.RoleWAN, dp.XDPNative), dp.ErrExists)
	wantErr(t, "port 0", d.Attach("x", 0, dp.RoleLAN, dp.XDPNative), dp.ErrInvalid)
	wantErr(t, "port MaxPorts", d.Attach("x", 8, dp.RoleLAN, dp.XDPNative), dp.ErrInvalid)
	wantErr(t, "empty name", d.Attach("", 3, dp.RoleLAN, dp.XDPNative), dp.ErrInvalid)
	wantErr(t, "bad role", d.Attach("x", 3, 0, dp.XDPNative), dp.ErrInvalid)
	wantErr(t, "bad mode", d.Attach("x", 3, dp.RoleLAN, 9), dp.ErrInvalid)

	ps := d.Ports()
	ids := []dp.PortID{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []dp.PortID{1, 5, 7}) {
		t.Fatalf("port ids %v, want sorted [1 5 7]", ids)
	}
	if p := ps[1]; p.Name != "wan0" || p.Role != dp.RoleWAN || p.Mode != dp.XDPNative || p.Ifindex != 1 {
		t.Fatalf("port 5 = %+v", p)
	}
	if p := ps[0]; p.Name != "lan0" || p.Role != dp.RoleLAN || p.Mode != dp.XDPGeneric || p.Ifindex != 2 {
		t.Fatalf("port 1 = %+v", p)
	}

	wantErr(t, "detach unknown", d.Detach(2), dp.ErrNotFound)
	wantErr(t, "detach 5", d.Detach(5), nil)
	wantErr(t, "detach 5 again", d.Detach(5), dp.ErrNotFound)
	// The id and the name are free again.
	wantErr(t, "reattach", d.Attach("wan0", 5, dp.RoleWAN, dp.XDPNative), nil)
	if len(d.Ports()) != 3 {
		t.Fatalf("ports %v", d.Ports())
	}
}

func TestPDRLifecycle(t *testing.T) {
	d := New(dp.Options{MaxPDRs: 3})
	m := dp.MatchAll()
	m.Proto = dp.Exact[uint8](17)
	m.DstPort = dp.OnePort(53)
	a := dp.PDR{Match: m, Priority: 10, FAR: 99} // FAR 99 does not exist: allowed
	id, err := d.InsertPDR(a)
	wantErr(t, "insert", err, nil)

	_, err = d.InsertPDR(a)
	wantErr(t, "same match and priority", err, dp.ErrExists)
	b := a
	b.FAR = 5
	_, err = d.InsertPDR(b)
	wantErr(t, "same match and priority, other FAR", err, dp.ErrExists)
	b.Priority = 11
	idB, err := d.InsertPDR(b)
	wantErr(t, "same match, other priority", err, nil)

	_, err = d.InsertPDR(dp.PDR{Match: m})
	wantErr(t, "priority 0", err, dp.ErrInvalid)
	bad := a
	bad.Match.Src = dp.Ternary[uint32]{Value: 1}
	_, err = d.InsertPDR(bad)
	wantErr(t, "value outside mask", err, dp.ErrInvalid)

	_, err = d.InsertPDR(pdr(1, 1))
	wantErr(t, "third", err, nil)
	_, err = d.InsertPDR(pdr(2, 1))
	wantErr(t, "beyond MaxPDRs", err, dp.ErrFull)
	_, err = d.InsertPDR(a)
	wantErr(t, "duplicate while full", err, dp.ErrExists)

	wantErr(t, "modify", d.ModifyPDR(id, 42), nil)
	if got := d.PDRs()[id]; got.FAR != 42 || got.Priority != 10 || got.Match != m {
		t.Fatalf("after modify: %+v", got)
	}
	wantErr(t, "modify unknown", d.ModifyPDR(77, 1), dp.ErrNotFound)
	wantErr(t, "modify 0", d.ModifyPDR(0, 1), dp.ErrNotFound)

	wantErr(t, "delete", d.DeletePDR(id), nil)
	wantErr(t, "delete again", d.DeletePDR(id), dp.ErrNotFound)
	wantErr(t, "delete unknown", d.DeletePDR(1000), dp.ErrNotFound)
	// The identity is free again, and so is a slot.
	id2, err := d.InsertPDR(a)
	wantErr(t, "reinsert", err, nil)
	if id2 != id {
		t.Fatalf("reinsert got id %d, want reused %d", id2, id)
	}
	if got := d.PDRs(); len(got) != 3 || got[idB] != b || got[id2] != a {
		t.Fatalf("PDRs() = %+v", got)
	}
}

func TestPDRCounters(t *testing.T) {
	d := New(dp.Options{})
	id, _ := d.InsertPDR(pdr(1, 1))
	c, err := d.PDRCounter(id)
	wantErr(t, "counter", err, nil)
	if c != (dp.Counter{}) {
		t.Fatalf("fresh counter %+v", c)
	}
	wantErr(t, "add", d.AddPDRCount(id, dp.Counter{Packets: 2, Bytes: 200}), nil)
	wantErr(t, "add", d.AddPDRCount(id, dp.Counter{Packets: 1, Bytes: 60}), nil)
	wantErr(t, "add unknown", d.AddPDRCount(id+1, dp.Counter{Packets: 1}), dp.ErrNotFound)
	if c, _ := d.PDRCounter(id); c != (dp.Counter{Packets: 3, Bytes: 260}) {
		t.Fatalf("counter %+v", c)
	}
	// Modify keeps the counter.
	wantErr(t, "modify", d.ModifyPDR(id, 2), nil)
	if c, _ := d.PDRCounter(id); c.Packets != 3 {
		t.Fatalf("counter after modify %+v", c)
	}
	wantErr(t, "reset", d.ResetPDRCounter(id), nil)
	if c, _ := d.PDRCounter(id); c != (dp.Counter{}) {
		t.Fatalf("counter after reset %+v", c)
	}
	wantErr(t, "reset unknown", d.ResetPDRCounter(id+1), dp.ErrNotFound)
	_, err = d.PDRCounter(id + 1)
	wantErr(t, "counter unknown", err, dp.ErrNotFound)

	// A deleted rule's counter is gone; its reused id starts from zero.
	d.AddPDRCount(id, dp.Counter{Packets: 9})
	d.DeletePDR(id)
	_, err = d.PDRCounter(id)
	wantErr(t, "counter of deleted", err, dp.ErrNotFound)
	id2, _ := d.InsertPDR(pdr(5, 1))
	if c, _ := d.PDRCounter(id2); id2 != id || c != (dp.Counter{}) {
		t.Fatalf("reused id %d counter %+v", id2, c)
	}

	d.AddPDRDefaultCount(dp.Counter{Packets: 4, Bytes: 400})
	if c, err := d.PDRDefaultCounter(); err != nil || c != (dp.Counter{Packets: 4, Bytes: 400}) {
		t.Fatalf("default counter %+v %v", c, err)
	}
}

func TestPDRDefault(t *testing.T) {
	d := New(dp.Options{MaxPorts: 4})
	wantErr(t, "set drop", d.SetPDRDefault(dp.FAR{Action: dp.ActDrop}), nil)
	if f := d.PDRDefault(); f.Action != dp.ActDrop {
		t.Fatalf("default %+v", f)
	}
	wantErr(t, "invalid", d.SetPDRDefault(dp.FAR{Action: dp.ActForward, Port: 4}), dp.ErrInvalid)
	wantErr(t, "unknown action", d.SetPDRDefault(dp.FAR{}), dp.ErrInvalid)
	if f := d.PDRDefault(); f.Action != dp.ActDrop {
		t.Fatalf("failed set changed default to %+v", f)
	}
}

func TestFARs(t *testing.T) {
	d := New(dp.Options{MaxFARs: 2, MaxPorts: 4, MaxTunnels: 8})
	wantErr(t, "set 1", d.SetFAR(1, dp.FAR{Action: dp.ActForward, Port: 3}), nil)
	wantErr(t, "set 2", d.SetFAR(2, dp.FAR{Action: dp.ActEncap, Tunnel: 7}), nil)
	wantErr(t, "third", d.SetFAR(3, dp.FAR{Action: dp.ActDrop}), dp.ErrFull)
	wantErr(t, "replace while full", d.SetFAR(1, dp.FAR{Action: dp.ActBalance, LBR: 9}), nil)
	wantErr(t, "bad port", d.SetFAR(1, dp.FAR{Action: dp.ActForward, Port: 4}), dp.ErrInvalid)
	wantErr(t, "bad tunnel", d.SetFAR(1, dp.FAR{Action: dp.ActEncap, Tunnel: 8}), dp.ErrInvalid)
	wantErr(t, "bad action", d.SetFAR(1, dp.FAR{Action: 0}), dp.ErrInvalid)
	want := map[dp.FARID]dp.FAR{1: {Action: dp.ActBalance, LBR: 9}, 2: {Action: dp.ActEncap, Tunnel: 7}}
	if got := d.FARs(); !mapsEqual(got, want) {
		t.Fatalf("FARs() = %v", got)
	}

	// No referential integrity: a FAR used by a rule may go.
	id, err := d.InsertPDR(pdr(1, 2))
	wantErr(t, "pdr", err, nil)
	wantErr(t, "delete used FAR", d.DeleteFAR(2), nil)
	wantErr(t, "delete again", d.DeleteFAR(2), dp.ErrNotFound)
	if d.PDRs()[id].FAR != 2 {
		t.Fatal("rule lost its FAR id")
	}
	wantErr(t, "room again", d.SetFAR(3, dp.FAR{Action: dp.ActPunt}), nil)
}

func TestLBRs(t *testing.T) {
	d := New(dp.Options{MaxLBRs: 1, MaxTunnels: 16})
	members := []dp.LBRMember{{Tunnel: 3, Weight: 2}, {Tunnel: 1, Weight: 1}}
	wantErr(t, "set", d.SetLBR(10, members), nil)
	members[0].Weight = 100 // the data path keeps its own copy
	got := d.LBRs()
	if want := []dp.LBRMember{{Tunnel: 3, Weight: 2}, {Tunnel: 1, Weight: 1}}; !slices.Equal(got[10], want) {
		t.Fatalf("LBRs()[10] = %v, want %v", got[10], want)
	}
	got[10][0].Weight = 50 // and hands out copies
	if d.LBRs()[10][0].Weight != 2 {
		t.Fatal("LBRs() exposes internal state")
	}
	wantErr(t, "full", d.SetLBR(11, []dp.LBRMember{{Tunnel: 1, Weight: 1}}), dp.ErrFull)
	wantErr(t, "replace", d.SetLBR(10, []dp.LBRMember{{Tunnel: 5, Weight: 1}}), nil)
	wantErr(t, "no members", d.SetLBR(10, nil), dp.ErrInvalid)
	wantErr(t, "duplicate member", d.SetLBR(10, []dp.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 1, Weight: 2}}), dp.ErrInvalid)
	wantErr(t, "tunnel id too big", d.SetLBR(10, []dp.LBRMember{{Tunnel: 16, Weight: 1}}), dp.ErrInvalid)
	wantErr(t, "zero weight", d.SetLBR(10, []dp.LBRMember{{Tunnel: 1, Weight: 0}}), dp.ErrInvalid)
	// Members may name tunnels that do not exist (yet).
	if len(d.Tunnels()) != 0 || !slices.Equal(d.LBRs()[10], []dp.LBRMember{{Tunnel: 5, Weight: 1}}) {
		t.Fatalf("LBRs() = %v", d.LBRs())
	}
	wantErr(t, "delete unknown", d.DeleteLBR(11), dp.ErrNotFound)
	wantErr(t, "delete", d.DeleteLBR(10), nil)
	wantErr(t, "delete again", d.DeleteLBR(10), dp.ErrNotFound)
}

func TestTunnels(t *testing.T) {
	d := New(dp.Options{MaxTunnels: 4, MaxPorts: 4})
	wantErr(t, "set", d.SetTunnel(3, tunnel), nil)
	wantErr(t, "id MaxTunnels", d.SetTunnel(4, tunnel), dp.ErrInvalid)
	bad := tunnel
	bad.Dst = addr("224.0.0.1")
	wantErr(t, "multicast dst", d.SetTunnel(1, bad), dp.ErrInvalid)
	bad = tunnel
	bad.Port = 4
	wantErr(t, "port", d.SetTunnel(1, bad), dp.ErrInvalid)

	c, err := d.TunnelCounter(3)
	wantErr(t, "counter", err, nil)
	if c != (dp.TunnelCounters{}) {
		t.Fatalf("fresh counters %+v", c)
	}
	_, err = d.TunnelCounter(2)
	wantErr(t, "counter of unknown", err, dp.ErrNotFound)
	wantErr(t, "add unknown", d.AddTunnelCount(2, dp.TunnelCounters{}), dp.ErrNotFound)
	add := dp.TunnelCounters{TX: dp.Counter{Packets: 1, Bytes: 100}, RX: dp.Counter{Packets: 2, Bytes: 300}}
	wantErr(t, "add", d.AddTunnelCount(3, add), nil)
	wantErr(t, "add", d.AddTunnelCount(3, add), nil)

	// Replacing keeps the counters.
	down := tunnel
	down.Down = true
	wantErr(t, "replace", d.SetTunnel(3, down), nil)
	c, _ = d.TunnelCounter(3)
	if want := (dp.TunnelCounters{TX: dp.Counter{Packets: 2, Bytes: 200}, RX: dp.Counter{Packets: 4, Bytes: 600}}); c != want {
		t.Fatalf("counters %+v, want %+v", c, want)
	}
	if got := d.Tunnels(); len(got) != 1 || got[3] != down {
		t.Fatalf("Tunnels() = %v", got)
	}

	wantErr(t, "delete", d.DeleteTunnel(3), nil)
	wantErr(t, "delete again", d.DeleteTunnel(3), dp.ErrNotFound)
	wantErr(t, "set again", d.SetTunnel(3, tunnel), nil)
	if c, _ := d.TunnelCounter(3); c != (dp.TunnelCounters{}) {
		t.Fatalf("recreated tunnel has counters %+v", c)
	}
}

func TestTunnelTerms(t *testing.T) {
	d := New(dp.Options{MaxTerms: 1, MaxTunnels: 8})
	wantErr(t, "set", d.SetTunnelTerm(term, 1), nil)
	wantErr(t, "replace", d.SetTunnelTerm(term, 2), nil)
	other := term
	other.Key = 8
	wantErr(t, "full", d.SetTunnelTerm(other, 2), dp.ErrFull)
	wantErr(t, "tunnel id", d.SetTunnelTerm(term, 8), dp.ErrInvalid)
	wantErr(t, "ipv6", d.SetTunnelTerm(dp.TunnelTerm{Remote: addr("2001:db8::1"), Local: term.Local}, 1), dp.ErrInvalid)
	wantErr(t, "zero term", d.SetTunnelTerm(dp.TunnelTerm{}, 1), dp.ErrInvalid)
	if got := d.Terms(); len(got) != 1 || got[term] != 2 {
		t.Fatalf("Terms() = %v", got)
	}
	wantErr(t, "delete other", d.DeleteTunnelTerm(other), dp.ErrNotFound)
	wantErr(t, "delete", d.DeleteTunnelTerm(term), nil)
	wantErr(t, "delete again", d.DeleteTunnelTerm(term), dp.ErrNotFound)
	wantErr(t, "room again", d.SetTunnelTerm(other, 2), nil)
}

func TestPortAndDropCounters(t *testing.T) {
	d := New(dp.Options{})
	wantErr(t, "attach", d.Attach("lan0", 1, dp.RoleLAN, dp.XDPNative), nil)
	pc, err := d.PortCounter(1)
	wantErr(t, "counter", err, nil)
	if pc != (dp.PortCounters{}) {
		t.Fatalf("fresh port counters %+v", pc)
	}
	_, err = d.PortCounter(2)
	wantErr(t, "unattached", err, dp.ErrNotFound)
	wantErr(t, "add unattached", d.AddPortCount(2, dp.PortCounters{}), dp.ErrNotFound)
	add := dp.PortCounters{RX: dp.Counter{Packets: 5, Bytes: 500}, TX: dp.Counter{Packets: 1, Bytes: 64}}
	wantErr(t, "add", d.AddPortCount(1, add), nil)
	wantErr(t, "add", d.AddPortCount(1, add), nil)
	if pc, _ := d.PortCounter(1); pc.RX.Packets != 10 || pc.RX.Bytes != 1000 || pc.TX.Packets != 2 || pc.TX.Bytes != 128 {
		t.Fatalf("port counters %+v", pc)
	}
	// Detach forgets the counters.
	d.Detach(1)
	d.Attach("lan0", 1, dp.RoleLAN, dp.XDPNative)
	if pc, _ := d.PortCounter(1); pc != (dp.PortCounters{}) {
		t.Fatalf("reattached port counters %+v", pc)
	}

	d.AddDrop(3, dp.Counter{Packets: 1, Bytes: 10})
	d.AddDrop(3, dp.Counter{Packets: 1, Bytes: 10})
	d.AddDrop(7, dp.Counter{Packets: 5, Bytes: 50})
	drops, err := d.DropCounters()
	wantErr(t, "drops", err, nil)
	want := map[dp.DropReason]dp.Counter{3: {Packets: 2, Bytes: 20}, 7: {Packets: 5, Bytes: 50}}
	if !mapsEqual(drops, want) {
		t.Fatalf("drops %v, want %v", drops, want)
	}
	drops[3] = dp.Counter{}
	if again, _ := d.DropCounters(); again[3].Packets != 2 {
		t.Fatal("DropCounters exposes internal state")
	}
}

func TestTransmit(t *testing.T) {
	d := New(dp.Options{})
	d.Attach("wan0", 2, dp.RoleWAN, dp.XDPNative)
	frame := make([]byte, 60)
	frame[0] = 0xaa
	wantErr(t, "transmit", d.Transmit(2, frame), nil)
	frame[0] = 0xbb // recorded as a copy
	wantErr(t, "transmit again", d.Transmit(2, frame), nil)
	wantErr(t, "unknown port", d.Transmit(3, frame), dp.ErrNotFound)
	wantErr(t, "short frame", d.Transmit(2, frame[:13]), dp.ErrInvalid)
	wantErr(t, "frame longer than the MTU", d.Transmit(2, make([]byte, MTU+15)), dp.ErrInvalid)
	sent := d.Transmitted()
	if len(sent) != 2 || sent[0].Port != 2 || sent[0].Frame[0] != 0xaa || sent[1].Frame[0] != 0xbb || len(sent[1].Frame) != 60 {
		t.Fatalf("Transmitted() = %+v", sent)
	}
	sent[0].Frame[0] = 0
	if d.Transmitted()[0].Frame[0] != 0xaa {
		t.Fatal("Transmitted exposes internal state")
	}
	d.ResetTransmitted()
	if len(d.Transmitted()) != 0 {
		t.Fatal("ResetTransmitted kept frames")
	}
}

func TestPunts(t *testing.T) {
	d := New(dp.Options{})
	pkt := make([]byte, dp.MaxPuntBytes+100)
	pkt[0] = 1
	if !d.InjectPunt(dp.Punt{Port: 3, Packet: pkt}) {
		t.Fatal("inject failed")
	}
	pkt[0] = 2
	if !d.InjectPunt(dp.Punt{Port: 4, Packet: pkt[:64], Length: 9000}) {
		t.Fatal("inject failed")
	}
	p := <-d.Punts()
	if p.Port != 3 || len(p.Packet) != dp.MaxPuntBytes || p.Length != dp.MaxPuntBytes+100 || p.Packet[0] != 1 {
		t.Fatalf("punt 1: port %d len %d length %d first %d", p.Port, len(p.Packet), p.Length, p.Packet[0])
	}
	p = <-d.Punts()
	if p.Port != 4 || len(p.Packet) != 64 || p.Length != 9000 || p.Packet[0] != 2 {
		t.Fatalf("punt 2: port %d len %d length %d", p.Port, len(p.Packet), p.Length)
	}

	for i := range PuntBuffer {
		if !d.InjectPunt(dp.Punt{Port: 1, Packet: []byte{byte(i)}}) {
			t.Fatalf("inject %d failed before the buffer was full", i)
		}
	}
	if d.InjectPunt(dp.Punt{Port: 1, Packet: []byte{0}}) {
		t.Fatal("inject into a full channel succeeded")
	}
	<-d.Punts()
	if !d.InjectPunt(dp.Punt{Port: 1, Packet: []byte{0}}) {
		t.Fatal("inject after draining one failed")
	}

	wantErr(t, "close", d.Close(), nil)
	wantErr(t, "close again", d.Close(), nil)
	n := 0
	for range d.Punts() {
		n++
	}
	if n != PuntBuffer {
		t.Fatalf("drained %d punts after close, want %d", n, PuntBuffer)
	}
	if d.InjectPunt(dp.Punt{Port: 1, Packet: []byte{0}}) {
		t.Fatal("inject after close succeeded")
	}
}

func TestCloseDetaches(t *testing.T) {
	d := New(dp.Options{})
	d.Attach("lan0", 1, dp.RoleLAN, dp.XDPNative)
	d.SetFAR(1, dp.FAR{Action: dp.ActDrop})
	wantErr(t, "close", d.Close(), nil)
	if len(d.Ports()) != 0 {
		t.Fatalf("ports after close: %v", d.Ports())
	}
	wantErr(t, "transmit after close", d.Transmit(1, make([]byte, 64)), dp.ErrNotFound)
	if _, ok := <-d.Punts(); ok {
		t.Fatal("punt channel open after close")
	}
	if len(d.FARs()) != 1 {
		t.Fatal("close dropped the tables")
	}
}

func TestClear(t *testing.T) {
	d := New(dp.Options{})
	d.Attach("wan0", 2, dp.RoleWAN, dp.XDPNative)
	d.AddPortCount(2, dp.PortCounters{RX: dp.Counter{Packets: 1}})
	d.AddDrop(1, dp.Counter{Packets: 1})
	d.Transmit(2, make([]byte, 64))
	id1, _ := d.InsertPDR(pdr(1, 1))
	id2, _ := d.InsertPDR(pdr(2, 1))
	d.DeletePDR(id1)
	d.AddPDRCount(id2, dp.Counter{Packets: 3})
	d.AddPDRDefaultCount(dp.Counter{Packets: 3})
	d.SetPDRDefault(dp.FAR{Action: dp.ActDrop})
	d.SetFAR(1, dp.FAR{Action: dp.ActDrop})
	d.SetLBR(1, []dp.LBRMember{{Tunnel: 1, Weight: 1}})
	d.SetTunnel(1, tunnel)
	d.AddTunnelCount(1, dp.TunnelCounters{TX: dp.Counter{Packets: 1}})
	d.SetTunnelTerm(term, 1)

	wantErr(t, "clear", d.Clear(), nil)
	if len(d.PDRs()) != 0 || len(d.FARs()) != 0 || len(d.LBRs()) != 0 || len(d.Tunnels()) != 0 || len(d.Terms()) != 0 {
		t.Fatal("tables not empty after Clear")
	}
	if f := d.PDRDefault(); f.Action != dp.ActPass {
		t.Fatalf("default after Clear %+v", f)
	}
	if c, _ := d.PDRDefaultCounter(); c != (dp.Counter{}) {
		t.Fatalf("default counter after Clear %+v", c)
	}
	if _, err := d.PDRCounter(id2); !errors.Is(err, dp.ErrNotFound) {
		t.Fatalf("counter of cleared rule: %v", err)
	}
	// Ids start over, counters from zero.
	id, _ := d.InsertPDR(pdr(2, 1))
	if c, _ := d.PDRCounter(id); id != 1 || c != (dp.Counter{}) {
		t.Fatalf("after Clear: id %d counter %+v", id, c)
	}
	d.SetTunnel(1, tunnel)
	if c, _ := d.TunnelCounter(1); c != (dp.TunnelCounters{}) {
		t.Fatalf("tunnel counters survived Clear: %+v", c)
	}
	// Ports, their counters, drops and transmitted frames stay.
	if len(d.Ports()) != 1 {
		t.Fatal("Clear detached ports")
	}
	if pc, _ := d.PortCounter(2); pc.RX.Packets != 1 {
		t.Fatal("Clear reset port counters")
	}
	if drops, _ := d.DropCounters(); drops[1].Packets != 1 {
		t.Fatal("Clear reset drop counters")
	}
	if len(d.Transmitted()) != 1 {
		t.Fatal("Clear forgot transmitted frames")
	}
}

func TestReadBackCopies(t *testing.T) {
	d := New(dp.Options{})
	id, _ := d.InsertPDR(pdr(1, 1))
	d.SetFAR(1, dp.FAR{Action: dp.ActDrop})
	d.SetTunnel(1, tunnel)
	d.SetTunnelTerm(term, 1)
	delete(d.PDRs(), id)
	delete(d.FARs(), 1)
	delete(d.Tunnels(), 1)
	delete(d.Terms(), term)
	if len(d.PDRs()) != 1 || len(d.FARs()) != 1 || len(d.Tunnels()) != 1 || len(d.Terms()) != 1 {
		t.Fatal("read-back maps alias internal state")
	}
}

func TestConcurrent(t *testing.T) {
	d := New(dp.Options{MaxPDRs: 1000})
	d.Attach("lan0", 1, dp.RoleLAN, dp.XDPNative)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				id, err := d.InsertPDR(pdr(uint32(g*1000+i+1), dp.FARID(i)))
				if err != nil {
					t.Errorf("insert: %v", err)
					return
				}
				d.AddPDRCount(id, dp.Counter{Packets: 1})
				d.SetFAR(dp.FARID(g*1000+i), dp.FAR{Action: dp.ActDrop})
				d.Transmit(1, make([]byte, 64))
				d.InjectPunt(dp.Punt{Port: 1, Packet: []byte{1}})
				_ = d.PDRs()
				if i%2 == 0 {
					if err := d.DeletePDR(id); err != nil {
						t.Errorf("delete: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	pdrs := d.PDRs()
	if len(pdrs) != 400 {
		t.Fatalf("%d rules, want 400", len(pdrs))
	}
	// Ids stay dense: 400 rules never needed an id above 800.
	for id := range pdrs {
		if id < 1 || id > 800 {
			t.Fatalf("id %d", id)
		}
	}
	if len(d.Transmitted()) != 800 || len(d.FARs()) != 800 {
		t.Fatalf("transmitted %d fars %d", len(d.Transmitted()), len(d.FARs()))
	}
	d.Close()
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestNonIPRules(t *testing.T) {
	d := New(dp.Options{})
	if err := d.SetNonIPRule(dp.EtherTypeIPv4, dp.NonIPPunt); !errors.Is(err, dp.ErrInvalid) {
		t.Errorf("rule for IPv4: %v, want ErrInvalid", err)
	}
	if err := d.SetNonIPRule(0x0806, dp.NonIPCopyToController); err != nil {
		t.Fatal(err)
	}
	if err := d.AddNonIPCount(0x0806, dp.Counter{Packets: 2, Bytes: 120}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetNonIPRule(0x0806, dp.NonIPDrop); err != nil {
		t.Fatal(err)
	}
	if c, err := d.NonIPCounter(0x0806); err != nil || c.Packets != 2 {
		t.Errorf("counter after replacing the rule: %+v %v, want kept", c, err)
	}
	if err := d.DeleteNonIPRule(0x0806); err != nil {
		t.Fatal(err)
	}
	if _, err := d.NonIPCounter(0x0806); !errors.Is(err, dp.ErrNotFound) {
		t.Errorf("counter of a deleted rule: %v", err)
	}
	if err := d.DeleteNonIPRule(0x0806); !errors.Is(err, dp.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	for i := range dp.MaxNonIPRules {
		if err := d.SetNonIPRule(uint16(0x9000+i), dp.NonIPPass); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SetNonIPRule(0x88cc, dp.NonIPPunt); !errors.Is(err, dp.ErrFull) {
		t.Errorf("one rule too many: %v, want ErrFull", err)
	}
	if err := d.Clear(); err != nil || len(d.NonIPRules()) != 0 {
		t.Errorf("after Clear: %v %v", d.NonIPRules(), err)
	}
	if err := d.Restore(dp.RestoreState{NonIP: map[uint16]dp.NonIPAction{0x88cc: dp.NonIPPunt}}); err != nil {
		t.Fatal(err)
	}
	if got := d.NonIPRules(); len(got) != 1 || got[0x88cc] != dp.NonIPPunt {
		t.Errorf("after Restore: %v", got)
	}
}
