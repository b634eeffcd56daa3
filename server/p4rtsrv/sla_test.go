package p4rtsrv

import (
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/sla"
)

// slaEntry is an sla_class entry for lbr: dscp, rtt and jitter in µs, loss in ppm.
func slaEntry(lbr uint32, dscp, rttUs, lossPpm, jitterUs uint64) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableSLAClass,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldSLAClassLbrID, u(uint64(lbr)))},
		Action: action(p4info.IDActionSetSLA, param(p4info.IDParamSetSLADSCP, u(dscp)), param(p4info.IDParamSetSLARttUs, u(rttUs)),
			param(p4info.IDParamSetSLALossPpm, u(lossPpm)), param(p4info.IDParamSetSLAJitterUs, u(jitterUs)))}
}

func slaKey(lbr uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableSLAClass, Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldSLAClassLbrID, u(uint64(lbr)))}}
}

// slaHook records what OnSLAClasses receives.
type slaHook struct {
	mu    sync.Mutex
	calls [][]SLAClass
}

func (k *slaHook) on(cs []SLAClass) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, cs)
}

// want checks that exactly one call arrived since the last check, with want.
func (k *slaHook) want(t *testing.T, what string, want []SLAClass) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.calls) != 1 {
		t.Fatalf("%s: %d OnSLAClasses calls %v, want one", what, len(k.calls), k.calls)
	}
	if got := k.calls[0]; !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: OnSLAClasses(%+v), want %+v", what, got, want)
	}
	k.calls = nil
}

func (k *slaHook) none(t *testing.T, what string) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.calls) != 0 {
		t.Errorf("%s: OnSLAClasses(%v), want no call", what, k.calls)
	}
	k.calls = nil
}

var voice = sla.Limits{RTT: 150 * time.Millisecond, Loss: 0.01, Jitter: 30 * time.Millisecond}

// TestSLAClasses: sla_class entries read back as written, reach the agent as
// sla.Class values with their LBR's members whenever they or that LBR change
// (never for unrelated writes), survive a restart, and are refused when the
// table is full.
func TestSLAClasses(t *testing.T) {
	var hook slaHook
	dir := filepath.Join(t.TempDir(), "state")
	d1, with := openState(t, dir)
	h := newHarness(t, kindMem, testOptions, with, func(o *Options) { o.OnSLAClasses = hook.on })
	h.primary(20) // commits
	hook.none(t, "commit of an empty pipeline")

	// A class before its LBR: kept, not handed over (no member yet).
	voiceEntry := slaEntry(1, 46, 150_000, 10_000, 30_000)
	h.mustWrite(20, insert(voiceEntry))
	hook.none(t, "class without its LBR")
	h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableSLAClass}), voiceEntry)

	// The LBR arrives: the class, with the LBR's members (weights summed, watch ports kept).
	h.mustWrite(20, insert(tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)), insert(tunnelEntry(2, 3, "172.16.1.1", "172.16.1.2", 0)),
		insert(watchedSet(watchedSet(lbrSet(1, 1, 2, 2, 1, 1, 1), 0, u(uint64(dataplane.TunnelPort(testOptions.MaxPorts, 1)))),
			2, u(uint64(dataplane.TunnelPort(testOptions.MaxPorts, 1))))))
	want := []SLAClass{{LBR: 1, Class: sla.Class{Name: "lbr-1", DSCP: 46, SLA: voice, Members: []dataplane.LBRMember{
		{Tunnel: 1, Weight: 3, Watch: dataplane.TunnelPort(testOptions.MaxPorts, 1)}, {Tunnel: 2, Weight: 1}}}}}
	hook.want(t, "LBR written", want)
	if err := sla.ValidateClasses([]sla.Class{want[0].Class}); err != nil {
		t.Errorf("package sla refuses the class: %v", err)
	}

	// Unrelated writes deliver nothing; a class change does.
	h.mustWrite(20, insert(farForward(1, 1)))
	hook.none(t, "far write")
	h.mustWrite(20, modify(slaEntry(1, 46, 100_000, 0, 0)))
	want[0].Class.SLA = sla.Limits{RTT: 100 * time.Millisecond}
	hook.want(t, "class modified", want)
	// The LBR's members change: the class follows.
	h.mustWrite(20, modify(lbrSet(1, 2, 1)))
	want[0].Class.Members = []dataplane.LBRMember{{Tunnel: 2, Weight: 1}}
	hook.want(t, "LBR modified", want)
	if got := h.srv.SLAClasses(); !reflect.DeepEqual(got, want) {
		t.Errorf("SLAClasses() = %+v, want %+v", got, want)
	}

	// Refused values name the parameter; nothing is delivered.
	err := h.write(20, insert(slaEntry(2, 0, 0, 1_000_001, 0)), insert(slaEntry(3, 64, 0, 0, 0)))
	wantUpdates(t, err, codes.InvalidArgument, codes.OutOfRange)
	hook.none(t, "refused entries")

	// A restart restores the class (read back and handed over once).
	before := h.everything()
	d1.Close() // the crash: the server never closes
	var hook2 slaHook
	_, with = openState(t, dir)
	h2 := newHarness(t, kindMem, testOptions, with, func(o *Options) { o.OnSLAClasses = hook2.on })
	sameEntities(t, "after a restart", h2.everything(), before)
	hook2.want(t, "restored", want)

	// Deleting the class: an empty set.
	if _, u := h2.controller(21); codes.Code(u.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("not primary after the restart: %v", u)
	}
	h2.mustWrite(21, del(slaKey(1)))
	hook2.want(t, "class deleted", nil)
	// Full table: RESOURCE_EXHAUSTED once every entry of the P4Info's size is used.
	var ups []*p4v1.Update
	n := int(p4info.DefaultSizes.SLAClasses)
	for i := range n + 1 {
		ups = append(ups, insert(slaEntry(uint32(100+i), 0, 1, 0, 0)))
	}
	codesWant := make([]codes.Code, n+1)
	codesWant[n] = codes.ResourceExhausted
	wantUpdates(t, h2.write(21, ups...), codesWant...)
	hook2.none(t, "classes of LBRs that do not exist")

	// VERIFY_AND_COMMIT clears them.
	h2.mustWrite(21, del(slaKey(100)), insert(slaEntry(1, 0, 0, 0, 5_000)))
	hook2.want(t, "class again", []SLAClass{{LBR: 1, Class: sla.Class{Name: "lbr-1", SLA: sla.Limits{Jitter: 5 * time.Millisecond},
		Members: []dataplane.LBRMember{{Tunnel: 2, Weight: 1}}}}})
	h2.commit(21)
	hook2.want(t, "pipeline committed (cleared)", nil)
}
