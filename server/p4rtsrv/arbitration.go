package p4rtsrv

import (
	"sync"
	"sync/atomic"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// electionID is a P4Runtime Uint128; nil means unset (never primary).
type electionID struct{ high, low uint64 }

func toElection(u *p4v1.Uint128) *electionID {
	if u == nil {
		return nil
	}
	return &electionID{u.High, u.Low}
}

func (e *electionID) proto() *p4v1.Uint128 {
	if e == nil {
		return nil
	}
	return &p4v1.Uint128{High: e.high, Low: e.low}
}

// less orders election ids, unset below every set one.
func (e *electionID) less(o *electionID) bool {
	switch {
	case o == nil:
		return false
	case e == nil:
		return true
	case e.high != o.high:
		return e.high < o.high
	}
	return e.low < o.low
}

func (e *electionID) equal(o *electionID) bool {
	return e != nil && o != nil && *e == *o
}

// client is one live StreamChannel: a controller for one (device, role).
type client struct {
	role     string
	election *electionID
	joined   bool
	out      chan *p4v1.StreamMessageResponse // drained by the stream's sender
	dropped  *atomic.Uint64                   // counts messages lost to a full out; may be nil
}

// send queues a message for the client; a client that does not read its stream
// loses messages (counted in dropped) rather than blocking the server: the punt
// relay and the arbiter never wait on one client's network.
func (c *client) send(m *p4v1.StreamMessageResponse) bool {
	select {
	case c.out <- m:
		return true
	default:
		if c.dropped != nil {
			c.dropped.Add(1)
		}
		return false
	}
}

// role is the arbitration state of one (device, role) pair.
type role struct {
	highest *electionID // highest election id ever seen (spec: election_id_past)
	primary *client
	clients map[*client]bool
}

// arbiter implements the spec's client arbitration ("Client Arbitration and
// Controller Replication") for one device: per role, the live controller holding
// the highest election id ever seen is primary; every change is announced to
// every controller of the role.
type arbiter struct {
	mu       sync.Mutex
	deviceID uint64
	roles    map[string]*role
	onChange func(role string, primary bool) // observer, called with mu held
}

func newArbiter(deviceID uint64) *arbiter {
	return &arbiter{deviceID: deviceID, roles: map[string]*role{}}
}

// arbitrate handles a MasterArbitrationUpdate received on c's stream. A non-nil
// error terminates the stream with that status.
func (a *arbiter) arbitrate(c *client, u *p4v1.MasterArbitrationUpdate) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := u.GetRole().GetName()
	if !c.joined && u.DeviceId != a.deviceID {
		return status.Errorf(codes.NotFound, "device id %d is not served here (this is device %d)", u.DeviceId, a.deviceID)
	}
	if c.joined {
		if u.DeviceId != a.deviceID {
			return status.Errorf(codes.FailedPrecondition, "stream is for device %d, not %d", a.deviceID, u.DeviceId)
		}
		if name != c.role {
			return status.Errorf(codes.FailedPrecondition, "stream has role %q; open a new stream to change role", c.role)
		}
	}
	if u.GetRole().GetConfig() != nil {
		return status.Error(codes.InvalidArgument, "role config is not supported: every role has full pipeline access")
	}
	eid := toElection(u.ElectionId)
	r := a.roles[name]
	if r == nil {
		r = &role{clients: map[*client]bool{}}
		a.roles[name] = r
	}
	if eid != nil {
		for other := range r.clients {
			if other != c && eid.equal(other.election) {
				return status.Errorf(codes.InvalidArgument, "election id {high:%d low:%d} is already used by another controller of role %q", eid.high, eid.low, name)
			}
		}
	}
	c.role, c.election, c.joined = name, eid, true
	r.clients[c] = true

	wasPrimary := r.primary == c
	if eid != nil && !eid.less(r.highest) {
		r.highest = eid
		r.primary = c
		a.announce(name, r, nil)
		if !wasPrimary && a.onChange != nil {
			a.onChange(name, true)
		}
		return nil
	}
	if wasPrimary { // downgraded itself
		r.primary = nil
		a.announce(name, r, nil)
		if a.onChange != nil {
			a.onChange(name, false)
		}
		return nil
	}
	a.announce(name, r, c)
	return nil
}

// leave forgets a closed stream; a departing primary leaves the role without one.
func (a *arbiter) leave(c *client) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !c.joined {
		return
	}
	r := a.roles[c.role]
	delete(r.clients, c)
	if r.primary == c {
		r.primary = nil
		a.announce(c.role, r, nil)
		if a.onChange != nil {
			a.onChange(c.role, false)
		}
	}
}

// announce sends the arbitration notification to every controller of the role,
// or only to only when set.
func (a *arbiter) announce(name string, r *role, only *client) {
	for c := range r.clients {
		if only != nil && c != only {
			continue
		}
		st := &rpcstatus.Status{Code: int32(code.Code_OK)}
		switch {
		case r.primary == c:
		case r.primary != nil:
			st = &rpcstatus.Status{Code: int32(code.Code_ALREADY_EXISTS), Message: "a primary is connected"}
		default:
			st = &rpcstatus.Status{Code: int32(code.Code_NOT_FOUND), Message: "no primary is connected"}
		}
		u := &p4v1.MasterArbitrationUpdate{DeviceId: a.deviceID, ElectionId: r.highest.proto(), Status: st}
		if name != "" {
			u.Role = &p4v1.Role{Name: name}
		}
		c.send(&p4v1.StreamMessageResponse{Update: &p4v1.StreamMessageResponse_Arbitration{Arbitration: u}})
	}
}

// checkPrimary verifies a Write or SetForwardingPipelineConfig comes from the
// primary of its role, identified by (device id, role, election id).
func (a *arbiter) checkPrimary(deviceID uint64, roleName string, eid *p4v1.Uint128) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if deviceID != a.deviceID {
		return status.Errorf(codes.NotFound, "device id %d is not served here (this is device %d)", deviceID, a.deviceID)
	}
	r := a.roles[roleName]
	if r == nil {
		// The default role always exists ("Default Role"): it just has no
		// primary yet. Other roles exist once a controller arbitrated for them.
		if roleName == "" {
			return status.Error(codes.PermissionDenied, "not the primary controller: no controller has arbitrated yet")
		}
		return status.Errorf(codes.NotFound, "no controller has arbitrated for role %q", roleName)
	}
	if r.primary == nil || !r.primary.election.equal(toElection(eid)) {
		return status.Errorf(codes.PermissionDenied, "not the primary controller of role %q", roleName)
	}
	return nil
}

// isPrimary reports whether c is the primary of its role (for packet I/O).
func (a *arbiter) isPrimary(c *client) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.roles[c.role]
	return c.joined && r != nil && r.primary == c
}

// primaries returns the primary of every role (PacketIn goes to each).
func (a *arbiter) primaries() []*client {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*client
	for _, r := range a.roles {
		if r.primary != nil {
			out = append(out, r.primary)
		}
	}
	return out
}

// State describes arbitration for one role, for metrics and linxctl.
type State struct {
	Role        string
	Controllers int
	Primary     bool          // a primary is connected
	ElectionID  *p4v1.Uint128 // highest election id seen
}

func (a *arbiter) state() []State {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []State
	for name, r := range a.roles {
		out = append(out, State{Role: name, Controllers: len(r.clients), Primary: r.primary != nil,
			ElectionID: r.highest.proto()})
	}
	return out
}
