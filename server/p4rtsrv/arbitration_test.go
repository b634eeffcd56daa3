package p4rtsrv

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
)

// wantArb checks an arbitration notification: device 1, the role, status code and
// the highest election id (nil: unset). Both election_id and status must be set
// whenever a primary ever existed: ONOS ignores notifications lacking either.
func wantArb(t testing.TB, u *p4v1.MasterArbitrationUpdate, role string, code codes.Code, election *p4v1.Uint128) {
	t.Helper()
	if u.GetDeviceId() != 1 || u.GetRole().GetName() != role || codes.Code(u.GetStatus().GetCode()) != code ||
		!proto.Equal(u.GetElectionId(), election) || u.GetStatus() == nil {
		t.Errorf("arbitration update %v; want role %q, status %v, election id %v", u, role, code, election)
	}
	if role == "" && u.GetRole() != nil {
		t.Errorf("default-role notification carries a role: %v", u.GetRole())
	}
}

// TestArbitration walks the spec's "Rules for Handling MasterArbitrationUpdate
// Messages" and "Client Arbitration Notifications" with several live controllers
// in the default role.
func TestArbitration(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		const q = 30 * time.Millisecond

		// The first controller becomes primary.
		a, ua := h.controller(10)
		wantArb(t, ua, "", codes.OK, eid(10))

		// A lower id is a backup; only the newcomer is told.
		b, ub := h.controller(5)
		wantArb(t, ub, "", codes.AlreadyExists, eid(10))
		// An unset election id is never primary.
		n := h.connect(nil, "")
		wantArb(t, n.arbitration(), "", codes.AlreadyExists, eid(10))
		a.quiet(q)

		// A higher id takes over; every controller is told.
		c, uc := h.controller(20)
		wantArb(t, uc, "", codes.OK, eid(20))
		for _, x := range []*ctrl{a, b, n} {
			wantArb(t, x.arbitration(), "", codes.AlreadyExists, eid(20))
		}

		// An election id already used by a live controller is refused and the
		// stream ends.
		wantCode(t, h.connect(eid(5), "").ended(), codes.InvalidArgument, "duplicate election id")
		wantCode(t, h.streamEnd(), codes.InvalidArgument, "handler of the duplicate")

		// Only the primary writes or sets the pipeline.
		h.commit(20)
		wantCode(t, h.write(20, insert(farForward(1, 1))), codes.OK, "primary write")
		wantCode(t, h.write(10, insert(farForward(2, 1))), codes.PermissionDenied, "former primary write")
		wantCode(t, h.write(5, insert(farForward(2, 1))), codes.PermissionDenied, "backup write")
		_, err := h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, Updates: []*p4v1.Update{insert(farForward(2, 1))}})
		wantCode(t, err, codes.PermissionDenied, "write without election id")

		// The primary leaves: everyone is told there is no primary; the highest
		// id stays (election_id_past).
		c.closeSend()
		if err := c.ended(); err != nil {
			t.Errorf("closed stream ended with %v", err)
		}
		for _, x := range []*ctrl{a, b, n} {
			wantArb(t, x.arbitration(), "", codes.NotFound, eid(20))
		}
		wantCode(t, h.write(20, insert(farForward(2, 1))), codes.PermissionDenied, "write by the departed primary's id")

		// Below election_id_past a controller stays backup even with no primary;
		// only it is told.
		a.arbitrate(1, eid(15), "")
		wantArb(t, a.arbitration(), "", codes.NotFound, eid(20))
		b.quiet(q)

		// Reaching election_id_past makes it primary again; everyone is told.
		a.arbitrate(1, eid(20), "")
		wantArb(t, a.arbitration(), "", codes.OK, eid(20))
		wantArb(t, b.arbitration(), "", codes.AlreadyExists, eid(20))
		wantArb(t, n.arbitration(), "", codes.AlreadyExists, eid(20))
		wantCode(t, h.write(20, insert(farForward(2, 1))), codes.OK, "write by the new primary")

		// A primary downgrading itself leaves the role without a primary.
		a.arbitrate(1, eid(12), "")
		for _, x := range []*ctrl{a, b, n} {
			wantArb(t, x.arbitration(), "", codes.NotFound, eid(20))
		}

		// A live controller switching to an id another one holds is refused.
		b.arbitrate(1, eid(12), "")
		wantCode(t, b.ended(), codes.InvalidArgument, "re-arbitration with a duplicate id")

		st := h.srv.Arbitration()
		if len(st) != 1 || st[0].Role != "" || st[0].Controllers != 2 || st[0].Primary || !proto.Equal(st[0].ElectionID, eid(20)) {
			t.Errorf("Arbitration() = %+v", st)
		}
	})
}

