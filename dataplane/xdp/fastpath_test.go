package xdp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// TestFastPath checks bpf/fastpath.h: a flow-cache hit of an encap action is
// classified by linx_xdp itself and encapsulated by linx_encap — the same
// frame, byte for byte, as the staged path made of the flow's first packet,
// with the same counters — and needs no classify stage at all (taken out of
// the stage array, hits still go out, while a new flow is dropped for the
// missing stage). A forward hit, and a hit whose FAR has QoS work (a meter),
// still take linx_classify. The flow cache is per CPU: each case runs on one.
func TestFastPath(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	tunnels(t, r)
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}))
	encap := addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})
	under := dataplane.MatchAll()
	under.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUnderlay), Mask: 3}
	fwd := addRule(t, r, under, 1, 2, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
	metered := under
	metered.DstPort = dataplane.OnePort(9)
	police := addRule(t, r, metered, 2, 3, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
	must(t, r.dp.SetMeter(dataplane.MeterID{FAR: 3}, dataplane.MeterConfig{CIR: 1 << 30, CBurst: 1 << 20, PIR: 1 << 30, PBurst: 1 << 20}))

	fromWAN := func(dport uint16) pkt {
		return pkt{srcMAC: peer0MAC, src: peer0, dst: hostIP, sport: 7, dport: dport, proto: layers.IPProtocolUDP, payload: 32}
	}
	for _, c := range []struct {
		name   string
		port   dataplane.PortID
		frame  pkt
		other  pkt // another flow of the same rule: a miss
		rule   dataplane.PDRID
		egress dataplane.PortID
		fast   bool
	}{
		{"encap (balance)", portLAN, pkt{sport: 1000, dport: 443, proto: layers.IPProtocolTCP}, pkt{sport: 1001, dport: 443, proto: layers.IPProtocolTCP}, encap, 0, true},
		{"forward", portWAN0, fromWAN(53), fromWAN(54), fwd, portLAN, false},
		{"forward, metered", portWAN0, fromWAN(9), pkt{srcMAC: peer0MAC, src: peer0, dst: hostIP, sport: 8, dport: 9}, police, portLAN, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer pinCPU(t)()
			frame := c.frame.bytes(t)
			tx := func() uint64 {
				if c.egress == 0 {
					return 0
				}
				pc, err := r.dp.PortCounter(c.egress)
				must(t, err)
				return pc.TX.Packets
			}
			tx0 := tx()
			v1, out1 := r.run(c.port, frame) // a miss: the staged path
			v2, out2 := r.run(c.port, frame) // a hit
			if v1 != xdpRedirect || v2 != xdpRedirect {
				t.Fatalf("verdicts %d, %d, want redirect (drops %v)", v1, v2, r.drops())
			}
			if !bytes.Equal(out1, out2) {
				t.Fatalf("a hit made\n% x\nthe staged path\n% x", out2, out1)
			}
			checkIPv4(t, decode(out2))

			// Without the classify stage: hits need none; misses drop.
			must(t, r.dp.objs.Stages.Delete(uint32(linxStageSTAGE_CLASSIFY)))
			v3, out3 := r.run(c.port, frame)
			tail0 := r.drops()[dataplane.DropTailCall].Packets
			v4, _ := r.run(c.port, c.other.bytes(t))
			tail1 := r.drops()[dataplane.DropTailCall].Packets
			must(t, r.dp.objs.Stages.Put(uint32(linxStageSTAGE_CLASSIFY), r.dp.objs.LinxClassify))
			if v4 != xdpDrop || tail1 != tail0+1 {
				t.Errorf("a new flow without the classify stage: verdict %d, tail-call drops %d → %d, want a drop", v4, tail0, tail1)
			}
			if c.fast {
				if v3 != xdpRedirect || !bytes.Equal(out3, out1) {
					t.Errorf("a hit without the classify stage: verdict %d, frame\n% x\nwant redirect of\n% x", v3, out3, out1)
				}
			} else if v3 != xdpDrop {
				t.Errorf("a hit without the classify stage: verdict %d, want a drop (it needs the staged path)", v3)
			}

			pc, err := r.dp.PDRCounter(c.rule)
			must(t, err)
			want := uint64(3)
			if !c.fast {
				want = 2 // the third packet never reached the classifier
			}
			if pc.Packets != want {
				t.Errorf("rule counted %d packets, want %d", pc.Packets, want)
			}
			if c.egress != 0 {
				if got := tx() - tx0; got != want {
					t.Errorf("port %d sent %d frames, want %d", c.egress, got, want)
				}
			}
		})
	}
	var sum uint64
	for id := range dataplane.TunnelID(3) {
		if id == 0 {
			continue
		}
		tc, err := r.dp.TunnelCounter(id)
		must(t, err)
		sum += tc.TX.Packets
	}
	if sum != 3 {
		t.Errorf("tunnels sent %d frames, want 3", sum)
	}
}

