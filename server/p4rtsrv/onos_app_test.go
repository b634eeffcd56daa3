package p4rtsrv

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
)

// This file replays what the linx ONOS app (onos-app/) makes ONOS send. The
// writes come from onos-app/src/test/resources/contract.txt, which the app's own
// ContractTest proves its pipeliner produces (as ONOS 2.7's translators encode
// them), so the two sides of the contract are checked against one file.

// contractFiles: the objectives' writes (ContractTest), and the flow rules the
// app's linx shell commands write (the entry shapes linxctl writes too:
// tunnels, terminations, every FAR action, a PDR on every field, the PDR
// default entry, non_ip).
var contractFiles = []string{
	"../../onos-app/src/test/resources/contract.txt",
	"../../onos-app/src/test/resources/contract-cli.txt",
}

// contractCase is one objective and the P4Runtime entities ONOS writes for it.
type contractCase struct {
	name    string
	members []*p4v1.ActionProfileMember
	groups  []*p4v1.ActionProfileGroup
	entries []*p4v1.TableEntry
	shared  []bool // per entry: a shared FAR, written by the first case that needs it
}

// contractNames resolves P4Info names to ids.
type contractNames struct {
	tables   map[string]*p4configv1.Table
	actions  map[string]*p4configv1.Action
	profiles map[string]uint32
}

func newContractNames(info *p4configv1.P4Info) *contractNames {
	n := &contractNames{tables: map[string]*p4configv1.Table{}, actions: map[string]*p4configv1.Action{}, profiles: map[string]uint32{}}
	for _, t := range info.Tables {
		n.tables[t.Preamble.Name] = t
	}
	for _, a := range info.Actions {
		n.actions[a.Preamble.Name] = a
	}
	for _, p := range info.ActionProfiles {
		n.profiles[p.Preamble.Name] = p.Preamble.Id
	}
	return n
}

func loadContract(t *testing.T, info *p4configv1.P4Info) []*contractCase {
	t.Helper()
	var cases []*contractCase
	for _, name := range contractFiles {
		cases = append(cases, loadContractFile(t, info, name)...)
	}
	return cases
}

func loadContractFile(t *testing.T, info *p4configv1.P4Info, contractFile string) []*contractCase {
	t.Helper()
	f, err := os.Open(contractFile)
	must(t, err)
	defer f.Close()
	names := newContractNames(info)
	var cases []*contractCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		w := strings.Fields(text)
		if w[0] == "case" {
			cases = append(cases, &contractCase{name: strings.TrimPrefix(text, "case ")})
			continue
		}
		if len(cases) == 0 {
			t.Fatalf("%s:%d: entity before the first case", contractFile, line)
		}
		c := cases[len(cases)-1]
		if err := names.parse(c, w); err != nil {
			t.Fatalf("%s:%d: %v", contractFile, line, err)
		}
	}
	must(t, sc.Err())
	if len(cases) == 0 {
		t.Fatalf("%s has no cases", contractFile)
	}
	return cases
}

