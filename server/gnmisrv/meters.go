package gnmisrv

import (
	"errors"
	"strconv"

	"github.com/linx-sdwan/linx/dataplane"
)

// Meters (module linx-qos): one list entry per configured FAR meter and per
// rule's configured direct meter, with the per-color counts the data path
// keeps (dataplane.MeterCounters):
//
//	/qos/meters/meter[far=F][unit=U]/{far,unit}
//	/qos/meters/meter[far=F][unit=U]/state/{far,unit}
//	/qos/meters/meter[far=F][unit=U]/state/counters/{green,yellow,red}/{packets,bytes}
//	/qos/pdr-meters/meter[pdr=ID]/pdr
//	/qos/pdr-meters/meter[pdr=ID]/state/pdr
//	/qos/pdr-meters/meter[pdr=ID]/state/counters/{green,yellow,red}/{packets,bytes}
//
// F is the FAR id (the P4 meter index), U "bytes" (far_meter) or "packets"
// (far_packet_meter); ID is the data path's rule id (the index of the rule's
// pdr_counter and pdr_meter, the pdr label of linx_pdr_meter_*). Only
// configured meters have entries, as in Prometheus: a meter reset to the
// default leaves the tree (subscriptions get a delete of its entry), and
// direct meters leave with their rule. The counters are sampled like the
// interfaces' counters.

// meterData is one meter's identity and counts at one moment.
type meterData struct {
	far dataplane.MeterID
	pdr dataplane.PDRID
	c   dataplane.MeterCounters
}

// meterSource returns what the server lists meters from: Options.Meters, or
// the data path itself when it lists them; nil: no meters served.
func meterSource(dp PortSource, o Options) dataplane.MeterLister {
	if o.Meters != nil {
		return o.Meters
	}
	ml, _ := dp.(dataplane.MeterLister)
	return ml
}

// takeMeters appends every configured meter to snap. A meter whose counters
// cannot be read is left out of this snapshot (and logged once); a direct
// meter whose rule was deleted since the listing is simply gone.
func (s *Server) takeMeters(snap *snapshot) {
	if s.meters == nil {
		return
	}
	for _, id := range s.meters.MeterIDs() {
		c, err := s.meters.MeterCounters(id)
		if err != nil {
			s.logOnce("meter:"+id.Unit.String()+strconv.FormatUint(uint64(id.FAR), 10), "gnmisrv: counters of %s meter %d: %v", id.Unit, id.FAR, err)
			continue
		}
		d := ifaceData{meter: &meterData{far: id, c: c}}
		d.setEntry(farMeterList, strconv.FormatUint(uint64(id.FAR), 10), id.Unit.String())
		snap.ifaces = append(snap.ifaces, d)
	}
	for _, id := range s.meters.PDRMeterIDs() {
		c, err := s.meters.PDRMeterCounters(id)
		switch {
		case errors.Is(err, dataplane.ErrNotFound):
			continue
		case err != nil:
			s.logOnce("pdrmeter:"+strconv.FormatUint(uint64(id), 10), "gnmisrv: counters of rule %d's meter: %v", id, err)
			continue
		}
		d := ifaceData{meter: &meterData{pdr: id, c: c}}
		d.setEntry(pdrMeterList, strconv.FormatUint(uint64(id), 10))
		snap.ifaces = append(snap.ifaces, d)
	}
}

// meterColors are the counters' color containers, in schema order.
var meterColors = []dataplane.Color{dataplane.Green, dataplane.Yellow, dataplane.Red}

func colorCounter(c dataplane.MeterCounters, col dataplane.Color) dataplane.Counter {
	switch col {
	case dataplane.Yellow:
		return c.Yellow
	case dataplane.Red:
		return c.Red
	}
	return c.Green
}

// meterLeaves are the leaves of both meter lists.
func meterLeaves() []*leafDef {
	farID := func(d *ifaceData) value { return u32(uint32(d.meter.far.FAR)) }
	unit := func(d *ifaceData) value { return str(d.meter.far.Unit.String()) }
	pdrID := func(d *ifaceData) value { return u32(uint32(d.meter.pdr)) }
	key := func(l *listDef, name string, get func(*ifaceData) value) []*leafDef {
		typ := tUint32
		if name == "unit" {
			typ = tString
		}
		return []*leafDef{
			{list: l, rel: []string{name}, module: modQoS, typ: typ, class: classConfig, get: get},
			{list: l, rel: []string{"state", name}, module: modQoS, typ: typ, class: classState, get: get},
		}
	}
	counters := func(l *listDef) []*leafDef {
		var defs []*leafDef
		for _, col := range meterColors {
			defs = append(defs,
				&leafDef{list: l, rel: []string{"state", "counters", col.String(), "packets"}, module: modQoS, typ: tUint64,
					class: classOperational, sampled: true, get: func(d *ifaceData) value { return u64(colorCounter(d.meter.c, col).Packets) }},
				&leafDef{list: l, rel: []string{"state", "counters", col.String(), "bytes"}, module: modQoS, typ: tUint64,
					class: classOperational, sampled: true, get: func(d *ifaceData) value { return u64(colorCounter(d.meter.c, col).Bytes) }})
		}
		return defs
	}
	var defs []*leafDef
	defs = append(defs, key(farMeterList, "far", farID)...)
	defs = append(defs, key(farMeterList, "unit", unit)...)
	defs = append(defs, counters(farMeterList)...)
	defs = append(defs, key(pdrMeterList, "pdr", pdrID)...)
	return append(defs, counters(pdrMeterList)...)
}
