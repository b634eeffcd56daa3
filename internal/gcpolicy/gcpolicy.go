// Package gcpolicy is linx-agent's garbage-collector default, applied by the
// agent's main (and by linx-bench's agent, so that the benchmark measures
// what the agent runs).
//
// The agent's heap is mostly long-lived tables (the server's entries, the
// classifier's bookkeeping): ~35 MB at 100 000 PDRs. With Go's default
// GOGC=100 the heap may grow to twice what was live at the last collection,
// and a bulk install (a controller replaying 100 000 entries after a
// pipeline push) reaches that: the resident heap ends about twice the
// tables. At GOGC=50 it ends about 1.5 times, for twice the collections while
// entries are written; an idle agent allocates little, so it costs nothing
// then.
package gcpolicy

import (
	"os"
	"runtime/debug"
)

// DefaultGOGC is the agent's GOGC when the environment sets none.
const DefaultGOGC = 50

// Apply sets the collector's target percentage to DefaultGOGC unless GOGC is
// set in the environment, which the Go runtime has applied already. It
// returns whether it set the default.
func Apply() bool {
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	debug.SetGCPercent(DefaultGOGC)
	return true
}
