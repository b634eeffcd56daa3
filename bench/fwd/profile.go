package fwd

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Stage is the program time one linx stage adds per packet.
type Stage struct {
	Name     string  // the stage's program, e.g. linx_classify
	NsPerPkt float64 // its increment over the stages before it
}

// linx's tail-call slots (enum stage in bpf/linx.h) in the order each path
// reaches them, with their programs' names.
var stagePlan = map[Path][]struct {
	slot uint32
	name string
}{
	// An uplink hit is classified in linx_xdp (bpf/fastpath.h), so linx_xdp
	// reads as parse + classification (on misses: + linx_classify or
	// linx_classify6).
	PathUplink:   {{2, "linx_encap"}},
	pathUplink6:  {{4, "linx_encap6"}},
	PathDownlink: {{0, "linx_classify"}}, // a flow-cache hit forwards in linx_classify
}

// pathUplink6 keys the IPv6 uplink's stages in stagePlan (its Path is
// PathUplink).
const pathUplink6 Path = "uplink-ipv6"

// planPath is the stagePlan key of c.
func planPath(c Case) Path {
	if c.Path == PathUplink && c.IPv6 {
		return pathUplink6
	}
	return c.Path
}

// Profile splits the linx gateway's per-packet program time by stage. The
// kernel accounts tail-called programs to the entry program (linx_xdp), so
// each stage is timed by difference: a run with a drop stub in the slot of
// stage k times linx_xdp up to (not including) k; the last run is the whole
// pipeline with its redirect. BPF stats must be on (EnableStats). Every run
// but the last drops at the gateway, so the sink sees only the last.
//
// A flow-cache hit of an encap action goes from linx_xdp straight to
// linx_encap or linx_encap6 (bpf/fastpath.h), so the uplinks' plans cut only
// before encapsulation: a stub in the classifier's slot would keep the cache
// from ever filling.
func (t *Topology) Profile(frames uint32) ([]Stage, error) {
	plan, ok := stagePlan[planPath(t.Case)]
	if !ok || t.entry == nil {
		return nil, fmt.Errorf("case %s: no linx pipeline to profile", t.Case.Name)
	}
	stages, err := stageArray(t.entry)
	if err != nil {
		return nil, err
	}
	defer stages.Close()

	cum := make([]float64, 0, len(plan)+1)
	for _, s := range plan {
		ns, err := t.withStub(stages, s.slot, frames)
		if err != nil {
			return nil, fmt.Errorf("profile up to %s: %w", s.name, err)
		}
		cum = append(cum, ns)
	}
	r, err := t.Run(frames)
	if err != nil {
		return nil, err
	}
	if r.GatewayRuns == 0 {
		return nil, errors.New("no program runs counted: are BPF stats on?")
	}
	cum = append(cum, r.GatewayNsPerPkt())

	out := []Stage{{Name: "linx_xdp", NsPerPkt: cum[0]}}
	for i, s := range plan {
		out = append(out, Stage{Name: s.name, NsPerPkt: cum[i+1] - cum[i]})
	}
	return out, nil
}

// withStub runs frames with fwd_stub in slot and returns linx_xdp's time per
// packet; the slot's program is put back whatever happens.
func (t *Topology) withStub(stages *ebpf.Map, slot uint32, frames uint32) (float64, error) {
	var id uint32
	if err := stages.Lookup(slot, &id); err != nil {
		return 0, fmt.Errorf("read stage %d: %w", slot, err)
	}
	orig, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
	if err != nil {
		return 0, fmt.Errorf("open stage %d program %d: %w", slot, id, err)
	}
	defer orig.Close()
	if err := stages.Put(slot, t.objs.FwdStub); err != nil {
		return 0, fmt.Errorf("install stub in stage %d: %w", slot, err)
	}
	r, runErr := t.Run(frames)
	if err := stages.Put(slot, orig); err != nil {
		return 0, errors.Join(runErr, fmt.Errorf("restore stage %d: %w", slot, err))
	}
	if runErr != nil {
		return 0, runErr
	}
	if r.GatewayRuns == 0 {
		return 0, errors.New("no program runs counted: are BPF stats on?")
	}
	return r.GatewayNsPerPkt(), nil
}

// stageArray finds linx's tail-call array ("stages") among the maps of its
// entry program, so the harness needs nothing unexported from the loader.
func stageArray(entry *ebpf.Program) (*ebpf.Map, error) {
	info, err := entry.Info()
	if err != nil {
		return nil, fmt.Errorf("program info: %w", err)
	}
	ids, ok := info.MapIDs()
	if !ok {
		return nil, errors.New("program info has no map ids")
	}
	for _, id := range ids {
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue
		}
		mi, err := m.Info()
		if err == nil && mi.Name == "stages" && mi.Type == ebpf.ProgramArray {
			return m, nil
		}
		m.Close()
	}
	return nil, fmt.Errorf("no stage array among the maps of %s", entry)
}
