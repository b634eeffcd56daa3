package metrics

import (
	"errors"
	"iter"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linx-sdwan/linx/dataplane"
)

// TunnelLister is implemented by a data path that can list its installed
// tunnels. Without it, the collector probes every tunnel id below
// DataplaneOptions.MaxTunnels (a bookkeeping lookup each, no kernel call for
// absent ids).
type TunnelLister interface {
	TunnelIDs() []dataplane.TunnelID
}

// PDRLister is implemented by a data path that can list its installed
// packet detection rules. With it, linx_pdr_rules is always exported and
// per-PDR counters cost one lookup per installed rule; without it, per-PDR
// counters probe every id in 1..DataplaneOptions.MaxPDRs.
type PDRLister interface {
	PDRIDs() []dataplane.PDRID
}

// DataplaneOptions configure a DataplaneCollector.
type DataplaneOptions struct {
	Dataplane dataplane.Dataplane
	// MaxTunnels bounds the tunnel ids probed when the data path is not a
	// TunnelLister (tables.tunnels). 0: dataplane.DefaultOptions.MaxTunnels.
	MaxTunnels int
	// PerPDR exports a packets and a bytes series per installed rule
	// (linx_pdr_packets_total{pdr}). Off by default: an edge gateway may hold
	// 100,000 rules, and one series per rule is more than a Prometheus server
	// should ingest per device; controllers read PDR counters over P4Runtime.
	PerPDR bool
	// MaxPDRs bounds the rule ids probed for PerPDR when the data path is not
	// a PDRLister (tables.pdrs). 0: dataplane.DefaultOptions.MaxPDRs.
	MaxPDRs int
}

// DataplaneCollector reads the data path's counters at scrape time: ports,
// tunnels, the PDR table's default (miss) entry, optionally every PDR, and
// drops by reason.
type DataplaneCollector struct {
	o          DataplaneOptions
	dropNames  []string // by reason code; "" for 0
	readErrors prometheus.Counter

	portRxPackets, portRxBytes, portTxPackets, portTxBytes         *prometheus.Desc
	portDropPackets, portDropBytes                                 *prometheus.Desc
	tunnelTxPackets, tunnelTxBytes, tunnelRxPackets, tunnelRxBytes *prometheus.Desc
	tunnels                                                        *prometheus.Desc
	pdrDefaultPackets, pdrDefaultBytes                             *prometheus.Desc
	pdrPackets, pdrBytes, pdrRules                                 *prometheus.Desc
	drops, dropBytes                                               *prometheus.Desc
}

var _ prometheus.Collector = (*DataplaneCollector)(nil)

