package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
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

// checkLiteral insists on an IP literal (or empty host) so no name
// resolution happens: lookups would run on other goroutines, outside the
// namespace, and might send traffic off the machine.
func checkLiteral(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%q: host must be an IP literal: %w", addr, err)
	}
	return nil
}

// ListenTCP listens on addr ("10.1.0.1:8080", ":0", ...) inside ns. The
// listener (and accepted connections) may be used from any goroutine.
func ListenTCP(ns *NS, addr string) (net.Listener, error) {
	if ns == nil {
		return nil, errors.New("listen tcp: nil namespace")
	}
	if err := checkLiteral(addr); err != nil {
		return nil, fmt.Errorf("listen tcp %s in %s: %w", addr, ns, err)
	}
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s in %s: %w", addr, ns, err)
	}
	return ln, nil
}

// DialTCP connects from ns to addr (an IP literal with port).
func DialTCP(ns *NS, addr string, timeout time.Duration) (net.Conn, error) {
	return DialTCPFrom(ns, "", addr, timeout)
}

// DialTCPFrom is DialTCP with an explicit local address ("10.1.0.2:40000";
// "" picks one), so callers can create distinct 5-tuples.
func DialTCPFrom(ns *NS, laddr, raddr string, timeout time.Duration) (net.Conn, error) {
	if ns == nil {
		return nil, errors.New("dial tcp: nil namespace")
	}
	d := net.Dialer{Timeout: timeout}
	if laddr != "" {
		la, err := netip.ParseAddrPort(laddr)
		if err != nil {
			return nil, fmt.Errorf("dial tcp %s from %s in %s: %w", raddr, laddr, ns, err)
		}
		d.LocalAddr = net.TCPAddrFromAddrPort(la)
	}
	if _, err := netip.ParseAddrPort(raddr); err != nil {
		return nil, fmt.Errorf("dial tcp %s in %s: need ip:port: %w", raddr, ns, err)
	}
	var c net.Conn
	// A single literal address is dialled on this goroutine, so the socket
	// is created on the thread that is inside ns.
	err := ns.Do(func() (err error) {
		c, err = d.Dial("tcp", raddr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s in %s: %w", raddr, ns, err)
	}
	return c, nil
}

// transferTimeout bounds TransferTCP (further capped by the test deadline).
const transferTimeout = 30 * time.Second

var transferSeed = [32]byte([]byte("linx-testenv tcp transfer seed!!"))

func testDeadline(tb testing.TB, d time.Duration) time.Time {
	end := time.Now().Add(d)
	if t, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		// Leave time to report the error before the test binary panics.
		if td, ok := t.Deadline(); ok && td.Add(-5*time.Second).Before(end) {
			end = td.Add(-5 * time.Second)
		}
	}
	return end
}

// TransferTCP listens on listenAddr in dstNS, connects to it from srcNS,
// sends size bytes of deterministic pseudo-random data and returns an error
// unless exactly those bytes arrived (sha256 compared). A listen port of 0
// picks a free port. It returns errors rather than failing tb so callers
// can also assert that a transfer does not work.
func TransferTCP(tb testing.TB, srcNS, dstNS *NS, listenAddr string, size int) error {
	tb.Helper()
	return TransferTCPVia(tb, srcNS, dstNS, listenAddr, "", size)
}

// TransferTCPVia is TransferTCP where the client dials dialAddr instead of
// the listener's own address, for paths that translate the destination.
func TransferTCPVia(tb testing.TB, srcNS, dstNS *NS, listenAddr, dialAddr string, size int) (err error) {
	tb.Helper()
	if srcNS == nil || dstNS == nil {
		return errors.New("tcp transfer: nil namespace")
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("tcp transfer of %d bytes %s -> %s: %w", size, srcNS, dstNS, err)
		}
	}()
	deadline := testDeadline(tb, transferTimeout)

	ln, err := ListenTCP(dstNS, listenAddr)
	if err != nil {
		return err
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(deadline)
	if dialAddr == "" {
		dialAddr = ln.Addr().String()
	}

	type result struct {
		n   int64
		sum []byte
		err error
	}
	resc := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			resc <- result{err: fmt.Errorf("accept: %w", err)}
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil {
			err = fmt.Errorf("receive: %w", err)
		}
		resc <- result{n: n, sum: h.Sum(nil), err: err}
	}()

	c, err := DialTCP(srcNS, dialAddr, time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	want := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(c, want), rand.NewChaCha8(transferSeed), int64(size)); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("close write: %w", err)
	}
	res := <-resc
	if res.err != nil {
		return fmt.Errorf("%w (received %d bytes)", res.err, res.n)
	}
	if res.n != int64(size) {
		return fmt.Errorf("received %d bytes, sent %d", res.n, size)
	}
	if !bytes.Equal(res.sum, want.Sum(nil)) {
		return errors.New("received data differs from sent data (sha256 mismatch)")
	}
	return nil
}