// TestArbitrationRoles: each (device, role) has its own primary; election ids are
// unique per role only; an unknown role cannot write; role changes on a stream
// and role configs are refused.
func TestArbitrationRoles(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		def := h.primary(20)

		x := h.connect(eid(1), "r1")
		wantArb(t, x.arbitration(), "r1", codes.OK, eid(1))
		// Id 20 is free in role r1 although the default role's primary holds it.
		z := h.connect(eid(20), "r1")
		wantArb(t, z.arbitration(), "r1", codes.OK, eid(20))
		wantArb(t, x.arbitration(), "r1", codes.AlreadyExists, eid(20))
		def.quiet(30 * time.Millisecond)
		// Id 1 is taken in r1.
		wantCode(t, h.connect(eid(1), "r1").ended(), codes.InvalidArgument, "duplicate id in role r1")

		// Writes identify the client by (device, role, election id).
		_, err := h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, Role: "r1", ElectionId: eid(20), Updates: []*p4v1.Update{insert(farForward(1, 1))}})
		wantCode(t, err, codes.OK, "role r1 primary write")
		_, err = h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, Role: "r1", ElectionId: eid(1), Updates: []*p4v1.Update{insert(farForward(2, 1))}})
		wantCode(t, err, codes.PermissionDenied, "role r1 backup write")
		_, err = h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, Role: "r2", ElectionId: eid(20), Updates: []*p4v1.Update{insert(farForward(2, 1))}})
		wantCode(t, err, codes.NotFound, "write for a role nobody arbitrated")
		wantCode(t, h.write(20, insert(farForward(2, 1))), codes.OK, "default-role primary write")

		// A stream keeps its role and device.
		x.arbitrate(1, eid(1), "r2")
		wantCode(t, x.ended(), codes.FailedPrecondition, "role change on a stream")
		z.arbitrate(2, eid(20), "r1")
		wantCode(t, z.ended(), codes.FailedPrecondition, "device change on a stream")

		// Role configs are not supported.
		cfg := h.open()
		cfg.send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{Arbitration: &p4v1.MasterArbitrationUpdate{
			DeviceId: 1, ElectionId: eid(30), Role: &p4v1.Role{Name: "r3", Config: mustAny(t, &emptypb.Empty{})}}}})
		wantCode(t, cfg.ended(), codes.InvalidArgument, "role config")
	})
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	must(t, err)
	return a
}

