package main

import (
	"context"
	"fmt"
	"slices"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// ref is an entity an update refers to by id. P4Runtime lets an entry refer to
// a FAR, tunnel or LBR that does not exist (yet), and the agent to a port it
// has not attached: legal, but usually a typo, so linxctl warns after the
// writes of a session when a referenced entity is missing.
type ref struct {
	kind string // "far", "tunnel", "lbr", "port"
	id   uint32
}

func (r ref) String() string { return fmt.Sprintf("%s %d", r.kind, r.id) }

// refsOf lists what an entry's action refers to.
func refsOf(a translate.Action) []ref {
	switch a := a.(type) {
	case translate.SetFAR:
		return []ref{{"far", uint32(a.FAR)}}
	case translate.FARAction:
		switch a.FAR.Action {
		case dataplane.ActForward:
			return []ref{{"port", uint32(a.FAR.Port)}}
		case dataplane.ActEncap:
			return []ref{{"tunnel", uint32(a.FAR.Tunnel)}}
		case dataplane.ActBalance:
			return []ref{{"lbr", uint32(a.FAR.LBR)}}
		}
	case translate.SetGRE:
		return []ref{{"port", uint32(a.Tunnel.Port)}}
	case translate.Decap:
		return []ref{{"tunnel", uint32(a.Tunnel)}}
	case translate.ActionSet:
		var out []ref
		for _, m := range a.Members {
			out = append(out, ref{"tunnel", uint32(m.Tunnel)})
		}
		return out
	}
	return nil
}

// refTables are the tables holding each kind of entity P4Runtime can read.
var refTables = map[string]uint32{"far": p4info.IDTableFAR, "tunnel": p4info.IDTableTunnels, "lbr": p4info.IDTableLBR}

// warnDangling prints a warning to stderr for every entity that an applied
// update of the session refers to and that does not exist now: one P4Runtime
// Read of the tables concerned, and one gNMI Get of the ports when a port is
// referenced. A failure to check is a warning too: the writes are done.
func (s *session) warnDangling(ctx context.Context) {
	if len(s.refs) == 0 {
		return
	}
	exists := map[ref]bool{}
	var ents []*p4v1.Entity
	var ports bool
	for _, kind := range []string{"far", "tunnel", "lbr"} {
		if slices.ContainsFunc(s.refs, func(r ref) bool { return r.kind == kind }) {
			ents = append(ents, &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: &p4v1.TableEntry{TableId: refTables[kind]}}})
		}
	}
	ports = slices.ContainsFunc(s.refs, func(r ref) bool { return r.kind == "port" })
	if len(ents) > 0 {
		got, err := s.c.read(ctx, ents...)
		if err != nil {
			fmt.Fprintf(s.o.stderr, "linxctl: warning: could not check that the entities these writes refer to exist: %v\n", err)
			return
		}
		for _, ent := range got {
			te := ent.GetTableEntry()
			if te == nil || te.IsDefaultAction {
				continue
			}
			e, err := decodeEntry(te)
			if err != nil {
				continue
			}
			switch te.TableId {
			case p4info.IDTableFAR:
				exists[ref{"far", uint32(e.Key.FAR)}] = true
			case p4info.IDTableTunnels:
				exists[ref{"tunnel", uint32(e.Key.Tunnel)}] = true
			case p4info.IDTableLBR:
				exists[ref{"lbr", uint32(e.Key.LBR)}] = true
			}
		}
	}
	if ports {
		ids, err := s.c.portIDs(ctx)
		if err != nil {
			fmt.Fprintf(s.o.stderr, "linxctl: warning: could not check that the ports these writes refer to exist: %v\n", err)
			ports = false
		}
		for _, id := range ids {
			exists[ref{"port", id}] = true
		}
	}
	seen := map[ref]bool{}
	for _, r := range s.refs {
		if seen[r] || exists[r] || (r.kind == "port" && !ports) {
			continue
		}
		seen[r] = true
		what := "does not exist"
		if r.kind == "port" {
			what = "is not a port of the device (gNMI lists none with that id)"
		}
		fmt.Fprintf(s.o.stderr, "linxctl: warning: %s, referred to by these writes, %s: packets that need it are dropped until it is written\n", r, what)
	}
}

// portIDs are the P4 port numbers of the device's interfaces, from gNMI
// (/interfaces/interface[name=*]/state/id, served on the same gRPC port).
func (c *client) portIDs(ctx context.Context) ([]uint32, error) {
	ctx, cancel := c.rpcContext(ctx)
	defer cancel()
	path := &gpb.Path{Elem: []*gpb.PathElem{{Name: "interfaces"}, {Name: "interface", Key: map[string]string{"name": "*"}},
		{Name: "state"}, {Name: "id"}}}
	resp, err := gpb.NewGNMIClient(c.conn).Get(ctx, &gpb.GetRequest{Path: []*gpb.Path{path}, Encoding: gpb.Encoding_PROTO})
	if err != nil {
		return nil, c.rpcError("gNMI get of the ports", err)
	}
	var ids []uint32
	for _, n := range resp.GetNotification() {
		for _, u := range n.GetUpdate() {
			ids = append(ids, uint32(u.GetVal().GetUintVal()))
		}
	}
	return ids, nil
}
