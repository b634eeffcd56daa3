package testenv

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// ListenTCP listens on addr ("10.1.0.1:8080", ":0", ...) inside ns. The
// listener (and accepted connections) may be used from any goroutine.
func ListenTCP(ns *NS, addr string) (net.Listener, error) { return netlab.ListenTCP(ns, addr) }

// DialTCP connects from ns to addr (an IP literal with port).
func DialTCP(ns *NS, addr string, timeout time.Duration) (net.Conn, error) {
	return netlab.DialTCP(ns, addr, timeout)
}

// DialTCPFrom is DialTCP with an explicit local address ("10.1.0.2:40000";
// "" picks one), so callers can create distinct 5-tuples.
func DialTCPFrom(ns *NS, laddr, raddr string, timeout time.Duration) (net.Conn, error) {
	return netlab.DialTCPFrom(ns, laddr, raddr, timeout)
}

// transferTimeout bounds TransferTCP (further capped by the test deadline).
const transferTimeout = 30 * time.Second

// Context returns a context cancelled when the test ends and with a
// deadline of at most d from now, earlier if the test binary's deadline
// (-timeout) comes first, leaving time to report the error.
func Context(tb testing.TB, d time.Duration) context.Context {
	end := time.Now().Add(d)
	if t, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if td, ok := t.Deadline(); ok && td.Add(-5*time.Second).Before(end) {
			end = td.Add(-5 * time.Second)
		}
	}
	ctx, cancel := context.WithDeadline(tb.Context(), end)
	tb.Cleanup(cancel)
	return ctx
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
func TransferTCPVia(tb testing.TB, srcNS, dstNS *NS, listenAddr, dialAddr string, size int) error {
	tb.Helper()
	return netlab.TransferTCP(Context(tb, transferTimeout), srcNS, dstNS, listenAddr, int64(size),
		netlab.TCPOptions{DialAddr: dialAddr})
}

// StartTCP starts a background transfer of size bytes from srcNS to a
// listener on listenAddr in dstNS (see netlab.StartTCP), bounded by the
// test's deadline and aborted when the test ends. Check it with Wait.
func StartTCP(tb testing.TB, srcNS, dstNS *NS, listenAddr string, size int64, opt netlab.TCPOptions) *netlab.TCPStream {
	tb.Helper()
	ctx := Context(tb, transferTimeout)
	s, err := netlab.StartTCP(ctx, srcNS, dstNS, listenAddr, size, opt)
	check(tb, err)
	tb.Cleanup(func() {
		s.Abort()
		<-s.Done()
	})
	return s
}
