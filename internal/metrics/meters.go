package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linx-sdwan/linx/dataplane"
)

// MeterLister is a data path that lists its configured FAR meters; both
// implementations are.
type MeterLister interface {
	dataplane.Meters
	MeterIDs() []dataplane.MeterID
}

// MeterCollector exports the per-color counts of every configured FAR meter:
// linx_meter_packets_total and linx_meter_bytes_total{far, unit, color}. Only
// configured meters have series (a reset meter's leave), so their number is
// what operators configured, not the meters' size.
type MeterCollector struct {
	dp             MeterLister
	packets, bytes *prometheus.Desc
	meters         *prometheus.Desc
	readErrors     prometheus.Counter
}

var _ prometheus.Collector = (*MeterCollector)(nil)

// NewMeterCollector returns a collector of dp's meters.
func NewMeterCollector(dp MeterLister) *MeterCollector {
	labels := []string{"far", "unit", "color"}
	return &MeterCollector{
		dp:      dp,
		packets: prometheus.NewDesc(Namespace+"_meter_packets_total", "Packets a FAR meter colored, by color (green, yellow, red).", labels, nil),
		bytes:   prometheus.NewDesc(Namespace+"_meter_bytes_total", "Bytes a FAR meter colored, by color.", labels, nil),
		meters:  prometheus.NewDesc(Namespace+"_meters", "FAR meters configured.", nil, nil),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "meter_read_errors_total",
			Help: "Meter counters the data path failed to return at scrape time."}),
	}
}

// Describe sends the descriptors of every metric the collector may export.
func (c *MeterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.bytes
	ch <- c.meters
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
		for _, col := range []struct {
			color dataplane.Color
			v     dataplane.Counter
		}{{dataplane.Green, mc.Green}, {dataplane.Yellow, mc.Yellow}, {dataplane.Red, mc.Red}} {
			counter(ch, c.packets, col.v.Packets, far, id.Unit.String(), col.color.String())
			counter(ch, c.bytes, col.v.Bytes, far, id.Unit.String(), col.color.String())
		}
	}
	c.readErrors.Collect(ch)
}
