package fwd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/bench/userspace"
	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// Path is what the gateway does with the generated frames.
type Path string

const (
	// PathBare: a plain devmap redirect in->out (the ceiling for any XDP gateway).
	PathBare Path = "bare"
	// PathKernel: no XDP in the gateway, the kernel's IPv4 forwarding (GRO on
	// the ingress so that redirected frames are received at all).
	PathKernel Path = "kernel"
	// PathUplink: linx, LAN → WAN: parse, classify, Maglev over two GRE
	// tunnels, encap, redirect. The sink sees GRE.
	PathUplink Path = "uplink"
	// PathDownlink: linx, WAN → LAN: GRE from the peer, decap through a tunnel
	// termination, classify, forward. The generator sends GRE.
	PathDownlink Path = "downlink"
	// PathKernelVXLAN: no XDP; the kernel forwards into a VXLAN tunnel over
	// the WAN port (the kernel overlay available here: no kernel GRE). The
	// sink sees UDP (VXLAN).
	PathKernelVXLAN Path = "kernel-vxlan"
	// PathUserspace: the user-space GRE forwarder of bench/userspace
	// (AF_PACKET rings) in the gateway; the kernel itself does not forward
	// (ip_forward 0). The sink sees GRE.
	PathUserspace Path = "userspace"
)

// Case is one measured configuration.
type Case struct {
	Name  string // sub-benchmark name
	Path  Path
	Flows int // distinct 5-tuples the generator cycles through
	PDRs  int // rules installed in linx (uplink and downlink), the traffic's lowest
	// FlowCache is linx's Options.FlowCacheSize (0: linx's default, <0: off).
	FlowCache int
	// Size is the LAN-side frame length in bytes without FCS (0: 64); the
	// downlink's generator sends it GRE-encapsulated (28 bytes more).
	Size int
	// Queues is the number of TX/RX queues of every veth (0: one). With one
	// queue per CPU, generators on several CPUs forward in parallel.
	Queues int
	// ForwarderCPUs pins the user-space forwarder's workers (PathUserspace),
	// one worker per CPU listed; nil: one unpinned worker.
	ForwarderCPUs []int
	// IPv6 makes the uplink's traffic (and its rules) IPv6: 84-byte frames
	// (UDP/IPv6, the 64-byte IPv4 frame's payload) over the IPv4 overlays.
	IPv6 bool
}

// FrameLen is c's LAN-side frame length.
func (c Case) FrameLen() int {
	if c.Size == 0 {
		return frameLen
	}
	return c.Size
}

// DefaultFlows and DefaultPDRs are the issue-10 baseline workload.
const (
	DefaultFlows = 4096
	DefaultPDRs  = 10_000
)

// Cases are the configurations BenchmarkForward measures, in the order it runs them.
func Cases() []Case {
	return []Case{
		{Name: "bare", Path: PathBare, Flows: DefaultFlows},
		{Name: "kernel", Path: PathKernel, Flows: DefaultFlows},
		{Name: "minimal", Path: PathMinimal, Flows: DefaultFlows},
		{Name: "uplink", Path: PathUplink, Flows: DefaultFlows, PDRs: DefaultPDRs},
		{Name: "downlink", Path: PathDownlink, Flows: DefaultFlows, PDRs: DefaultPDRs},
		{Name: "uplink-1Mflows", Path: PathUplink, Flows: 1_000_000, PDRs: DefaultPDRs},
		{Name: "uplink-100kpdrs", Path: PathUplink, Flows: DefaultFlows, PDRs: 100_000},
		{Name: "uplink-ipv6", Path: PathUplink, Flows: DefaultFlows, PDRs: DefaultPDRs, IPv6: true, Size: frameLen + 20},
	}
}

// NewNS makes a namespace for a topology; hint is a short role name. Tests
// pass testenv.NSMaker(tb), which also removes it when the test ends.
type NewNS func(hint string) (*netlab.NS, error)

// Topology is one built Case: namespaces, veths, programs and, for linx, the
// programmed pipeline. Close it.
type Topology struct {
	Case Case

	gen, gw, sink *netlab.NS
	objs          fwdObjects
	min           minimalObjects // PathMinimal's program and maps
	frame         []byte
	cfg           fwdGenConfig
	dp            dataplane.Dataplane
	entry         *ebpf.Program // the gateway's XDP program; nil on the kernel path
	closers       []io.Closer   // XDP links and the user-space forwarder, closed before the namespaces go
	fwd           *userspace.Forwarder
}

