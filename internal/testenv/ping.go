package testenv

import (
	"net/netip"
	"time"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// Ping sends count ICMP echo requests from ns to dst and returns how many
// distinct replies came back within timeout; err reports only failures to
// ping at all (see netlab.Ping).
func Ping(ns *NS, dst netip.Addr, count int, timeout time.Duration) (received int, err error) {
	return netlab.Ping(ns, dst, count, timeout)
}
