package memdp

import (
	"fmt"

	"github.com/linx-sdwan/linx/dataplane"
)

func (d *Dataplane) checkMeter(id dataplane.MeterID) error {
	if err := dataplane.ValidateMeterIndex(id.FAR, d.opts.MaxMeters); err != nil {
		return err
	}
	if id.Unit > dataplane.MeterPackets {
		return fmt.Errorf("%w: meter unit %d", dataplane.ErrInvalid, id.Unit)
	}
	return nil
}

// SetMeter records a meter's configuration (the default one removes it).
func (d *Dataplane) SetMeter(id dataplane.MeterID, c dataplane.MeterConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := d.checkMeter(id); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.IsDefault() {
		delete(d.meters, id)
	} else {
		d.meters[id] = c
	}
	return nil
}

// MeterCounters returns what AddMeterCount added.
func (d *Dataplane) MeterCounters(id dataplane.MeterID) (dataplane.MeterCounters, error) {
	if err := d.checkMeter(id); err != nil {
		return dataplane.MeterCounters{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meterCnt[id], nil
}

// SetFARQoS records a FAR's color policy (DefaultQoS removes it).
func (d *Dataplane) SetFARQoS(id dataplane.FARID, q dataplane.QoSPolicy) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if err := dataplane.ValidateMeterIndex(id, d.opts.MaxMeters); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if q == dataplane.DefaultQoS {
		delete(d.qos, id)
	} else {
		d.qos[id] = q
	}
	return nil
}

// Meters returns the configured meters.
func (d *Dataplane) Meters() map[dataplane.MeterID]dataplane.MeterConfig {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[dataplane.MeterID]dataplane.MeterConfig, len(d.meters))
	for k, v := range d.meters {
		out[k] = v
	}
	return out
}

// QoS returns the FARs' color policies.
func (d *Dataplane) QoS() map[dataplane.FARID]dataplane.QoSPolicy {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[dataplane.FARID]dataplane.QoSPolicy, len(d.qos))
	for k, v := range d.qos {
		out[k] = v
	}
	return out
}

// AddMeterCount adds to a meter's per-color counts, as if packets were metered.
func (d *Dataplane) AddMeterCount(id dataplane.MeterID, c dataplane.MeterCounters) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.meterCnt[id]
	v.Green = addCounter(v.Green, c.Green)
	v.Yellow = addCounter(v.Yellow, c.Yellow)
	v.Red = addCounter(v.Red, c.Red)
	d.meterCnt[id] = v
}

// MeterIDs lists the configured meters, by unit then FAR.
func (d *Dataplane) MeterIDs() []dataplane.MeterID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return dataplane.SortedMeterIDs(d.meters)
}

var _ dataplane.MeterLister = (*Dataplane)(nil)

// PDRMeterIDs lists the rules with a configured direct meter, by id.
func (d *Dataplane) PDRMeterIDs() []dataplane.PDRID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return dataplane.SortedPDRMeterIDs(d.pdrMeters)
}

// SetPDRMeter records rule id's direct meter (the default one removes it).
func (d *Dataplane) SetPDRMeter(id dataplane.PDRID, c dataplane.MeterConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.pdrs[id]; !ok {
		return pdrNotFound(id)
	}
	if c.IsDefault() {
		delete(d.pdrMeters, id)
	} else {
		d.pdrMeters[id] = c
	}
	return nil
}

// PDRMeterCounters returns what AddPDRMeterCount added.
func (d *Dataplane) PDRMeterCounters(id dataplane.PDRID) (dataplane.MeterCounters, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.pdrs[id]; !ok {
		return dataplane.MeterCounters{}, pdrNotFound(id)
	}
	return d.pdrMeterCnt[id], nil
}

// PDRMeters returns the rules' configured direct meters.
func (d *Dataplane) PDRMeters() map[dataplane.PDRID]dataplane.MeterConfig {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[dataplane.PDRID]dataplane.MeterConfig, len(d.pdrMeters))
	for k, v := range d.pdrMeters {
		out[k] = v
	}
	return out
}

// AddPDRMeterCount adds to a rule's direct meter's per-color counts.
func (d *Dataplane) AddPDRMeterCount(id dataplane.PDRID, c dataplane.MeterCounters) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.pdrMeterCnt[id]
	v.Green = addCounter(v.Green, c.Green)
	v.Yellow = addCounter(v.Yellow, c.Yellow)
	v.Red = addCounter(v.Red, c.Red)
	d.pdrMeterCnt[id] = v
}
