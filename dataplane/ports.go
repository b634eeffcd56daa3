package dataplane

import (
	"maps"
	"slices"
)

func sortedPorts(m map[PortID]PortInfo) []PortInfo {
	return slices.SortedFunc(maps.Values(m), func(a, b PortInfo) int { return int(a.ID) - int(b.ID) })
}
