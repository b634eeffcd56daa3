package netlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

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
	if err := ns.alive("listen tcp"); err != nil {
		return nil, err
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
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialTCP(ctx, ns, laddr, raddr)
}

func dialTCP(ctx context.Context, ns *NS, laddr, raddr string) (net.Conn, error) {
	if err := ns.alive("dial tcp"); err != nil {
		return nil, err
	}
	var d net.Dialer
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
		c, err = d.DialContext(ctx, "tcp", raddr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s in %s: %w", raddr, ns, err)
	}
	return c, nil
}

// TCPOptions tune StartTCP and TransferTCP. The zero value sends as fast as
// TCP goes to the listener's own address.
type TCPOptions struct {
	// DialAddr is dialled instead of the listener's address, for paths that
	// translate the destination.
	DialAddr string
	// LocalAddr is the client's local address ("" picks one).
	LocalAddr string
	// Rate paces the sender to this many payload bytes per second (0: no
	// pacing), to keep a connection alive for a known time.
	Rate int64
}

// DefaultTCPTimeout bounds a transfer whose context has no deadline.
const DefaultTCPTimeout = 30 * time.Second

var transferSeed = [32]byte([]byte("linx-testenv tcp transfer seed!!"))

// TCPStream is one TCP transfer of deterministic pseudo-random data from a
// client in one namespace to a server in another, running in the background.
type TCPStream struct {
	src, dst *NS
	size     int64
	rate     int64
	ln       net.Listener
	client   net.Conn
	deadline time.Time
	stop     func() bool

	mu     sync.Mutex
	server net.Conn
	closed bool

	sent, received atomic.Int64
	done           chan struct{}
	err            error
}

type tcpResult struct {
	n   int64
	sum []byte
	err error
}

// StartTCP listens on listenAddr in dst (port 0 picks a free port), connects
// to it from src and starts sending size bytes. It returns once the
// connection is established; Wait reports whether exactly the sent bytes
// arrived (sha256 compared). Cancelling ctx aborts the transfer; ctx's
// deadline (DefaultTCPTimeout if none) bounds it.
func StartTCP(ctx context.Context, src, dst *NS, listenAddr string, size int64, opt TCPOptions) (*TCPStream, error) {
	if err := src.alive("tcp transfer"); err != nil {
		return nil, err
	}
	if err := dst.alive("tcp transfer"); err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("tcp transfer of %d bytes %s -> %s: %w", size, src, dst, err) }
	if size < 0 || opt.Rate < 0 {
		return nil, wrap(errors.New("negative size or rate"))
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTCPTimeout)
	}
	ln, err := ListenTCP(dst, listenAddr)
	if err != nil {
		return nil, wrap(err)
	}
	ln.(*net.TCPListener).SetDeadline(deadline)
	s := &TCPStream{src: src, dst: dst, size: size, rate: opt.Rate, ln: ln, deadline: deadline, done: make(chan struct{})}
	srvc := make(chan tcpResult, 1)
	go s.serve(srvc)

	dialAddr := opt.DialAddr
	if dialAddr == "" {
		dialAddr = ln.Addr().String()
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	c, err := dialTCP(dctx, src, opt.LocalAddr, dialAddr)
	cancel()
	if err != nil {
		s.abort()
		<-srvc
		return nil, wrap(err)
	}
	c.SetDeadline(deadline)
	s.client = c
	s.stop = context.AfterFunc(ctx, s.abort)
	go s.run(srvc)
	return s, nil
}

