package xdp

import (
	"math/bits"

	"github.com/linx-sdwan/linx/dataplane"
)

// meterModel is the reference the data path's meters are checked against,
// written from the RFC texts: RFC 2698 §3 (trTCM, color-blind) and RFC 2697 §3
// (srTCM, color-blind). Buckets start full; tokens are in units x 1e9 and
// time in ns so that rate x elapsed is exact.
type meterModel struct {
	c        dataplane.MeterConfig
	packets  bool
	tc, tpe  uint64 // Tc and Tp (trTCM) or Te (srTCM), in units x 1e9
	last     uint64
	timeless bool // no refill at all (the data path's clock frozen)
}

func newMeterModel(c dataplane.MeterConfig, packets bool) *meterModel {
	m := &meterModel{c: c, packets: packets, tc: c.CBurst * 1e9}
	if c.SingleRate() {
		m.tpe = c.EBurst * 1e9
	} else {
		m.tpe = c.PBurst * 1e9
	}
	return m
}

// addSat is min(limit, a + rate x dt) without overflow.
func addSat(a, rate, dt, limit uint64) uint64 {
	hi, lo := bits.Mul64(rate, dt)
	if hi != 0 {
		return limit
	}
	s, carry := bits.Add64(a, lo, 0)
	if carry != 0 || s > limit {
		return limit
	}
	return s
}

// color meters a packet of length bytes arriving at time now (ns).
func (m *meterModel) color(now uint64, length int) dataplane.Color {
	b := uint64(length) * 1e9
	if m.packets {
		b = 1e9
	}
	dt := uint64(0)
	if !m.timeless && now > m.last {
		dt = now - m.last
		m.last = now
	}
	if m.c.SingleRate() {
		// RFC 2697: Tc is incremented up to CBS; tokens that would exceed it
		// increment Te up to EBS.
		cbs, ebs := m.c.CBurst*1e9, m.c.EBurst*1e9
		hi, lo := bits.Mul64(m.c.CIR, dt)
		room := cbs - m.tc
		if hi != 0 || lo >= room+(ebs-m.tpe) {
			m.tc, m.tpe = cbs, ebs
		} else if lo <= room {
			m.tc += lo
		} else {
			m.tc = cbs
			m.tpe += lo - room
		}
		switch {
		case m.tc >= b:
			m.tc -= b
			return dataplane.Green
		case m.tpe >= b:
			m.tpe -= b
			return dataplane.Yellow
		}
		return dataplane.Red
	}
	// RFC 2698: Tp and Tc are incremented by PIR and CIR up to PBS and CBS.
	m.tc = addSat(m.tc, m.c.CIR, dt, m.c.CBurst*1e9)
	m.tpe = addSat(m.tpe, m.c.PIR, dt, m.c.PBurst*1e9)
	switch {
	case m.tpe < b:
		return dataplane.Red
	case m.tc < b:
		m.tpe -= b
		return dataplane.Yellow
	}
	m.tpe -= b
	m.tc -= b
	return dataplane.Green
}
