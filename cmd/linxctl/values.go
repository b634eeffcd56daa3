package main

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Human values: what people type on the command line and what linxctl prints. The
// printed form of a value is always accepted as input, so output (text or JSON)
// can be fed back to add/del.

// wildcard is how a don't-care match field is written and printed.
const wildcard = "*"

// ternarySep separates value and mask of a ternary match (p4runtime-shell style).
const ternarySep = "&&&"

// protocols are the IPv4 protocol numbers linxctl knows by name.
var protocols = map[string]uint8{
	"icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "udp": 17, "gre": 47, "esp": 50,
	"ah": 51, "ospf": 89, "pim": 103, "vrrp": 112, "sctp": 132,
}

// dscpNames are the DSCP code points linxctl knows by name (RFC 2474, 2597, 3246,
// 5865, 8622). be, default and cs0 all mean 0; 0 prints as "be".
var dscpNames = map[string]uint8{
	"be": 0, "default": 0, "cs0": 0, "le": 1,
	"cs1": 8, "af11": 10, "af12": 12, "af13": 14,
	"cs2": 16, "af21": 18, "af22": 20, "af23": 22,
	"cs3": 24, "af31": 26, "af32": 28, "af33": 30,
	"cs4": 32, "af41": 34, "af42": 36, "af43": 38,
	"cs5": 40, "va": 44, "ef": 46, "cs6": 48, "cs7": 56,
}

// directions are the values of pdr's direction field.
var directions = map[string]uint8{"uplink": 1, "downlink": 2, "underlay": 3}

// nameOf returns the name of v in names (the preferred one when several names
// share a value), or "" when it has none.
func nameOf(names map[string]uint8, v uint8, preferred ...string) string {
	for _, p := range preferred {
		if n, ok := names[p]; ok && n == v {
			return p
		}
	}
	var found []string
	for k, n := range names {
		if n == v {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return ""
	}
	slices.Sort(found)
	return found[0]
}

// sortedNames lists a name table for error messages.
func sortedNames(names map[string]uint8) string {
	ks := make([]string, 0, len(names))
	for k := range names {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		if names[a] != names[b] {
			return int(names[a]) - int(names[b])
		}
		return strings.Compare(a, b)
	})
	return strings.Join(ks, ", ")
}

// parseUint parses a decimal (or 0x hexadecimal) number of at most bitwidth bits.
func parseUint(s string, bitwidth int) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if bits.Len64(v) > bitwidth {
		return 0, fmt.Errorf("%s does not fit %d bits (at most %d)", s, bitwidth, uint64(1)<<bitwidth-1)
	}
	return v, nil
}

// parseNamed parses a name from names or a number of bitwidth bits.
func parseNamed(s string, names map[string]uint8, bitwidth int, what string) (uint8, error) {
	if v, ok := names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := parseUint(s, bitwidth)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not a known name (%s) nor a number of %d bits", what, s, sortedNames(names), bitwidth)
	}
	return uint8(v), nil
}

// parseTernary8 parses a ternary 8-bit-or-narrower field: "*" (don't care), a name
// or number (exact), or value&&&mask.
func parseTernary8(s string, names map[string]uint8, bitwidth int, what string) (dataplane.Ternary[uint8], error) {
	full := uint8(1<<bitwidth - 1)
	if s == wildcard {
		return dataplane.Ternary[uint8]{}, nil
	}
	if vs, ms, ok := strings.Cut(s, ternarySep); ok {
		v, err := parseNamed(vs, names, bitwidth, what)
		if err != nil {
			return dataplane.Ternary[uint8]{}, err
		}
		m, err := parseUint(ms, bitwidth)
		if err != nil {
			return dataplane.Ternary[uint8]{}, fmt.Errorf("%s mask: %v", what, err)
		}
		return checkedTernary(v, uint8(m), what)
	}
	v, err := parseNamed(s, names, bitwidth, what)
	if err != nil {
		return dataplane.Ternary[uint8]{}, err
	}
	return dataplane.Ternary[uint8]{Value: v, Mask: full}, nil
}

func checkedTernary[T ~uint8 | ~uint16 | ~uint32](v, m T, what string) (dataplane.Ternary[T], error) {
	if v&^m != 0 {
		return dataplane.Ternary[T]{}, fmt.Errorf("%s: value %#x has bits outside mask %#x", what, v, m)
	}
	return dataplane.Ternary[T]{Value: v, Mask: m}, nil
}

// formatTernary8 prints a ternary field parsed by parseTernary8.
func formatTernary8(t dataplane.Ternary[uint8], names map[string]uint8, bitwidth int, preferred ...string) string {
	full := uint8(1<<bitwidth - 1)
	if t.Mask == 0 {
		return wildcard
	}
	v := strconv.Itoa(int(t.Value))
	if n := nameOf(names, t.Value, preferred...); n != "" {
		v = n
	}
	if t.Mask == full {
		return v
	}
	return fmt.Sprintf("%s%s%#x", v, ternarySep, t.Mask)
}