// frameLen is the generated frame (without FCS) on the LAN side: a 64-byte
// UDP/IPv4 frame. The downlink sends it GRE-encapsulated as linx would.
const frameLen = 64

// Build makes the topology of c. On error everything it made is removed.
func Build(c Case, newNS NewNS) (t *Topology, err error) {
	if c.Flows <= 0 || c.Flows > 1<<24 {
		return nil, fmt.Errorf("case %s: flows %d outside 1..2^24", c.Name, c.Flows)
	}
	if n := c.FrameLen(); n < frameLen || n > MaxFrameLen {
		return nil, fmt.Errorf("case %s: frame of %d bytes outside %d..%d", c.Name, n, frameLen, MaxFrameLen)
	}
	t = &Topology{Case: c}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("build %s: %w", c.Name, err), t.Close())
			t = nil
		}
	}()
	if newNS == nil {
		newNS = func(hint string) (*netlab.NS, error) { return netlab.NewNS("linxb-" + hint) }
	}
	for _, p := range []struct {
		ns   **netlab.NS
		hint string
	}{{&t.gen, "gen"}, {&t.gw, "gw"}, {&t.sink, "sink"}} {
		if *p.ns, err = newNS(p.hint); err != nil {
			return t, err
		}
		// No router solicitations or MLD reports reaching the sink's count.
		if err := netlab.DisableIPv6(*p.ns); err != nil {
			return t, err
		}
	}
	if err := loadFwdObjects(&t.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return t, fmt.Errorf("load harness programs: %+v", ve)
		}
		return t, fmt.Errorf("load harness programs: %w", err)
	}

	g0, in0, err := netlab.VethQueues(t.gen, "g0", t.gw, "in0", c.Queues)
	if err != nil {
		return t, err
	}
	_, s0, err := netlab.VethQueues(t.gw, "out0", t.sink, "s0", c.Queues)
	if err != nil {
		return t, err
	}
	outs := []string{"s0"}
	var s1 net.HardwareAddr
	if c.Path == PathUplink || c.Path == PathMinimal {
		_, l1, err := netlab.VethQueues(t.gw, "out1", t.sink, "s1", c.Queues)
		if err != nil {
			return t, err
		}
		s1 = l1.Attrs().HardwareAddr
		outs = append(outs, "s1")
	}
	for _, s := range outs {
		if err := t.attach(t.sink, s, t.objs.FwdSink); err != nil {
			return t, err
		}
	}
	if err := netlab.SetSysctl(t.gw, "net/ipv4/ip_forward", "1"); err != nil {
		return t, err
	}
	s0MAC := s0.Attrs().HardwareAddr

	switch c.Path {
	case PathBare, PathKernel, PathUplink, PathMinimal, PathKernelVXLAN, PathUserspace:
		if err := setupUplinkAddrs(t.gw, s0MAC, s1); err != nil {
			return t, err
		}
		t.frame, err = uplinkFrame(g0.Attrs().HardwareAddr, in0.Attrs().HardwareAddr, c.FrameLen())
		t.cfg = fwdGenConfig{IpOff: 14, L4Off: 34}
		if c.IPv6 {
			t.frame, err = uplinkFrame6(g0.Attrs().HardwareAddr, in0.Attrs().HardwareAddr, c.FrameLen())
			// The generator varies an IPv4 header's source and fixes its
			// checksum (fwd.c): laid over the IPv6 source address at 14+8, both
			// land in the address's last 6 bytes, within the rule's /64.
			t.cfg = fwdGenConfig{IpOff: 14 + 8, L4Off: 14 + 40}
		}
	case PathDownlink:
		if err := setupDownlinkAddrs(t.gw, s0MAC); err != nil {
			return t, err
		}
		t.frame, err = downlinkFrame(g0.Attrs().HardwareAddr, in0.Attrs().HardwareAddr, c.FrameLen())
		t.cfg = fwdGenConfig{IpOff: 14 + 20 + 8, L4Off: 14 + 20 + 8 + 20}
	default:
		return t, fmt.Errorf("unknown path %q", c.Path)
	}
	if err != nil {
		return t, err
	}

	switch c.Path {
	case PathBare:
		if err := t.gw.Do(func() error { return t.objs.BareTx.Put(uint32(0), uint32(ifindex(t.gw, "out0"))) }); err != nil {
			return t, fmt.Errorf("bare redirect target: %w", err)
		}
		if err := t.attach(t.gw, "in0", t.objs.FwdBare); err != nil {
			return t, err
		}
		t.entry = t.objs.FwdBare
	case PathMinimal:
		err = t.setupMinimal(s0MAC, s1)
	case PathKernel:
		if err := netlab.SetGRO(t.gw, "in0", true); err != nil {
			return t, err
		}
	case PathKernelVXLAN:
		if err := netlab.SetGRO(t.gw, "in0", true); err != nil {
			return t, err
		}
		err = setupVXLAN(t.gw)
	case PathUserspace:
		// GRO so that the redirected frames are received at all; no kernel
		// forwarding, so the kernel drops what the forwarder also reads.
		if err := netlab.SetGRO(t.gw, "in0", true); err != nil {
			return t, err
		}
		if err := netlab.SetSysctl(t.gw, "net/ipv4/ip_forward", "0"); err != nil {
			return t, err
		}
		err = t.gw.Do(func() (err error) {
			t.fwd, err = userspace.Start(userspace.Config{In: "in0", Out: "out0", SrcMAC: ifmac(t.gw, "out0"), DstMAC: s0MAC,
				Src: wan0Addr, Dst: wan0Peer, Key: greKey0, CPUs: c.ForwarderCPUs})
			return err
		})
	case PathUplink:
		t.dp, err = loadGateway(t.gw, c.FlowCache, []gatewayPort{
			{"in0", portLAN, dataplane.RoleLAN}, {"out0", portWAN0, dataplane.RoleWAN}, {"out1", portWAN1, dataplane.RoleWAN}})
		if err == nil {
			err = programUplink(t.dp, c.PDRs, c.IPv6)
		}
	case PathDownlink:
		t.dp, err = loadGateway(t.gw, c.FlowCache, []gatewayPort{
			{"in0", portWAN0, dataplane.RoleWAN}, {"out0", portLAN, dataplane.RoleLAN}})
		if err == nil {
			err = programDownlink(t.dp, c.PDRs)
		}
	}
	if err != nil {
		return t, err
	}
	if t.dp != nil {
		if t.entry, err = attachedProgram(t.gw, "in0"); err != nil {
			return t, err
		}
	}

	// The generator attached to an idle veth of its own: BPF_PROG_TEST_RUN of
	// an XDP program that is not attached anywhere adds it to the kernel's XDP
	// dispatcher and removes it again around every call, each time waiting
	// for an RCU grace period (milliseconds); attached, a call costs
	// microseconds, so that short paced bursts are possible.
	if _, _, err := netlab.Veth(t.gen, "gidle0", t.gen, "gidle1"); err != nil {
		return t, err
	}
	if err := t.attach(t.gen, "gidle0", t.objs.FwdGen); err != nil {
		return t, err
	}

	// The generator last: its redirect target is the veth into the gateway.
	if err := t.gen.Do(func() error { return t.objs.GenTx.Put(uint32(0), uint32(ifindex(t.gen, "g0"))) }); err != nil {
		return t, fmt.Errorf("generator redirect target: %w", err)
	}
	// The template is the frame's headers (its first bytes, whole 4-byte
	// words); the payload is never looked at, so it may be stale.
	tmpl := min(len(t.frame), len(t.cfg.Tmpl)) &^ 3
	if tmpl < int(t.cfg.L4Off)+8 {
		return t, fmt.Errorf("frame of %d bytes: the template of %d bytes does not cover the headers", len(t.frame), tmpl)
	}
	t.cfg.Len = uint32(tmpl)
	t.cfg.Flows = uint32(c.Flows)
	copy(t.cfg.Tmpl[:], t.frame[:tmpl])
	if err := t.objs.GenCfg.Put(uint32(0), &t.cfg); err != nil {
		return t, fmt.Errorf("generator config: %w", err)
	}
	return t, nil
}

