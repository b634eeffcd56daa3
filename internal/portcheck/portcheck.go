// Package portcheck finds the conditions of the host under which the data path
// loses traffic without a word: IPv4 forwarding off on a port (bpf_fib_lookup
// then answers "forwarding disabled" and the pipeline drops as no_route), a
// veth port whose peer cannot receive redirected frames, and an XDP program of
// someone else holding a port. It looks at the network namespace the caller
// runs in, changes only what EnableForwarding is asked to, and never logs: the
// agent logs what it returns, `linx-agent validate` prints it.
package portcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// forwardingPath is the file of net.ipv4.conf.<ifname>.forwarding.
func forwardingPath(ifname string) string {
	return filepath.Join("/proc/sys/net/ipv4/conf", ifname, "forwarding")
}

// ForwardingKey is the sysctl that must be 1 on every port, as sysctl(8) spells
// it (a dot in an interface name becomes a slash there).
func ForwardingKey(ifname string) string {
	return "net.ipv4.conf." + strings.ReplaceAll(ifname, ".", "/") + ".forwarding"
}

// Forwarding reports whether IPv4 forwarding is on for ifname. The data path's
// route lookups (bpf_fib_lookup: the forward action, encap while a tunnel's next
// hop is unresolved) check this flag of the port a packet leaves by, and the
// kernel's forwarding path that of the port a packet came in on (what the
// pipeline passes up while a neighbour is unresolved): every port needs it.
// The global net.ipv4.ip_forward is not consulted by either.
func Forwarding(ifname string) (bool, error) {
	b, err := os.ReadFile(forwardingPath(ifname))
	if err != nil {
		return false, fmt.Errorf("read %s: %w", ForwardingKey(ifname), err)
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// EnableForwarding turns IPv4 forwarding on for ifname and reports whether it
// was off.
func EnableForwarding(ifname string) (changed bool, err error) {
	on, err := Forwarding(ifname)
	if err != nil || on {
		return false, err
	}
	if err := os.WriteFile(forwardingPath(ifname), []byte("1"), 0o644); err != nil {
		return false, fmt.Errorf("set %s=1: %w", ForwardingKey(ifname), err)
	}
	return true, nil
}

// GlobalForwarding reads net.ipv4.ip_forward, for the record: writing it turns
// forwarding on for every interface of the namespace, which linx does not need.
func GlobalForwarding() (bool, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		return false, fmt.Errorf("read net.ipv4.ip_forward: %w", err)
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// VethPeer describes the peer of a veth port, as far as this process can see it.
type VethPeer struct {
	Ifindex   int    // in the peer's namespace
	Name      string // empty when the peer could not be looked at
	Namespace string // "" for this namespace; otherwise its name under /run/netns, or "netnsid N"
	XDP, GRO  bool   // valid when Checked
	Checked   bool   // the peer was found and inspected
	Why       string // why it could not be checked
}

// Drops reports whether frames redirected into the veth are dropped: the
// kernel delivers them only when the peer runs NAPI, i.e. has an XDP program
// or GRO on.
func (p VethPeer) Drops() bool { return p.Checked && !p.XDP && !p.GRO }

func (p VethPeer) String() string {
	s := fmt.Sprintf("ifindex %d", p.Ifindex)
	if p.Name != "" {
		s = fmt.Sprintf("%s (ifindex %d)", p.Name, p.Ifindex)
	}
	if p.Namespace != "" {
		s += " in network namespace " + p.Namespace
	}
	return s
}

// Problem is the warning for a veth port whose peer drops redirected frames, or
// whose peer could not be inspected; "" when there is nothing to say.
func (p VethPeer) Problem(ifname string) string {
	switch {
	case p.Drops():
		fix := "ethtool -K " + p.Name + " gro on"
		if p.Namespace != "" && !strings.HasPrefix(p.Namespace, "netnsid ") {
			fix = "ip netns exec " + p.Namespace + " " + fix
		}
		return fmt.Sprintf("veth peer %s has neither an XDP program nor GRO on: frames the pipeline redirects out of %s are dropped silently (%s, or attach an XDP program to it)",
			p, ifname, fix)
	case !p.Checked:
		return fmt.Sprintf("veth peer %s could not be inspected (%s): unless it has an XDP program or GRO on, frames the pipeline redirects out of %s are dropped silently",
			p, p.Why, ifname)
	}
	return ""
}

// CheckVethPeer inspects the peer of ifname when it is a veth; ok is false for
// any other kind of link. willHaveXDP names interfaces of this namespace that
// are about to get linx's program (validate runs before the agent attaches).
func CheckVethPeer(ifname string, willHaveXDP func(string) bool) (peer VethPeer, ok bool, err error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return VethPeer{}, false, fmt.Errorf("find interface %s: %w", ifname, err)
	}
	if l.Type() != "veth" {
		return VethPeer{}, false, nil
	}
	a := l.Attrs()
	peer = VethPeer{Ifindex: a.ParentIndex}
	if peer.Ifindex == 0 {
		peer.Why = "the kernel did not name the peer"
		return peer, true, nil
	}
	if a.NetNsID < 0 { // same namespace
		pl, err := netlink.LinkByIndex(peer.Ifindex)
		if err != nil {
			peer.Why = err.Error()
			return peer, true, nil
		}
		peer.Name = pl.Attrs().Name
		peer.XDP = attached(pl) || (willHaveXDP != nil && willHaveXDP(peer.Name))
		peer.GRO, err = gro(peer.Name)
		if err != nil {
			peer.Why = err.Error()
			return peer, true, nil
		}
		peer.Checked = true
		return peer, true, nil
	}
	peer.Namespace = fmt.Sprintf("netnsid %d", a.NetNsID)
	name, ns, err := namedNS(a.NetNsID)
	if err != nil {
		peer.Why = "not a namespace under /run/netns this process can open: " + err.Error()
		return peer, true, nil
	}
	defer ns.Close()
	peer.Namespace = name
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		peer.Why = "netlink in " + name + ": " + err.Error()
		return peer, true, nil
	}
	defer h.Close()
	pl, err := h.LinkByIndex(peer.Ifindex)
	if err != nil {
		peer.Why = err.Error()
		return peer, true, nil
	}
	peer.Name = pl.Attrs().Name
	peer.XDP = attached(pl)
	if err := inNS(ns, func() error { var err error; peer.GRO, err = gro(peer.Name); return err }); err != nil {
		peer.Why = err.Error()
		return peer, true, nil
	}
	peer.Checked = true
	return peer, true, nil
}

func attached(l netlink.Link) bool {
	x := l.Attrs().Xdp
	return x != nil && x.Attached
}

// namedNS finds the namespace with this process's id nsid among those
// iproute2 names under /run/netns.
func namedNS(nsid int) (string, netns.NsHandle, error) {
	const dir = "/run/netns"
	es, err := os.ReadDir(dir)
	if err != nil {
		return "", netns.None(), err
	}
	for _, e := range es {
		h, err := netns.GetFromPath(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if id, err := netlink.GetNetNsIdByFd(int(h)); err == nil && id == nsid {
			return e.Name(), h, nil
		}
		h.Close()
	}
	return "", netns.None(), errors.New("none has that id")
}

// inNS runs fn on an OS thread inside ns. A thread that cannot return to its
// namespace is not given back to the Go scheduler: it ends with the goroutine.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter namespace: %w", err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err) // stays locked: the thread dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// gro reports whether GRO is on for ifname (ETHTOOL_GGRO) in the caller's
// namespace (the thread's, for inNS).
func gro(ifname string) (bool, error) {
	if len(ifname) >= unix.IFNAMSIZ {
		return false, fmt.Errorf("interface name %q too long", ifname)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("socket for ethtool: %w", err)
	}
	defer unix.Close(fd)
	v := &struct{ Cmd, Data uint32 }{Cmd: 0x2b} // struct ethtool_value, ETHTOOL_GGRO
	ifr := &struct {
		Name [unix.IFNAMSIZ]byte
		Data unsafe.Pointer
		_    [16]byte // to sizeof(struct ifreq)
	}{Data: unsafe.Pointer(v)}
	copy(ifr.Name[:], ifname)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr)))
	runtime.KeepAlive(ifr)
	runtime.KeepAlive(v)
	if errno != 0 {
		return false, fmt.Errorf("read GRO of %s: %w", ifname, errno)
	}
	return v.Data != 0, nil
}

