package p4rtsrv

import (
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// relayPunts turns punted packets into PacketIn messages for the primary of every
// role, with the ingress port as packet_in metadata.
func (s *Server) relayPunts() {
	defer s.punts.Done()
	punts := s.dp.Punts()
	for {
		select {
		case <-s.stopPunts:
			return
		case p, ok := <-punts:
			if !ok {
				return
			}
			m := &p4v1.StreamMessageResponse{Update: &p4v1.StreamMessageResponse_Packet{Packet: s.tr.EncodePacketIn(p)}}
			for _, c := range s.arb.primaries() {
				c.send(m)
			}
		}
	}
}

// packetOut transmits a PacketOut from the primary on its packet_out egress_port.
func (s *Server) packetOut(c *client, p *p4v1.PacketOut) error {
	if !s.arb.isPrimary(c) {
		return status.Error(codes.PermissionDenied, "only the primary controller may send packets")
	}
	port, err := s.tr.DecodePacketOut(p)
	if err != nil {
		return err
	}
	if err := s.dp.Transmit(port, p.Payload); err != nil {
		return status.Errorf(dpCode(err), "transmit on port %d: %v", port, err)
	}
	return nil
}
