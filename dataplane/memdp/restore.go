package memdp

import (
	"slices"

	"github.com/linx-sdwan/linx/dataplane"
)

var _ dataplane.Restorer = (*Dataplane)(nil)

// Restore replaces every table with s, keeping the PDR ids of s (as the XDP data
// path does after a restart). Counters of the restored rules start at zero: an
// in-memory data path has nothing that outlives the process.
func (d *Dataplane) Restore(s dataplane.RestoreState) error {
	if err := s.Validate(d.opts); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	for id, p := range s.PDRs {
		d.pdrs[id] = p
		d.pdrByKey[pdrKey{p.Match, p.Priority}] = id
		d.pdrCount[id] = dataplane.Counter{}
	}
	d.ids.Reset(s.PDRs)
	if s.Default != nil {
		d.pdrDefault = *s.Default
	}
	for id, f := range s.FARs {
		d.fars[id] = f
	}
	for id, m := range s.LBRs {
		d.lbrs[id] = slices.Clone(m)
	}
	for id, t := range s.Tunnels {
		d.tunnels[id] = t
	}
	for t, id := range s.Terms {
		d.terms[t] = id
	}
	for id, c := range s.Meters {
		if !c.IsDefault() {
			d.meters[id] = c
		}
	}
	for id, c := range s.PDRMeters {
		if !c.IsDefault() {
			d.pdrMeters[id] = c
		}
	}
	for id, q := range s.QoS {
		if q != dataplane.DefaultQoS {
			d.qos[id] = q
		}
	}
	for et, a := range s.NonIP {
		d.nonIP[et] = a
		d.nonIPCnt[et] = dataplane.Counter{}
	}
	return nil
}
