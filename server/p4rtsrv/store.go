package p4rtsrv

import (
	"errors"

	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// stored is a table entry as the controller wrote it (canonical, without
// counter_data) and the data-path rule it became (pdr entries: the rule's id;
// the other tables' rules are named by their keys).
//
// Stored entries are most of the server's memory in a large table, so the
// common pdr entry (IPv4 or either family, without metadata) is held in 80
// bytes: its match without the IPv6 fields, priority, FAR and controller
// metadata. Every other entry is held as a translate.Entry (248 bytes and
// its action boxed). entry() returns either as a translate.Entry.
type stored struct {
	full *translate.Entry // nil: the compact pdr entry p
	p    compactPDR
	pdr  dataplane.PDRID // pdr entries
	// x holds what is rarely set: the offset a counter MODIFY set on the
	// entry's direct counter (it reads the data path's count minus offset) and
	// the entry's direct meter config (pdr entries). nil: neither.
	x *storedExtra
}

type storedExtra struct {
	offset dataplane.Counter
	meter  dataplane.MeterConfig // zero: default
}

// compactPDR is a pdr entry whose match has no IPv6 address field.
type compactPDR struct {
	prio      int32
	far       dataplane.FARID
	cm        uint64 // controller_metadata
	inPort    dataplane.Ternary[uint16]
	src, dst  dataplane.Ternary[uint32]
	sport     dataplane.PortRange
	dport     dataplane.PortRange
	direction dataplane.Ternary[uint8]
	proto     dataplane.Ternary[uint8]
	dscp      dataplane.Ternary[uint8]
	family    uint8
}

// newStored holds e (its Counter is dropped: stored entries are canonical).
func newStored(e translate.Entry) *stored {
	a, isSet := e.Action.(translate.SetFAR)
	m := e.Match
	if e.Table != p4info.IDTablePDR || e.Default || !isSet || e.Metadata != nil || !m.Src6.IsZero() || !m.Dst6.IsZero() {
		e.Counter = nil
		return &stored{full: &e}
	}
	return &stored{p: compactPDR{prio: e.Priority, far: a.FAR, cm: e.ControllerMetadata,
		inPort: m.InPort, src: m.Src, dst: m.Dst, sport: m.SrcPort, dport: m.DstPort,
		direction: m.Direction, proto: m.Proto, dscp: m.DSCP, family: m.Family}}
}

// match is a compact entry's match.
func (p *compactPDR) match() dataplane.PDRMatch {
	return dataplane.PDRMatch{InPort: p.inPort, Direction: p.direction, Src: p.src, Dst: p.dst, Proto: p.proto,
		SrcPort: p.sport, DstPort: p.dport, DSCP: p.dscp, Family: p.family}
}

// entry returns the entry as written.
func (st *stored) entry() translate.Entry {
	if st.full != nil {
		return *st.full
	}
	return translate.Entry{Key: st.key(), Action: translate.SetFAR{FAR: st.p.far}, ControllerMetadata: st.p.cm}
}

// key returns the entry's key.
func (st *stored) key() translate.Key {
	if st.full != nil {
		return st.full.Key
	}
	return translate.Key{Table: p4info.IDTablePDR, Priority: st.p.prio, Match: st.p.match()}
}

// table is the entry's table id.
func (st *stored) table() uint32 {
	if st.full != nil {
		return st.full.Table
	}
	return p4info.IDTablePDR
}

// action is the entry's action.
func (st *stored) action() translate.Action {
	if st.full != nil {
		return st.full.Action
	}
	return translate.SetFAR{FAR: st.p.far}
}

// is reports whether the entry's key is k.
func (st *stored) is(k translate.Key) bool {
	if st.full != nil {
		return st.full.Key == k
	}
	return k.Table == p4info.IDTablePDR && !k.Default && k.Priority == st.p.prio && k.Match == st.p.match()
}

// offset is what a counter MODIFY set on the entry's direct counter.
func (st *stored) offset() dataplane.Counter {
	if st.x == nil {
		return dataplane.Counter{}
	}
	return st.x.offset
}

// meter is the entry's direct meter config (zero: default).
func (st *stored) meter() dataplane.MeterConfig {
	if st.x == nil {
		return dataplane.MeterConfig{}
	}
	return st.x.meter
}

func (st *stored) setOffset(c dataplane.Counter) {
	if st.x == nil {
		if c == (dataplane.Counter{}) {
			return
		}
		st.x = &storedExtra{}
	}
	st.x.offset = c
}

func (st *stored) setMeter(c dataplane.MeterConfig) {
	if st.x == nil {
		if c == (dataplane.MeterConfig{}) {
			return
		}
		st.x = &storedExtra{}
	}
	st.x.meter = c
}

// counterCell names one cell of an indirect counter.
type counterCell struct {
	counter uint32
	index   int64
}

// store is the server's memory of what controllers wrote: Reads answer from it
// (counters from the data path), so they return exactly what Writes accepted.
type store struct {
	entries  entryIndex
	defaults map[uint32]translate.Entry // non-initial default entries by table
	members  map[uint32]translate.Member
	groups   map[uint32]translate.Group
	// sla holds the sla_class entries' actions by LBR (also in entries), the
	// classes' index (sla.go).
	sla map[dataplane.LBRID]translate.SetSLA

	// Counter MODIFY sets a value: reads return data path − offset (direct
	// counters keep theirs in stored.offset).
	counterOffsets map[counterCell]dataplane.Counter

	// meters are the configured meter cells (default ones are absent).
	meters map[dataplane.MeterID]dataplane.MeterConfig
}

func (s *Server) resetStore() {
	s.slaDirty = true
	s.st = store{
		entries:        newEntryIndex(),
		defaults:       map[uint32]translate.Entry{},
		members:        map[uint32]translate.Member{},
		groups:         map[uint32]translate.Group{},
		sla:            map[dataplane.LBRID]translate.SetSLA{},
		counterOffsets: map[counterCell]dataplane.Counter{},
		meters:         map[dataplane.MeterID]dataplane.MeterConfig{},
	}
}

// dpCode maps a data-path error to the P4Runtime status code.
func dpCode(err error) codes.Code {
	switch {
	case errors.Is(err, dataplane.ErrExists):
		return codes.AlreadyExists
	case errors.Is(err, dataplane.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, dataplane.ErrFull):
		return codes.ResourceExhausted
	case errors.Is(err, dataplane.ErrInvalid):
		return codes.InvalidArgument
	case errors.Is(err, dataplane.ErrOutOfRange):
		return codes.OutOfRange
	case errors.Is(err, dataplane.ErrInUse):
		return codes.FailedPrecondition
	}
	return codes.Internal
}

func sub(a, b dataplane.Counter) dataplane.Counter {
	return dataplane.Counter{Packets: a.Packets - b.Packets, Bytes: a.Bytes - b.Bytes}
}
