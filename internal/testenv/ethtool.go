package testenv

import (
	"testing"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// Offload names one legacy ethtool on/off feature.
type Offload = netlab.Offload

// Offloads the tests care about. Turning TX checksum off also turns off
// TSO, which depends on it.
var (
	OffloadTXChecksum = netlab.OffloadTXChecksum
	OffloadTSO        = netlab.OffloadTSO
	OffloadGSO        = netlab.OffloadGSO
	OffloadGRO        = netlab.OffloadGRO
)

// GetOffload reports whether offload o is enabled on ifname in ns.
func GetOffload(ns *NS, ifname string, o Offload) (bool, error) {
	return netlab.GetOffload(ns, ifname, o)
}

// SetOffload switches offload o on ifname in ns and checks the kernel
// actually applied it (it silently keeps fixed features).
func SetOffload(tb testing.TB, ns *NS, ifname string, o Offload, on bool) {
	tb.Helper()
	check(tb, netlab.SetOffload(ns, ifname, o, on))
}

// DisableTXChecksum turns off TX checksum offload on ifname in ns. Veth
// otherwise hands out CHECKSUM_PARTIAL packets whose checksum is never
// completed once XDP has encapsulated them, so the receiver drops them.
func DisableTXChecksum(tb testing.TB, ns *NS, ifname string) {
	tb.Helper()
	check(tb, netlab.DisableTXChecksum(ns, ifname))
}

// SetGRO switches GRO on ifname in ns. A veth end only receives frames
// XDP_REDIRECTed into its peer when it runs NAPI, i.e. when it has an XDP
// program or GRO on; so turn GRO on at the receiving end.
func SetGRO(tb testing.TB, ns *NS, ifname string, on bool) {
	tb.Helper()
	check(tb, netlab.SetGRO(ns, ifname, on))
}
