package p4rtsrv

import (
	"strings"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

type setAction = p4v1.SetForwardingPipelineConfigRequest_Action

const (
	verify             = p4v1.SetForwardingPipelineConfigRequest_VERIFY
	verifyAndSave      = p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_SAVE
	verifyAndCommit    = p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT
	commitSaved        = p4v1.SetForwardingPipelineConfigRequest_COMMIT
	reconcileCommit    = p4v1.SetForwardingPipelineConfigRequest_RECONCILE_AND_COMMIT
	getAll             = p4v1.GetForwardingPipelineConfigRequest_ALL
	getCookie          = p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY
	getP4InfoCookie    = p4v1.GetForwardingPipelineConfigRequest_P4INFO_AND_COOKIE
	getDevConfigCookie = p4v1.GetForwardingPipelineConfigRequest_DEVICE_CONFIG_AND_COOKIE
)

func (h *harness) setConfig(low uint64, a setAction, cfg *p4v1.ForwardingPipelineConfig) error {
	r, err := h.c.SetForwardingPipelineConfig(h.t.Context(), &p4v1.SetForwardingPipelineConfigRequest{DeviceId: 1, ElectionId: eid(low), Action: a, Config: cfg})
	if err == nil && !proto.Equal(r, &p4v1.SetForwardingPipelineConfigResponse{}) {
		h.t.Errorf("SetForwardingPipelineConfig answered %v, want an empty response", r)
	}
	return err
}

func config(info *p4configv1.P4Info, dev []byte, c uint64) *p4v1.ForwardingPipelineConfig {
	cfg := &p4v1.ForwardingPipelineConfig{P4Info: info, P4DeviceConfig: dev}
	if c != 0 {
		cfg.Cookie = &p4v1.ForwardingPipelineConfig_Cookie{Cookie: c}
	}
	return cfg
}

// TestPipelineConfig covers the SetForwardingPipelineConfig actions and the
// GetForwardingPipelineConfig response types.
func TestPipelineConfig(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		linx := h.info.P4Info() // the data path's sizes
		all := []p4v1.GetForwardingPipelineConfigRequest_ResponseType{getAll, getCookie, getP4InfoCookie, getDevConfigCookie}

		// Before any config, Get succeeds with config unset (what ONOS reads as
		// "not configured"), and reads and writes are FAILED_PRECONDITION.
		for _, rt := range all {
			if cfg, err := h.getConfig(rt); err != nil || cfg != nil {
				t.Errorf("Get %v before any config: %v, %v; want no error and config unset", rt, cfg, err)
			}
		}
		_, err := h.read(tableEntity(&p4v1.TableEntry{}))
		wantCode(t, err, codes.FailedPrecondition, "read before any config")
		h.controller(20)
		h.controller(10)
		wantCode(t, h.write(20, insert(farForward(1, 1))), codes.FailedPrecondition, "write before any config")

		// Device and primary checks come first.
		_, err = h.c.GetForwardingPipelineConfig(t.Context(), &p4v1.GetForwardingPipelineConfigRequest{DeviceId: 2})
		wantCode(t, err, codes.NotFound, "Get for an unknown device")
		_, err = h.c.SetForwardingPipelineConfig(t.Context(), &p4v1.SetForwardingPipelineConfigRequest{DeviceId: 2, ElectionId: eid(20), Action: verifyAndCommit, Config: config(linx, nil, 1)})
		wantCode(t, err, codes.NotFound, "Set for an unknown device")
		wantCode(t, h.setConfig(10, verifyAndCommit, config(linx, nil, 1)), codes.PermissionDenied, "Set by a backup")

		// VERIFY checks and changes nothing.
		wantCode(t, h.setConfig(20, verify, config(linx, nil, 1)), codes.OK, "VERIFY linx")
		smaller := sizesFor(testOptions)
		smaller.PDRs, smaller.Ports = 10, 8
		wantCode(t, h.setConfig(20, verify, config(p4info.New(smaller), nil, 1)), codes.OK, "VERIFY linx with other sizes")
		wantCode(t, h.setConfig(20, verify, nil), codes.InvalidArgument, "VERIFY without config")
		wantCode(t, h.setConfig(20, verifyAndCommit, &p4v1.ForwardingPipelineConfig{}), codes.InvalidArgument, "VERIFY_AND_COMMIT without p4info")
		if cfg, _ := h.getConfig(getAll); cfg != nil {
			t.Errorf("VERIFY stored a config: %v", cfg)
		}

		// A P4Info that is not linx's is refused, saying what differs.
		narrow := p4info.New(p4info.DefaultSizes)
		narrow.Tables[0].MatchFields[3].Bitwidth = 16 // pdr dst_addr
		renamed := p4info.New(p4info.DefaultSizes)
		renamed.Tables[1].Preamble.Name = "MyIngress.acl"
		broken := p4info.New(p4info.DefaultSizes)
		broken.Actions[1].Preamble.Id = broken.Actions[0].Preamble.Id
		for _, c := range []struct {
			name string
			info *p4configv1.P4Info
			says []string
		}{
			{"field width", narrow, []string{"LinxIngress.pdr", "dst_addr", "bitwidth 32, got 16"}},
			{"other table", renamed, []string{"LinxIngress.far", "MyIngress.acl"}},
			{"invalid p4info", broken, []string{"0x01000001"}},
		} {
			for _, a := range []setAction{verify, verifyAndSave, verifyAndCommit} {
				err := h.setConfig(20, a, config(c.info, nil, 9))
				wantCode(t, err, codes.InvalidArgument, c.name+" "+a.String())
				for _, s := range c.says {
					if msg := status.Convert(err).Message(); !strings.Contains(msg, s) {
						t.Errorf("%s %v: message %q does not mention %q", c.name, a, msg, s)
					}
				}
			}
		}
		if cfg, _ := h.getConfig(getAll); cfg != nil {
			t.Errorf("a refused config was stored: %v", cfg)
		}

		// VERIFY_AND_COMMIT stores the config; Get returns what each response
		// type asks for, byte for byte.
		dev := []byte(`{"program": "linx"}`)
		wantCode(t, h.setConfig(20, verifyAndCommit, config(linx, dev, 0xfeed)), codes.OK, "VERIFY_AND_COMMIT")
		ck := &p4v1.ForwardingPipelineConfig_Cookie{Cookie: 0xfeed}
		for rt, want := range map[p4v1.GetForwardingPipelineConfigRequest_ResponseType]*p4v1.ForwardingPipelineConfig{
			getAll:             {P4Info: linx, P4DeviceConfig: dev, Cookie: ck},
			getCookie:          {Cookie: ck},
			getP4InfoCookie:    {P4Info: linx, Cookie: ck},
			getDevConfigCookie: {P4DeviceConfig: dev, Cookie: ck},
		} {
			if got, err := h.getConfig(rt); err != nil || !proto.Equal(got, want) {
				t.Errorf("Get %v: %v (%v)", rt, got, err)
			}
		}
		// Reads work now, and return nothing.
		if got := h.mustRead(tableEntity(&p4v1.TableEntry{})); len(got) != 0 {
			t.Errorf("fresh pipeline has entries: %v", got)
		}

		// Without a cookie, Get returns none.
		wantCode(t, h.setConfig(20, verifyAndCommit, config(linx, nil, 0)), codes.OK, "VERIFY_AND_COMMIT without cookie")
		if got, err := h.getConfig(getCookie); err != nil || got == nil || got.Cookie != nil {
			t.Errorf("Get COOKIE_ONLY after a commit without cookie: %v (%v)", got, err)
		}

		// VERIFY_AND_SAVE then COMMIT: the saved cookie becomes current only at
		// COMMIT; the forwarding state written in between stays.
		wantCode(t, h.setConfig(20, commitSaved, nil), codes.NotFound, "COMMIT with nothing saved")
		wantCode(t, h.setConfig(20, verifyAndCommit, config(linx, nil, 1)), codes.OK, "VERIFY_AND_COMMIT cookie 1")
		h.mustWrite(20, insert(farForward(1, 1)))
		wantCode(t, h.setConfig(20, verifyAndSave, config(linx, dev, 2)), codes.OK, "VERIFY_AND_SAVE cookie 2")
		if got, _ := h.getConfig(getCookie); got.GetCookie().GetCookie() != 1 {
			t.Errorf("after VERIFY_AND_SAVE, Get returns cookie %v, want 1 until COMMIT", got.GetCookie())
		}
		h.mustWrite(20, insert(farForward(2, 1)))
		wantCode(t, h.setConfig(20, commitSaved, config(linx, nil, 3)), codes.InvalidArgument, "COMMIT with a config")
		wantCode(t, h.setConfig(10, commitSaved, nil), codes.PermissionDenied, "COMMIT by a backup")
		wantCode(t, h.setConfig(20, commitSaved, nil), codes.OK, "COMMIT")
		if got, _ := h.getConfig(getAll); !proto.Equal(got, config(linx, dev, 2)) {
			t.Errorf("after COMMIT, Get ALL = %v, want the saved config", got)
		}
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), farForward(1, 1), farForward(2, 1))
		wantCode(t, h.setConfig(20, commitSaved, nil), codes.NotFound, "second COMMIT")

		wantCode(t, h.setConfig(20, reconcileCommit, config(linx, nil, 4)), codes.Unimplemented, "RECONCILE_AND_COMMIT")
		wantCode(t, h.setConfig(20, p4v1.SetForwardingPipelineConfigRequest_UNSPECIFIED, config(linx, nil, 4)), codes.InvalidArgument, "UNSPECIFIED action")
		if got, _ := h.getConfig(getCookie); got.GetCookie().GetCookie() != 2 {
			t.Errorf("a refused Set changed the cookie to %v", got.GetCookie())
		}
	})
}

