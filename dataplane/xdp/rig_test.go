package xdp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// XDP verdicts, named so fixtures say what they expect.
const (
	xdpAborted  = 0
	xdpDrop     = 1
	xdpPass     = 2
	xdpTX       = 3
	xdpRedirect = 4
)

// xdpMd is struct xdp_md, the context BPF_PROG_TEST_RUN takes.
type xdpMd struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// Ports of the fixture rig.
const (
	portLAN  dataplane.PortID = 1
	portWAN0 dataplane.PortID = 2
	portWAN1 dataplane.PortID = 3
)

var (
	hostMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0x01, 0x02}
	peer0MAC = net.HardwareAddr{0x02, 0, 0, 0, 0x10, 0x02}
	peer1MAC = net.HardwareAddr{0x02, 0, 0, 0, 0x11, 0x02}

	hostIP   = netip.MustParseAddr("10.1.0.2")
	remoteIP = netip.MustParseAddr("10.2.0.2")
	local0   = netip.MustParseAddr("172.16.0.1")
	peer0    = netip.MustParseAddr("172.16.0.2")
	local1   = netip.MustParseAddr("172.16.1.1")
	peer1    = netip.MustParseAddr("172.16.1.2")
)

// rig is a data path loaded in a private namespace with three ports (veth pairs
// whose peers stay idle): lan0 = port 1, wan0 = port 2, wan1 = port 3. Packets are
// run through linx_xdp with BPF_PROG_TEST_RUN as if received on a port; the FIB
// and neighbour lookups see the namespace's routes and static neighbours.
type rig struct {
	t   testing.TB
	ns  *testenv.NS
	dp  *Dataplane
	mac map[dataplane.PortID]net.HardwareAddr
	idx map[dataplane.PortID]int
}

func newRig(t testing.TB) *rig {
	t.Helper()
	return newRigWith(t, dataplane.Options{MaxPDRs: 4096, MaxFARs: 1024, MaxLBRs: 64, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16})
}