func parseProto(s string) (dataplane.Ternary[uint8], error) {
	return parseTernary8(s, protocols, p4info.BitsIPProto, "protocol")
}

func formatProto(t dataplane.Ternary[uint8]) string {
	return formatTernary8(t, protocols, p4info.BitsIPProto)
}

func parseDSCP(s string) (dataplane.Ternary[uint8], error) {
	return parseTernary8(s, dscpNames, p4info.BitsDSCP, "dscp")
}

func formatDSCP(t dataplane.Ternary[uint8]) string {
	return formatTernary8(t, dscpNames, p4info.BitsDSCP, "be")
}

func parseDirection(s string) (dataplane.Ternary[uint8], error) {
	return parseTernary8(s, directions, p4info.BitsDirection, "direction")
}

func formatDirection(t dataplane.Ternary[uint8]) string {
	return formatTernary8(t, directions, p4info.BitsDirection)
}

// parseInPort parses the ingress port match: "*", a port number, or value&&&mask.
func parseInPort(s string) (dataplane.Ternary[uint16], error) {
	if s == wildcard {
		return dataplane.Ternary[uint16]{}, nil
	}
	vs, ms, masked := strings.Cut(s, ternarySep)
	v, err := parseUint(vs, p4info.BitsPort)
	if err != nil {
		return dataplane.Ternary[uint16]{}, fmt.Errorf("ingress port: %v", err)
	}
	if !masked {
		return dataplane.Exact(uint16(v)), nil
	}
	m, err := parseUint(ms, p4info.BitsPort)
	if err != nil {
		return dataplane.Ternary[uint16]{}, fmt.Errorf("ingress port mask: %v", err)
	}
	return checkedTernary(uint16(v), uint16(m), "ingress port")
}

func formatInPort(t dataplane.Ternary[uint16]) string {
	switch t.Mask {
	case 0:
		return wildcard
	case 0xffff:
		return strconv.Itoa(int(t.Value))
	}
	return fmt.Sprintf("%d%s%#x", t.Value, ternarySep, t.Mask)
}

// parseAddr4 parses a dotted-quad IPv4 address.
func parseAddr4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

// parsePrefixMatch parses an address match: "*", an address (/32), a prefix
// (10.1.0.0/16; host bits must be zero), or address&&&mask with a dotted mask.
func parsePrefixMatch(s string) (dataplane.Ternary[uint32], error) {
	if s == wildcard {
		return dataplane.Ternary[uint32]{}, nil
	}
	if as, ms, ok := strings.Cut(s, ternarySep); ok {
		a, err := parseAddr4(as)
		if err != nil {
			return dataplane.Ternary[uint32]{}, err
		}
		m, err := parseAddr4(ms)
		if err != nil {
			return dataplane.Ternary[uint32]{}, fmt.Errorf("mask: %v", err)
		}
		return checkedTernary(dataplane.IPv4(a), dataplane.IPv4(m), s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return dataplane.Ternary[uint32]{}, fmt.Errorf("%q is not an IPv4 prefix", s)
		}
		if p.Masked() != p {
			return dataplane.Ternary[uint32]{}, fmt.Errorf("prefix %s has host bits set (did you mean %s?)", s, p.Masked())
		}
		return dataplane.Prefix(p), nil
	}
	a, err := parseAddr4(s)
	if err != nil {
		return dataplane.Ternary[uint32]{}, err
	}
	return dataplane.Exact(dataplane.IPv4(a)), nil
}

// formatPrefixMatch prints an address match: "*", an address, a prefix, or
// address&&&mask for masks that are not prefixes.
func formatPrefixMatch(t dataplane.Ternary[uint32]) string {
	switch {
	case t.Mask == 0:
		return wildcard
	case t.Mask == ^uint32(0):
		return dataplane.AddrFrom4(t.Value).String()
	case bits.LeadingZeros32(^t.Mask)+bits.TrailingZeros32(t.Mask) == 32: // contiguous
		return netip.PrefixFrom(dataplane.AddrFrom4(t.Value), bits.OnesCount32(t.Mask)).String()
	}
	return dataplane.AddrFrom4(t.Value).String() + ternarySep + dataplane.AddrFrom4(t.Mask).String()
}

// isIPv6Match reports whether an address match (parsePrefixMatch's forms) is
// written with an IPv6 address.
func isIPv6Match(s string) bool { return strings.Contains(s, ":") }

// parsePrefix6Match parses an IPv6 address match: an address (/128), a prefix
// (2001:db8::/32; host bits must be zero), or address&&&mask.
func parsePrefix6Match(s string) (dataplane.Addr6, error) {
	if as, ms, ok := strings.Cut(s, ternarySep); ok {
		a, err1 := netip.ParseAddr(as)
		m, err2 := netip.ParseAddr(ms)
		if err1 != nil || err2 != nil || !a.Is6() || !m.Is6() || a.Is4In6() {
			return dataplane.Addr6{}, fmt.Errorf("%q is not IPv6 address%smask", s, ternarySep)
		}
		v := dataplane.Addr6{Value: a.As16(), Mask: m.As16()}
		for i := range v.Value {
			if v.Value[i]&^v.Mask[i] != 0 {
				return dataplane.Addr6{}, fmt.Errorf("%s: value %s has bits outside mask %s", s, a, m)
			}
		}
		return v, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return dataplane.Addr6{}, fmt.Errorf("%q is not an IPv6 prefix", s)
		}
		if p.Masked() != p {
			return dataplane.Addr6{}, fmt.Errorf("prefix %s has host bits set (did you mean %s?)", s, p.Masked())
		}
		return dataplane.Prefix6(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return dataplane.Addr6{}, fmt.Errorf("%q is not an IPv6 address", s)
	}
	return dataplane.Prefix6(netip.PrefixFrom(a, 128)), nil
}

