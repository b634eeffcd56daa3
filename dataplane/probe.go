package dataplane

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ValidateProbe checks what SendProbe takes: a datagram of the tunnel's
// underlay family from t.Src to t.Dst carrying UDP, whose lengths agree, no
// longer than maxLen octets (what fits in the tunnel's port after the GRE and
// outer headers): IPv4 without options, or, over an IPv6 underlay, IPv6
// without extension headers (docs/sla.md). Errors wrap ErrInvalid and name the
// field.
func ValidateProbe(t Tunnel, packet []byte, maxLen int) error {
	const ipHdr, udpHdr = 20, 8
	if t.Src.Is6() {
		return validateProbe6(t, packet, maxLen)
	}
	switch {
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

// validateProbe6 is ValidateProbe for a tunnel over an IPv6 underlay: IPv6
// (next header UDP, no extension headers) from t.Src to t.Dst.
func validateProbe6(t Tunnel, packet []byte, maxLen int) error {
	const ipHdr, udpHdr = 40, 8
	switch {
	case len(packet) < ipHdr+udpHdr:
		return fmt.Errorf("%w: probe of %d octets is shorter than IPv6 and UDP headers", ErrInvalid, len(packet))
	case len(packet) > maxLen:
		return fmt.Errorf("%w: probe of %d octets is longer than the tunnel carries: %d", ErrInvalid, len(packet), maxLen)
	case packet[0]>>4 != 6:
		return fmt.Errorf("%w: probe through a tunnel with an IPv6 underlay is not IPv6 (version %d)", ErrInvalid, packet[0]>>4)
	case int(binary.BigEndian.Uint16(packet[4:6])) != len(packet)-ipHdr:
		return fmt.Errorf("%w: probe's IPv6 payload length %d is not %d", ErrInvalid, binary.BigEndian.Uint16(packet[4:6]), len(packet)-ipHdr)
	case packet[6] != 17:
		return fmt.Errorf("%w: probe's IPv6 next header is %d, not UDP", ErrInvalid, packet[6])
	case int(binary.BigEndian.Uint16(packet[ipHdr+4:ipHdr+6])) != len(packet)-ipHdr:
		return fmt.Errorf("%w: probe's UDP length %d is not %d", ErrInvalid, binary.BigEndian.Uint16(packet[ipHdr+4:ipHdr+6]), len(packet)-ipHdr)
	}
	src := netip.AddrFrom16([16]byte(packet[8:24]))
	dst := netip.AddrFrom16([16]byte(packet[24:40]))
	if src != t.Src || dst != t.Dst {
		return fmt.Errorf("%w: probe goes from %s to %s, the tunnel from %s to %s", ErrInvalid, src, dst, t.Src, t.Dst)
	}
	return nil
}
