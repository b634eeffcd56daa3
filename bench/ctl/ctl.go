// Package ctl is the control-plane side of linx's evaluation: a P4Runtime
// client that arbitrates as primary and writes linx's tables, an in-process
// device (the real server on a real XDP data path) on loopback, and the
// entries the measurements write. cmd/linx-bench drives it.
package ctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server"
	"github.com/linx-sdwan/linx/translate"
)

// Election is the client's election id (any non-zero id makes it primary of
// a device nobody else talks to).
const Election = 1

// MaxMsg is the message size limit of both ends: a Write of 100 000 PDRs is
// about 9 MB, over gRPC's default 4 MiB.
const MaxMsg = 256 << 20

// Pipeline is linx's P4Info sized like o.
func Pipeline(o dataplane.Options) *p4configv1.P4Info {
	o = o.WithDefaults()
	return p4info.New(p4info.Sizes{PDRs: o.MaxPDRs, FARs: o.MaxFARs, LBRs: o.MaxLBRs,
		Tunnels: o.MaxTunnels, TunnelTerms: o.MaxTerms, Ports: o.MaxPorts})
}

// Serve starts linx's gRPC server for dp on a free loopback port and returns
// its address and a stop function.
func Serve(dp dataplane.Dataplane, o dataplane.Options) (string, func(), error) {
	srv, err := server.New(server.Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(Pipeline(o)),
		GRPC: []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxMsg)}})
	if err != nil {
		return "", nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.GRPC.Serve(lis)
	return lis.Addr().String(), func() { srv.GRPC.Stop() }, nil
}

// Client is a primary P4Runtime client of device 1.
type Client struct {
	C      p4v1.P4RuntimeClient
	conn   *grpc.ClientConn
	ctx    context.Context
	cancel context.CancelFunc
}

// Dial connects to addr and becomes primary. dial, if not nil, makes the
// connection (say, from inside a network namespace).
func Dial(addr string, dial func(ctx context.Context, addr string) (net.Conn, error)) (*Client, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMsg), grpc.MaxCallSendMsgSize(MaxMsg))}
	if dial != nil {
		opts = append(opts, grpc.WithContextDialer(dial))
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{C: p4v1.NewP4RuntimeClient(conn), conn: conn, ctx: ctx, cancel: cancel}
	stream, err := c.C.StreamChannel(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("stream channel: %w", err)
	}
	if err := stream.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
		Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: Election}}}}); err != nil {
		c.Close()
		return nil, fmt.Errorf("arbitration: %w", err)
	}
	m, err := stream.Recv()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("arbitration: %w", err)
	}
	if m.GetArbitration().GetStatus().GetCode() != 0 {
		c.Close()
		return nil, fmt.Errorf("not primary: %v", m)
	}
	go func() { // keep the stream drained
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	return c, nil
}

// Close ends the stream and the connection.
func (c *Client) Close() error {
	c.cancel()
	return c.conn.Close()
}

// Commit pushes p (VERIFY_AND_COMMIT), which clears the device.
func (c *Client) Commit(p *p4configv1.P4Info) error {
	_, err := c.C.SetForwardingPipelineConfig(c.ctx, &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: 1, ElectionId: &p4v1.Uint128{Low: Election},
		Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT, Config: &p4v1.ForwardingPipelineConfig{P4Info: p},
	})
	return err
}

// Write sends one WriteRequest.
func (c *Client) Write(ups ...*p4v1.Update) error {
	_, err := c.C.Write(c.ctx, &p4v1.WriteRequest{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: Election}, Updates: ups})
	return err
}

// Empty is the cheapest unary call there is (Capabilities): what gRPC itself costs.
func (c *Client) Empty() error {
	_, err := c.C.Capabilities(c.ctx, &p4v1.CapabilitiesRequest{})
	return err
}

// Update wraps a table entry.
func Update(op p4v1.Update_Type, te *p4v1.TableEntry) *p4v1.Update {
	return &p4v1.Update{Type: op, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}
}

func exact(id uint32, v uint64) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Exact_{
		Exact: &p4v1.FieldMatch_Exact{Value: translate.EncodeUint(v)}}}
}

func ternary(id uint32, v, mask uint64) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{
		Value: translate.EncodeUint(v), Mask: translate.EncodeUint(mask)}}}
}

