package config

import (
	"fmt"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/sla"
)

// SLA configures the probing of overlays and the SLA classes (docs/sla.md).
// The defaults are package sla's, which meet the timing goals there: a
// blackout is detected DownAfter × Interval (200 ms) after the last reply.
type SLA struct {
	// Enabled probes every overlay the controller installs and applies the
	// verdicts. Default true.
	Enabled  bool          `yaml:"enabled"`
	Interval time.Duration `yaml:"interval"` // between probes, per session: 10ms..10s
	Size     int           `yaml:"size"`     // STAMP octets per probe: 44..1444
	Window   int           `yaml:"window"`   // probes the quality is computed over
	Timeout  time.Duration `yaml:"timeout"`  // a probe unanswered this long is lost
	// SourcePort is the first of the 64 UDP ports probes leave from (one per
	// DSCP): it must not be a port the gateway's tunnel addresses serve.
	SourcePort int `yaml:"source_port"`
	// StatefulReflector makes this gateway's STAMP reflector number its replies
	// (RFC 8762 §4.3) and has the prober expect the same of the far gateways',
	// so that loss is split by direction. Every gateway of the network should
	// set it alike. Default false (stateless).
	StatefulReflector bool `yaml:"stateful_reflector"`
	// ReflectorRate is how many STAMP probes per second this gateway's
	// reflector answers through each tunnel; ReflectorBurst how many it answers
	// back to back after a quiet spell. Probes over them are dropped in the
	// data path (stamp_rate). They bound what a flood of probes costs; every
	// far prober's sessions on a tunnel must fit in them.
	ReflectorRate  int           `yaml:"reflector_rate"`
	ReflectorBurst int           `yaml:"reflector_burst"`
	Thresholds     SLAThresholds `yaml:"thresholds"`
	// Tunnels overrides settings per tunnel (by the controller's tunnel id).
	Tunnels []SLATunnel `yaml:"tunnels"`
	// Classes restrict LBRs to the members within an SLA. Gateways whose
	// controller programs no class table use these.
	Classes []SLAClass `yaml:"classes"`
}

// SLATunnel is one tunnel's own probe settings.
type SLATunnel struct {
	ID       int           `yaml:"id"`       // the tunnel id a controller writes
	Interval time.Duration `yaml:"interval"` // between its probes: 10ms..10s
}

// Intervals are the per-tunnel probe intervals (slaagent.Options.Intervals).
func (s SLA) Intervals() map[dataplane.TunnelID]time.Duration {
	if len(s.Tunnels) == 0 {
		return nil
	}
	m := make(map[dataplane.TunnelID]time.Duration, len(s.Tunnels))
	for _, t := range s.Tunnels {
		m[dataplane.TunnelID(t.ID)] = t.Interval
	}
	return m
}

// SLALimits bound a path's quality; a zero (or absent) limit is not checked.
// Loss is in percent.
type SLALimits struct {
	RTT    time.Duration `yaml:"rtt"`
	Loss   float64       `yaml:"loss"`
	Jitter time.Duration `yaml:"jitter"`
}

// SLAThresholds are a tunnel's state machine (sla.Thresholds).
type SLAThresholds struct {
	Degraded SLALimits `yaml:"degraded"`
	// Recovered: every limit met for the hold-down before degraded → up. All
	// zero: 80 % of degraded.
	Recovered         SLALimits     `yaml:"recovered"`
	DownAfter         int           `yaml:"down_after"`          // probe intervals without a reply
	DownLoss          float64       `yaml:"down_loss"`           // percent: down at this loss
	DownRecoveredLoss float64       `yaml:"down_recovered_loss"` // percent: back below it
	MinSamples        int           `yaml:"min_samples"`
	HoldDown          time.Duration `yaml:"hold_down"`
	MaxHoldDown       time.Duration `yaml:"max_hold_down"`
	Stable            time.Duration `yaml:"stable"`
}

// SLAClass is one class: the LBR it governs, and the limits its members must meet.
type SLAClass struct {
	Name string `yaml:"name"`
	// DSCP of the class's own probes (0: the class is judged on the tunnel's
	// probes). Non-zero starts a session per member with this DSCP.
	DSCP int `yaml:"dscp"`
	LBR  int `yaml:"lbr"` // the P4Runtime LBR (action-profile group) id it governs
	// Tunnels limits the class to these members of the LBR; empty: all of them.
	Tunnels []int     `yaml:"tunnels"`
	SLA     SLALimits `yaml:"sla"`
	Recover SLALimits `yaml:"recover"` // all zero: 80 % of sla
}

func limitsOf(l sla.Limits) SLALimits {
	return SLALimits{RTT: l.RTT, Loss: 100 * l.Loss, Jitter: l.Jitter}
}

