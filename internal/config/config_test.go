package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/sla"
)

// testNow is when the test certificates are checked: inside the validity of
// testdata/tls, after expired.pem's.
var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fakeInterfaces are the interfaces the test files may name.
var fakeInterfaces = map[string]bool{"lan": true, "wan1": true, "wan2": true, "eth0": true}

func fakeLookup(name string) error {
	if !fakeInterfaces[name] {
		return fmt.Errorf("no interface %q in this network namespace", name)
	}
	return nil
}

var testOptions = ValidateOptions{LookupInterface: fakeLookup, Now: testNow}

// loadAndValidate is what `linx-agent validate` does, with the fake interfaces.
func loadAndValidate(path string) (*Config, error) {
	c, err := Load(path)
	if c == nil {
		return nil, err
	}
	return c, c.Validate(testOptions)
}

// TestGoodFiles checks that every file of testdata/good and examples/ is valid.
func TestGoodFiles(t *testing.T) {
	files := glob(t, "testdata/good/*.yaml")
	files = append(files, glob(t, "../../examples/*.yaml")...)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if _, err := loadAndValidate(f); err != nil {
				t.Errorf("want valid, got:\n%v", err)
			}
		})
	}
}

// TestBadFiles checks that every file of testdata/bad is rejected with the
// problems its "# want: " lines quote (each a substring of one problem).
func TestBadFiles(t *testing.T) {
	for _, f := range glob(t, "testdata/bad/*.yaml") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, l := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal(`no "# want: " line`)
			}
			_, err = loadAndValidate(f)
			if err == nil {
				t.Fatalf("want problems %q, got a valid configuration", wants)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, not Problems: %v", err, err)
			}
			for _, w := range wants {
				found := false
				for _, p := range ps {
					found = found || strings.Contains(p.Error(), w)
				}
				if !found {
					t.Errorf("no problem contains %q; got:\n%v", w, err)
				}
			}
			for _, p := range ps {
				if p.Path == "" && p.Origin == "" {
					t.Errorf("problem %q names neither key nor line", p)
				}
			}
		})
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return files
}

// TestFullFile checks every key of testdata/good/full.yaml lands in its field.
func TestFullFile(t *testing.T) {
	c, err := loadAndValidate("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Device: Device{ID: 7, Name: "gw-a"},
		Interfaces: []Interface{
			{Name: "lan", Role: RoleLAN, Port: 1, XDPMode: XDPNative},
			{Name: "wan1", Role: RoleWAN, Port: 2, XDPMode: XDPNative},
			{Name: "wan2", Role: RoleWAN, Port: 3, XDPMode: XDPGeneric},
		},
		TunnelAddresses: []netip.Addr{netip.MustParseAddr("172.16.1.1"), netip.MustParseAddr("172.16.2.1")},
		Tables:          Tables{PDRs: 200_000, FARs: 100_000, LBRs: 2048, Tunnels: 8192, TunnelTerms: 8192, Ports: 64, FlowCache: 131072},
		GRPC: GRPC{
			Listen: "[::]:9559",
			TLS: TLS{
				Cert:     filepath.Join("testdata", "tls", "server.pem"),
				Key:      filepath.Join("testdata", "tls", "server.key"),
				ClientCA: filepath.Join("testdata", "tls", "ca.pem"),
			},
			ShutdownGrace: 10 * time.Second,
		},
		BPFFSDir: "/sys/fs/bpf/linx",
		StateDir: "/var/lib/linx",
		Metrics:  Metrics{Listen: "127.0.0.1:9100"},
		Log:      Log{Level: "debug", Format: "console"},
		SLA: SLA{
			Enabled: true, Interval: 20 * time.Millisecond, Size: 160, Window: 50, Timeout: 500 * time.Millisecond, SourcePort: 40000,
			StatefulReflector: true, ReflectorRate: 800, ReflectorBurst: 40,
			Thresholds: SLAThresholds{
				Degraded:  SLALimits{RTT: 200 * time.Millisecond, Loss: 5, Jitter: 40 * time.Millisecond},
				Recovered: SLALimits{RTT: 150 * time.Millisecond, Loss: 2.5, Jitter: 30 * time.Millisecond},
				DownAfter: 5, DownLoss: 60, DownRecoveredLoss: 10, MinSamples: 20,
				HoldDown: 5 * time.Second, MaxHoldDown: 80 * time.Second, Stable: time.Minute,
			},
			Classes: []SLAClass{
				{Name: "voice", DSCP: 46, LBR: 1, Tunnels: []int{1, 2},
					SLA:     SLALimits{RTT: 150 * time.Millisecond, Loss: 1, Jitter: 30 * time.Millisecond},
					Recover: SLALimits{RTT: 100 * time.Millisecond}},
				{Name: "bulk", LBR: 2, SLA: SLALimits{Loss: 10}},
			},
			Tunnels: []SLATunnel{{ID: 2, Interval: time.Second}},
		},
	}
	want.origin, want.decodeProblems, want.failed = c.origin, c.decodeProblems, c.failed
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
	if got := c.SLA.Intervals(); !reflect.DeepEqual(got, map[dataplane.TunnelID]time.Duration{2: time.Second}) {
		t.Errorf("Intervals() = %v, want tunnel 2 every 1s", got)
	}
	for path, line := range map[string]string{
		"device":                "line 2",
		"interfaces[1]":         "line 9",
		"interfaces[2].port":    "line 15",
		"tunnel_addresses[1]":   "line 17",
		"grpc.tls.client_ca":    "line 31",
		"leave_running_on_stop": "line 41",
	} {
		if got := c.Origin(path); got != line {
			t.Errorf("Origin(%q) = %q, want %q", path, got, line)
		}
	}

	o := c.DataplaneOptions()
	wantO := dataplane.Options{MaxPDRs: 200_000, MaxFARs: 100_000, MaxLBRs: 2048, MaxTunnels: 8192, MaxTerms: 8192,
		MaxPorts: 64, MaxMeters: dataplane.DefaultOptions.MaxMeters, FlowCacheSize: 131072, PinDir: "/sys/fs/bpf/linx", StatefulReflector: true,
		ReflectorRate: 800, ReflectorBurst: 40}
	if o != wantO {
		t.Errorf("DataplaneOptions() = %+v, want %+v", o, wantO)
	}
	s := c.P4InfoSizes()
	wantS := p4info.Sizes{PDRs: 200_000, FARs: 100_000, LBRs: 2048, Tunnels: 8192, TunnelTerms: 8192, Ports: 64,
		LBRMembers: 2048 * dataplane.MaxLBRMembers, LBRMaxGroupSize: dataplane.MaxLBRMembers, Meters: dataplane.DefaultOptions.MaxMeters}
	if s != wantS {
		t.Errorf("P4InfoSizes() = %+v, want %+v", s, wantS)
	}
}

