package p4info_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"

	"github.com/linx-sdwan/linx/p4info"
)

func TestDiff(t *testing.T) {
	x := linx(t)
	for _, c := range []struct {
		name   string
		change func(p *p4configv1.P4Info)
		want   []string
	}{
		{"identical", func(p *p4configv1.P4Info) {}, nil},
		{"ignored: docs, aliases, annotations, pkg_info, sizes, order", func(p *p4configv1.P4Info) {
			p.PkgInfo = &p4configv1.PkgInfo{Name: "other", Arch: "v1model"}
			for _, tab := range p.Tables {
				tab.Preamble.Doc = nil
				tab.Preamble.Alias = "x_" + tab.Preamble.Alias
				tab.Preamble.Annotations = []string{"@hidden"}
				tab.Size = 1
				for _, f := range tab.MatchFields {
					f.Doc = &p4configv1.Documentation{Brief: "changed"}
				}
				slices.Reverse(tab.MatchFields)
				slices.Reverse(tab.ActionRefs)
			}
			for _, a := range p.Actions {
				a.Preamble.Doc = nil
				slices.Reverse(a.Params)
			}
			p.ActionProfiles[0].Size = 64
			p.ActionProfiles[0].MaxGroupSize = 64
			for _, c := range p.Counters {
				c.Size = 3
			}
			slices.Reverse(p.Tables)
			slices.Reverse(p.Actions)
			slices.Reverse(p.Counters)
			slices.Reverse(p.ControllerPacketMetadata)
		}, nil},
		{"match field bitwidth", func(p *p4configv1.P4Info) { table(p, p4info.TablePDR).MatchFields[2].Bitwidth = 16 },
			[]string{"table LinxIngress.pdr: match field 3 (src_addr): bitwidth 32, got 16"}},
		{"match type", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).MatchFields[6].Match = &p4configv1.MatchField_MatchType_{MatchType: p4configv1.MatchField_TERNARY}
		}, []string{"table LinxIngress.pdr: match field 7 (l4_dport): match type RANGE, got TERNARY"}},
		{"match field id", func(p *p4configv1.P4Info) { table(p, p4info.TablePDR).MatchFields[7].Id = 99 },
			[]string{"table LinxIngress.pdr: match field dscp: id 8, got 99"}},
		{"match field renamed", func(p *p4configv1.P4Info) { table(p, p4info.TableTunnelTerm).MatchFields[2].Name = "key" },
			[]string{
				"table LinxIngress.tunnel_term: missing match field 3 (gre_key)",
				"table LinxIngress.tunnel_term: unexpected match field 3 (key)",
			}},
		{"table id", func(p *p4configv1.P4Info) { table(p, p4info.TableFAR).Preamble.Id = 0x02000009 },
			[]string{"table LinxIngress.far: id 0x02000002, got 0x02000009"}},
		{"missing and unexpected tables", func(p *p4configv1.P4Info) { table(p, p4info.TableTunnelTerm).Preamble.Name = "LinxIngress.term" },
			[]string{"missing table LinxIngress.tunnel_term", "unexpected table LinxIngress.term"}},
		{"scope", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).ActionRefs[0].Scope = p4configv1.ActionRef_TABLE_AND_DEFAULT
		},
			[]string{"table LinxIngress.pdr: action LinxIngress.set_far: scope TABLE_ONLY, got TABLE_AND_DEFAULT"}},
		{"action refs", func(p *p4configv1.P4Info) {
			tab := table(p, p4info.TableFAR)
			tab.ActionRefs = slices.DeleteFunc(tab.ActionRefs, func(r *p4configv1.ActionRef) bool { return r.Id == p4info.IDActionPunt })
			tab.ActionRefs = append(tab.ActionRefs, &p4configv1.ActionRef{Id: p4info.IDActionSetGRE})
		}, []string{
			"table LinxIngress.far: missing action LinxIngress.punt",
			"table LinxIngress.far: unexpected action LinxIngress.set_gre",
		}},
		{"const default", func(p *p4configv1.P4Info) { table(p, p4info.TableFAR).ConstDefaultActionId = 0 },
			[]string{"table LinxIngress.far: const default action LinxIngress.drop, got none"}},
		{"implementation and direct counter", func(p *p4configv1.P4Info) {
			table(p, p4info.TableLBR).ImplementationId = 0
			p.ActionProfiles = nil
			table(p, p4info.TablePDR).DirectResourceIds = []uint32{p4info.IDDirectMeterPDR}
			p.DirectCounters = p.DirectCounters[1:] // non_ip_counter stays
		}, []string{
			"table LinxIngress.pdr: direct counter LinxIngress.pdr_counter, got none",
			"table LinxIngress.lbr: implementation LinxIngress.lbr_selector, got none",
			"missing action profile LinxIngress.lbr_selector",
			"missing direct counter LinxIngress.pdr_counter",
		}},
		{"const table and idle timeout", func(p *p4configv1.P4Info) {
			table(p, p4info.TableTunnels).IsConstTable = true
			table(p, p4info.TableTunnels).IdleTimeoutBehavior = p4configv1.Table_NOTIFY_CONTROL
		}, []string{
			"table LinxIngress.tunnels: is_const_table false, got true",
			"table LinxIngress.tunnels: idle timeout supported false, got true",
		}},
		{"params", func(p *p4configv1.P4Info) {
			a := action(p, p4info.ActionSetGRE)
			a.Params[3].Name = "gre_key"
			a.Params[0].Bitwidth = 9
			a.Preamble.Id = 0x01000042
			table(p, p4info.TableTunnels).ActionRefs[0].Id = 0x01000042
		}, []string{
			"action LinxIngress.set_gre: id 0x01000008, got 0x01000042",
			"action LinxIngress.set_gre: param 1 (port): bitwidth 16, got 9",
			"action LinxIngress.set_gre: missing param 4 (key)",
			"action LinxIngress.set_gre: unexpected param 4 (gre_key)",
		}},
		{"unexpected action", func(p *p4configv1.P4Info) {
			p.Actions = append(p.Actions, &p4configv1.Action{Preamble: &p4configv1.Preamble{Id: 0x01000010, Name: "NoAction"}})
		}, []string{"unexpected action NoAction"}},
		{"selector", func(p *p4configv1.P4Info) {
			p.ActionProfiles[0].WithSelector = false
			p.ActionProfiles[0].MaxGroupSize = 0
		}, []string{"action profile LinxIngress.lbr_selector: with_selector true, got false"}},
		{"counters", func(p *p4configv1.P4Info) {
			p.Counters[0].Spec.Unit = p4configv1.CounterSpec_PACKETS
			p.Counters[1].Preamble.Id = 0x12000010
			p.DirectCounters[0].Spec.Unit = p4configv1.CounterSpec_BYTES
		}, []string{
			"counter LinxIngress.port_rx_counter: unit BOTH, got PACKETS",
			"counter LinxIngress.port_tx_counter: id 0x12000002, got 0x12000010",
			"direct counter LinxIngress.pdr_counter: unit BOTH, got BYTES",
		}},
		{"direct counter moved", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).DirectResourceIds = []uint32{p4info.IDDirectMeterPDR}
			table(p, p4info.TableFAR).DirectResourceIds = []uint32{p4info.IDDirectCounterPDR}
			p.DirectCounters[0].DirectTableId = p4info.IDTableFAR
		}, []string{
			"table LinxIngress.pdr: direct counter LinxIngress.pdr_counter, got none",
			"table LinxIngress.far: direct counter none, got LinxIngress.pdr_counter",
			"direct counter LinxIngress.pdr_counter: table LinxIngress.pdr, got LinxIngress.far",
		}},
		{"packet metadata", func(p *p4configv1.P4Info) {
			in := p.ControllerPacketMetadata[0]
			in.Metadata[0].Bitwidth = 9
			in.Metadata = append(in.Metadata, &p4configv1.ControllerPacketMetadata_Metadata{Id: 2, Name: "_pad", Bitwidth: 7})
			p.ControllerPacketMetadata = p.ControllerPacketMetadata[:1]
		}, []string{
			"controller header packet_in: metadata 1 (ingress_port): bitwidth 16, got 9",
			"controller header packet_in: unexpected metadata 2 (_pad)",
			"missing controller header packet_out",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := p4info.New(p4info.DefaultSizes)
			c.change(p)
			got, err := p4info.NewIndex(p)
			if err != nil {
				t.Fatalf("the changed P4Info is invalid: %v", err)
			}
			d := x.Diff(got)
			if !slices.Equal(d, c.want) {
				t.Errorf("Diff:\n  %s\nwant:\n  %s", strings.Join(d, "\n  "), strings.Join(c.want, "\n  "))
			}
			// The other way round finds as many differences.
			if back := got.Diff(x); len(back) != len(c.want) {
				t.Errorf("reverse Diff has %d differences, want %d:\n  %s", len(back), len(c.want), strings.Join(back, "\n  "))
			}
		})
	}
}

