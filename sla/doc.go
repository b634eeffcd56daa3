// Package sla is linx's SD-WAN brain: it measures every overlay with STAMP probes
// (RFC 8762) sent through the tunnel itself, turns the replies into a quality
// (round-trip time, loss, jitter), decides per tunnel whether it is up, degraded or
// down, and per SLA class which tunnels may carry the class.
//
// It exists because carrier loss, the only failure linx could see before, is the
// rare one: Internet paths usually go black or brown with the link still up. The
// package is pure Go with no kernel dependency, no goroutine of its own unless Run
// is called, no global state and no logging, so every decision is reproducible
// in a unit test from a sequence of packets and a fake clock. The agent wires it to
// the data path: it implements Sender (inject a probe into a tunnel), feeds Receive
// with the replies the data path punts, and applies the state and selection
// changes (tunnel down, LBR members) it is called back with. docs/sla.md
// describes the probes, thresholds, timings and what is still to be wired.
//
// The parts, each usable alone:
//   - stamp.go: the STAMP unauthenticated test packets, and Reflect, the model of
//     what a linx reflector answers.
//   - estimator.go: per probe session, RTT, loss and jitter over a sliding window.
//   - state.go: the per-tunnel up/degraded/down machine and the per-class SLA
//     gate, both with hysteresis and hold-down.
//   - class.go: SLA classes and Select, which members carry each class.
//   - prober.go: schedules probes, takes replies, drives the above and reports.
package sla
