package p4rtsrv

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// binding is everything the server knows of one P4 table: how an entry reaches
// the data path and leaves it, what its direct counter reads, what it hands back
// to the data path after a restart, and what the default entry does. Write, Read
// and persistence consult it and nothing else, so adding a table is adding a
// binding here (plus its translation and data-path support), not a case in
// every RPC.
type binding struct {
	// install writes st to the data path, replacing old (nil for an insert).
	install func(s *Server, st, old *stored) error
	// uninstall removes st from the data path.
	uninstall func(s *Server, st *stored) error
	// restore adds st's rule to what the data path is handed after a restart.
	restore func(s *Server, rs *dataplane.RestoreState, st *stored) error

	// direct reads the data path's count of st's direct counter; nil for a
	// table without one.
	direct func(s *Server, st *stored) (dataplane.Counter, error)
	// directDefault reads the default entry's direct counter; nil: it reads 0.
	directDefault func(s *Server) (dataplane.Counter, error)
	// setDefault installs the default entry's action; nil: the default action
	// is constant.
	setDefault func(s *Server, e translate.Entry) error

	// forget drops state keyed by an id the deleted st used, which the data
	// path may hand out again (optional).
	forget func(s *Server, st *stored)
	// ruleIDs: entries carry the data-path id of their rule (stored.pdr), which
	// persisted records keep so a restart restores the same ids.
	ruleIDs bool
}

// bindings are linx's tables by P4Info id.
var bindings = map[uint32]*binding{
	p4info.IDTablePDR: {
		install: func(s *Server, st, old *stored) error {
			p, ok := st.entry().PDR()
			if !ok {
				return status.Error(codes.InvalidArgument, "pdr entries take set_far")
			}
			if old != nil {
				return s.dp.ModifyPDR(old.pdr, p.FAR)
			}
			id, err := s.dp.InsertPDR(p)
			st.pdr = id
			return err
		},
		uninstall: func(s *Server, st *stored) error { return s.dp.DeletePDR(st.pdr) },
		restore: func(_ *Server, rs *dataplane.RestoreState, st *stored) error {
			p, ok := st.entry().PDR()
			if !ok || st.pdr == 0 {
				return fmt.Errorf("pdr entry %v without a rule", st.key())
			}
			rs.PDRs[st.pdr] = p
			return nil
		},
		direct:        func(s *Server, st *stored) (dataplane.Counter, error) { return s.dp.PDRCounter(st.pdr) },
		directDefault: func(s *Server) (dataplane.Counter, error) { return s.dp.PDRDefaultCounter() },
		setDefault: func(s *Server, e translate.Entry) error {
			a, err := actionAs[translate.FARAction](e, "pdr default", "pass or drop")
			if err != nil {
				return err
			}
			return s.dp.SetPDRDefault(a.FAR)
		},
		ruleIDs: true,
	},
	p4info.IDTableFAR: {
		install: func(s *Server, st, _ *stored) error {
			a, err := actionAs[translate.FARAction](st.entry(), "far entries", "a forwarding action")
			if err != nil {
				return err
			}
			return s.dp.SetFAR(st.entry().FAR, a.FAR)
		},
		uninstall: func(s *Server, st *stored) error { return s.dp.DeleteFAR(st.entry().FAR) },
		restore: func(_ *Server, rs *dataplane.RestoreState, st *stored) error {
			a, err := actionAs[translate.FARAction](st.entry(), "far entries", "a forwarding action")
			rs.FARs[st.entry().FAR] = a.FAR
			return err
		},
	},
	p4info.IDTableTunnels: {
		install: func(s *Server, st, _ *stored) error {
			a, err := actionAs[translate.SetGRE](st.entry(), "tunnels entries", "set_gre or set_gre6")
			if err != nil {
				return err
			}
			return s.dp.SetTunnel(st.entry().Tunnel, a.Tunnel)
		},
		uninstall: func(s *Server, st *stored) error { return s.dp.DeleteTunnel(st.entry().Tunnel) },
		restore: func(_ *Server, rs *dataplane.RestoreState, st *stored) error {
			a, err := actionAs[translate.SetGRE](st.entry(), "tunnels entries", "set_gre or set_gre6")
			rs.Tunnels[st.entry().Tunnel] = a.Tunnel
			return err
		},
		// The data path restarts a tunnel's counters when the id is used again:
		// a value set on the old tunnel must not offset the new one.
		forget: func(s *Server, st *stored) {
			for _, c := range []uint32{p4info.IDCounterTunnelTX, p4info.IDCounterTunnelRX} {
				delete(s.st.counterOffsets, counterCell{c, int64(st.entry().Tunnel)})
			}
		},
	},
	p4info.IDTableTunnelTerm: termBinding,
	// tunnel_term6 is tunnel_term with IPv6 keys: the data path holds both
	// families' terminations in one place (one capacity).
	p4info.IDTableTunnelTerm6: termBinding,
	p4info.IDTableLBR: {
		install: func(s *Server, st, _ *stored) error {
			members, err := s.lbrMembers(st.action())
			if err != nil {
				return err
			}
			s.slaDirty = true // a class takes its members from its LBR
			return s.setLBR(st.entry().LBR, members)
		},
		uninstall: func(s *Server, st *stored) error {
			s.slaDirty = true
			return s.setLBR(st.entry().LBR, nil)
		},
		restore: func(s *Server, rs *dataplane.RestoreState, st *stored) error {
			members, err := s.lbrMembers(st.action())
			if err != nil {
				return fmt.Errorf("lbr %d: %w", st.entry().LBR, err)
			}
			if len(members) > 0 {
				rs.LBRs[st.entry().LBR] = members
			}
			return nil
		},
	},
	p4info.IDTableSLAClass: slaBinding,
	p4info.IDTableNonIP: {
		install: func(s *Server, st, _ *stored) error {
			et, a, err := nonIPRule(st.entry())
			if err != nil {
				return err
			}
			return s.dp.SetNonIPRule(et, a)
		},
		uninstall: func(s *Server, st *stored) error { return s.dp.DeleteNonIPRule(st.entry().EthType) },
		restore: func(_ *Server, rs *dataplane.RestoreState, st *stored) error {
			et, a, err := nonIPRule(st.entry())
			rs.NonIP[et] = a
			return err
		},
		// Frames without a rule pass uncounted: the default entry reads 0.
		direct: func(s *Server, st *stored) (dataplane.Counter, error) { return s.dp.NonIPCounter(st.entry().EthType) },
	},
}

