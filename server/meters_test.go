package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
)

// meterFrame is a 60-byte Ethernet/IPv4/UDP frame from the LAN, as the
// meters count it (no FCS).
func meterFrame(t *testing.T) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4(10, 1, 0, 2), DstIP: net.IPv4(10, 2, 0, 2)}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 9000}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload(make([]byte, 60-14-20-8)))
	if err != nil {
		t.Fatal(err)
	}
	if len(buf.Bytes()) != 60 {
		t.Fatalf("frame of %d bytes, want 60", len(buf.Bytes()))
	}
	return buf.Bytes()
}

// TestMeterCountersGNMI: on the real data path, a FAR meter with a burst of
// ten frames colors the first ten of a back-to-back train green and the rest
// red, a rule's direct meter with a large burst colors all green, and gNMI's
// /qos leaves say exactly that (P4Runtime's MeterCounterData reads the same
// data path call, MeterCounters: server/p4rtsrv's meter tests).
func TestMeterCountersGNMI(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNS(t)
	testenv.Veth(t, ns, "lan0", ns, "lan0p")
	testenv.DisableIPv6(t, ns)
	testenv.SetGRO(t, ns, "lan0p", true)

	var dp *xdp.Dataplane
	err := ns.Do(func() error {
		var err error
		if dp, err = xdp.Load(dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 16, MaxTerms: 4, MaxPorts: 16, MaxMeters: 16}); err != nil {
			return err
		}
		return dp.Attach("lan0", 1, dataplane.RoleLAN, dataplane.XDPNative)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })

	const far, K, frameLen = 3, 25, 60
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// pass: the kernel gets the green frames (and ignores them: not its MAC). A
	// drop FAR is not metered (nothing to police).
	must(dp.SetFAR(far, dataplane.FAR{Action: dataplane.ActPass}))
	id, err := dp.InsertPDR(dataplane.PDR{Match: dataplane.MatchAll(), Priority: 1, FAR: far})
	must(err)
	// A policer whose bucket holds ten frames and refills at 1 byte/s: the
	// train's first ten frames are green, the rest red (and dropped as meter).
	farMeter := dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: far}
	must(dp.SetMeter(farMeter, dataplane.MeterConfig{CIR: 1, CBurst: 10 * frameLen, PIR: 1, PBurst: 10 * frameLen}))
	must(dp.SetPDRMeter(id, dataplane.MeterConfig{CIR: 1 << 20, CBurst: 1 << 20, PIR: 1 << 20, PBurst: 1 << 20}))

	frame := meterFrame(t)
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		l, err := netlink.LinkByName("lan0p")
		if err != nil {
			return err
		}
		sa := &unix.SockaddrLinklayer{Ifindex: l.Attrs().Index, Halen: 6}
		for range K {
			if err := unix.Sendto(fd, frame, 0, sa); err != nil {
				return err
			}
		}
		return nil
	})
	must(err)
	// veth hands the frames to the XDP side's NAPI: wait until all arrived.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		pc, err := dp.PortCounter(1)
		must(err)
		if pc.RX.Packets >= K || time.Now().After(end) {
			break
		}
	}
	mc, err := dp.MeterCounters(farMeter)
	must(err)
	want := dataplane.MeterCounters{Green: dataplane.Counter{Packets: 10, Bytes: 10 * frameLen}, Red: dataplane.Counter{Packets: K - 10, Bytes: (K - 10) * frameLen}}
	if mc != want {
		t.Fatalf("the data path's FAR meter counts %+v, want %+v", mc, want)
	}

	sizes := p4info.Sizes{PDRs: 64, FARs: 16, LBRs: 4, Tunnels: 16, TunnelTerms: 4, Ports: 16, Meters: 16}
	srv, err := New(Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(p4info.New(sizes))})
	must(err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go srv.Serve(lis)
	defer srv.Stop(time.Second)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	get := func(p *gnmi.Path) map[string]uint64 {
		t.Helper()
		resp, err := gnmi.NewGNMIClient(conn).Get(ctx, &gnmi.GetRequest{Encoding: gnmi.Encoding_PROTO, Path: []*gnmi.Path{p}})
		must(err)
		out := map[string]uint64{}
		for _, n := range resp.GetNotification() {
			for _, u := range n.GetUpdate() {
				el := u.GetPath().GetElem()
				out[el[len(el)-2].GetName()+"/"+el[len(el)-1].GetName()] = u.GetVal().GetUintVal()
			}
		}
		return out
	}
	counters := func(c dataplane.MeterCounters) map[string]uint64 {
		return map[string]uint64{
			"green/packets": c.Green.Packets, "green/bytes": c.Green.Bytes,
			"yellow/packets": c.Yellow.Packets, "yellow/bytes": c.Yellow.Bytes,
			"red/packets": c.Red.Packets, "red/bytes": c.Red.Bytes,
		}
	}
	got := get(gpath(elem("qos"), elem("meters"), &gnmi.PathElem{Name: "meter", Key: map[string]string{"far": "3", "unit": "bytes"}},
		elem("state"), elem("counters")))
	if w := counters(want); !equalCounts(got, w) {
		t.Errorf("gNMI FAR meter counters %v, want %v", got, w)
	}

	pdr := get(gpath(elem("qos"), elem("pdr-meters"), elem("meter", "pdr", strconv.FormatUint(uint64(id), 10)), elem("state"), elem("counters")))
	if w := counters(dataplane.MeterCounters{Green: dataplane.Counter{Packets: K, Bytes: K * frameLen}}); !equalCounts(pdr, w) {
		t.Errorf("gNMI direct meter counters of rule %d: %v, want %v", id, pdr, w)
	}
}

func equalCounts(a, b map[string]uint64) bool {
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

// BenchmarkMeterCountersGNMI: a gNMI Get of every FAR meter's counters on the
// real data path, by the number of configured meters (each costs one per-CPU
// array read, a syscall). Compare with an interface-only Get of the same
// server, which reads no meter.
func BenchmarkMeterCountersGNMI(b *testing.B) {
	testenv.RequireRoot(b)
	dp, err := xdp.Load(dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 16, MaxTerms: 4, MaxPorts: 16, MaxMeters: 1024})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dp.Close() })
	srv, err := New(Options{DeviceID: 1, Dataplane: dp,
		Pipeline: p4info.MustNewIndex(p4info.New(p4info.Sizes{PDRs: 64, FARs: 16, LBRs: 4, Tunnels: 16, TunnelTerms: 4, Ports: 16, Meters: 1024}))})
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(lis)
	b.Cleanup(func() { srv.Stop(time.Second) })
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	client := gnmi.NewGNMIClient(conn)
	configured := 0
	cfg := dataplane.MeterConfig{CIR: 1000, CBurst: 1000, PIR: 1000, PBurst: 1000}
	for _, n := range []int{0, 10, 100, 1000} {
		for ; configured < n; configured++ {
			if err := dp.SetMeter(dataplane.MeterID{FAR: dataplane.FARID(configured)}, cfg); err != nil {
				b.Fatal(err)
			}
		}
		for _, q := range []struct {
			name string
			path *gnmi.Path
		}{
			{"qos", gpath(elem("qos"), elem("meters"))},
			{"interfaces", gpath(elem("interfaces"), elem("interface", "name", "*"), elem("state"))},
		} {
			b.Run(fmt.Sprintf("meters=%d/get=%s", n, q.name), func(b *testing.B) {
				req := &gnmi.GetRequest{Encoding: gnmi.Encoding_PROTO, Path: []*gnmi.Path{q.path}}
				for b.Loop() {
					if _, err := client.Get(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
