package gnmisrv

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// subState is one Subscription of a SubscriptionList.
type subState struct {
	pat       *pattern
	mode      gnmi.SubscriptionMode
	sample    time.Duration // interval of sampled leaves
	heartbeat time.Duration // 0: none
	suppress  bool

	nextChange, nextSample, nextBeat time.Time

	// last holds, per list entry (its path string), the values last sent (or,
	// with updates_only, the baseline) of the leaves whose changes matter;
	// entries the entries' paths, to report them gone.
	last    map[string]map[string]value
	entries map[string][]pelem
}

// schedule says when a leaf is considered for sending: at every sample (sampled)
// or at every change check, and whether only a changed value is sent.
//
//	SAMPLE          every leaf sampled; only changes with suppress_redundant
//	TARGET_DEFINED  counters sampled (DefaultSampleInterval unless given), as in
//	                SAMPLE; the other leaves on change
//	ON_CHANGE       every leaf on change; counters, which change with every
//	                packet, are checked only every DefaultSampleInterval
func (st *subState) schedule(def *leafDef) (sampled, onlyChanges bool) {
	switch {
	case st.mode == gnmi.SubscriptionMode_SAMPLE:
		return true, st.suppress
	case !def.sampled:
		return false, true
	case st.mode == gnmi.SubscriptionMode_ON_CHANGE:
		return true, true
	}
	return true, st.suppress
}

func (st *subState) hasOnChange() bool { return st.mode != gnmi.SubscriptionMode_SAMPLE }

// subscription is a validated SubscriptionList.
type subscription struct {
	list *gnmi.SubscriptionList
	subs []*subState
	need lists // what its snapshots read
}

func (s *Server) newSubscription(list *gnmi.SubscriptionList) (*subscription, error) {
	if _, ok := gnmi.SubscriptionList_Mode_name[int32(list.GetMode())]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown subscription list mode %v", list.GetMode())
	}
	if err := checkEncoding(list.GetEncoding()); err != nil {
		return nil, err
	}
	if len(list.GetSubscription()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "SubscriptionList has no subscription")
	}
	sub := &subscription{list: list}
	for _, in := range list.GetSubscription() {
		pat, err := parsePattern(list.GetPrefix(), in.GetPath())
		if err != nil {
			return nil, err
		}
		sub.need = sub.need.union(pat.lists)
		st := &subState{pat: pat, mode: in.GetMode(), suppress: in.GetSuppressRedundant(), last: map[string]map[string]value{}, entries: map[string][]pelem{}}
		if list.GetMode() == gnmi.SubscriptionList_STREAM {
			if err := s.streamParams(st, in); err != nil {
				return nil, err
			}
		}
		sub.subs = append(sub.subs, st)
	}
	return sub, nil
}

func (s *Server) streamParams(st *subState, in *gnmi.Subscription) error {
	interval := clampInterval(in.GetSampleInterval())
	switch st.mode {
	case gnmi.SubscriptionMode_ON_CHANGE:
		st.sample = s.opts.DefaultSampleInterval // counters' change checks
	case gnmi.SubscriptionMode_SAMPLE, gnmi.SubscriptionMode_TARGET_DEFINED:
		switch {
		case interval == 0 && st.mode == gnmi.SubscriptionMode_SAMPLE:
			st.sample = s.opts.MinSampleInterval
		case interval == 0:
			st.sample = s.opts.DefaultSampleInterval
		case interval < s.opts.MinSampleInterval:
			return status.Errorf(codes.InvalidArgument, "%s: sample_interval %v is below the minimum %v", st.pat.text, interval, s.opts.MinSampleInterval)
		default:
			st.sample = interval
		}
	default:
		return status.Errorf(codes.InvalidArgument, "%s: unknown subscription mode %v", st.pat.text, st.mode)
	}
	if hb := in.GetHeartbeatInterval(); hb > 0 {
		st.heartbeat = max(clampInterval(hb), s.opts.MinSampleInterval)
	}
	return nil
}

// maxInterval bounds sample and heartbeat intervals (nanoseconds from the
// client) so that deadlines stay far from time.Time's limits.
const maxInterval = 365 * 24 * time.Hour

func clampInterval(ns uint64) time.Duration {
	if ns > uint64(maxInterval) {
		return maxInterval
	}
	return time.Duration(ns)
}

type received struct {
	req *gnmi.SubscribeRequest
	err error
}