// ListenUDP binds addr (IP literal or empty host) inside ns.
func ListenUDP(ns *NS, addr string) (*net.UDPConn, error) {
	if ns == nil {
		return nil, errors.New("listen udp: nil namespace")
	}
	if err := checkLiteral(addr); err != nil {
		return nil, fmt.Errorf("listen udp %s in %s: %w", addr, ns, err)
	}
	ua, err := net.ResolveUDPAddr("udp", addr) // literal: no lookup
	if err != nil {
		return nil, fmt.Errorf("listen udp %s in %s: %w", addr, ns, err)
	}
	var c *net.UDPConn
	err = ns.Do(func() (err error) {
		c, err = net.ListenUDP("udp", ua)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen udp %s in %s: %w", addr, ns, err)
	}
	return c, nil
}

// DialUDPFrom opens a connected UDP socket in ns from laddr ("" or port 0
// for an ephemeral one) to raddr; a fixed source port gives a predictable
// 5-tuple, so callers can create distinct flows.
func DialUDPFrom(ns *NS, laddr, raddr string) (*net.UDPConn, error) {
	if ns == nil {
		return nil, errors.New("dial udp: nil namespace")
	}
	var la *net.UDPAddr
	if laddr != "" {
		ap, err := netip.ParseAddrPort(laddr)
		if err != nil {
			return nil, fmt.Errorf("dial udp %s from %s in %s: %w", raddr, laddr, ns, err)
		}
		la = net.UDPAddrFromAddrPort(ap)
	}
	rap, err := netip.ParseAddrPort(raddr)
	if err != nil {
		return nil, fmt.Errorf("dial udp %s in %s: need ip:port: %w", raddr, ns, err)
	}
	var c *net.UDPConn
	err = ns.Do(func() (err error) {
		c, err = net.DialUDP("udp", la, net.UDPAddrFromAddrPort(rap))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial udp %s from %q in %s: %w", raddr, laddr, ns, err)
	}
	return c, nil
}

// FlowID tags the datagrams of one SendUDP call, so a UDPSink can count
// flows even when the path rewrites addresses or ports.
type FlowID uint64

// Datagram layout: magic, flow id, seq, then a pattern derived from both,
// which lets the sink detect corruption.
const (
	udpMagic  = "LXU1"
	udpHeader = 4 + 8 + 4
)

func udpPattern(flow FlowID, seq uint32, i int) byte {
	return byte(uint64(flow)>>(8*(i%8))) ^ byte(seq) ^ byte(i*7)
}

// SendUDP sends count tagged datagrams of size bytes (at least 16) from
// laddr in ns to raddr, sleeping gap between them (0: as fast as the socket
// allows, which may overrun veth rings). It returns the flow's id for
// UDPSink.Received.
func SendUDP(ns *NS, laddr, raddr string, count, size int, gap time.Duration) (FlowID, error) {
	size = max(size, udpHeader)
	c, err := DialUDPFrom(ns, laddr, raddr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	flow := FlowID(rand.Uint64())
	b := make([]byte, size)
	copy(b, udpMagic)
	binary.BigEndian.PutUint64(b[4:], uint64(flow))
	for seq := range uint32(count) {
		binary.BigEndian.PutUint32(b[12:], seq)
		for i := udpHeader; i < size; i++ {
			b[i] = udpPattern(flow, seq, i)
		}
		if _, err := c.Write(b); err != nil {
			return flow, fmt.Errorf("send udp %s -> %s in %s, datagram %d: %w", laddr, raddr, ns, seq, err)
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	return flow, nil
}

// UDPSink receives on one UDP socket in the background and counts what
// arrives, per flow and per source address.
type UDPSink struct {
	conn *net.UDPConn
	done chan struct{}

	mu      sync.Mutex
	flows   map[FlowID]map[uint32]int // seq -> copies
	bySrc   map[netip.AddrPort]int
	total   int
	corrupt int
}

// sinkRcvBuf is forced (SO_RCVBUFFORCE ignores rmem_max) so bursts are
// not dropped by the receiving socket itself.
const sinkRcvBuf = 4 << 20

// NewUDPSink starts a UDPSink on addr in ns; tb.Cleanup closes it.
func NewUDPSink(tb testing.TB, ns *NS, addr string) *UDPSink {
	tb.Helper()
	s, err := newUDPSink(ns, addr)
	if err != nil {
		tb.Fatalf("udp sink: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func newUDPSink(ns *NS, addr string) (*UDPSink, error) {
	c, err := ListenUDP(ns, addr)
	if err != nil {
		return nil, err
	}
	if rc, err := c.SyscallConn(); err == nil {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sinkRcvBuf)
		})
		if serr != nil {
			c.Close()
			return nil, fmt.Errorf("udp sink %s in %s: SO_RCVBUFFORCE: %w", addr, ns, serr)
		}
	}
	s := &UDPSink{
		conn:  c,
		done:  make(chan struct{}),
		flows: make(map[FlowID]map[uint32]int),
		bySrc: make(map[netip.AddrPort]int),
	}
	go s.loop()
	return s, nil
}

func (s *UDPSink) loop() {
	defer close(s.done)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) && errno.Temporary() {
				continue
			}
			return // closed
		}
		s.record(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), buf[:n])
	}
}

