package ctl

import (
	"fmt"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/bench/fwd"
	"github.com/linx-sdwan/linx/p4info"
)

// WriteToForward measures how long a rule takes to carry traffic: on the
// downlink topology top (built with no PDRs), whose linx data path the server
// behind c drives, the generator sends GRE continuously from genCPU while, on
// measCPU, n times: a Write inserts the traffic's PDR, the sink is polled until
// its count moves (the first packet the new rule forwarded), then a Write
// deletes the PDR and the sink is let go quiet. Returned: the time from the
// Write's return to that first packet, and from the Write's start.
func WriteToForward(top *fwd.Topology, c *Client, pipeline *p4v1.ForwardingPipelineConfig, n, genCPU, measCPU int) (fromReturn, fromStart Latencies, err error) {
	if err := c.Commit(pipeline.P4Info); err != nil {
		return nil, nil, fmt.Errorf("commit: %w", err)
	}
	const tunnel, far = 1, 1
	if err := c.Write(
		Update(p4v1.Update_INSERT, Tunnel(tunnel, fwd.DownlinkWAN, fwd.DownlinkLocal, fwd.DownlinkPeer, fwd.DownlinkKey)),
		Update(p4v1.Update_INSERT, Term(fwd.DownlinkPeer, fwd.DownlinkLocal, fwd.DownlinkKey, tunnel)),
		Update(p4v1.Update_INSERT, FAR(far, p4info.IDActionForward, uint64(fwd.DownlinkLAN))),
		// Without the rule, packets must not reach the sink at all: the default
		// (pass) hands them to the gateway's kernel, which forwards them there too
		// (ip_forward is on), so "the rule is gone" would never be seen.
		Update(p4v1.Update_MODIFY, &p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true,
			Action: action(p4info.IDActionDrop)})); err != nil {
		return nil, nil, fmt.Errorf("program downlink: %w", err)
	}
	rule := PDRMatch(1, far, 2, fwd.DownlinkSrc, fwd.DownlinkDst, 17)
	insert, del := Update(p4v1.Update_INSERT, rule), Update(p4v1.Update_DELETE, Key(rule))

	stop := make(chan struct{})
	genErr := make(chan error, 1)
	go func() { genErr <- top.Blast(stop, genCPU, 64) }()
	defer func() {
		close(stop)
		if gerr := <-genErr; gerr != nil && err == nil {
			err = gerr
		}
	}()
	unpin, err := fwd.Pin(measCPU)
	if err != nil {
		return nil, nil, err
	}
	defer unpin()

	quiet := func() error { // until the sink stops counting: the rule is gone
		last, _ := top.SinkFrames()
		for same := 0; same < 3; {
			time.Sleep(300 * time.Microsecond)
			cur, err := top.SinkFrames()
			if err != nil {
				return err
			}
			if cur == last {
				same++
			} else {
				same, last = 0, cur
			}
		}
		return nil
	}
	if err := quiet(); err != nil {
		return nil, nil, err
	}
	for i := range n {
		c0, err := top.SinkFrames()
		if err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		if err := c.Write(insert); err != nil {
			return nil, nil, fmt.Errorf("insert %d: %w", i, err)
		}
		t1 := time.Now()
		for {
			cur, err := top.SinkFrames()
			if err != nil {
				return nil, nil, err
			}
			if cur > c0 {
				break
			}
			if time.Since(t1) > time.Second {
				return nil, nil, fmt.Errorf("sample %d: %w within 1 s of the Write", i, ErrNoPacket)
			}
		}
		t2 := time.Now()
		fromReturn, fromStart = append(fromReturn, t2.Sub(t1)), append(fromStart, t2.Sub(t0))
		if err := c.Write(del); err != nil {
			return nil, nil, fmt.Errorf("delete %d: %w", i, err)
		}
		if err := quiet(); err != nil {
			return nil, nil, err
		}
	}
	return fromReturn, fromStart, nil
}
