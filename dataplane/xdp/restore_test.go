package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// mountBPFFS mounts a bpffs for the test (in the test's mount namespace, which
// the rig's network namespace shares) and returns a pin directory inside it.
func mountBPFFS(t *testing.T) string {
	t.Helper()
	fs := t.TempDir()
	if err := unix.Mount("bpf", fs, "bpf", 0, ""); err != nil {
		testenv.SkipOrFail(t, "mount bpffs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(fs, unix.MNT_DETACH) })
	return filepath.Join(fs, "linx")
}

// runOn passes frame through dp's linx_xdp as received on port of the rig.
func (r *rig) runOn(dp *Dataplane, port dataplane.PortID, frame []byte) (uint32, []byte, error) {
	var ret uint32
	out := make([]byte, len(frame)+512)
	err := r.ns.Do(func() error {
		var err error
		opts := &ebpf.RunOptions{Data: frame, DataOut: out, Context: xdpMd{DataEnd: uint32(len(frame)), IngressIfindex: uint32(r.idx[port])}}
		ret, err = dp.objs.LinxXdp.Run(opts)
		out = opts.DataOut
		return err
	})
	return ret, out, err
}

// outcome names what the pipeline did with a packet: dropped, passed, forwarded
// to a MAC, or encapsulated to a tunnel peer.
func outcome(verdict uint32, out []byte) string {
	switch verdict {
	case xdpDrop:
		return "drop"
	case xdpPass:
		return "pass"
	case xdpRedirect:
		p := decode(out)
		if gre := p.Layer(layers.LayerTypeGRE); gre != nil {
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			return "gre->" + ip.DstIP.String()
		}
		if eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
			return "fwd->" + eth.DstMAC.String()
		}
	}
	return fmt.Sprintf("verdict %d", verdict)
}

// restoreCase is one packet and what it gets with the full rule set and with
// rule "c" removed.
type restoreCase struct {
	name           string
	port           dataplane.PortID
	frame          []byte
	want, withoutC string
}

// TestRestoreTakeover plays a restart of the agent over a pinned data path: a
// second Load takes over the ports (the links of the first swap in its program)
// and Restore rebuilds the bookkeeping from the rules the first one held. Every
// packet gets the same treatment before and after, PDR counters survive, the
// restored data path takes new writes, and a third takeover restoring one rule
// fewer removes exactly that rule, while packets run through the pipeline all
// along and each sees the rule set before or after.
func TestRestoreTakeover(t *testing.T) {
	testenv.RequireRoot(t)
	dir := mountBPFFS(t)
	opts := dataplane.Options{MaxPDRs: 4096, MaxFARs: 64, MaxLBRs: 8, MaxTunnels: 16, MaxTerms: 16, MaxPorts: 16, PinDir: dir, LeaveRunning: true}
	if pinned, err := CheckPins(opts); pinned || err != nil {
		t.Fatalf("CheckPins before any load: %v %v", pinned, err)
	}
	r := newRigWith(t, opts)
	dp1 := r.dp
	// An upgrade that changes a map (here: its size) cannot take over.
	if pinned, err := CheckPins(opts); !pinned || err != nil {
		t.Errorf("CheckPins over the running data path: %v %v, want pinned and compatible", pinned, err)
	}
	resized := opts
	resized.MaxFARs++
	if _, err := CheckPins(resized); !errors.Is(err, ErrIncompatiblePins) {
		t.Errorf("CheckPins with another FAR table size: %v, want ErrIncompatiblePins", err)
	}
	if dp, err := Load(resized); !errors.Is(err, ErrIncompatiblePins) {
		if dp != nil {
			dp.Close()
		}
		t.Errorf("Load with another FAR table size over the pins: %v, want ErrIncompatiblePins", err)
	}

	// The rule set: overlapping shapes and port ranges.
	st := dataplane.RestoreState{
		PDRs: map[dataplane.PDRID]dataplane.PDR{},
		FARs: map[dataplane.FARID]dataplane.FAR{
			1: {Action: dataplane.ActDrop}, 2: {Action: dataplane.ActEncap, Tunnel: 1}, 3: {Action: dataplane.ActEncap, Tunnel: 2},
			4: {Action: dataplane.ActPass}, 5: {Action: dataplane.ActBalance, LBR: 1}, 6: {Action: dataplane.ActForward, Port: portLAN},
		},
		LBRs:    map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 1, Weight: 3}, {Tunnel: 2, Weight: 1}}},
		Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{1: {Port: portWAN0, Src: local0, Dst: peer0}, 2: {Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd}},
		Terms:   map[dataplane.TunnelTerm]dataplane.TunnelID{{Remote: peer0, Local: local0}: 1},
		NonIP:   map[uint16]dataplane.NonIPAction{etherLLDP: dataplane.NonIPPunt, etherExp: dataplane.NonIPDrop},
		Default: &dataplane.FAR{Action: dataplane.ActDrop},
	}
	for id, tun := range st.Tunnels {
		must(t, dp1.SetTunnel(id, tun))
	}
	must(t, dp1.SetLBR(1, st.LBRs[1]))
	for id, f := range st.FARs {
		must(t, dp1.SetFAR(id, f))
	}
	for term, id := range st.Terms {
		must(t, dp1.SetTunnelTerm(term, id))
	}
	for et, a := range st.NonIP {
		must(t, dp1.SetNonIPRule(et, a))
	}
	// A rule the restored state does not have: removed by the first Restore.
	must(t, dp1.SetNonIPRule(etherARP, dataplane.NonIPDrop))
	must(t, dp1.SetPDRDefault(*st.Default))
	remote := dataplane.Prefix(netip.MustParsePrefix("10.2.0.0/16"))
	udp := dataplane.Exact[uint8](17)
	rules := map[string]dataplane.PDR{}
	add := func(name string, prio uint32, far dataplane.FARID, set func(m *dataplane.PDRMatch)) {
		m := uplink()
		set(&m)
		rules[name] = dataplane.PDR{Match: m, Priority: prio, FAR: far}
	}
	add("a", 10, 5, func(m *dataplane.PDRMatch) { m.Dst = remote })
	add("b", 20, 2, func(m *dataplane.PDRMatch) {
		m.Dst, m.Proto, m.DstPort = remote, udp, dataplane.PortRange{Lo: 1000, Hi: 1999}
	})
	add("c", 30, 3, func(m *dataplane.PDRMatch) {
		m.Dst, m.Proto, m.DstPort = remote, udp, dataplane.PortRange{Lo: 1500, Hi: 1600}
	})
	add("d", 25, 1, func(m *dataplane.PDRMatch) {
		m.Dst, m.Proto = dataplane.Prefix(netip.MustParsePrefix("10.2.1.0/24")), dataplane.Exact[uint8](6)
	})
	add("e", 40, 4, func(m *dataplane.PDRMatch) {
		m.SrcPort, m.DSCP = dataplane.PortRange{Lo: 5000, Hi: 5100}, dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f}
	})
	add("f", 15, 1, func(m *dataplane.PDRMatch) { m.Dst, m.Proto, m.DstPort = remote, udp, dataplane.OnePort(1550) })
	// An IPv6 rule: the IPv6 tuple list and entries are restored too.
	add("h", 35, 3, func(m *dataplane.PDRMatch) { m.Dst6 = dataplane.Prefix6(netip.MustParsePrefix("2001:db8:2::/48")) })
	down := downlink()
	down.Dst = dataplane.Prefix(netip.MustParsePrefix("10.1.0.0/16"))
	rules["g"] = dataplane.PDR{Match: down, Priority: 10, FAR: 6}
	// Filler rules of another shape, so that restoring takes a while.
	var filler []dataplane.PDR
	for i := range 2000 {
		m := uplink()
		m.Dst = dataplane.Exact(dataplane.IPv4(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})))
		filler = append(filler, dataplane.PDR{Match: m, Priority: 5, FAR: 4})
	}
	fids, err := dp1.InsertPDRs(filler)
	must(t, err)
	for i, id := range fids {
		st.PDRs[id] = filler[i]
	}
	ids := map[string]dataplane.PDRID{}
	for name, p := range rules {
		id, err := dp1.InsertPDR(p)
		must(t, err)
		ids[name] = id
		st.PDRs[id] = p
	}

	remoteHost := netip.MustParseAddr("10.2.0.2")
	other := netip.MustParseAddr("10.2.1.9")
	u := func(dst netip.Addr, sport, dport uint16) pkt {
		return pkt{dst: dst, sport: sport, dport: dport, payload: 20}
	}
	innerIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: remoteIP.AsSlice(), DstIP: hostIP.AsSlice()}
	innerUDP := &layers.UDP{SrcPort: 9, DstPort: 9}
	innerUDP.SetNetworkLayerForChecksum(innerIP)
	inner := serialize(t, innerIP, innerUDP)
	gre := greFrame(t, peer0, local0, &layers.GRE{}, inner)
	tun1, tun2 := "gre->"+peer0.String(), "gre->"+peer1.String()
	cases := []restoreCase{
		{name: "a: balanced", port: portLAN, frame: u(remoteHost, 4000, 80).bytes(t)},
		{name: "b: range 1000-1999", port: portLAN, frame: u(remoteHost, 4000, 1200).bytes(t), want: tun1, withoutC: tun1},
		{name: "c over b and f", port: portLAN, frame: u(remoteHost, 4000, 1550).bytes(t), want: tun2, withoutC: tun1},
		{name: "c over b", port: portLAN, frame: u(remoteHost, 4000, 1599).bytes(t), want: tun2, withoutC: tun1},
		{name: "d: tcp to /24", port: portLAN, frame: pkt{dst: other, proto: layers.IPProtocolTCP, sport: 4000, dport: 80}.bytes(t), want: "drop", withoutC: "drop"},
		{name: "c over d's prefix", port: portLAN, frame: u(other, 4000, 1550).bytes(t), want: tun2, withoutC: tun1},
		{name: "e: dscp and source range", port: portLAN, frame: pkt{dst: remoteHost, tos: 46 << 2, sport: 5050, dport: 1550}.bytes(t), want: "pass", withoutC: "pass"},
		{name: "default", port: portLAN, frame: u(netip.MustParseAddr("10.3.0.1"), 4000, 80).bytes(t), want: "drop", withoutC: "drop"},
		{name: "g: downlink", port: portWAN0, frame: gre, want: "fwd->" + hostMAC.String(), withoutC: "fwd->" + hostMAC.String()},
		{name: "h: IPv6 /48", port: portLAN, frame: pkt6{dst: netip.MustParseAddr("2001:db8:2::5"), sport: 4000, dport: 1550, payload: 20}.bytes(t), want: tun2, withoutC: tun2},
		{name: "e (both families) for IPv6", port: portLAN, frame: pkt6{dst: netip.MustParseAddr("2001:db8:2::5"), tc: 46 << 2, sport: 5050, dport: 1550}.bytes(t), want: "pass", withoutC: "pass"},
	}
	for i := range cases {
		c := &cases[i]
		ret, out, err := r.runOn(dp1, c.port, c.frame)
		must(t, err)
		got := outcome(ret, out)
		if c.want == "" { // balanced: whichever overlay the flow hashes to
			c.want, c.withoutC = got, got
		}
		if got != c.want {
			t.Fatalf("%s: %s before the restart, want %s", c.name, got, c.want)
		}
	}
	// Count some packets, so that counters have something to keep.
	for range 3 {
		for _, c := range cases {
			if _, _, err := r.runOn(dp1, c.port, c.frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	counters := func(dp *Dataplane) map[dataplane.PDRID]dataplane.Counter {
		out := map[dataplane.PDRID]dataplane.Counter{}
		for id := range st.PDRs {
			c, err := dp.readCounter(dp.objs.PdrCounters, uint32(id))
			must(t, err)
			out[id] = c
		}
		c, err := dp.PDRDefaultCounter()
		must(t, err)
		out[0] = c
		return out
	}
	before := counters(dp1)
	if before[ids["c"]].Packets != 4*3 || before[0].Packets != 4 {
		t.Fatalf("counters before the restart: %v", before)
	}
	exp := expFrame(t, 60)
	for range 2 {
		if ret, _, err := r.runOn(dp1, portLAN, exp); err != nil || ret != xdpDrop {
			t.Fatalf("frame with a drop rule before the restart: %d %v", ret, err)
		}
	}

	// The restart: dp1 is not closed (as after kill -9); dp2 takes over.
	takeOver := func(o dataplane.Options) *Dataplane {
		t.Helper()
		progs := map[string]uint32{}
		for _, name := range []string{"lan0", "wan0", "wan1"} {
			progs[name] = xdpAttached(t, r, name).ProgId
		}
		var dp *Dataplane
		err := r.ns.Do(func() error {
			var err error
			if dp, err = Load(o); err != nil {
				return err
			}
			for id, name := range map[dataplane.PortID]string{portLAN: "lan0", portWAN0: "wan0", portWAN1: "wan1"} {
				role := dataplane.RoleWAN
				if id == portLAN {
					role = dataplane.RoleLAN
				}
				if err := dp.Attach(name, id, role, dataplane.XDPNative); err != nil {
					return err
				}
			}
			stale, err := dp.ReleaseStale()
			if len(stale) > 0 {
				return fmt.Errorf("stale ports %v", stale)
			}
			return err
		})
		if err != nil {
			t.Fatalf("take over: %v", err)
		}
		t.Cleanup(func() { dp.Close() })
		for name, old := range progs {
			x := xdpAttached(t, r, name)
			if x == nil || !x.Attached || x.ProgId == old || x.AttachMode != xdpAttachedDriver {
				t.Errorf("%s after the takeover: XDP %+v, want a new program in native mode (was %d)", name, x, old)
			}
		}
		if stages, _ := filepath.Glob(filepath.Join(dir, pinStagesPrefix+"*")); len(stages) != 1 || stages[0] != dp.stagesPin {
			t.Errorf("stage arrays pinned after the takeover: %v, want only %s", stages, dp.stagesPin)
		}
		return dp
	}
	dp2 := takeOver(opts)
	must(t, dp2.Restore(st))
	for _, c := range cases {
		ret, out, err := r.runOn(dp2, c.port, c.frame)
		must(t, err)
		if got := outcome(ret, out); got != c.want {
			t.Errorf("%s: %s after the restart, want %s", c.name, got, c.want)
		}
	}
	after := counters(dp2)
	for id, c := range before {
		// Four passes over the cases before, one more (the check above) since.
		want := dataplane.Counter{Packets: c.Packets * 5 / 4, Bytes: c.Bytes * 5 / 4}
		if a := after[id]; a != want {
			t.Errorf("pdr %d counter %+v across the restart, was %+v: want %+v", id, a, c, want)
		}
	}
	if c, err := dp2.NonIPCounter(etherExp); err != nil || c != (dataplane.Counter{Packets: 2, Bytes: 2 * uint64(len(exp))}) {
		t.Errorf("non_ip counter across the restart: %+v %v, want 2 packets", c, err)
	}
	if ret, _, err := r.runOn(dp2, portLAN, arpFrame(t, 0)); err != nil || ret != xdpPass {
		t.Errorf("ARP after restoring without its rule: %d %v, want pass", ret, err)
	}
	if _, err := dp2.NonIPCounter(etherARP); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("non_ip rule not restored but still known: %v", err)
	}
	if keys, err := mapKeys[uint16](dp2.objs.NonIpCounters, 100); err != nil || len(keys) != len(st.NonIP) {
		t.Errorf("non_ip counters in the kernel after Restore: %v %v, want %d", keys, err, len(st.NonIP))
	}
	if err := dp2.Restore(st); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("a second Restore: %v, want ErrInvalid", err)
	}
	// The bookkeeping follows: a new rule gets a fresh id, duplicates are refused.
	if _, err := dp2.InsertPDR(rules["c"]); !errors.Is(err, dataplane.ErrExists) {
		t.Errorf("inserting a restored rule again: %v, want ErrExists", err)
	}
	extra := uplink()
	extra.Dst = dataplane.Exact(dataplane.IPv4(remoteHost))
	id, err := dp2.InsertPDR(dataplane.PDR{Match: extra, Priority: 50, FAR: 4})
	must(t, err)
	if _, taken := st.PDRs[id]; taken {
		t.Errorf("new rule got id %d of a restored one", id)
	}
	ret, out, err := r.runOn(dp2, portLAN, cases[1].frame)
	must(t, err)
	if got := outcome(ret, out); got != "pass" {
		t.Errorf("new rule after the restart: %s, want pass", got)
	}
	must(t, dp2.DeletePDR(id))

	// Another restart whose state lacks rule c, with packets running meanwhile.
	lessC := st
	lessC.PDRs = map[dataplane.PDRID]dataplane.PDR{}
	for id, p := range st.PDRs {
		if id != ids["c"] {
			lessC.PDRs[id] = p
		}
	}
	dp3 := takeOver(opts)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var runs atomic.Int64
	bad := make(chan string, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			for _, c := range cases {
				ret, out, err := r.runOn(dp3, c.port, c.frame)
				got := outcome(ret, out)
				if err != nil || (got != c.want && got != c.withoutC) {
					select {
					case bad <- fmt.Sprintf("%s: %s during Restore (%v), want %s or %s", c.name, got, err, c.want, c.withoutC):
					default:
					}
				}
				runs.Add(1)
			}
		}
	}()
	for runs.Load() < int64(len(cases)) {
	}
	err = dp3.Restore(lessC)
	stop.Store(true)
	wg.Wait()
	must(t, err)
	close(bad)
	for m := range bad {
		t.Error(m)
	}
	t.Logf("%d packets classified during the takeover", runs.Load())
	for _, c := range cases {
		ret, out, err := r.runOn(dp3, c.port, c.frame)
		must(t, err)
		if got := outcome(ret, out); got != c.withoutC {
			t.Errorf("%s: %s after restoring without rule c, want %s", c.name, got, c.withoutC)
		}
	}
	if _, err := dp3.PDRCounter(ids["c"]); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("counter of the removed rule: %v, want ErrNotFound", err)
	}
	live, err := liveRules(dp3.objs.PdrRules)
	must(t, err)
	if len(live) != len(lessC.PDRs) {
		t.Errorf("%d live rules in the kernel, want %d", len(live), len(lessC.PDRs))
	}
	for id := range live {
		if id == uint32(ids["c"]) {
			t.Errorf("rule c is still live in the kernel")
		}
	}
	entries, err := mapKeys[linxPdrKey](dp3.objs.PdrEntries, 100000)
	must(t, err)
	entries6, err := mapKeys[linxPdr6Key](dp3.objs.Pdr6Entries, 100000)
	must(t, err)
	if len(entries)+len(entries6) != dp3.cls.entries.len() {
		t.Errorf("%d+%d classifier entries in the kernel, %d in the bookkeeping", len(entries), len(entries6), dp3.cls.entries.len())
	}
	var tl linxPdrTuples
	must(t, dp3.objs.PdrTupleList.Lookup(dp3.slot, &tl))
	var tl6 linxPdr6Tuples
	must(t, dp3.objs.Pdr6TupleList.Lookup(dp3.slot6, &tl6))
	if int(tl.N+tl6.N) != len(dp3.cls.tuples) {
		t.Errorf("%d+%d tuples listed in the kernel, %d in the bookkeeping", tl.N, tl6.N, len(dp3.cls.tuples))
	}

	// A clean stop: Close detaches and unpins the links; RemovePins leaves nothing.
	for _, dp := range []*Dataplane{dp1, dp2} {
		must(t, dp.Close()) // LeaveRunning: their fds only
	}
	dp3.opts.LeaveRunning = false
	must(t, dp3.Close())
	for _, name := range []string{"lan0", "wan0", "wan1"} {
		if x := xdpAttached(t, r, name); x != nil && x.Attached {
			t.Errorf("%s still runs XDP after a clean stop: %+v", name, x)
		}
	}
	if links, _ := os.ReadDir(filepath.Join(dir, pinLinksDir)); len(links) != 0 {
		t.Errorf("link pins left after a clean stop: %v", links)
	}
	must(t, RemovePins(dir))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		ents, _ := os.ReadDir(dir)
		t.Errorf("pin directory left after RemovePins: %v %v", err, ents)
	}
}

