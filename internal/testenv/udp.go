package testenv

import (
	"net"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// FlowID tags the datagrams of one SendUDP call.
type FlowID = netlab.FlowID

// UDPSink receives on one UDP socket in the background and counts what
// arrives, per flow and per source address.
type UDPSink = netlab.UDPSink

// ListenUDP binds addr (IP literal or empty host) inside ns.
func ListenUDP(ns *NS, addr string) (*net.UDPConn, error) { return netlab.ListenUDP(ns, addr) }

// DialUDPFrom opens a connected UDP socket in ns from laddr ("" or port 0
// for an ephemeral one) to raddr.
func DialUDPFrom(ns *NS, laddr, raddr string) (*net.UDPConn, error) {
	return netlab.DialUDPFrom(ns, laddr, raddr)
}

// SendUDP sends count tagged datagrams of size bytes (at least 16) from
// laddr in ns to raddr, sleeping gap between them (0: as fast as the socket
// allows, which may overrun veth rings). It returns the flow's id for
// UDPSink.Received.
func SendUDP(ns *NS, laddr, raddr string, count, size int, gap time.Duration) (FlowID, error) {
	return netlab.SendUDP(ns, laddr, raddr, count, size, gap)
}

// SendUDPWith is SendUDP with every option, the TOS byte (DSCP) included.
func SendUDPWith(ns *NS, laddr, raddr string, count int, o netlab.UDPOptions) (FlowID, error) {
	return netlab.SendUDPWith(ns, laddr, raddr, count, o)
}

// NewUDPSink starts a UDPSink on addr in ns; tb.Cleanup closes it.
func NewUDPSink(tb testing.TB, ns *NS, addr string) *UDPSink {
	tb.Helper()
	s, err := netlab.NewUDPSink(ns, addr)
	if err != nil {
		tb.Fatalf("udp sink: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// UDPFlow sends count datagrams from laddr in srcNS to raddr, received by a
// temporary socket bound to raddr in dstNS, and returns how many distinct
// datagrams arrived. err is set on setup failures and also when datagrams
// arrived corrupted or duplicated (received still counts the good ones).
func UDPFlow(tb testing.TB, srcNS *NS, laddr string, dstNS *NS, raddr string, count int) (received int, err error) {
	tb.Helper()
	return netlab.UDPFlow(srcNS, laddr, dstNS, raddr, count)
}
