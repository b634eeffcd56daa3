package xdp

// Conversions from the contract's types to the C layout bpf2go generated: the
// one place a Go rule becomes a map key or value.

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/linx-sdwan/linx/dataplane"
)

// kernelKey converts to the C layout: addresses and ports in network order.
func kernelKey(k entryKey) linxPdrKey {
	return linxPdrKey{
		Tuple: k.tuple, Src: hton32(k.val.src), Dst: hton32(k.val.dst),
		Sport: hton16(k.val.sport), Dport: hton16(k.val.dport),
		InPort: k.val.inPort, Proto: k.val.proto, DscpDir: k.val.dscpDir,
	}
}

// kernelKey6 converts an IPv6 key (k.val.v6) to the C layout.
func kernelKey6(k entryKey) linxPdr6Key {
	v := linxPdr6Key{
		Tuple: k.tuple, Sport: hton16(k.val.sport), Dport: hton16(k.val.dport),
		InPort: k.val.inPort, Proto: k.val.proto, DscpDir: k.val.dscpDir,
	}
	for i := range 4 {
		v.Src[i] = binary.LittleEndian.Uint32(k.val.src6[4*i:])
		v.Dst[i] = binary.LittleEndian.Uint32(k.val.dst6[4*i:])
	}
	return v
}

// fields6 is the inverse of kernelKey6's value part (for masks read back).
func fields6(k linxPdr6Key) fields {
	f := fields{sport: hton16(k.Sport), dport: hton16(k.Dport), inPort: k.InPort, proto: k.Proto, dscpDir: k.DscpDir, v6: true}
	for i := range 4 {
		binary.LittleEndian.PutUint32(f.src6[4*i:], k.Src[i])
		binary.LittleEndian.PutUint32(f.dst6[4*i:], k.Dst[i])
	}
	return f
}

// hton32 returns the integer whose in-memory (little-endian) bytes are v in
// network order. linx's BPF objects are built for little-endian targets only.
func hton32(v uint32) uint32 { return bits.ReverseBytes32(v) }

func hton16(v uint16) uint16 { return bits.ReverseBytes16(v) }

func kernelFAR(f dataplane.FAR) linxFar {
	k := linxFar{Action: uint8(f.Action), Port: uint16(f.Port)}
	switch f.Action {
	case dataplane.ActEncap:
		k.Arg = uint32(f.Tunnel)
	case dataplane.ActBalance:
		k.Arg = uint32(f.LBR)
	}
	return k
}

// kernelLBR builds a load-balancing rule's map value: members, their watch ports
// in the data path's encoding, the excluded members' mask, and the Maglev table
// as member indexes (so the data path can check a slot's member, watch port and
// exclusion included). The table is built over every member, excluded or not. The members are
// valid (ValidateMembers): distinct tunnels, at most MaxLBRMembers.
func kernelLBR(members []dataplane.LBRMember, maxPorts int) *linxLbr {
	var v linxLbr
	v.N_members = uint32(len(members))
	index := make(map[dataplane.TunnelID]uint8, len(members))
	for i, m := range members {
		v.Members[i] = uint32(m.Tunnel)
		v.Watch[i] = kernelWatch(m.Watch, maxPorts)
		index[m.Tunnel] = uint8(i)
		if m.Excluded {
			v.Skip |= 1 << i
		}
	}
	if v.Skip == 1<<len(members)-1 {
		v.Skip = 0 // every member excluded: none is
	}
	for i, t := range maglevTable(members, dataplane.LBRSlots) {
		v.Slots[i] = index[t]
	}
	return &v
}

// kernelWatch encodes a member's watch port for lbr.watch: 0 none, a port id as
// is, an overlay's logical port as LBR_WATCH_TUNNEL | tunnel id.
func kernelWatch(port uint32, maxPorts int) uint32 {
	if t, ok := dataplane.TunnelOfPort(maxPorts, port); ok {
		return uint32(linxLbrWatchLBR_WATCH_TUNNEL) | uint32(t)
	}
	return port
}

// kernelTunnel converts an overlay to its tunnels entry and, over an IPv6
// underlay, to its tunnels6 entry (the endpoints, which the tunnels entry
// cannot hold; nil over IPv4).
func kernelTunnel(t dataplane.Tunnel) (linxTunnel, *linxTunnel6) {
	v := linxTunnel{Key: hton32(t.Key), Port: uint16(t.Port), Dscp: t.DSCP,
		Flags: uint8(linxTunnelFlagsTUNNEL_F_PRESENT)}
	var v6 *linxTunnel6
	if t.Src.Is4() {
		v.Src, v.Dst = hton32(dataplane.IPv4(t.Src)), hton32(dataplane.IPv4(t.Dst))
	} else {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_V6)
		v6 = &linxTunnel6{Src: kernelAddr6(t.Src), Dst: kernelAddr6(t.Dst)}
	}
	if t.Key != 0 {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_KEY)
	}
	if t.Down {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_DOWN)
	}
	if t.SetDSCP {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_SET_DSCP)
	}
	return v, v6
}

// kernelAddr6 is an IPv6 address as the data path stores it: four words whose
// in-memory bytes are the address in network order.
func kernelAddr6(a netip.Addr) [4]uint32 {
	b := a.As16()
	var w [4]uint32
	for i := range 4 {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// addrFromKernel6 is kernelAddr6's inverse.
func addrFromKernel6(w [4]uint32) netip.Addr {
	var b [16]byte
	for i := range 4 {
		binary.LittleEndian.PutUint32(b[4*i:], w[i])
	}
	return netip.AddrFrom16(b)
}

// kernelTerm is an IPv4 underlay's termination key (tunnel_terms).
func kernelTerm(t dataplane.TunnelTerm) linxTermKey {
	return linxTermKey{Remote: hton32(dataplane.IPv4(t.Remote)), Local: hton32(dataplane.IPv4(t.Local)), Key: hton32(t.Key)}
}

// kernelTerm6 is an IPv6 underlay's termination key (tunnel_terms6).
func kernelTerm6(t dataplane.TunnelTerm) linxTerm6Key {
	return linxTerm6Key{Remote: kernelAddr6(t.Remote), Local: kernelAddr6(t.Local), Key: hton32(t.Key)}
}

// putTerm writes a termination into the map of its underlay's family.
func (d *Dataplane) putTerm(t dataplane.TunnelTerm, id dataplane.TunnelID) error {
	if t.Local.Is4() {
		return d.objs.TunnelTerms.Put(kernelTerm(t), uint32(id))
	}
	return d.objs.TunnelTerms6.Put(kernelTerm6(t), uint32(id))
}

// deleteTerm removes a termination from the map of its family.
func (d *Dataplane) deleteTerm(t dataplane.TunnelTerm) error {
	if t.Local.Is4() {
		return d.objs.TunnelTerms.Delete(kernelTerm(t))
	}
	return d.objs.TunnelTerms6.Delete(kernelTerm6(t))
}

// putLocal writes how many terminations use local tunnel address a into
// tunnel_locals or tunnel_locals6; 0 deletes it.
func (d *Dataplane) putLocal(a netip.Addr, refs int) error {
	if a.Is4() {
		k := hton32(dataplane.IPv4(a))
		if refs == 0 {
			return d.objs.TunnelLocals.Delete(k)
		}
		return d.objs.TunnelLocals.Put(k, uint32(refs))
	}
	k := linxAddr6{A: kernelAddr6(a)}
	if refs == 0 {
		return d.objs.TunnelLocals6.Delete(k)
	}
	return d.objs.TunnelLocals6.Put(k, uint32(refs))
}