// TestArbitrationDeviceAndUnsetID: an unknown device id ends the stream with
// NOT_FOUND; an unset election id is never primary, while {0,0} is a valid id.
func TestArbitrationDeviceAndUnsetID(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		for _, dev := range []uint64{0, 2} {
			c := h.open()
			c.arbitrate(dev, eid(1), "")
			wantCode(t, c.ended(), codes.NotFound, "arbitration for an unknown device")
		}

		// Alone and unset: no primary, no election id ever seen.
		n := h.connect(nil, "")
		wantArb(t, n.arbitration(), "", codes.NotFound, nil)
		_, err := h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1})
		wantCode(t, err, codes.PermissionDenied, "write with an unset election id")

		// {high:0 low:0} is set (spec "Unset Election ID") and becomes primary.
		zero := &p4v1.Uint128{}
		z := h.connect(zero, "")
		wantArb(t, z.arbitration(), "", codes.OK, zero)
		wantArb(t, n.arbitration(), "", codes.AlreadyExists, zero)
		_, err = h.c.SetForwardingPipelineConfig(t.Context(), &p4v1.SetForwardingPipelineConfigRequest{DeviceId: 1, ElectionId: zero,
			Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT, Config: &p4v1.ForwardingPipelineConfig{P4Info: h.info.P4Info()}})
		wantCode(t, err, codes.OK, "commit by the {0,0} primary")
		_, err = h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: zero, Updates: []*p4v1.Update{insert(farForward(1, 1))}})
		wantCode(t, err, codes.OK, "write by the {0,0} primary")
		_, err = h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, Updates: []*p4v1.Update{insert(farForward(2, 1))}})
		wantCode(t, err, codes.PermissionDenied, "write with an unset election id while {0,0} is primary")
		wantCode(t, h.write(0, insert(farForward(3, 1))), codes.OK, "eid(0) is {0,0}")
	})
}

// TestWriteWithoutController: with no controller ever connected, the default
// role exists but has no primary, so writes and pipeline changes are
// PERMISSION_DENIED; an unknown device is NOT_FOUND.
func TestWriteWithoutController(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		wantCode(t, h.write(1, insert(farForward(1, 1))), codes.PermissionDenied, "write with no controller")
		_, err := h.c.SetForwardingPipelineConfig(t.Context(), &p4v1.SetForwardingPipelineConfigRequest{DeviceId: 1, ElectionId: eid(1),
			Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY, Config: &p4v1.ForwardingPipelineConfig{P4Info: h.info.P4Info()}})
		wantCode(t, err, codes.PermissionDenied, "set config with no controller")
		_, err = h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 2, ElectionId: eid(1)})
		wantCode(t, err, codes.NotFound, "write to an unknown device")
	})
}

// TestStreamLifecycle: a stream closed by the client (CloseSend) or cancelled
// ends with the handler returning nil, leaves no goroutine behind, and a departing
// primary is announced.
func TestStreamLifecycle(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		a, _ := h.controller(10)
		b, _ := h.controller(5)

		a.closeSend()
		if err := a.ended(); err != nil {
			t.Errorf("client saw %v after CloseSend, want a clean end (OK)", err)
		}
		if err := h.streamEnd(); err != nil {
			t.Errorf("StreamChannel returned %v after CloseSend, want nil", err)
		}
		wantArb(t, b.arbitration(), "", codes.NotFound, eid(10))

		b.cancel()
		if err := h.streamEnd(); err != nil {
			t.Errorf("StreamChannel returned %v after the client cancelled, want nil", err)
		}

		// A burst of short sessions, some that never arbitrate.
		for i := range 20 {
			c := h.open()
			if i%2 == 0 {
				c.arbitrate(1, eid(uint64(100+i)), "")
				c.arbitration()
			}
			c.closeSend()
			if err := c.ended(); err != nil {
				t.Errorf("session %d ended with %v", i, err)
			}
		}
		for range 20 {
			if err := h.streamEnd(); err != nil {
				t.Errorf("StreamChannel returned %v", err)
			}
		}
		noStreamGoroutines(t)
		if st := h.srv.Arbitration(); len(st) != 1 || st[0].Controllers != 0 || st[0].Primary {
			t.Errorf("after every stream closed: %+v", st)
		}

		// Before arbitrating, only arbitration or packets make sense.
		c := h.open()
		c.send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Other{Other: mustAny(t, &emptypb.Empty{})}})
		wantCode(t, c.ended(), codes.FailedPrecondition, "first message not an arbitration update")
	})
}

