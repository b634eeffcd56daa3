package gnmisrv

import (
	"context"
	"net"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/server/gnoisrv"
)

// fakeLinks is a LinkStater whose states the test sets.
type fakeLinks struct {
	mu  sync.Mutex
	st  map[string]LinkState
	err map[string]error
}

func newFakeLinks() *fakeLinks {
	return &fakeLinks{st: map[string]LinkState{}, err: map[string]error{}}
}

func (f *fakeLinks) LinkState(p dataplane.PortInfo) (LinkState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err[p.Name]; err != nil {
		return LinkState{}, err
	}
	st, ok := f.st[p.Name]
	if !ok {
		return LinkState{}, ErrNoLink
	}
	return st, nil
}

func (f *fakeLinks) set(name string, st LinkState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st[name] = st
}

// The ports every rig starts with: name, P4 port number, role.
var rigPorts = []struct {
	name string
	id   dataplane.PortID
	role dataplane.Role
}{
	{"wan0", 1, dataplane.RoleWAN},
	{"lan0", 2, dataplane.RoleLAN},
	{"lan1", 7, dataplane.RoleLAN},
}

var (
	t0 = time.Unix(1_700_000_000, 123_456_789)
	t1 = time.Unix(1_700_000_100, 0)
)

// rig is a gNMI (and gNOI) server on a real gRPC listener over memdp, and a client.
type rig struct {
	dp     *memdp.Dataplane
	links  *fakeLinks
	srv    *Server
	gs     *grpc.Server
	addr   string
	client gnmi.GNMIClient
	conn   *grpc.ClientConn
}

func fastOptions() Options {
	return Options{
		ChangeInterval:        20 * time.Millisecond,
		DefaultSampleInterval: 60 * time.Millisecond,
		MinSampleInterval:     10 * time.Millisecond,
	}
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	r := &rig{dp: memdp.New(dataplane.Options{}), links: newFakeLinks()}
	for _, p := range rigPorts {
		if err := r.dp.Attach(p.name, p.id, p.role, dataplane.XDPNative); err != nil {
			t.Fatal(err)
		}
		r.links.set(p.name, LinkState{AdminUp: true, Oper: OperUp, LastChange: t0})
	}
	// lan1 is administratively down.
	r.links.set("lan1", LinkState{AdminUp: false, Oper: OperDown, LastChange: t1})
	if opts.Links == nil {
		opts.Links = r.links
	}
	r.srv = New(r.dp, opts)
	r.gs = grpc.NewServer()
	r.srv.Register(r.gs)
	gnoisrv.New().Register(r.gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = lis.Addr().String()
	served := make(chan struct{})
	go func() { defer close(served); _ = r.gs.Serve(lis) }()
	r.conn, err = grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	r.client = gnmi.NewGNMIClient(r.conn)
	t.Cleanup(func() {
		r.conn.Close()
		r.srv.Close()
		r.gs.GracefulStop()
		<-served
		checkNoHandlers(t)
	})
	return r
}

func (r *rig) addCount(t *testing.T, id dataplane.PortID, c dataplane.PortCounters) {
	t.Helper()
	if err := r.dp.AddPortCount(id, c); err != nil {
		t.Fatal(err)
	}
}

// checkNoHandlers fails if a goroutine of the service (an RPC handler or the
// subscription receiver) is still running: they must all end with their RPC.
func checkNoHandlers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "server/gnmisrv.(*Server).") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d service goroutine(s) outlived their RPC:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- paths ----

// p builds a path from "/a/b[k=v]/c" (no '/' or ']' inside keys).
func p(s string) *gnmi.Path {
	out := &gnmi.Path{}
	for _, part := range strings.Split(strings.Trim(s, "/"), "/") {
		if part == "" {
			continue
		}
		name, rest, _ := strings.Cut(part, "[")
		e := &gnmi.PathElem{Name: name}
		for rest != "" {
			kv, r, _ := strings.Cut(rest, "]")
			k, v, _ := strings.Cut(kv, "=")
			if e.Key == nil {
				e.Key = map[string]string{}
			}
			e.Key[k] = v
			rest = strings.TrimPrefix(r, "[")
		}
		out.Elem = append(out.Elem, e)
	}
	return out
}

// str renders a full path the way p parses it.
func pstr(path *gnmi.Path) string {
	var b strings.Builder
	for _, e := range path.GetElem() {
		b.WriteString("/" + e.GetName())
		keys := make([]string, 0, len(e.GetKey()))
		for k := range e.GetKey() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("[" + k + "=" + e.GetKey()[k] + "]")
		}
	}
	return b.String()
}

// scalar renders a typed value for comparisons.
func scalar(t *testing.T, v *gnmi.TypedValue) string {
	t.Helper()
	switch x := v.GetValue().(type) {
	case *gnmi.TypedValue_StringVal:
		return x.StringVal
	case *gnmi.TypedValue_UintVal:
		return "u" + strconv.FormatUint(x.UintVal, 10)
	case *gnmi.TypedValue_JsonIetfVal:
		return "ietf:" + string(x.JsonIetfVal)
	case *gnmi.TypedValue_JsonVal:
		return "json:" + string(x.JsonVal)
	}
	t.Fatalf("unexpected value type %T", v.GetValue())
	return ""
}

// updates flattens notifications into full path -> value, checking that every
// update path is a full path below /interfaces/interface[name=...].
func updates(t *testing.T, ns ...*gnmi.Notification) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range ns {
		if len(n.GetPrefix().GetElem()) != 0 {
			t.Errorf("notification prefix has elements: %v", n.GetPrefix())
		}
		if n.GetTimestamp() == 0 {
			t.Errorf("notification without timestamp")
		}
		for _, u := range n.GetUpdate() {
			checkFullPath(t, u.GetPath())
			k := pstr(u.GetPath())
			if _, dup := out[k]; dup {
				t.Errorf("duplicate update for %s", k)
			}
			out[k] = scalar(t, u.GetVal())
		}
	}
	return out
}

func checkFullPath(t *testing.T, path *gnmi.Path) {
	t.Helper()
	el := path.GetElem()
	switch {
	case len(el) >= 2 && el[0].GetName() == "interfaces" && el[1].GetName() == "interface" && el[1].GetKey()["name"] != "":
	case len(el) >= 3 && el[0].GetName() == "qos" && el[1].GetName() == "meters" && el[2].GetName() == "meter" &&
		el[2].GetKey()["far"] != "" && el[2].GetKey()["unit"] != "":
	case len(el) >= 3 && el[0].GetName() == "qos" && el[1].GetName() == "pdr-meters" && el[2].GetName() == "meter" && el[2].GetKey()["pdr"] != "":
	default:
		t.Errorf("update path %s is not a full /interfaces/interface[name=X]/... or /qos/.../meter[...]/... path", pstr(path))
		return
	}
	for _, e := range el {
		if e.GetName() == "*" || e.GetName() == "..." {
			t.Errorf("update path %s has a wildcard", pstr(path))
		}
		for _, v := range e.GetKey() {
			if v == "*" || v == "..." {
				t.Errorf("update path %s has a wildcard", pstr(path))
			}
		}
	}
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