// TestVerifyAndSaveFirst: after a first VERIFY_AND_SAVE, reads and writes refer
// to the saved config (spec: "any subsequent Read / Write requests must refer to
// fields in the new config"); COMMIT then keeps what was written.
func TestVerifyAndSaveFirst(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.controller(20)
		wantCode(t, h.setConfig(20, verifyAndSave, config(h.info.P4Info(), nil, 7)), codes.OK, "VERIFY_AND_SAVE")
		if cfg, err := h.getConfig(getCookie); err != nil || cfg != nil {
			t.Errorf("Get before COMMIT: %v (%v), want config unset", cfg, err)
		}
		wantCode(t, h.write(20, insert(farForward(1, 1))), codes.OK, "write after VERIFY_AND_SAVE")
		_, err := h.read(tableEntity(&p4v1.TableEntry{}))
		wantCode(t, err, codes.OK, "read after VERIFY_AND_SAVE")
		wantCode(t, h.setConfig(20, commitSaved, nil), codes.OK, "COMMIT")
		if cfg, _ := h.getConfig(getCookie); cfg.GetCookie().GetCookie() != 7 {
			t.Errorf("cookie after COMMIT: %v", cfg)
		}
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), farForward(1, 1))
	})
}

// TestCommitClearsState: VERIFY_AND_COMMIT clears the forwarding state, in reads
// and in the data path; the same entries can then be written again.
func TestCommitClearsState(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		entries := []*p4v1.TableEntry{
			tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0),
			tunnelEntry(2, 3, "172.16.1.1", "172.16.1.2", 7),
			termEntry("172.16.0.2", "172.16.0.1", 0, 1),
			farForward(1, 2), farEncap(2, 1), farBalance(3, 1),
			pdrEntry("10.2.0.0", 10, 1), pdrEntry("10.3.0.0", 20, 2),
		}
		write := func() {
			t.Helper()
			for _, e := range entries {
				h.mustWrite(20, insert(e))
			}
			h.mustWrite(20, update(p4v1.Update_INSERT, memberEntity(member(1, 1))), update(p4v1.Update_INSERT, memberEntity(member(2, 2))))
			h.mustWrite(20, update(p4v1.Update_INSERT, groupEntity(group(1, 1, 1, 2, 1))))
			h.mustWrite(20, insert(lbrGroup(1, 1)), modify(pdrDefault(p4info.IDActionDrop)))
		}
		write()
		if h.mem != nil && (len(h.mem.PDRs()) != 2 || len(h.mem.LBRs()) != 1 || h.mem.PDRDefault().Action != dataplane.ActDrop) {
			t.Fatalf("data path not programmed: %v %v %v", h.mem.PDRs(), h.mem.LBRs(), h.mem.PDRDefault())
		}

		// ONOS re-pushes the same pipeline after it restarts (reference §2.2.4).
		h.commit(20)
		if got := h.mustRead(tableEntity(&p4v1.TableEntry{}), memberEntity(&p4v1.ActionProfileMember{}), groupEntity(&p4v1.ActionProfileGroup{})); len(got) != 0 {
			t.Errorf("entries left after VERIFY_AND_COMMIT: %v", got)
		}
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true}), pdrDefault(p4info.IDActionPass))
		if h.mem != nil {
			if len(h.mem.PDRs())+len(h.mem.FARs())+len(h.mem.LBRs())+len(h.mem.Tunnels())+len(h.mem.Terms()) != 0 ||
				h.mem.PDRDefault().Action != dataplane.ActPass {
				t.Errorf("data path not cleared: %v %v %v %v %v default %v", h.mem.PDRs(), h.mem.FARs(), h.mem.LBRs(),
					h.mem.Tunnels(), h.mem.Terms(), h.mem.PDRDefault())
			}
		}
		// Nothing is left behind in the data path to collide with (the eBPF
		// data path refuses a PDR whose match and priority it still holds).
		write()
		if h.mem != nil && len(h.mem.PDRs()) != 2 {
			t.Errorf("data path after rewriting: %v", h.mem.PDRs())
		}
	})
}

