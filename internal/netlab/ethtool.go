package netlab

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offload names one legacy ethtool on/off feature with its get/set ioctl
// sub-commands (linux/ethtool.h).
type Offload struct {
	Name     string
	Get, Set uint32
}

// Offloads that matter for XDP topologies. Turning TX checksum off also
// turns off TSO, which depends on it.
var (
	OffloadTXChecksum = Offload{"tx-checksum", 0x16, 0x17} // ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM
	OffloadTSO        = Offload{"tso", 0x1e, 0x1f}         // ETHTOOL_GTSO, ETHTOOL_STSO
	OffloadGSO        = Offload{"gso", 0x23, 0x24}         // ETHTOOL_GGSO, ETHTOOL_SGSO
	OffloadGRO        = Offload{"gro", 0x2b, 0x2c}         // ETHTOOL_GGRO, ETHTOOL_SGRO
)

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	Cmd  uint32
	Data uint32
}

// ifreqData is struct ifreq with ifr_data. The pointer is kept as
// unsafe.Pointer (not uintptr) so the GC keeps the ethtoolValue alive.
// Trailing padding makes it at least sizeof(struct ifreq) (40 on 64-bit).
type ifreqData struct {
	Name [unix.IFNAMSIZ]byte
	Data unsafe.Pointer
	_    [16]byte
}

// ethtool issues one SIOCETHTOOL ioctl on a socket created inside ns: the
// ioctl resolves ifname in the socket's namespace.
func ethtool(ns *NS, ifname string, cmd, data uint32) (uint32, error) {
	if err := ns.alive("ethtool " + ifname); err != nil {
		return 0, err
	}
	if len(ifname) >= unix.IFNAMSIZ {
		return 0, fmt.Errorf("ethtool: interface name %q too long", ifname)
	}
	ev := &ethtoolValue{Cmd: cmd, Data: data}
	ifr := &ifreqData{Data: unsafe.Pointer(ev)}
	copy(ifr.Name[:], ifname)
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		defer unix.Close(fd)
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr)))
		if errno != 0 {
			return errno
		}
		return nil
	})
	runtime.KeepAlive(ifr)
	runtime.KeepAlive(ev)
	if err != nil {
		return 0, fmt.Errorf("ethtool cmd %#x on %s in %s: %w", cmd, ifname, ns, err)
	}
	return ev.Data, nil
}

// GetOffload reports whether offload o is enabled on ifname in ns.
func GetOffload(ns *NS, ifname string, o Offload) (bool, error) {
	v, err := ethtool(ns, ifname, o.Get, 0)
	if err != nil {
		return false, fmt.Errorf("get %s: %w", o.Name, err)
	}
	return v != 0, nil
}

// SetOffload switches offload o on ifname in ns and checks the kernel
// actually applied it (it silently keeps fixed features).
func SetOffload(ns *NS, ifname string, o Offload, on bool) error {
	var v uint32
	if on {
		v = 1
	}
	if _, err := ethtool(ns, ifname, o.Set, v); err != nil {
		return fmt.Errorf("set %s=%v: %w", o.Name, on, err)
	}
	got, err := GetOffload(ns, ifname, o)
	if err != nil {
		return fmt.Errorf("set %s=%v: read back: %w", o.Name, on, err)
	}
	if got != on {
		return fmt.Errorf("set %s=%v on %s in %s: kernel kept it %v", o.Name, on, ifname, ns, got)
	}
	return nil
}

// DisableTXChecksum turns off TX checksum offload on ifname in ns. Veth
// otherwise hands out CHECKSUM_PARTIAL packets whose checksum is never
// completed once XDP has encapsulated them, so the receiver drops them.
func DisableTXChecksum(ns *NS, ifname string) error {
	return SetOffload(ns, ifname, OffloadTXChecksum, false)
}

// SetGRO switches GRO on ifname in ns. A veth end only receives frames
// XDP_REDIRECTed into its peer when it runs NAPI, i.e. when it has an XDP
// program or GRO on; so turn GRO on at the receiving end.
func SetGRO(ns *NS, ifname string, on bool) error {
	return SetOffload(ns, ifname, OffloadGRO, on)
}
