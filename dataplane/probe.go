package dataplane

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ValidateProbe checks what SendProbe takes: an IPv4 datagram without options
// from t.Src to t.Dst carrying UDP, whose lengths agree, no longer than maxLen
// octets (what fits in the tunnel's port after the GRE and outer headers).
// Errors wrap ErrInvalid and name the field. Probes over a tunnel whose
// underlay is IPv6 are refused for now: their inner family (the tunnel's
// addresses are IPv6, so the IPv4 probe above cannot exist) is not decided yet.
func ValidateProbe(t Tunnel, packet []byte, maxLen int) error {
	const ipHdr, udpHdr = 20, 8
	switch {
	case t.Src.Is6():
		return fmt.Errorf("%w: probes over a tunnel with an IPv6 underlay (src %s) are not supported yet", ErrInvalid, t.Src)
	case len(packet) < ipHdr+udpHdr:
		return fmt.Errorf("%w: probe of %d octets is shorter than IPv4 and UDP headers", ErrInvalid, len(packet))
	case len(packet) > maxLen:
		return fmt.Errorf("%w: probe of %d octets is longer than the tunnel carries: %d", ErrInvalid, len(packet), maxLen)
	case packet[0] != 0x45:
		return fmt.Errorf("%w: probe is not IPv4 without options (version/IHL %#02x)", ErrInvalid, packet[0])
	case int(binary.BigEndian.Uint16(packet[2:4])) != len(packet):
		return fmt.Errorf("%w: probe's IPv4 total length %d is not its size %d", ErrInvalid, binary.BigEndian.Uint16(packet[2:4]), len(packet))
	case packet[9] != 17:
		return fmt.Errorf("%w: probe's IPv4 protocol is %d, not UDP", ErrInvalid, packet[9])
	case int(binary.BigEndian.Uint16(packet[ipHdr+4:ipHdr+6])) != len(packet)-ipHdr:
		return fmt.Errorf("%w: probe's UDP length %d is not %d", ErrInvalid, binary.BigEndian.Uint16(packet[ipHdr+4:ipHdr+6]), len(packet)-ipHdr)
	}
	src := netip.AddrFrom4([4]byte(packet[12:16]))
	dst := netip.AddrFrom4([4]byte(packet[16:20]))
	if src != t.Src || dst != t.Dst {
		return fmt.Errorf("%w: probe goes from %s to %s, the tunnel from %s to %s", ErrInvalid, src, dst, t.Src, t.Dst)
	}
	return nil
}