// TestP4InfoSizes: a P4Info that declares more than the data path holds is
// refused, naming each capacity with both sizes, and stores nothing; the
// P4Info served is one whose capacities the data path has (a wildcard counter
// read returns every cell it declares).
func TestP4InfoSizes(t *testing.T) {
	memOnly(t, testOptions, func(t *testing.T, h *harness) {
		h.controller(20)
		big := p4info.New(p4info.DefaultSizes)
		for _, a := range []setAction{verify, verifyAndSave, verifyAndCommit} {
			err := h.setConfig(20, a, config(big, nil, 1))
			wantCode(t, err, codes.ResourceExhausted, "default sizes on a small data path, "+a.String())
			msg := status.Convert(err).Message()
			for _, s := range []string{"table LinxIngress.pdr: size 100000, the data path holds 64",
				"counter LinxIngress.port_rx_counter: size 512, the data path holds 16",
				"action profile LinxIngress.lbr_selector: size 16384, the data path holds 128"} {
				if !strings.Contains(msg, s) {
					t.Errorf("%v: message %q does not say %q", a, msg, s)
				}
			}
		}
		if cfg, _ := h.getConfig(getAll); cfg != nil {
			t.Errorf("a refused config was stored: %v", cfg)
		}
		// One table one entry too big is enough.
		over := sizesFor(testOptions)
		over.FARs++
		err := h.setConfig(20, verify, config(p4info.New(over), nil, 1))
		wantCode(t, err, codes.ResourceExhausted, "far one too big")
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "table LinxIngress.far: size 65, the data path holds 64") {
			t.Errorf("message %q does not name the far table", msg)
		}

		must(t, h.setConfig(20, verifyAndCommit, config(h.info.P4Info(), nil, 1)))
		served, err := h.getConfig(getP4InfoCookie)
		must(t, err)
		for _, c := range served.P4Info.Counters {
			got, err := h.read(counterEntity(&p4v1.CounterEntry{CounterId: c.Preamble.Id}))
			must(t, err)
			if int64(len(got)) != c.Size {
				t.Errorf("counter %s: the served P4Info declares %d cells, a wildcard read returns %d", c.Preamble.Name, c.Size, len(got))
			}
		}
	})
}
