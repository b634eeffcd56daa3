package integration

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/internal/demo"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestSTAMPThirdPartySender is issue 12's (f): a STAMP session-sender that is
// not linx gets RFC 8762-correct replies from a linx gateway. The client is
// written here from the RFC's packet layout (§4.2.1 and §4.3.1,
// unauthenticated mode), not from package sla. It stands in the underlay
// router, sends its test packets GRE-encapsulated as if they came through
// overlay 1 from gw-a (the tunnel gw-b terminates), and reads gw-b's replies
// off the wire on their way back through the overlay.
func TestSTAMPThirdPartySender(t *testing.T) {
	tb := newTestbed(t, "")
	ctx := testenv.Context(t, slaTimeout)
	waitUp(t, ctx, tb) // the overlays are up: gw-b's next hop towards gw-a is resolved

	peer, refl := tb.WAN(demo.SiteA, 0), tb.WAN(demo.SiteB, 0) // overlay 1's ends
	const sport = 40000
	capt, err := netlab.NewCapture(tb.Router(), tb.RouterIf(demo.SiteB, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()

	var fd int
	if err := tb.Router().Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	for i, size := range []int{44, 44, 120} { // the base packet, and one padded
		seq := uint32(7 + i)
		// RFC 8762 §4.2.1: Sequence Number 4, Timestamp 8, Error Estimate 2,
		// MBZ 30 (44 octets), padded further with zeros to size.
		test := make([]byte, size)
		binary.BigEndian.PutUint32(test[0:], seq)
		sent := time.Now()
		ntpSec := uint32(sent.Unix() + 2208988800) // NTP era 0: seconds since 1900
		binary.BigEndian.PutUint32(test[4:], ntpSec)
		binary.BigEndian.PutUint32(test[8:], uint32((uint64(sent.Nanosecond())<<32)/1e9))
		// Error Estimate (RFC 4656 §4.1.2): S=0, Z=0, Scale 20, Multiplier 3.
		binary.BigEndian.PutUint16(test[12:], 20<<8|3)

		inner := ipv4UDP(peer, refl, sport, 862, test)
		pkt := ipv4GRE(peer, refl, inner)
		if err := unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: refl.As4()}); err != nil {
			t.Fatal(err)
		}
		p, ok := capt.Wait(3*time.Second, func(p netlab.Packet) bool {
			r, ok := greInnerUDP(p.Data)
			return ok && r.sport == 862 && r.dport == sport && len(r.payload) >= 44 && binary.BigEndian.Uint32(r.payload[24:]) == seq
		})
		if !ok {
			t.Fatalf("probe %d (seq %d, %d octets): no reply from gw-b within 3 s; captured:\n%s", i, seq, size, capt)
		}
		r, _ := greInnerUDP(p.Data)
		rep := r.payload
		// Addresses and ports swapped, the same size, never larger.
		if r.src != refl || r.dst != peer {
			t.Errorf("reply %s → %s: want %s → %s", r.src, r.dst, refl, peer)
		}
		if len(rep) != size {
			t.Errorf("reply of %d octets to a probe of %d: RFC 8762 §4.3 wants the same size", len(rep), size)
		}
		// RFC 8762 §4.3.1.
		var (
			rSeq    = binary.BigEndian.Uint32(rep[0:])
			ts      = rep[4:12]
			errEst  = binary.BigEndian.Uint16(rep[12:])
			rxTS    = rep[16:24]
			sSeq    = binary.BigEndian.Uint32(rep[24:])
			sTS     = rep[28:36]
			sErrEst = binary.BigEndian.Uint16(rep[36:])
			sTTL    = rep[40]
		)
		if rSeq != seq {
			t.Errorf("reply sequence number %d: a stateless reflector (§4.3) echoes the probe's %d", rSeq, seq)
		}
		if sSeq != seq || string(sTS) != string(test[4:12]) || sErrEst != 20<<8|3 {
			t.Errorf("session-sender fields %d %x %#04x: want the probe's %d %x %#04x", sSeq, sTS, sErrEst, seq, test[4:12], 20<<8|3)
		}
		if errEst&0xff == 0 {
			t.Errorf("reflector error estimate %#04x has multiplier 0: RFC 4656 makes such a packet corrupt", errEst)
		}
		if sTTL != 64 {
			t.Errorf("session-sender TTL %d: want the probe's IPv4 TTL as received, 64", sTTL)
		}
		for _, f := range []struct {
			name string
			b    []byte
		}{{"MBZ after the error estimate", rep[14:16]}, {"MBZ after the sender's error estimate", rep[38:40]}, {"MBZ after the TTL", rep[41:44]}, {"padding", rep[44:]}} {
			for _, x := range f.b {
				if x != 0 {
					t.Errorf("%s is %x: must be zero", f.name, f.b)
					break
				}
			}
		}
		// Timestamps: T2 (receive) ≤ T3 (send), both near now on the
		// reflector's clock, in the format the Z bit of its error estimate says.
		ptp := errEst&(1<<14) != 0
		t2, t3 := stampTime(rxTS, ptp), stampTime(ts, ptp)
		if t3.Before(t2) {
			t.Errorf("reflector sent (%v) before it received (%v)", t3, t2)
		}
		if d := t2.Sub(sent); d < -2*time.Minute || d > 2*time.Minute {
			t.Errorf("receive timestamp %v (ptp %v) is %v from the sender's clock: not a timestamp of now", t2, ptp, d)
		}
		t.Logf("probe seq %d, %d octets: reply %d octets, T2 %v, T3−T2 %v, error estimate %#04x (Z=%v), sender TTL %d",
			seq, size, len(rep), t2.Format(time.RFC3339Nano), t3.Sub(t2), errEst, ptp, sTTL)
	}
}

