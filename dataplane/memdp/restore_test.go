package memdp

import (
	"errors"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
)

// TestRestore: the tables become the state given, PDRs under their ids, and new
// rules take the free ids around them.
func TestRestore(t *testing.T) {
	d := New(dataplane.Options{MaxPDRs: 8})
	m := dataplane.MatchAll()
	m.Dst = dataplane.Exact[uint32](1)
	if _, err := d.InsertPDR(dataplane.PDR{Match: m, Priority: 1, FAR: 1}); err != nil {
		t.Fatal(err)
	}
	drop := dataplane.FAR{Action: dataplane.ActDrop}
	st := dataplane.RestoreState{
		PDRs:    map[dataplane.PDRID]dataplane.PDR{3: {Match: m, Priority: 5, FAR: 2}},
		FARs:    map[dataplane.FARID]dataplane.FAR{2: drop},
		Default: &drop,
	}
	if err := d.Restore(st); err != nil {
		t.Fatal(err)
	}
	if got := d.PDRs(); len(got) != 1 || got[3] != st.PDRs[3] {
		t.Fatalf("pdrs after restore: %v", got)
	}
	if d.PDRDefault() != drop || d.FARs()[2] != drop {
		t.Errorf("default %v, fars %v", d.PDRDefault(), d.FARs())
	}
	for _, want := range []dataplane.PDRID{1, 2, 4} {
		m.Dst = dataplane.Exact(uint32(want) + 10)
		id, err := d.InsertPDR(dataplane.PDR{Match: m, Priority: 1, FAR: 2})
		if err != nil || id != want {
			t.Fatalf("insert after restore: id %d (%v), want %d", id, err, want)
		}
	}
	bad := dataplane.RestoreState{PDRs: map[dataplane.PDRID]dataplane.PDR{9: {Match: m, Priority: 1}}}
	if err := d.Restore(bad); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("restoring pdr id 9 with MaxPDRs 8: %v, want ErrInvalid", err)
	}
}