// TestPacketOut: the primary's PacketOut leaves by its egress_port; anything
// else is dropped and reported with a StreamError.
func TestPacketOut(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		var capture *testenv.Capture
		if h.ns != nil {
			capture = testenv.NewCapture(t, h.ns, "wan0p")
		}
		a := h.primary(20)
		b, _ := h.controller(10)

		frame := func(tag byte) []byte {
			f := bytes.Repeat([]byte{tag}, 60)
			copy(f, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x98, 0x88, 0xb5}) // local experimental ethertype
			return f
		}
		out := func(f []byte, md ...*p4v1.PacketMetadata) *p4v1.PacketOut {
			return &p4v1.PacketOut{Payload: f, Metadata: md}
		}
		port := func(v []byte) *p4v1.PacketMetadata {
			return &p4v1.PacketMetadata{MetadataId: p4info.IDMetaEgressPort, Value: v}
		}
		wantStreamError := func(c *ctrl, code codes.Code, p *p4v1.PacketOut) {
			t.Helper()
			e := c.recv().GetError()
			if codes.Code(e.GetCanonicalCode()) != code || !proto.Equal(e.GetPacketOut().GetPacketOut(), p) {
				t.Errorf("stream error %v, want %v for %v", e, code, p)
			}
		}

		good := out(frame(1), port(pad(2, 2))) // padded, as ONOS ≤ 2.7 sends it
		a.packetOut(good)
		for _, bad := range []struct {
			c    *ctrl
			p    *p4v1.PacketOut
			code codes.Code
		}{
			{b, out(frame(2), port(u(2))), codes.PermissionDenied},            // a backup
			{a, out(frame(3)), codes.InvalidArgument},                         // no egress_port
			{a, out(frame(4), port(u(2)), port(u(3))), codes.InvalidArgument}, // twice
			{a, out(frame(5), port(u(1<<16))), codes.OutOfRange},              // wider than 16 bits
			{a, out(frame(6), port(u(9))), codes.NotFound},                    // no such port
			{a, out([]byte{1, 2, 3}, port(u(2))), codes.InvalidArgument},      // shorter than Ethernet
		} {
			bad.c.packetOut(bad.p)
			wantStreamError(bad.c, bad.code, bad.p)
		}

		// The good frame went out of port 2, and only it.
		if h.mem != nil {
			sent := h.mem.Transmitted()
			if len(sent) != 1 || sent[0].Port != 2 || !bytes.Equal(sent[0].Frame, frame(1)) {
				t.Errorf("transmitted %v, want frame 1 on port 2", sent)
			}
		} else {
			if _, ok := capture.Wait(2*time.Second, func(p testenv.Packet) bool { return bytes.Equal(p.Data, frame(1)) }); !ok {
				t.Errorf("frame not seen on wan0p: %v", capture)
			}
			time.Sleep(50 * time.Millisecond)
			for _, p := range capture.Packets() {
				if len(p.Data) == 60 && p.Data[59] != 1 {
					t.Errorf("a refused PacketOut left: %x", p.Data)
				}
			}
		}
	})
}

// TestPacketIn: punted packets reach the primary, and only it, as PacketIn with
// the ingress port in packet_in metadata.
func TestPacketIn(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		a := h.primary(20)
		b, _ := h.controller(10)

		var frame []byte
		var ingress dataplane.PortID
		if h.mem != nil {
			frame, ingress = bytes.Repeat([]byte{0xab}, 100), 3
			if !h.mem.InjectPunt(dataplane.Punt{Port: ingress, Packet: frame}) {
				t.Fatal("punt not injected")
			}
		} else {
			// The real data path: a punt FAR, a PDR selecting it, and a frame
			// received on lan0.
			h.mustWrite(20, insert(farPlain(1, p4info.IDActionPunt)))
			h.mustWrite(20, insert(pdrHost("10.9.9.9", 10, 1)))
			frame, ingress = udpFrame(t, testenv.Link(t, h.ns, "lan0").Attrs().HardwareAddr, "10.1.0.2", "10.9.9.9"), 1
			h.sendFrame(ingress, frame)
		}
		want := &p4v1.PacketIn{Payload: frame, Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaIngressPort, Value: u(uint64(ingress))}}}
		if got := a.recv().GetPacket(); !proto.Equal(got, want) {
			t.Errorf("packet-in %v, want %v", got, want)
		}

		// The backup got nothing: its next message is the notification that
		// follows the primary re-arbitrating.
		a.arbitrate(1, eid(20), "")
		wantArb(t, a.arbitration(), "", codes.OK, eid(20))
		wantArb(t, b.arbitration(), "", codes.AlreadyExists, eid(20))

		if h.mem == nil {
			// The rule that punted counted the packet in the live data path.
			got := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, CounterData: &p4v1.CounterData{}})
			if len(got) != 1 || got[0].GetCounterData().GetPacketCount() != 1 || got[0].GetCounterData().GetByteCount() != int64(len(frame)) {
				t.Errorf("pdr counter after one %d-byte packet: %v", len(frame), got)
			}
			return
		}
		// Without a primary, punts reach nobody.
		a.closeSend()
		wantArb(t, b.arbitration(), "", codes.NotFound, eid(20))
		h.mem.InjectPunt(dataplane.Punt{Port: 1, Packet: frame})
		b.quiet(50 * time.Millisecond)
	})
}

