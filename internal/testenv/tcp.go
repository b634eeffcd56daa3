package testenv

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
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