// LinxProgramName is the name the kernel shows for linx's XDP entry program.
const LinxProgramName = "linx_xdp"

// Holder describes the XDP program attached to an interface.
type Holder struct {
	Ifname  string
	ProgID  uint32
	Mode    string // native, generic, offload
	Name    string // "" when it could not be read
	NameErr error  // why not (reading a program by id needs CAP_SYS_ADMIN)
}

// Linx reports whether the holder is linx's pipeline.
func (h Holder) Linx() bool { return h.Name == LinxProgramName }

func (h Holder) String() string {
	s := fmt.Sprintf("XDP program id %d", h.ProgID)
	switch {
	case h.Linx():
		s += fmt.Sprintf(" %q (%s): linx's pipeline, attached by another linx-agent on this port or left running and pinned under another bpffs_dir; stop that agent, or remove its pins (bpftool prog show id %d)",
			h.Name, h.Mode, h.ProgID)
	case h.Name != "":
		s += fmt.Sprintf(" %q (%s), not linx's; detach it (ip link set dev %s xdp off, or stop the program's owner; bpftool prog show id %d)", h.Name, h.Mode, h.Ifname, h.ProgID)
	default:
		s += fmt.Sprintf(" (%s; its name is unknown: %v; bpftool prog show id %d)", h.Mode, h.NameErr, h.ProgID)
	}
	return s
}

// XDPHolder returns what holds ifname's XDP hook; ok is false when nothing is
// attached.
func XDPHolder(ifname string) (h Holder, ok bool, err error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return Holder{}, false, fmt.Errorf("find interface %s: %w", ifname, err)
	}
	x := l.Attrs().Xdp
	if x == nil || !x.Attached || x.ProgId == 0 {
		return Holder{}, false, nil
	}
	h = Holder{Ifname: ifname, ProgID: x.ProgId, Mode: map[uint32]string{1: "native", 2: "generic", 3: "offload"}[x.AttachMode]}
	if h.Mode == "" {
		h.Mode = fmt.Sprintf("attach mode %d", x.AttachMode)
	}
	p, err := ebpf.NewProgramFromID(ebpf.ProgramID(x.ProgId))
	if err != nil {
		h.NameErr = err
		return h, true, nil
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		h.NameErr = err
		return h, true, nil
	}
	h.Name = info.Name
	return h, true, nil
}

// Busy reports whether err is the kernel's refusal to attach XDP to an
// interface that has a program already.
func Busy(err error) bool { return errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) }
