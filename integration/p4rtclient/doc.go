// Package p4rtclient drives linx-agent with a real third-party P4Runtime client,
// github.com/antoninbas/p4runtime-go-client, as an independent check of the
// agent's P4Runtime service.
//
// It is its own Go module: that client only compiles against
// github.com/p4lang/p4runtime v1.4.0-rc.5, while linx uses v1.4.1. So the tests
// do not import linx; they build cmd/linx-agent from the parent module, run it
// with the in-memory data path on a loopback port, and talk to it over gRPC like
// any controller would. Run them with `make test` or
// `cd integration/p4rtclient && go test ./...`.
package p4rtclient
