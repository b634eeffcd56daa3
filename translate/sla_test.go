package translate

import (
	"strings"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/p4info"
)

func slaEntry(lbr []byte, a *p4v1.Action) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableSLAClass, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldSLAClassLbrID, lbr)}, Action: direct(a)}
}

func setSLA(dscp, rtt, loss, jitter []byte) *p4v1.Action {
	return act(p4info.IDActionSetSLA, prm(p4info.IDParamSetSLADSCP, dscp), prm(p4info.IDParamSetSLARttUs, rtt),
		prm(p4info.IDParamSetSLALossPpm, loss), prm(p4info.IDParamSetSLAJitterUs, jitter))
}

// sla_class entries decode to the limits in their units, round-trip
// canonically, and refuse what cannot be a limit with the parameter named.
func TestSLAClass(t *testing.T) {
	tr := newTranslator(t)
	// Voice: EF (46), 150 ms, 1 % (10000 ppm), 30 ms; padded values.
	e, err := tr.DecodeTableEntry(slaEntry(b(0, 7), setSLA(b(46), b(0x02, 0x49, 0xf0), b(0, 0x27, 0x10), b(0x75, 0x30))), p4v1.Update_INSERT)
	if err != nil {
		t.Fatal(err)
	}
	want := SetSLA{DSCP: 46, RTT: 150 * time.Millisecond, LossPPM: 10000, Jitter: 30 * time.Millisecond}
	if e.LBR != 7 || e.Action != want {
		t.Fatalf("decoded %+v %+v, want lbr 7 %+v", e.Key, e.Action, want)
	}
	for _, c := range []Entry{
		{Key: Key{Table: p4info.IDTableSLAClass, LBR: 7}, Action: want},
		{Key: Key{Table: p4info.IDTableSLAClass, LBR: 0xffffffff}, Action: SetSLA{DSCP: 63, RTT: (1<<32 - 1) * time.Microsecond, LossPPM: 1_000_000, Jitter: time.Microsecond}},
		{Key: Key{Table: p4info.IDTableSLAClass}, Action: SetSLA{}},
	} {
		checkRoundTrip(t, tr, c)
	}
	if d, err := tr.InitialDefault(p4info.IDTableSLAClass); err != nil || d.Action != (NoSLA{}) {
		t.Errorf("initial default %+v %v, want no_sla", d, err)
	}

	for _, c := range []struct {
		name string
		te   *p4v1.TableEntry
		code codes.Code
		msg  string
	}{
		{"loss above 100 %", slaEntry(b(1), setSLA(b(0), b(0), b(0x0f, 0x42, 0x41), b(0))), codes.InvalidArgument, "loss_ppm"},
		{"loss wider than 20 bits", slaEntry(b(1), setSLA(b(0), b(0), b(0x10, 0, 0), b(0))), codes.OutOfRange, "loss_ppm"},
		{"dscp 64", slaEntry(b(1), setSLA(b(64), b(0), b(0), b(0))), codes.OutOfRange, "dscp"},
		{"rtt wider than 32 bits", slaEntry(b(1), setSLA(b(0), b(1, 0, 0, 0, 0), b(0), b(0))), codes.OutOfRange, "rtt_us"},
		{"parameter missing", slaEntry(b(1), act(p4info.IDActionSetSLA, prm(p4info.IDParamSetSLADSCP, b(0)))), codes.InvalidArgument, "missing"},
		{"no_sla in an entry", slaEntry(b(1), act(p4info.IDActionNoSLA)), codes.PermissionDenied, "no_sla"},
		{"an lbr action", slaEntry(b(1), encap(b(1))), codes.InvalidArgument, "not an action of table"},
	} {
		_, err := tr.DecodeTableEntry(c.te, p4v1.Update_INSERT)
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, err, c.code)
			if err != nil && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%v does not say %q", err, c.msg)
			}
		})
	}
}
