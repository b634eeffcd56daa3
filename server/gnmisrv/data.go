package gnmisrv

import (
	"errors"
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

// ifaceData is what one port looks like at one moment.
type ifaceData struct {
	port    dataplane.PortInfo
	link    LinkState
	linkErr error
	ctr     dataplane.PortCounters
	ctrOK   bool
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

// snapshot is the state of every port at one moment.
type snapshot struct {
	at     time.Time
	ifaces []ifaceData
}

// leaf is one leaf instance of a snapshot.
type leaf struct {
	def   *leafDef
	path  []pelem
	key   string // pathString(path)
	iface string
	val   value
}

// take reads every attached port. Ports detached while being read are left out;
// a port whose counters cannot be read has no counter leaves in this snapshot.
func (s *Server) take() *snapshot {
	snap := &snapshot{at: time.Now()}
	for _, p := range s.dp.Ports() {
		d := ifaceData{port: p}
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
		snap.ifaces = append(snap.ifaces, d)
	}
	return snap
}

// leaves returns the snapshot's leaves that pat selects, interface by interface in
// port order, each interface's leaves in schema order.
func (snap *snapshot) leaves(pat *pattern) []leaf {
	var out []leaf
	for i := range snap.ifaces {
		d := &snap.ifaces[i]
		for _, def := range leafDefs {
			if def.isCounter() && !d.ctrOK {
				continue
			}
			p := leafPath(d.port.Name, def)
			if !pat.match(p) {
				continue
			}
			out = append(out, leaf{def: def, path: p, key: pathString(p), iface: d.port.Name, val: def.get(d)})
		}
	}
	return out
}