// NewDataplaneCollector returns a collector of o.Dataplane's counters.
func NewDataplaneCollector(o DataplaneOptions) *DataplaneCollector {
	if o.MaxTunnels <= 0 {
		o.MaxTunnels = dataplane.DefaultOptions.MaxTunnels
	}
	if o.MaxPDRs <= 0 {
		o.MaxPDRs = dataplane.DefaultOptions.MaxPDRs
	}
	port := []string{"port", "interface", "role"}
	tunnel := []string{"tunnel"}
	reason := []string{"reason"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	c := &DataplaneCollector{
		o: o,
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "metrics_read_errors_total",
			Help: "Counters the data path failed to return at scrape time.",
		}),
		portRxPackets: d("port_rx_packets_total", "Packets received on a port, as seen by XDP.", port),
		portRxBytes:   d("port_rx_bytes_total", "Bytes received on a port, as seen by XDP.", port),
		portTxPackets: d("port_tx_packets_total", "Packets the pipeline sent out of a port.", port),
		portTxBytes:   d("port_tx_bytes_total", "Bytes the pipeline sent out of a port.", port),
		portDropPackets: d("port_drop_packets_total", "Packets that arrived on a port and the pipeline dropped (any reason; "+
			"per reason: linx_drops_total). The kernel's own view of the link is node_exporter's node_network_*.", port),
		portDropBytes: d("port_drop_bytes_total", "Bytes of packets that arrived on a port and the pipeline dropped.", port),

		tunnelTxPackets: d("tunnel_tx_packets_total", "Packets GRE-encapsulated onto a tunnel.", tunnel),
		tunnelTxBytes:   d("tunnel_tx_bytes_total", "Bytes GRE-encapsulated onto a tunnel.", tunnel),
		tunnelRxPackets: d("tunnel_rx_packets_total", "Packets decapsulated from a tunnel.", tunnel),
		tunnelRxBytes:   d("tunnel_rx_bytes_total", "Bytes decapsulated from a tunnel.", tunnel),
		tunnels:         d("tunnels", "Tunnels installed.", nil),

		pdrDefaultPackets: d("pdr_default_packets_total", "Packets that matched no packet detection rule (the PDR table's default entry).", nil),
		pdrDefaultBytes:   d("pdr_default_bytes_total", "Bytes that matched no packet detection rule.", nil),
		pdrPackets:        d("pdr_packets_total", "Packets that matched a packet detection rule (per-PDR metrics on).", []string{"pdr"}),
		pdrBytes:          d("pdr_bytes_total", "Bytes that matched a packet detection rule (per-PDR metrics on).", []string{"pdr"}),
		pdrRules:          d("pdr_rules", "Packet detection rules installed.", nil),

		drops:     d("drops_total", "Packets the pipeline dropped, by reason.", reason),
		dropBytes: d("dropped_bytes_total", "Bytes the pipeline dropped, by reason.", reason),
	}
	c.dropNames = make([]string, dataplane.NumDropReasons)
	for r := 1; r < dataplane.NumDropReasons; r++ {
		c.dropNames[r] = dataplane.DropReason(r).String()
	}
	return c
}

// Describe sends the descriptors of every metric the collector may export.
func (c *DataplaneCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.portRxPackets, c.portRxBytes, c.portTxPackets, c.portTxBytes, c.portDropPackets, c.portDropBytes,
		c.tunnelTxPackets, c.tunnelTxBytes, c.tunnelRxPackets, c.tunnelRxBytes, c.tunnels,
		c.pdrDefaultPackets, c.pdrDefaultBytes, c.pdrPackets, c.pdrBytes, c.pdrRules,
		c.drops, c.dropBytes,
	} {
		ch <- d
	}
	c.readErrors.Describe(ch)
}

// Collect reads the counters. A counter that cannot be read is sent as an
// invalid metric (the scrape reports it and serves the rest) and counted; an
// entry removed between listing and reading is skipped.
func (c *DataplaneCollector) Collect(ch chan<- prometheus.Metric) {
	c.collectPorts(ch)
	c.collectTunnels(ch)
	c.collectPDRs(ch)
	c.collectDrops(ch)
	c.readErrors.Collect(ch)
}

