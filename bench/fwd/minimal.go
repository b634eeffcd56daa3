package fwd

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/cilium/ebpf"
)

// PathMinimal: the floor of the uplink's job (bpf/minimal.c): parse, one
// per-CPU ARRAY lookup by a hash of the 5-tuple, a precomputed outer
// Ethernet/IPv4/GRE header, checksum, redirect — none of linx's policy. The
// sink sees GRE, spread over both WAN links like the uplink's.
const PathMinimal Path = "minimal"

// minSlots is MIN_SLOTS of minimal.c.
const minSlots = 1 << 16

// setupMinimal loads minimal_fwd, fills its slots (even slots the overlay
// out0 → s0, odd ones out1 → s1, as Maglev over two equal members spreads
// flows) and attaches it to in0.
func (t *Topology) setupMinimal(s0, s1 net.HardwareAddr) error {
	if err := loadMinimalObjects(&t.min, nil); err != nil {
		return fmt.Errorf("load minimal program: %w", err)
	}
	type overlay struct {
		out       string
		dst       net.HardwareAddr
		src, peer netip.Addr
		key       uint32
	}
	overlays := []overlay{{"out0", s0, wan0Addr, wan0Peer, greKey0}, {"out1", s1, wan1Addr, wan1Peer, greKey1}}
	slots := make([]minimalMinSlot, len(overlays))
	for i, o := range overlays {
		h := slots[i].Hdr[2:] // the 2 bytes of padding first (minimal.c)
		copy(h[0:6], o.dst)
		copy(h[6:12], ifmac(t.gw, o.out))
		binary.BigEndian.PutUint16(h[12:], 0x0800)
		ip := h[14:34]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
		ip[8] = 64                                 // TTL
		ip[9] = 47                                 // GRE
		copy(ip[12:16], o.src.AsSlice())
		copy(ip[16:20], o.peer.AsSlice())
		gre := h[34:42]
		binary.BigEndian.PutUint16(gre[0:], 0x2000) // key present
		binary.BigEndian.PutUint16(gre[2:], 0x0800)
		binary.BigEndian.PutUint32(gre[4:], o.key)
		slots[i].Tx = uint32(i)
		if err := t.gw.Do(func() error { return t.min.TxMin.Put(uint32(i), uint32(ifindex(t.gw, o.out))) }); err != nil {
			return fmt.Errorf("minimal redirect target %s: %w", o.out, err)
		}
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	per := make([]minimalMinSlot, cpus)
	for k := range uint32(minSlots) {
		for c := range per {
			per[c] = slots[k%2]
		}
		if err := t.min.MinSlots.Put(k, per); err != nil {
			return fmt.Errorf("minimal slot %d: %w", k, err)
		}
	}
	if err := t.attach(t.gw, "in0", t.min.MinimalFwd); err != nil {
		return err
	}
	t.entry = t.min.MinimalFwd
	return nil
}
