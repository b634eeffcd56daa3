package xdp

import (
	"cmp"
	"slices"

	"github.com/linx-sdwan/linx/dataplane"
)

// Weighted Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI 2016), used to turn a load-balancing rule's
// members into the lookup table the data path indexes with a flow hash.
//
// The scheme:
//
//  1. Members are sorted by tunnel id, so the table does not depend on the order the
//     controller listed them in.
//  2. Each member i gets a quota q_i of slots: the exact share w_i*size/W rounded by
//     the largest-remainder method (remainder ties go to the lower tunnel id). Every
//     q_i is within 1 of the exact share and the quotas sum to size.
//  3. Each member gets a preference list: a permutation of the slots that depends on
//     its tunnel id only (see maglevPermutation).
//  4. Members take turns claiming their next preferred slot that is still empty. In
//     the unweighted algorithm the turns go round robin; here they are spread in
//     proportion to the quotas (stride scheduling): the next turn goes to the member
//     whose next slot is "due" earliest, i.e. with the smallest (filled_i+1)/q_i
//     (ties: lower tunnel id), and a member stops once it holds q_i slots. With equal
//     weights this is exactly Maglev's round robin; with unequal weights every member
//     walks its preference list at a rate proportional to its weight, which is what
//     keeps the disruption small when a weight or the membership changes.
//
// The result holds exactly q_i slots of member i, so each member's share of the
// table is within 1/size of w_i/W.
//
// Permutations. The paper derives each preference list from two hashes, offset and
// skip, as (offset + j*skip) mod size. With size = LBRSlots = 1021 there are only
// 1020 skips, so two members of a 16-member rule share a skip about 12% of the time;
// their lists are then rotations of each other and every contested slot cascades.
// Measured over all pairs of tunnel ids 0..99, changing weights 3:1 -> 2:1 moved up
// to 407 slots (the minimum is 85), and removing one of four members (500 sets of
// consecutive ids, weights 5:3:2:7) moved up to 128 slots of the other three. The
// table is built in Go, not in the data path, so the cost of a full pseudo-random
// permutation per member (a Fisher-Yates shuffle driven by a counter-mode hash of
// the tunnel id) is negligible, and it removes that structure: the same
// measurements give at most 87 and 23 slots.
//
// The table must stay the same across versions of linx: an agent that takes over a
// pinned data path recomputes it, and any change re-routes established flows. A test
// pins a digest of known tables; do not change the hash, the seeds or the order of
// operations without a reason worth that.

// maglevTable returns the Maglev lookup table of size slots for members: entry k is
// the tunnel that flows hashing to k are sent to. size is a prime in production
// (LBRSlots) but any size >= 1 works. The members are not validated (ValidateMembers
// does that); members with zero weight get no slot, and no members, a zero total
// weight or size < 1 give nil. The result depends only on the multiset of members,
// not on their order.
func maglevTable(members []dataplane.LBRMember, size int) []dataplane.TunnelID {
	if len(members) == 0 || size < 1 {
		return nil
	}
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b dataplane.LBRMember) int {
		return cmp.Or(cmp.Compare(a.Tunnel, b.Tunnel), cmp.Compare(a.Weight, b.Weight))
	})
	quota := maglevQuotas(ms, size)
	if quota == nil {
		return nil
	}

	type member struct {
		pref         []int32 // preference list, built when first needed
		next         int     // index into pref
		filled, want int
	}
	st := make([]member, len(ms))
	for i := range ms {
		st[i].want = quota[i]
	}

	table := make([]dataplane.TunnelID, size)
	taken := make([]bool, size)
	for range size {
		// The member whose next slot is due earliest: smallest (filled+1)/want.
		best := -1
		for i := range st {
			s := &st[i]
			if s.filled == s.want {
				continue
			}
			if best < 0 || (s.filled+1)*st[best].want < (st[best].filled+1)*s.want {
				best = i
			}
		}
		s := &st[best]
		if s.pref == nil {
			s.pref = maglevPermutation(ms[best].Tunnel, size)
		}
		// A member never holds more than size slots, so it finds an empty one before
		// running off its (complete) preference list.
		for {
			slot := s.pref[s.next]
			s.next++
			if !taken[slot] {
				taken[slot] = true
				table[slot] = ms[best].Tunnel
				s.filled++
				break
			}
		}
	}
	return table
}

// maglevQuotas apportions size slots to the (sorted) members in proportion to their
// weights by the largest-remainder method. It returns nil if the total weight is 0.
func maglevQuotas(ms []dataplane.LBRMember, size int) []int {
	var total uint64
	for _, m := range ms {
		total += uint64(m.Weight)
	}
	if total == 0 {
		return nil
	}
	quota := make([]int, len(ms))
	rem := make([]uint64, len(ms))
	left := size
	for i, m := range ms {
		p := uint64(m.Weight) * uint64(size) // < 2^64 for any size < 2^32
		quota[i] = int(p / total)
		rem[i] = p % total
		left -= quota[i]
	}
	if left > 0 {
		order := make([]int, len(ms))
		for i := range order {
			order[i] = i
		}
		// Largest remainder first; ties to the lower tunnel id (lower index).
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
		for _, i := range order[:left] {
			quota[i]++
		}
	}
	return quota
}

// maglevPermutation returns tunnel id's preference list over size slots: a
// permutation of 0..size-1 drawn by a Fisher-Yates shuffle whose random numbers are
// mix64 of a per-id counter (the stream is a function of the id alone).
func maglevPermutation(id dataplane.TunnelID, size int) []int32 {
	p := make([]int32, size)
	for i := range p {
		p[i] = int32(i)
	}
	ctr := mix64(uint64(id) ^ maglevSeed)
	for i := size - 1; i > 0; i-- {
		ctr += 0x9e3779b97f4a7c15 // odd: the counter visits 2^64 values before repeating
		j := mix64(ctr) % uint64(i+1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// maglevSeed separates this use of mix64 from any other ("linx_lbr").
const maglevSeed = 0x6c696e785f6c6272

// mix64 is a 64-bit avalanche mix (xor-shift / multiply rounds): every input bit
// affects every output bit, which is all the permutation needs from a hash.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
