// Package wire decodes P4Runtime WriteRequests one update at a time, without
// copies, instead of building the whole request's message tree up front.
//
// A Write of 100 000 PDRs is ~9 MB on the wire and ~100 MB as protobuf-go
// messages (about fifteen small objects per update), all alive until the Write
// returns: most of the agent's peak memory during a large install, and most of
// its allocations. Codec, installed on the gRPC server, leaves a WriteRequest's
// updates as their wire records (the request's unknown fields, so that it
// still marshals to the same bytes); Updates then decodes them one by one into
// the same reused messages, whose byte fields point into the request's buffer.
// An update the fast decoder does not cover (any field beyond a table entry's
// usual ones, a field repeated where proto merges, a malformed record) is
// decoded by proto.Unmarshal instead, with the same result.
package wire

import (
	"fmt"
	"sync"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// fieldUpdates is WriteRequest.updates.
const fieldUpdates = 4

// Codec is the "proto" codec with lazy WriteRequests: install it on the
// server with grpc.ForceServerCodecV2. Every other message is (un)marshalled
// by gRPC's own proto codec.
func Codec() encoding.CodecV2 { return codec{encoding.GetCodecV2("proto")} }

type codec struct{ encoding.CodecV2 }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	wr, ok := v.(*p4v1.WriteRequest)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	// An own copy: gRPC recycles its buffers once Unmarshal returns, and the
	// update records stay referenced until the Write is done.
	return unmarshalWrite(data.Materialize(), wr)
}

// unmarshalWrite decodes b into wr except the updates, whose records become
// wr's unknown fields (a sub-slice of b when they are contiguous, as every
// encoder writes them).
func unmarshalWrite(b []byte, wr *p4v1.WriteRequest) error {
	var rest, ups []byte
	upStart, upEnd := -1, -1
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return fmt.Errorf("write request: %w", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return fmt.Errorf("write request: %w", protowire.ParseError(m))
		}
		rec := b[off : off+n+m]
		switch {
		case num != fieldUpdates || typ != protowire.BytesType:
			rest = append(rest, rec...)
		case upStart < 0:
			upStart, upEnd = off, off+n+m
		case upEnd == off && ups == nil:
			upEnd = off + n + m
		default: // not contiguous: copy them
			if ups == nil {
				ups = append([]byte(nil), b[upStart:upEnd]...)
			}
			ups = append(ups, rec...)
		}
		off += n + m
	}
	if err := proto.Unmarshal(rest, wr); err != nil {
		return err
	}
	if ups == nil && upStart >= 0 {
		ups = b[upStart:upEnd]
	}
	if len(ups) > 0 {
		r := wr.ProtoReflect()
		if unk := r.GetUnknown(); len(unk) > 0 {
			ups = append(append([]byte(nil), unk...), ups...)
		}
		r.SetUnknown(ups)
	}
	return nil
}

// Updates are the updates of one WriteRequest, decoded on demand.
type Updates struct {
	eager []*p4v1.Update
	raw   [][]byte // update messages (record payloads)
	s     *scratch
}

// scratches recycles the decoder's messages across Writes: a one-update Write
// would otherwise allocate a few kilobytes of them.
var scratches = sync.Pool{New: func() any { return new(scratch) }}

// Release gives the decoder's messages back for other Writes. Nothing At
// returned may be used after it.
func (u *Updates) Release() {
	if u.s != nil {
		u.s.clear()
		scratches.Put(u.s)
		u.s = nil
	}
}

// Of returns wr's updates: those decoded already, then those Codec left as
// records.
func Of(wr *p4v1.WriteRequest) (*Updates, error) {
	u := &Updates{eager: wr.GetUpdates()}
	all := wr.ProtoReflect().GetUnknown()
	n, err := records(all, nil)
	if err != nil || n == 0 {
		return u, err
	}
	u.raw = make([][]byte, 0, n)
	_, err = records(all, func(b []byte) { u.raw = append(u.raw, b) })
	return u, err
}

// records calls f (if not nil) with every update record of unk, and counts them.
func records(unk []byte, f func([]byte)) (int, error) {
	n := 0
	for len(unk) > 0 {
		num, typ, k := protowire.ConsumeTag(unk)
		if k < 0 {
			return 0, protowire.ParseError(k)
		}
		if num == fieldUpdates && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(unk[k:])
			if m < 0 {
				return 0, protowire.ParseError(m)
			}
			if f != nil {
				f(v)
			}
			n++
			unk = unk[k+m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, unk[k:])
		if m < 0 {
			return 0, protowire.ParseError(m)
		}
		unk = unk[k+m:]
	}
	return n, nil
}

// Count is how many updates wr holds, decoded or not (for observers of
// requests, such as metrics interceptors). A malformed request counts 0.
func Count(wr *p4v1.WriteRequest) int {
	u, err := Of(wr)
	if err != nil {
		return 0
	}
	return u.Len()
}

// Len is the number of updates.
func (u *Updates) Len() int { return len(u.eager) + len(u.raw) }

// At decodes update i. The update returned, and every message and byte slice
// in it, is valid until the next call of At: it may be reused, and its bytes
// point into the request. Callers copy what they keep.
func (u *Updates) At(i int) (*p4v1.Update, error) {
	if i < len(u.eager) {
		return u.eager[i], nil
	}
	b := u.raw[i-len(u.eager)]
	if u.s == nil {
		u.s = scratches.Get().(*scratch)
	}
	if up, ok := u.s.update(b); ok {
		return up, nil
	}
	up := &p4v1.Update{}
	if err := proto.Unmarshal(b, up); err != nil {
		return nil, err
	}
	return up, nil
}