// Subscribe implements gnmi.GNMIServer.
func (s *Server) Subscribe(stream gnmi.GNMI_SubscribeServer) error {
	if s.closed() {
		return errClosing
	}
	ctx := stream.Context()
	// Requests arrive through recv, read by a goroutine that ends when the RPC
	// does: once this handler returns, Recv fails.
	recv := make(chan received)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			r, err := stream.Recv()
			select {
			case recv <- received{r, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var first received
	select {
	case <-ctx.Done():
		return ctxErr(ctx)
	case <-s.done:
		return errClosing
	case first = <-recv:
	}
	if errors.Is(first.err, io.EOF) {
		return nil
	}
	if first.err != nil {
		return first.err
	}
	list := first.req.GetSubscribe()
	if list == nil {
		return status.Error(codes.InvalidArgument, "the first SubscribeRequest must carry a SubscriptionList")
	}
	sub, err := s.newSubscription(list)
	if err != nil {
		return err
	}
	switch list.GetMode() {
	case gnmi.SubscriptionList_ONCE:
		if !list.GetUpdatesOnly() {
			if err := s.sendAll(stream, sub, s.take(sub.need)); err != nil {
				return err
			}
		}
		return sendSync(stream)
	case gnmi.SubscriptionList_POLL:
		return s.poll(stream, sub, recv)
	}
	return s.stream(stream, sub, recv)
}

var errClosing = status.Error(codes.Unavailable, "gNMI service is shutting down")

func (s *Server) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func ctxErr(ctx context.Context) error { return status.FromContextError(ctx.Err()).Err() }

func (s *Server) poll(stream gnmi.GNMI_SubscribeServer, sub *subscription, recv <-chan received) error {
	ctx := stream.Context()
	if !sub.list.GetUpdatesOnly() {
		if err := s.sendAll(stream, sub, s.take(sub.need)); err != nil {
			return err
		}
	}
	if err := sendSync(stream); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-s.done:
			return errClosing
		case r := <-recv:
			switch {
			case errors.Is(r.err, io.EOF):
				return nil
			case r.err != nil:
				return r.err
			case r.req.GetPoll() == nil:
				return status.Error(codes.InvalidArgument, "a POLL subscription accepts only Poll requests")
			}
			if err := s.sendAll(stream, sub, s.take(sub.need)); err != nil {
				return err
			}
			if err := sendSync(stream); err != nil {
				return err
			}
		}
	}
}

func (s *Server) stream(stream gnmi.GNMI_SubscribeServer, sub *subscription, recv <-chan received) error {
	ctx := stream.Context()
	// Taken before each snapshot, so a QualityChanged during one wakes the next.
	changed := s.changes()
	start := s.take(sub.need)
	for _, st := range sub.subs {
		st.nextChange = start.at.Add(s.opts.ChangeInterval)
		st.nextSample = start.at.Add(st.sample)
		st.nextBeat = start.at.Add(st.heartbeat)
		var ups []leaf
		for _, l := range start.leaves(st.pat) {
			if sub.list.GetUpdatesOnly() {
				if _, onlyChanges := st.schedule(l.def); onlyChanges {
					st.remember(l) // baseline: only later changes are sent
				}
				continue
			}
			st.remember(l)
			ups = append(ups, l)
		}
		if err := s.sendLeaves(stream, sub, start, ups); err != nil {
			return err
		}
	}
	if err := sendSync(stream); err != nil {
		return err
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(time.Until(sub.nextWake()))
		select {
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-s.done:
			return errClosing
		case r := <-recv:
			switch {
			case errors.Is(r.err, io.EOF):
				recv = nil // the client closed its side; keep streaming
				continue
			case r.err != nil:
				return r.err
			}
			return status.Error(codes.InvalidArgument, "a STREAM subscription accepts no further requests")
		case <-timer.C:
		case <-changed:
			// A quality state changed: check the ON_CHANGE leaves now.
			now := time.Now()
			for _, st := range sub.subs {
				if st.hasOnChange() && st.nextChange.After(now) {
					st.nextChange = now
				}
			}
		}
		changed = s.changes()
		if err := s.streamStep(stream, sub, time.Now()); err != nil {
			return err
		}
	}
}

func (sub *subscription) nextWake() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, st := range sub.subs {
		if st.hasOnChange() {
			consider(st.nextChange)
		}
		consider(st.nextSample)
		if st.heartbeat > 0 {
			consider(st.nextBeat)
		}
	}
	return next
}