// termBinding binds tunnel_term and tunnel_term6.
var termBinding = &binding{
	install: func(s *Server, st, _ *stored) error {
		a, err := actionAs[translate.Decap](st.entry(), "tunnel_term entries", "decap")
		if err != nil {
			return err
		}
		return s.dp.SetTunnelTerm(st.entry().Term, a.Tunnel)
	},
	uninstall: func(s *Server, st *stored) error { return s.dp.DeleteTunnelTerm(st.entry().Term) },
	restore: func(_ *Server, rs *dataplane.RestoreState, st *stored) error {
		a, err := actionAs[translate.Decap](st.entry(), "tunnel_term entries", "decap")
		rs.Terms[st.entry().Term] = a.Tunnel
		return err
	},
}

func init() {
	bindings[p4info.IDTableFARQoS] = &binding{
		install: func(s *Server, st, _ *stored) error {
			a, err := actionAs[translate.SetQoS](st.entry(), "far_qos entries", "set_qos")
			if err != nil {
				return err
			}
			return s.dp.SetFARQoS(st.entry().FAR, a.Policy)
		},
		uninstall: func(s *Server, st *stored) error { return s.dp.SetFARQoS(st.entry().FAR, dataplane.DefaultQoS) },
		restore: func(_ *Server, rs *dataplane.RestoreState, st *stored) error {
			a, err := actionAs[translate.SetQoS](st.entry(), "far_qos entries", "set_qos")
			rs.QoS[st.entry().FAR] = a.Policy
			return err
		},
	}
}

// actionAs is e's action as the type its table takes. The translator only lets
// a table's own actions through, so a mismatch is INVALID_ARGUMENT for a
// write and a corrupt record for a restore.
func actionAs[A translate.Action](e translate.Entry, what, takes string) (A, error) {
	a, ok := e.Action.(A)
	if !ok {
		return a, status.Errorf(codes.InvalidArgument, "%s take %s, not %T", what, takes, e.Action)
	}
	return a, nil
}

func nonIPRule(e translate.Entry) (uint16, dataplane.NonIPAction, error) {
	et, a, ok := e.NonIPRule()
	if !ok {
		return 0, 0, status.Errorf(codes.InvalidArgument, "non_ip entries take pass, drop, punt or copy_to_controller, not %T", e.Action)
	}
	return et, a, nil
}

// errNoBinding is returned for a table id the translator accepted but no binding
// covers: a programming error, not a client's.
func errNoBinding(table uint32) error {
	return status.Errorf(codes.Unimplemented, "table 0x%08x has no data-path binding", table)
}

