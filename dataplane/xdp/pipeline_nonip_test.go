package xdp

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
)

const (
	etherARP  = 0x0806
	etherLLDP = 0x88cc
	etherIPv6 = 0x86dd
	etherExp  = 0x88b5 // IEEE local experimental: nothing in the rig's namespace sends it
)

// arpFrame is a who-has from the LAN host, tagged with VLAN vlan when non-zero.
func arpFrame(t testing.TB, vlan uint16) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: hostMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: 1, SourceHwAddress: hostMAC, SourceProtAddress: hostIP.AsSlice(), DstHwAddress: make([]byte, 6), DstProtAddress: net4("10.1.0.1")}
	if vlan == 0 {
		return serialize(t, eth, arp)
	}
	eth.EthernetType = layers.EthernetTypeDot1Q
	return serialize(t, eth, &layers.Dot1Q{VLANIdentifier: vlan, Type: layers.EthernetTypeARP}, arp)
}

// lldpFrame is an LLDPDU (chassis id, port id, TTL, end) as a neighbour sends it.
func lldpFrame(t testing.TB) []byte {
	t.Helper()
	tlvs := []byte{
		0x02, 0x07, 0x04, 0x02, 0, 0, 0, 0x10, 0x02, // chassis id: MAC
		0x04, 0x03, 0x07, 'p', '1', // port id: local
		0x06, 0x02, 0x00, 0x78, // TTL 120
		0x00, 0x00, // end
	}
	eth := &layers.Ethernet{SrcMAC: peer0MAC, DstMAC: net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0x0e}, EthernetType: layers.EthernetType(etherLLDP)}
	return serialize(t, eth, gopacket.Payload(tlvs))
}

// expFrame is a frame of the local experimental EtherType: counting tests use it
// because the kernel in the rig's namespace sends IPv6 (and ARP) on its own.
func expFrame(t testing.TB, n int) []byte {
	t.Helper()
	return serialize(t, &layers.Ethernet{SrcMAC: hostMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetType(etherExp)},
		gopacket.Payload(bytes.Repeat([]byte{0xa5}, n)))
}

func ipv6Frame(t testing.TB) []byte {
	t.Helper()
	return serialize(t, &layers.Ethernet{SrcMAC: hostMAC, DstMAC: hostMAC, EthernetType: layers.EthernetTypeIPv6},
		&layers.IPv6{Version: 6, NextHeader: layers.IPProtocolNoNextHeader, HopLimit: 1, SrcIP: make([]byte, 16), DstIP: make([]byte, 16)})
}

// wantPunt waits for one punt from port carrying frame.
func wantPunt(t *testing.T, r *rig, port dataplane.PortID, frame []byte) {
	t.Helper()
	select {
	case p := <-r.dp.Punts():
		if p.Port != port || !bytes.Equal(p.Packet, frame) || p.Length != len(frame) {
			t.Errorf("punt from port %d, %d bytes (len %d): want port %d, the %d bytes of the frame", p.Port, len(p.Packet), p.Length, port, len(frame))
		}
	case <-time.After(2 * time.Second):
		t.Error("no punt arrived")
	}
}

// wantNoPunt checks that nothing was punted.
func wantNoPunt(t *testing.T, r *rig) {
	t.Helper()
	select {
	case p := <-r.dp.Punts():
		t.Errorf("unexpected punt from port %d (%d bytes)", p.Port, len(p.Packet))
	case <-time.After(200 * time.Millisecond):
	}
}

func nonIPRule(ethType uint16, a dataplane.NonIPAction) func(t *testing.T, r *rig) {
	return func(t *testing.T, r *rig) { must(t, r.dp.SetNonIPRule(ethType, a)) }
}