func rng(id uint32, lo, hi uint64) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Range_{Range: &p4v1.FieldMatch_Range{
		Low: translate.EncodeUint(lo), High: translate.EncodeUint(hi)}}}
}

func action(id uint32, params ...uint64) *p4v1.TableAction {
	a := &p4v1.Action{ActionId: id}
	for i, v := range params {
		a.Params = append(a.Params, &p4v1.Action_Param{ParamId: uint32(i + 1), Value: translate.EncodeUint(v)})
	}
	return &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: a}}
}

func addr(a netip.Addr) uint64 {
	b := a.As4()
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

// FAR is far id with action act (p4info.IDAction*) and its parameters.
func FAR(id uint32, act uint32, params ...uint64) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldFARFarID, uint64(id))},
		Action: action(act, params...)}
}

// Tunnel is GRE tunnel id leaving by port from src to dst with key.
func Tunnel(id uint32, port uint16, src, dst netip.Addr, key uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnels, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldTunnelsTunnelID, uint64(id))},
		Action: action(p4info.IDActionSetGRE, uint64(port), addr(src), addr(dst), uint64(key))}
}

// Term terminates GRE from remote to local with key into tunnel id.
func Term(remote, local netip.Addr, key uint32, tunnel uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm, Match: []*p4v1.FieldMatch{
		exact(p4info.IDFieldTunnelTermSrcAddr, addr(remote)), exact(p4info.IDFieldTunnelTermDstAddr, addr(local)),
		exact(p4info.IDFieldTunnelTermGREKey, uint64(key))}, Action: action(p4info.IDActionDecap, uint64(tunnel))}
}

// PDRMatch is a PDR of priority prio selecting far, matching direction dir
// (1 uplink, 2 downlink), src and dst prefixes and IP protocol proto.
func PDRMatch(prio int32, far uint32, dir uint64, src, dst netip.Prefix, proto uint64) *p4v1.TableEntry {
	mask := func(p netip.Prefix) uint64 { return (0xffffffff << (32 - p.Bits())) & 0xffffffff }
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: prio, Match: []*p4v1.FieldMatch{
		ternary(p4info.IDFieldPDRDirection, dir, 3),
		ternary(p4info.IDFieldPDRSrcAddr, addr(src.Addr()), mask(src)),
		ternary(p4info.IDFieldPDRDstAddr, addr(dst.Addr()), mask(dst)),
		ternary(p4info.IDFieldPDRIPProto, proto, 0xff)},
		Action: action(p4info.IDActionSetFAR, uint64(far))}
}

// PDR is the i-th of a family of distinct PDRs of mixed shapes (per host,
// subnet and service, class), selecting far, with priority i+1.
func PDR(i int, far uint32) *p4v1.TableEntry {
	n := uint64(i)
	host := 0x0a000000 | n&0xffffff // 10.x.y.z
	var m []*p4v1.FieldMatch
	switch i % 4 {
	case 0: // one destination host, uplink
		m = []*p4v1.FieldMatch{ternary(p4info.IDFieldPDRDirection, 1, 3), ternary(p4info.IDFieldPDRDstAddr, host, 0xffffffff)}
	case 1: // subnet to subnet, UDP to one port
		m = []*p4v1.FieldMatch{ternary(p4info.IDFieldPDRSrcAddr, 0xac000000|n<<8&0xffff00, 0xffffff00),
			ternary(p4info.IDFieldPDRDstAddr, 0x0a000000|n<<8&0xffff00, 0xffffff00),
			ternary(p4info.IDFieldPDRIPProto, 17, 0xff), rng(p4info.IDFieldPDRL4Dport, 5000+n%1000, 5000+n%1000)}
	case 2: // a /16 with a DSCP class
		m = []*p4v1.FieldMatch{ternary(p4info.IDFieldPDRDstAddr, 0x0a000000|n<<16&0xff0000, 0xffff0000),
			ternary(p4info.IDFieldPDRDSCP, n%64, 0x3f)}
	case 3: // one source host, TCP to an aligned port block
		m = []*p4v1.FieldMatch{ternary(p4info.IDFieldPDRSrcAddr, host, 0xffffffff), ternary(p4info.IDFieldPDRIPProto, 6, 0xff),
			rng(p4info.IDFieldPDRL4Dport, 1024*(n%60+1), 1024*(n%60+1)+1023)}
	}
	slices.SortFunc(m, func(a, b *p4v1.FieldMatch) int { return int(a.FieldId) - int(b.FieldId) })
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: int32(i + 1), Match: m,
		Action: action(p4info.IDActionSetFAR, uint64(far))}
}