func setupUplinkAddrs(gw *netlab.NS, s0, s1 net.HardwareAddr) error {
	steps := []func() error{
		func() error { return netlab.AddAddr(gw, "in0", lanGateway) },
		func() error { return netlab.AddAddr(gw, "out0", wan0Addr.String()+"/24") },
		func() error { return netlab.AddNeigh(gw, "out0", wan0Peer.String(), s0) },
		// The kernel path's route to the remote site; linx uses the tunnels'.
		func() error { return netlab.AddRoute(gw, remoteHosts.String(), wan0Peer.String()) },
		func() error { return netlab.SetSysctl(gw, "net/ipv4/conf/all/rp_filter", "0") },
		func() error { return netlab.SetSysctl(gw, "net/ipv4/conf/in0/rp_filter", "0") },
	}
	if s1 != nil {
		steps = append(steps,
			func() error { return netlab.AddAddr(gw, "out1", wan1Addr.String()+"/24") },
			func() error { return netlab.AddNeigh(gw, "out1", wan1Peer.String(), s1) })
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

func setupDownlinkAddrs(gw *netlab.NS, s0 net.HardwareAddr) error {
	if err := netlab.AddAddr(gw, "in0", wan0Addr.String()+"/24"); err != nil {
		return err
	}
	if err := netlab.AddAddr(gw, "out0", lanGateway); err != nil {
		return err
	}
	return netlab.AddNeigh(gw, "out0", lanHost.String(), s0)
}

// setupVXLAN makes the kernel's overlay in the gateway: a VXLAN device over
// out0 to the WAN peer (VNI greKey0, port 4789) and the remote site routed into
// it through a static inner neighbour.
func setupVXLAN(gw *netlab.NS) error {
	out0 := ifindex(gw, "out0")
	v := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "vx0"}, VxlanId: greKey0, VtepDevIndex: out0,
		SrcAddr: wan0Addr.AsSlice(), Group: wan0Peer.AsSlice(), Port: 4789, Learning: false}
	if err := gw.Netlink().LinkAdd(v); err != nil {
		return fmt.Errorf("create vxlan in %s: %w", gw, err)
	}
	if _, err := netlab.SetLinkUp(gw, "vx0"); err != nil {
		return err
	}
	steps := []func() error{
		func() error { return netlab.AddAddr(gw, "vx0", "10.3.0.1/24") },
		func() error {
			return netlab.AddNeigh(gw, "vx0", "10.3.0.2", net.HardwareAddr{0x02, 0, 0, 0, 0x03, 0x02})
		},
		func() error { return gw.Netlink().RouteDel(&netlink.Route{Dst: prefixNet(remoteHosts)}) },
		func() error { return netlab.AddRoute(gw, remoteHosts.String(), "10.3.0.2") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("vxlan in %s: %w", gw, err)
		}
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}

func ifmac(ns *netlab.NS, ifname string) net.HardwareAddr {
	l, err := netlab.Link(ns, ifname)
	if err != nil {
		return nil
	}
	return l.Attrs().HardwareAddr
}

// MaxFrameLen is the longest LAN-side frame: its packet, GRE- or
// VXLAN-encapsulated, still fits the veths' 1500-byte MTU.
const MaxFrameLen = 1450

// uplinkFrame is a size-byte UDP/IPv4 frame from the LAN to the remote site, with
// the UDP checksum 0 (none) so that the generator can vary ports freely.
func uplinkFrame(src, dst net.HardwareAddr, size int) ([]byte, error) {
	payload := size - 14 - 20 - 8
	ip, err := udpPacket(uplinkSrcBase, uplinkDst, payload)
	if err != nil {
		return nil, err
	}
	return serialize(&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}, gopacket.Payload(ip))
}

