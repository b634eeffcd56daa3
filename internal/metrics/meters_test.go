package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
)

func TestMeterCollector(t *testing.T) {
	dp := memdp.New(dataplane.Options{MaxMeters: 16})
	cfg := dataplane.MeterConfig{CIR: 1000, CBurst: 100, PIR: 1000, PBurst: 100}
	check(t, dp.SetMeter(dataplane.MeterID{FAR: 3}, cfg))
	check(t, dp.SetMeter(dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 3}, cfg))
	check(t, dp.SetMeter(dataplane.MeterID{FAR: 4}, cfg))
	check(t, dp.SetMeter(dataplane.MeterID{FAR: 4}, dataplane.MeterConfig{})) // reset: no series
	dp.AddMeterCount(dataplane.MeterID{FAR: 3}, dataplane.MeterCounters{Green: dataplane.Counter{Packets: 5, Bytes: 500},
		Yellow: dataplane.Counter{Packets: 1, Bytes: 100}, Red: dataplane.Counter{Packets: 2, Bytes: 3000}})
	want := `
# HELP linx_meter_packets_total Packets a FAR meter colored, by color (green, yellow, red).
# TYPE linx_meter_packets_total counter
linx_meter_packets_total{color="green",far="3",unit="bytes"} 5
linx_meter_packets_total{color="green",far="3",unit="packets"} 0
linx_meter_packets_total{color="red",far="3",unit="bytes"} 2
linx_meter_packets_total{color="red",far="3",unit="packets"} 0
linx_meter_packets_total{color="yellow",far="3",unit="bytes"} 1
linx_meter_packets_total{color="yellow",far="3",unit="packets"} 0
# HELP linx_meters FAR meters configured.
# TYPE linx_meters gauge
linx_meters 2
`
	check(t, testutil.CollectAndCompare(NewMeterCollector(dp), strings.NewReader(want), "linx_meter_packets_total", "linx_meters"))
	if n := testutil.CollectAndCount(NewMeterCollector(dp), "linx_meter_bytes_total"); n != 6 {
		t.Errorf("%d byte series, want 6", n)
	}
}
