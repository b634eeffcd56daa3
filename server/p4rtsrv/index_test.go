package p4rtsrv

import (
	"math/rand/v2"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// TestEntryIndex: with every key in one hash chain, or spread as maphash
// spreads them, the index answers like a map of keys to entries through
// random puts (inserts and replacements) and deletes, with entries held in
// full (far) and compact (pdr) mixed in the chains.
func TestEntryIndex(t *testing.T) {
	for _, collide := range []bool{false, true} {
		x := newEntryIndex()
		if collide {
			x.hashK = func(k translate.Key) uint64 { return uint64(k.FAR%3) + uint64(k.Priority%2) }
		}
		ref := map[translate.Key]*stored{}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 5000 {
			k := randomKey(r)
			switch r.IntN(3) {
			case 0, 1:
				e := translate.Entry{Key: k, ControllerMetadata: uint64(i), Action: translate.SetFAR{FAR: 1}}
				if k.Table == p4info.IDTableFAR {
					e.Action = translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActDrop}}
				}
				st := newStored(e)
				if (st.full == nil) != (k.Table == p4info.IDTablePDR) {
					t.Fatalf("%v held in full: %v", k, st.full != nil)
				}
				x.put(st)
				ref[k] = st
			case 2:
				x.del(k)
				delete(ref, k)
			}
			if x.len() != len(ref) {
				t.Fatalf("collide=%v step %d: len %d, want %d", collide, i, x.len(), len(ref))
			}
			probe := randomKey(r)
			got, ok := x.get(probe)
			if want, wok := ref[probe]; ok != wok || got != want {
				t.Fatalf("collide=%v step %d: get(%v) = %p, %v; want %p", collide, i, probe, got, ok, want)
			}
		}
		seen := 0
		for st := range x.all() {
			if ref[st.key()] != st {
				t.Fatalf("collide=%v: all yields %v, not stored", collide, st.key())
			}
			seen++
		}
		if seen != len(ref) {
			t.Fatalf("collide=%v: all yields %d entries, want %d", collide, seen, len(ref))
		}
	}
}

// randomKey is a far key or a pdr key (a few matches and priorities).
func randomKey(r *rand.Rand) translate.Key {
	if r.IntN(2) == 0 {
		return translate.Key{Table: p4info.IDTableFAR, FAR: 1 + dataplane.FARID(r.IntN(40))}
	}
	m := dataplane.MatchAll()
	m.Dst = dataplane.Ternary[uint32]{Value: uint32(r.IntN(4)) << 8, Mask: 0xffffff00}
	m.DstPort = dataplane.PortRange{Lo: uint16(r.IntN(3)), Hi: 80}
	return translate.Key{Table: p4info.IDTablePDR, Priority: 1 + int32(r.IntN(5)), Match: m}
}

// TestStoredRoundTrip: an entry comes back from the store as it went in,
// whether held compactly or in full.
func TestStoredRoundTrip(t *testing.T) {
	v4 := dataplane.MatchAll()
	v4.InPort = dataplane.Ternary[uint16]{Value: 3, Mask: 0xffff}
	v4.Direction = dataplane.Ternary[uint8]{Value: 1, Mask: 3}
	v4.Src = dataplane.Ternary[uint32]{Value: 0x0a000000, Mask: 0xff000000}
	v4.Dst = dataplane.Ternary[uint32]{Value: 0x0a010203, Mask: 0xffffffff}
	v4.Proto = dataplane.Ternary[uint8]{Value: 17, Mask: 0xff}
	v4.SrcPort = dataplane.PortRange{Lo: 10, Hi: 20}
	v4.DstPort = dataplane.PortRange{Lo: 53, Hi: 53}
	v4.DSCP = dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f}
	v4.Family = dataplane.FamilyIPv4
	v6 := dataplane.MatchAll()
	v6.Dst6 = dataplane.Addr6{Value: [16]byte{0x20, 1, 0xd, 0xb8}, Mask: [16]byte{0xff, 0xff, 0xff, 0xff}}
	pdr := func(m dataplane.PDRMatch) translate.Entry {
		return translate.Entry{Key: translate.Key{Table: p4info.IDTablePDR, Priority: 7, Match: m},
			Action: translate.SetFAR{FAR: 9}, ControllerMetadata: 0xfeed}
	}
	withMeta := pdr(v4)
	withMeta.Metadata = []byte{1, 2}
	for _, c := range []struct {
		name    string
		e       translate.Entry
		compact bool
	}{
		{"pdr ipv4", pdr(v4), true},
		{"pdr any family", pdr(dataplane.MatchAll()), true},
		{"pdr ipv6", pdr(v6), false},
		{"pdr with metadata", withMeta, false},
		{"far", translate.Entry{Key: translate.Key{Table: p4info.IDTableFAR, FAR: 4},
			Action: translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActForward, Port: 2}}}, false},
	} {
		st := newStored(c.e)
		if (st.full == nil) != c.compact {
			t.Errorf("%s: compact %v, want %v", c.name, st.full == nil, c.compact)
		}
		if got := st.entry(); !got.Equal(c.e) {
			t.Errorf("%s: stored %+v, got back %+v", c.name, c.e, got)
		}
		if !st.is(c.e.Key) || st.key() != c.e.Key || st.table() != c.e.Table {
			t.Errorf("%s: key not kept", c.name)
		}
		other := c.e.Key
		other.Priority++
		if st.is(other) {
			t.Errorf("%s: is() takes another priority", c.name)
		}
	}
}
