package fwd

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// loadGateway loads the linx pipeline in the gateway's namespace (Load opens
// its PacketOut socket and Attach resolves interface names and writes sysctls
// in the calling thread's namespace, so both run inside it). It is the one
// place that names the package holding Load and Options: when they move, only
// this function changes. flowCache is Options.FlowCacheSize (0: the default).
func loadGateway(gw *netlab.NS, flowCache int, ports []gatewayPort) (dataplane.Dataplane, error) {
	var dp *xdp.Dataplane
	err := gw.Do(func() error {
		var err error
		if dp, err = xdp.Load(dataplane.Options{FlowCacheSize: flowCache}); err != nil {
			return err
		}
		for _, p := range ports {
			if err := dp.Attach(p.ifname, p.id, p.role, dataplane.XDPNative); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if dp != nil {
			dp.Close()
		}
		return nil, fmt.Errorf("load linx in %s: %w", gw, err)
	}
	return dp, nil
}

// gatewayPort is one interface linx is attached to.
type gatewayPort struct {
	ifname string
	id     dataplane.PortID
	role   dataplane.Role
}

// Port ids, FARs, tunnels and LBRs of the linx gateway.
const (
	portLAN  dataplane.PortID = 1
	portWAN0 dataplane.PortID = 2
	portWAN1 dataplane.PortID = 3

	farTraffic dataplane.FARID = 1 // what the generated traffic gets
	farNoise   dataplane.FARID = 2 // drop: traffic matching a noise rule is lost, and shows

	tunnel0 dataplane.TunnelID = 1
	tunnel1 dataplane.TunnelID = 2
	lbrWAN  dataplane.LBRID    = 1

	greKey0 = 1001
	greKey1 = 1002
)

// programUplink makes the LAN → WAN path: PDRs with the traffic's rule at the
// lowest priority, a FAR that balances with Maglev over two GRE tunnels, one
// per WAN port.
func programUplink(dp dataplane.Dataplane, pdrs int, ipv6 bool) error {
	tunnels := map[dataplane.TunnelID]dataplane.Tunnel{
		tunnel0: {Port: portWAN0, Src: wan0Addr, Dst: wan0Peer, Key: greKey0},
		tunnel1: {Port: portWAN1, Src: wan1Addr, Dst: wan1Peer, Key: greKey1},
	}
	for id, t := range tunnels {
		if err := dp.SetTunnel(id, t); err != nil {
			return fmt.Errorf("tunnel %d: %w", id, err)
		}
	}
	if err := dp.SetLBR(lbrWAN, []dataplane.LBRMember{{Tunnel: tunnel0, Weight: 1}, {Tunnel: tunnel1, Weight: 1}}); err != nil {
		return fmt.Errorf("lbr: %w", err)
	}
	if err := dp.SetFAR(farTraffic, dataplane.FAR{Action: dataplane.ActBalance, LBR: lbrWAN}); err != nil {
		return fmt.Errorf("far: %w", err)
	}
	m := dataplane.MatchAll()
	m.Direction = dir(dataplane.DirUplink)
	m.Src = dataplane.Prefix(lanHosts)
	m.Dst = dataplane.Prefix(remoteHosts)
	if ipv6 {
		m.Src, m.Dst = dataplane.Ternary[uint32]{}, dataplane.Ternary[uint32]{}
		m.Src6, m.Dst6 = dataplane.Prefix6(lanHosts6), dataplane.Prefix6(remoteHosts6)
	}
	m.Proto = dataplane.Exact[uint8](17)
	return installPDRs(dp, m, pdrs)
}

// programDownlink makes the WAN → LAN path: GRE from the peer terminated on the
// WAN port, then PDRs (traffic's rule lowest) and a FAR forwarding to the LAN.
func programDownlink(dp dataplane.Dataplane, pdrs int) error {
	if err := dp.SetTunnel(tunnel0, dataplane.Tunnel{Port: portWAN0, Src: wan0Addr, Dst: wan0Peer, Key: greKey0}); err != nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	if err := dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: wan0Peer, Local: wan0Addr, Key: greKey0}, tunnel0); err != nil {
		return fmt.Errorf("tunnel termination: %w", err)
	}
	if err := dp.SetFAR(farTraffic, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN}); err != nil {
		return fmt.Errorf("far: %w", err)
	}
	m := dataplane.MatchAll()
	m.Direction = dir(dataplane.DirDownlink)
	m.Src = dataplane.Prefix(remoteHosts)
	m.Dst = dataplane.Prefix(lanHosts)
	m.Proto = dataplane.Exact[uint8](17)
	return installPDRs(dp, m, pdrs)
}

// installPDRs installs n rules: n-1 noise rules of realistic mixed shapes that
// the traffic never matches, at priorities 2..n, and the traffic's rule at
// priority 1 — the lowest, and the only rule of its mask shape, so the
// tuple-space search visits every shape before it finds it.
func installPDRs(dp dataplane.Dataplane, traffic dataplane.PDRMatch, n int) error {
	if err := dp.SetFAR(farNoise, dataplane.FAR{Action: dataplane.ActDrop}); err != nil {
		return fmt.Errorf("noise far: %w", err)
	}
	if n <= 0 { // no rules at all: the caller installs them (write-to-forward)
		return nil
	}
	rules := append(noiseRules(n-1, traffic), dataplane.PDR{Match: traffic, Priority: 1, FAR: farTraffic})
	const batch = 10_000
	for len(rules) > 0 {
		k := min(batch, len(rules))
		if _, err := dp.InsertPDRs(rules[:k]); err != nil {
			return fmt.Errorf("insert pdrs: %w", err)
		}
		rules = rules[k:]
	}
	return nil
}