// uplinkFrame6 is a size-byte UDP/IPv6 frame from the LAN to the remote site,
// with the UDP checksum 0 (invalid for IPv6, and not checked on the way: the
// generator varies ports freely).
func uplinkFrame6(src, dst net.HardwareAddr, size int) ([]byte, error) {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
		SrcIP: uplinkSrc6.AsSlice(), DstIP: uplinkDst6.AsSlice()}
	udp := &layers.UDP{SrcPort: 1024, DstPort: 5201}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, fmt.Errorf("build frame: %w", err)
	}
	b, err := serialize(&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv6},
		ip, udp, gopacket.Payload(make([]byte, size-14-40-8)))
	if err != nil {
		return nil, err
	}
	b[14+40+6], b[14+40+7] = 0, 0
	return b, nil
}

// downlinkFrame is what the peer gateway would send: the 64-byte LAN frame's
// IPv4 packet in GRE (with key) in IPv4 from the peer to the WAN port.
func downlinkFrame(src, dst net.HardwareAddr, size int) ([]byte, error) {
	inner, err := udpPacket(downlinkSrcBase, lanHost, size-14-20-8)
	if err != nil {
		return nil, err
	}
	return serialize(
		&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, Flags: layers.IPv4DontFragment,
			SrcIP: wan0Peer.AsSlice(), DstIP: wan0Addr.AsSlice()},
		&layers.GRE{KeyPresent: true, Key: greKey0, Protocol: layers.EthernetTypeIPv4},
		gopacket.Payload(inner))
}