func (n *contractNames) parse(c *contractCase, w []string) error {
	switch w[0] {
	case "member": // member PROFILE ID action ACTION(...)
		if len(w) != 5 || w[3] != "action" {
			return fmt.Errorf("bad member line %q", w)
		}
		id, err := strconv.ParseUint(w[2], 10, 32)
		if err != nil {
			return err
		}
		a, err := n.action(w[4])
		if err != nil {
			return err
		}
		c.members = append(c.members, &p4v1.ActionProfileMember{ActionProfileId: n.profiles[w[1]], MemberId: uint32(id), Action: a})
	case "group": // group PROFILE ID max_size N members ID:W,...
		if len(w) != 7 || w[3] != "max_size" || w[5] != "members" {
			return fmt.Errorf("bad group line %q", w)
		}
		id, err1 := strconv.ParseUint(w[2], 10, 32)
		size, err2 := strconv.ParseInt(w[4], 10, 32)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad group numbers in %q", w)
		}
		g := &p4v1.ActionProfileGroup{ActionProfileId: n.profiles[w[1]], GroupId: uint32(id), MaxSize: int32(size)}
		for _, m := range strings.Split(w[6], ",") {
			var mid, weight uint32
			if _, err := fmt.Sscanf(m, "%d:%d", &mid, &weight); err != nil {
				return fmt.Errorf("member %q: %v", m, err)
			}
			g.Members = append(g.Members, &p4v1.ActionProfileGroup_Member{MemberId: mid, Weight: int32(weight)})
		}
		c.groups = append(c.groups, g)
	case "table": // table T [priority N] [shared] [default] [match F=V...] (action A(...) | group N)
		tab, ok := n.tables[w[1]]
		if !ok {
			return fmt.Errorf("unknown table %q", w[1])
		}
		te := &p4v1.TableEntry{TableId: tab.Preamble.Id}
		shared := false
		i := 2
		for ; i < len(w) && w[i] != "match" && w[i] != "action"; i++ {
			switch w[i] {
			case "default": // the table's default entry: written with MODIFY
				te.IsDefaultAction = true
			case "priority":
				p, err := strconv.ParseInt(w[i+1], 10, 32)
				if err != nil {
					return err
				}
				te.Priority = int32(p)
				i++
			case "shared":
				shared = true
			default:
				return fmt.Errorf("unexpected %q", w[i])
			}
		}
		if i < len(w) && w[i] == "match" {
			i++
		}
		for ; i < len(w) && w[i] != "action" && w[i] != "group"; i++ {
			fm, err := n.match(tab, w[i])
			if err != nil {
				return err
			}
			te.Match = append(te.Match, fm)
		}
		sort.Slice(te.Match, func(a, b int) bool { return te.Match[a].FieldId < te.Match[b].FieldId })
		if i+1 >= len(w) {
			return fmt.Errorf("no action in %q", w)
		}
		if w[i] == "group" {
			g, err := strconv.ParseUint(w[i+1], 10, 32)
			if err != nil {
				return err
			}
			te.Action = &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: uint32(g)}}
		} else {
			a, err := n.action(w[i+1])
			if err != nil {
				return err
			}
			te.Action = &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: a}}
		}
		c.entries = append(c.entries, te)
		c.shared = append(c.shared, shared)
	default:
		return fmt.Errorf("unknown line kind %q", w[0])
	}
	return nil
}

// action parses NAME or NAME(p=0x..,q=0x..).
func (n *contractNames) action(s string) (*p4v1.Action, error) {
	name, args, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
	a, ok := n.actions[name]
	if !ok {
		return nil, fmt.Errorf("unknown action %q", name)
	}
	out := &p4v1.Action{ActionId: a.Preamble.Id}
	if args == "" {
		return out, nil
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, _ := strings.Cut(kv, "=")
		var id uint32
		for _, p := range a.Params {
			if p.Name == k {
				id = p.Id
			}
		}
		if id == 0 {
			return nil, fmt.Errorf("action %s has no parameter %q", name, k)
		}
		b, err := contractHex(v)
		if err != nil {
			return nil, err
		}
		out.Params = append(out.Params, &p4v1.Action_Param{ParamId: id, Value: b})
	}
	return out, nil
}

// match parses F=0x.. (exact), F=0x..&&&0x.. (ternary) or F=0x....0x.. (range).
func (n *contractNames) match(tab *p4configv1.Table, s string) (*p4v1.FieldMatch, error) {
	k, v, _ := strings.Cut(s, "=")
	var f *p4configv1.MatchField
	for _, mf := range tab.MatchFields {
		if mf.Name == k {
			f = mf
		}
	}
	if f == nil {
		return nil, fmt.Errorf("table %s has no field %q", tab.Preamble.Name, k)
	}
	fm := &p4v1.FieldMatch{FieldId: f.Id}
	if a, b, ok := strings.Cut(v, "&&&"); ok {
		val, err1 := contractHex(a)
		mask, err2 := contractHex(b)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad ternary %q", v)
		}
		fm.FieldMatchType = &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{Value: val, Mask: mask}}
	} else if a, b, ok := strings.Cut(v, ".."); ok {
		lo, err1 := contractHex(a)
		hi, err2 := contractHex(b)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad range %q", v)
		}
		fm.FieldMatchType = &p4v1.FieldMatch_Range_{Range: &p4v1.FieldMatch_Range{Low: lo, High: hi}}
	} else {
		val, err := contractHex(v)
		if err != nil {
			return nil, err
		}
		fm.FieldMatchType = &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: val}}
	}
	return fm, nil
}