// TestRestoreFresh replays a state onto a data path with nothing pinned: every
// rule is installed under its id, and the bookkeeping allocates around them.
func TestRestoreFresh(t *testing.T) {
	r := newRig(t)
	m := uplink()
	m.Dst = dataplane.Prefix(netip.MustParsePrefix("10.2.0.0/16"))
	st := dataplane.RestoreState{
		PDRs:    map[dataplane.PDRID]dataplane.PDR{7: {Match: m, Priority: 10, FAR: 1}},
		FARs:    map[dataplane.FARID]dataplane.FAR{1: {Action: dataplane.ActDrop}},
		Default: &dataplane.FAR{Action: dataplane.ActPass},
	}
	st.NonIP = map[uint16]dataplane.NonIPAction{etherExp: dataplane.NonIPDrop}
	must(t, r.dp.Restore(st))
	ret, _ := r.run(portLAN, pkt{dport: 80}.bytes(t))
	if ret != xdpDrop {
		t.Fatalf("restored rule: verdict %d, want drop", ret)
	}
	if ret, _ := r.run(portLAN, expFrame(t, 10)); ret != xdpDrop {
		t.Errorf("restored non_ip rule: verdict %d, want drop", ret)
	}
	if c, err := r.dp.NonIPCounter(etherExp); err != nil || c.Packets != 1 {
		t.Errorf("restored non_ip rule's counter: %+v %v", c, err)
	}
	c, err := r.dp.PDRCounter(7)
	if err != nil || c.Packets != 1 {
		t.Fatalf("restored rule's counter: %+v %v", c, err)
	}
	id, err := r.dp.InsertPDR(dataplane.PDR{Match: m, Priority: 20, FAR: 1})
	must(t, err)
	if id != 1 {
		t.Errorf("first id after restoring pdr 7: %d, want 1", id)
	}
	bad := dataplane.RestoreState{PDRs: map[dataplane.PDRID]dataplane.PDR{1: {Match: m, Priority: 10, FAR: 1}, 2: {Match: m, Priority: 10, FAR: 2}}}
	if err := bad.Validate(r.dp.opts); !errors.Is(err, dataplane.ErrExists) {
		t.Errorf("two rules with one identity: %v, want ErrExists", err)
	}
	bad = dataplane.RestoreState{NonIP: map[uint16]dataplane.NonIPAction{dataplane.EtherTypeIPv4: dataplane.NonIPPunt}}
	if err := bad.Validate(r.dp.opts); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("a non_ip rule for IPv4: %v, want ErrInvalid", err)
	}
}

