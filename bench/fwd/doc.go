// Package fwd is linx's live forwarding benchmark harness: it measures how many
// packets per second a gateway forwards, with real frames crossing real veths, so
// that data-path changes are judged by delivered throughput rather than by
// BPF_PROG_TEST_RUN on a single program (which times neither the redirect, nor
// the veth hop, nor a packet rewritten by an earlier stage).
//
// Each Case builds three network namespaces:
//
//	gen  ──veth──▶  gateway  ──veth(s)──▶  sink
//	g0              in0      out0, out1     s0, s1
//
// The generator is an XDP program (fwd_gen in fwd.c) run with
// BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: the kernel sends every frame
// it returns XDP_REDIRECT for, in batches of 64, out of g0. Its pages are
// recycled, so it stamps the whole header template into every frame before
// varying the flow. The sink (fwd_sink) counts per CPU and drops; throughput is
// sink frames per second of generator run time, and a run reports the frames
// lost between them (sink != sent).
//
// The gateway is one of: a plain devmap redirect (the ceiling), the smallest
// program that does the uplink's job (minimal.c: parse, one per-CPU ARRAY
// lookup, a precomputed GRE header, checksum, redirect; the floor of any
// design), the kernel's own IPv4 forwarding (no XDP), or the real linx
// pipeline loaded and programmed
// through the project's own API (see gateway.go, the one file that names the
// loader). veth only delivers an XDP_REDIRECTed frame when the target's peer
// runs XDP or GRO: the sink provides it on the far side, linx or the bare program
// (or GRO, for the kernel path) on the gateway's ingress.
//
// On a veth chain everything runs on the sending CPU (the peer's NAPI runs in
// the sender's softirq), so generator, gateway and sink share one core; compare
// cases within one run and prefer ratios. BenchmarkForward drives every case;
// TestForwardHarness checks each delivers sink == sent. This package is what
// `make bench` and the paper evaluation build on; docs/benchmarks.md says how
// to run it and records the baseline.
package fwd