func (c *DataplaneCollector) fail(ch chan<- prometheus.Metric, d *prometheus.Desc, err error) {
	c.readErrors.Inc()
	ch <- prometheus.NewInvalidMetric(d, err)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func (c *DataplaneCollector) collectPorts(ch chan<- prometheus.Metric) {
	for _, p := range c.o.Dataplane.Ports() {
		pc, err := c.o.Dataplane.PortCounter(p.ID)
		if errors.Is(err, dataplane.ErrNotFound) {
			continue // detached since Ports
		}
		if err != nil {
			c.fail(ch, c.portRxPackets, err)
			continue
		}
		l := []string{strconv.Itoa(int(p.ID)), p.Name, p.Role.String()}
		counter(ch, c.portRxPackets, pc.RX.Packets, l...)
		counter(ch, c.portRxBytes, pc.RX.Bytes, l...)
		counter(ch, c.portTxPackets, pc.TX.Packets, l...)
		counter(ch, c.portTxBytes, pc.TX.Bytes, l...)
		counter(ch, c.portDropPackets, pc.Drops.Packets, l...)
		counter(ch, c.portDropBytes, pc.Drops.Bytes, l...)
	}
}

func (c *DataplaneCollector) collectTunnels(ch chan<- prometheus.Metric) {
	ids := upTo[dataplane.TunnelID](0, c.o.MaxTunnels)
	if tl, ok := c.o.Dataplane.(TunnelLister); ok {
		ids = slices.Values(tl.TunnelIDs())
	}
	n := 0
	for id := range ids {
		tc, err := c.o.Dataplane.TunnelCounter(id)
		if errors.Is(err, dataplane.ErrNotFound) {
			continue
		}
		if err != nil {
			c.fail(ch, c.tunnelTxPackets, err)
			continue
		}
		n++
		l := strconv.FormatUint(uint64(id), 10)
		counter(ch, c.tunnelTxPackets, tc.TX.Packets, l)
		counter(ch, c.tunnelTxBytes, tc.TX.Bytes, l)
		counter(ch, c.tunnelRxPackets, tc.RX.Packets, l)
		counter(ch, c.tunnelRxBytes, tc.RX.Bytes, l)
	}
	ch <- prometheus.MustNewConstMetric(c.tunnels, prometheus.GaugeValue, float64(n))
}

func (c *DataplaneCollector) collectPDRs(ch chan<- prometheus.Metric) {
	if dc, err := c.o.Dataplane.PDRDefaultCounter(); err != nil {
		c.fail(ch, c.pdrDefaultPackets, err)
	} else {
		counter(ch, c.pdrDefaultPackets, dc.Packets)
		counter(ch, c.pdrDefaultBytes, dc.Bytes)
	}
	var ids iter.Seq[dataplane.PDRID]
	if pl, ok := c.o.Dataplane.(PDRLister); ok {
		listed := pl.PDRIDs()
		if !c.o.PerPDR {
			ch <- prometheus.MustNewConstMetric(c.pdrRules, prometheus.GaugeValue, float64(len(listed)))
			return
		}
		ids = slices.Values(listed)
	} else {
		if !c.o.PerPDR {
			return // counting the rules would mean probing every id
		}
		ids = upTo[dataplane.PDRID](1, c.o.MaxPDRs+1)
	}
	n := 0
	for id := range ids {
		pc, err := c.o.Dataplane.PDRCounter(id)
		if errors.Is(err, dataplane.ErrNotFound) {
			continue
		}
		if err != nil {
			c.fail(ch, c.pdrPackets, err)
			continue
		}
		n++
		l := strconv.FormatUint(uint64(id), 10)
		counter(ch, c.pdrPackets, pc.Packets, l)
		counter(ch, c.pdrBytes, pc.Bytes, l)
	}
	ch <- prometheus.MustNewConstMetric(c.pdrRules, prometheus.GaugeValue, float64(n))
}

// upTo yields lo..hi-1.
func upTo[T ~uint32](lo, hi int) iter.Seq[T] {
	return func(yield func(T) bool) {
		for i := lo; i < hi; i++ {
			if !yield(T(i)) {
				return
			}
		}
	}
}

// collectDrops exports every reason, zero included, so that rate() and alerts
// work from the first scrape.
func (c *DataplaneCollector) collectDrops(ch chan<- prometheus.Metric) {
	drops, err := c.o.Dataplane.DropCounters()
	if err != nil {
		c.fail(ch, c.drops, err)
		return
	}
	for r := 1; r < len(c.dropNames); r++ {
		d := drops[dataplane.DropReason(r)]
		counter(ch, c.drops, d.Packets, c.dropNames[r])
		counter(ch, c.dropBytes, d.Bytes, c.dropNames[r])
	}
	for r, d := range drops { // codes beyond the known ones, should the C side grow first
		if int(r) <= 0 || int(r) >= len(c.dropNames) {
			counter(ch, c.drops, d.Packets, r.String())
			counter(ch, c.dropBytes, d.Bytes, r.String())
		}
	}
}