// abort closes every socket of the transfer, so both ends stop at once. The
// client resets its connection (SO_LINGER 0) rather than finishing sending
// what it has buffered.
func (s *TCPStream) abort() {
	s.mu.Lock()
	s.closed = true
	srv := s.server
	s.mu.Unlock()
	s.ln.Close()
	if srv != nil {
		srv.Close()
	}
	if c, ok := s.client.(*net.TCPConn); ok {
		c.SetLinger(0)
		c.Close()
	}
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func (s *TCPStream) serve(res chan<- tcpResult) {
	c, err := s.ln.Accept()
	s.ln.Close() // one connection only
	if err != nil {
		res <- tcpResult{err: fmt.Errorf("accept: %w", err)}
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		res <- tcpResult{err: errors.New("aborted")}
		return
	}
	s.server = c
	s.mu.Unlock()
	defer c.Close()
	c.SetDeadline(s.deadline)
	h := sha256.New()
	n, err := io.Copy(countWriter{h, &s.received}, c)
	if err != nil {
		err = fmt.Errorf("receive: %w", err)
	}
	res <- tcpResult{n: n, sum: h.Sum(nil), err: err}
}

// tcpChunk is the size of one write; pacing happens between writes.
const tcpChunk = 16 << 10

func (s *TCPStream) run(srvc <-chan tcpResult) {
	defer close(s.done)
	defer s.stop()
	want := sha256.New()
	gen := rand.NewChaCha8(transferSeed)
	buf := make([]byte, tcpChunk)
	start := time.Now()
	var sendErr error
	for sent := int64(0); sent < s.size; {
		n := int(min(int64(len(buf)), s.size-sent))
		gen.Read(buf[:n])
		want.Write(buf[:n])
		if _, err := s.client.Write(buf[:n]); err != nil {
			sendErr = fmt.Errorf("send: %w", err)
			break
		}
		sent += int64(n)
		s.sent.Store(sent)
		if s.rate > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(s.rate) * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
	}
	if sendErr == nil {
		if err := s.client.(*net.TCPConn).CloseWrite(); err != nil {
			sendErr = fmt.Errorf("close write: %w", err)
		}
	}
	if sendErr != nil {
		s.abort()
	}
	res := <-srvc
	s.client.Close()
	var err error
	switch {
	case sendErr != nil:
		err = fmt.Errorf("%w (sent %d, received %d bytes)", sendErr, s.sent.Load(), res.n)
	case res.err != nil:
		err = fmt.Errorf("%w (received %d bytes)", res.err, res.n)
	case res.n != s.size:
		err = fmt.Errorf("received %d bytes, sent %d", res.n, s.size)
	case !bytes.Equal(res.sum, want.Sum(nil)):
		err = errors.New("received data differs from sent data (sha256 mismatch)")
	}
	if err != nil {
		s.err = fmt.Errorf("tcp transfer of %d bytes %s -> %s: %w", s.size, s.src, s.dst, err)
	}
}

// Local is the client's address, Remote the server's as the client dialled
// it: with the protocol, the connection's 5-tuple.
func (s *TCPStream) Local() netip.AddrPort { return s.client.LocalAddr().(*net.TCPAddr).AddrPort() }

// Remote is the address the client is connected to.
func (s *TCPStream) Remote() netip.AddrPort { return s.client.RemoteAddr().(*net.TCPAddr).AddrPort() }

// Sent is how many payload bytes the client has written so far.
func (s *TCPStream) Sent() int64 { return s.sent.Load() }

// Received is how many payload bytes the server has read so far.
func (s *TCPStream) Received() int64 { return s.received.Load() }

// Size is the number of bytes the transfer sends in total.
func (s *TCPStream) Size() int64 { return s.size }

// Done is closed when the transfer has finished, successfully or not.
func (s *TCPStream) Done() <-chan struct{} { return s.done }

// Wait waits for the transfer to finish and returns nil only if exactly the
// bytes sent arrived, in order.
func (s *TCPStream) Wait() error {
	<-s.done
	return s.err
}

// Abort stops the transfer; Wait then returns an error.
func (s *TCPStream) Abort() { s.abort() }

// TransferTCP sends size bytes from src to a listener on listenAddr in dst
// and returns an error unless exactly those bytes arrived (sha256 compared).
// It returns errors rather than failing anything, so callers can also
// assert that a transfer does not work.
func TransferTCP(ctx context.Context, src, dst *NS, listenAddr string, size int64, opt TCPOptions) error {
	s, err := StartTCP(ctx, src, dst, listenAddr, size, opt)
	if err != nil {
		return err
	}
	return s.Wait()
}
