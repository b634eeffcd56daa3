package p4rtsrv

import (
	"fmt"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/p4info"
)

// TestLargeWriteAsInOrder: a Write large enough to be decoded on one goroutine
// and installed on another, in several data-path batches, ends every update
// exactly as the in-order loop ends it: same per-update codes (duplicates in
// one batch and across batches, an update that is not a PDR insert between
// them, a refused PDR, a modify of a PDR the same Write inserted), same
// entries read back.
func TestLargeWriteAsInOrder(t *testing.T) {
	const n = 2*pipelineChunk + 3000
	o := testOptions
	o.MaxPDRs = n + 8
	host := func(i int) *p4v1.TableEntry {
		return pdrHost(fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff), int32(i+1), 1)
	}
	ups := make([]*p4v1.Update, n)
	want := make([]codes.Code, n)
	for i := range ups {
		ups[i] = insert(host(i))
	}
	set := func(i int, u *p4v1.Update, c codes.Code) { ups[i], want[i] = u, c }
	set(100, insert(host(50)), codes.AlreadyExists)                      // same data-path batch
	set(pipelineChunk+10, insert(host(10)), codes.AlreadyExists)         // an earlier batch
	set(5000, insert(farForward(2, 1)), codes.OK)                        // not a PDR insert
	set(6000, insert(pdrEntry("10.3.0.1", 7, 1)), codes.InvalidArgument) // host bits outside the mask
	set(7000, insert(pdrHost("192.0.2.1", 9, 1)), codes.AlreadyExists)   // installed before the Write
	mod := host(20)
	mod.Action = action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, u(2)))
	set(2*pipelineChunk+100, modify(mod), codes.OK) // a PDR this Write inserted
	run := func(t *testing.T, kind string, min int) ([]codes.Code, []*p4v1.TableEntry) {
		old := pipelineMin
		pipelineMin = min
		t.Cleanup(func() { pipelineMin = old })
		h := newHarness(t, kind, o)
		h.primary(20)
		h.mustWrite(20, insert(farForward(1, 1)), insert(pdrHost("192.0.2.1", 9, 1)))
		got := updateCodes(h.write(20, ups...))
		return got, h.readTable(&p4v1.TableEntry{})
	}
	for _, kind := range []string{kindMem, kindEBPF} {
		t.Run(kind, func(t *testing.T) {
			piped, pipedRead := run(t, kind, pipelineMin)
			inOrder, inOrderRead := run(t, kind, n+1)
			for i := range want {
				if piped[i] != want[i] || inOrder[i] != want[i] {
					t.Errorf("update %d: pipelined %v, in order %v, want %v", i, piped[i], inOrder[i], want[i])
				}
			}
			if len(pipedRead) != len(inOrderRead) || len(pipedRead) != n-3 {
				// n-6 hosts (six positions hold other updates), 192.0.2.1, two FARs
				t.Fatalf("read %d entries pipelined, %d in order, want %d", len(pipedRead), len(inOrderRead), n-3)
			}
			for i := range pipedRead {
				if !proto.Equal(pipedRead[i], inOrderRead[i]) {
					t.Fatalf("entry %d: pipelined %v, in order %v", i, pipedRead[i], inOrderRead[i])
				}
			}
		})
	}
}
