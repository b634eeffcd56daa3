package xdp

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
)

// slotCounts returns how many slots of table each tunnel holds.
func slotCounts(table []dataplane.TunnelID) map[dataplane.TunnelID]int {
	c := map[dataplane.TunnelID]int{}
	for _, t := range table {
		c[t]++
	}
	return c
}

// movedSlots returns how many slots differ between a and b.
func movedSlots(a, b []dataplane.TunnelID) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// minMoved is the fewest slots any table change from a to b could move: the slots
// the members that grow must gain.
func minMoved(a, b []dataplane.TunnelID) int {
	ca, cb := slotCounts(a), slotCounts(b)
	n := 0
	for t, c := range cb {
		if c > ca[t] {
			n += c - ca[t]
		}
	}
	return n
}

func tableDigest(table []dataplane.TunnelID) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, t := range table {
		binary.LittleEndian.PutUint32(b[:], uint32(t))
		h.Write(b[:])
	}
	return h.Sum64()
}

func members(pairs ...uint32) []dataplane.LBRMember {
	var m []dataplane.LBRMember
	for i := 0; i+1 < len(pairs); i += 2 {
		m = append(m, dataplane.LBRMember{Tunnel: dataplane.TunnelID(pairs[i]), Weight: pairs[i+1]})
	}
	return m
}

func TestMaglevShares(t *testing.T) {
	sixteen := make([]dataplane.LBRMember, 16)
	for i := range sixteen {
		sixteen[i] = dataplane.LBRMember{Tunnel: dataplane.TunnelID(100 + 37*i), Weight: uint32(1 + i%5)}
	}
	cases := []struct {
		name    string
		members []dataplane.LBRMember
		size    int
	}{
		{"3:1", members(1, 3, 2, 1), dataplane.LBRSlots},
		{"1:1:1", members(7, 1, 8, 1, 9, 1), dataplane.LBRSlots},
		{"5:3:2", members(10, 5, 20, 3, 30, 2), dataplane.LBRSlots},
		{"16 members", sixteen, dataplane.LBRSlots},
		{"16 equal", members(0, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1, 7, 1, 8, 1, 9, 1, 10, 1, 11, 1, 12, 1, 13, 1, 14, 1, 15, 1), dataplane.LBRSlots},
		{"single", members(4095, 9), dataplane.LBRSlots},
		{"max total weight", members(1, 1, 2, 1020), dataplane.LBRSlots},
		{"huge weights", members(1, math.MaxUint32, 2, math.MaxUint32/3), dataplane.LBRSlots},
		{"small prime", members(1, 2, 2, 1), 13},
		{"large prime", members(1, 5, 2, 3, 3, 2), 65537},
		{"size 1", members(1, 1, 2, 1), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := maglevTable(tc.members, tc.size)
			if len(table) != tc.size {
				t.Fatalf("len = %d, want %d", len(table), tc.size)
			}
			var total float64
			for _, m := range tc.members {
				total += float64(m.Weight)
			}
			counts := slotCounts(table)
			for _, m := range tc.members {
				exact := float64(m.Weight) / total * float64(tc.size)
				got := counts[m.Tunnel]
				// Largest-remainder quotas: strictly within one slot of the exact share.
				if math.Abs(float64(got)-exact) >= 1 {
					t.Errorf("tunnel %d (weight %d): %d slots, exact share %.2f", m.Tunnel, m.Weight, got, exact)
				}
				delete(counts, m.Tunnel)
			}
			if len(counts) != 0 {
				t.Errorf("slots held by non-members: %v", counts)
			}
		})
	}
}

// With total weight <= LBRSlots (what ValidateMembers allows) every member gets a slot.
func TestMaglevEveryMemberGetsASlot(t *testing.T) {
	m := members(1, 1, 2, 1, 3, 1019) // total 1021
	c := slotCounts(maglevTable(m, dataplane.LBRSlots))
	if c[1] != 1 || c[2] != 1 || c[3] != 1019 {
		t.Fatalf("counts = %v", c)
	}
}

func TestMaglevEmpty(t *testing.T) {
	for name, tc := range map[string]struct {
		m    []dataplane.LBRMember
		size int
	}{
		"no members":   {nil, dataplane.LBRSlots},
		"empty slice":  {[]dataplane.LBRMember{}, dataplane.LBRSlots},
		"zero weights": {members(1, 0, 2, 0), dataplane.LBRSlots},
		"size 0":       {members(1, 1), 0},
		"size < 0":     {members(1, 1), -5},
	} {
		if got := maglevTable(tc.m, tc.size); got != nil {
			t.Errorf("%s: got %d slots, want nil", name, len(got))
		}
	}
	// A zero-weight member next to others gets nothing.
	if c := slotCounts(maglevTable(members(1, 0, 2, 1), dataplane.LBRSlots)); c[1] != 0 || c[2] != dataplane.LBRSlots {
		t.Errorf("zero-weight member: counts %v", c)
	}
}

