package p4rtsrv

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/p4rtsrv/journal"
)

// openState opens a state directory for a harness; the test closes it (as a
// process that dies would) with the returned function.
func openState(t *testing.T, dir string) (*journal.Dir, func(*Options)) {
	t.Helper()
	d, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Sync = false
	t.Cleanup(func() { d.Close() })
	return d, func(o *Options) { o.Persist = d; o.CompactEvery = 4 }
}

// everything reads every entity a controller can have written.
func (h *harness) everything() []*p4v1.Entity {
	h.t.Helper()
	return h.mustRead(tableEntity(&p4v1.TableEntry{}), tableEntity(&p4v1.TableEntry{IsDefaultAction: true}),
		memberEntity(&p4v1.ActionProfileMember{}), groupEntity(&p4v1.ActionProfileGroup{}))
}

func sameEntities(t *testing.T, what string, got, want []*p4v1.Entity) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entities, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("%s: entity %d is\n  %v\nwant\n  %v", what, i, got[i], want[i])
		}
	}
}

// memState is everything the in-memory data path holds.
type memState struct {
	pdrs    map[dataplane.PDRID]dataplane.PDR
	def     dataplane.FAR
	fars    map[dataplane.FARID]dataplane.FAR
	lbrs    map[dataplane.LBRID][]dataplane.LBRMember
	tunnels map[dataplane.TunnelID]dataplane.Tunnel
	terms   map[dataplane.TunnelTerm]dataplane.TunnelID
}

func (h *harness) memState() memState {
	return memState{h.mem.PDRs(), h.mem.PDRDefault(), h.mem.FARs(), h.mem.LBRs(), h.mem.Tunnels(), h.mem.Terms()}
}

func (a memState) equal(b memState) bool {
	return maps.Equal(a.pdrs, b.pdrs) && a.def == b.def && maps.Equal(a.fars, b.fars) &&
		maps.EqualFunc(a.lbrs, b.lbrs, slices.Equal) && maps.Equal(a.tunnels, b.tunnels) && maps.Equal(a.terms, b.terms)
}

// TestPersistRestart: a server with a state directory, killed without a clean
// stop (snapshot and journal as they are), is replaced by one over a fresh data
// path: it serves the same config and cookie, reads return exactly what was
// written, the data path gets every rule back under the same PDR ids, and
// writes go on. A clean stop leaves a snapshot only; a VERIFY_AND_COMMIT
// persists the cleared state.
func TestPersistRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d1, with := openState(t, dir)
	h := newHarness(t, kindMem, testOptions, with)
	h.primary(20)
	h.commit(20)
	g := watched(group(2, 1, 3, 4, 1), 1, []byte{3}) // member 4 watches port 3
	h.mustWrite(20,
		insert(tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)),
		insert(tunnelEntry(2, 3, "172.16.1.1", "172.16.1.2", 7)),
		insert(termEntry("172.16.0.2", "172.16.0.1", 0, 1)),
		// An IPv6 underlay's overlay and termination survive the restart too.
		insert(tunnel6Entry(5, 2, "2001:db8:a::1", "2001:db8:b::1", 3)),
		insert(term6Entry("2001:db8:b::1", "2001:db8:a::1", 3, 5)),
		update(p4v1.Update_INSERT, memberEntity(member(1, 1))),
		update(p4v1.Update_INSERT, memberEntity(member(4, 2))),
		update(p4v1.Update_INSERT, memberEntity(member(9, 2))),
		update(p4v1.Update_INSERT, groupEntity(g)),
		insert(lbrGroup(1, 2)),
		insert(watchedSet(lbrSet(3, 1, 5, 2, 1), 0, []byte{byte(dataplane.TunnelPort(testOptions.MaxPorts, 2))})),
		insert(farForward(1, 1)),
		insert(farBalance(2, 1)),
		insert(farEncap(3, 2)),
		insert(farPlain(4, p4info.IDActionDrop)),
	)
	// PDRs in one batch (the data path's batch insert) and alone.
	meta := pdrEntry("10.2.0.0", 30, 2)
	meta.ControllerMetadata, meta.Metadata = 77, []byte("ef")
	h.mustWrite(20, insert(pdrEntry("10.1.0.0", 10, 1)), insert(meta), insert(pdrHost("10.2.0.9", 40, 3)), insert(pdrHost("10.2.0.10", 40, 4)))
	h.mustWrite(20, insert(pdrHost("10.3.0.1", 50, 4)))
	// Changes after the fact: modify, delete, a member gone, the default set.
	h.mustWrite(20, modify(pdrHost("10.2.0.9", 40, 4)), del(pdrKey(pdrHost("10.2.0.10", 40, 4))),
		update(p4v1.Update_DELETE, memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 9})))
	def := pdrDefault(p4info.IDActionDrop)
	def.ControllerMetadata = 5
	h.mustWrite(20, modify(def))
	// Failed updates leave no trace in the state.
	wantUpdates(t, h.write(20, insert(pdrHost("10.3.0.1", 50, 4)), insert(farPlain(6, p4info.IDActionPass))), codes.AlreadyExists, codes.OK)
	// A config saved, not committed, is kept too.
	saved := &p4v1.ForwardingPipelineConfig{P4Info: h.info.P4Info(), Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: 99}}
	must(t, h.setConfig(20, p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_SAVE, saved))

	before := h.everything()
	dpBefore := h.memState()
	if n, _ := d1.Pending(); n == 0 {
		t.Fatal("nothing in the journal: the test would not replay one")
	}
	// The crash: the state directory is released as the kernel does for a dead
	// process; the server never closes.
	d1.Close()

	_, with = openState(t, dir)
	h2 := newHarness(t, kindMem, testOptions, with)
	r := h2.srv.Restored()
	if !r.Configured || r.Cookie != cookie || r.PDRs != 4 || r.Members != 2 || r.Groups != 1 {
		t.Errorf("restored %+v", r)
	}
	sameEntities(t, "after the restart", h2.everything(), before)
	if got := h2.memState(); !got.equal(dpBefore) {
		t.Errorf("data path after the restart:\n  %+v\nwant\n  %+v", got, dpBefore)
	}
	c, err := h2.getConfig(p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY)
	if err != nil || c.GetCookie().GetCookie() != cookie {
		t.Errorf("cookie after the restart: %v %v, want %d", c, err, cookie)
	}
	// The saved config is still there to commit.
	if _, u := h2.controller(21); codes.Code(u.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("not primary after the restart: %v", u)
	}
	must(t, h2.setConfig(21, p4v1.SetForwardingPipelineConfigRequest_COMMIT, nil))
	c, _ = h2.getConfig(p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY)
	if c.GetCookie().GetCookie() != 99 {
		t.Errorf("committed the saved config after the restart: cookie %v, want 99", c.GetCookie())
	}
	h2.mustWrite(21, insert(pdrHost("10.4.0.1", 60, 1)))
	after := h2.everything()
	if n := len(h2.mem.PDRs()); n != len(dpBefore.pdrs)+1 {
		t.Errorf("%d pdrs after one more insert, want %d", n, len(dpBefore.pdrs)+1)
	}

	// A clean stop: the journal is compacted into the snapshot.
	must(t, h2.srv.Close())
	if fi, err := os.Stat(filepath.Join(dir, journal.JournalFile)); err != nil || fi.Size() != 8 {
		t.Errorf("journal after a clean stop: %v %v, want the header only", fi, err)
	}
	h2Dir := h2.srv.persist.(*journal.Dir)
	h2Dir.Close()
	_, with = openState(t, dir)
	h3 := newHarness(t, kindMem, testOptions, with)
	sameEntities(t, "after a clean restart", h3.everything(), after)

	// VERIFY_AND_COMMIT clears, persistently.
	h3.primary(22) // commits
	h3.srv.persist.(*journal.Dir).Close()
	_, with = openState(t, dir)
	h4 := newHarness(t, kindMem, testOptions, with)
	if r := h4.srv.Restored(); r.Entries != 0 || r.Members != 0 || !r.Configured {
		t.Errorf("after a commit that cleared everything: restored %+v", r)
	}
	if n := len(h4.mem.PDRs()); n != 0 {
		t.Errorf("%d pdrs in the data path after a restart that restored none", n)
	}
}

