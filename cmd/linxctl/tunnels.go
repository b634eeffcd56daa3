package main

// The overlays' state and measured quality, read over gNMI (the agent serves it
// on the P4Runtime port): `show tunnels` joins it to the tunnels table, and
// `watch tunnels` streams its changes (server/gnmisrv, docs/sla.md).

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// tunnelQuality is what gNMI reports of one overlay: its liveness
// (oper-status of interface tunnel-<id>) and, when the SLA prober measures it,
// its state and quality (.../sla/state).
type tunnelQuality struct {
	Oper       string     `json:"oper_status,omitempty"`
	State      string     `json:"sla_state,omitempty"`
	LastChange *time.Time `json:"sla_last_change,omitempty"`
	RTTMs      *float64   `json:"rtt_ms,omitempty"`
	RTTMinMs   *float64   `json:"rtt_min_ms,omitempty"`
	JitterMs   *float64   `json:"jitter_ms,omitempty"`
	LossPct    *float64   `json:"loss_pct,omitempty"`
	LossFwdPct *float64   `json:"loss_forward_pct,omitempty"`
	LossBckPct *float64   `json:"loss_backward_pct,omitempty"`
}

// qualities are the overlays' by tunnel id.
type qualities map[uint32]*tunnelQuality

// tunnelID parses an interface name tunnel-<id>.
func tunnelID(name string) (uint32, bool) {
	s, ok := strings.CutPrefix(name, "tunnel-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 32)
	return uint32(id), err == nil
}

func ifacePath(rest ...string) *gpb.Path {
	p := &gpb.Path{Elem: []*gpb.PathElem{{Name: "interfaces"}, {Name: "interface", Key: map[string]string{"name": "*"}}}}
	for _, r := range rest {
		p.Elem = append(p.Elem, &gpb.PathElem{Name: r})
	}
	return p
}

// The paths linxctl reads: every interface's oper-status and sla container
// (only overlays have one).
var (
	operPath = ifacePath("state", "oper-status")
	slaPath  = ifacePath("sla", "state")
)

func ptr(v float64) *float64 { return &v }

// apply records the leaf u carries (prefix: the notification's); it returns the
// overlay and the leaf's name, or false for a leaf that is not an overlay's.
func (qs qualities) apply(prefix *gpb.Path, u *gpb.Update) (uint32, string, bool) {
	elems := append(slices.Clone(prefix.GetElem()), u.GetPath().GetElem()...)
	if len(elems) < 3 || elems[1].GetName() != "interface" {
		return 0, "", false
	}
	id, ok := tunnelID(elems[1].GetKey()["name"])
	if !ok {
		return 0, "", false
	}
	q := qs[id]
	if q == nil {
		q = &tunnelQuality{}
		qs[id] = q
	}
	leaf := elems[len(elems)-1].GetName()
	v := u.GetVal()
	micros := func() *float64 { return ptr(float64(v.GetUintVal()) / 1000) }
	ppm := func() *float64 { return ptr(float64(v.GetUintVal()) / 1e4) }
	sla := len(elems) >= 4 && elems[2].GetName() == "sla"
	switch {
	case !sla && leaf == "oper-status":
		q.Oper = v.GetStringVal()
	case !sla:
		return 0, "", false
	case leaf == "status":
		q.State = v.GetStringVal()
	case leaf == "last-change":
		if ns := v.GetUintVal(); ns > 0 {
			t := time.Unix(0, int64(ns)).UTC()
			q.LastChange = &t
		} else {
			q.LastChange = nil
		}
	case leaf == "rtt":
		q.RTTMs = micros()
	case leaf == "rtt-min":
		q.RTTMinMs = micros()
	case leaf == "jitter":
		q.JitterMs = micros()
	case leaf == "loss":
		q.LossPct = ppm()
	case leaf == "loss-forward":
		q.LossFwdPct = ppm()
	case leaf == "loss-backward":
		q.LossBckPct = ppm()
	default:
		return 0, "", false
	}
	return id, leaf, true
}

// readQuality gets every overlay's oper-status and sla container with one gNMI Get.
func (c *client) readQuality(ctx context.Context) (qualities, error) {
	ctx, cancel := c.rpcContext(ctx)
	defer cancel()
	resp, err := gpb.NewGNMIClient(c.conn).Get(ctx, &gpb.GetRequest{Path: []*gpb.Path{operPath, slaPath}, Encoding: gpb.Encoding_PROTO})
	if err != nil {
		return nil, c.rpcError("gNMI get of the overlays' state", err)
	}
	qs := qualities{}
	for _, n := range resp.GetNotification() {
		for _, u := range n.GetUpdate() {
			qs.apply(n.GetPrefix(), u)
		}
	}
	return qs, nil
}

func fmtMs(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64) + "ms"
}