func contractHex(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, fmt.Errorf("value %q is not 0x-hex", s)
	}
	return hex.DecodeString(s[2:])
}

// TestONOSAppContract drives the server as ONOS does with the linx app: the
// linx driver's pipeline push (empty device config), then, per objective of the
// contract, the group writes (members, then the group, as
// P4RuntimeActionGroupProgrammable does) and the flow-rule write; the flow read
// must return every entry as written; LLDP sent as packet-out and received on
// another port comes back as packet-in through the app's non_ip punt entry;
// finally every objective is removed again in reverse order.
func TestONOSAppContract(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		info := &p4configv1.P4Info{}
		must(t, prototext.Unmarshal(p4info.FileText(), info))
		h.fitSizes(info)
		cases := loadContract(t, info)

		onos := &onosNode{t: t, h: h, name: "onos"}
		onos.setMastership(1, 0)
		if master, _ := onos.arbitration(); !master {
			t.Fatal("onos is not master")
		}
		// LinxPipelineProgrammable.createDeviceDataBuffer: no target binary.
		onos.setPipeline(info, []byte{})
		if !onos.pipelineIsSet() {
			t.Fatal("the watchdog does not see the pipeline it pushed")
		}
		store := newONOSStore()
		for _, te := range onos.readDefaultEntries(info) {
			e := onosDecode(t, h.info, te)
			store.originals[e.table] = e
		}

		written := map[string]bool{} // shared FARs already on the device
		var want []*p4v1.TableEntry
		for _, c := range cases {
			if len(c.members) > 0 {
				onos.mustWrite(memberUpdates(p4v1.Update_INSERT, c.members)...)
			}
			if len(c.groups) > 0 {
				onos.mustWrite(groupUpdates(p4v1.Update_INSERT, c.groups)...)
			}
			var ups []*p4v1.Update
			for i, te := range c.entries {
				if c.shared[i] {
					key := prototext.Format(te)
					if written[key] {
						continue // ONOS already has this flow rule: nothing is sent
					}
					written[key] = true
				}
				store.installed(t, h.info, te)
				if te.IsDefaultAction {
					// ONOS modifies a default entry; it is read back with the defaults.
					ups = append(ups, modify(te))
					continue
				}
				ups = append(ups, insert(te))
				want = append(want, te)
			}
			if len(ups) > 0 { // ONOS sends no empty WriteRequest
				onos.mustWrite(ups...)
			}
		}

		// The 30 s flow poll reads back exactly what was written, and ONOS's own
		// comparison keeps every flow rule ADDED.
		entries, defaults := onos.readFlows(info)
		for _, p := range store.reconcile(t, h.info, append(slices.Clone(entries), defaults...)) {
			t.Error(p)
		}
		got := map[string]bool{}
		for _, te := range entries {
			got[prototext.Format(onosFit(t, h.info, te))] = true
		}
		for _, te := range want {
			if !got[prototext.Format(te)] {
				t.Errorf("entry not read back as written: %v", te)
			}
		}
		if len(entries) != len(want) {
			t.Errorf("read %d entries, wrote %d", len(entries), len(want))
		}
		for _, c := range cases {
			for _, g := range c.groups {
				ents := h.mustRead(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: g.ActionProfileId, GroupId: g.GroupId}))
				if len(ents) != 1 || !proto.Equal(ents[0].GetActionProfileGroup(), g) {
					t.Errorf("%s: group read back as %v, want %v", c.name, ents, g)
				}
			}
		}

		if h.ns != nil {
			contractPacketIO(t, h, onos)
		}

		// Remove every objective, newest first: flow rules, then the group, then
		// its members. Shared FARs stay (no objective owns them).
		for i := len(cases) - 1; i >= 0; i-- {
			c := cases[i]
			var ups []*p4v1.Update
			for j, te := range c.entries {
				switch {
				case c.shared[j]:
				case te.IsDefaultAction:
					// Removing a default-entry rule: MODIFY without action resets it.
					ups = append(ups, modify(&p4v1.TableEntry{TableId: te.TableId, IsDefaultAction: true}))
					store.removed(t, h.info, te)
				default:
					ups = append(ups, del(te))
					store.removed(t, h.info, te)
				}
			}
			if len(ups) > 0 {
				onos.mustWrite(ups...)
			}
			if len(c.groups) > 0 {
				onos.mustWrite(groupUpdates(p4v1.Update_DELETE, c.groups)...)
				onos.mustWrite(memberUpdates(p4v1.Update_DELETE, c.members)...)
			}
		}
		entries, defaults = onos.readFlows(info)
		for _, p := range store.reconcile(t, h.info, append(slices.Clone(entries), defaults...)) {
			t.Errorf("after removing every objective: %s", p)
		}
		if len(entries) != len(written) {
			t.Errorf("after removing every objective %d entries remain, want the %d shared FARs: %v", len(entries), len(written), entries)
		}
		for _, te := range entries {
			if te.TableId != p4info.IDTableFAR || !written[prototext.Format(onosFit(t, h.info, te))] {
				t.Errorf("left behind: %v", te)
			}
		}
	})
}

