package dataplane

import (
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// DropReason says why the pipeline dropped a packet. The codes are the C enum
// drop_reason in bpf/linx.h, generated into Go by bpf2go; docs/datapath.md lists
// them. They are also the indices of the P4 drop counter.
type DropReason uint32

// NumDropReasons bounds the reason codes (0 is unused).
const NumDropReasons = int(linxDropReasonDROP_REASON_MAX)

// Drop reasons the Go side refers to by name.
const (
	DropPolicy      = DropReason(linxDropReasonDROP_POLICY)
	DropGRESpoofed  = DropReason(linxDropReasonDROP_GRE_SPOOFED)
	DropTailCall    = DropReason(linxDropReasonDROP_TAIL_CALL)
	DropTooBig      = DropReason(linxDropReasonDROP_TOO_BIG)
	DropICMPTooBig  = DropReason(linxDropReasonDROP_ICMP_TOO_BIG)
	DropTunnelDown  = DropReason(linxDropReasonDROP_TUNNEL_DOWN)
	DropLBRDown     = DropReason(linxDropReasonDROP_LBR_DOWN)
	DropNoFAR       = DropReason(linxDropReasonDROP_NO_FAR)
	DropMalformedIP = DropReason(linxDropReasonDROP_MALFORMED_IP)
	DropPuntFull    = DropReason(linxDropReasonDROP_PUNT_FULL)
	DropNonIPRule   = DropReason(linxDropReasonDROP_NON_IP_RULE)
)

var dropNames = sync.OnceValue(func() map[DropReason]string {
	names := map[DropReason]string{}
	spec, err := loadLinx()
	if err != nil {
		return names
	}
	var e *btf.Enum
	if err := spec.Types.TypeByName("drop_reason", &e); err != nil {
		return names
	}
	for _, v := range e.Values {
		names[DropReason(v.Value)] = strings.ToLower(strings.TrimPrefix(v.Name, "DROP_"))
	}
	return names
})

// String returns the reason's name from the C enum, e.g. "gre_spoofed".
func (r DropReason) String() string {
	if n, ok := dropNames()[r]; ok {
		return n
	}
	return fmt.Sprintf("drop_reason(%d)", uint32(r))
}
