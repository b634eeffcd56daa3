package dataplanetest

import (
	"slices"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
)

// FlowRig is a data path the suite can ask where flows go: the contract says
// which flows an LBR change may move, and only packets (or a model of them)
// can show it.
type FlowRig struct {
	DP dataplane.Dataplane
	// Tunnels are at least four overlays, installed and up, as written; the
	// suite rewrites them with Down set and back.
	Tunnels map[dataplane.TunnelID]dataplane.Tunnel
	// Overlays returns the overlay that each of flows 0..n-1 (a distinct
	// 5-tuple each) leaves by through LBR id, 0 for one the data path drops.
	Overlays func(t *testing.T, id dataplane.LBRID, n int) []dataplane.TunnelID
}

// lbrFlows is how many flows the flow cases send: enough that each of four
// members (weights 1:2:3:1) carries dozens, few enough for the kernel matrix's
// emulated CPUs.
const lbrFlows = 600

// testLBRExclusion checks the contract of LBRMember.Excluded: excluding a member
// moves its flows and no other; lifting the exclusion puts every flow back; a
// rule whose members are all excluded behaves as if none were; otherwise an
// excluded member is skipped exactly as a down one is.
func testLBRExclusion(t *testing.T, rig FlowRig) {
	d := rig.DP
	var ids []dataplane.TunnelID
	for id := range rig.Tunnels {
		ids = append(ids, id)
	}
	if len(ids) < 4 {
		t.Fatalf("the rig has %d tunnels, the case needs 4", len(ids))
	}
	ids = ids[:4]
	slices.Sort(ids)
	const lbr = 7
	members := func(excluded ...dataplane.TunnelID) []dataplane.LBRMember {
		var ms []dataplane.LBRMember
		for i, id := range ids {
			ex := false
			for _, e := range excluded {
				ex = ex || e == id
			}
			ms = append(ms, dataplane.LBRMember{Tunnel: id, Weight: uint32(1 + i%3), Excluded: ex})
		}
		return ms
	}
	route := func(what string) []dataplane.TunnelID {
		t.Helper()
		out := rig.Overlays(t, lbr, lbrFlows)
		for i, o := range out {
			if o == 0 {
				t.Fatalf("%s: flow %d dropped", what, i)
			}
		}
		return out
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	must("set lbr", d.SetLBR(lbr, members()))
	before := route("all members")
	share := map[dataplane.TunnelID]int{}
	for _, o := range before {
		share[o]++
	}
	for _, id := range ids {
		if share[id] < lbrFlows/20 {
			t.Fatalf("flows split %v over the members, want every member to carry some", share)
		}
	}
	// Exclude each member in turn: only its flows move, and none onto it.
	for _, ex := range ids {
		must("exclude", d.SetLBR(lbr, members(ex)))
		after := route("member excluded")
		moved := 0
		for i := range before {
			switch {
			case after[i] == ex:
				t.Fatalf("tunnel %d excluded: flow %d still on it", ex, i)
			case before[i] != ex && after[i] != before[i]:
				t.Fatalf("tunnel %d excluded: flow %d moved from tunnel %d, which stays eligible, to %d", ex, i, before[i], after[i])
			case before[i] == ex:
				moved++
			}
		}
		if moved != share[ex] {
			t.Fatalf("tunnel %d excluded: %d flows moved, want its %d", ex, moved, share[ex])
		}
	}
	// Two excluded: the other two keep theirs.
	must("exclude two", d.SetLBR(lbr, members(ids[0], ids[2])))
	after := route("two excluded")
	for i := range before {
		if before[i] == ids[1] || before[i] == ids[3] {
			if after[i] != before[i] {
				t.Fatalf("two excluded: flow %d moved from tunnel %d to %d", i, before[i], after[i])
			}
		} else if after[i] != ids[1] && after[i] != ids[3] {
			t.Fatalf("two excluded: flow %d on excluded tunnel %d", i, after[i])
		}
	}
	// Lifting the exclusion puts every flow back.
	must("lift", d.SetLBR(lbr, members()))
	if got := route("exclusion lifted"); !equalOverlays(got, before) {
		t.Fatal("exclusion lifted: flows are not back where they were")
	}
	// All excluded: as if none were.
	must("exclude all", d.SetLBR(lbr, members(ids...)))
	if got := route("all excluded"); !equalOverlays(got, before) {
		t.Fatal("every member excluded: flows are not where they are with none excluded")
	}
	// The eligible members down: the excluded one is skipped exactly as a down
	// one, so the rule has no member left (the agent's next selection lifts
	// the exclusion: slaagent.Steered).
	must("exclude one", d.SetLBR(lbr, members(ids[0])))
	for _, id := range ids[1:] {
		tn := rig.Tunnels[id]
		tn.Down = true
		must("tunnel down", d.SetTunnel(id, tn))
	}
	for i, o := range rig.Overlays(t, lbr, lbrFlows) {
		if o != 0 {
			t.Fatalf("every member down or excluded: flow %d on tunnel %d", i, o)
		}
	}
	// The eligible members back: their flows are back where they were.
	for _, id := range ids[1:] {
		must("tunnel up", d.SetTunnel(id, rig.Tunnels[id]))
	}
	after = route("eligible members back")
	for i := range before {
		if before[i] != ids[0] && after[i] != before[i] || after[i] == ids[0] {
			t.Fatalf("eligible members back up: flow %d on tunnel %d, was on %d", i, after[i], before[i])
		}
	}
}

func equalOverlays(a, b []dataplane.TunnelID) bool { return slices.Equal(a, b) }
