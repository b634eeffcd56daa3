// Package metrics exposes linx-agent to Prometheus: collectors that read the
// data path's counters and the P4Runtime arbitration state when scraped,
// gRPC server interceptors that count RPCs and time them, and the HTTP
// handler serving /metrics, /healthz and /readyz.
//
// Nothing here caches a counter: every scrape reads the live values, so a
// scrape costs one map lookup per port, tunnel and drop reason (and per rule
// when per-PDR metrics are on). The package does not log; read errors are
// reported to the scraper (promhttp's error handling and ErrorLog) and counted
// in linx_metrics_read_errors_total.
//
// docs/operations.md lists every metric with its labels.
package metrics

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every linx metric.
const Namespace = "linx"

// NewRegistry returns a registry holding the Go runtime, process and build
// information collectors; add linx's own with Register.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return r
}

// State is the agent's lifecycle as /readyz reports it.
type State int32

// States, in the order an agent goes through them.
const (
	Starting State = iota // loading the data path, attaching ports
	Ready                 // data path loaded, gRPC listening
	Stopping              // shutting down
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Ready:
		return "ready"
	case Stopping:
		return "stopping"
	}
	return "unknown"
}

// Health is the agent's lifecycle state, safe for concurrent use. The zero
// value is Starting.
type Health struct{ s atomic.Int32 }

// Set records the agent's state.
func (h *Health) Set(s State) { h.s.Store(int32(s)) }

// State returns the agent's state.
func (h *Health) State() State { return State(h.s.Load()) }

// HandlerOptions configure Handler.
type HandlerOptions struct {
	// ErrorLog receives errors met while gathering or serving metrics; nil
	// drops them (they are still counted and the scrape still succeeds with
	// what could be read).
	ErrorLog promhttp.Logger
}

// Handler serves:
//
//	/metrics  the metrics of g (Prometheus text or protobuf exposition)
//	/healthz  200 while the process serves HTTP (liveness)
//	/readyz   200 once h is Ready, 503 while Starting or Stopping
func Handler(g prometheus.Gatherer, h *Health, o HandlerOptions) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      o.ErrorLog,
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		s := h.State()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s != Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(s.String() + "\n"))
	})
	return mux
}
