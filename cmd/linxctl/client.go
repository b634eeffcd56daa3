package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// client is one connection to the device. Reads need no stream (P4Runtime reads
// are open to every client); writes go through a master session.
type client struct {
	o    *options
	conn *grpc.ClientConn
	p4   p4v1.P4RuntimeClient
}

func dial(o *options) (*client, error) {
	creds, err := transportCredentials(o)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(o.target, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.target, err)
	}
	return &client{o: o, conn: conn, p4: p4v1.NewP4RuntimeClient(conn)}, nil
}

func (c *client) Close() error { return c.conn.Close() }

func transportCredentials(o *options) (credentials.TransportCredentials, error) {
	if o.insecure {
		if o.ca != "" || o.cert != "" || o.key != "" {
			return nil, usageErrorf("--insecure excludes --ca, --cert and --key")
		}
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.serverName}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate found", o.ca)
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.cert != "" && o.key != "":
		kp, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	case o.cert != "" || o.key != "":
		return nil, usageErrorf("--cert and --key go together")
	}
	return credentials.NewTLS(cfg), nil
}

// rpcContext bounds one exchange with the device by --timeout.
func (c *client) rpcContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.o.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.o.timeout)
}

// read sends one ReadRequest and collects every entity of the response stream.
func (c *client) read(ctx context.Context, entities ...*p4v1.Entity) ([]*p4v1.Entity, error) {
	ctx, cancel := c.rpcContext(ctx)
	defer cancel()
	stream, err := c.p4.Read(ctx, &p4v1.ReadRequest{DeviceId: c.o.deviceID, Role: c.o.role, Entities: entities})
	if err != nil {
		return nil, c.rpcError("read", err)
	}
	var out []*p4v1.Entity
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, c.rpcError("read", err)
		}
		out = append(out, resp.Entities...)
	}
}

// rpcError turns a gRPC error into a message for people, with a hint for the
// usual mistakes.
func (c *client) rpcError(what string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := fmt.Sprintf("%s: %s: %s", what, codeName(st.Code()), st.Message())
	switch {
	case st.Code() == codes.FailedPrecondition && strings.Contains(st.Message(), "pipeline"):
		msg += "\n  hint: the device has no pipeline config yet: run `linxctl --master pipeline push`"
	case st.Code() == codes.Unavailable && !c.o.insecure:
		msg += fmt.Sprintf("\n  hint: linxctl speaks TLS unless --insecure is given; is the agent at %s serving plaintext (-insecure)?", c.o.target)
	case st.Code() == codes.Unavailable:
		msg += fmt.Sprintf("\n  hint: is the agent listening on %s?", c.o.target)
	case st.Code() == codes.NotFound && strings.Contains(st.Message(), "device id"):
		msg += "\n  hint: pass the agent's --device-id"
	}
	return errors.New(msg)
}

// codeName is the P4Runtime/google.rpc spelling of a code: ALREADY_EXISTS.
func codeName(c codes.Code) string {
	if n, ok := code.Code_name[int32(c)]; ok {
		return n
	}
	return c.String()
}

// electionID is a P4Runtime Uint128.
type electionID struct {
	High uint64 `json:"high"`
	Low  uint64 `json:"low"`
}

func (e electionID) proto() *p4v1.Uint128 { return &p4v1.Uint128{High: e.High, Low: e.Low} }

// String prints the low word alone when the high word is zero, else high:low.
func (e electionID) String() string {
	if e.High == 0 {
		return strconv.FormatUint(e.Low, 10)
	}
	return fmt.Sprintf("%d:%d", e.High, e.Low)
}

func (e electionID) less(o electionID) bool {
	if e.High != o.High {
		return e.High < o.High
	}
	return e.Low < o.Low
}

func (e electionID) next() (electionID, error) {
	switch {
	case e.Low < math.MaxUint64:
		return electionID{e.High, e.Low + 1}, nil
	case e.High < math.MaxUint64:
		return electionID{e.High + 1, 0}, nil
	}
	return e, errors.New("the highest election id is the largest possible: nobody can take mastership from its holder")
}

