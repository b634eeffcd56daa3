package xdp

// Conversions from the contract's types to the C layout bpf2go generated: the
// one place a Go rule becomes a map key or value.

import (
	"encoding/binary"
	"fmt"
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
// in the data path's encoding, and the Maglev table as member indexes (so the
// data path can check a slot's member, watch port included). The members are
// valid (ValidateMembers): distinct tunnels, at most MaxLBRMembers.
func kernelLBR(members []dataplane.LBRMember, maxPorts int) *linxLbr {
	var v linxLbr
	v.N_members = uint32(len(members))
	index := make(map[dataplane.TunnelID]uint8, len(members))
	for i, m := range members {
		v.Members[i] = uint32(m.Tunnel)
		v.Watch[i] = kernelWatch(m.Watch, maxPorts)
		index[m.Tunnel] = uint8(i)
	}
	for i, t := range maglevTable(members, dataplane.LBRSlots) {
		v.Slots[i] = index[t]
	}
	return &v
}

// errUnderlay6 refuses an overlay or termination whose underlay is IPv6: the
// contract accepts one (dataplane.Tunnel.Validate), the kernel's tunnel and
// termination maps hold IPv4 endpoints only so far. Refused rather than stored,
// so that no tunnel is installed that would silently drop what it is given.
func errUnderlay6(field string, a netip.Addr) error {
	if a.Is4() {
		return nil
	}
	return fmt.Errorf("%w: %s address %s: the XDP data path does not carry GRE over an IPv6 underlay yet (IPv4 underlay only)",
		dataplane.ErrInvalid, field, a)
}

// kernelWatch encodes a member's watch port for lbr.watch: 0 none, a port id as
// is, an overlay's logical port as LBR_WATCH_TUNNEL | tunnel id.
func kernelWatch(port uint32, maxPorts int) uint32 {
	if t, ok := dataplane.TunnelOfPort(maxPorts, port); ok {
		return uint32(linxLbrWatchLBR_WATCH_TUNNEL) | uint32(t)
	}
	return port
}

func kernelTunnel(t dataplane.Tunnel) linxTunnel {
	v := linxTunnel{Src: hton32(dataplane.IPv4(t.Src)), Dst: hton32(dataplane.IPv4(t.Dst)), Key: hton32(t.Key), Port: uint16(t.Port), Dscp: t.DSCP,
		Flags: uint8(linxTunnelFlagsTUNNEL_F_PRESENT)}
	if t.Key != 0 {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_KEY)
	}
	if t.Down {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_DOWN)
	}
	if t.SetDSCP {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_SET_DSCP)
	}
	return v
}

func kernelTerm(t dataplane.TunnelTerm) linxTermKey {
	return linxTermKey{Remote: hton32(dataplane.IPv4(t.Remote)), Local: hton32(dataplane.IPv4(t.Local)), Key: hton32(t.Key)}
}
