package demo

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// Stream is sequence-numbered UDP from one site's host to the other's: a
// number of flows (distinct source ports, so the balancer spreads them over
// the overlays), one datagram each every interval. The receiver keeps every
// arrival time, so that the gap a failover leaves shows at the receiver.
type Stream struct {
	flows int
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	txs   []*net.UDPConn
	rx    *net.UDPConn

	mu      sync.Mutex
	arrived [][]time.Time // by flow
	seqs    [][]uint32    // by flow, with arrived
}

// streamPort is the receiver's UDP port; source ports are 41000 + flow.
const streamPort = 7100

// startStream starts a Stream from s's host to its peer's.
func startStream(s *site, flows int, interval time.Duration) (*Stream, error) {
	rx, err := netlab.ListenUDP(s.peer.host, netip.AddrPortFrom(s.peer.hostAddr, streamPort).String())
	if err != nil {
		return nil, err
	}
	st := &Stream{flows: flows, stop: make(chan struct{}), done: make(chan struct{}), rx: rx, arrived: make([][]time.Time, flows), seqs: make([][]uint32, flows)}
	for i := range flows {
		c, err := netlab.DialUDPFrom(s.host, netip.AddrPortFrom(s.hostAddr, uint16(41000+i)).String(),
			netip.AddrPortFrom(s.peer.hostAddr, streamPort).String())
		if err != nil {
			for _, c := range st.txs {
				c.Close()
			}
			rx.Close()
			return nil, fmt.Errorf("stream flow %d: %w", i, err)
		}
		st.txs = append(st.txs, c)
	}
	go st.receive()
	go st.send(interval)
	return st, nil
}

func (st *Stream) receive() {
	buf := make([]byte, 64)
	for {
		n, err := st.rx.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if n < 8 {
			continue
		}
		if f := int(binary.BigEndian.Uint32(buf)); f < st.flows {
			st.mu.Lock()
			st.arrived[f] = append(st.arrived[f], now)
			st.seqs[f] = append(st.seqs[f], binary.BigEndian.Uint32(buf[4:]))
			st.mu.Unlock()
		}
	}
}

func (st *Stream) send(interval time.Duration) {
	defer close(st.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	b := make([]byte, 64)
	var seq uint32
	for {
		select {
		case <-st.stop:
			return
		case <-tick.C:
		}
		for i, c := range st.txs {
			binary.BigEndian.PutUint32(b, uint32(i))
			binary.BigEndian.PutUint32(b[4:], seq)
			c.Write(b)
		}
		seq++
	}
}

// Halt stops sending, lets the datagrams in flight arrive and closes the
// sockets. What arrived is kept.
func (st *Stream) Halt() {
	st.once.Do(func() {
		close(st.stop)
		<-st.done
		time.Sleep(50 * time.Millisecond)
		for _, c := range st.txs {
			c.Close()
		}
		st.rx.Close()
	})
}

// Gaps is, per flow, the longest time without an arrival between from and
// to (both ends count, so a flow that stopped shows the whole stretch).
func (st *Stream) Gaps(from, to time.Time) []time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]time.Duration, st.flows)
	for f, ts := range st.arrived {
		last := from
		for _, a := range ts {
			if a.Before(from) {
				continue
			}
			if a.After(to) {
				break
			}
			out[f] = max(out[f], a.Sub(last))
			last = a
		}
		out[f] = max(out[f], to.Sub(last))
	}
	return out
}

// Gap is a stretch without an arrival: when it began (the arrival before it,
// or the window's start), how long it lasted, how many datagrams arrived
// within 1 ms of its end (about Len / interval when they were held on the way
// or in the receiver's socket, 1 otherwise) and how many sequence numbers it
// skipped (datagrams lost; 0 with a burst of 1: the sender itself paused, its
// ticker dropping the ticks it missed).
type Gap struct {
	At      time.Time
	Len     time.Duration
	Burst   int
	Missing int
}

// LongestGaps is Gaps with where each flow's longest gap began.
func (st *Stream) LongestGaps(from, to time.Time) []Gap {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]Gap, st.flows)
	for f, ts := range st.arrived {
		last := from
		for i, a := range ts {
			if a.Before(from) {
				continue
			}
			if a.After(to) {
				break
			}
			if d := a.Sub(last); d > out[f].Len {
				out[f] = Gap{At: last, Len: d}
				if i > 0 && !ts[i-1].Before(from) {
					out[f].Missing = int(st.seqs[f][i]-st.seqs[f][i-1]) - 1
				}
			}
			last = a
		}
		if d := to.Sub(last); d > out[f].Len {
			out[f] = Gap{At: last, Len: d}
		}
		end := out[f].At.Add(out[f].Len)
		for _, a := range ts {
			if !a.Before(end) && a.Sub(end) <= time.Millisecond {
				out[f].Burst++
			}
		}
	}
	return out
}

// ArrivedSince counts each flow's arrivals after at.
func (st *Stream) ArrivedSince(at time.Time) []int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]int, st.flows)
	for f, ts := range st.arrived {
		for _, a := range ts {
			if a.After(at) {
				out[f]++
			}
		}
	}
	return out
}

// StartStream starts a Stream from site i's host to the other site's host.
func (tb *Testbed) StartStream(i, flows int, interval time.Duration) (*Stream, error) {
	return startStream(tb.site(i), flows, interval)
}