// bindingOf returns the binding of table.
func bindingOf(table uint32) (*binding, error) {
	if b, ok := bindings[table]; ok {
		return b, nil
	}
	return nil, errNoBinding(table)
}

// directTables are the tables with a direct counter, in P4Info id order.
func directTables() []uint32 {
	var out []uint32
	for _, id := range sortedIDs(bindings) {
		if bindings[id].direct != nil {
			out = append(out, id)
		}
	}
	return out
}

// install writes st to the data path, replacing old (nil for an insert). A new
// rule's counter starts at zero in the data path; a modified one keeps its
// count and the offset a counter write set.
func (s *Server) install(st, old *stored) error {
	b, err := bindingOf(st.table())
	if err != nil {
		return err
	}
	if old != nil {
		st.pdr, st.x = old.pdr, nil
		if old.x != nil {
			x := *old.x
			st.x = &x
		}
	}
	return b.install(s, st, old)
}

func (s *Server) uninstall(st *stored) error {
	b, err := bindingOf(st.table())
	if err != nil {
		return err
	}
	if err := b.uninstall(s, st); err != nil {
		return err
	}
	if b.forget != nil {
		b.forget(s, st)
	}
	return nil
}

// setDirect makes st's direct counter read v from now on.
func (s *Server) setDirect(st *stored, v dataplane.Counter) error {
	if st == nil {
		return nil
	}
	b, err := bindingOf(st.table())
	if err != nil || b.direct == nil {
		return err
	}
	cur, err := b.direct(s, st)
	if err != nil {
		return err
	}
	st.setOffset(sub(cur, v))
	return nil
}

// directCount is what an entry's direct counter reads: the data path's count
// minus the offset a counter MODIFY set.
func (s *Server) directCount(st *stored) (dataplane.Counter, error) {
	b, err := bindingOf(st.table())
	if err != nil {
		return dataplane.Counter{}, err
	}
	if b.direct == nil {
		return dataplane.Counter{}, status.Errorf(codes.Internal, "table 0x%08x has no direct counter", st.table())
	}
	c, err := b.direct(s, st)
	return sub(c, st.offset()), err
}

// defaultCount is the direct counter of a table's default entry.
func (s *Server) defaultCount(table uint32) (dataplane.Counter, error) {
	if b, ok := bindings[table]; ok && b.directDefault != nil {
		return b.directDefault(s)
	}
	return dataplane.Counter{}, nil
}

// restoreState is what the data path holds for the stored entries.
func (s *Server) restoreState() (dataplane.RestoreState, error) {
	rs := dataplane.RestoreState{
		PDRs: map[dataplane.PDRID]dataplane.PDR{}, FARs: map[dataplane.FARID]dataplane.FAR{},
		LBRs: map[dataplane.LBRID][]dataplane.LBRMember{}, Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{},
		Terms: map[dataplane.TunnelTerm]dataplane.TunnelID{}, NonIP: map[uint16]dataplane.NonIPAction{},
		Meters: map[dataplane.MeterID]dataplane.MeterConfig{}, QoS: map[dataplane.FARID]dataplane.QoSPolicy{},
	}
	for id, c := range s.st.meters {
		rs.Meters[id] = c
	}
	rs.PDRMeters = map[dataplane.PDRID]dataplane.MeterConfig{}
	for st := range s.st.entries.all() {
		if st.table() == p4info.IDTablePDR && !st.meter().IsDefault() {
			rs.PDRMeters[st.pdr] = st.meter()
		}
	}
	for st := range s.st.entries.all() {
		b, err := bindingOf(st.table())
		if err != nil {
			return rs, err
		}
		if err := b.restore(s, &rs, st); err != nil {
			return rs, err
		}
		st.setOffset(dataplane.Counter{})
	}
	if d, ok := s.st.defaults[p4info.IDTablePDR]; ok {
		a, ok := d.Action.(translate.FARAction)
		if !ok {
			return rs, fmt.Errorf("pdr default entry with action %T", d.Action)
		}
		rs.Default = &a.FAR
	}
	return rs, nil
}

// setLBR installs members as LBR id; with none, the LBR leaves the data path (its
// packets drop as no_lbr) while the entry stays.
func (s *Server) setLBR(id dataplane.LBRID, members []dataplane.LBRMember) error {
	if len(members) == 0 {
		if err := s.dp.DeleteLBR(id); err != nil && !errors.Is(err, dataplane.ErrNotFound) {
			return err
		}
		return nil
	}
	return s.dp.SetLBR(id, members)
}
