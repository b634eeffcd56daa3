package xdp

import (
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestPortDrops: a frame the pipeline drops counts against the port it arrived
// on, whatever stage drops it (policy in the forwarder, malformed in the
// parser), and nowhere else; a frame it passes counts as received only.
func TestPortDrops(t *testing.T) {
	r := newRig(t)
	// The kernel's own IPv6 chatter (router solicitations, MLD reports) on the
	// veths would count as received frames: the counts below are exact.
	testenv.DisableIPv6(t, r.ns)
	addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActDrop})
	udp := pkt{sport: 5000, dport: 53, payload: 20}.bytes(t)
	short := udp[:14+10] // Ethernet + a truncated IPv4 header: the parser drops it

	before := map[dataplane.PortID]dataplane.PortCounters{}
	for _, p := range []dataplane.PortID{portLAN, portWAN0, portWAN1} {
		c, err := r.dp.PortCounter(p)
		must(t, err)
		before[p] = c
	}
	if v, _ := r.run(portLAN, udp); v != xdpDrop {
		t.Fatalf("policy drop: verdict %d", v)
	}
	if v, _ := r.run(portLAN, short); v != xdpDrop {
		t.Fatalf("malformed: verdict %d", v)
	}
	// Underlay traffic on a WAN port matches no rule: the default passes it.
	if v, _ := r.run(portWAN0, pkt{src: remoteIP, dst: local0, payload: 20}.bytes(t)); v != xdpPass {
		t.Fatalf("underlay: verdict %d", v)
	}

	lan, err := r.dp.PortCounter(portLAN)
	must(t, err)
	if got, want := lan.Drops.Packets-before[portLAN].Drops.Packets, uint64(2); got != want {
		t.Errorf("lan0 drops %d, want %d", got, want)
	}
	if got, want := lan.Drops.Bytes-before[portLAN].Drops.Bytes, uint64(len(udp)+len(short)); got != want {
		t.Errorf("lan0 dropped bytes %d, want %d", got, want)
	}
	if got := lan.RX.Packets - before[portLAN].RX.Packets; got != 2 {
		t.Errorf("lan0 received %d, want 2", got)
	}
	for _, p := range []dataplane.PortID{portWAN0, portWAN1} {
		c, err := r.dp.PortCounter(p)
		must(t, err)
		if c.Drops != before[p].Drops {
			t.Errorf("port %d drops moved: %+v → %+v", p, before[p].Drops, c.Drops)
		}
	}
}
