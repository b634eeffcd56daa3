// Package netlab builds throwaway network topologies inside network
// namespaces and drives traffic through them: namespaces joined by veth
// pairs, addresses, routes, neighbours, sysctls, ethtool offloads, and small
// traffic generators and sinks (ICMP echo, TCP transfers, tagged UDP flows).
//
// Every function returns errors instead of failing a test, so the same code
// serves tests (through the thin wrappers in internal/testenv) and
// long-running tools such as cmd/linx-lab.
//
// Nothing here touches the host's interfaces: every helper takes the
// namespace it works in, and a nil namespace is an error, never "the host".
// Addresses must be IP literals, so no name resolution (which would run
// outside the namespace) ever happens.
package netlab
