package p4rtsrv

import (
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/server/p4rtsrv/wire"
)

// Large Writes decode on one goroutine while they install on another.
//
// In order, a PDR of a large Write is decoded (wire, translate) and then
// installed (classifier, map writes, store), all on the Write's goroutine.
// From pipelineMin updates, a decoder goroutine decodes ahead while the
// Write's goroutine installs what is decoded, in data-path batches of up to
// pipelineChunk PDRs: on two CPUs the decoding hides behind the installing.
// The decoder reads only the request and the translator (and hashes keys for
// the store's index); every check against
// the store, every data-path call and every change of the store stay on the
// Write's goroutine, in update order, so each update ends as writeInOrder
// would end it. At most a few chunks are in flight: the memory a Write takes
// stays bounded by its size.
var pipelineMin = 4096 // a variable for the test that compares both paths

const pipelineChunk = 4096

// decoded is one update as the decoder hands it over: a PDR insert decoded
// (st, pdr) or refused (err), or any other update (u), which the decoder
// waits on (its messages are the decoder's until the Write acknowledges it).
type decoded struct {
	i   int
	err error
	st  *stored
	h   uint64 // st's key's hash (entryIndex)
	pdr dataplane.PDR
	u   *p4v1.Update
}

func (s *Server) writePipelined(ups *wire.Updates, errs []error) {
	out := make(chan []decoded, 2)
	free := make(chan []decoded, 3)
	ack := make(chan struct{})
	hash := s.st.entries.hasher()
	go func() {
		defer close(out)
		chunk := func() []decoded {
			select {
			case c := <-free:
				return c[:0]
			default:
				return make([]decoded, 0, pipelineChunk)
			}
		}
		batch := chunk()
		for i := range errs {
			u, err := ups.At(i)
			d := decoded{i: i}
			switch {
			case err != nil:
				d.err = status.Errorf(codes.InvalidArgument, "malformed update: %v", err)
			case isPDRInsert(u):
				if d.st, d.pdr, d.err = s.decodePDR(u.GetEntity().GetTableEntry()); d.err == nil {
					d.h = hash(d.st.key())
				}
			default:
				if len(batch) > 0 {
					out <- batch
					batch = chunk()
				}
				d.u = u
				out <- []decoded{d}
				<-ack
				continue
			}
			batch = append(batch, d)
			if len(batch) == pipelineChunk {
				out <- batch
				batch = chunk()
			}
		}
		if len(batch) > 0 {
			out <- batch
		}
	}()
	var run pdrRun
	for batch := range out {
		for _, d := range batch {
			if d.u != nil {
				s.insertPDRs(&run, errs)
				errs[d.i] = s.update(d.u)
				ack <- struct{}{}
				continue
			}
			s.addPDR(&run, d.i, d.st, d.h, d.pdr, d.err, errs)
		}
		if len(run.sts) >= pipelineChunk {
			s.insertPDRs(&run, errs)
		}
		if cap(batch) == pipelineChunk {
			clear(batch) // the stored entries are the store's now, or garbage
			select {
			case free <- batch:
			default:
			}
		}
	}
	s.insertPDRs(&run, errs)
}
