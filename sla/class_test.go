package sla

import (
	"slices"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
)

var voice = Class{
	Name: "voice", DSCP: 46,
	SLA:     Limits{RTT: 150 * time.Millisecond, Loss: 0.01, Jitter: 30 * time.Millisecond},
	Members: []dataplane.LBRMember{{Tunnel: 1, Weight: 3}, {Tunnel: 2, Weight: 1}, {Tunnel: 3, Weight: 1}},
}

func st(tunnel dataplane.TunnelID, s State, rtt time.Duration, loss float64) Status {
	return Status{Path: Path{Tunnel: tunnel}, State: s, Quality: Quality{Samples: 20, RTT: rtt, Loss: loss}}
}

func statuses(ss ...Status) map[Path]Status {
	m := map[Path]Status{}
	for _, s := range ss {
		m[s.Path] = s
	}
	return m
}

func members(ids ...dataplane.TunnelID) []dataplane.LBRMember {
	var out []dataplane.LBRMember
	for _, id := range ids {
		i := slices.IndexFunc(voice.Members, func(m dataplane.LBRMember) bool { return m.Tunnel == id })
		out = append(out, voice.Members[i])
	}
	return out
}

func TestSelect(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		st   map[Path]Status
		prev []dataplane.LBRMember
		want []dataplane.LBRMember
	}{
		{"all within, configured weights and order",
			statuses(st(3, StateUp, 20*ms, 0), st(1, StateUp, 30*ms, 0), st(2, StateDegraded, 40*ms, 0)), nil, members(1, 2, 3)},
		{"only those within carry it",
			statuses(st(1, StateUp, 200*ms, 0), st(2, StateUp, 40*ms, 0), st(3, StateUp, 40*ms, 0.05)), nil, members(2)},
		{"down and unknown members never",
			statuses(st(1, StateDown, 20*ms, 0), st(2, StateUnknown, 20*ms, 0), st(3, StateUp, 20*ms, 0)), nil, members(3)},
		{"none within: the best alive alone (score: rtt 160/150 beats loss 2%/1%)",
			statuses(st(1, StateUp, 300*ms, 0), st(2, StateUp, 160*ms, 0), st(3, StateUp, 20*ms, 0.02)), nil, members(2)},
		{"none within: up before degraded",
			statuses(st(1, StateDegraded, 160*ms, 0), st(2, StateUp, 900*ms, 0), st(3, StateDown, 20*ms, 0)), nil, members(2)},
		{"fallback is sticky within the margin",
			statuses(st(1, StateUp, 180*ms, 0), st(2, StateUp, 160*ms, 0)), members(1), members(1)},
		{"fallback moves when beaten by more than the margin",
			statuses(st(1, StateUp, 300*ms, 0), st(2, StateUp, 160*ms, 0)), members(1), members(2)},
		{"fallback moves off a dead member",
			statuses(st(1, StateDown, 20*ms, 0), st(2, StateUp, 900*ms, 0)), members(1), members(2)},
		{"no member alive: no entry",
			statuses(st(1, StateDown, 20*ms, 0), st(2, StateUnknown, 20*ms, 0)), nil, nil},
	} {
		got := Select([]Class{voice}, c.st, Selection{"voice": c.prev})
		if !slices.Equal(got["voice"], c.want) {
			t.Errorf("%s: %v, want %v", c.name, got["voice"], c.want)
		}
		if _, ok := got["voice"]; ok != (c.want != nil) {
			t.Errorf("%s: entry present %v, want %v", c.name, ok, c.want != nil)
		}
	}
}

func TestSelectHonoursInSLAAndDSCPPath(t *testing.T) {
	ms := time.Millisecond
	// Tunnel 1 measures fine on its default path but its DSCP 46 path is bad; tunnel
	// 2 is within the raw limits but its gate says not yet (hold-down).
	s1 := st(1, StateUp, 20*ms, 0)
	s1bad := st(1, StateUp, 400*ms, 0)
	s1bad.Path.DSCP = 46
	s2 := st(2, StateUp, 20*ms, 0)
	s2.InSLA = map[string]bool{"voice": false}
	s3 := st(3, StateUp, 20*ms, 0)
	got := Select([]Class{voice}, statuses(s1, s1bad, s2, s3), nil)
	if !slices.Equal(got["voice"], members(3)) {
		t.Errorf("got %v, want only tunnel 3", got["voice"])
	}
}

func TestSelectKeepsStayingMembers(t *testing.T) {
	// A member that stays eligible is reported identically whatever the others do.
	ms := time.Millisecond
	prev := Selection{}
	for i, tunnel2 := range []State{StateUp, StateDown, StateUp, StateDegraded, StateDown} {
		sel := Select([]Class{voice}, statuses(st(1, StateUp, 20*ms, 0), st(2, tunnel2, 20*ms, 0), st(3, StateUp, 20*ms, 0)), prev)
		got := sel["voice"]
		if got[0] != voice.Members[0] || got[len(got)-1] != voice.Members[2] {
			t.Errorf("step %d: %v: tunnels 1 and 3 not kept with their weights", i, got)
		}
		prev = sel
	}
}

func TestValidateClasses(t *testing.T) {
	if err := ValidateClasses([]Class{voice}); err != nil {
		t.Fatal(err)
	}
	m := []dataplane.LBRMember{{Tunnel: 1, Weight: 1}}
	for name, cs := range map[string][]Class{
		"empty name":    {{Members: m}},
		"twice":         {{Name: "a", Members: m}, {Name: "a", Members: m}},
		"no member":     {{Name: "a"}},
		"weight 0":      {{Name: "a", Members: []dataplane.LBRMember{{Tunnel: 1}}}},
		"tunnel twice":  {{Name: "a", Members: []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 1, Weight: 2}}}},
		"loss > 100 %":  {{Name: "a", Members: m, SLA: Limits{Loss: 2}}},
		"dscp too high": {{Name: "a", DSCP: 64, Members: m}},
	} {
		if err := ValidateClasses(cs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