// TestRestoreIPv6Underlay: a saved state with an overlay and a termination
// over an IPv6 underlay is written into the IPv6 maps (endpoints, termination,
// local address); a second data path restoring a state without them removes
// them from pinned maps.
func TestRestoreIPv6Underlay(t *testing.T) {
	testenv.RequireRoot(t)
	dir := mountBPFFS(t)
	opts := dataplane.Options{MaxPDRs: 64, MaxFARs: 64, MaxLBRs: 8, MaxTunnels: 16, MaxTerms: 16, MaxPorts: 16, PinDir: dir, LeaveRunning: true}
	r := newRigWith(t, opts)
	a, b := netip.MustParseAddr("2001:db8:a::1"), netip.MustParseAddr("2001:db8:b::1")
	term6 := dataplane.TunnelTerm{Remote: b, Local: a, Key: 9}
	st := dataplane.RestoreState{
		Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{1: {Port: portWAN0, Src: a, Dst: b, Key: 9}, 2: {Port: portWAN1, Src: local1, Dst: peer1}},
		Terms:   map[dataplane.TunnelTerm]dataplane.TunnelID{term6: 1, {Remote: peer1, Local: local1}: 2},
	}
	must(t, r.dp.Restore(st))
	if got := r.dp.ListTunnels(); len(got) != 2 || got[0].Tunnel != st.Tunnels[1] {
		t.Errorf("tunnels after restore: %+v", got)
	}
	var tun linxTunnel
	must(t, r.dp.objs.Tunnels.Lookup(uint32(1), &tun))
	var ends linxTunnel6
	must(t, r.dp.objs.Tunnels6.Lookup(uint32(1), &ends))
	if tun.Flags&uint8(linxTunnelFlagsTUNNEL_F_V6) == 0 || addrFromKernel6(ends.Src) != a || addrFromKernel6(ends.Dst) != b {
		t.Errorf("tunnel 1 in the kernel: %+v, endpoints %s→%s", tun, addrFromKernel6(ends.Src), addrFromKernel6(ends.Dst))
	}
	var id, refs uint32
	must(t, r.dp.objs.TunnelTerms6.Lookup(kernelTerm6(term6), &id))
	must(t, r.dp.objs.TunnelLocals6.Lookup(linxAddr6{A: kernelAddr6(a)}, &refs))
	if id != 1 || refs != 1 {
		t.Errorf("termination → tunnel %d, local address refs %d; want 1, 1", id, refs)
	}
	must(t, r.dp.Close()) // LeaveRunning: the maps stay pinned

	var dp2 *Dataplane
	must(t, r.ns.Do(func() error {
		var err error
		dp2, err = Load(opts)
		return err
	}))
	t.Cleanup(func() { dp2.opts.LeaveRunning = false; dp2.Close() })
	must(t, dp2.Restore(dataplane.RestoreState{Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{2: st.Tunnels[2]}}))
	if terms, _ := mapKeys[linxTerm6Key](dp2.objs.TunnelTerms6, 16); len(terms) != 0 {
		t.Errorf("IPv6 terminations left after a restore without them: %+v", terms)
	}
	if locals, _ := mapKeys[linxAddr6](dp2.objs.TunnelLocals6, 16); len(locals) != 0 {
		t.Errorf("IPv6 local addresses left after a restore without them: %+v", locals)
	}
}

