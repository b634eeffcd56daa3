// Package config is linx-agent's configuration: one YAML file, parsed into one
// typed Config, completed with defaults, overridden by flags and checked by
// Validate. docs/configuration.md describes every key.
//
// Every problem names the key it is about and where the value came from (a line
// of the file or a flag), so that an operator can go straight to it:
//
//	interfaces[1].port (line 12): 2 is already used by interfaces[0].port (line 8)
package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Config is the whole configuration of one gateway.
type Config struct {
	Device          Device       `yaml:"device"`
	Interfaces      []Interface  `yaml:"interfaces"`
	TunnelAddresses []netip.Addr `yaml:"tunnel_addresses"`
	Tables          Tables       `yaml:"tables"`
	GRPC            GRPC         `yaml:"grpc"`
	BPFFSDir        string       `yaml:"bpffs_dir"`
	StateDir        string       `yaml:"state_dir"`
	Metrics         Metrics      `yaml:"metrics"`
	Log             Log          `yaml:"log"`
	SLA             SLA          `yaml:"sla"`
	// LeaveRunningOnStop keeps the pinned data path (BPFFSDir, which it needs)
	// attached and forwarding when the agent stops cleanly, so that the next
	// start takes it over without a gap. False: a clean stop detaches every
	// port and removes the pins.
	LeaveRunningOnStop bool `yaml:"leave_running_on_stop"`

	// origin maps a key path ("interfaces[1].port") to where its value came from:
	// "line 12" or "flag -listen". Keys absent from both have no entry.
	origin map[string]string
	// decodeProblems are Parse's, failed the key paths they are about.
	decodeProblems Problems
	failed         map[string]bool
}

// Device identifies the gateway to controllers.
type Device struct {
	ID   uint64 `yaml:"id"`   // P4Runtime device_id
	Name string `yaml:"name"` // for logs; empty: the host name
}

// Interface is one port of the pipeline.
type Interface struct {
	Name    string  `yaml:"name"`     // kernel interface name
	Role    Role    `yaml:"role"`     // lan or wan
	Port    int     `yaml:"port"`     // P4 port number, 1..tables.ports-1
	XDPMode XDPMode `yaml:"xdp_mode"` // native or generic
}

// Role is "lan" or "wan".
type Role string

// Roles.
const (
	RoleLAN Role = "lan"
	RoleWAN Role = "wan"
)

// Dataplane returns the data path's role; ok is false for an unknown role.
func (r Role) Dataplane() (role dataplane.Role, ok bool) {
	switch r {
	case RoleLAN:
		return dataplane.RoleLAN, true
	case RoleWAN:
		return dataplane.RoleWAN, true
	}
	return 0, false
}

// XDPMode is "native" (in the driver) or "generic" (in the skb path: slow).
type XDPMode string

// XDP modes.
const (
	XDPNative  XDPMode = "native"
	XDPGeneric XDPMode = "generic"
)

// Dataplane returns the data path's mode; ok is false for an unknown mode.
func (m XDPMode) Dataplane() (mode dataplane.XDPMode, ok bool) {
	switch m {
	case XDPNative:
		return dataplane.XDPNative, true
	case XDPGeneric:
		return dataplane.XDPGeneric, true
	}
	return 0, false
}

// Tables are the capacities of the data path's tables. The P4Info served to
// controllers declares the same sizes.
type Tables struct {
	PDRs        int `yaml:"pdrs"`
	FARs        int `yaml:"fars"`
	LBRs        int `yaml:"lbrs"`
	Tunnels     int `yaml:"tunnels"`      // tunnel ids are < Tunnels
	TunnelTerms int `yaml:"tunnel_terms"` // tunnel terminations
	Ports       int `yaml:"ports"`        // P4 port numbers are < Ports
	// FlowCache is the number of flows per CPU whose classification is cached;
	// 0 disables the cache.
	FlowCache int `yaml:"flow_cache"`
}

// GRPC is the endpoint of P4Runtime, gNMI and gNOI.
type GRPC struct {
	Listen string `yaml:"listen"` // host:port
	TLS    TLS    `yaml:"tls"`
	// Insecure serves plaintext gRPC. It must be asked for explicitly: with
	// neither TLS nor Insecure the configuration is invalid.
	Insecure bool `yaml:"insecure"`
	// ShutdownGrace is how long unary calls in flight get to finish on stop.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// TLS names PEM files. Relative paths are relative to the configuration file's
// directory.
type TLS struct {
	Cert     string `yaml:"cert"`      // server certificate chain
	Key      string `yaml:"key"`       // its private key
	ClientCA string `yaml:"client_ca"` // when set, clients must present a certificate it signed
}

// Enabled reports whether TLS is configured (any of its keys is set).
func (t TLS) Enabled() bool { return t.Cert != "" || t.Key != "" || t.ClientCA != "" }

// Metrics is the Prometheus endpoint.
type Metrics struct {
	Listen string `yaml:"listen"` // host:port; empty: no metrics endpoint
	// PerPDR exports a counter series per installed packet detection rule.
	// Off by default: with 100,000 rules that is too many series for one device.
	PerPDR bool `yaml:"per_pdr"`
}

// Log configures the agent's log (standard error).
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // json or console
}

