package xdp

// SLA probes through overlays (docs/sla.md): injection and the replies. The
// reflector itself is in the pipeline (bpf/stamp.h) and needs nothing from here.

import (
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// maxProbeBytes is MAX_PROBE_BYTES: the largest probe datagram, and the largest
// reply the pipeline hands over (a probe record's data).
const maxProbeBytes = int(unsafe.Sizeof(linxProbeRecord{}.Data))

// defaultPortMTU bounds probes through a tunnel whose port is not attached
// (the MTU of Ethernet and of a fresh veth), so that validation does not depend on
// the attachment; such a probe is refused after it.
const defaultPortMTU = 1500

// SendProbe sends packet (IPv4, UDP, STAMP; IPv6 over an IPv6 underlay)
// through overlay id: it builds the frame the encap stage would make of it,
// outer Ethernet from the next hop the agent keeps for the tunnel
// (tunnel_nexthops), outer IPv4 from the tunnel's addresses (DF, TTL 64, DSCP
// copied from the probe unless the tunnel sets one) or outer IPv6 as
// linx_encap6_u6 writes it for the gateway's own packets (hop limit 64,
// traffic class likewise, flow label 0), GRE with the tunnel's key, and writes it to the tunnel's WAN port through the
// packet socket, as Transmit does. While the next hop's neighbour is not known,
// the kernel sends the outer IP packet instead (a raw socket, out of the
// port), resolving the neighbour as it would for the encap stage's packets. A
// tunnel marked Down still sends. Probes are not counted in the tunnel's or the
// port's tx counters (the pipeline counts what it sends).
//
// d.mu is held throughout: Close must not close the sockets under a send (a
// send is a syscall of microseconds).
func (d *Dataplane) SendProbe(id dataplane.TunnelID, packet []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("send probe through tunnel %d: data path closed", id)
	}
	t, ok := d.tunnels[id]
	p, attached := d.ports[t.Port]
	var nh linxTunnelNh
	if ok && d.nh != nil {
		nh = d.nh.nh[id]
	}
	if !ok {
		return fmt.Errorf("send probe: %w: tunnel %d", dataplane.ErrNotFound, id)
	}
	v6 := t.Src.Is6()
	overhead := 20 + 4
	if v6 {
		overhead = 40 + 4
	}
	if t.Key != 0 {
		overhead += 4
	}
	mtu := defaultPortMTU
	if attached {
		mtu = d.portMTU(p)
	}
	if nh.State == uint8(linxNhStateNH_OK) && int(nh.Mtu) < mtu {
		mtu = int(nh.Mtu)
	}
	if err := dataplane.ValidateProbe(t, packet, min(mtu-overhead, maxProbeBytes)); err != nil {
		return fmt.Errorf("send probe through tunnel %d: %w", id, err)
	}
	if !attached {
		return fmt.Errorf("send probe through tunnel %d: %w: its port %d is not attached", id, dataplane.ErrNotFound, t.Port)
	}
	onPort := int(nh.Ifindex) == p.Ifindex
	switch {
	case nh.State == uint8(linxNhStateNH_OK) && onPort:
		frame := probeFrame(t, nh, packet)
		sa := &unix.SockaddrLinklayer{Ifindex: p.Ifindex, Halen: 6}
		copy(sa.Addr[:], frame[:6])
		if err := unix.Sendto(d.packetFD, frame, 0, sa); err != nil {
			return fmt.Errorf("send probe through tunnel %d on port %d (%s): %w", id, t.Port, p.Name, err)
		}
	case nh.State == uint8(linxNhStateNH_NO_NEIGH) && onPort:
		// As the encap stage does with such a tunnel's packets: the kernel
		// resolves the neighbour and sends the packet, out of the port. Else an
		// idle tunnel would never learn its next hop from probes alone.
		frame := probeFrame(t, nh, packet)
		var err error
		if v6 {
			oob := unix.PktInfo6(&unix.Inet6Pktinfo{Ifindex: uint32(p.Ifindex)})
			err = unix.Sendmsg(d.raw6FD, frame[ethHeader:], oob, &unix.SockaddrInet6{Addr: t.Dst.As16()}, 0)
		} else {
			oob := unix.PktInfo4(&unix.Inet4Pktinfo{Ifindex: int32(p.Ifindex)})
			err = unix.Sendmsg(d.rawFD, frame[ethHeader:], oob, &unix.SockaddrInet4{Addr: t.Dst.As4()}, 0)
		}
		if err != nil {
			return fmt.Errorf("send probe through tunnel %d on port %d (%s) by the kernel: %w", id, t.Port, p.Name, err)
		}
	default:
		return fmt.Errorf("send probe through tunnel %d to %s: %w (%s)", id, t.Dst, dataplane.ErrNoNextHop, nhStateName(nh.State))
	}
	return nil
}

// portMTU is the MTU of an attached port, 1500 if the kernel does not say.
func (d *Dataplane) portMTU(p dataplane.PortInfo) int {
	ifr, err := unix.NewIfreq(p.Name)
	if err != nil || unix.IoctlIfreq(d.packetFD, unix.SIOCGIFMTU, ifr) != nil {
		return defaultPortMTU
	}
	return int(ifr.Uint32())
}

func nhStateName(s uint8) string {
	switch linxNhState(s) {
	case linxNhStateNH_NO_NEIGH:
		return "no neighbour yet"
	case linxNhStateNH_NO_ROUTE:
		return "no route"
	case linxNhStateNH_OK:
		return "resolved on another interface"
	}
	return "not resolved by the agent"
}

