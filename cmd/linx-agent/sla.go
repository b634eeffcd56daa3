package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/slaagent"
)

// startSLA starts probing the overlays of steered as the configuration's sla
// section says, and returns the function that stops it (before the data path
// closes). With sla.enabled false it does nothing: the controller's tunnels
// and LBRs are installed as written.
func startSLA(c *config.Config, steered *slaagent.Steered, log *zap.Logger) (stop func(), err error) {
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
		Session: c.SLA.Session(), Classes: classes, SourcePort: uint16(c.SLA.SourcePort),
		Logf: log.Sugar().Infof,
	})
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	log.Info("SLA probing every overlay", zap.Duration("interval", c.SLA.Interval), zap.Int("classes", len(classes)))
	return a.Stop, nil
}