func TestCompatible(t *testing.T) {
	x := linx(t)
	if err := x.Compatible(p4info.New(p4info.Sizes{PDRs: 10})); err != nil {
		t.Errorf("resized P4Info: %v", err)
	}

	bad := p4info.New(p4info.DefaultSizes)
	bad.ControllerPacketMetadata[1].Metadata[0].Name = "port"
	err := x.Compatible(bad)
	var me *p4info.MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("mismatching P4Info: error %v (%T), want *MismatchError", err, err)
	}
	want := "P4Info does not match the linx pipeline: controller header packet_out: missing metadata 1 (egress_port); " +
		"controller header packet_out: unexpected metadata 1 (port)"
	if err.Error() != want || len(me.Differences) != 2 || me.Pipeline != "linx" {
		t.Errorf("error:\n  %v\nwant:\n  %s", err, want)
	}

	invalid := p4info.New(p4info.DefaultSizes)
	invalid.Tables[0].ActionRefs[0].Id = 0x01000099
	var ve *p4info.ValidationError
	if err := x.Compatible(invalid); !errors.As(err, &ve) {
		t.Errorf("invalid P4Info: error %v (%T), want *ValidationError", err, err)
	}
	if err := x.Compatible(nil); !errors.As(err, &ve) {
		t.Errorf("nil P4Info: error %v (%T), want *ValidationError", err, err)
	}

	// What ONOS sends back is the pipeconf's p4info.txt: compatible by construction.
	if err := x.Compatible(x.P4Info()); err != nil {
		t.Errorf("own P4Info: %v", err)
	}
}

func TestExceedsMeters(t *testing.T) {
	x := p4info.MustNewIndex(p4info.New(p4info.Sizes{Meters: 16}))
	got := p4info.MustNewIndex(p4info.New(p4info.Sizes{Meters: 32}))
	out := x.Exceeds(got)
	want := "meter LinxIngress.far_meter: size 32, the data path holds 16"
	if !slices.Contains(out, want) {
		t.Errorf("Exceeds %q, want it to contain %q", out, want)
	}
}
