package gnmisrv

import (
	"errors"
	"strconv"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
)

// value is a leaf value of one of the schema's types.
type value struct {
	typ leafType
	s   string
	u   uint64
}

func str(s string) value           { return value{typ: tString, s: s} }
func u32(u uint32) value           { return value{typ: tUint32, u: uint64(u)} }
func u64(u uint64) value           { return value{typ: tUint64, u: u} }
func (v value) equal(o value) bool { return v == o }

// ifaceData is what one list entry looks like at one moment: an interface (a
// port, or an overlay reported as a logical port) or a meter (meter set).
type ifaceData struct {
	list  *listDef
	entry []pelem // the entry's path (list.entryPath)
	key   string  // pathString(entry): the entry's identity in subscriptions
	meter *meterData

	name    string
	index   uint32 // the P4 port number, or the overlay's logical port number
	ifType  string // iana-if-type identity
	link    LinkState
	linkErr error
	ctr     dataplane.PortCounters
	ctrOK   bool
	sla     *TunnelStatus // an overlay's measured quality; nil: none reported
}

// kernel returns the link's kernel statistics, zero when unknown.
func (d *ifaceData) kernel() KernelStats {
	if d.linkErr != nil || d.link.Kernel == nil {
		return KernelStats{}
	}
	return *d.link.Kernel
}

func (d *ifaceData) oper() OperStatus {
	switch {
	case d.linkErr == nil:
		if d.link.Oper == "" {
			return OperUnknown
		}
		return d.link.Oper
	case errors.Is(d.linkErr, ErrNoLink):
		return OperNotPresent
	}
	return OperUnknown
}

func adminStatus(d *ifaceData) string {
	if d.linkErr == nil && d.link.AdminUp {
		return "UP"
	}
	return "DOWN"
}

func (d *ifaceData) lastChange() uint64 {
	if d.linkErr != nil || d.link.LastChange.IsZero() {
		return 0
	}
	ns := d.link.LastChange.UnixNano()
	if ns < 0 {
		return 0
	}
	return uint64(ns)
}

// setEntry places d in list l with key values vals.
func (d *ifaceData) setEntry(l *listDef, vals ...string) {
	d.list, d.entry = l, l.entryPath(vals)
	d.key = pathString(d.entry)
}

// snapshot is the state of every port, overlay and meter at one moment.
type snapshot struct {
	at     time.Time
	ifaces []ifaceData // interfaces first, then meters
}

// leaf is one leaf instance of a snapshot.
type leaf struct {
	def   *leafDef
	path  []pelem
	key   string // pathString(path)
	entry *ifaceData
	val   value
}

// take reads every attached port, then every overlay, then every configured
// meter, each only if need says so. Ports detached and overlays deleted while
// being read are left out; an interface whose counters cannot be read has no
// counter leaves in this snapshot.
func (s *Server) take(need lists) *snapshot {
	snap := &snapshot{at: time.Now()}
	if need.meters {
		defer s.takeMeters(snap)
	}
	if !need.ifaces {
		return snap
	}
	portOper := map[dataplane.PortID]OperStatus{}
	for _, p := range s.dp.Ports() {
		d := ifaceData{name: p.Name, index: uint32(p.ID), ifType: typeEthernet}
		d.setEntry(ifList, p.Name)
		c, err := s.dp.PortCounter(p.ID)
		switch {
		case err == nil:
			d.ctr, d.ctrOK = c, true
		case errors.Is(err, dataplane.ErrNotFound):
			continue
		default:
			s.logOnce("counters:"+p.Name, "gnmisrv: counters of port %d (%s): %v", p.ID, p.Name, err)
		}
		d.link, d.linkErr = s.links.LinkState(p)
		if d.linkErr != nil {
			s.logOnce("link:"+p.Name, "gnmisrv: link state of port %d (%s): %v", p.ID, p.Name, d.linkErr)
		} else {
			s.clearLog("link:" + p.Name)
		}
		portOper[p.ID] = d.oper()
		snap.ifaces = append(snap.ifaces, d)
	}
	s.takeTunnels(snap, portOper)
	return snap
}

