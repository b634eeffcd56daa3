package gnmisrv

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The schema served: a read-only slice of openconfig-interfaces (plus the
// openconfig-p4rt id leaf), one list entry per attached port and per overlay,
// and linx's meters (linx-qos), one entry per configured meter:
//
//	/interfaces/interface[name=IF]/name
//	/interfaces/interface[name=IF]/state/{name,type,id,ifindex,admin-status,oper-status,last-change}
//	/interfaces/interface[name=IF]/state/counters/{in-octets,...}
//	/interfaces/interface[name=tunnel-ID]/sla/state/{status,last-change,rtt,...}  (linx-sla)
//	/qos/meters/meter[far=F][unit=U]/state/counters/{green,yellow,red}/{packets,bytes}  (linx-qos)
//	/qos/pdr-meters/meter[pdr=ID]/state/counters/...                                  (linx-qos)

// iana-if-type identities of state/type.
const (
	typeEthernet = "iana-if-type:ethernetCsmacd"
	typeTunnel   = "iana-if-type:tunnel"
)

const (
	modInterfaces = "openconfig-interfaces"
	modP4RT       = "openconfig-p4rt"
	// modSLA names linx's own augmentation of an overlay's interface entry with
	// its measured quality (the sla container; quality.go).
	modSLA = "linx-sla"
	// modQoS names linx's own module of meter state (the qos container;
	// meters.go).
	modQoS = "linx-qos"

	keyName = "name"
)

// knownModules may prefix element names ("openconfig-interfaces:interfaces").
var knownModules = []string{modInterfaces, modP4RT, modSLA, modQoS}

// listDef is one keyed list of the tree: the containers above it, its
// element name, its key names in order, and its module.
type listDef struct {
	above  []string
	elem   string
	keys   []string
	module string
	what   string // in a NOT_FOUND message: "no such <what>"
}

// The lists served.
var (
	ifList       = &listDef{above: []string{"interfaces"}, elem: "interface", keys: []string{keyName}, module: modInterfaces, what: "interface"}
	farMeterList = &listDef{above: []string{"qos", "meters"}, elem: "meter", keys: []string{"far", "unit"}, module: modQoS, what: "meter"}
	pdrMeterList = &listDef{above: []string{"qos", "pdr-meters"}, elem: "meter", keys: []string{"pdr"}, module: modQoS, what: "meter"}
)

// entryPath is the path of the list entry with key values vals.
func (l *listDef) entryPath(vals []string) []pelem {
	p := make([]pelem, 0, len(l.above)+1)
	for _, a := range l.above {
		p = append(p, pelem{name: a})
	}
	kv := make([]keyVal, len(l.keys))
	for i, k := range l.keys {
		kv[i] = keyVal{k, vals[i]}
	}
	return append(p, pelem{name: l.elem, keys: kv})
}

type leafType uint8

const (
	tString leafType = iota
	tUint32
	tUint64
)

// dataClass places a leaf in GetRequest.type filtering.
type dataClass uint8

const (
	classConfig      dataClass = iota // the list key: config true
	classState                        // config false, mirrors configuration
	classOperational                  // config false, reflects the running system
)

func (c dataClass) in(t gnmi.GetRequest_DataType) bool {
	switch t {
	case gnmi.GetRequest_ALL:
		return true
	case gnmi.GetRequest_CONFIG:
		return c == classConfig
	case gnmi.GetRequest_STATE:
		return c != classConfig
	case gnmi.GetRequest_OPERATIONAL:
		return c == classOperational
	}
	return false
}

// leafDef is one leaf of a list entry (an interface, a meter).
type leafDef struct {
	list   *listDef // the list whose entries have the leaf
	rel    []string // path below the entry (/interfaces/interface[name=IF] for ifList)
	module string
	typ    leafType
	class  dataClass
	// sampled: TARGET_DEFINED subscriptions sample this leaf (counters) instead of
	// sending it on change.
	sampled bool
	// present says whether an interface has this leaf; nil: every interface.
	present func(*ifaceData) bool
	get     func(*ifaceData) value
}

// The counters ONOS reads (OpenConfigGnmiPortStatisticsDiscovery). The pipeline
// counts packets and bytes per port without telling unicast from
// broadcast/multicast, so in-unicast-pkts / out-unicast-pkts carry every
// packet, in-octets / out-octets every byte, and broadcast/multicast/errors are
// 0 (ONOS sums in-unicast + in-broadcast + in-multicast + in-unknown-protos into
// "packets received", so its totals are right). A port's whole truth combines
// the pipeline's counters with the kernel's (docs/operations.md, "Port
// counters"):
//   - in: the pipeline's RX — XDP sees every frame that arrives, those it hands
//     to the kernel too;
//   - out: the pipeline's TX (frames it redirected out) + the kernel's TX
//     (packet-outs, kernel-forwarded and locally sent frames, which never pass
//     the pipeline's egress);
//   - in-discards: frames that arrived here and the pipeline dropped (any
//     reason; per reason in dataplane.DropCounters) + the kernel's rx_dropped;
//   - out-discards: the kernel's tx_dropped.
//
// An overlay has no kernel side: in = decapsulated, out = encapsulated.
var counterNames = []string{
	"in-octets", "in-unicast-pkts", "in-broadcast-pkts", "in-multicast-pkts",
	"in-unknown-protos", "in-discards", "in-errors", "in-fcs-errors",
	"out-octets", "out-unicast-pkts", "out-broadcast-pkts", "out-multicast-pkts",
	"out-discards", "out-errors",
}

func counterGetter(name string) func(*ifaceData) value {
	switch name {
	case "in-octets":
		return func(d *ifaceData) value { return u64(d.ctr.RX.Bytes) }
	case "in-unicast-pkts":
		return func(d *ifaceData) value { return u64(d.ctr.RX.Packets) }
	case "out-octets":
		return func(d *ifaceData) value { return u64(d.ctr.TX.Bytes + d.kernel().TxBytes) }
	case "out-unicast-pkts":
		return func(d *ifaceData) value { return u64(d.ctr.TX.Packets + d.kernel().TxPackets) }
	case "in-discards":
		return func(d *ifaceData) value { return u64(d.ctr.Drops.Packets + d.kernel().RxDropped) }
	case "out-discards":
		return func(d *ifaceData) value { return u64(d.kernel().TxDropped) }
	}
	return func(*ifaceData) value { return u64(0) }
}

var leafDefs = buildLeafDefs()

func buildLeafDefs() []*leafDef {
	defs := []*leafDef{
		{rel: []string{"name"}, module: modInterfaces, typ: tString, class: classConfig,
			get: func(d *ifaceData) value { return str(d.name) }},
		{rel: []string{"state", "name"}, module: modInterfaces, typ: tString, class: classState,
			get: func(d *ifaceData) value { return str(d.name) }},
		// An identity of iana-if-type, module-qualified as RFC 7951 writes
		// identityrefs: ethernetCsmacd for ports, tunnel for overlays.
		{rel: []string{"state", "type"}, module: modInterfaces, typ: tString, class: classState,
			get: func(d *ifaceData) value { return str(d.ifType) }},
		// openconfig-p4rt: the P4Runtime port id. ONOS uses it instead of ifindex
		// when GnmiControllerImpl.readPortId is set; both are the P4 port number.
		{rel: []string{"state", "id"}, module: modP4RT, typ: tUint32, class: classState,
			get: func(d *ifaceData) value { return u32(d.index) }},
		// ifindex is the P4 port number (unique, non-zero), not the kernel's
		// ifindex: ONOS takes it as the port number. An overlay's is its logical
		// port number (dataplane.TunnelPort).
		{rel: []string{"state", "ifindex"}, module: modInterfaces, typ: tUint32, class: classOperational,
			get: func(d *ifaceData) value { return u32(d.index) }},
		{rel: []string{"state", "admin-status"}, module: modInterfaces, typ: tString, class: classOperational,
			get: func(d *ifaceData) value { return str(adminStatus(d)) }},
		{rel: []string{"state", "oper-status"}, module: modInterfaces, typ: tString, class: classOperational,
			get: func(d *ifaceData) value { return str(string(d.oper())) }},
		{rel: []string{"state", "last-change"}, module: modInterfaces, typ: tUint64, class: classOperational,
			get: func(d *ifaceData) value { return u64(d.lastChange()) }},
	}
	for _, c := range counterNames {
		defs = append(defs, &leafDef{
			rel: []string{"state", "counters", c}, module: modInterfaces, typ: tUint64,
			class: classOperational, sampled: true, get: counterGetter(c),
		})
	}
	defs = append(defs, slaLeaves()...)
	for _, d := range defs {
		d.list = ifList
	}
	return append(defs, meterLeaves()...)
}

func (l *leafDef) isCounter() bool { return len(l.rel) == 3 && l.rel[1] == "counters" }

// pelem is one element of a concrete data path; a list entry's carries its
// keys in schema order.
type pelem struct {
	name string
	keys []keyVal // nil: not a list entry
}

type keyVal struct{ name, val string }

func (e pelem) list() bool { return e.keys != nil }

// leafPath is the path of leaf l of the entry at entry.
func leafPath(entry []pelem, l *leafDef) []pelem {
	p := make([]pelem, 0, len(entry)+len(l.rel))
	p = append(p, entry...)
	for _, r := range l.rel {
		p = append(p, pelem{name: r})
	}
	return p
}

func toGNMIPath(p []pelem) *gnmi.Path {
	out := &gnmi.Path{Elem: make([]*gnmi.PathElem, len(p))}
	for i, e := range p {
		out.Elem[i] = &gnmi.PathElem{Name: e.name}
		if e.list() {
			out.Elem[i].Key = make(map[string]string, len(e.keys))
			for _, k := range e.keys {
				out.Elem[i].Key[k.name] = k.val
			}
		}
	}
	return out
}

func pathString(p []pelem) string {
	var b strings.Builder
	for _, e := range p {
		b.WriteByte('/')
		b.WriteString(e.name)
		for _, k := range e.keys {
			b.WriteByte('[')
			b.WriteString(k.name)
			b.WriteByte('=')
			b.WriteString(k.val)
			b.WriteByte(']')
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// pattern is a request path (prefix and path joined): element names may be "*"
// (any one element) or "..." (any number of elements, including none); key values
// "*" and "..." (what ONOS sends for port discovery) and absent keys match every
// interface. A pattern selects every leaf below the nodes it matches.
type pattern struct {
	elems  []patElem
	target string
	text   string
	lists  lists // the lists it can address (parsePattern)
}

// lists is a set of the schema's lists: what a snapshot must read for a
// request, so that a request for interfaces reads no meter and one for meters
// no interface.
type lists struct{ ifaces, meters bool }

func (l lists) union(o lists) lists { return lists{l.ifaces || o.ifaces, l.meters || o.meters} }

func (l *lists) add(d *listDef) {
	if d == ifList {
		l.ifaces = true
	} else {
		l.meters = true
	}
}

type patElem struct {
	name string
	keys map[string]string
}

func isWild(v string) bool { return v == "*" || v == "..." }

// parsePattern joins prefix and path and checks the result against the schema: a
// path that cannot address anything served is INVALID_ARGUMENT (gNMI spec 3.3.1;
// ONOS' gNMI reachability probe expects it for an unknown path).
func parsePattern(prefix, path *gnmi.Path) (*pattern, error) {
	origin := prefix.GetOrigin()
	if o := path.GetOrigin(); o != "" {
		if origin != "" && origin != o {
			return nil, status.Errorf(codes.InvalidArgument, "origin %q in prefix and %q in path", origin, o)
		}
		origin = o
	}
	if origin != "" && origin != "openconfig" {
		return nil, status.Errorf(codes.InvalidArgument, "unsupported origin %q (only openconfig)", origin)
	}
	pat := &pattern{target: prefix.GetTarget()}
	for _, p := range []*gnmi.Path{prefix, path} {
		els, err := pathElems(p)
		if err != nil {
			return nil, err
		}
		pat.elems = append(pat.elems, els...)
	}
	pat.text = pat.String()
	if pat.lists = pat.schemaLists(); pat.lists == (lists{}) {
		return nil, status.Errorf(codes.InvalidArgument, "path %s is not in the supported schema (/interfaces/interface[name=*]/..., /qos/meters/meter[far=*][unit=*]/..., /qos/pdr-meters/meter[pdr=*]/...)", pat.text)
	}
	return pat, nil
}

func pathElems(p *gnmi.Path) ([]patElem, error) {
	if p == nil {
		return nil, nil
	}
	var out []patElem
	if len(p.GetElem()) == 0 && len(p.GetElement()) > 0 {
		for _, s := range p.GetElement() {
			e, err := parseElementString(s)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	for _, e := range p.GetElem() {
		name := stripModule(e.GetName())
		if name == "" {
			return nil, status.Error(codes.InvalidArgument, "empty path element name")
		}
		if name == "..." && len(e.GetKey()) > 0 {
			return nil, status.Error(codes.InvalidArgument, `path element "..." cannot have keys`)
		}
		out = append(out, patElem{name: name, keys: e.GetKey()})
	}
	return out, nil
}

// parseElementString reads a deprecated Path.element string: name[k=v][k=v].
func parseElementString(s string) (patElem, error) {
	name, rest, _ := strings.Cut(s, "[")
	e := patElem{name: stripModule(name)}
	if e.name == "" {
		return e, status.Errorf(codes.InvalidArgument, "bad path element %q", s)
	}
	if rest == "" {
		return e, nil
	}
	rest = "[" + rest
	e.keys = map[string]string{}
	for rest != "" {
		if rest[0] != '[' {
			return e, status.Errorf(codes.InvalidArgument, "bad path element %q", s)
		}
		kv, r, ok := strings.Cut(rest[1:], "]")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || k == "" {
			return e, status.Errorf(codes.InvalidArgument, "bad path element %q", s)
		}
		e.keys[k] = v
		rest = r
	}
	return e, nil
}

func stripModule(name string) string {
	for _, m := range knownModules {
		if rest, ok := strings.CutPrefix(name, m+":"); ok {
			return rest
		}
	}
	return name
}

func (p *pattern) String() string {
	var b strings.Builder
	for _, e := range p.elems {
		b.WriteByte('/')
		b.WriteString(e.name)
		for k, v := range e.keys {
			fmt.Fprintf(&b, "[%s=%s]", k, v)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// schemaLists returns the lists with a schema node the pattern addresses;
// none: the pattern is not in the schema.
func (p *pattern) schemaLists() lists {
	var out lists
	for _, l := range leafDefs {
		if matchPrefix(p.elems, leafPath(l.list.entryPath(make([]string, len(l.list.keys))), l), true) {
			out.add(l.list)
		}
	}
	return out
}

// match reports whether the pattern selects the concrete leaf path.
func (p *pattern) match(leaf []pelem) bool { return matchPrefix(p.elems, leaf, false) }

// hasDots reports whether the pattern uses the "..." element.
func (p *pattern) hasDots() bool {
	for _, e := range p.elems {
		if e.name == "..." {
			return true
		}
	}
	return false
}

// namedEntry returns what the pattern's list entry is ("interface", "meter")
// when it names one by a key value (so that no data at all means NOT_FOUND
// rather than an empty result), "" otherwise.
func (p *pattern) namedEntry() string {
	for _, e := range p.elems {
		for _, v := range e.keys {
			if isWild(v) {
				continue
			}
			for _, l := range []*listDef{ifList, farMeterList, pdrMeterList} {
				if l.elem == e.name {
					return l.what
				}
			}
			return "entry"
		}
	}
	return ""
}

// matchPrefix matches pat against a prefix of path. With anyKey, the path's list
// keys are schema placeholders that match any key value.
func matchPrefix(pat []patElem, path []pelem, anyKey bool) bool {
	if len(pat) == 0 {
		return true
	}
	if pat[0].name == "..." {
		if matchPrefix(pat[1:], path, anyKey) {
			return true
		}
		return len(path) > 0 && matchPrefix(pat, path[1:], anyKey)
	}
	if len(path) == 0 {
		return false
	}
	if !elemMatch(pat[0], path[0], anyKey) {
		return false
	}
	return matchPrefix(pat[1:], path[1:], anyKey)
}

func elemMatch(pe patElem, e pelem, anyKey bool) bool {
	if pe.name != "*" && pe.name != e.name {
		return false
	}
	for k, v := range pe.keys {
		i := slices.IndexFunc(e.keys, func(kv keyVal) bool { return kv.name == k })
		if i < 0 {
			return false
		}
		if !anyKey && !isWild(v) && v != e.keys[i].val {
			return false
		}
	}
	return true
}
