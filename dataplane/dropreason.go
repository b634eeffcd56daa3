package dataplane

// DropReason says why the pipeline dropped a packet. The codes come from the C enum
// drop_reason in bpf/linx.h (generated into Go by bpf2go); see docs/datapath.md.
type DropReason uint32
