package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// Packet is one frame seen by a Capture.
type Packet struct {
	Time time.Time
	Data []byte // starting at the Ethernet header
	// Outgoing is set for frames the interface transmitted.
	Outgoing bool
	// CsumPartial means the skb was CHECKSUM_PARTIAL: its L4 checksum
	// field is not filled in yet (TP_STATUS_CSUMNOTREADY).
	CsumPartial bool
	// CsumValid means the kernel already verified the L4 checksum.
	CsumValid bool
	// Truncated means the frame was longer than the capture buffer.
	Truncated bool
}

// Decode parses the frame with gopacket, starting at Ethernet.
func (p Packet) Decode() gopacket.Packet {
	return gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
}

// Summary is a one-line description: layers, addresses, ports, length.
func (p Packet) Summary() string {
	pk := p.Decode()
	var names []string
	for _, l := range pk.Layers() {
		names = append(names, l.LayerType().String())
	}
	s := strings.Join(names, "/")
	if nl := pk.NetworkLayer(); nl != nil {
		s += " " + nl.NetworkFlow().String()
	}
	if tl := pk.TransportLayer(); tl != nil {
		s += " " + tl.TransportFlow().String()
	}
	return fmt.Sprintf("%s (%d bytes)", s, len(p.Data))
}

// Capture records every frame crossing one interface in a namespace, in
// both directions, via an AF_PACKET socket. It stands in for tcpdump and
// also reports each skb's checksum state, which tcpdump cannot show.
type Capture struct {
	f    *os.File
	done chan struct{}

	mu   sync.Mutex
	pkts []Packet
}

// captureSnap is the largest frame kept whole (GSO frames can be ~64 KiB).
const captureSnap = 1 << 16

// NewCapture starts capturing on ifname in ns. Close it when done.
func NewCapture(ns *NS, ifname string) (*Capture, error) {
	l, err := Link(ns, ifname)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	proto := htons(unix.ETH_P_ALL)
	var fd int
	err = ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(proto))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("capture on %s in %s: socket: %w", ifname, ns, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture on %s in %s: PACKET_AUXDATA: %w", ifname, ns, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: l.Attrs().Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture on %s in %s: bind: %w", ifname, ns, err)
	}
	c := &Capture{f: os.NewFile(uintptr(fd), "capture-"+ifname), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

// htons converts to network byte order, as AF_PACKET wants the protocol.
func htons(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}

func (c *Capture) loop() {
	defer close(c.done)
	rc, err := c.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, captureSnap)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{}))))
	for {
		var (
			n, oobn, flags int
			from           unix.Sockaddr
			rerr           error
		)
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, flags, from, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_TRUNC)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			if errors.Is(rerr, unix.EINTR) || errors.Is(rerr, unix.ENETDOWN) {
				continue
			}
			return
		}
		p := Packet{Time: time.Now(), Truncated: n > len(buf) || flags&unix.MSG_TRUNC != 0}
		p.Data = append([]byte(nil), buf[:min(n, len(buf))]...)
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			p.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA ||
					len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
					continue
				}
				aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
				p.CsumPartial = aux.Status&unix.TP_STATUS_CSUMNOTREADY != 0
				p.CsumValid = aux.Status&unix.TP_STATUS_CSUM_VALID != 0
			}
		}
		c.mu.Lock()
		c.pkts = append(c.pkts, p)
		c.mu.Unlock()
	}
}

// Packets returns the frames captured so far.
func (c *Capture) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.pkts...)
}

// Wait returns the first captured frame (past or future) for which match
// is true, or false after timeout.
func (c *Capture) Wait(timeout time.Duration, match func(Packet) bool) (Packet, bool) {
	end := time.Now().Add(timeout)
	seen := 0
	for {
		pkts := c.Packets()
		for _, p := range pkts[seen:] {
			if match(p) {
				return p, true
			}
		}
		seen = len(pkts)
		if !time.Now().Before(end) {
			return Packet{}, false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Close stops the capture. Idempotent.
func (c *Capture) Close() {
	c.f.Close()
	<-c.done
}

// String summarises the capture, for test failure messages.
func (c *Capture) String() string {
	pkts := c.Packets()
	s := fmt.Sprintf("%d frames", len(pkts))
	for i, p := range pkts {
		if i == 20 {
			s += "\n  ..."
			break
		}
		dir := "in "
		if p.Outgoing {
			dir = "out"
		}
		s += fmt.Sprintf("\n  %s partial=%v %s", dir, p.CsumPartial, p.Summary())
	}
	return s
}