// Defaults.
const (
	DefaultDeviceID      = 1
	DefaultListen        = "127.0.0.1:9559"
	DefaultShutdownGrace = 5 * time.Second
	DefaultStateDir      = "/var/lib/linx"
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "json"
)

// Default returns the configuration used for every key a file or a flag does
// not set. It is not valid by itself: gRPC needs tls or insecure: true.
func Default() *Config {
	o := dataplane.DefaultOptions
	return &Config{
		Device: Device{ID: DefaultDeviceID},
		Tables: Tables{
			PDRs: o.MaxPDRs, FARs: o.MaxFARs, LBRs: o.MaxLBRs,
			Tunnels: o.MaxTunnels, TunnelTerms: o.MaxTerms, Ports: o.MaxPorts,
			FlowCache: o.FlowCacheSize,
		},
		GRPC:     GRPC{Listen: DefaultListen, ShutdownGrace: DefaultShutdownGrace},
		StateDir: DefaultStateDir,
		Log:      Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		SLA:      defaultSLA(),
		origin:   map[string]string{},
	}
}

// SetOrigin records where the value of key path came from, for example
// SetOrigin("grpc.listen", "flag -listen") after a flag overrode it. Problems
// about the key name it.
func (c *Config) SetOrigin(path, origin string) {
	if c.origin == nil {
		c.origin = map[string]string{}
	}
	c.origin[path] = origin
}

// Origin returns where the value of key path came from ("line 12", "flag
// -listen"), or "" for a default.
func (c *Config) Origin(path string) string { return c.origin[path] }

// originOrParent is the origin of path or, for a key the file or flags do not
// set, of the nearest enclosing key that they do: a missing key is reported at
// the line of the mapping that lacks it.
func (c *Config) originOrParent(path string) string {
	for p := path; p != ""; {
		if o := c.origin[p]; o != "" {
			return o
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// ReplaceInterfaces replaces the interfaces (the -port flags do), recording
// origin for each of their keys.
func (c *Config) ReplaceInterfaces(ifs []Interface, origin string) {
	for k := range c.origin {
		if k == "interfaces" || strings.HasPrefix(k, "interfaces[") {
			delete(c.origin, k)
		}
	}
	c.Interfaces = ifs
	c.SetOrigin("interfaces", origin)
	for i := range ifs {
		for _, k := range []string{"", ".name", ".role", ".port", ".xdp_mode"} {
			c.SetOrigin(fmt.Sprintf("interfaces[%d]%s", i, k), origin)
		}
	}
}

// DataplaneOptions are the data path's options for this configuration. PinDir
// is bpffs_dir: empty (the default) pins nothing.
func (c *Config) DataplaneOptions() dataplane.Options {
	t := c.Tables
	o := dataplane.Options{
		MaxPDRs: t.PDRs, MaxFARs: t.FARs, MaxLBRs: t.LBRs,
		MaxTunnels: t.Tunnels, MaxTerms: t.TunnelTerms, MaxPorts: t.Ports,
		MaxMeters:         dataplane.DefaultOptions.MaxMeters, // FAR meters: not configurable (yet)
		FlowCacheSize:     t.FlowCache,
		PinDir:            c.BPFFSDir,
		StatefulReflector: c.SLA.StatefulReflector,
		ReflectorRate:     c.SLA.ReflectorRate,
		ReflectorBurst:    c.SLA.ReflectorBurst,
	}
	if t.FlowCache == 0 {
		o.FlowCacheSize = -1 // the data path's "off"; its 0 means "default"
	}
	return o
}

// P4InfoSizes are the sizes the P4Info declares for this configuration: the
// same as the data path's, so that everything a controller may write fits.
func (c *Config) P4InfoSizes() p4info.Sizes {
	t := c.Tables
	return p4info.Sizes{
		PDRs: t.PDRs, FARs: t.FARs, LBRs: t.LBRs,
		Tunnels: t.Tunnels, TunnelTerms: t.TunnelTerms, Ports: t.Ports,
		LBRMembers:      t.LBRs * dataplane.MaxLBRMembers,
		LBRMaxGroupSize: dataplane.MaxLBRMembers,
		Meters:          dataplane.DefaultOptions.MaxMeters,
	}
}

// ParseInterface parses the -port flag's value, name=port:role[:generic], into
// an interface.
func ParseInterface(v string) (Interface, error) {
	const want = "want name=port:role[:generic]"
	name, rest, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return Interface{}, fmt.Errorf("%s, got %q", want, v)
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Interface{}, fmt.Errorf("%s, got %q", want, v)
	}
	// The range (1..tables.ports-1) is Validate's to check: the flag is parsed
	// before the file that may set tables.ports.
	port, err := strconv.Atoi(parts[0])
	if err != nil {
		return Interface{}, fmt.Errorf("%s: port %q is not a number", name, parts[0])
	}
	it := Interface{Name: name, Port: port, Role: Role(parts[1]), XDPMode: XDPNative}
	if _, ok := it.Role.Dataplane(); !ok {
		return Interface{}, fmt.Errorf("%s: role %q is not lan or wan", name, parts[1])
	}
	if len(parts) == 3 {
		it.XDPMode = XDPMode(parts[2])
		if _, ok := it.XDPMode.Dataplane(); !ok {
			return Interface{}, fmt.Errorf("%s: xdp mode %q is not native or generic", name, parts[2])
		}
	}
	return it, nil
}
