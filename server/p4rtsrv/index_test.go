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
// random puts (inserts and replacements) and deletes.
func TestEntryIndex(t *testing.T) {
	for _, collide := range []bool{false, true} {
		x := newEntryIndex()
		if collide {
			x.hashK = func(k translate.Key) uint64 { return uint64(k.FAR % 3) }
		}
		ref := map[translate.Key]*stored{}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 5000 {
			k := translate.Key{Table: p4info.IDTableFAR, FAR: 1 + dataplane.FARID(r.IntN(40))}
			switch r.IntN(3) {
			case 0, 1:
				st := &stored{entry: translate.Entry{Key: k, ControllerMetadata: uint64(i)}}
				x.put(st)
				ref[k] = st
			case 2:
				x.del(k)
				delete(ref, k)
			}
			if x.len() != len(ref) {
				t.Fatalf("collide=%v step %d: len %d, want %d", collide, i, x.len(), len(ref))
			}
			probe := translate.Key{Table: p4info.IDTableFAR, FAR: 1 + dataplane.FARID(r.IntN(40))}
			got, ok := x.get(probe)
			if want, wok := ref[probe]; ok != wok || got != want {
				t.Fatalf("collide=%v step %d: get(%v) = %p, %v; want %p", collide, i, probe.FAR, got, ok, want)
			}
		}
		seen := 0
		for st := range x.all() {
			if ref[st.entry.Key] != st {
				t.Fatalf("collide=%v: all yields %v, not stored", collide, st.entry.Key)
			}
			seen++
		}
		if seen != len(ref) {
			t.Fatalf("collide=%v: all yields %d entries, want %d", collide, seen, len(ref))
		}
	}
}
