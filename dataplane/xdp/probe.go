package xdp

// SLA probes through overlays (docs/sla.md): injection and the replies.

import (
	"errors"
	"fmt"

	"github.com/linx-sdwan/linx/dataplane"
)

// SendProbe is not wired to the pipeline yet (issue 12): it refuses every probe.
func (d *Dataplane) SendProbe(id dataplane.TunnelID, packet []byte) error {
	return fmt.Errorf("send probe through tunnel %d: %w", id, errors.ErrUnsupported)
}

// ProbeReplies delivers STAMP replies that came back through overlays; closed by Close.
func (d *Dataplane) ProbeReplies() <-chan dataplane.ProbeReply { return d.replies }
