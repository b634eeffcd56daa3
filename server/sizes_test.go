package server

import (
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// TestSizesAgree guards the contract between the P4Info controllers see and the
// data path behind it: every table and counter the P4Info declares fits.
func TestSizesAgree(t *testing.T) {
	s, o := p4info.DefaultSizes, dataplane.DefaultOptions
	for _, c := range []struct {
		name     string
		p4, data int
	}{
		{"pdr entries", s.PDRs, o.MaxPDRs},
		{"far entries", s.FARs, o.MaxFARs},
		{"lbr entries", s.LBRs, o.MaxLBRs},
		{"tunnels", s.Tunnels, o.MaxTunnels},
		{"tunnel terminations", s.TunnelTerms, o.MaxTerms},
		{"port counter cells", s.Ports, o.MaxPorts},
		{"lbr group size", s.LBRMaxGroupSize, dataplane.MaxLBRMembers},
	} {
		if c.p4 != c.data {
			t.Errorf("%s: P4Info declares %d, data path holds %d", c.name, c.p4, c.data)
		}
	}
	if s.DropReasons < dataplane.NumDropReasons {
		t.Errorf("drop_counter has %d cells for %d reasons", s.DropReasons, dataplane.NumDropReasons)
	}
}
