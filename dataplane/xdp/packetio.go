package xdp

// Packet I/O with the controller: punts from the ring buffer, PacketOut through
// an AF_PACKET socket.

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

func (d *Dataplane) readPunts() {
	defer d.wg.Done()
	defer close(d.punts)
	for {
		rec, err := d.ring.Read()
		if err != nil {
			return // closed
		}
		var r linxPuntRecord
		if len(rec.RawSample) < int(unsafe.Offsetof(r.Data)) {
			continue
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r)), rec.RawSample)
		n := min(int(r.CapLen), len(r.Data))
		p := dataplane.Punt{Port: dataplane.PortID(r.Port), Packet: append([]byte(nil), r.Data[:n]...), Length: int(r.Len)}
		select {
		case d.punts <- p:
		default: // nobody listening fast enough: the controller loses this one
		}
	}
}

// Punts delivers packets punted to the controller; closed by Close.
func (d *Dataplane) Punts() <-chan dataplane.Punt { return d.punts }

// Transmit sends frame out of port (PacketOut) through an AF_PACKET socket: it
// leaves by the interface like any locally sent frame.
func (d *Dataplane) Transmit(id dataplane.PortID, frame []byte) error {
	if err := dataplane.ValidateTransmitPort(id, d.opts.MaxPorts); err != nil {
		return err
	}
	d.mu.Lock()
	p, ok := d.ports[id]
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: port %d", dataplane.ErrNotFound, id)
	}
	if len(frame) < 14 {
		return fmt.Errorf("%w: frame of %d bytes", dataplane.ErrInvalid, len(frame))
	}
	sa := &unix.SockaddrLinklayer{Ifindex: p.Ifindex, Halen: 6}
	copy(sa.Addr[:], frame[:6])
	if err := unix.Sendto(d.packetFD, frame, 0, sa); err != nil {
		if errors.Is(err, unix.EMSGSIZE) {
			// A client's mistake, not the data path's: name the limit. The
			// packet socket lives in the ports' namespace, so ask through it.
			limit := "its MTU"
			if ifr, e := unix.NewIfreq(p.Name); e == nil && unix.IoctlIfreq(d.packetFD, unix.SIOCGIFMTU, ifr) == nil {
				limit = fmt.Sprintf("%d bytes (MTU %d + %d-byte Ethernet header)", ifr.Uint32()+ethHeader, ifr.Uint32(), ethHeader)
			}
			return fmt.Errorf("%w: frame of %d bytes is longer than port %d (%s) takes: %s", dataplane.ErrInvalid, len(frame), id, p.Name, limit)
		}
		return fmt.Errorf("transmit on port %d (%s): %w", id, p.Name, err)
	}
	return nil
}

// ethHeader is the length of an Ethernet header without VLAN tag.
const ethHeader = 14
