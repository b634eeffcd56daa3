package xdp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// IFLA_XDP_ATTACHED values (uapi if_link.h XDP_ATTACHED_*).
const (
	xdpAttachedDriver  = 1
	xdpAttachedGeneric = 2
)

// xdpAttached reports the XDP program attached to ifname in the rig's namespace.
func xdpAttached(t *testing.T, r *rig, ifname string) *netlink.LinkXdp {
	t.Helper()
	return testenv.Link(t, r.ns, ifname).Attrs().Xdp
}

func TestAttachDetach(t *testing.T) {
	r := newRig(t)
	if x := xdpAttached(t, r, "wan1"); x == nil || !x.Attached || x.AttachMode != xdpAttachedDriver {
		t.Fatalf("wan1 XDP %+v, want native attach", x)
	}
	if got := len(r.dp.Ports()); got != 3 {
		t.Fatalf("%d ports", got)
	}
	err := r.ns.Do(func() error {
		if err := r.dp.Attach("wan1", 9, dataplane.RoleWAN, dataplane.XDPNative); !errors.Is(err, dataplane.ErrExists) {
			t.Errorf("attaching an attached interface: %v, want ErrExists", err)
		}
		if err := r.dp.Attach("wan1p", portWAN1, dataplane.RoleWAN, dataplane.XDPNative); !errors.Is(err, dataplane.ErrExists) {
			t.Errorf("reusing a port id: %v, want ErrExists", err)
		}
		if err := r.dp.Attach("nosuch0", 9, dataplane.RoleWAN, dataplane.XDPNative); err == nil {
			t.Error("attaching a missing interface succeeded")
		}
		if err := r.dp.Attach("wan1p", 0, dataplane.RoleWAN, dataplane.XDPNative); !errors.Is(err, dataplane.ErrInvalid) {
			t.Errorf("port 0: %v, want ErrInvalid", err)
		}
		if err := r.dp.Attach("wan1p", 100, dataplane.RoleWAN, dataplane.XDPNative); !errors.Is(err, dataplane.ErrInvalid) {
			t.Errorf("port beyond MaxPorts: %v, want ErrInvalid", err)
		}
		if err := r.dp.Attach("wan1p", 9, dataplane.RoleWAN, dataplane.XDPGeneric); err != nil {
			return err
		}
		return nil
	})
	must(t, err)
	if x := xdpAttached(t, r, "wan1p"); x == nil || x.AttachMode != xdpAttachedGeneric {
		t.Fatalf("wan1p XDP %+v, want generic attach", x)
	}
	must(t, r.dp.Detach(9))
	if x := xdpAttached(t, r, "wan1p"); x != nil && x.Attached {
		t.Fatalf("wan1p still has XDP after Detach: %+v", x)
	}
	if err := r.dp.Detach(9); !errors.Is(err, dataplane.ErrNotFound) {
		t.Fatalf("second detach: %v", err)
	}
	must(t, r.dp.Close())
	for _, name := range []string{"lan0", "wan0", "wan1"} {
		if x := xdpAttached(t, r, name); x != nil && x.Attached {
			t.Errorf("%s still has XDP after Close", name)
		}
	}
	must(t, r.dp.Close()) // idempotent
}