// udpPacket is an IPv4/UDP packet (no Ethernet) with payload bytes of payload
// and UDP checksum 0.
func udpPacket(src, dst netip.Addr, payload int) ([]byte, error) {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	udp := &layers.UDP{SrcPort: 1024, DstPort: 5201}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, fmt.Errorf("build frame: %w", err)
	}
	b, err := serialize(ip, udp, gopacket.Payload(make([]byte, payload)))
	if err != nil {
		return nil, err
	}
	b[20+6], b[20+7] = 0, 0 // serialize computed one; none is valid for IPv4 UDP
	return b, nil
}

func serialize(ls ...gopacket.SerializableLayer) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, fmt.Errorf("build frame: %w", err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// attach attaches prog to ifname in ns in native mode; Close detaches it.
func (t *Topology) attach(ns *netlab.NS, ifname string, prog *ebpf.Program) error {
	idx := ifindex(ns, ifname)
	if idx == 0 {
		return fmt.Errorf("attach %s: no interface %s in %s", prog, ifname, ns)
	}
	var l link.Link
	// The kernel resolves the ifindex in the calling thread's namespace.
	err := ns.Do(func() (err error) {
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: idx, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		return fmt.Errorf("attach %s to %s in %s: %w", prog, ifname, ns, err)
	}
	t.closers = append(t.closers, l)
	return nil
}

// ifindex is ifname's index in ns, 0 if there is none.
func ifindex(ns *netlab.NS, ifname string) int {
	l, err := netlab.Link(ns, ifname)
	if err != nil {
		return 0
	}
	return l.Attrs().Index
}

// attachedProgram opens the XDP program attached to ifname in ns.
func attachedProgram(ns *netlab.NS, ifname string) (*ebpf.Program, error) {
	l, err := netlab.Link(ns, ifname)
	if err != nil {
		return nil, err
	}
	x := l.Attrs().Xdp
	if x == nil || x.ProgId == 0 {
		return nil, fmt.Errorf("no XDP program on %s in %s", ifname, ns)
	}
	if x.AttachMode != 0 && x.AttachMode != xdpAttachedDrv {
		return nil, fmt.Errorf("XDP on %s in %s is attached in mode %d, want native", ifname, ns, x.AttachMode)
	}
	p, err := ebpf.NewProgramFromID(ebpf.ProgramID(x.ProgId))
	if err != nil {
		return nil, fmt.Errorf("open XDP program %d of %s: %w", x.ProgId, ifname, err)
	}
	return p, nil
}

// Close removes everything Build made. Safe to call more than once.
func (t *Topology) Close() error {
	var errs []error
	if t.dp != nil {
		errs = append(errs, t.dp.Close())
		t.dp = nil
	}
	if t.entry != nil && t.entry != t.objs.FwdBare && t.entry != t.min.MinimalFwd {
		t.entry.Close()
	}
	t.entry = nil
	if t.fwd != nil {
		errs = append(errs, t.fwd.Stop())
		t.fwd = nil
	}
	for _, c := range t.closers {
		errs = append(errs, c.Close())
	}
	t.closers = nil
	errs = append(errs, t.objs.Close(), t.min.Close())
	t.objs = fwdObjects{}
	t.min = minimalObjects{}
	for _, ns := range []*netlab.NS{t.sink, t.gw, t.gen} {
		errs = append(errs, ns.Destroy())
	}
	return errors.Join(errs...)
}

// Frame is the generator's header template (before flow variation).
func (t *Topology) Frame() []byte { return append([]byte(nil), t.frame...) }

// Dataplane is the linx gateway, nil on the bare and kernel paths.
func (t *Topology) Dataplane() dataplane.Dataplane { return t.dp }

// pace bounds how long Run waits for frames still in flight after the
// generator returns (softirq work the kernel deferred to ksoftirqd).
const pace = time.Second

// xdpAttachedDrv is XDP_ATTACHED_DRV (linux/if_link.h): native mode.
const xdpAttachedDrv = 1

// Forwarder is the user-space forwarder of PathUserspace, nil otherwise.
func (t *Topology) Forwarder() *userspace.Forwarder { return t.fwd }
