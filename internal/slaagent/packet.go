package slaagent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/linx-sdwan/linx/dataplane"
)

const (
	ipv4Len = 20
	ipv6Len = 40
	udpLen  = 8
	ttl     = 64
)

// DefaultSourcePort is the first of the 64 UDP source ports the prober sends
// from: a probe of DSCP d leaves from DefaultSourcePort+d, so that a reply
// names the session it answers even when the path rewrote its DSCP.
const DefaultSourcePort = 49862

// buildProbe wraps a STAMP test packet in IPv4 (src → dst, DSCP dscp, TTL 64)
// and UDP (sport → dataplane.STAMPPort), checksums included; in IPv6 (hop
// limit 64) when the addresses are IPv6: a tunnel over an IPv6 underlay's
// probes (docs/sla.md).
func buildProbe(src, dst netip.Addr, dscp uint8, sport uint16, stamp []byte) []byte {
	if src.Is6() {
		return buildProbe6(src, dst, dscp, sport, stamp)
	}
	n := ipv4Len + udpLen + len(stamp)
	b := make([]byte, n)
	b[0] = 0x45
	b[1] = dscp << 2
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	b[6] = 0x40 // don't fragment: a probe measures the path as it is
	b[8] = ttl
	b[9] = 17
	s4, d4 := src.As4(), dst.As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	binary.BigEndian.PutUint16(b[10:], checksum(b[:ipv4Len], 0))
	u := b[ipv4Len:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dataplane.STAMPPort)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(stamp)))
	copy(u[udpLen:], stamp)
	// The pseudo-header: addresses, protocol, UDP length.
	var ph uint32
	ph += uint32(binary.BigEndian.Uint16(s4[0:])) + uint32(binary.BigEndian.Uint16(s4[2:]))
	ph += uint32(binary.BigEndian.Uint16(d4[0:])) + uint32(binary.BigEndian.Uint16(d4[2:]))
	ph += 17 + uint32(len(u))
	c := checksum(u, ph)
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return b
}

// buildProbe6 is buildProbe's IPv6 datagram: no extension headers, flow
// label 0, the UDP checksum IPv6 requires.
func buildProbe6(src, dst netip.Addr, dscp uint8, sport uint16, stamp []byte) []byte {
	ul := udpLen + len(stamp)
	b := make([]byte, ipv6Len+ul)
	binary.BigEndian.PutUint32(b[0:], 6<<28|uint32(dscp)<<22)
	binary.BigEndian.PutUint16(b[4:], uint16(ul))
	b[6] = 17
	b[7] = ttl
	s16, d16 := src.As16(), dst.As16()
	copy(b[8:24], s16[:])
	copy(b[24:40], d16[:])
	u := b[ipv6Len:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dataplane.STAMPPort)
	binary.BigEndian.PutUint16(u[4:], uint16(ul))
	copy(u[udpLen:], stamp)
	// The pseudo-header (RFC 8200 §8.1): addresses, length, next header.
	var ph uint32
	for i := 8; i < 40; i += 2 {
		ph += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	ph += 17 + uint32(ul)
	c := checksum(u, ph)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return b
}

// checksum is the Internet checksum of b, starting from the partial sum sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// reply is what parseReply finds in a ProbeReply's datagram.
type reply struct {
	src, dst netip.Addr
	dport    uint16
	stamp    []byte
}

var errNotReply = errors.New("not a STAMP reply")

// parseReply reads an IPv4 datagram carrying UDP from the STAMP port, or an
// IPv6 one without extension headers (what linx's reflector sends).
func parseReply(p []byte) (reply, error) {
	if len(p) > 0 && p[0]>>4 == 6 {
		return parseReply6(p)
	}
	if len(p) < ipv4Len+udpLen || p[0]>>4 != 4 {
		return reply{}, fmt.Errorf("%w: %d octets, not IPv4 with UDP", errNotReply, len(p))
	}
	ihl := int(p[0]&0xf) * 4
	if ihl < ipv4Len || len(p) < ihl+udpLen || p[9] != 17 {
		return reply{}, fmt.Errorf("%w: IPv4 header length %d, protocol %d", errNotReply, ihl, p[9])
	}
	u := p[ihl:]
	if sp := binary.BigEndian.Uint16(u[0:]); sp != dataplane.STAMPPort {
		return reply{}, fmt.Errorf("%w: UDP source port %d", errNotReply, sp)
	}
	ul := int(binary.BigEndian.Uint16(u[4:]))
	if ul < udpLen || ul > len(u) {
		return reply{}, fmt.Errorf("%w: UDP length %d of %d octets", errNotReply, ul, len(u))
	}
	return reply{
		src:   netip.AddrFrom4([4]byte(p[12:16])),
		dst:   netip.AddrFrom4([4]byte(p[16:20])),
		dport: binary.BigEndian.Uint16(u[2:]),
		stamp: u[udpLen:ul],
	}, nil
}

func parseReply6(p []byte) (reply, error) {
	if len(p) < ipv6Len+udpLen || p[6] != 17 {
		return reply{}, fmt.Errorf("%w: %d octets, not IPv6 with UDP", errNotReply, len(p))
	}
	u := p[ipv6Len:]
	if sp := binary.BigEndian.Uint16(u[0:]); sp != dataplane.STAMPPort {
		return reply{}, fmt.Errorf("%w: UDP source port %d", errNotReply, sp)
	}
	ul := int(binary.BigEndian.Uint16(u[4:]))
	if ul < udpLen || ul > len(u) {
		return reply{}, fmt.Errorf("%w: UDP length %d of %d octets", errNotReply, ul, len(u))
	}
	return reply{
		src:   netip.AddrFrom16([16]byte(p[8:24])),
		dst:   netip.AddrFrom16([16]byte(p[24:40])),
		dport: binary.BigEndian.Uint16(u[2:]),
		stamp: u[udpLen:ul],
	}, nil
}