// Limits converts to package sla's.
func (l SLALimits) Limits() sla.Limits {
	return sla.Limits{RTT: l.RTT, Loss: l.Loss / 100, Jitter: l.Jitter}
}

// defaultSLA is package sla's defaults, spelled out so that the file, the
// docs and `validate` agree on them.
func defaultSLA() SLA {
	t := sla.DefaultThresholds
	return SLA{
		Enabled: true, Interval: sla.DefaultInterval, Size: sla.BaseLen, Window: sla.DefaultWindow,
		Timeout: sla.DefaultTimeout, SourcePort: DefaultSLASourcePort,
		ReflectorRate: dataplane.DefaultOptions.ReflectorRate, ReflectorBurst: dataplane.DefaultOptions.ReflectorBurst,
		Thresholds: SLAThresholds{
			Degraded: limitsOf(t.Degraded), DownAfter: t.DownAfter,
			DownLoss: 100 * t.DownLoss, DownRecoveredLoss: 100 * t.DownRecoveredLoss,
			MinSamples: t.MinSamples, HoldDown: t.HoldDown, MaxHoldDown: t.MaxHoldDown, Stable: t.Stable,
		},
	}
}

// DefaultSLASourcePort is sla.source_port's default (slaagent.DefaultSourcePort).
const DefaultSLASourcePort = 49862

// Session is the probe session configuration of every overlay.
func (s SLA) Session() sla.SessionConfig {
	t := s.Thresholds
	return sla.SessionConfig{
		Interval: s.Interval, Size: s.Size, Window: s.Window, Timeout: s.Timeout,
		StatefulReflector: s.StatefulReflector,
		Thresholds: sla.Thresholds{
			Degraded: t.Degraded.Limits(), Recovered: t.Recovered.Limits(), DownAfter: t.DownAfter,
			DownLoss: t.DownLoss / 100, DownRecoveredLoss: t.DownRecoveredLoss / 100,
			MinSamples: t.MinSamples, HoldDown: t.HoldDown, MaxHoldDown: t.MaxHoldDown, Stable: t.Stable,
		},
	}
}