func TestMaglevDeterministicAndOrderIndependent(t *testing.T) {
	m := members(40, 5, 3, 1, 17, 2, 900, 7, 41, 1)
	orig := slices.Clone(m)
	want := maglevTable(m, dataplane.LBRSlots)
	if !slices.Equal(m, orig) {
		t.Fatalf("maglevTable modified its input: %v", m)
	}
	if got := maglevTable(m, dataplane.LBRSlots); !slices.Equal(got, want) {
		t.Fatal("same input, different table")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		p := slices.Clone(m)
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		if got := maglevTable(p, dataplane.LBRSlots); !slices.Equal(got, want) {
			t.Fatalf("order %v gives a different table", p)
		}
	}
}

// The table must not change between linx versions: a restarted agent recomputes the
// tables of a pinned data path, and a different table re-routes established flows.
// If this test fails, the change to maglev.go changes the load balancing of every
// deployed gateway on upgrade.
func TestMaglevGolden(t *testing.T) {
	cases := []struct {
		m      []dataplane.LBRMember
		head   []dataplane.TunnelID
		digest uint64
	}{
		{members(1, 1, 2, 1), []dataplane.TunnelID{1, 2, 2, 1, 2, 2, 2, 1}, 0xa84435dea4bf3dc4},
		{members(10, 5, 20, 3, 30, 2), []dataplane.TunnelID{20, 20, 20, 10, 30, 10, 20, 10}, 0xe484d59a7b44e51f},
		{members(7, 1), []dataplane.TunnelID{7, 7, 7, 7, 7, 7, 7, 7}, 0x9a09c6bb3528ae62},
	}
	for _, tc := range cases {
		table := maglevTable(tc.m, dataplane.LBRSlots)
		head, digest := table[:8], tableDigest(table)
		if !slices.Equal(head, tc.head) || digest != tc.digest {
			t.Errorf("%v: head %v digest %#x, want head %v digest %#x", tc.m, head, digest, tc.head, tc.digest)
		}
	}
}

// Changing weights moves close to the minimum number of slots. Measured over these
// configurations: 3:1 -> 2:1 moves 85..87 slots against a minimum of 85 (mean excess
// 0.0); 5:3:2 -> 5:4:2 at most 9 above the minimum of about 65 (mean 3.5);
// 1:1:1:1 -> 1:1:1:3 at most 16 above the minimum of about 255 (mean 7.3); doubling
// one weight among 16 members at most 43 above a minimum of about 46 (mean 29: Maglev
// trades some disruption for exact balance, and the more members, the more contested
// slots).
func TestMaglevWeightChange(t *testing.T) {
	cases := []struct {
		name     string
		from, to func(b uint32) []dataplane.LBRMember
		slack    int // allowed slots moved beyond the minimum, per configuration
	}{
		{"3:1->2:1", func(b uint32) []dataplane.LBRMember { return members(2*b, 3, 2*b+1, 1) },
			func(b uint32) []dataplane.LBRMember { return members(2*b, 2, 2*b+1, 1) }, 10},
		{"3:1->2:1 spread ids", func(b uint32) []dataplane.LBRMember { return members(97*b, 3, 97*b+13, 1) },
			func(b uint32) []dataplane.LBRMember { return members(97*b, 2, 97*b+13, 1) }, 10},
		{"5:3:2->5:4:2", func(b uint32) []dataplane.LBRMember { return members(3*b, 5, 3*b+1, 3, 3*b+2, 2) },
			func(b uint32) []dataplane.LBRMember { return members(3*b, 5, 3*b+1, 4, 3*b+2, 2) }, 20},
		{"1:1:1:1->1:1:1:3", func(b uint32) []dataplane.LBRMember { return members(4*b, 1, 4*b+1, 1, 4*b+2, 1, 4*b+3, 1) },
			func(b uint32) []dataplane.LBRMember { return members(4*b, 1, 4*b+1, 1, 4*b+2, 1, 4*b+3, 3) }, 30},
		{"16 members, one weight doubled", func(b uint32) []dataplane.LBRMember { return sixteenMembers(b, 0) },
			func(b uint32) []dataplane.LBRMember { return sixteenMembers(b, 5) }, 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var worst, sumExcess int
			const configs = 300
			for b := range uint32(configs) {
				x, y := maglevTable(tc.from(b), dataplane.LBRSlots), maglevTable(tc.to(b), dataplane.LBRSlots)
				moved, minimum := movedSlots(x, y), minMoved(x, y)
				excess := moved - minimum
				if excess > tc.slack || float64(moved) > 2*float64(minimum)+float64(tc.slack) {
					t.Errorf("config %d: moved %d slots, minimum %d", b, moved, minimum)
				}
				worst = max(worst, excess)
				sumExcess += excess
			}
			t.Logf("excess over the minimum: worst %d, mean %.1f", worst, float64(sumExcess)/configs)
		})
	}
}

