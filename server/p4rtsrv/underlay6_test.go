package p4rtsrv

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

func ip6(s string) []byte { a := netip.MustParseAddr(s).As16(); return a[:] }

func tunnel6Entry(id uint32, port uint16, src, dst string, key uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnels,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelsTunnelID, u(uint64(id)))},
		Action: action(p4info.IDActionSetGRE6, param(p4info.IDParamSetGRE6Port, u(uint64(port))),
			param(p4info.IDParamSetGRE6SrcAddr, ip6(src)), param(p4info.IDParamSetGRE6DstAddr, ip6(dst)),
			param(p4info.IDParamSetGRE6Key, u(uint64(key))))}
}

func term6Entry(remote, local string, key, tunnel uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelTerm6SrcAddr, ip6(remote)),
			exactField(p4info.IDFieldTunnelTerm6DstAddr, ip6(local)), exactField(p4info.IDFieldTunnelTerm6GREKey, u(uint64(key)))},
		Action: action(p4info.IDActionDecap, param(p4info.IDParamDecapTunnelID, u(uint64(tunnel))))}
}

// updateMessages returns the per-update messages of a failed batch.
func updateMessages(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if e, ok := d.(*p4v1.Error); ok {
			out = append(out, e.GetMessage())
		}
	}
	return out
}

// TestUnderlay6 writes overlays and terminations over an IPv6 underlay
// (set_gre6, tunnel_term6) next to IPv4 ones: both data paths hold them and
// reads give them back, modify moves an overlay between families. Endpoints
// the contract refuses are INVALID_ARGUMENT naming the field on both.
func TestUnderlay6(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		v4 := []*p4v1.TableEntry{tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0), termEntry("172.16.0.2", "172.16.0.1", 0, 1)}
		v6 := []*p4v1.TableEntry{tunnel6Entry(2, 2, "2001:db8:a::1", "2001:db8:b::1", 9), term6Entry("2001:db8:b::1", "2001:db8:a::1", 9, 2)}
		h.mustWrite(20, insert(v4[0]), insert(v4[1]))

		bad := []struct {
			te    *p4v1.TableEntry
			field string
		}{
			{tunnel6Entry(3, 2, "::ffff:172.16.0.1", "2001:db8:b::1", 0), "tunnel src"},
			{tunnel6Entry(3, 2, "2001:db8:a::1", "ff02::1", 0), "tunnel dst"},
			{term6Entry("fe80::1", "2001:db8:a::1", 0, 2), "tunnel_term remote"},
		}
		for _, c := range bad {
			err := h.write(20, insert(c.te))
			wantUpdates(t, err, codes.InvalidArgument)
			if m := updateMessages(err); len(m) != 1 || !strings.Contains(m[0], c.field) {
				t.Errorf("refusal %v does not name %q", m, c.field)
			}
		}

		h.mustWrite(20, insert(v6[0]), insert(v6[1]))
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), append(v4, v6...)...)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6}), v6[1])
		a, b := netip.MustParseAddr("2001:db8:a::1"), netip.MustParseAddr("2001:db8:b::1")
		if h.mem == nil { // the XDP data path: what reads show is what it holds
			h.mustWrite(20, modify(tunnelEntry(2, 2, "172.16.1.1", "172.16.1.2", 0)), modify(tunnel6Entry(1, 3, "2001:db8:a::1", "2001:db8:c::1", 0)))
			h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableTunnels}),
				tunnel6Entry(1, 3, "2001:db8:a::1", "2001:db8:c::1", 0), tunnelEntry(2, 2, "172.16.1.1", "172.16.1.2", 0))
			h.mustWrite(20, del(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6, Match: v6[1].Match}))
			h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6}))
			return
		}
		if got := h.mem.Tunnels()[2]; got != (dataplane.Tunnel{Port: 2, Src: a, Dst: b, Key: 9}) {
			t.Errorf("tunnel 2 is %+v", got)
		}
		if got := h.mem.Terms(); !reflect.DeepEqual(got, map[dataplane.TunnelTerm]dataplane.TunnelID{
			{Remote: netip.MustParseAddr("172.16.0.2"), Local: netip.MustParseAddr("172.16.0.1")}: 1,
			{Remote: b, Local: a, Key: 9}: 2}) {
			t.Errorf("terms %v", got)
		}
		// Modify moves the overlay to the other family; delete names the key only.
		h.mustWrite(20, modify(tunnelEntry(2, 2, "172.16.1.1", "172.16.1.2", 0)), modify(tunnel6Entry(1, 3, "2001:db8:a::1", "2001:db8:c::1", 0)))
		if got := h.mem.Tunnels()[1]; got.Src != a || got.Port != 3 {
			t.Errorf("tunnel 1 after modify %+v", got)
		}
		h.mustWrite(20, del(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6, Match: v6[1].Match}))
		if len(h.mem.Terms()) != 1 {
			t.Errorf("terms after delete %v", h.mem.Terms())
		}
	})
}