func (v *validator) sla() {
	s := v.c.SLA
	if s.Interval < sla.MinInterval || s.Interval > sla.MaxInterval {
		v.fail("sla.interval", "%v is outside %v..%v", s.Interval, sla.MinInterval, sla.MaxInterval)
	}
	if s.Size < sla.BaseLen || s.Size > sla.MaxProbeLen {
		v.fail("sla.size", "%d is outside %d..%d octets", s.Size, sla.BaseLen, sla.MaxProbeLen)
	}
	if s.Window < 2 || s.Window > 10_000 {
		v.fail("sla.window", "%d is outside 2..10000 probes", s.Window)
	}
	if s.Timeout <= 0 {
		v.fail("sla.timeout", "%v: want more than 0", s.Timeout)
	}
	if s.SourcePort < 1 || s.SourcePort > 0xffff-63 {
		v.fail("sla.source_port", "%d is outside 1..%d (64 ports from it are used)", s.SourcePort, 0xffff-63)
	}
	if s.ReflectorRate < 1 || s.ReflectorRate > dataplane.MaxReflectorRate {
		v.fail("sla.reflector_rate", "%d is outside 1..%d probes per second", s.ReflectorRate, dataplane.MaxReflectorRate)
	}
	if s.ReflectorBurst < 1 || s.ReflectorBurst > dataplane.MaxReflectorBurst {
		v.fail("sla.reflector_burst", "%d is outside 1..%d probes", s.ReflectorBurst, dataplane.MaxReflectorBurst)
	}
	t := s.Thresholds
	v.limits("sla.thresholds.degraded", t.Degraded)
	v.limits("sla.thresholds.recovered", t.Recovered)
	if t.Recovered != (SLALimits{}) {
		v.recoverWithin("sla.thresholds.recovered", t.Recovered, "sla.thresholds.degraded", t.Degraded)
	}
	if t.DownAfter < 1 {
		v.fail("sla.thresholds.down_after", "%d: want at least 1 probe interval", t.DownAfter)
	}
	if t.DownLoss <= 0 || t.DownLoss > 100 {
		v.fail("sla.thresholds.down_loss", "%v%% is outside (0, 100]", t.DownLoss)
	}
	if t.DownRecoveredLoss <= 0 || t.DownRecoveredLoss >= t.DownLoss {
		v.fail("sla.thresholds.down_recovered_loss", "%v%%: want more than 0 and less than %s, %v%%", t.DownRecoveredLoss, v.at("sla.thresholds.down_loss"), t.DownLoss)
	}
	if t.MinSamples < 1 || t.MinSamples > s.Window {
		v.fail("sla.thresholds.min_samples", "%d is outside 1..%s, %d", t.MinSamples, v.at("sla.window"), s.Window)
	}
	if t.HoldDown < 0 {
		v.fail("sla.thresholds.hold_down", "%v: want 0 or more", t.HoldDown)
	}
	if t.MaxHoldDown < t.HoldDown {
		v.fail("sla.thresholds.max_hold_down", "%v is less than %s, %v", t.MaxHoldDown, v.at("sla.thresholds.hold_down"), t.HoldDown)
	}
	if t.Stable < 0 {
		v.fail("sla.thresholds.stable", "%v: want 0 or more", t.Stable)
	}
	ids := map[int]string{}
	for i, tn := range s.Tunnels {
		p := fmt.Sprintf("sla.tunnels[%d]", i)
		if err := dataplane.ValidateTunnelID(dataplane.TunnelID(tn.ID), v.c.Tables.Tunnels); err != nil || tn.ID < 0 {
			v.fail(p+".id", "%d is not a tunnel id below tables.tunnels, %d", tn.ID, v.c.Tables.Tunnels)
		} else if other, ok := ids[tn.ID]; ok {
			v.fail(p+".id", "tunnel %d is already set by %s", tn.ID, v.at(other))
		} else {
			ids[tn.ID] = p + ".id"
		}
		if tn.Interval < sla.MinInterval || tn.Interval > sla.MaxInterval {
			v.fail(p+".interval", "%v is outside %v..%v", tn.Interval, sla.MinInterval, sla.MaxInterval)
		}
	}
	names := map[string]string{}
	lbrs := map[int]string{}
	for i, c := range s.Classes {
		p := fmt.Sprintf("sla.classes[%d]", i)
		switch {
		case c.Name == "":
			v.fail(p+".name", "missing: every class needs a name")
		case names[c.Name] != "":
			v.fail(p+".name", "%q is already the name of %s", c.Name, v.at(names[c.Name]))
		default:
			names[c.Name] = p + ".name"
		}
		if c.DSCP < 0 || c.DSCP > 63 {
			v.fail(p+".dscp", "%d is outside 0..63", c.DSCP)
		}
		if c.LBR < 0 || uint64(c.LBR) > uint64(^dataplane.LBRID(0)) {
			v.fail(p+".lbr", "%d is not an LBR id", c.LBR)
		} else if other, ok := lbrs[c.LBR]; ok {
			v.fail(p+".lbr", "lbr %d is already governed by %s", c.LBR, v.at(other))
		} else {
			lbrs[c.LBR] = p + ".lbr"
		}
		seen := map[int]bool{}
		for j, id := range c.Tunnels {
			q := fmt.Sprintf("%s.tunnels[%d]", p, j)
			if err := dataplane.ValidateTunnelID(dataplane.TunnelID(id), v.c.Tables.Tunnels); err != nil || id < 0 {
				v.fail(q, "%d is not a tunnel id below tables.tunnels, %d", id, v.c.Tables.Tunnels)
			} else if seen[id] {
				v.fail(q, "tunnel %d is listed twice", id)
			}
			seen[id] = true
		}
		v.limits(p+".sla", c.SLA)
		if c.SLA == (SLALimits{}) {
			v.fail(p+".sla", "no limit: give at least one of rtt, loss, jitter")
		}
		v.limits(p+".recover", c.Recover)
		if c.Recover != (SLALimits{}) {
			v.recoverWithin(p+".recover", c.Recover, p+".sla", c.SLA)
		}
	}
}

func (v *validator) limits(p string, l SLALimits) {
	if l.RTT < 0 {
		v.fail(p+".rtt", "%v: want 0 (unchecked) or more", l.RTT)
	}
	if l.Jitter < 0 {
		v.fail(p+".jitter", "%v: want 0 (unchecked) or more", l.Jitter)
	}
	if l.Loss < 0 || l.Loss > 100 {
		v.fail(p+".loss", "%v%% is outside 0..100", l.Loss)
	}
}

// recoverWithin checks the hysteresis goes the right way: coming back must
// not be easier than leaving.
func (v *validator) recoverWithin(p string, r SLALimits, ep string, e SLALimits) {
	if e.RTT > 0 && r.RTT > e.RTT {
		v.fail(p+".rtt", "%v is above %s, %v: coming back must not be easier than leaving", r.RTT, v.at(ep+".rtt"), e.RTT)
	}
	if e.Loss > 0 && r.Loss > e.Loss {
		v.fail(p+".loss", "%v%% is above %s, %v%%: coming back must not be easier than leaving", r.Loss, v.at(ep+".loss"), e.Loss)
	}
	if e.Jitter > 0 && r.Jitter > e.Jitter {
		v.fail(p+".jitter", "%v is above %s, %v: coming back must not be easier than leaving", r.Jitter, v.at(ep+".jitter"), e.Jitter)
	}
}