// parseElectionID parses "N" (low word) or "HIGH:LOW".
func parseElectionID(s string) (electionID, error) {
	hs, ls, two := strings.Cut(s, ":")
	if !two {
		hs, ls = "0", s
	}
	h, err1 := strconv.ParseUint(hs, 0, 64)
	l, err2 := strconv.ParseUint(ls, 0, 64)
	if err1 != nil || err2 != nil {
		return electionID{}, usageErrorf("--election-id %q: want N or HIGH:LOW (unsigned 64-bit numbers)", s)
	}
	if h == 0 && l == 0 {
		return electionID{}, usageErrorf("--election-id 0 is never primary: use a positive id")
	}
	return electionID{h, l}, nil
}

func fromProto(u *p4v1.Uint128) *electionID {
	if u == nil {
		return nil
	}
	return &electionID{u.High, u.Low}
}

// arbitration is what a MasterArbitrationUpdate said.
type arbitration struct {
	Highest *electionID // highest election id the device has seen; nil: none
	Primary bool        // a primary is connected (another controller, or us)
	Status  codes.Code  // OK: we are primary; ALREADY_EXISTS: a primary is connected; NOT_FOUND: none
	Message string
}

func arbitrationOf(u *p4v1.MasterArbitrationUpdate) arbitration {
	c := codes.Code(u.GetStatus().GetCode())
	return arbitration{Highest: fromProto(u.ElectionId), Primary: c == codes.OK || c == codes.AlreadyExists,
		Status: c, Message: u.GetStatus().GetMessage()}
}

// stream is an open StreamChannel.
type stream struct {
	c      *client
	cancel context.CancelFunc
	s      p4v1.P4Runtime_StreamChannelClient
	arb    chan arbitration
	done   chan error // the receive loop's end
	eid    *electionID
}

// openStream opens a StreamChannel and sends a MasterArbitrationUpdate with
// election id eid (nil: unset, a backup that can never become primary). It
// returns the device's answer.
func (c *client) openStream(ctx context.Context, eid *electionID) (*stream, arbitration, error) {
	sctx, cancel := context.WithCancel(ctx)
	s, err := c.p4.StreamChannel(sctx)
	if err != nil {
		cancel()
		return nil, arbitration{}, c.rpcError("open stream", err)
	}
	st := &stream{c: c, cancel: cancel, s: s, arb: make(chan arbitration, 16), done: make(chan error, 1)}
	go st.receive()
	a, err := st.arbitrate(ctx, eid)
	if err != nil {
		st.close()
		return nil, arbitration{}, err
	}
	return st, a, nil
}

// receive drains the stream (PacketIns and stream errors are not linxctl's
// business) and forwards arbitration updates.
func (st *stream) receive() {
	for {
		m, err := st.s.Recv()
		if err != nil {
			st.done <- err
			return
		}
		if u := m.GetArbitration(); u != nil {
			select {
			case st.arb <- arbitrationOf(u):
			default:
			}
		}
	}
}

// arbitrate sends an arbitration update and waits for the device's answer about
// it: for an election id, the update that names it (or a higher one).
func (st *stream) arbitrate(ctx context.Context, eid *electionID) (arbitration, error) {
	req := &p4v1.MasterArbitrationUpdate{DeviceId: st.c.o.deviceID}
	if st.c.o.role != "" {
		req.Role = &p4v1.Role{Name: st.c.o.role}
	}
	if eid != nil {
		req.ElectionId = eid.proto()
	}
	if err := st.s.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{Arbitration: req}}); err != nil {
		return arbitration{}, st.c.rpcError("arbitration", st.endError(err))
	}
	tctx, cancel := st.c.rpcContext(ctx)
	defer cancel()
	for {
		select {
		case a := <-st.arb:
			if eid == nil || a.Highest == nil || !a.Highest.less(*eid) {
				st.eid = eid
				return a, nil
			}
		case err := <-st.done:
			st.done <- err
			return arbitration{}, st.c.rpcError("arbitration", err)
		case <-tctx.Done():
			return arbitration{}, fmt.Errorf("arbitration: no answer from the device within %v", st.c.o.timeout)
		}
	}
}

// endError returns the stream's own error when Send fails because it ended.
func (st *stream) endError(sendErr error) error {
	if !errors.Is(sendErr, io.EOF) {
		return sendErr
	}
	select {
	case err := <-st.done:
		st.done <- err
		return err
	case <-time.After(time.Second):
		return sendErr
	}
}

