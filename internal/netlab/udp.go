package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ListenUDP binds addr (IP literal or empty host) inside ns.
func ListenUDP(ns *NS, addr string) (*net.UDPConn, error) {
	if err := ns.alive("listen udp"); err != nil {
		return nil, err
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
	if err := ns.alive("dial udp"); err != nil {
		return nil, err
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

// SetTOS sets the IPv4 TOS byte (DSCP << 2 | ECN) of packets sent on c.
func SetTOS(c syscall.Conn, tos uint8) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("set tos: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, int(tos))
	}); err != nil {
		return fmt.Errorf("set tos: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("set tos %#x: %w", tos, serr)
	}
	return nil
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

// UDPOptions shape the datagrams of SendUDPWith.
type UDPOptions struct {
	// Size of each datagram's payload; at least 16 (the tag) is sent.
	Size int
	// Gap is slept between datagrams (0: as fast as the socket allows,
	// which may overrun veth rings).
	Gap time.Duration
	// TOS is the IPv4 TOS byte: DSCP << 2 | ECN (0: the default, best effort).
	TOS uint8
	// Burst is how many datagrams are sent back to back before each Gap (0 or
	// 1: one). Sleeps last longer than asked (often a millisecond for 100µs),
	// so a steady rate of thousands per second needs bursts.
	Burst int
}

// SendUDP sends count tagged datagrams of size bytes (at least 16) from
// laddr in ns to raddr, sleeping gap between them (0: as fast as the socket
// allows, which may overrun veth rings). It returns the flow's id for
// UDPSink.Received.
func SendUDP(ns *NS, laddr, raddr string, count, size int, gap time.Duration) (FlowID, error) {
	return SendUDPWith(ns, laddr, raddr, count, UDPOptions{Size: size, Gap: gap})
}

// SendUDPWith is SendUDP with every option, the TOS byte included.
func SendUDPWith(ns *NS, laddr, raddr string, count int, o UDPOptions) (FlowID, error) {
	size := max(o.Size, udpHeader)
	c, err := DialUDPFrom(ns, laddr, raddr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if o.TOS != 0 {
		if err := SetTOS(c, o.TOS); err != nil {
			return 0, fmt.Errorf("send udp %s -> %s in %s: %w", laddr, raddr, ns, err)
		}
	}
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
		if o.Gap > 0 && (o.Burst <= 1 || (seq+1)%uint32(o.Burst) == 0) {
			time.Sleep(o.Gap)
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

// sinkRcvBuf is forced (SO_RCVBUFFORCE ignores rmem_max) so bursts are not
// dropped by the receiving socket itself.
const sinkRcvBuf = 4 << 20

// NewUDPSink starts a UDPSink on addr in ns. Close it when done.
func NewUDPSink(ns *NS, addr string) (*UDPSink, error) {
	c, err := ListenUDP(ns, addr)
	if err != nil {
		return nil, err
	}
	if rc, err := c.SyscallConn(); err == nil {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sinkRcvBuf)
			if errors.Is(serr, unix.EPERM) { // no CAP_NET_ADMIN: take what rmem_max allows
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, sinkRcvBuf)
			}
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

// ReceivedAll is the number of distinct datagrams of all the given flows
// that arrived intact.
func (s *UDPSink) ReceivedAll(flows []FlowID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range flows {
		n += len(s.flows[f])
	}
	return n
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
	return s.WaitReceivedAll([]FlowID{flow}, n, timeout)
}

// WaitReceivedAll polls until n datagrams of the given flows together
// arrived or timeout passes, and returns the count reached.
func (s *UDPSink) WaitReceivedAll(flows []FlowID, n int, timeout time.Duration) int {
	end := time.Now().Add(timeout)
	for {
		got := s.ReceivedAll(flows)
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

// UDPFlowWait is how long UDPFlow waits for stragglers.
const UDPFlowWait = 2 * time.Second

// UDPFlow sends count datagrams from laddr in srcNS to raddr, received by a
// temporary socket bound to raddr in dstNS, and returns how many distinct
// datagrams arrived. err is set on setup failures and also when datagrams
// arrived corrupted or duplicated (received still counts the good ones).
// Datagrams are paced at 50µs so veth rings are not overrun.
func UDPFlow(srcNS *NS, laddr string, dstNS *NS, raddr string, count int) (received int, err error) {
	sink, err := NewUDPSink(dstNS, raddr)
	if err != nil {
		return 0, err
	}
	defer sink.Close()
	flow, err := SendUDP(srcNS, laddr, raddr, count, 64, 50*time.Microsecond)
	if err != nil {
		return 0, err
	}
	received = sink.WaitReceived(flow, count, UDPFlowWait)
	if d, c := sink.Duplicates(flow), sink.Corrupt(); d > 0 || c > 0 {
		return received, fmt.Errorf("udp flow %s -> %s: %d duplicate and %d corrupt datagrams", laddr, raddr, d, c)
	}
	return received, nil
}