// newRigWith is newRig with the data path loaded with opts.
func newRigWith(t testing.TB, opts dataplane.Options) *rig {
	t.Helper()
	testenv.RequireRoot(t)
	ns := testenv.NewNS(t)
	r := &rig{t: t, ns: ns, mac: map[dataplane.PortID]net.HardwareAddr{}, idx: map[dataplane.PortID]int{}}
	names := map[dataplane.PortID]string{portLAN: "lan0", portWAN0: "wan0", portWAN1: "wan1"}
	for id, name := range names {
		l, _ := testenv.Veth(t, ns, name, ns, name+"p")
		r.mac[id] = l.Attrs().HardwareAddr
		r.idx[id] = l.Attrs().Index
	}
	testenv.AddAddr(t, ns, "lan0", "10.1.0.1/24")
	testenv.AddAddr(t, ns, "wan0", "172.16.0.1/24")
	testenv.AddAddr(t, ns, "wan1", "172.16.1.1/24")
	testenv.AddNeigh(t, ns, "lan0", hostIP.String(), hostMAC)
	testenv.AddNeigh(t, ns, "wan0", peer0.String(), peer0MAC)
	testenv.AddNeigh(t, ns, "wan1", peer1.String(), peer1MAC)
	testenv.SetSysctl(t, ns, "net/ipv4/ip_forward", "1")

	// Load in the namespace: PacketOut's socket belongs to the namespace it is made in.
	var dp *Dataplane
	err := ns.Do(func() error {
		var err error
		dp, err = Load(opts)
		return err
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { dp.Close() })
	r.dp = dp
	err = ns.Do(func() error {
		for id, name := range names {
			role := dataplane.RoleWAN
			if id == portLAN {
				role = dataplane.RoleLAN
			}
			if err := dp.Attach(name, id, role, dataplane.XDPNative); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return r
}

// run passes frame through the pipeline as received on port and returns the
// verdict and the frame as the program left it.
func (r *rig) run(port dataplane.PortID, frame []byte) (uint32, []byte) {
	r.t.Helper()
	var ret uint32
	out := make([]byte, len(frame)+512)
	err := r.ns.Do(func() error {
		var err error
		opts := &ebpf.RunOptions{Data: frame, DataOut: out, Context: xdpMd{DataEnd: uint32(len(frame)), IngressIfindex: uint32(r.idx[port])}}
		ret, err = r.dp.objs.LinxXdp.Run(opts)
		out = opts.DataOut
		return err
	})
	if err != nil {
		r.t.Fatalf("test run: %v", err)
	}
	return ret, out
}

// drops returns the drop counters, for before/after comparisons.
func (r *rig) drops() map[dataplane.DropReason]dataplane.Counter {
	r.t.Helper()
	d, err := r.dp.DropCounters()
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// pkt describes a test packet; zero fields take defaults.
type pkt struct {
	srcMAC, dstMAC net.HardwareAddr
	vlans          []uint16
	src, dst       netip.Addr
	tos            uint8
	ttl            uint8
	flags          layers.IPv4Flag
	fragOffset     uint16
	proto          layers.IPProtocol
	sport, dport   uint16
	tcpSYN         bool
	mss            uint16 // TCP MSS option when non-zero
	payload        int    // payload bytes
}

func (p pkt) layers() []gopacket.SerializableLayer {
	if p.srcMAC == nil {
		p.srcMAC = hostMAC
	}
	if p.dstMAC == nil {
		p.dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xaa}
	}
	if !p.src.IsValid() {
		p.src = hostIP
	}
	if !p.dst.IsValid() {
		p.dst = remoteIP
	}
	if p.ttl == 0 {
		p.ttl = 64
	}
	if p.proto == 0 {
		p.proto = layers.IPProtocolUDP
	}
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{SrcMAC: p.srcMAC, DstMAC: p.dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ls = append(ls, eth)
	if len(p.vlans) > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		for i, v := range p.vlans {
			next := layers.EthernetTypeIPv4
			if i+1 < len(p.vlans) {
				next = layers.EthernetTypeDot1Q
			}
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: v, Type: next})
		}
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TOS: p.tos, TTL: p.ttl, Protocol: p.proto, Flags: p.flags,
		FragOffset: p.fragOffset, SrcIP: p.src.AsSlice(), DstIP: p.dst.AsSlice()}
	ls = append(ls, ip)
	payload := gopacket.Payload(make([]byte, p.payload))
	for i := range payload {
		payload[i] = byte(i)
	}
	switch p.proto {
	case layers.IPProtocolUDP:
		u := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
		u.SetNetworkLayerForChecksum(ip)
		ls = append(ls, u)
	case layers.IPProtocolTCP:
		tc := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), SYN: p.tcpSYN, Window: 1000, Seq: 1}
		if p.mss != 0 {
			tc.Options = []layers.TCPOption{
				{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(p.mss >> 8), byte(p.mss)}},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
			}
		}
		tc.SetNetworkLayerForChecksum(ip)
		ls = append(ls, tc)
	case layers.IPProtocolICMPv4:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1})
	}
	return append(ls, payload)
}

func (p pkt) bytes(t testing.TB) []byte {
	t.Helper()
	return serialize(t, p.layers()...)
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// greFrame wraps inner (an IPv4 packet, no Ethernet) in Ethernet/IPv4/GRE as a
// peer would send it to this gateway on a WAN port.
func greFrame(t testing.TB, src, dst netip.Addr, gre *layers.GRE, inner []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: peer0MAC, DstMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0xbb}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, Flags: layers.IPv4DontFragment,
		SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	if gre.Protocol == 0 {
		gre.Protocol = layers.EthernetTypeIPv4
	}
	return serialize(t, eth, ip, gre, gopacket.Payload(inner))
}

// decode parses a frame the pipeline produced.
func decode(b []byte) gopacket.Packet {
	return gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
}