// stampTime reads a STAMP timestamp: NTP (seconds since 1900, 2^-32 fraction)
// or, with Z set, PTPv2 truncated (seconds since 1970, nanoseconds).
func stampTime(b []byte, ptp bool) time.Time {
	sec, frac := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if ptp {
		return time.Unix(int64(sec), int64(frac))
	}
	return time.Unix(int64(sec)-2208988800, int64((uint64(frac)*1e9)>>32))
}

func csum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func ipv4(src, dst netip.Addr, proto byte, payload []byte) []byte {
	b := make([]byte, 20+len(payload))
	b[0], b[8], b[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[10:], csum(b[:20]))
	copy(b[20:], payload)
	return b
}

// ipv4UDP is an IPv4/UDP datagram (UDP checksum 0: none, legal over IPv4).
func ipv4UDP(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	return ipv4(src, dst, 17, u)
}

// ipv4GRE wraps inner in GRE (RFC 2784, no key) and IPv4.
func ipv4GRE(src, dst netip.Addr, inner []byte) []byte {
	g := make([]byte, 4+len(inner))
	binary.BigEndian.PutUint16(g[2:], 0x0800)
	copy(g[4:], inner)
	return ipv4(src, dst, 47, g)
}

type innerUDP struct {
	src, dst     netip.Addr
	sport, dport uint16
	payload      []byte
}

// greInnerUDP reads Ethernet/IPv4/GRE(no key)/IPv4/UDP.
func greInnerUDP(f []byte) (innerUDP, bool) {
	if len(f) < 14+20+4+20+8 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return innerUDP{}, false
	}
	ip := f[14:]
	ihl := int(ip[0]&0xf) * 4
	if ip[9] != 47 || len(ip) < ihl+4+28 {
		return innerUDP{}, false
	}
	g := ip[ihl:]
	if binary.BigEndian.Uint16(g[0:]) != 0 || binary.BigEndian.Uint16(g[2:]) != 0x0800 {
		return innerUDP{}, false
	}
	in := g[4:]
	il := int(in[0]&0xf) * 4
	if in[9] != 17 || len(in) < il+8 {
		return innerUDP{}, false
	}
	u := in[il:]
	ul := int(binary.BigEndian.Uint16(u[4:]))
	if ul < 8 || ul > len(u) {
		return innerUDP{}, false
	}
	return innerUDP{
		src: netip.AddrFrom4([4]byte(in[12:16])), dst: netip.AddrFrom4([4]byte(in[16:20])),
		sport: binary.BigEndian.Uint16(u[0:]), dport: binary.BigEndian.Uint16(u[2:]),
		payload: u[8:ul],
	}, true
}
