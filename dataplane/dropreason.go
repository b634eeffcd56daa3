package dataplane

import "fmt"

// The drop reason constants and their names are generated from the C enum
// drop_reason in bpf/linx.h, the one place a reason is added.
//go:generate go run ./internal/reasongen -in ../bpf/linx.h -out dropreason_gen.go

// DropReason says why the pipeline dropped a packet. The codes are the C enum
// drop_reason; docs/datapath.md lists them. They are also the indices of the P4
// drop counter.
type DropReason uint32

// String returns the reason's name from the C enum, e.g. "gre_spoofed".
func (r DropReason) String() string {
	if int(r) < NumDropReasons {
		return dropReasonNames[r]
	}
	return fmt.Sprintf("drop_reason(%d)", uint32(r))
}
