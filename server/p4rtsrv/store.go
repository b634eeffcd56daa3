package p4rtsrv

import (
	"errors"

	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/translate"
)

// stored is a table entry as the controller wrote it (canonical, without
// counter_data) and the data-path rule it became (pdr entries: the rule's id;
// the other tables' rules are named by their keys).
type stored struct {
	entry translate.Entry
	pdr   dataplane.PDRID // pdr entries
	// offset is what a counter MODIFY set on the entry's direct counter: it
	// reads the data path's count minus offset.
	offset dataplane.Counter
	next   *stored // entryIndex: the next entry whose key has the same hash
	// meter is the entry's direct meter config (pdr entries; zero: default).
	meter dataplane.MeterConfig
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
