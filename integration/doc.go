// Package integration holds end-to-end tests of linx's data path: two
// gateways running the XDP pipeline natively on veths in network
// namespaces, joined by two WAN links, with a host behind each (the
// topology of internal/lab). The tests need root; they skip without it,
// unless LINX_REQUIRE_PRIV=1 makes them fail.
package integration
