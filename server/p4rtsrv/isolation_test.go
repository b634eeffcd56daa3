package p4rtsrv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// notBlocked is how long an operation may take before the test concludes it is
// blocked behind another client: generous, it only tells "done" from "hung".
const notBlocked = 10 * time.Second

// stalledConn dials the harness's server with the smallest HTTP/2 windows gRPC
// allows (64 KiB) and no window growth, so that the server's Sends on a stream
// this client does not read block after a few hundred KiB.
func (h *harness) stalledConn() *grpc.ClientConn {
	h.t.Helper()
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { conn.Close() })
	return conn
}

// within runs f and fails the test if it does not return within notBlocked.
func within(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(notBlocked):
		t.Fatalf("%s did not complete within %v: blocked behind a client that does not read", what, notBlocked)
	}
}

// TestStalledReaderBlocksNobody: a client that starts a large Read and never
// consumes the answer (it has no election id: anyone may Read) does not stop
// the primary's Writes, pipeline Gets or other clients' Reads.
func TestStalledReaderBlocksNobody(t *testing.T) {
	const fars = 8000 // ~300 KiB of answer: far more than the windows hold
	o := testOptions
	o.MaxFARs = fars + 16
	memOnly(t, o, func(t *testing.T, h *harness) {
		h.primary(10)
		for first := uint32(1); first <= fars; first += 1000 {
			var ups []*p4v1.Update
			for id := first; id < first+1000; id++ {
				ups = append(ups, insert(farForward(id, 2)))
			}
			h.mustWrite(10, ups...)
		}

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stalled, err := p4v1.NewP4RuntimeClient(h.stalledConn()).Read(ctx, &p4v1.ReadRequest{DeviceId: 1,
			Entities: []*p4v1.Entity{tableEntity(&p4v1.TableEntry{})}})
		must(t, err)
		// The first response proves the server is answering; then the client
		// stops reading, and the server's Sends of the rest block.
		if _, err := stalled.Recv(); err != nil {
			t.Fatal(err)
		}

		for i := range 20 {
			id := uint32(fars + 1 + i%8)
			up := insert(farForward(id, 3))
			if i >= 8 {
				up = modify(farForward(id, 1))
			}
			within(t, "the primary's write", func() error { return h.write(10, up) })
		}
		within(t, "GetForwardingPipelineConfig", func() error {
			_, err := h.getConfig(p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY)
			return err
		})
		within(t, "another client's read", func() error {
			_, err := h.read(tableEntity(&p4v1.TableEntry{TableId: farForward(1, 1).TableId, Match: farKey(fars + 1)}))
			return err
		})
	})
}

// TestStalledStreamBlocksNobody: a primary that stops reading its StreamChannel
// does not block the relay of punted packets to the primary of another role;
// what it cannot take is dropped and counted.
func TestStalledStreamBlocksNobody(t *testing.T) {
	memOnly(t, testOptions, func(t *testing.T, h *harness) {
		stalled, err := p4v1.NewP4RuntimeClient(h.stalledConn()).StreamChannel(context.Background())
		must(t, err)
		must(t, stalled.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
			Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: 1, ElectionId: eid(5)}}}))
		within(t, "the stalled client's arbitration", func() error {
			for {
				for _, st := range h.srv.Arbitration() {
					if st.Role == "" && st.Primary {
						return nil
					}
				}
				time.Sleep(time.Millisecond)
			}
		})

		healthy := h.connect(eid(1), "other")
		healthy.arbitration()

		// Far more PacketIns than the stalled client's queue and windows hold.
		frame := bytes.Repeat([]byte{0x5a}, dataplane.MaxPuntBytes)
		for i := range 3000 {
			deadline := time.Now().Add(notBlocked)
			for !h.mem.InjectPunt(dataplane.Punt{Port: 1, Packet: frame}) {
				if time.Now().After(deadline) {
					t.Fatalf("packet-in %d: the relay stopped taking punts", i)
				}
				time.Sleep(time.Millisecond)
			}
			if m := healthy.recv(); m.GetPacket() == nil { // recv fails the test after waitFor
				t.Fatalf("packet-in %d: got %v", i, m)
			}
		}
		if got := h.srv.StreamDropped(); got == 0 {
			t.Error("the stalled client's overflow was not counted as dropped")
		}
	})
}

