package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/slaagent"
	"github.com/linx-sdwan/linx/server/gnmisrv"
	"github.com/linx-sdwan/linx/server/p4rtsrv"
	"github.com/linx-sdwan/linx/sla"
)

// slaHooks joins the prober to the servers' hooks. The servers are built
// before the prober starts (the prober needs the restored tunnels), so the
// hooks bind late: until then the gNMI and Prometheus source reports nothing
// and the controller's classes wait here.
type slaHooks struct {
	log   *zap.Logger
	agent atomic.Pointer[slaagent.Agent]
	gnmi  atomic.Pointer[gnmisrv.Server]

	mu   sync.Mutex       // serialises class hand-overs
	ctrl []slaagent.Class // the controller's latest classes (table sla_class)
}

var _ gnmisrv.TunnelQuality = (*slaHooks)(nil)

// TunnelStatus reports every overlay's own probe session (DSCP 0) for gNMI
// and Prometheus.
func (h *slaHooks) TunnelStatus() []gnmisrv.TunnelStatus {
	a := h.agent.Load()
	if a == nil {
		return nil
	}
	var out []gnmisrv.TunnelStatus
	for p, s := range a.Status() {
		if p.DSCP != 0 {
			continue
		}
		q := s.Quality
		out = append(out, gnmisrv.TunnelStatus{Tunnel: p.Tunnel, State: tunnelState(s.State), LastChange: s.Since,
			NoReplies: q.Replies == 0, RTT: q.RTT, MinRTT: q.MinRTT, Jitter: q.Jitter, Loss: q.Loss,
			Directional: q.Directional, LossForward: q.LossForward, LossBackward: q.LossBackward})
	}
	slices.SortFunc(out, func(a, b gnmisrv.TunnelStatus) int { return int(a.Tunnel) - int(b.Tunnel) })
	return out
}

func tunnelState(s sla.State) gnmisrv.TunnelState {
	switch s {
	case sla.StateUp:
		return gnmisrv.TunnelUp
	case sla.StateDegraded:
		return gnmisrv.TunnelDegraded
	case sla.StateDown:
		return gnmisrv.TunnelDown
	}
	return gnmisrv.TunnelUnknown
}

// changed wakes gNMI's ON_CHANGE subscriptions after a state change.
func (h *slaHooks) changed() {
	if g := h.gnmi.Load(); g != nil {
		g.QualityChanged()
	}
}

// onSLAClasses takes the classes a controller wrote (p4rtsrv calls it one
// set at a time, newest last) and hands them to the prober, or keeps them
// until it starts.
func (h *slaHooks) onSLAClasses(cs []p4rtsrv.SLAClass) {
	classes := make([]slaagent.Class, len(cs))
	for i, c := range cs {
		classes[i] = slaagent.Class{Name: c.Class.Name, DSCP: c.Class.DSCP, SLA: c.Class.SLA,
			Recover: c.Class.Recover, LBR: c.LBR}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ctrl = classes
	if a := h.agent.Load(); a != nil {
		h.apply(a)
	}
}

// apply hands the controller's classes to a; h.mu is held.
func (h *slaHooks) apply(a *slaagent.Agent) {
	if err := a.SetControllerClasses(h.ctrl); err != nil {
		h.log.Warn("SLA classes from the controller refused", zap.Error(err))
		return
	}
	if len(h.ctrl) > 0 {
		h.log.Info("SLA classes from the controller", zap.Int("classes", len(h.ctrl)))
	}
}

// startSLA starts probing the overlays of steered as the configuration's sla
// section says, and returns the function that stops it (before the data path
// closes). With sla.enabled false it does nothing: the controller's tunnels
// and LBRs are installed as written, and its sla_class entries are kept but
// not enforced.
func startSLA(c *config.Config, steered *slaagent.Steered, hooks *slaHooks, log *zap.Logger) (stop func(), err error) {
	if !c.SLA.Enabled {
		log.Info("SLA probing disabled (sla.enabled: false)")
		return func() {}, nil
	}
	classes := make([]slaagent.Class, len(c.SLA.Classes))
	for i, k := range c.SLA.Classes {
		cl := slaagent.Class{Name: k.Name, DSCP: uint8(k.DSCP), SLA: k.SLA.Limits(), Recover: k.Recover.Limits(),
			LBR: dataplane.LBRID(k.LBR)}
		for _, t := range k.Tunnels {
			cl.Tunnels = append(cl.Tunnels, dataplane.TunnelID(t))
		}
		classes[i] = cl
	}
	a, err := slaagent.Start(steered, slaagent.Options{
		Session: c.SLA.Session(), Intervals: c.SLA.Intervals(), Classes: classes, SourcePort: uint16(c.SLA.SourcePort),
		Logf: log.Sugar().Infof, OnChange: hooks.changed,
	})
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	hooks.mu.Lock()
	hooks.agent.Store(a)
	hooks.apply(a)
	hooks.mu.Unlock()
	log.Info("SLA probing every overlay", zap.Duration("interval", c.SLA.Interval), zap.Int("classes", len(classes)))
	return func() {
		hooks.agent.Store(nil)
		a.Stop()
	}, nil
}