// TestDefaults checks that the defaults are the data path's and the committed
// P4Info's, so that an agent without table keys serves p4info.txt as is.
func TestDefaults(t *testing.T) {
	c := Default()
	if o := c.DataplaneOptions(); o != dataplane.DefaultOptions {
		t.Errorf("DataplaneOptions() = %+v, want dataplane.DefaultOptions %+v", o, dataplane.DefaultOptions)
	}
	if s := c.P4InfoSizes().WithDefaults(); s != p4info.DefaultSizes {
		t.Errorf("P4InfoSizes() = %+v, want p4info.DefaultSizes %+v", s, p4info.DefaultSizes)
	}
	// Valid but for gRPC, which must be asked for.
	err := c.Validate(testOptions)
	if err == nil || err.Error() != "grpc: set tls (cert and key) to serve gRPC over TLS, or insecure: true (flag -insecure) to serve plaintext explicitly" {
		t.Errorf("Default().Validate() = %v", err)
	}
	c.GRPC.Insecure = true
	if err := c.Validate(testOptions); err != nil {
		t.Errorf("Default() with insecure: %v", err)
	}
	// The empty file is the defaults.
	e, err := Parse([]byte("# nothing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e, Default()) {
		t.Errorf("Parse(empty) = %+v, want Default()", e)
	}
}

func TestFlowCacheOff(t *testing.T) {
	c, err := loadAndValidate("testdata/good/flow-cache-off.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DataplaneOptions().FlowCacheSize; got >= 0 {
		t.Errorf("flow_cache: 0 gives FlowCacheSize %d, want negative (off)", got)
	}
}

// TestFlagOrigins checks that problems with values set by flags name the flag.
func TestFlagOrigins(t *testing.T) {
	c, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.GRPC.Listen = "nowhere"
	c.SetOrigin("grpc.listen", "flag -listen")
	c.ReplaceInterfaces([]Interface{
		{Name: "lan", Role: RoleLAN, Port: 1, XDPMode: XDPNative},
		{Name: "wan1", Role: RoleWAN, Port: 1, XDPMode: XDPNative},
	}, "flag -port")
	err = c.Validate(testOptions)
	want := `interfaces[1].port (flag -port): 1 is already used by interfaces[0].port (flag -port)
grpc.listen (flag -listen): "nowhere" is not host:port (write IPv6 hosts in brackets: [::1]:9559)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestParseInterface(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Interface
		err  string
	}{
		{in: "lan=1:lan", want: Interface{Name: "lan", Role: RoleLAN, Port: 1, XDPMode: XDPNative}},
		{in: "wan1=2:wan:generic", want: Interface{Name: "wan1", Role: RoleWAN, Port: 2, XDPMode: XDPGeneric}},
		{in: "wan1=2:wan:native", want: Interface{Name: "wan1", Role: RoleWAN, Port: 2, XDPMode: XDPNative}},
		{in: "lan", err: `want name=port:role[:generic], got "lan"`},
		{in: "=1:lan", err: `want name=port:role[:generic], got "=1:lan"`},
		{in: "lan=1", err: `want name=port:role[:generic], got "lan=1"`},
		// The range is Validate's (below): tables.ports may come later, from the file.
		{in: "lan=0:lan", want: Interface{Name: "lan", Role: RoleLAN, Port: 0, XDPMode: XDPNative}},
		{in: "lan=70000:lan", want: Interface{Name: "lan", Role: RoleLAN, Port: 70000, XDPMode: XDPNative}},
		{in: "lan=x:lan", err: `lan: port "x" is not a number`},
		{in: "lan=1:dmz", err: `lan: role "dmz" is not lan or wan`},
		{in: "lan=1:lan:skb", err: `lan: xdp mode "skb" is not native or generic`},
	} {
		got, err := ParseInterface(c.in)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("ParseInterface(%q) = %v, want error %q", c.in, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseInterface(%q) = %+v, %v, want %+v", c.in, got, err, c.want)
		}
	}
	// A -port outside 1..tables.ports-1 is refused with the real range.
	for _, port := range []string{"0", "512", "70000"} {
		it, err := ParseInterface("lan=" + port + ":lan")
		if err != nil {
			t.Fatal(err)
		}
		c := Default()
		c.GRPC.Insecure = true
		c.ReplaceInterfaces([]Interface{it}, "flag -port")
		want := "interfaces[0].port (flag -port): " + port + " is outside 1..511 (tables.ports is 512)"
		if err := c.Validate(ValidateOptions{}); err == nil || err.Error() != want {
			t.Errorf("-port lan=%s:lan: %v, want %q", port, err, want)
		}
	}
}

// TestProblemOrder checks that problems come in the order of the file.
func TestProblemOrder(t *testing.T) {
	_, err := loadAndValidate("testdata/bad/bad-port.yaml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v", err)
	}
	last := 0
	for _, p := range ps {
		l := lineOf(p.Origin)
		if l < last {
			t.Errorf("problems out of order:\n%v", err)
			break
		}
		last = l
	}
}

func TestNetlinkLookup(t *testing.T) {
	if err := NetlinkLookup("lo"); err != nil {
		t.Errorf("NetlinkLookup(lo): %v", err)
	}
	err := NetlinkLookup("linxnope0")
	if err == nil || err.Error() != `no interface "linxnope0" in this network namespace` {
		t.Errorf("NetlinkLookup(linxnope0) = %v", err)
	}
}

// TestSLASession checks the sla keys become package sla's session
// configuration: loss limits in percent become fractions, and the defaults
// are sla's own.
func TestSLASession(t *testing.T) {
	c, err := loadAndValidate("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.SLA.Session()
	if s.Interval != 20*time.Millisecond || s.Size != 160 || s.Window != 50 || s.Thresholds.Degraded.Loss != 0.05 ||
		s.Thresholds.Recovered.Loss != 0.025 || s.Thresholds.DownLoss != 0.6 || s.Thresholds.DownRecoveredLoss != 0.1 {
		t.Errorf("session from full.yaml: %+v", s)
	}
	if !s.StatefulReflector || !c.DataplaneOptions().StatefulReflector {
		t.Error("stateful_reflector: true reaches neither the prober nor the data path")
	}
	if got := c.SLA.Classes[0].SLA.Limits(); got.Loss != 0.01 || got.RTT != 150*time.Millisecond {
		t.Errorf("voice limits %+v: want loss 0.01, rtt 150ms", got)
	}
	d := Default().SLA.Session()
	if d.Interval != sla.DefaultInterval || d.Thresholds.Degraded != sla.DefaultThresholds.Degraded ||
		d.Thresholds.DownAfter != sla.DefaultThresholds.DownAfter || d.Thresholds.HoldDown != sla.DefaultThresholds.HoldDown {
		t.Errorf("default session %+v: want package sla's defaults", d)
	}
}
