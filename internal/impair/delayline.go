package impair

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// queueLen bounds the frames the delay line holds: at 100 ms of delay that is
// 40,000 frames per second before frames are written back late.
const queueLen = 4096

// delayLine holds frames that the XDP program redirected to its tap and
// writes them back to the tap when their time comes.
type delayLine struct {
	ns      *netlab.NS
	name    string
	ifindex int
	mac     net.HardwareAddr
	f       *os.File

	mu            sync.Mutex
	delay, jitter time.Duration
	last          time.Time // release time of the latest frame: none leaves before it

	q                  chan held
	released, late     atomic.Uint64
	readDone, emitDone chan struct{}
}

type held struct {
	at    time.Time
	frame []byte
}

// newDelayLine creates tap name in ns (up, no IPv6, no reverse-path filter, so
// the kernel forwards what is written to it) and starts its goroutines.
func newDelayLine(ns *netlab.NS, name string) (*delayLine, error) {
	if len(name) > unix.IFNAMSIZ-1 {
		name = name[:unix.IFNAMSIZ-1]
	}
	var fd int
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("create tap %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delay line in %s: %w", ns, err)
	}
	d := &delayLine{ns: ns, name: name, f: os.NewFile(uintptr(fd), name), q: make(chan held, queueLen),
		readDone: make(chan struct{}), emitDone: make(chan struct{})}
	fail := func(err error) (*delayLine, error) {
		d.f.Close()
		return nil, fmt.Errorf("delay line %s in %s: %w", name, ns, err)
	}
	for _, kv := range [][2]string{
		{"net/ipv6/conf/" + name + "/disable_ipv6", "1"},
		{"net/ipv4/conf/" + name + "/rp_filter", "0"},
		{"net/ipv4/conf/all/rp_filter", "0"},
	} {
		if err := netlab.SetSysctl(ns, kv[0], kv[1]); err != nil {
			return fail(err)
		}
	}
	l, err := netlab.SetLinkUp(ns, name)
	if err != nil {
		return fail(err)
	}
	d.ifindex, d.mac = l.Attrs().Index, l.Attrs().HardwareAddr
	go d.read()
	go d.emit()
	return d, nil
}

func (d *delayLine) set(delay, jitter time.Duration) {
	d.mu.Lock()
	d.delay, d.jitter = delay, jitter
	d.mu.Unlock()
}

// releaseAt is when a frame arriving now leaves: now + delay ± jitter, but not
// before the frame ahead of it (a delay line does not reorder).
func (d *delayLine) releaseAt(now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	dl := d.delay
	if d.jitter > 0 {
		dl += time.Duration(rand.Int64N(int64(2*d.jitter)+1)) - d.jitter
	}
	at := now.Add(max(dl, 0))
	if at.Before(d.last) {
		at = d.last
	}
	d.last = at
	return at
}

func (d *delayLine) read() {
	defer close(d.readDone)
	defer close(d.q)
	buf := make([]byte, 65536)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			return // closed
		}
		if n < 14 || binary.BigEndian.Uint16(buf[12:]) != unix.ETH_P_IP {
			continue // the kernel's own frames out of the tap: nothing to re-inject
		}
		frame := make([]byte, n)
		copy(frame, buf[:n])
		copy(frame[0:6], d.mac) // to the tap, so the kernel takes it in and forwards it
		select {
		case d.q <- held{at: d.releaseAt(time.Now()), frame: frame}:
		default:
			d.late.Add(1)
			d.write(frame)
		}
	}
}

func (d *delayLine) emit() {
	defer close(d.emitDone)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for h := range d.q {
		if w := time.Until(h.at); w > 0 {
			t.Reset(w)
			<-t.C
		}
		d.write(h.frame)
	}
}

func (d *delayLine) write(frame []byte) {
	if _, err := d.f.Write(frame); err == nil {
		d.released.Add(1)
	}
}

// close removes the tap (it is not persistent: closing its only file deletes
// it) after the goroutines stop; frames still held are dropped.
func (d *delayLine) close() error {
	err := d.f.Close()
	<-d.readDone
	<-d.emitDone
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}
