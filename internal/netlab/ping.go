package netlab

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// pingGap is how long Ping waits for one reply before sending the next
// echo; replies arriving later still count until the overall timeout.
const pingGap = 200 * time.Millisecond

var pingPayload = []byte("linx-testenv ping payload")

// Ping sends count ICMP echo requests (distinct sequence numbers) from ns
// to dst over a raw socket and returns how many distinct replies came back
// from dst within timeout (which bounds the whole call). err reports only
// failures to ping at all (socket, no route); loss shows in received.
// IPv6 destinations use ICMPv6; link-local ones need a zone.
func Ping(ns *NS, dst netip.Addr, count int, timeout time.Duration) (received int, err error) {
	if ns == nil {
		return 0, errors.New("ping: nil namespace")
	}
	if count < 0 || count > 1<<16 {
		return 0, fmt.Errorf("ping %s: count %d out of range", dst, count)
	}
	dst = dst.Unmap()
	network, listen, proto := "ip4:icmp", "0.0.0.0", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, listen, proto = "ip6:ipv6-icmp", "::", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var c *icmp.PacketConn
	err = ns.Do(func() (err error) {
		c, err = icmp.ListenPacket(network, listen)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ping %s from %s: open raw socket: %w", dst, ns, err)
	}
	defer c.Close()

	id := rand.N(1 << 16) // raw sockets keep our ID, so it tells concurrent pings apart
	peer := &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	got := make(map[int]bool, count)
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 2048)

	// readUntil collects replies until seq want (or all, if want < 0) has
	// arrived or until passes.
	readUntil := func(until time.Time, want int) error {
		for len(got) < count && (want < 0 || !got[want]) && time.Now().Before(until) {
			c.SetReadDeadline(until)
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return nil
				}
				return fmt.Errorf("read: %w", err)
			}
			ipa, ok := from.(*net.IPAddr)
			if !ok {
				continue
			}
			src, ok := netip.AddrFromSlice(ipa.IP)
			if !ok || src.Unmap() != dst.WithZone("") {
				continue
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != replyType {
				continue
			}
			echo, ok := m.Body.(*icmp.Echo)
			if !ok || echo.ID != id || echo.Seq < 0 || echo.Seq >= count || !bytes.Equal(echo.Data, pingPayload) {
				continue
			}
			got[echo.Seq] = true
		}
		return nil
	}

	for seq := 0; seq < count && time.Now().Before(deadline); seq++ {
		msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: pingPayload}}
		b, err := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
		if err != nil {
			return len(got), fmt.Errorf("ping %s from %s: marshal: %w", dst, ns, err)
		}
		if _, err := c.WriteTo(b, peer); err != nil {
			return len(got), fmt.Errorf("ping %s from %s: send seq %d: %w", dst, ns, seq, err)
		}
		until := time.Now().Add(pingGap)
		if until.After(deadline) {
			until = deadline
		}
		if err := readUntil(until, seq); err != nil {
			return len(got), fmt.Errorf("ping %s from %s: %w", dst, ns, err)
		}
	}
	if err := readUntil(deadline, -1); err != nil {
		return len(got), fmt.Errorf("ping %s from %s: %w", dst, ns, err)
	}
	return len(got), nil
}
