package xdp

// Packet I/O with the controller: punts from the ring buffer, PacketOut through
// an AF_PACKET socket.

import (
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
		return fmt.Errorf("transmit on port %d (%s): %w", id, p.Name, err)
	}
	return nil
}