func sixteenMembers(b uint32, doubled int) []dataplane.LBRMember {
	m := make([]dataplane.LBRMember, 16)
	for i := range m {
		w := uint32(1 + i%4)
		if i == doubled && doubled != 0 {
			w *= 2
		}
		m[i] = dataplane.LBRMember{Tunnel: dataplane.TunnelID(7*b + 3*uint32(i)), Weight: w}
	}
	return m
}

// Removing a member reassigns its slots; the slots of the others should mostly stay.
// Measured over these configurations: at most 25 of 1021 slots (2.4%) of the
// remaining members move when one of four goes, mean about 11 (1.1%); at most 52
// (5.1%), mean 33 (3.2%), when one of sixteen goes.
func TestMaglevRemoveMember(t *testing.T) {
	cases := []struct {
		name    string
		weights []uint32
		limit   int // slots of remaining members that may move, per configuration
		mean    float64
	}{
		{"1:1:1:1", []uint32{1, 1, 1, 1}, 31, 15},
		{"5:3:2:7", []uint32{5, 3, 2, 7}, 31, 15},
		{"16 members", []uint32{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}, 61, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := uint32(len(tc.weights))
			var worst, sum, count int
			for b := range uint32(120) {
				var ms []dataplane.LBRMember
				for i, w := range tc.weights {
					ms = append(ms, dataplane.LBRMember{Tunnel: dataplane.TunnelID(n*b + uint32(i)), Weight: w})
				}
				before := maglevTable(ms, dataplane.LBRSlots)
				for r := range ms {
					rest := slices.Delete(slices.Clone(ms), r, r+1)
					after := maglevTable(rest, dataplane.LBRSlots)
					others := 0
					for i := range before {
						if before[i] == ms[r].Tunnel {
							if after[i] == ms[r].Tunnel {
								t.Fatalf("removed member still holds slot %d", i)
							}
							continue
						}
						if before[i] != after[i] {
							others++
						}
					}
					if others > tc.limit {
						t.Errorf("members %v, removing %d: %d slots of the others moved", ms, ms[r].Tunnel, others)
					}
					worst = max(worst, others)
					sum += others
					count++
				}
			}
			mean := float64(sum) / float64(count)
			if mean > tc.mean {
				t.Errorf("mean slots of the others moved %.1f > %.1f", mean, tc.mean)
			}
			t.Logf("slots of remaining members moved: worst %d, mean %.1f", worst, mean)
		})
	}
}

// Adding a member takes its share from the others; other slots mostly stay. Adding
// is removal run backwards, so the measured numbers are those of removal.
func TestMaglevAddMember(t *testing.T) {
	var worst, sum int
	const configs = 300
	for b := range uint32(configs) {
		ms := members(4*b, 5, 4*b+1, 3, 4*b+2, 2)
		before := maglevTable(ms, dataplane.LBRSlots)
		after := maglevTable(append(ms, dataplane.LBRMember{Tunnel: dataplane.TunnelID(4*b + 3), Weight: 4}), dataplane.LBRSlots)
		others, gained := 0, 0
		for i := range after {
			switch {
			case after[i] == dataplane.TunnelID(4*b+3):
				gained++
			case before[i] != after[i]:
				others++
			}
		}
		if want := dataplane.LBRSlots * 4 / 14; gained < want || gained > want+1 {
			t.Fatalf("new member got %d slots, want about %d", gained, want)
		}
		if others > 31 {
			t.Errorf("config %d: %d slots moved between old members", b, others)
		}
		worst = max(worst, others)
		sum += others
	}
	mean := float64(sum) / configs
	if mean > 15 {
		t.Errorf("mean slots moved between old members %.1f", mean)
	}
	t.Logf("slots moved between old members: worst %d, mean %.1f", worst, mean)
}