// TestBloomCoversEntries checks the invariant the classifier's filter rests on
// (bloom.go): every key pdr_entries holds has its bit set in pdr_bloom, through
// inserts, deletes and the rebuilds they trigger; Go's copy is the map's; and a
// rebuild leaves exactly the bits of the keys present.
func TestBloomCoversEntries(t *testing.T) {
	r := newRig(t)
	dp := r.dp
	check := func(exact bool) {
		t.Helper()
		keys, err := mapKeys[linxPdrKey](dp.objs.PdrEntries, 1<<20)
		must(t, err)
		words := make([]uint64, len(dp.bloom.words))
		for i := range words {
			must(t, dp.objs.PdrBloom.Lookup(uint32(i), &words[i]))
		}
		if !slices.Equal(words, dp.bloom.words) {
			t.Fatal("Go's copy of pdr_bloom differs from the map")
		}
		want := make([]uint64, len(words))
		keys6, err := mapKeys[linxPdr6Key](dp.objs.Pdr6Entries, 1<<20)
		must(t, err)
		for _, k := range keys6 {
			bit := bloomBit6(k, dp.bloom.mask())
			want[bit>>6] |= 1 << (bit & 63)
			if words[bit>>6]&(1<<(bit&63)) == 0 {
				t.Fatalf("key %+v in pdr6_entries, its bit %d clear", k, bit)
			}
		}
		for _, k := range keys {
			bit := bloomBit(k, dp.bloom.mask())
			want[bit>>6] |= 1 << (bit & 63)
			if words[bit>>6]&(1<<(bit&63)) == 0 {
				t.Fatalf("key %+v in pdr_entries, its bit %d clear", k, bit)
			}
		}
		if exact && !slices.Equal(words, want) {
			t.Fatal("after a rebuild, bits beyond those of the keys present")
		}
	}
	ids, err := dp.InsertPDRs(benchRules(3000))
	must(t, err)
	check(false)
	for _, id := range ids[:2500] {
		must(t, dp.DeletePDR(id))
	}
	check(false)
	dp.mu.Lock()
	err = dp.bloomRebuild()
	dp.mu.Unlock()
	must(t, err)
	check(true)
	must(t, dp.Clear())
	check(true)
}
