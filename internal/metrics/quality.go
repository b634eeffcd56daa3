package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linx-sdwan/linx/server/gnmisrv"
)

// QualityCollector exports the overlays' measured quality at scrape time, from
// the same source as gNMI's sla leaves (gnmisrv.TunnelQuality, the agent's SLA
// prober): one series set per overlay the prober reports.
type QualityCollector struct {
	src gnmisrv.TunnelQuality

	state, lastChange, rtt, rttMin, jitter, loss *prometheus.Desc
}

var _ prometheus.Collector = (*QualityCollector)(nil)

// tunnelStates are the values of linx_tunnel_sla_state's state label, one
// series each (1 for the current state, 0 for the others), so that alerts can
// match on state="down" without knowing the encoding.
var tunnelStates = []gnmisrv.TunnelState{gnmisrv.TunnelUp, gnmisrv.TunnelDegraded, gnmisrv.TunnelDown, gnmisrv.TunnelUnknown}

// NewQualityCollector returns a collector of src's overlay quality.
func NewQualityCollector(src gnmisrv.TunnelQuality) *QualityCollector {
	tunnel := []string{"tunnel"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	return &QualityCollector{
		src: src,
		state: d("tunnel_sla_state", "1 for the overlay's current SLA state (up, degraded, down, unknown), 0 for the others.",
			[]string{"tunnel", "state"}),
		lastChange: d("tunnel_sla_last_change_timestamp_seconds", "When the overlay's SLA state last changed (Unix time; absent when unknown).", tunnel),
		rtt:        d("tunnel_rtt_seconds", "Median round-trip time of the overlay's probe window.", tunnel),
		rttMin:     d("tunnel_rtt_min_seconds", "Smallest round-trip time of the overlay's probe window.", tunnel),
		jitter:     d("tunnel_jitter_seconds", "RFC 3550 interarrival jitter of the overlay's probes, the worse direction.", tunnel),
		loss: d("tunnel_loss_ratio", "Probe loss ratio (0..1) of the overlay's window: round_trip always, forward and backward with a stateful reflector.",
			[]string{"tunnel", "direction"}),
	}
}

// Describe sends the collector's descriptors.
func (c *QualityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.lastChange, c.rtt, c.rttMin, c.jitter, c.loss} {
		ch <- d
	}
}

// Collect reads the source once.
func (c *QualityCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range c.src.TunnelStatus() {
		id := strconv.FormatUint(uint64(s.Tunnel), 10)
		state := s.State
		if state == "" {
			state = gnmisrv.TunnelUnknown
		}
		for _, st := range tunnelStates {
			v := 0.0
			if st == state {
				v = 1
			}
			gauge(c.state, v, id, lower(st))
		}
		if !s.LastChange.IsZero() {
			gauge(c.lastChange, float64(s.LastChange.UnixNano())/1e9, id)
		}
		gauge(c.rtt, s.RTT.Seconds(), id)
		gauge(c.rttMin, s.MinRTT.Seconds(), id)
		gauge(c.jitter, s.Jitter.Seconds(), id)
		gauge(c.loss, s.Loss, id, "round_trip")
		if s.Directional {
			gauge(c.loss, s.LossForward, id, "forward")
			gauge(c.loss, s.LossBackward, id, "backward")
		}
	}
}

func lower(s gnmisrv.TunnelState) string {
	switch s {
	case gnmisrv.TunnelUp:
		return "up"
	case gnmisrv.TunnelDegraded:
		return "degraded"
	case gnmisrv.TunnelDown:
		return "down"
	}
	return "unknown"
}
