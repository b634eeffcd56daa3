package gnmisrv

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// supportedEncodings are advertised by Capabilities. PROTO carries typed scalar
// values (what ONOS asks for); JSON and JSON_IETF carry RFC 7159 / RFC 7951 JSON.
var supportedEncodings = []gnmi.Encoding{gnmi.Encoding_PROTO, gnmi.Encoding_JSON_IETF, gnmi.Encoding_JSON}

func checkEncoding(e gnmi.Encoding) error {
	for _, s := range supportedEncodings {
		if e == s {
			return nil
		}
	}
	return status.Errorf(codes.Unimplemented, "encoding %v is not supported (PROTO, JSON_IETF, JSON are)", e)
}

// typedScalar encodes a leaf value.
func typedScalar(v value, enc gnmi.Encoding) *gnmi.TypedValue {
	switch enc {
	case gnmi.Encoding_JSON_IETF:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: jsonScalar(v, true)}}
	case gnmi.Encoding_JSON:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonVal{JsonVal: jsonScalar(v, false)}}
	}
	if v.typ == tString {
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_StringVal{StringVal: v.s}}
	}
	return &gnmi.TypedValue{Value: &gnmi.TypedValue_UintVal{UintVal: v.u}}
}

// jsonScalar encodes a value as JSON. RFC 7951 (ietf) writes 64-bit integers as
// strings; plain JSON writes them as numbers.
func jsonScalar(v value, ietf bool) []byte {
	switch v.typ {
	case tString:
		b, _ := json.Marshal(v.s)
		return b
	case tUint64:
		if ietf {
			return strconv.AppendQuote(nil, strconv.FormatUint(v.u, 10))
		}
	}
	return strconv.AppendUint(nil, v.u, 10)
}

// jnode is a JSON subtree under construction; members keep schema order.
type jnode struct {
	name   string
	module string
	leaf   *value
	list   bool
	kids   []*jnode // container/list entry members, or list entries
	index  map[string]*jnode
}

func (n *jnode) child(name, module string, list bool) *jnode {
	if c, ok := n.index[name]; ok {
		return c
	}
	c := &jnode{name: name, module: module, list: list, index: map[string]*jnode{}}
	if n.index == nil {
		n.index = map[string]*jnode{}
	}
	n.index[name] = c
	n.kids = append(n.kids, c)
	return c
}

// entry returns the list entry with keys kv, creating it with its key leaves
// first.
func (n *jnode) entry(kv []keyVal) *jnode {
	k := pathString([]pelem{{keys: kv}})
	if e, ok := n.index[k]; ok {
		return e
	}
	e := &jnode{module: n.module, index: map[string]*jnode{}}
	n.index[k] = e
	n.kids = append(n.kids, e)
	e.setKeys(kv, n.module)
	return e
}

// setKeys sets the key leaves of a list entry.
func (n *jnode) setKeys(kv []keyVal, module string) {
	for _, k := range kv {
		n.set(k.name, module, str(k.val))
	}
}

func (n *jnode) set(name, module string, v value) {
	c := n.child(name, module, false)
	c.leaf = &v
}

// buildJSON renders the leaves below node (a path prefix of every leaf) as the
// JSON value of node. A node that is a leaf renders as its scalar.
func buildJSON(node []pelem, leaves []leaf, ietf bool) []byte {
	if len(leaves) == 1 && len(leaves[0].path) == len(node) {
		return jsonScalar(leaves[0].val, ietf)
	}
	root := &jnode{index: map[string]*jnode{}}
	if len(node) > 0 && node[len(node)-1].list() {
		root.setKeys(node[len(node)-1].keys, leaves[0].def.list.module)
	}
	for _, l := range leaves {
		cur := root
		rel := l.path[len(node):]
		for i, e := range rel {
			switch {
			case e.list():
				cur = cur.child(e.name, l.def.list.module, true).entry(e.keys)
			case i == len(rel)-1:
				cur.set(e.name, l.def.module, l.val)
			default:
				cur = cur.child(e.name, containerModule(l.def, len(node)+i), false)
			}
		}
	}
	var b bytes.Buffer
	writeObject(&b, root, "", ietf)
	return b.Bytes()
}

// containerModule is the module of the container at depth (0: interfaces,
// qos) on the way to leaf def: the sla container below an interface entry, and
// what it holds, augment it from linx-sla; everything else is its list's
// module (openconfig-interfaces, linx-qos).
func containerModule(def *leafDef, depth int) string {
	if def.module == modSLA && depth >= 2 {
		return modSLA
	}
	return def.list.module
}

// writeObject writes n's members. With ietf, a member name is qualified by its
// module when that differs from the parent's (always, at the top level).
func writeObject(b *bytes.Buffer, n *jnode, parentModule string, ietf bool) {
	b.WriteByte('{')
	for i, c := range n.kids {
		if i > 0 {
			b.WriteByte(',')
		}
		name := c.name
		if ietf && c.module != parentModule {
			name = c.module + ":" + name
		}
		nb, _ := json.Marshal(name)
		b.Write(nb)
		b.WriteByte(':')
		switch {
		case c.leaf != nil:
			b.Write(jsonScalar(*c.leaf, ietf))
		case c.list:
			b.WriteByte('[')
			for j, e := range c.kids {
				if j > 0 {
					b.WriteByte(',')
				}
				writeObject(b, e, c.module, ietf)
			}
			b.WriteByte(']')
		default:
			writeObject(b, c, c.module, ietf)
		}
	}
	b.WriteByte('}')
}
