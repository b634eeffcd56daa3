package xdp

import (
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// BenchmarkInsertPDR measures one rule insert + delete from the Go API to the
// kernel maps (entries, tuple list, commit, generation): the data path's share of
// a control-plane write.
func BenchmarkInsertPDR(b *testing.B) {
	testenv.RequireRoot(b)
	dp, err := Load(dataplane.Options{MaxPDRs: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	if _, err := dp.InsertPDRs(benchRules(10_000)); err != nil {
		b.Fatal(err)
	}
	rules := benchRules(20_000)[10_000:]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id, err := dp.InsertPDR(rules[i%len(rules)])
		if err != nil {
			b.Fatal(err)
		}
		if err := dp.DeletePDR(id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N)/1e3, "µs/update")
}

// BenchmarkInsertPDRs measures installing 100 000 rules in one batch.
func BenchmarkInsertPDRs(b *testing.B) {
	testenv.RequireRoot(b)
	rules := benchRules(100_000)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dp, err := Load(dataplane.Options{MaxPDRs: 100_000})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := dp.InsertPDRs(rules); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		dp.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(rules))*float64(b.N)/b.Elapsed().Seconds(), "rules/s")
}
