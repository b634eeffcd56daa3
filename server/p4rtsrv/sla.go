package p4rtsrv

import (
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/sla"
	"github.com/linx-sdwan/linx/translate"
)

// SLAClass is an SLA class a controller wrote in table sla_class: the limits
// the traffic of one LBR must be carried within. The agent's prober enforces
// it by rewriting that LBR's members in the data path (sla.Select).
type SLAClass struct {
	// LBR is the entry's key: the LBR whose members carry the class.
	LBR dataplane.LBRID
	// Class is the class as package sla takes it: Name "lbr-<id>", DSCP and SLA
	// limits from set_sla (a limit of 0 is not checked; Recover is left zero,
	// so sla.RecoverRatio applies), and Members the LBR's members as written
	// (tunnels with their summed weights and watch ports).
	Class sla.Class
}

// SLAClassName is the sla.Class name of the class of LBR id.
func SLAClassName(id dataplane.LBRID) string { return fmt.Sprintf("lbr-%d", id) }

// slaBinding: sla_class entries do not reach the data path; the server keeps
// them (s.st.sla) and hands them to Options.OnSLAClasses.
var slaBinding = &binding{
	install: func(s *Server, st, old *stored) error {
		a, ok := st.action().(translate.SetSLA)
		if !ok {
			return status.Errorf(codes.InvalidArgument, "sla_class entries take set_sla, not %T", st.action())
		}
		if _, exists := s.st.sla[st.entry().LBR]; !exists && len(s.st.sla) >= s.slaCapacity() {
			return status.Errorf(codes.ResourceExhausted, "table %s is full (%d entries)", p4info.TableSLAClass, len(s.st.sla))
		}
		s.st.sla[st.entry().LBR] = a
		s.slaDirty = true
		return nil
	},
	uninstall: func(s *Server, st *stored) error {
		delete(s.st.sla, st.entry().LBR)
		s.slaDirty = true
		return nil
	},
	restore: func(s *Server, _ *dataplane.RestoreState, st *stored) error {
		a, ok := st.action().(translate.SetSLA)
		if !ok {
			return fmt.Errorf("sla_class entry %d with action %T", st.entry().LBR, st.action())
		}
		s.st.sla[st.entry().LBR] = a
		s.slaDirty = true
		return nil
	},
}

// slaCapacity is the size of table sla_class in linx's own P4Info.
func (s *Server) slaCapacity() int {
	if t, ok := s.pipeline.Table(p4info.IDTableSLAClass); ok && t.Size() > 0 {
		return int(t.Size())
	}
	return p4info.DefaultSizes.SLAClasses
}

// slaClassesLocked builds the classes from the stored sla_class entries and
// the LBRs they name, by LBR id. A class whose LBR entry is missing, or has no
// member, is left out until it has some (package sla wants members).
func (s *Server) slaClassesLocked() []SLAClass {
	out := make([]SLAClass, 0, len(s.st.sla))
	for _, id := range sortedKeys(s.st.sla) {
		a := s.st.sla[id]
		lbr, ok := s.st.entries.get(translate.Key{Table: p4info.IDTableLBR, LBR: id})
		if !ok {
			continue
		}
		members, err := s.lbrMembers(lbr.action())
		if err != nil || len(members) == 0 {
			continue
		}
		out = append(out, SLAClass{LBR: id, Class: sla.Class{
			Name: SLAClassName(id),
			DSCP: a.DSCP,
			SLA: sla.Limits{RTT: a.RTT, Jitter: a.Jitter,
				Loss: float64(a.LossPPM) / 1e6},
			Members: members,
		}})
	}
	return out
}

func sortedKeys[K ~uint32, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// unlockPublish releases s.mu after a change and then, if the SLA classes may
// have changed, hands them to Options.OnSLAClasses, outside s.mu. Deliveries
// are ordered by a generation taken under s.mu, so a slow hook never sees an
// older set after a newer one, and an unchanged set is not delivered again.
func (s *Server) unlockPublish() {
	var (
		classes []SLAClass
		gen     uint64
	)
	if s.onSLA != nil && s.slaDirty {
		s.slaDirty = false
		classes = s.slaClassesLocked()
		s.slaGen++
		gen = s.slaGen
	}
	s.mu.Unlock()
	if gen != 0 {
		s.deliverSLA(gen, classes)
	}
}

func (s *Server) deliverSLA(gen uint64, classes []SLAClass) {
	s.slaMu.Lock()
	defer s.slaMu.Unlock()
	if gen <= s.slaDelivered {
		return
	}
	s.slaDelivered = gen
	if slices.EqualFunc(classes, s.slaLast, slaClassEqual) {
		return // nothing new (at first: no class, as before any write)
	}
	s.slaLast = classes
	s.onSLA(slices.Clone(classes))
}

func slaClassEqual(a, b SLAClass) bool {
	return a.LBR == b.LBR && a.Class.Name == b.Class.Name && a.Class.DSCP == b.Class.DSCP &&
		a.Class.SLA == b.Class.SLA && a.Class.Recover == b.Class.Recover && slices.Equal(a.Class.Members, b.Class.Members)
}

// SLAClasses returns the SLA classes controllers wrote, as OnSLAClasses last
// received them or would now.
func (s *Server) SLAClasses() []SLAClass {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.slaClassesLocked()
}
