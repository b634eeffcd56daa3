package metrics

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linx-sdwan/linx/dataplane"
)

// MeterLister is a data path that lists its configured FAR meters and rules'
// direct meters; both implementations are.
type MeterLister = dataplane.MeterLister

// MeterCollector exports the per-color counts of every configured meter:
// linx_meter_packets_total and linx_meter_bytes_total{far, unit, color} for
// FAR meters, linx_pdr_meter_packets_total and linx_pdr_meter_bytes_total{pdr,
// color} for rules' direct meters. Only configured meters have series (a reset
// meter's leave, as do a deleted rule's), so their number is what operators
// configured, not the meters' size.
type MeterCollector struct {
	dp                   MeterLister
	packets, bytes       *prometheus.Desc
	meters               *prometheus.Desc
	pdrPackets, pdrBytes *prometheus.Desc
	pdrMeters            *prometheus.Desc
	readErrors           prometheus.Counter
}

var _ prometheus.Collector = (*MeterCollector)(nil)

// NewMeterCollector returns a collector of dp's meters.
func NewMeterCollector(dp MeterLister) *MeterCollector {
	labels := []string{"far", "unit", "color"}
	pdr := []string{"pdr", "color"}
	return &MeterCollector{
		dp:         dp,
		packets:    prometheus.NewDesc(Namespace+"_meter_packets_total", "Packets a FAR meter colored, by color (green, yellow, red).", labels, nil),
		bytes:      prometheus.NewDesc(Namespace+"_meter_bytes_total", "Bytes a FAR meter colored, by color.", labels, nil),
		meters:     prometheus.NewDesc(Namespace+"_meters", "FAR meters configured.", nil, nil),
		pdrPackets: prometheus.NewDesc(Namespace+"_pdr_meter_packets_total", "Packets a rule's direct meter (pdr_meter, bytes) colored, by color.", pdr, nil),
		pdrBytes:   prometheus.NewDesc(Namespace+"_pdr_meter_bytes_total", "Bytes a rule's direct meter colored, by color.", pdr, nil),
		pdrMeters:  prometheus.NewDesc(Namespace+"_pdr_meters", "Rules with a configured direct meter.", nil, nil),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "meter_read_errors_total",
			Help: "Meter counters the data path failed to return at scrape time."}),
	}
}

// Describe sends the descriptors of every metric the collector may export.
func (c *MeterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.packets, c.bytes, c.meters, c.pdrPackets, c.pdrBytes, c.pdrMeters} {
		ch <- d
	}
	c.readErrors.Describe(ch)
}

// Collect reads the counters of the configured meters.
func (c *MeterCollector) Collect(ch chan<- prometheus.Metric) {
	ids := c.dp.MeterIDs()
	ch <- prometheus.MustNewConstMetric(c.meters, prometheus.GaugeValue, float64(len(ids)))
	for _, id := range ids {
		mc, err := c.dp.MeterCounters(id)
		if err != nil {
			c.readErrors.Inc()
			ch <- prometheus.NewInvalidMetric(c.packets, err)
			continue
		}
		far := strconv.FormatUint(uint64(id.FAR), 10)
		colors(mc, func(color string, v dataplane.Counter) {
			counter(ch, c.packets, v.Packets, far, id.Unit.String(), color)
			counter(ch, c.bytes, v.Bytes, far, id.Unit.String(), color)
		})
	}
	pdrs := c.dp.PDRMeterIDs()
	n := 0
	for _, id := range pdrs {
		mc, err := c.dp.PDRMeterCounters(id)
		switch {
		case errors.Is(err, dataplane.ErrNotFound):
			continue // the rule was deleted since PDRMeterIDs
		case err != nil:
			c.readErrors.Inc()
			ch <- prometheus.NewInvalidMetric(c.pdrPackets, err)
			continue
		}
		n++
		pdr := strconv.FormatUint(uint64(id), 10)
		colors(mc, func(color string, v dataplane.Counter) {
			counter(ch, c.pdrPackets, v.Packets, pdr, color)
			counter(ch, c.pdrBytes, v.Bytes, pdr, color)
		})
	}
	ch <- prometheus.MustNewConstMetric(c.pdrMeters, prometheus.GaugeValue, float64(n))
	c.readErrors.Collect(ch)
}

// colors calls f for each color of mc, green first.
func colors(mc dataplane.MeterCounters, f func(color string, v dataplane.Counter)) {
	f(dataplane.Green.String(), mc.Green)
	f(dataplane.Yellow.String(), mc.Yellow)
	f(dataplane.Red.String(), mc.Red)
}
