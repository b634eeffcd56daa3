package translate

import (
	"fmt"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// decodeMetadata checks that every field of header h is given exactly once with a
// value that fits, as the specification's Packet I/O section requires.
func decodeMetadata(h *p4info.ControllerHeader, md []*p4v1.PacketMetadata) (map[uint32]uint64, error) {
	vals := make(map[uint32]uint64, len(md))
	for _, m := range md {
		if m == nil {
			return nil, invalidf("%s: empty metadata", h.Name())
		}
		f, ok := h.Field(m.GetMetadataId())
		if !ok {
			return nil, invalidf("%s: unknown metadata id %d", h.Name(), m.GetMetadataId())
		}
		if _, dup := vals[f.ID()]; dup {
			return nil, invalidf("%s: metadata %d (%s) given twice", h.Name(), f.ID(), f.Name())
		}
		v, err := DecodeUint(m.GetValue(), f.Bitwidth())
		if err != nil {
			return nil, prefixed(fmt.Sprintf("%s: metadata %d (%s)", h.Name(), f.ID(), f.Name()), err)
		}
		vals[f.ID()] = v
	}
	for _, f := range h.Fields() {
		if _, ok := vals[f.ID()]; !ok {
			return nil, invalidf("%s: metadata %d (%s) missing", h.Name(), f.ID(), f.Name())
		}
	}
	return vals, nil
}

// DecodePacketOut returns the egress port of a PacketOut (metadata egress_port);
// the frame is p.Payload, sent as is. A missing egress_port, or 0 (no P4 port
// has that number: what a client that leaves the field unset sends), is
// INVALID_ARGUMENT; whether another port exists is the data path's business.
func (t *Translator) DecodePacketOut(p *p4v1.PacketOut) (dataplane.PortID, error) {
	h := t.idx.PacketOut()
	if h == nil {
		return 0, Errorf(codes.Unimplemented, "the pipeline has no packet_out header")
	}
	vals, err := decodeMetadata(h, p.GetMetadata())
	if err != nil {
		return 0, err
	}
	port := vals[p4info.IDMetaEgressPort]
	if port == 0 {
		return 0, invalidf("%s: metadata %d (%s) is 0, which is no port: set it to the P4 port number to send on (1 or more)",
			h.Name(), p4info.IDMetaEgressPort, p4info.MetaEgressPort)
	}
	return dataplane.PortID(port), nil
}

// EncodePacketIn returns the PacketIn of a punted packet: its frame as payload and
// its ingress port as metadata ingress_port (canonical bytestring).
func (t *Translator) EncodePacketIn(p dataplane.Punt) *p4v1.PacketIn {
	return &p4v1.PacketIn{
		Payload:  p.Packet,
		Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaIngressPort, Value: EncodeUint(uint64(p.Port))}},
	}
}