// probeFrame is packet encapsulated as bpf/encap.h encapsulates: Ethernet, IPv4
// (no options, DF, TTL GRE_TTL, ID 0), GRE (key when the tunnel has one).
func probeFrame(t dataplane.Tunnel, nh linxTunnelNh, packet []byte) []byte {
	glen := 4
	if t.Key != 0 {
		glen = 8
	}
	if t.Src.Is6() {
		return probeFrame6(t, nh, packet, glen)
	}
	outer := 20 + glen + len(packet)
	b := make([]byte, ethHeader+outer)
	copy(b[0:6], nh.Dmac[:])
	copy(b[6:12], nh.Smac[:])
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_IP)
	ip := b[ethHeader : ethHeader+20]
	ip[0] = 0x45
	ip[1] = packet[1] & 0xfc
	if t.SetDSCP {
		ip[1] = t.DSCP << 2
	}
	binary.BigEndian.PutUint16(ip[2:], uint16(outer))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = greTTL
	ip[9] = unix.IPPROTO_GRE
	src, dst := t.Src.As4(), t.Dst.As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ipv4Checksum(ip))
	g := b[ethHeader+20:]
	binary.BigEndian.PutUint16(g[2:], unix.ETH_P_IP)
	if t.Key != 0 {
		binary.BigEndian.PutUint16(g[0:], 0x2000) // K
		binary.BigEndian.PutUint32(g[4:], t.Key)
	}
	copy(g[glen:], packet)
	return b
}

// probeFrame6 is probeFrame over an IPv6 underlay, as encap_v6u writes the
// gateway's own packets: Ethernet, IPv6 (traffic class the probe's unless the
// tunnel sets a DSCP, flow label 0, hop limit GRE_TTL), GRE with protocol
// type IPv6 (the key when the tunnel has one).
func probeFrame6(t dataplane.Tunnel, nh linxTunnelNh, packet []byte, glen int) []byte {
	b := make([]byte, ethHeader+40+glen+len(packet))
	copy(b[0:6], nh.Dmac[:])
	copy(b[6:12], nh.Smac[:])
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_IPV6)
	ip := b[ethHeader : ethHeader+40]
	tc := uint32(packet[0]&0x0f)<<4 | uint32(packet[1]>>4) // the probe's traffic class
	tc &= 0xfc
	if t.SetDSCP {
		tc = uint32(t.DSCP) << 2
	}
	binary.BigEndian.PutUint32(ip[0:], 6<<28|tc<<20)
	binary.BigEndian.PutUint16(ip[4:], uint16(glen+len(packet)))
	ip[6] = unix.IPPROTO_GRE
	ip[7] = greTTL
	src, dst := t.Src.As16(), t.Dst.As16()
	copy(ip[8:24], src[:])
	copy(ip[24:40], dst[:])
	g := b[ethHeader+40:]
	binary.BigEndian.PutUint16(g[2:], unix.ETH_P_IPV6)
	if t.Key != 0 {
		binary.BigEndian.PutUint16(g[0:], 0x2000) // K
		binary.BigEndian.PutUint32(g[4:], t.Key)
	}
	copy(g[glen:], packet)
	return b
}

// greTTL is GRE_TTL, the outer TTL of every encapsulated packet.
const greTTL = 64

// ipv4Checksum is the header checksum of h (its checksum field zero).
func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ProbeReplies delivers STAMP replies that came back through overlays; closed by Close.
func (d *Dataplane) ProbeReplies() <-chan dataplane.ProbeReply { return d.replies }

// readProbeReplies turns probe_replies records into ProbeReplies until the ring
// is closed. A reply nobody takes at once is dropped: the channel's buffer is the
// only queue, and the ring drops (probe_full) when this falls behind.
func (d *Dataplane) readProbeReplies() {
	defer d.wg.Done()
	defer close(d.replies)
	var r linxProbeRecord
	hdr := int(unsafe.Offsetof(r.Data))
	for {
		rec, err := d.probeRing.Read()
		if err != nil {
			return // closed
		}
		if len(rec.RawSample) < hdr {
			continue
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r)), rec.RawSample)
		n := min(int(r.Len), len(r.Data), len(rec.RawSample)-hdr)
		reply := dataplane.ProbeReply{
			Tunnel: dataplane.TunnelID(r.Tunnel),
			RxTime: monoTime(r.RxNs),
			Packet: append([]byte(nil), r.Data[:n]...),
		}
		select {
		case d.replies <- reply:
		default: // the prober is not reading: this reply is lost, like a late one
		}
	}
}

// monoTime converts a bpf_ktime_get_ns reading (CLOCK_MONOTONIC, the clock of
// the monotonic reading Go's time.Now carries) into a time.Time on time.Now's
// clock: now, minus how long ago ns was. The result keeps a monotonic reading,
// so subtracting a probe's send time (a time.Now) gives the elapsed time
// whatever the wall clock does.
//
// time.Now and CLOCK_MONOTONIC cannot be read at one instant: the monotonic
// clock is read on both sides of time.Now and the midpoint taken, from the
// tightest of a few tries, so a preemption between the reads (hundreds of µs
// under emulation) does not move the result by the preemption's length.
func monoTime(ns uint64) time.Time {
	var (
		best    time.Time
		bestGap int64 = -1
	)
	for range 4 {
		var a, b unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &a) != nil {
			return time.Now()
		}
		now := time.Now()
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &b) != nil {
			return now
		}
		gap := b.Nano() - a.Nano()
		if bestGap < 0 || gap < bestGap {
			mid := a.Nano() + gap/2
			best, bestGap = now.Add(-time.Duration(mid-int64(ns))), gap
		}
		if gap < int64(10*time.Microsecond) {
			break
		}
	}
	return best
}