func (s *UDPSink) record(from netip.AddrPort, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.bySrc[from]++
	if len(b) < udpHeader || string(b[:4]) != udpMagic {
		return // not ours; counted in Total and BySource only
	}
	flow := FlowID(binary.BigEndian.Uint64(b[4:]))
	seq := binary.BigEndian.Uint32(b[12:])
	for i := udpHeader; i < len(b); i++ {
		if b[i] != udpPattern(flow, seq, i) {
			s.corrupt++
			return
		}
	}
	m := s.flows[flow]
	if m == nil {
		m = make(map[uint32]int)
		s.flows[flow] = m
	}
	m[seq]++
}

// Addr is the sink's bound address.
func (s *UDPSink) Addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Received is the number of distinct datagrams of flow that arrived intact.
func (s *UDPSink) Received(flow FlowID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.flows[flow])
}

// Duplicates is how many extra copies of flow's datagrams arrived.
func (s *UDPSink) Duplicates(flow FlowID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := 0
	for _, n := range s.flows[flow] {
		d += n - 1
	}
	return d
}

// Total counts every datagram received, tagged or not.
func (s *UDPSink) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Corrupt counts tagged datagrams whose payload did not match.
func (s *UDPSink) Corrupt() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.corrupt
}

// BySource returns datagram counts keyed by source address as seen by the
// receiver (after any translation on the path).
func (s *UDPSink) BySource() map[netip.AddrPort]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[netip.AddrPort]int, len(s.bySrc))
	for k, v := range s.bySrc {
		m[k] = v
	}
	return m
}

// WaitReceived polls until n datagrams of flow arrived or timeout passes,
// and returns the count reached.
func (s *UDPSink) WaitReceived(flow FlowID, n int, timeout time.Duration) int {
	end := time.Now().Add(timeout)
	for {
		got := s.Received(flow)
		if got >= n || !time.Now().Before(end) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close stops the sink and waits for its reader to exit. Idempotent.
func (s *UDPSink) Close() {
	s.conn.Close()
	<-s.done
}

// udpFlowWait is how long UDPFlow waits for stragglers.
const udpFlowWait = 2 * time.Second

// UDPFlow sends count datagrams from laddr in srcNS to raddr, received by a
// temporary socket bound to raddr in dstNS, and returns how many distinct
// datagrams arrived. err is set on setup failures and also when datagrams
// arrived corrupted or duplicated (received still counts the good ones).
// Datagrams are paced at 50µs so veth rings are not overrun.
func UDPFlow(tb testing.TB, srcNS *NS, laddr string, dstNS *NS, raddr string, count int) (received int, err error) {
	tb.Helper()
	sink, err := newUDPSink(dstNS, raddr)
	if err != nil {
		return 0, err
	}
	defer sink.Close()
	flow, err := SendUDP(srcNS, laddr, raddr, count, 64, 50*time.Microsecond)
	if err != nil {
		return 0, err
	}
	received = sink.WaitReceived(flow, count, udpFlowWait)
	if d, c := sink.Duplicates(flow), sink.Corrupt(); d > 0 || c > 0 {
		return received, fmt.Errorf("udp flow %s -> %s: %d duplicate and %d corrupt datagrams", laddr, raddr, d, c)
	}
	return received, nil
}
