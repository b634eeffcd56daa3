package metrics

import (
	"math/big"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linx-sdwan/linx/server/p4rtsrv"
)

// ControllerCollector reads P4Runtime client arbitration at scrape time: how
// many controllers are connected per role and whether one of them is primary.
// The default role (the empty name, the one ONOS uses) is always exported, so
// that "no primary" alerts fire before any controller ever connected.
type ControllerCollector struct {
	arbitration func() []p4rtsrv.State

	controllers, primary, primaryInfo *prometheus.Desc
}

var _ prometheus.Collector = (*ControllerCollector)(nil)

// NewControllerCollector returns a collector of the arbitration state that
// arbitration returns (p4rtsrv.Server.Arbitration).
func NewControllerCollector(arbitration func() []p4rtsrv.State) *ControllerCollector {
	role := []string{"role"}
	return &ControllerCollector{
		arbitration: arbitration,
		controllers: prometheus.NewDesc(Namespace+"_p4rt_controllers",
			"P4Runtime controllers with an open StreamChannel, by role (the default role is \"\").", role, nil),
		primary: prometheus.NewDesc(Namespace+"_p4rt_primary",
			"1 when a primary controller is connected for the role, 0 otherwise.", role, nil),
		primaryInfo: prometheus.NewDesc(Namespace+"_p4rt_primary_info",
			"Always 1, for the primary controller of a role: election_id identifies it.", []string{"role", "election_id"}, nil),
	}
}

// Describe sends the collector's descriptors.
func (c *ControllerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.controllers
	ch <- c.primary
	ch <- c.primaryInfo
}

// Collect reads the arbitration state.
func (c *ControllerCollector) Collect(ch chan<- prometheus.Metric) {
	states := c.arbitration()
	seenDefault := false
	for _, s := range states {
		seenDefault = seenDefault || s.Role == ""
		ch <- prometheus.MustNewConstMetric(c.controllers, prometheus.GaugeValue, float64(s.Controllers), s.Role)
		p := 0.0
		if s.Primary {
			p = 1
			ch <- prometheus.MustNewConstMetric(c.primaryInfo, prometheus.GaugeValue, 1, s.Role, electionID(s))
		}
		ch <- prometheus.MustNewConstMetric(c.primary, prometheus.GaugeValue, p, s.Role)
	}
	if !seenDefault {
		ch <- prometheus.MustNewConstMetric(c.controllers, prometheus.GaugeValue, 0, "")
		ch <- prometheus.MustNewConstMetric(c.primary, prometheus.GaugeValue, 0, "")
	}
}

// electionID is the 128-bit election id in decimal, as controllers configure it.
func electionID(s p4rtsrv.State) string {
	e := s.ElectionID
	if e.GetHigh() == 0 {
		return new(big.Int).SetUint64(e.GetLow()).String()
	}
	v := new(big.Int).SetUint64(e.GetHigh())
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(e.GetLow())).String()
}