// formatPrefix6Match prints what parsePrefix6Match parses.
func formatPrefix6Match(m dataplane.Addr6) string {
	if m.IsZero() {
		return wildcard
	}
	ones, contiguous := 0, true
	for i := range 128 {
		set := m.Mask[i/8]&(0x80>>(i%8)) != 0
		switch {
		case set && ones == i:
			ones++
		case set:
			contiguous = false
		}
	}
	v := netip.AddrFrom16(m.Value)
	switch {
	case contiguous && ones == 128:
		return v.String()
	case contiguous:
		return netip.PrefixFrom(v, ones).String()
	}
	return v.String() + ternarySep + netip.AddrFrom16(m.Mask).String()
}

// parseIPVersion parses ip=: 4, 6 (ipv4, ipv6) or * (both).
func parseIPVersion(s string) (uint8, error) {
	switch strings.ToLower(s) {
	case "4", "ipv4":
		return dataplane.FamilyIPv4, nil
	case "6", "ipv6":
		return dataplane.FamilyIPv6, nil
	case wildcard:
		return dataplane.FamilyAny, nil
	}
	return 0, fmt.Errorf("%q is not an IP version: 4, 6 or * (both)", s)
}

// parsePortRange parses an L4 port match: "*", "5060" or "5060-5061".
func parsePortRange(s string) (dataplane.PortRange, error) {
	if s == wildcard {
		return dataplane.AnyPort, nil
	}
	los, his, isRange := strings.Cut(s, "-")
	lo, err := parseUint(los, p4info.BitsL4Port)
	if err != nil {
		return dataplane.PortRange{}, fmt.Errorf("port: %v", err)
	}
	if !isRange {
		return dataplane.OnePort(uint16(lo)), nil
	}
	hi, err := parseUint(his, p4info.BitsL4Port)
	if err != nil {
		return dataplane.PortRange{}, fmt.Errorf("port range: %v", err)
	}
	if lo > hi {
		return dataplane.PortRange{}, fmt.Errorf("port range %s: low end above high end", s)
	}
	return dataplane.PortRange{Lo: uint16(lo), Hi: uint16(hi)}, nil
}

func formatPortRange(r dataplane.PortRange) string {
	switch {
	case r == dataplane.AnyPort:
		return wildcard
	case r.Lo == r.Hi:
		return strconv.Itoa(int(r.Lo))
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// parseID parses a rule id (far, lbr, tunnel: 32 bits).
func parseID(s, what string) (uint32, error) {
	v, err := parseUint(s, p4info.BitsRuleID)
	if err != nil {
		return 0, fmt.Errorf("%s id: %v", what, err)
	}
	return uint32(v), nil
}

// parsePort parses a P4 port number (1..65535).
func parsePort(s string) (dataplane.PortID, error) {
	v, err := parseUint(s, p4info.BitsPort)
	if err != nil {
		return 0, fmt.Errorf("port: %v", err)
	}
	if v == 0 {
		return 0, fmt.Errorf("port: 0 is not a port (P4 ports are 1..65535)")
	}
	return dataplane.PortID(v), nil
}

// parsePriority parses a pdr priority: 1..2^31-1, higher wins.
func parsePriority(s string) (int32, error) {
	v, err := strconv.ParseInt(s, 0, 32)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("priority %q: want a number in 1..%d (higher wins)", s, int32(1<<31-1))
	}
	return int32(v), nil
}

// kv is one key=value argument.
type kv struct{ key, value string }

// parseKVs splits key=value arguments, mapping aliases to canonical keys (aliases
// maps every accepted spelling, canonical ones included). Keys may not repeat.
func parseKVs(args []string, aliases map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %q: want key=value (keys: %s)", a, keyList(aliases))
		}
		canon, known := aliases[strings.ToLower(k)]
		if !known {
			return nil, fmt.Errorf("unknown key %q (keys: %s)", k, keyList(aliases))
		}
		if _, dup := out[canon]; dup {
			return nil, fmt.Errorf("key %q given twice", canon)
		}
		if v == "" {
			return nil, fmt.Errorf("key %q has an empty value", k)
		}
		out[canon] = v
	}
	return out, nil
}

// keyList lists the canonical keys of an alias table.
func keyList(aliases map[string]string) string {
	seen := map[string]bool{}
	var ks []string
	for _, c := range aliases {
		if !seen[c] {
			seen[c] = true
			ks = append(ks, c)
		}
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}