// noiseShapes are the rule shapes of an SD-WAN policy: prefixes of several
// lengths, port ranges, DSCP, protocol, ingress port and direction.
var noiseShapes = []func(rng *rand.Rand, m *dataplane.PDRMatch){
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // dst /24, UDP, one port
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xff, Mask: 0xffffff00}
		m.Proto = dataplane.Exact[uint8](17)
		m.DstPort = dataplane.OnePort(uint16(rng.IntN(65536)))
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // site to site: src /16, dst /16
		m.Src = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffff, Mask: 0xffff0000}
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffff, Mask: 0xffff0000}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // one host, one DSCP
		m.Dst = dataplane.Exact(rng.Uint32())
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(rng.IntN(64)), Mask: 0x3f}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // ingress port, direction, dst /8
		m.InPort = dataplane.Exact[uint16](uint16(portLAN))
		m.Direction = dir(dataplane.DirUplink)
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffffff, Mask: 0xff000000}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // TCP, a 256-port range, src /8
		m.Proto = dataplane.Exact[uint8](6)
		lo := uint16(rng.IntN(256)) << 8
		m.DstPort = dataplane.PortRange{Lo: lo, Hi: lo + 255}
		m.Src = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffffff, Mask: 0xff000000}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // a full 5-tuple
		m.Src = dataplane.Exact(rng.Uint32())
		m.Dst = dataplane.Exact(rng.Uint32())
		m.Proto = dataplane.Exact[uint8](17)
		m.SrcPort = dataplane.OnePort(uint16(rng.IntN(65536)))
		m.DstPort = dataplane.OnePort(uint16(rng.IntN(65536)))
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // dst /20 and a two-port range (5060-5061 style)
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xfff, Mask: 0xfffff000}
		lo := uint16(rng.IntN(32768)) * 2
		m.DstPort = dataplane.PortRange{Lo: lo, Hi: lo + 1}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // a DSCP class per protocol
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(rng.IntN(64)), Mask: 0x3f}
		m.Proto = dataplane.Exact[uint8](uint8(rng.IntN(256)))
	},
}

// noiseRules returns n rules of mixed shapes (the same ones for the same n),
// none of which can match a packet that traffic matches.
func noiseRules(n int, traffic dataplane.PDRMatch) []dataplane.PDR {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	rules := make([]dataplane.PDR, 0, n)
	for i := 0; len(rules) < n; i++ {
		m := dataplane.MatchAll()
		noiseShapes[i%len(noiseShapes)](rng, &m)
		if overlaps(m, traffic) {
			continue
		}
		rules = append(rules, dataplane.PDR{Match: m, Priority: uint32(len(rules) + 2), FAR: farNoise})
	}
	rng.Shuffle(len(rules), func(i, j int) { rules[i].Priority, rules[j].Priority = rules[j].Priority, rules[i].Priority })
	return rules
}

// overlaps reports whether some packet matches both a and b.
func overlaps(a, b dataplane.PDRMatch) bool {
	av4, av6 := a.Families()
	bv4, bv6 := b.Families()
	if !(av4 && bv4) && !(av6 && bv6) { // no IP version in common
		return false
	}
	return tern(a.InPort, b.InPort) && tern(a.Direction, b.Direction) && tern(a.Src, b.Src) &&
		tern(a.Dst, b.Dst) && tern(a.Proto, b.Proto) && tern(a.DSCP, b.DSCP) &&
		ranges(a.SrcPort, b.SrcPort) && ranges(a.DstPort, b.DstPort)
}

func tern[T ~uint8 | ~uint16 | ~uint32](a, b dataplane.Ternary[T]) bool {
	return (a.Value^b.Value)&a.Mask&b.Mask == 0
}

func ranges(a, b dataplane.PortRange) bool { return a.Lo <= b.Hi && b.Lo <= a.Hi }

// Addresses of the topology. The LAN side is 10.1/16, the remote site 10.2/16,
// the underlay one /24 per WAN link.
var (
	lanHosts    = netip.MustParsePrefix("10.1.0.0/16")
	remoteHosts = netip.MustParsePrefix("10.2.0.0/16")
	lanGateway  = "10.1.0.1/16"
	lanHost     = netip.MustParseAddr("10.1.0.2") // downlink destination, behind the sink
	wan0Addr    = netip.MustParseAddr("172.16.0.1")
	wan0Peer    = netip.MustParseAddr("172.16.0.2")
	wan1Addr    = netip.MustParseAddr("172.16.1.1")
	wan1Peer    = netip.MustParseAddr("172.16.1.2")
	// Flow i's source is srcBase + i>>8 (see fwd.c).
	uplinkSrcBase   = netip.MustParseAddr("10.1.1.0")
	downlinkSrcBase = netip.MustParseAddr("10.2.1.0")
	uplinkDst       = netip.MustParseAddr("10.2.0.2")
	// The IPv6 uplink's (uplink-ipv6): LAN 2001:db8:1::/64, remote 2001:db8:2::/64.
	lanHosts6    = netip.MustParsePrefix("2001:db8:1::/64")
	remoteHosts6 = netip.MustParsePrefix("2001:db8:2::/64")
	uplinkSrc6   = netip.MustParseAddr("2001:db8:1::100")
	uplinkDst6   = netip.MustParseAddr("2001:db8:2::2")
)

// dir matches one direction (a 2-bit field).
func dir(d dataplane.Direction) dataplane.Ternary[uint8] {
	return dataplane.Ternary[uint8]{Value: uint8(d), Mask: 3}
}