func fmtPct(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64) + "%"
}

// fmtLoss is the round-trip loss, with each direction when known.
func fmtLoss(q *tunnelQuality) string {
	s := fmtPct(q.LossPct)
	if q.LossFwdPct != nil && q.LossBckPct != nil {
		s += " (" + fmtPct(q.LossFwdPct) + " → " + fmtPct(q.LossBckPct) + " ←)"
	}
	return s
}

func fmtSince(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func lowerOr(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ToLower(s)
}

// watchTunnels streams the overlays' state changes (gNMI ON_CHANGE of
// oper-status and the sla containers) until interrupted, or --count changes:
// first the state of every overlay, then one line per change.
func watchTunnels(ctx context.Context, o *options, args []string) error {
	if err := noArgs("watch tunnels", args); err != nil {
		return err
	}
	if o.count < 0 {
		return usageErrorf("--count must not be negative")
	}
	return withClient(o, func(c *client) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := gpb.NewGNMIClient(c.conn).Subscribe(ctx)
		if err != nil {
			return c.rpcError("gNMI subscribe", err)
		}
		sub := func(p *gpb.Path) *gpb.Subscription {
			return &gpb.Subscription{Path: p, Mode: gpb.SubscriptionMode_ON_CHANGE}
		}
		if err := stream.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: &gpb.SubscriptionList{
			Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_PROTO, Subscription: []*gpb.Subscription{sub(operPath), sub(slaPath)},
		}}}); err != nil {
			return c.rpcError("gNMI subscribe", err)
		}
		qs := qualities{}
		synced, changes := false, 0
		for {
			resp, err := stream.Recv()
			if err != nil {
				if ctx.Err() != nil {
					return nil // interrupted
				}
				return c.rpcError("gNMI subscription", err)
			}
			if resp.GetSyncResponse() {
				synced = true
				continue
			}
			n := resp.GetUpdate()
			changed := map[uint32][]string{}
			var order []uint32
			for _, u := range n.GetUpdate() {
				if id, leaf, ok := qs.apply(n.GetPrefix(), u); ok {
					if _, seen := changed[id]; !seen {
						order = append(order, id)
					}
					changed[id] = append(changed[id], leaf)
				}
			}
			at := time.Unix(0, n.GetTimestamp())
			for _, id := range order {
				if err := printTunnelEvent(o, at, id, qs[id], !synced); err != nil {
					return err
				}
				if synced {
					changes++
				}
			}
			for _, d := range n.GetDelete() {
				elems := append(slices.Clone(n.GetPrefix().GetElem()), d.GetElem()...)
				if len(elems) == 2 {
					if id, ok := tunnelID(elems[1].GetKey()["name"]); ok {
						delete(qs, id)
						if o.json {
							b, _ := json.Marshal(map[string]any{"time": at.UTC(), "tunnel": id, "deleted": true})
							fmt.Fprintf(o.stdout, "%s\n", b)
						} else {
							fmt.Fprintf(o.stdout, "%s  tunnel %d  deleted\n", at.Local().Format("15:04:05.000"), id)
						}
						if synced {
							changes++
						}
					}
				}
			}
			if o.count > 0 && changes >= o.count {
				return nil
			}
		}
	})
}

// printTunnelEvent prints one overlay's state after a notification: initial
// (before the subscription's sync) or a change.
func printTunnelEvent(o *options, at time.Time, id uint32, q *tunnelQuality, initial bool) error {
	if o.json {
		b, err := json.Marshal(struct {
			Time    time.Time `json:"time"`
			Tunnel  uint32    `json:"tunnel"`
			Initial bool      `json:"initial,omitempty"`
			*tunnelQuality
		}{at.UTC(), id, initial, q})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.stdout, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(o.stdout, "%s  tunnel %d  oper %s  sla %s  rtt %s  loss %s  jitter %s\n",
		at.Local().Format("15:04:05.000"), id, lowerOr(q.Oper), lowerOr(q.State), fmtMs(q.RTTMs), fmtLoss(q), fmtMs(q.JitterMs))
	return err
}