// allocated returns the bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadDuplicatesAnsweredOnce: a Read naming the same wildcard hundreds of
// times returns each entry once, in chunks, and costs about what naming it
// once costs (it used to cost 300 times that: a 40 KB request could exhaust
// the agent's memory).
func TestReadDuplicatesAnsweredOnce(t *testing.T) {
	const fars = 2000
	o := testOptions
	o.MaxFARs = fars
	memOnly(t, o, func(t *testing.T, h *harness) {
		h.primary(10)
		for first := uint32(1); first <= fars; first += 1000 {
			var ups []*p4v1.Update
			for id := first; id < first+1000; id++ {
				ups = append(ups, insert(farForward(id, 2)))
			}
			h.mustWrite(10, ups...)
		}
		all := tableEntity(&p4v1.TableEntry{TableId: farForward(1, 1).TableId})
		many := make([]*p4v1.Entity, 300)
		for i := range many {
			many[i] = all
		}

		var got []*p4v1.Entity
		one := allocated(func() { got = h.mustRead(all) })
		if len(got) != fars {
			t.Fatalf("one wildcard: %d entities, want %d", len(got), fars)
		}
		// Count the responses: the answer comes in bounded chunks.
		rs, err := h.c.Read(context.Background(), &p4v1.ReadRequest{DeviceId: 1, Entities: many})
		must(t, err)
		responses, entities := 0, 0
		dup := allocated(func() {
			for {
				r, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				must(t, err)
				responses++
				entities += len(r.Entities)
				if len(r.Entities) > readChunk {
					t.Errorf("a response of %d entities, more than %d", len(r.Entities), readChunk)
				}
			}
		})
		if entities != fars {
			t.Errorf("300 times the same wildcard: %d entities, want each of the %d once", entities, fars)
		}
		if responses < fars/readChunk {
			t.Errorf("%d entities in %d responses: not chunked", entities, responses)
		}
		if dup > 2*one+1<<20 {
			t.Errorf("300 times the same wildcard allocated %d bytes, once %d: memory grows with duplicates", dup, one)
		}
	})
}

// TestReadCap: an answer larger than the cap is RESOURCE_EXHAUSTED, not
// built; the default cap holds everything the device can hold.
func TestReadCap(t *testing.T) {
	h := newHarness(t, kindMem, testOptions, func(o *Options) { o.MaxReadEntities = 100 })
	h.primary(10)
	var ups []*p4v1.Update
	for id := uint32(1); id <= 60; id++ {
		ups = append(ups, insert(farForward(id, 2)))
	}
	h.mustWrite(10, ups...)
	if got := h.readTable(&p4v1.TableEntry{}); len(got) != 60 {
		t.Fatalf("read of 60 entries under a cap of 100: %d", len(got))
	}
	// Two overlapping queries, each answered in full: 120 > 100.
	_, err := h.read(tableEntity(&p4v1.TableEntry{}), tableEntity(&p4v1.TableEntry{TableId: farForward(1, 1).TableId}))
	wantCode(t, err, codes.ResourceExhausted, "120 entities under a cap of 100")
	if err != nil && !strings.Contains(status.Convert(err).Message(), "100") {
		t.Errorf("the message does not name the cap: %v", err)
	}

	// Everything at once, on a full device, stays under the default cap.
	info := p4info.MustNewIndex(p4info.New(sizesFor(testOptions)))
	want := 0
	for _, tab := range info.Tables() {
		want += int(tab.Size())
	}
	if got := MaxReadEntities(info); got < want {
		t.Errorf("default cap %d is below the sum of table sizes %d", got, want)
	}
}
