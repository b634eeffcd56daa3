package testenv

import (
	"testing"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// Packet is one frame seen by a Capture.
type Packet = netlab.Packet

// Capture records every frame crossing one interface (see netlab.Capture).
type Capture = netlab.Capture

// NewCapture starts capturing on ifname in ns; tb.Cleanup stops it.
func NewCapture(tb testing.TB, ns *NS, ifname string) *Capture {
	tb.Helper()
	c, err := netlab.NewCapture(ns, ifname)
	check(tb, err)
	tb.Cleanup(c.Close)
	return c
}
