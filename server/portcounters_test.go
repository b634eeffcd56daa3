package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/linkwatch"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/gnmisrv"
)

// TestPortCountersWholeTruth: gNMI's port counters combine the pipeline's with
// the kernel's, on the real data path. K frames arrive and the pipeline drops
// them (the PDR default says drop): in = K, in-discards = K, and the kernel
// counts none of them. N packet-outs leave through the kernel (AF_PACKET):
// out = N, though the pipeline never sees them. Each figure is checked against
// the kernel's own link statistics and the pipeline's counters.
func TestPortCountersWholeTruth(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNS(t)
	testenv.Veth(t, ns, "lan0", ns, "lan0p")
	testenv.DisableIPv6(t, ns) // no router solicitations in the kernel's TX count
	testenv.SetGRO(t, ns, "lan0p", true)

	var dp *xdp.Dataplane
	err := ns.Do(func() error {
		var err error
		if dp, err = xdp.Load(dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 16, MaxTerms: 4, MaxPorts: 16}); err != nil {
			return err
		}
		return dp.Attach("lan0", 1, dataplane.RoleLAN, dataplane.XDPNative)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	if err := dp.SetPDRDefault(dataplane.FAR{Action: dataplane.ActDrop}); err != nil {
		t.Fatal(err)
	}

	kernel := func() netlink.LinkStatistics {
		return *testenv.Link(t, ns, "lan0").Attrs().Statistics
	}
	k0 := kernel()
	pc0, err := dp.PortCounter(1)
	if err != nil {
		t.Fatal(err)
	}

	// K frames into lan0 from its peer.
	const K, N = 25, 7
	frame := make([]byte, 60)
	copy(frame, []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17})
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
	if err != nil {
		t.Fatal(err)
	}
	// N packet-outs out of lan0.
	for range N {
		if err := dp.Transmit(1, frame); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := dp.PortCounter(1)
	if err != nil {
		t.Fatal(err)
	}
	k := kernel()
	if got := pc.Drops.Packets - pc0.Drops.Packets; got != K {
		t.Fatalf("pipeline drops on lan0: %d, want %d", got, K)
	}
	if got := k.TxPackets - k0.TxPackets; got != N {
		t.Fatalf("kernel TX on lan0: %d, want the %d packet-outs", got, N)
	}

	srv, err := New(Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(p4info.New(p4info.Sizes{PDRs: 64, FARs: 16, LBRs: 4, Tunnels: 16, TunnelTerms: 4, Ports: 16})),
		GNMI: gnmisrv.Options{Links: linkwatch.NewLinks(nsHandle(t, ns))}})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop(time.Second)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := gnmi.NewGNMIClient(conn).Get(ctx, &gnmi.GetRequest{Type: gnmi.GetRequest_STATE, Encoding: gnmi.Encoding_PROTO,
		Path: []*gnmi.Path{gpath(elem("interfaces"), elem("interface", "name", "lan0"), elem("state"), elem("counters"))}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, n := range resp.Notification {
		for _, u := range n.Update {
			got[u.Path.Elem[len(u.Path.Elem)-1].Name] = u.Val.GetUintVal()
		}
	}
	want := map[string]uint64{
		"in-unicast-pkts":  pc.RX.Packets,                  // the pipeline saw every arrival
		"out-unicast-pkts": pc.TX.Packets + k.TxPackets,    // the kernel sent the packet-outs
		"in-discards":      pc.Drops.Packets + k.RxDropped, // dropped by the pipeline
		"out-discards":     k.TxDropped,
		"out-octets":       pc.TX.Bytes + k.TxBytes,
	}
	for leaf, w := range want {
		if got[leaf] != w {
			t.Errorf("%s = %d, want %d (pipeline %+v, kernel tx %d/%d dropped rx %d tx %d)", leaf, got[leaf], w, pc, k.TxPackets, k.TxBytes, k.RxDropped, k.TxDropped)
		}
	}
	if got["in-unicast-pkts"] < K || got["in-discards"] < K || got["out-unicast-pkts"] < N {
		t.Errorf("counters miss traffic: %v (sent %d in, %d out)", got, K, N)
	}
}

// nsHandle is a netlink handle in ns, for a LinkStater reading ns's links.
func nsHandle(t *testing.T, ns *testenv.NS) *netlink.Handle {
	t.Helper()
	var h *netlink.Handle
	err := ns.Do(func() error {
		var err error
		h, err = netlink.NewHandle()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}
