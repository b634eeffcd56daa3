package netlab

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetnsDir is where iproute2 keeps named namespaces; pinning namespaces there
// lets `ip netns exec NAME ...` attach to one while debugging.
const NetnsDir = "/run/netns"

// NS is a named network namespace. Create it with NewNS or NewNamedNS and
// remove it with Destroy.
type NS struct {
	name   string
	handle netns.NsHandle
	nl     *netlink.Handle

	mu        sync.Mutex
	destroyed bool
}

// NewNS creates a namespace named prefix-<pid>-<random>, so concurrent
// processes (tests and a lab, say) never collide, with lo up. The caller
// must Destroy it.
func NewNS(prefix string) (*NS, error) {
	var (
		ns  *NS
		err error
	)
	for range 5 { // retry only on a name clash with a leftover namespace
		name := fmt.Sprintf("%s-%s-%04x", prefix, strconv.FormatInt(int64(os.Getpid()), 36), rand.N(1<<16))
		ns, err = NewNamedNS(name)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	return ns, err
}

// NewNamedNS creates the namespace name (pinned at /run/netns/name) with lo
// up. It fails with an error wrapping os.ErrExist if the name is taken.
func NewNamedNS(name string) (*NS, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("create netns: bad name %q", name)
	}
	h, err := createNamedNS(name)
	if err != nil {
		return nil, fmt.Errorf("create netns: %w", err)
	}
	ns := &NS{name: name, handle: h}
	if ns.nl, err = netlink.NewHandleAt(h); err != nil {
		return nil, errors.Join(fmt.Errorf("netlink handle for netns %s: %w", name, err), ns.Destroy())
	}
	lo, err := ns.nl.LinkByName("lo")
	if err == nil {
		err = ns.nl.LinkSetUp(lo)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("set lo up in netns %s: %w", name, err), ns.Destroy())
	}
	return ns, nil
}

// createNamedNS makes a namespace and pins it with a bind mount at
// /run/netns/name. The unshare happens on a throwaway goroutine so that, if
// the thread cannot return to its original namespace, the runtime discards
// it instead of reusing it.
func createNamedNS(name string) (netns.NsHandle, error) {
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return netns.None(), fmt.Errorf("mkdir %s: %w", NetnsDir, err)
	}
	path := filepath.Join(NetnsDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return netns.None(), fmt.Errorf("create mount point: %w", err)
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		err = unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, "")
		if err != nil {
			err = fmt.Errorf("bind mount %s: %w", path, err)
		}
		if rerr := netns.Set(orig); rerr != nil {
			// Stay locked: the thread dies with this goroutine.
			errc <- errors.Join(err, fmt.Errorf("return to original netns: %w", rerr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return netns.None(), fmt.Errorf("netns %s: %w", name, err)
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return netns.None(), fmt.Errorf("open netns %s: %w", name, err)
	}
	return h, nil
}

// Destroy deletes the namespace's non-loopback links first, so veth peers in
// other namespaces and attached XDP programs go away now rather than whenever
// the last socket referencing the namespace is closed, then unpins it.
// It is idempotent and safe on a nil *NS.
func (ns *NS) Destroy() error {
	if ns == nil {
		return nil
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.destroyed {
		return nil
	}
	ns.destroyed = true
	var errs []error
	if ns.nl != nil {
		links, err := ns.nl.LinkList()
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			errs = append(errs, fmt.Errorf("list links: %w", err))
		}
		for _, l := range links {
			if l.Attrs().Flags&net.FlagLoopback != 0 {
				continue
			}
			// Best effort: some links (fallback tunnels, the peer of a veth
			// deleted a moment ago) cannot or need not be deleted; the
			// namespace teardown takes care of them.
			_ = ns.nl.LinkDel(l)
		}
		ns.nl.Close()
	}
	if ns.handle.IsOpen() {
		ns.handle.Close()
	}
	path := filepath.Join(NetnsDir, ns.name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		errs = append(errs, fmt.Errorf("unmount %s: %w", path, err))
	}
	// EBUSY: a mount namespace created meanwhile (ip netns exec, a test that
	// unshares) still holds a copy of the bind mount; it is short-lived.
	var err error
	for try := 0; try < 50; try++ {
		if err = os.Remove(path); err == nil || errors.Is(err, os.ErrNotExist) || !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove %s: %w", path, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy netns %s: %w", ns.name, err)
	}
	return nil
}

// Name is the namespace's name under /run/netns (usable with `ip netns`).
func (ns *NS) Name() string { return ns.name }

// Path is the namespace's bind-mount path, e.g. for bpftool or nsenter.
func (ns *NS) Path() string { return filepath.Join(NetnsDir, ns.name) }

// Handle is an open fd for the namespace, valid until Destroy.
func (ns *NS) Handle() netns.NsHandle { return ns.handle }

// Netlink is a netlink handle bound to the namespace, for configuring it
// without switching threads. Destroy closes it.
func (ns *NS) Netlink() *netlink.Handle { return ns.nl }

// String returns the name, so an *NS can be used directly in messages.
func (ns *NS) String() string {
	if ns == nil {
		return "<nil netns>"
	}
	return ns.name
}

// alive refuses nil and destroyed namespaces: a nil would otherwise mean "the
// host".
func (ns *NS) alive(what string) error {
	if ns == nil {
		return fmt.Errorf("%s: nil namespace (refusing to touch the host)", what)
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.destroyed {
		return fmt.Errorf("%s: namespace %s is destroyed", what, ns.name)
	}
	return nil
}

// Do runs fn on the calling goroutine's OS thread switched into the
// namespace. Sockets created by fn stay in the namespace and may be used
// from any goroutine afterwards. Goroutines started by fn do NOT run in the
// namespace. If the thread cannot be switched back, it is left locked so the
// runtime discards it when the goroutine exits; the error says so.
func (ns *NS) Do(fn func() error) (err error) {
	if ns == nil || !ns.handle.IsOpen() {
		return errors.New("netns: Do on a nil or destroyed namespace")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: get current netns: %w", ns.name, err)
	}
	defer orig.Close() // runs after the restore below
	if err := netns.Set(ns.handle); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", ns.name, err)
	}
	defer func() {
		if rerr := netns.Set(orig); rerr != nil {
			err = errors.Join(err, fmt.Errorf("leave netns %s: %w (this goroutine's thread is poisoned and stays locked)", ns.name, rerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Go runs fn in the namespace on a new goroutine, e.g. a server loop, and
// delivers its result on the returned channel (buffered, so it may be
// ignored).
func (ns *NS) Go(fn func() error) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- ns.Do(fn) }()
	return errc
}

// Exec runs a command inside the namespace and returns its combined
// output. Meant for debugging dumps (`ip -d link`, `bpftool net`); prefer
// the Go helpers for configuration. Unlike `ip netns exec`, /sys is not
// remounted, so tools reading /sys/class/net see the host's interfaces.
func (ns *NS) Exec(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer // same writer for both: exec serialises writes
	cmd.Stdout, cmd.Stderr = &out, &out
	// fork happens on the locked thread in Start, so the child inherits
	// the namespace; waiting can happen anywhere.
	if err := ns.Do(cmd.Start); err != nil {
		return nil, fmt.Errorf("start %s in %s: %w", name, ns, err)
	}
	err := cmd.Wait()
	if err != nil {
		err = fmt.Errorf("%s in %s: %w", name, ns, err)
	}
	return out.Bytes(), err
}