// udpFrame is an Ethernet/IPv4/UDP frame to dstMAC.
func udpFrame(t *testing.T, dstMAC net.HardwareAddr, src, dst string) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0x01, 0x02}, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: ip4(src), DstIP: ip4(dst)}
	udp := &layers.UDP{SrcPort: 4000, DstPort: 5000}
	must(t, udp.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	must(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(bytes.Repeat([]byte{7}, 32))))
	return bytes.Clone(buf.Bytes())
}

// TestPacketOutErrors: the spec's codes for a client's bad PacketOut, with
// messages that say what to fix: egress_port missing or 0 is INVALID_ARGUMENT
// (it was NOT_FOUND "port 0"), a payload longer than the port takes is
// INVALID_ARGUMENT naming the limit (it was INTERNAL).
func TestPacketOutErrors(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		a := h.primary(20)
		frame := func(n int) []byte {
			f := bytes.Repeat([]byte{7}, n)
			copy(f, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x98, 0x88, 0xb5})
			return f
		}
		port := func(v []byte) *p4v1.PacketMetadata {
			return &p4v1.PacketMetadata{MetadataId: p4info.IDMetaEgressPort, Value: v}
		}
		for _, c := range []struct {
			name string
			p    *p4v1.PacketOut
			code codes.Code
			says string
		}{
			{"no metadata", &p4v1.PacketOut{Payload: frame(60)}, codes.InvalidArgument, "egress_port) missing"},
			{"egress_port 0", &p4v1.PacketOut{Payload: frame(60), Metadata: []*p4v1.PacketMetadata{port([]byte{0})}}, codes.InvalidArgument, "egress_port) is 0, which is no port"},
			{"oversize", &p4v1.PacketOut{Payload: frame(9000), Metadata: []*p4v1.PacketMetadata{port(u(2))}}, codes.InvalidArgument, "frame of 9000 bytes is longer than port 2"},
		} {
			a.packetOut(c.p)
			e := a.recv().GetError()
			if codes.Code(e.GetCanonicalCode()) != c.code || !strings.Contains(e.GetMessage(), c.says) {
				t.Errorf("%s: stream error %v %q, want %v saying %q", c.name, codes.Code(e.GetCanonicalCode()), e.GetMessage(), c.code, c.says)
			}
		}
		// The limit is named.
		a.packetOut(&p4v1.PacketOut{Payload: frame(1515), Metadata: []*p4v1.PacketMetadata{port(u(2))}})
		if e := a.recv().GetError(); !strings.Contains(e.GetMessage(), "1514 bytes (MTU 1500 + 14-byte Ethernet header)") {
			t.Errorf("one byte too long: %q does not name the limit", e.GetMessage())
		}
		// The largest frame the port takes goes.
		a.packetOut(&p4v1.PacketOut{Payload: frame(1514), Metadata: []*p4v1.PacketMetadata{port(u(2))}})
		a.quiet(100 * time.Millisecond)
	})
}