// failingPersist fails its appends while broken.
type failingPersist struct {
	recs     [][]byte
	broken   bool
	compacts int
}

func (f *failingPersist) Load() [][]byte { return f.recs }
func (f *failingPersist) Append(r []byte) error {
	if f.broken {
		return errors.New("disk full")
	}
	f.recs = append(f.recs, r)
	return nil
}
func (f *failingPersist) Compact(recs [][]byte) error {
	if f.broken {
		return errors.New("disk full")
	}
	f.compacts++
	f.recs = recs
	return nil
}
func (f *failingPersist) Pending() (int, int64) { return 0, 0 }

// TestPersistFailure: updates that took effect but could not be persisted say
// so (INTERNAL), and the next successful write persists the whole state.
func TestPersistFailure(t *testing.T) {
	p := &failingPersist{}
	h := newHarness(t, kindMem, testOptions, func(o *Options) { o.Persist = p })
	h.primary(20)
	h.commit(20)
	p.broken = true
	err := h.write(20, insert(farForward(1, 1)), insert(farForward(1, 1)))
	wantUpdates(t, err, codes.Internal, codes.AlreadyExists)
	p.broken = false
	compacts := p.compacts
	h.mustWrite(20, insert(farForward(2, 1)))
	if p.compacts != compacts+1 {
		t.Fatalf("after a failure, the next write compacted %d times, want once", p.compacts-compacts)
	}
	// What the snapshot holds restores both FARs.
	h2 := newHarness(t, kindMem, testOptions, func(o *Options) { o.Persist = &failingPersist{recs: p.recs} })
	if got := h2.mem.FARs(); len(got) != 2 {
		t.Errorf("restored FARs %v, want 2", got)
	}
}

// TestPersistRejects: a state that does not decode under this pipeline stops
// New with an error naming the record.
func TestPersistRejects(t *testing.T) {
	for _, recs := range [][][]byte{
		{{recUpdates, 0, 0xff}},
		{{9}},
		{func() []byte {
			r, _ := encodeUpdates([]*p4v1.Update{{Type: p4v1.Update_INSERT, Entity: tableEntity(pdrHost("10.0.0.1", 1, 1))}}, nil)
			return r
		}()},
	} {
		_, err := New(Options{Dataplane: memdp.New(testOptions), Pipeline: p4info.MustNewIndex(p4info.New(sizesFor(testOptions))),
			Persist: &failingPersist{recs: recs}})
		if err == nil {
			t.Errorf("records %x restored without error", recs)
		}
	}
}
