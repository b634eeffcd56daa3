package translate

import (
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

func TestPacketIO(t *testing.T) {
	tr := newTranslator(t)
	md := func(id uint32, v []byte) *p4v1.PacketMetadata { return &p4v1.PacketMetadata{MetadataId: id, Value: v} }
	for _, v := range [][]byte{b(5), b(0, 5), b(0, 0, 0, 5)} {
		port, err := tr.DecodePacketOut(&p4v1.PacketOut{Payload: b(1, 2), Metadata: []*p4v1.PacketMetadata{md(p4info.IDMetaEgressPort, v)}})
		if err != nil || port != 5 {
			t.Fatalf("%x: port %d, %v", v, port, err)
		}
	}
	for _, c := range []struct {
		name string
		md   []*p4v1.PacketMetadata
		code codes.Code
	}{
		{"missing", nil, codes.InvalidArgument},
		{"twice", []*p4v1.PacketMetadata{md(1, b(1)), md(1, b(2))}, codes.InvalidArgument},
		{"unknown", []*p4v1.PacketMetadata{md(1, b(1)), md(2, b(2))}, codes.InvalidArgument},
		{"nil", []*p4v1.PacketMetadata{nil}, codes.InvalidArgument},
		{"17 bits", []*p4v1.PacketMetadata{md(1, b(1, 0, 0))}, codes.OutOfRange},
		{"empty", []*p4v1.PacketMetadata{md(1, nil)}, codes.OutOfRange},
	} {
		_, err := tr.DecodePacketOut(&p4v1.PacketOut{Metadata: c.md})
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code) })
	}
	in := tr.EncodePacketIn(dataplane.Punt{Port: 0x102, Packet: b(9, 9), Length: 60})
	want := &p4v1.PacketIn{Payload: b(9, 9), Metadata: []*p4v1.PacketMetadata{md(p4info.IDMetaIngressPort, b(1, 2))}}
	if !proto.Equal(in, want) {
		t.Fatalf("%v, want %v", in, want)
	}
}
