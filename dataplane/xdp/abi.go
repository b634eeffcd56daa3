package xdp

import "github.com/linx-sdwan/linx/dataplane"

// The contract's enums and sizes are those bpf2go generated from the C. Each
// line below fails to compile unless both sides are equal: their difference is
// a constant index into a one-element array (out of range when positive) of an
// unsigned type (overflowing when negative).
var (
	_ = [1]struct{}{}[dataplane.RoleLAN-dataplane.Role(linxRoleROLE_LAN)]
	_ = [1]struct{}{}[dataplane.RoleWAN-dataplane.Role(linxRoleROLE_WAN)]
	_ = [1]struct{}{}[dataplane.DirUplink-dataplane.Direction(linxDirectionDIR_UPLINK)]
	_ = [1]struct{}{}[dataplane.DirDownlink-dataplane.Direction(linxDirectionDIR_DOWNLINK)]
	_ = [1]struct{}{}[dataplane.DirUnderlay-dataplane.Direction(linxDirectionDIR_UNDERLAY)]
	_ = [1]struct{}{}[dataplane.ActDrop-dataplane.Action(linxFarActionFAR_DROP)]
	_ = [1]struct{}{}[dataplane.ActPass-dataplane.Action(linxFarActionFAR_PASS)]
	_ = [1]struct{}{}[dataplane.ActForward-dataplane.Action(linxFarActionFAR_FORWARD)]
	_ = [1]struct{}{}[dataplane.ActEncap-dataplane.Action(linxFarActionFAR_ENCAP)]
	_ = [1]struct{}{}[dataplane.ActBalance-dataplane.Action(linxFarActionFAR_BALANCE)]
	_ = [1]struct{}{}[dataplane.ActPunt-dataplane.Action(linxFarActionFAR_PUNT)]
	_ = [1]struct{}{}[dataplane.NonIPPass-dataplane.NonIPAction(linxNonIpActionNON_IP_PASS)]
	_ = [1]struct{}{}[dataplane.NonIPDrop-dataplane.NonIPAction(linxNonIpActionNON_IP_DROP)]
	_ = [1]struct{}{}[dataplane.NonIPPunt-dataplane.NonIPAction(linxNonIpActionNON_IP_PUNT)]
	_ = [1]struct{}{}[dataplane.NonIPCopyToController-dataplane.NonIPAction(linxNonIpActionNON_IP_COPY)]

	_ = [1]struct{}{}[uint(dataplane.LBRSlots)-uint(len(linxLbr{}.Slots))]
	_ = [1]struct{}{}[uint(len(linxLbr{}.Slots))-uint(dataplane.LBRSlots)]
	_ = [1]struct{}{}[uint(dataplane.MaxLBRMembers)-uint(len(linxLbr{}.Members))]
	_ = [1]struct{}{}[uint(len(linxLbr{}.Members))-uint(dataplane.MaxLBRMembers)]
	_ = [1]struct{}{}[uint(dataplane.MaxPuntBytes)-uint(len(linxPuntRecord{}.Data))]
	_ = [1]struct{}{}[uint(len(linxPuntRecord{}.Data))-uint(dataplane.MaxPuntBytes)]

	_ = [1]struct{}{}[uint(dataplane.NumDropReasons)-uint(linxDropReasonDROP_REASON_MAX)]
	_ = [1]struct{}{}[uint(linxDropReasonDROP_REASON_MAX)-uint(dataplane.NumDropReasons)]
	_ = [1]struct{}{}[dataplane.DropUnspec-dataplane.DropReason(linxDropReasonDROP_UNSPEC)]
	_ = [1]struct{}{}[dataplane.DropPolicy-dataplane.DropReason(linxDropReasonDROP_POLICY)]
	_ = [1]struct{}{}[dataplane.DropMalformedEth-dataplane.DropReason(linxDropReasonDROP_MALFORMED_ETH)]
	_ = [1]struct{}{}[dataplane.DropMalformedVLAN-dataplane.DropReason(linxDropReasonDROP_MALFORMED_VLAN)]
	_ = [1]struct{}{}[dataplane.DropVLANDepth-dataplane.DropReason(linxDropReasonDROP_VLAN_DEPTH)]
	_ = [1]struct{}{}[dataplane.DropMalformedIP-dataplane.DropReason(linxDropReasonDROP_MALFORMED_IP)]
	_ = [1]struct{}{}[dataplane.DropIPIHL-dataplane.DropReason(linxDropReasonDROP_IP_IHL)]
	_ = [1]struct{}{}[dataplane.DropIPLen-dataplane.DropReason(linxDropReasonDROP_IP_LEN)]
	_ = [1]struct{}{}[dataplane.DropMalformedL4-dataplane.DropReason(linxDropReasonDROP_MALFORMED_L4)]
	_ = [1]struct{}{}[dataplane.DropMalformedGRE-dataplane.DropReason(linxDropReasonDROP_MALFORMED_GRE)]
	_ = [1]struct{}{}[dataplane.DropGREFlags-dataplane.DropReason(linxDropReasonDROP_GRE_FLAGS)]
	_ = [1]struct{}{}[dataplane.DropGREProto-dataplane.DropReason(linxDropReasonDROP_GRE_PROTO)]
	_ = [1]struct{}{}[dataplane.DropGREFragment-dataplane.DropReason(linxDropReasonDROP_GRE_FRAGMENT)]
	_ = [1]struct{}{}[dataplane.DropGRESpoofed-dataplane.DropReason(linxDropReasonDROP_GRE_SPOOFED)]
	_ = [1]struct{}{}[dataplane.DropTailCall-dataplane.DropReason(linxDropReasonDROP_TAIL_CALL)]
	_ = [1]struct{}{}[dataplane.DropNoFAR-dataplane.DropReason(linxDropReasonDROP_NO_FAR)]
	_ = [1]struct{}{}[dataplane.DropNoTunnel-dataplane.DropReason(linxDropReasonDROP_NO_TUNNEL)]
	_ = [1]struct{}{}[dataplane.DropTunnelDown-dataplane.DropReason(linxDropReasonDROP_TUNNEL_DOWN)]
	_ = [1]struct{}{}[dataplane.DropNoLBR-dataplane.DropReason(linxDropReasonDROP_NO_LBR)]
	_ = [1]struct{}{}[dataplane.DropLBRDown-dataplane.DropReason(linxDropReasonDROP_LBR_DOWN)]
	_ = [1]struct{}{}[dataplane.DropNoPort-dataplane.DropReason(linxDropReasonDROP_NO_PORT)]
	_ = [1]struct{}{}[dataplane.DropNoRoute-dataplane.DropReason(linxDropReasonDROP_NO_ROUTE)]
	_ = [1]struct{}{}[dataplane.DropEgressNotLinx-dataplane.DropReason(linxDropReasonDROP_EGRESS_NOT_LINX)]
	_ = [1]struct{}{}[dataplane.DropTooBig-dataplane.DropReason(linxDropReasonDROP_TOO_BIG)]
	_ = [1]struct{}{}[dataplane.DropICMPTooBig-dataplane.DropReason(linxDropReasonDROP_ICMP_TOO_BIG)]
	_ = [1]struct{}{}[dataplane.DropPuntFull-dataplane.DropReason(linxDropReasonDROP_PUNT_FULL)]
	_ = [1]struct{}{}[dataplane.DropAdjust-dataplane.DropReason(linxDropReasonDROP_ADJUST)]
	_ = [1]struct{}{}[dataplane.DropInternal-dataplane.DropReason(linxDropReasonDROP_INTERNAL)]
	_ = [1]struct{}{}[dataplane.DropNonIPRule-dataplane.DropReason(linxDropReasonDROP_NON_IP_RULE)]
)