// streamStep sends what is due at now.
func (s *Server) streamStep(stream gnmi.GNMI_SubscribeServer, sub *subscription, now time.Time) error {
	var snap *snapshot
	for _, st := range sub.subs {
		changeDue := st.hasOnChange() && !now.Before(st.nextChange)
		sampleDue := !now.Before(st.nextSample)
		beatDue := st.heartbeat > 0 && !now.Before(st.nextBeat)
		if !changeDue && !sampleDue && !beatDue {
			continue
		}
		if snap == nil {
			snap = s.take(sub.need)
		}
		var ups []leaf
		for _, l := range snap.leaves(st.pat) {
			sampled, onlyChanges := st.schedule(l.def)
			due := sampleDue
			if !sampled {
				due = changeDue
			}
			send := beatDue || due && (!onlyChanges || st.changed(l))
			if send {
				st.remember(l)
				ups = append(ups, l)
			}
		}
		if err := s.sendLeaves(stream, sub, snap, ups); err != nil {
			return err
		}
		if err := s.sendGone(stream, sub, st, snap); err != nil {
			return err
		}
		if changeDue {
			st.nextChange = advance(st.nextChange, s.opts.ChangeInterval, now)
		}
		if sampleDue {
			st.nextSample = advance(st.nextSample, st.sample, now)
		}
		if beatDue {
			st.nextBeat = advance(st.nextBeat, st.heartbeat, now)
		}
	}
	return nil
}

// advance moves a deadline forward by whole intervals past now, keeping the
// schedule free of drift.
func advance(t time.Time, d time.Duration, now time.Time) time.Time {
	t = t.Add(d)
	if !t.After(now) {
		t = now.Add(d)
	}
	return t
}

func (st *subState) changed(l leaf) bool {
	old, ok := st.last[l.entry.key][l.key]
	return !ok || !old.equal(l.val)
}

func (st *subState) remember(l leaf) {
	m := st.last[l.entry.key]
	if m == nil {
		m = map[string]value{}
		st.last[l.entry.key] = m
		st.entries[l.entry.key] = l.entry.entry
	}
	m[l.key] = l.val
}

// sendGone reports list entries this subscription has sent that are gone
// (interfaces detached or deleted, meters reset), as deletes of the entries.
func (s *Server) sendGone(stream gnmi.GNMI_SubscribeServer, sub *subscription, st *subState, snap *snapshot) error {
	if len(st.last) == 0 {
		return nil
	}
	present := make(map[string]bool, len(snap.ifaces))
	for _, d := range snap.ifaces {
		present[d.key] = true
	}
	n := &gnmi.Notification{Timestamp: snap.at.UnixNano(), Prefix: targetPrefix(st.pat.target)}
	for key := range st.last {
		if !present[key] {
			n.Delete = append(n.Delete, toGNMIPath(st.entries[key]))
			delete(st.last, key)
			delete(st.entries, key)
		}
	}
	if len(n.Delete) == 0 {
		return nil
	}
	return stream.Send(&gnmi.SubscribeResponse{Response: &gnmi.SubscribeResponse_Update{Update: n}})
}

// sendAll sends every leaf of every subscription (ONCE, POLL).
func (s *Server) sendAll(stream gnmi.GNMI_SubscribeServer, sub *subscription, snap *snapshot) error {
	for _, st := range sub.subs {
		if err := s.sendLeaves(stream, sub, snap, snap.leaves(st.pat)); err != nil {
			return err
		}
	}
	return nil
}

// sendLeaves sends leaves as one notification per list entry, each update with
// its full path. Leaf values are scalars, which gNMI carries in the typed
// TypedValue fields whatever the requested encoding (that one applies to
// structured values, which subscriptions never send); gnmi_cli, for one, decodes
// nothing else in its single-line display.
func (s *Server) sendLeaves(stream gnmi.GNMI_SubscribeServer, sub *subscription, snap *snapshot, leaves []leaf) error {
	var n *gnmi.Notification
	flush := func() error {
		if n == nil {
			return nil
		}
		err := stream.Send(&gnmi.SubscribeResponse{Response: &gnmi.SubscribeResponse_Update{Update: n}})
		n = nil
		return err
	}
	var entry *ifaceData
	for _, l := range leaves {
		if n != nil && l.entry != entry {
			if err := flush(); err != nil {
				return err
			}
		}
		if n == nil {
			entry = l.entry
			n = &gnmi.Notification{Timestamp: snap.at.UnixNano(), Prefix: targetPrefix(sub.list.GetPrefix().GetTarget())}
		}
		n.Update = append(n.Update, &gnmi.Update{Path: toGNMIPath(l.path), Val: typedScalar(l.val, gnmi.Encoding_PROTO)})
	}
	return flush()
}

func sendSync(stream gnmi.GNMI_SubscribeServer) error {
	return stream.Send(&gnmi.SubscribeResponse{Response: &gnmi.SubscribeResponse_SyncResponse{SyncResponse: true}})
}