// TestPinning loads with a pin directory on a bpffs mounted for the test in a
// private mount namespace, and checks maps are pinned there and reused by the next
// load.
func TestPinning(t *testing.T) {
	testenv.RequireRoot(t)
	done := make(chan error, 1)
	go func() {
		// This thread enters a private mount namespace and never leaves it: it is
		// not unlocked, so it dies with the goroutine.
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("unshare mount namespace: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("make mounts private: %w", err)
			}
			// Drop this namespace's copies of other tests' netns bind mounts, which
			// would otherwise keep them busy until this thread exits.
			if ents, err := os.ReadDir("/run/netns"); err == nil {
				for _, e := range ents {
					unix.Unmount(filepath.Join("/run/netns", e.Name()), unix.MNT_DETACH)
				}
			}
			fs := t.TempDir()
			if err := unix.Mount("bpf", fs, "bpf", 0, ""); err != nil {
				return fmt.Errorf("mount bpffs: %w", err)
			}
			dir := filepath.Join(fs, "linx")
			dp, err := Load(dataplane.Options{MaxPDRs: 16, PinDir: dir})
			if err != nil {
				return err
			}
			if err := dp.SetFAR(7, dataplane.FAR{Action: dataplane.ActDrop}); err != nil {
				return err
			}
			if err := dp.SetNonIPRule(0x88cc, dataplane.NonIPPunt); err != nil {
				return err
			}
			if err := dp.Close(); err != nil {
				return err
			}
			for _, name := range []string{"pdr_entries", "fars", "tunnels", "port_counters", "non_ip_rules", "non_ip_counters"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					return fmt.Errorf("map %s not pinned: %w", name, err)
				}
			}
			dp2, err := Load(dataplane.Options{MaxPDRs: 16, PinDir: dir})
			if err != nil {
				return fmt.Errorf("reload over pins: %w", err)
			}
			defer dp2.Close()
			var f linxFar
			if err := dp2.objs.Fars.Lookup(uint32(7), &f); err != nil || f.Action != uint8(dataplane.ActDrop) {
				return fmt.Errorf("pinned FAR lost across loads: %v %+v", err, f)
			}
			var rule linxNonIpRule
			if err := dp2.objs.NonIpRules.Lookup(hton16(0x88cc), &rule); err != nil || rule.Action != uint8(dataplane.NonIPPunt) {
				return fmt.Errorf("pinned non_ip rule lost across loads: %v %+v", err, rule)
			}
			return nil
		}()
	}()
	must(t, <-done)
}

// TestTransmit sends a frame out of a port (PacketOut) and sees it on the peer.
func TestTransmit(t *testing.T) {
	r := newRig(t)
	c := testenv.NewCapture(t, r.ns, "wan0p")
	frame := pkt{src: local0, dst: peer0, sport: 9, dport: 9, payload: 30}.bytes(t)
	must(t, r.dp.Transmit(portWAN0, frame))
	if _, ok := c.Wait(2*time.Second, func(p testenv.Packet) bool { return bytes.Equal(p.Data, frame) }); !ok {
		t.Fatalf("frame not seen on wan0p; saw %v", c)
	}
	if err := r.dp.Transmit(9, frame); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("transmit on unknown port: %v", err)
	}
	// Longer than the veth's MTU (1500) + Ethernet header: the caller's
	// mistake, with the limit named.
	big := append(bytes.Clone(frame), make([]byte, 1515-len(frame))...)
	if err := r.dp.Transmit(portWAN0, big); !errors.Is(err, dataplane.ErrInvalid) || !strings.Contains(err.Error(), "1514 bytes (MTU 1500") {
		t.Errorf("transmit of 1515 bytes: %v, want ErrInvalid naming 1514 bytes", err)
	}
}

// TestPinLayoutCoversMapSet: pins of a build without one of today's maps (the
// non_ip ones, say) have another layout fingerprint, so Load refuses them.
func TestPinLayoutCoversMapSet(t *testing.T) {
	spec, err := sizedSpec(dataplane.DefaultOptions)
	must(t, err)
	now := pinLayout(spec)
	for _, name := range []string{linxMapNonIpRules, linxMapNonIpCounters, linxMapDropCounters} {
		older, err := sizedSpec(dataplane.DefaultOptions)
		must(t, err)
		if name == linxMapDropCounters {
			older.Maps[name].MaxEntries-- // one drop reason fewer
		} else {
			delete(older.Maps, name)
		}
		if pinLayout(older) == now {
			t.Errorf("layout fingerprint blind to %s", name)
		}
	}
}