// close ends the stream: the device forgets this controller (a primary leaves its
// role without one). It half-closes and waits, briefly, for the device to end
// the stream, which it does once it has forgotten this controller: the next
// command then never finds this one still connected as primary.
func (st *stream) close() {
	if st.s.CloseSend() == nil {
		select {
		case err := <-st.done:
			st.done <- err
		case <-time.After(streamCloseWait):
		}
	}
	st.cancel()
}

// streamCloseWait bounds how long close waits for the device to end a stream.
const streamCloseWait = 2 * time.Second

// master is a primary session: writes and pipeline pushes go through it.
type master struct {
	c   *client
	st  *stream
	eid electionID
}

// becomeMaster arbitrates as primary: with --election-id if given, else one above
// the highest the device has seen. It warns on stderr when that takes mastership
// from a connected primary (ONOS).
func (c *client) becomeMaster(ctx context.Context, warn io.Writer) (*master, error) {
	st, first, err := c.openStream(ctx, nil)
	if err != nil {
		return nil, err
	}
	var eid electionID
	if c.o.electionID != "" {
		if eid, err = parseElectionID(c.o.electionID); err != nil {
			st.close()
			return nil, err
		}
		if first.Highest != nil && eid.less(*first.Highest) {
			st.close()
			return nil, fmt.Errorf("--election-id %s is below the highest election id the device has seen (%s): it cannot become primary; omit --election-id to use %s",
				eid, first.Highest, mustNext(*first.Highest))
		}
	} else if first.Highest != nil {
		if eid, err = first.Highest.next(); err != nil {
			st.close()
			return nil, err
		}
	} else {
		eid = electionID{0, 1}
	}
	if first.Primary {
		fmt.Fprintf(warn, "linxctl: warning: taking mastership of device %d (role %s) from the connected primary (election id %s) with election id %s;"+
			" it stays a backup after this command until it arbitrates again with a higher election id\n",
			c.o.deviceID, roleName(c.o.role), first.Highest, eid)
	}
	a, err := st.arbitrate(ctx, &eid)
	if err != nil {
		st.close()
		return nil, err
	}
	if a.Status != codes.OK {
		st.close()
		return nil, fmt.Errorf("could not become primary with election id %s: %s: %s (highest election id %s)", eid, codeName(a.Status), a.Message, a.Highest)
	}
	return &master{c: c, st: st, eid: eid}, nil
}

func mustNext(e electionID) electionID {
	n, _ := e.next()
	return n
}

func roleName(r string) string {
	if r == "" {
		return "default"
	}
	return strconv.Quote(r)
}

func (m *master) close() { m.st.close() }

// update is one Write update with a description for people.
type update struct {
	desc string
	u    *p4v1.Update
	refs []ref // what it refers to (refs.go)
}

// result is the outcome of one update.
type result struct {
	code codes.Code
	msg  string
}

// write sends updates in one WriteRequest and returns the outcome of each. The
// error is set only when the request failed as a whole (not primary, no
// pipeline config...): then no update was applied.
func (m *master) write(ctx context.Context, us []update) ([]result, error) {
	if len(us) == 0 {
		return nil, nil
	}
	req := &p4v1.WriteRequest{DeviceId: m.c.o.deviceID, Role: m.c.o.role, ElectionId: m.eid.proto(),
		Atomicity: p4v1.WriteRequest_CONTINUE_ON_ERROR}
	for _, u := range us {
		req.Updates = append(req.Updates, u.u)
	}
	ctx, cancel := m.c.rpcContext(ctx)
	defer cancel()
	out := make([]result, len(us))
	_, err := m.c.p4.Write(ctx, req)
	if err == nil {
		return out, nil
	}
	st, _ := status.FromError(err)
	var details []*p4v1.Error
	for _, d := range st.Details() {
		if pe, ok := d.(*p4v1.Error); ok {
			details = append(details, pe)
		}
	}
	if st.Code() != codes.Unknown || len(details) != len(us) {
		return nil, m.c.rpcError("write", err)
	}
	for i, d := range details {
		out[i] = result{code: codes.Code(d.CanonicalCode), msg: d.Message}
	}
	return out, nil
}
