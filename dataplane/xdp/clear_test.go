package xdp

import (
	"net/netip"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestClearEmptiesTheClassifier: Clear after a batch of IPv4, IPv6 and
// both-family rules leaves no live rule, no entry and no tuple in the kernel
// and none in the bookkeeping, and the same rules install again with the
// first ids.
func TestClearEmptiesTheClassifier(t *testing.T) {
	testenv.RequireRoot(t)
	dp, err := Load(dataplane.Options{MaxPDRs: 5000})
	must(t, err)
	defer dp.Close()
	rules := benchRules(2000)
	m6 := dataplane.MatchAll()
	m6.Dst6 = dataplane.Prefix6(netip.MustParsePrefix("2001:db8::/32"))
	rules = append(rules, dataplane.PDR{Match: m6, Priority: 1 << 20, FAR: 1},
		dataplane.PDR{Match: dataplane.MatchAll(), Priority: 1<<20 + 1, FAR: 1})
	for round := range 2 {
		ids, err := dp.InsertPDRs(rules)
		must(t, err)
		if ids[0] != 1 || int(ids[len(ids)-1]) != len(rules) {
			t.Fatalf("round %d: ids %d..%d, want 1..%d", round, ids[0], ids[len(ids)-1], len(rules))
		}
		if live, err := liveRules(dp.objs.PdrRules); err != nil || len(live) != len(rules) {
			t.Fatalf("round %d: %d live rules (%v), want %d", round, len(live), err, len(rules))
		}
		must(t, dp.Clear())
		live, err := liveRules(dp.objs.PdrRules)
		must(t, err)
		entries, err := mapKeys[linxPdrKey](dp.objs.PdrEntries, 100000)
		must(t, err)
		entries6, err := mapKeys[linxPdr6Key](dp.objs.Pdr6Entries, 100000)
		must(t, err)
		var tl linxPdrTuples
		must(t, dp.objs.PdrTupleList.Lookup(dp.slot, &tl))
		var tl6 linxPdr6Tuples
		must(t, dp.objs.Pdr6TupleList.Lookup(dp.slot6, &tl6))
		if len(live)+len(entries)+len(entries6)+int(tl.N+tl6.N) != 0 {
			t.Fatalf("round %d: after Clear the kernel has %d live rules, %d+%d entries, %d+%d tuples",
				round, len(live), len(entries), len(entries6), tl.N, tl6.N)
		}
		if dp.cls.nrules+dp.cls.entries.len()+len(dp.cls.tuples)+len(dp.cls.published) != 0 {
			t.Fatalf("round %d: after Clear the bookkeeping holds %d rules, %d entries, %d tuples",
				round, dp.cls.nrules, dp.cls.entries.len(), len(dp.cls.tuples))
		}
	}
}
