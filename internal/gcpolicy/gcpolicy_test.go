package gcpolicy

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestApply: without GOGC in the environment the agent's default is in force;
// with it, the environment's value stays.
func TestApply(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	if v, ok := os.LookupEnv("GOGC"); ok {
		defer os.Setenv("GOGC", v)
	} else {
		defer os.Unsetenv("GOGC")
	}
	os.Unsetenv("GOGC")
	if !Apply() {
		t.Fatal("GOGC unset: Apply did not set the default")
	}
	if got := debug.SetGCPercent(100); got != DefaultGOGC {
		t.Fatalf("GOGC unset: percent %d, want %d", got, DefaultGOGC)
	}
	os.Setenv("GOGC", "200")
	debug.SetGCPercent(200) // what the runtime read at start
	if Apply() {
		t.Fatal("GOGC=200: Apply replaced the environment's value")
	}
	if got := debug.SetGCPercent(100); got != 200 {
		t.Fatalf("GOGC=200: percent %d, want 200", got)
	}
}
