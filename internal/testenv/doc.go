// Package testenv holds helpers for privileged tests: throwaway network
// namespaces joined by veth pairs, interface configuration, offload toggles
// and small traffic generators (ICMP, TCP, UDP).
//
// The work is done by package netlab, which returns errors; testenv wraps it
// for tests: helpers fail the test on error (tb.Fatalf), register cleanups,
// and skip tests whose prerequisites are missing. Types such as NS, Capture
// and UDPSink are netlab's, so a test can hand them to error-returning code
// (internal/lab) as they are.
//
// Everything a helper creates lives inside namespaces made by NewNS, so a
// test never touches the host's interfaces or sends traffic off the
// machine. Namespaces are removed by tb.Cleanup even when the test fails.
//
// Tests that cannot run (not root, kernel lacks a feature) are skipped,
// unless LINX_REQUIRE_PRIV=1 is set, in which case they fail: in CI a
// skipped privileged test proves nothing.
package testenv