// Key is te without its action: what DELETE takes.
func Key(te *p4v1.TableEntry) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: te.TableId, Priority: te.Priority, Match: te.Match}
}

// Latencies are per-call durations.
type Latencies []time.Duration

// Summary is a latency distribution in microseconds.
type Summary struct {
	N                             int
	Mean, P50, P90, P99, Max, Min float64
}

func (s Summary) String() string {
	return fmt.Sprintf("mean %.0f, p50 %.0f, p90 %.0f, p99 %.0f, max %.0f µs (n=%d)", s.Mean, s.P50, s.P90, s.P99, s.Max, s.N)
}

// Summarize sorts a copy of l and takes its percentiles (nearest rank).
func (l Latencies) Summarize() Summary {
	if len(l) == 0 {
		return Summary{}
	}
	s := slices.Clone(l)
	slices.Sort(s)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	p := func(q float64) float64 { return us(s[int(q*float64(len(s)-1)+0.5)]) }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{N: len(s), Mean: us(sum / time.Duration(len(s))), P50: p(0.5), P90: p(0.9), P99: p(0.99),
		Max: us(s[len(s)-1]), Min: us(s[0])}
}

// Micros is l in microseconds, in order.
func (l Latencies) Micros() []float64 {
	out := make([]float64, len(l))
	for i, d := range l {
		out[i] = float64(d.Nanoseconds()) / 1e3
	}
	return out
}

// WriteLatency measures n single-update Writes cycling a probe PDR through
// INSERT, MODIFY (another FAR) and DELETE among installed PDRs already there,
// each Write preceded by an empty call on the same connection, so both
// distributions come from the same moments. FARs 1 and 2 must exist.
func WriteLatency(c *Client, n, installed int) (write, empty Latencies, err error) {
	probe := PDR(installed+1, 1)
	mod := PDR(installed+1, 2)
	ups := []*p4v1.Update{Update(p4v1.Update_INSERT, probe), Update(p4v1.Update_MODIFY, mod), Update(p4v1.Update_DELETE, Key(probe))}
	for i := range 300 { // warm the connection and the write path
		if err := c.Empty(); err != nil {
			return nil, nil, err
		}
		if err := c.Write(ups[i%3]); err != nil {
			return nil, nil, fmt.Errorf("warm-up write %d: %w", i, err)
		}
	}
	i := 0
	for ; i < n || i%3 != 0; i++ { // end with the probe deleted
		t0 := time.Now()
		if err := c.Empty(); err != nil {
			return nil, nil, err
		}
		t1 := time.Now()
		if err := c.Write(ups[i%3]); err != nil {
			return nil, nil, fmt.Errorf("write %d: %w", i, err)
		}
		t2 := time.Now()
		if i < n {
			empty, write = append(empty, t1.Sub(t0)), append(write, t2.Sub(t1))
		}
	}
	return write, empty, nil
}

// Install clears the device, installs FARs 1 and 2 and then n PDRs in one
// Write, and returns how long that Write took.
func Install(c *Client, p *p4configv1.P4Info, n int) (time.Duration, error) {
	if err := c.Commit(p); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	if err := c.Write(Update(p4v1.Update_INSERT, FAR(1, p4info.IDActionDrop)),
		Update(p4v1.Update_INSERT, FAR(2, p4info.IDActionPass))); err != nil {
		return 0, fmt.Errorf("fars: %w", err)
	}
	ups := make([]*p4v1.Update, n)
	for i := range ups {
		ups[i] = Update(p4v1.Update_INSERT, PDR(i, 1))
	}
	t0 := time.Now()
	if err := c.Write(ups...); err != nil {
		return 0, fmt.Errorf("install %d pdrs: %w", n, err)
	}
	return time.Since(t0), nil
}

// ErrNoPacket: the rule's first packet did not reach the sink in time.
var ErrNoPacket = errors.New("no packet forwarded")
