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

// TestPDRMeterCollector: a rule's direct meter has series while configured;
// a reset one and a deleted rule's leave, and rules without a meter never
// have any.
func TestPDRMeterCollector(t *testing.T) {
	dp := memdp.New(dataplane.Options{MaxMeters: 16})
	var ids []dataplane.PDRID
	for i := range 4 {
		m := dataplane.MatchAll()
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(i), Mask: 0x3f}
		id, err := dp.InsertPDR(dataplane.PDR{Match: m, Priority: 1, FAR: 1})
		check(t, err)
		ids = append(ids, id)
	}
	cfg := dataplane.MeterConfig{CIR: 125_000, CBurst: 10_000, PIR: 250_000, PBurst: 20_000}
	for _, id := range ids[:3] {
		check(t, dp.SetPDRMeter(id, cfg))
	}
	check(t, dp.SetPDRMeter(ids[1], dataplane.MeterConfig{})) // reset: no series
	dp.AddPDRMeterCount(ids[2], dataplane.MeterCounters{Green: dataplane.Counter{Packets: 10, Bytes: 15000},
		Yellow: dataplane.Counter{Packets: 3, Bytes: 4500}, Red: dataplane.Counter{Packets: 7, Bytes: 10500}})
	check(t, dp.SetPDRMeter(ids[0], cfg))
	check(t, dp.DeletePDR(ids[0])) // its meter goes with it
	want := `
# HELP linx_pdr_meter_bytes_total Bytes a rule's direct meter colored, by color.
# TYPE linx_pdr_meter_bytes_total counter
linx_pdr_meter_bytes_total{color="green",pdr="3"} 15000
linx_pdr_meter_bytes_total{color="red",pdr="3"} 10500
linx_pdr_meter_bytes_total{color="yellow",pdr="3"} 4500
# HELP linx_pdr_meter_packets_total Packets a rule's direct meter (pdr_meter, bytes) colored, by color.
# TYPE linx_pdr_meter_packets_total counter
linx_pdr_meter_packets_total{color="green",pdr="3"} 10
linx_pdr_meter_packets_total{color="red",pdr="3"} 7
linx_pdr_meter_packets_total{color="yellow",pdr="3"} 3
# HELP linx_pdr_meters Rules with a configured direct meter.
# TYPE linx_pdr_meters gauge
linx_pdr_meters 1
`
	if ids[2] != 3 {
		t.Fatalf("third rule has id %d, the expected output assumes 3", ids[2])
	}
	check(t, testutil.CollectAndCompare(NewMeterCollector(dp), strings.NewReader(want),
		"linx_pdr_meter_packets_total", "linx_pdr_meter_bytes_total", "linx_pdr_meters"))
	// FAR meters are unaffected: none configured, no series.
	if n := testutil.CollectAndCount(NewMeterCollector(dp), "linx_meter_packets_total"); n != 0 {
		t.Errorf("%d FAR meter series without FAR meters, want 0", n)
	}
}