// TunnelName is the interface name of overlay id in the gNMI tree.
func TunnelName(id dataplane.TunnelID) string { return "tunnel-" + strconv.FormatUint(uint64(id), 10) }

// tunnelOper is an overlay's oper-status: DOWN when marked down, UP when the
// WAN port it leaves by is up, LOWER_LAYER_DOWN when that port is down or not
// attached, UNKNOWN when the port's state is unknown.
func tunnelOper(t dataplane.Tunnel, portOper map[dataplane.PortID]OperStatus) OperStatus {
	if t.Down {
		return OperDown
	}
	switch po, ok := portOper[t.Port]; {
	case !ok:
		return OperLowerLayerDown
	case po == OperUp:
		return OperUp
	case po == OperUnknown:
		return OperUnknown
	}
	return OperLowerLayerDown
}

// tunnelSeen is an overlay's oper-status as last observed, and since when.
type tunnelSeen struct {
	oper  OperStatus
	since time.Time // zero: unchanged since first observed
}

// takeTunnels appends every overlay to snap as a logical port (TunnelName,
// ifindex dataplane.TunnelPort): type tunnel, admin-status UP, oper-status
// from tunnelOper, last-change when this server saw oper-status change (0
// until it has), counters from the overlay's: in = decapsulated, out =
// encapsulated.
func (s *Server) takeTunnels(snap *snapshot, portOper map[dataplane.PortID]OperStatus) {
	names := make(map[string]bool, len(snap.ifaces))
	for _, d := range snap.ifaces {
		names[d.name] = true
	}
	tunnels := s.dp.ListTunnels()
	quality := s.quality()
	present := make(map[dataplane.TunnelID]bool, len(tunnels))
	for _, t := range tunnels {
		name := TunnelName(t.ID)
		if names[name] {
			s.logOnce("name:"+name, "gnmisrv: overlay %d is not reported: a port is named %s", t.ID, name)
			continue
		}
		d := ifaceData{name: name, index: t.Port, ifType: typeTunnel, sla: quality[t.ID]}
		d.setEntry(ifList, name)
		c, err := s.dp.TunnelCounter(t.ID)
		switch {
		case err == nil:
			d.ctr, d.ctrOK = dataplane.PortCounters{RX: c.RX, TX: c.TX}, true
		case errors.Is(err, dataplane.ErrNotFound):
			continue
		default:
			s.logOnce("counters:"+name, "gnmisrv: counters of overlay %d: %v", t.ID, err)
		}
		present[t.ID] = true
		oper := tunnelOper(t.Tunnel, portOper)
		d.link = LinkState{AdminUp: true, Oper: oper, LastChange: s.tunnelChange(t.ID, oper, snap.at)}
		snap.ifaces = append(snap.ifaces, d)
	}
	s.tunMu.Lock()
	for id := range s.tunSeen {
		if !present[id] {
			delete(s.tunSeen, id)
		}
	}
	s.tunMu.Unlock()
}

// tunnelChange records overlay id's oper-status observed at and returns when
// it last changed.
func (s *Server) tunnelChange(id dataplane.TunnelID, oper OperStatus, at time.Time) time.Time {
	s.tunMu.Lock()
	defer s.tunMu.Unlock()
	seen, ok := s.tunSeen[id]
	switch {
	case !ok:
		seen = tunnelSeen{oper: oper}
	case seen.oper != oper:
		seen = tunnelSeen{oper: oper, since: at}
	}
	s.tunSeen[id] = seen
	return seen.since
}

// leaves returns the snapshot's leaves that pat selects, entry by entry
// (interfaces in port order, then meters), each entry's leaves in schema order.
func (snap *snapshot) leaves(pat *pattern) []leaf {
	var out []leaf
	for i := range snap.ifaces {
		d := &snap.ifaces[i]
		for _, def := range leafDefs {
			if def.list != d.list || def.isCounter() && !d.ctrOK || def.present != nil && !def.present(d) {
				continue
			}
			p := leafPath(d.entry, def)
			if !pat.match(p) {
				continue
			}
			out = append(out, leaf{def: def, path: p, key: pathString(p), entry: d, val: def.get(d)})
		}
	}
	return out
}
