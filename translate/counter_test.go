package translate

import (
	"math"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

func TestCounterEntries(t *testing.T) {
	tr := newTranslator(t)
	cell, err := tr.DecodeCounterEntry(&p4v1.CounterEntry{CounterId: p4info.IDCounterPortRX, Index: &p4v1.Index{Index: 511}})
	if err != nil || cell != (CounterCell{Counter: p4info.IDCounterPortRX, Index: 511}) {
		t.Fatalf("%+v, %v", cell, err)
	}
	cell, err = tr.DecodeCounterEntry(&p4v1.CounterEntry{CounterId: p4info.IDCounterDrop})
	if err != nil || !cell.All || cell.Data != nil {
		t.Fatalf("wildcard index: %+v, %v", cell, err)
	}
	cell, err = tr.DecodeCounterEntry(&p4v1.CounterEntry{CounterId: p4info.IDCounterTunnelTX, Index: &p4v1.Index{},
		Data: &p4v1.CounterData{ByteCount: 3, PacketCount: 1}})
	if err != nil || cell.Data == nil || *cell.Data != (dataplane.Counter{Packets: 1, Bytes: 3}) {
		t.Fatalf("data: %+v, %v", cell, err)
	}
	for _, c := range []struct {
		name string
		e    *p4v1.CounterEntry
		code codes.Code
	}{
		{"nil", nil, codes.InvalidArgument},
		{"unknown counter", &p4v1.CounterEntry{CounterId: 0x12000099}, codes.NotFound},
		{"counter 0", &p4v1.CounterEntry{}, codes.NotFound},
		{"direct counter id", &p4v1.CounterEntry{CounterId: p4info.IDDirectCounterPDR}, codes.NotFound},
		{"negative index", &p4v1.CounterEntry{CounterId: p4info.IDCounterPortRX, Index: &p4v1.Index{Index: -1}}, codes.InvalidArgument},
		{"index = size", &p4v1.CounterEntry{CounterId: p4info.IDCounterPortRX, Index: &p4v1.Index{Index: 512}}, codes.OutOfRange},
		{"index beyond tunnels", &p4v1.CounterEntry{CounterId: p4info.IDCounterTunnelRX, Index: &p4v1.Index{Index: 1 << 40}}, codes.OutOfRange},
		{"negative data", &p4v1.CounterEntry{CounterId: p4info.IDCounterDrop, Data: &p4v1.CounterData{ByteCount: -5}}, codes.InvalidArgument},
	} {
		_, err := tr.DecodeCounterEntry(c.e)
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code) })
	}

	enc, err := tr.EncodeCounterEntry(p4info.IDCounterTunnelRX, 4095, dataplane.Counter{Packets: 2, Bytes: math.MaxUint64})
	if err != nil {
		t.Fatal(err)
	}
	want := &p4v1.CounterEntry{CounterId: p4info.IDCounterTunnelRX, Index: &p4v1.Index{Index: 4095},
		Data: &p4v1.CounterData{PacketCount: 2, ByteCount: math.MaxInt64}}
	if !proto.Equal(enc, want) {
		t.Fatalf("%v, want %v", enc, want)
	}
	if _, err := tr.EncodeCounterEntry(p4info.IDCounterTunnelRX, 4096, dataplane.Counter{}); Code(err) != codes.OutOfRange {
		t.Fatal(err)
	}
	if _, err := tr.EncodeCounterEntry(1, 0, dataplane.Counter{}); Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	if n, err := tr.CounterSize(p4info.IDCounterDrop); err != nil || n != 64 {
		t.Fatalf("size %d, %v", n, err)
	}
	if _, err := tr.CounterSize(7); Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	if c, err := DecodeCounterData(nil); err != nil || c != (dataplane.Counter{}) {
		t.Fatalf("nil data: %v, %v", c, err)
	}
}

func TestDirectCounterEntries(t *testing.T) {
	tr := newTranslator(t)
	te := pdrEntry(7, nil, tern(p4info.IDFieldPDRIPProto, b(0, 17), b(0xff)))
	k, c, err := tr.DecodeDirectCounterEntry(&p4v1.DirectCounterEntry{TableEntry: te, Data: &p4v1.CounterData{PacketCount: 4}})
	if err != nil || c == nil || *c != (dataplane.Counter{Packets: 4}) || k.Priority != 7 || k.Match.Proto != dataplane.Exact[uint8](17) {
		t.Fatalf("%+v %+v %v", k, c, err)
	}
	enc, err := tr.EncodeDirectCounterEntry(k, dataplane.Counter{Packets: 4, Bytes: 400})
	if err != nil {
		t.Fatal(err)
	}
	want := &p4v1.DirectCounterEntry{TableEntry: pdrEntry(7, nil, tern(p4info.IDFieldPDRIPProto, b(17), b(0xff))),
		Data: &p4v1.CounterData{PacketCount: 4, ByteCount: 400}}
	if !proto.Equal(enc, want) {
		t.Fatalf("%v, want %v", enc, want)
	}
	// The default entry has a counter too (packets that matched no rule).
	k, c, err = tr.DecodeDirectCounterEntry(&p4v1.DirectCounterEntry{TableEntry: defaultEntry(p4info.IDTablePDR, nil)})
	if err != nil || c != nil || !k.Default {
		t.Fatalf("default: %+v %+v %v", k, c, err)
	}
	if d, err := tr.DirectCounterData(p4info.IDTablePDR, dataplane.Counter{Packets: 1, Bytes: 2}); err != nil ||
		!proto.Equal(d, &p4v1.CounterData{PacketCount: 1, ByteCount: 2}) {
		t.Fatalf("counter data %v, %v", d, err)
	}
	for _, c := range []struct {
		name string
		e    *p4v1.DirectCounterEntry
		code codes.Code
	}{
		{"no table entry", &p4v1.DirectCounterEntry{}, codes.InvalidArgument},
		{"unknown table", &p4v1.DirectCounterEntry{TableEntry: &p4v1.TableEntry{TableId: 5}}, codes.NotFound},
		{"table without direct counter", &p4v1.DirectCounterEntry{TableEntry: farEntry(b(1), nil)}, codes.InvalidArgument},
		{"bad key", &p4v1.DirectCounterEntry{TableEntry: pdrEntry(0, nil)}, codes.InvalidArgument},
		{"negative data", &p4v1.DirectCounterEntry{TableEntry: pdrEntry(1, nil), Data: &p4v1.CounterData{PacketCount: -1}}, codes.InvalidArgument},
	} {
		_, _, err := tr.DecodeDirectCounterEntry(c.e)
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code) })
	}
	if _, err := tr.DirectCounterData(p4info.IDTableFAR, dataplane.Counter{}); Code(err) != codes.InvalidArgument {
		t.Fatal(err)
	}
	if _, err := tr.EncodeDirectCounterEntry(Key{Table: p4info.IDTableFAR, FAR: 1}, dataplane.Counter{}); Code(err) != codes.Internal {
		t.Fatal(err)
	}
}