// contractPacketIO is LLDP link discovery between two linx ports: ONOS sends the
// probe as packet-out on port 1 (egress_port padded to 16 bits, as
// LinxInterpreter encodes it); the frame leaves port 1's wire and, looped into
// port 2 as a neighbour would receive it, comes back as packet-in with
// ingress_port 2 through the contract's non_ip LLDP punt entry. ARP, copied to
// the controller by the hostprovider's entry, comes back as packet-in as well.
func contractPacketIO(t *testing.T, h *harness, onos *onosNode) {
	out := testenv.NewCapture(t, h.ns, "lan0p")
	probe := make([]byte, 60)
	copy(probe, []byte{0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0x11, 0x22, 0x33, 0x44, 0x01, 0x88, 0xcc, 0x02, 0x07, 0x04})
	onos.s.packetOut(onosPacketOut(1, probe))
	if _, ok := out.Wait(2*time.Second, func(p testenv.Packet) bool { return bytes.Equal(p.Data, probe) }); !ok {
		t.Fatal("LLDP packet-out not sent on port 1")
	}
	h.sendFrame(2, probe)
	wantPacketIn(t, onos, probe, 2)

	arp := make([]byte, 60)
	copy(arp, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33, 0x44, 0x02, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x02, 10, 1, 0, 2, 0, 0, 0, 0, 0, 0, 10, 1, 0, 1})
	h.sendFrame(1, arp)
	wantPacketIn(t, onos, arp, 1)
}

// wantPacketIn checks the next stream message as ONOS decodes a packet-in: the
// frame, and ingress_port (canonical or padded) fitted to 16 bits.
func wantPacketIn(t *testing.T, onos *onosNode, frame []byte, port uint16) {
	t.Helper()
	pin := onos.s.recv().GetPacket()
	if pin == nil || !bytes.Equal(pin.Payload, frame) || len(pin.Metadata) != 1 ||
		pin.Metadata[0].MetadataId != p4info.IDMetaIngressPort ||
		!bytes.Equal(append(make([]byte, 2-len(pin.Metadata[0].Value)), pin.Metadata[0].Value...), pad(uint64(port), 2)) {
		t.Errorf("packet-in %v, want the %d-byte frame from port %d", pin, len(frame), port)
	}
}

func memberUpdates(typ p4v1.Update_Type, ms []*p4v1.ActionProfileMember) []*p4v1.Update {
	var ups []*p4v1.Update
	for _, m := range ms {
		ups = append(ups, update(typ, memberEntity(m)))
	}
	return ups
}

func groupUpdates(typ p4v1.Update_Type, gs []*p4v1.ActionProfileGroup) []*p4v1.Update {
	var ups []*p4v1.Update
	for _, g := range gs {
		ups = append(ups, update(typ, groupEntity(g)))
	}
	return ups
}
