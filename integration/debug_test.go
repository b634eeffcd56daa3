package integration

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

func TestDebugTCP(t *testing.T) {
	e := newLab(t)
	e.warmup()
	if testenv.Strict() {
		for _, s := range e.Sites() {
			c, err := netlab.AttachXDPPass(s.Host, "eth0")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
	}
	capA := testenv.NewCapture(t, e.A.Host, "eth0")
	capB := testenv.NewCapture(t, e.B.Host, "eth0")
	if err := e.A.SetTunnelDown(1, true); err != nil {
		t.Fatal(err)
	}
	e.allow[10] = 1000
	t0 := time.Now()
	ctx := testenv.Context(t, labTimeout)
	err := netlab.TransferTCP(ctx, e.A.Host, e.B.Host, netip.AddrPortFrom(e.B.HostAddr, 0).String(), 4<<20, netlab.TCPOptions{Rate: 4 << 20})
	t.Logf("transfer %v in %v", err, time.Since(t0))
	time.Sleep(100 * time.Millisecond)
	dump := func(name string, c *netlab.Capture) {
		pk := c.Packets()
		t.Logf("%s: %d frames", name, len(pk))
		n := 0
		for _, p := range pk {
			d := p.Decode()
			if ic, ok := d.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
				t.Logf("%s %v out=%v ICMP %v", name, p.Time.Sub(t0), p.Outgoing, ic.TypeCode)
				continue
			}
			tcp, ok := d.Layer(layers.LayerTypeTCP).(*layers.TCP)
			ip, _ := d.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if !ok || ip == nil {
				continue
			}
			n++
			if n < 60 || n%200 == 0 {
				t.Logf("%s %v out=%v %s len=%d seq=%d ack=%d syn=%v", name, p.Time.Sub(t0), p.Outgoing, fmt.Sprint(ip.SrcIP, ">", ip.DstIP), ip.Length, tcp.Seq, tcp.Ack, tcp.SYN)
			}
		}
	}
	dump("A", capA)
	_ = capB
}