// pinCPU keeps the calling goroutine on its OS thread and that thread on one
// CPU until the returned function runs: the flow cache is per CPU, so a flow's
// packets hit it only when they all run on the same one.
func pinCPU(t *testing.T) func() {
	t.Helper()
	runtime.LockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("get affinity: %v", err)
	}
	cpu := 0
	for !old.IsSet(cpu) {
		cpu++
	}
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("pin to CPU %d: %v", cpu, err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}
}

// TestFastPath6 is TestFastPath for IPv6: an IPv6 flow-cache hit of an encap
// action is classified by linx_xdp and encapsulated by linx_encap6 — the same
// frame as the staged path made, with the same counters — and needs no
// linx_classify6 (taken out of the stage array, hits still go out, a new flow
// is dropped for the missing stage).
func TestFastPath6(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	tunnels(t, r)
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}))
	rule := addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})

	defer pinCPU(t)()
	frame := pkt6{sport: 1000, dport: 443, payload: 32}.bytes(t)
	other := pkt6{sport: 1001, dport: 443, payload: 32}.bytes(t)
	v1, out1 := r.run(portLAN, frame) // a miss: the staged path
	v2, out2 := r.run(portLAN, frame) // a hit
	if v1 != xdpRedirect || v2 != xdpRedirect {
		t.Fatalf("verdicts %d, %d, want redirect (drops %v)", v1, v2, r.drops())
	}
	if !bytes.Equal(out1, out2) {
		t.Fatalf("a hit made\n% x\nthe staged path\n% x", out2, out1)
	}

	must(t, r.dp.objs.Stages.Delete(uint32(linxStageSTAGE_CLASSIFY6)))
	v3, out3 := r.run(portLAN, frame)
	tail0 := r.drops()[dataplane.DropTailCall].Packets
	v4, _ := r.run(portLAN, other)
	tail1 := r.drops()[dataplane.DropTailCall].Packets
	must(t, r.dp.objs.Stages.Put(uint32(linxStageSTAGE_CLASSIFY6), r.dp.objs.LinxClassify6))
	if v3 != xdpRedirect || !bytes.Equal(out3, out1) {
		t.Errorf("a hit without linx_classify6: verdict %d, frame\n% x\nwant redirect of\n% x", v3, out3, out1)
	}
	if v4 != xdpDrop || tail1 != tail0+1 {
		t.Errorf("a new flow without linx_classify6: verdict %d, tail-call drops %d → %d, want a drop", v4, tail0, tail1)
	}
	pc, err := r.dp.PDRCounter(rule)
	must(t, err)
	// The new flow's packet dropped at the missing tail call, before any
	// classifier: only the flow's three packets count.
	if pc.Packets != 3 {
		t.Errorf("rule counted %d packets, want 3", pc.Packets)
	}
}

// TestFlowCache6StructuredAddresses sends IPv6 flows whose source addresses
// differ in two words that change together (the shape of addresses numbered
// by a pattern), then sends each flow again with linx_classify6 taken out of
// the stage array: every one must be a flow-cache hit, finished by the fast
// path. A flow hash that XOR-folds the address words maps all of these flows
// to one 2-way set, and all but two miss.
func TestFlowCache6StructuredAddresses(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	tunnels(t, r)
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}))
	addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})

	defer pinCPU(t)()
	const flows = 64
	frames := make([][]byte, flows)
	for i := range frames {
		a := netip.MustParseAddr("2001:db8:1::").As16()
		binary.BigEndian.PutUint32(a[8:], uint32(i+1))
		binary.BigEndian.PutUint32(a[12:], uint32(i+1))
		frames[i] = pkt6{src: netip.AddrFrom16(a), sport: 1000, dport: 443, payload: 32}.bytes(t)
	}
	for i, f := range frames {
		if v, _ := r.run(portLAN, f); v != xdpRedirect {
			t.Fatalf("flow %d: verdict %d, want redirect (drops %v)", i, v, r.drops())
		}
	}
	must(t, r.dp.objs.Stages.Delete(uint32(linxStageSTAGE_CLASSIFY6)))
	defer func() { must(t, r.dp.objs.Stages.Put(uint32(linxStageSTAGE_CLASSIFY6), r.dp.objs.LinxClassify6)) }()
	missed := 0
	for _, f := range frames {
		if v, _ := r.run(portLAN, f); v != xdpRedirect {
			missed++
		}
	}
	if missed != 0 {
		t.Errorf("%d of %d flows missed the flow cache on their second packet", missed, flows)
	}
}