func TestPipelineNonIP(t *testing.T) {
	r := newRig(t)
	arp := func(t *testing.T) []byte { return arpFrame(t, 0) }
	tagged := func(t *testing.T) []byte { return arpFrame(t, 7) }
	lldp := func(t *testing.T) []byte { return lldpFrame(t) }
	fixtures := []fixture{
		{name: "ARP without a rule goes to the kernel", port: portLAN, frame: arp, want: xdpPass,
			check: func(t *testing.T, r *rig, _ gopacket.Packet) { wantNoPunt(t, r) }},
		{name: "ARP with a rule for another EtherType goes to the kernel", port: portLAN, frame: arp, want: xdpPass,
			setup: nonIPRule(etherLLDP, dataplane.NonIPDrop),
			check: func(t *testing.T, r *rig, _ gopacket.Packet) { wantNoPunt(t, r) }},
		{name: "LLDP punted with its ingress port, then dropped", port: portWAN1, frame: lldp, want: xdpDrop,
			setup: nonIPRule(etherLLDP, dataplane.NonIPPunt),
			check: func(t *testing.T, r *rig, _ gopacket.Packet) { wantPunt(t, r, portWAN1, lldpFrame(t)) }},
		{name: "ARP copied to the controller and passed", port: portLAN, frame: arp, want: xdpPass,
			setup: nonIPRule(etherARP, dataplane.NonIPCopyToController),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				wantPunt(t, r, portLAN, arpFrame(t, 0))
				if p.Layer(layers.LayerTypeARP) == nil {
					t.Errorf("the kernel does not get the ARP frame intact: %v", p)
				}
			}},
		{name: "drop rule", port: portLAN, frame: arp, want: xdpDrop, reason: dataplane.DropNonIPRule,
			setup: nonIPRule(etherARP, dataplane.NonIPDrop),
			check: func(t *testing.T, r *rig, _ gopacket.Packet) { wantNoPunt(t, r) }},
		{name: "pass rule", port: portLAN, frame: func(t *testing.T) []byte { return ipv6Frame(t) }, want: xdpPass,
			setup: nonIPRule(etherIPv6, dataplane.NonIPPass)},
		{name: "VLAN-tagged ARP matches on the inner EtherType", port: portLAN, frame: tagged, want: xdpPass,
			setup: nonIPRule(etherARP, dataplane.NonIPCopyToController),
			check: func(t *testing.T, r *rig, _ gopacket.Packet) { wantPunt(t, r, portLAN, arpFrame(t, 7)) }},
		{name: "VLAN-tagged ARP dropped by the ARP rule", port: portLAN, frame: tagged, want: xdpDrop, reason: dataplane.DropNonIPRule,
			setup: nonIPRule(etherARP, dataplane.NonIPDrop)},
		{name: "IPv4 ignores non_ip rules", port: portLAN, frame: frameOf(pkt{sport: 1, dport: 2}), want: xdpPass,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetNonIPRule(etherARP, dataplane.NonIPDrop))
				// A rule for IPv4 that the API refuses, written behind its back:
				// IPv4 must not even look it up.
				must(t, r.dp.objs.NonIpRules.Put(hton16(dataplane.EtherTypeIPv4), linxNonIpRule{Action: uint8(dataplane.NonIPDrop)}))
			},
			check: func(t *testing.T, r *rig, _ gopacket.Packet) {
				if c, _ := r.dp.PDRDefaultCounter(); c.Packets != 1 {
					t.Errorf("pdr default counter %+v: the IPv4 packet did not reach the classifier", c)
				}
				must(t, r.dp.objs.NonIpRules.Delete(hton16(dataplane.EtherTypeIPv4)))
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestNonIPCounters: a rule counts the frames it handles, in packets and bytes;
// changing its action keeps the count, deleting it forgets it.
func TestNonIPCounters(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.SetNonIPRule(etherExp, dataplane.NonIPPass))
	must(t, r.dp.SetNonIPRule(etherLLDP, dataplane.NonIPPass))
	small, big := expFrame(t, 50), expFrame(t, 900)
	for _, f := range [][]byte{small, big, small} {
		if v, _ := r.run(portLAN, f); v != xdpPass {
			t.Fatalf("frame with a pass rule: verdict %d", v)
		}
	}
	want := func(et uint16, c dataplane.Counter) {
		t.Helper()
		got, err := r.dp.NonIPCounter(et)
		if err != nil || got != c {
			t.Errorf("counter of %#04x: %+v %v, want %+v", et, got, err, c)
		}
	}
	want(etherExp, dataplane.Counter{Packets: 3, Bytes: uint64(2*len(small) + len(big))})
	want(etherLLDP, dataplane.Counter{})

	must(t, r.dp.SetNonIPRule(etherExp, dataplane.NonIPDrop))
	if v, _ := r.run(portLAN, big); v != xdpDrop {
		t.Errorf("frame after the rule changed to drop: verdict %d", v)
	}
	want(etherExp, dataplane.Counter{Packets: 4, Bytes: uint64(2*len(small) + 2*len(big))})

	must(t, r.dp.DeleteNonIPRule(etherExp))
	if _, err := r.dp.NonIPCounter(etherExp); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("counter of a deleted rule: %v, want ErrNotFound", err)
	}
	if v, _ := r.run(portLAN, small); v != xdpPass {
		t.Errorf("frame after its rule was deleted: verdict %d", v)
	}
	must(t, r.dp.SetNonIPRule(etherExp, dataplane.NonIPPass))
	want(etherExp, dataplane.Counter{})

	must(t, r.dp.Clear())
	if _, err := r.dp.NonIPCounter(etherLLDP); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("counter after Clear: %v, want ErrNotFound", err)
	}
	if keys, err := mapKeys[uint16](r.dp.objs.NonIpRules, 100); err != nil || len(keys) != 0 {
		t.Errorf("non_ip_rules after Clear: %v %v", keys, err)
	}
	if keys, err := mapKeys[uint16](r.dp.objs.NonIpCounters, 100); err != nil || len(keys) != 0 {
		t.Errorf("non_ip_counters after Clear: %v %v", keys, err)
	}
}

func TestNonIPRuleErrors(t *testing.T) {
	r := newRig(t)
	for _, et := range []uint16{dataplane.EtherTypeIPv4, dataplane.EtherTypeDot1Q, dataplane.EtherTypeDot1AD} {
		if err := r.dp.SetNonIPRule(et, dataplane.NonIPPunt); !errors.Is(err, dataplane.ErrInvalid) {
			t.Errorf("rule for %#04x: %v, want ErrInvalid", et, err)
		}
	}
	if err := r.dp.SetNonIPRule(etherARP, 9); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("unknown action: %v, want ErrInvalid", err)
	}
	if err := r.dp.DeleteNonIPRule(etherARP); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("delete missing: %v, want ErrNotFound", err)
	}
	for i := range dataplane.MaxNonIPRules {
		must(t, r.dp.SetNonIPRule(uint16(0x9000+i), dataplane.NonIPPass))
	}
	if err := r.dp.SetNonIPRule(etherARP, dataplane.NonIPPass); !errors.Is(err, dataplane.ErrFull) {
		t.Errorf("rule %d: %v, want ErrFull", dataplane.MaxNonIPRules+1, err)
	}
	must(t, r.dp.SetNonIPRule(0x9000, dataplane.NonIPDrop)) // replacing is not inserting
}
