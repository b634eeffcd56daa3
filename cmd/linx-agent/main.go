// Command linx-agent runs linx's data path and serves it as a P4Runtime + gNMI +
// gNOI device on one gRPC port.
//
// Usage:
//
//	linx-agent [-c FILE] [flags]          run the agent
//	linx-agent validate -c FILE           check a configuration file, run nothing
//	linx-agent takeover-check -c FILE     can this build take over the running data path?
//
// The configuration is one YAML file (docs/configuration.md); flags override its
// common keys and can run the agent without a file:
//
//	linx-agent -insecure -listen 127.0.0.1:9559 -memory-dataplane -port lan=1:lan -port wan1=2:wan
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/gcpolicy"
	"github.com/linx-sdwan/linx/internal/linkwatch"
	"github.com/linx-sdwan/linx/internal/slaagent"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server"
	"github.com/linx-sdwan/linx/server/gnmisrv"
)

func main() {
	gcpolicy.Apply() // GOGC=50 unless the environment sets GOGC
	os.Exit(agentMain(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // invalid configuration, or the agent failed
	exitUsage   = 2 // bad command line
)

func agentMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "validate" {
		return validateMain(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "takeover-check" {
		return takeoverCheckMain(args[1:], stdout, stderr) // restart.go
	}
	return runMain(args, stdout, stderr)
}

// validateMain is "linx-agent validate -c FILE": it loads and validates the file,
// prints "FILE: ok" or every problem on a line of its own, and runs nothing.
func validateMain(args []string, stdout, stderr io.Writer) int {
	var skipIfs, skipHost *bool
	var warnings []config.Problem
	c, file, code := loadChecked("validate", "[-skip-host]", "configuration file to check", args, stderr,
		func(fs *flag.FlagSet) {
			skipHost = fs.Bool("skip-host", false, "check the file only, not this host (a file meant for another host): no interfaces, file systems or pins")
			skipIfs = fs.Bool("skip-interfaces", false, "the same as -skip-host")
		},
		func() config.ValidateOptions {
			if *skipIfs || *skipHost {
				return config.ValidateOptions{}
			}
			o := hostChecks()
			o.Warn = func(p config.Problem) { warnings = append(warnings, p) }
			return o
		})
	for _, w := range warnings { // with the problems or not: the agent would meet them
		fmt.Fprintf(stderr, "%s: warning: %v\n", file, w)
	}
	if c == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s: ok\n", file)
	return exitOK
}

// hostChecks are the checks of this host the agent's start makes (with the XDP
// data path): the interfaces exist, bpffs_dir is on a bpf filesystem and what
// is pinned there can be taken over, state_dir can be written. `validate` makes
// them too, so that what it accepts, the agent starts.
func hostChecks() config.ValidateOptions {
	return config.ValidateOptions{LookupInterface: config.NetlinkLookup, Host: true, Pins: checkPins, Port: checkPort}
}

// checkPins reports a data path pinned under bpffs_dir that this build, with
// this configuration, cannot take over: the agent would refuse to start.
func checkPins(c *config.Config) error {
	_, err := xdp.CheckPins(c.DataplaneOptions())
	if errors.Is(err, xdp.ErrIncompatiblePins) {
		return fmt.Errorf("%w: stop the running agent with leave_running_on_stop: false, or remove %s (see docs/operations.md, \"Restart and upgrade\")", err, c.BPFFSDir)
	}
	if err != nil {
		return fmt.Errorf("check what is pinned: %w", err)
	}
	return nil
}

// loadChecked parses the flags of subcommand name (-c FILE plus what addFlags
// adds), then loads and validates FILE. It returns the valid config and its file,
// or a nil config and the exit code after printing usage or the problems.
func loadChecked(name, usage, fileHelp string, args []string, stderr io.Writer,
	addFlags func(*flag.FlagSet), opts func() config.ValidateOptions) (*config.Config, string, int) {
	fs := flag.NewFlagSet("linx-agent "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", fileHelp+" (required)")
	if addFlags != nil {
		addFlags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.TrimSpace("usage: linx-agent "+name+" -c FILE "+usage))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, "", exitOK
		}
		return nil, "", exitUsage
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return nil, "", exitUsage
	}
	c, err := config.Load(*file)
	if c != nil { // decoded, maybe with problems: Validate reports them with its own
		err = c.Validate(opts())
	}
	if err != nil {
		printProblems(stderr, *file, err)
		return nil, *file, exitFailure
	}
	return c, *file, exitOK
}

// printProblems prints each problem of err on a line, prefixed by the file.
func printProblems(w io.Writer, file string, err error) {
	prefix := "linx-agent: "
	if file != "" {
		prefix = file + ": "
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		fmt.Fprintf(w, "%s%v\n", prefix, err)
		return
	}
	for _, p := range ps {
		fmt.Fprintf(w, "%s%v\n", prefix, p)
	}
}

// portFlags collects -port name=port:role[:native|generic].
type portFlags []config.Interface

func (p *portFlags) String() string { return fmt.Sprint(*p) }

func (p *portFlags) Set(v string) error {
	it, err := config.ParseInterface(v)
	if err != nil {
		return err
	}
	*p = append(*p, it)
	return nil
}

// runMain is "linx-agent [-c FILE] [flags]": it builds the configuration
// (defaults, file, flags), validates it and runs the agent until SIGINT or
// SIGTERM.
func runMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("linx-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		file     = fs.String("c", "", "configuration file (YAML, docs/configuration.md); without it, defaults and flags")
		listen   = fs.String("listen", config.DefaultListen, "gRPC address for P4Runtime, gNMI and gNOI (overrides grpc.listen)")
		plain    = fs.Bool("insecure", false, "serve plaintext gRPC (overrides grpc.insecure, and grpc.tls when true)")
		deviceID = fs.Uint64("device-id", config.DefaultDeviceID, "P4Runtime device id (overrides device.id)")
		logLevel = fs.String("log-level", config.DefaultLogLevel, "debug, info, warn or error (overrides log.level)")
		logFmt   = fs.String("log-format", config.DefaultLogFormat, "json or console (overrides log.format)")
		metricsL = fs.String("metrics-listen", "", "Prometheus /metrics, /healthz and /readyz address; empty: none (overrides metrics.listen)")
		memory   = fs.Bool("memory-dataplane", false, "use the in-memory data path (development and tests; forwards nothing, checks no interface)")
		version  = fs.Bool("version", false, "print the version and exit")
		ports    portFlags
	)
	fs.Var(&ports, "port", "attach a port: name=port:role[:native|generic] (repeatable; replaces the file's interfaces)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: linx-agent [-c FILE] [flags]\n"+
			"       linx-agent validate -c FILE [-skip-host]   check a configuration file and this host, run nothing\n"+
			"       linx-agent takeover-check -c FILE          can this build take over the running data path?\n"+
			"       linx-agent -version")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *version {
		fmt.Fprintln(stdout, versionString(debug.ReadBuildInfo()))
		return exitOK
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "linx-agent: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}

	c := config.Default()
	if *file != "" {
		var err error
		// With c not nil, any problems of the file are Validate's to report,
		// together with those of the flags.
		if c, err = config.Load(*file); c == nil {
			printProblems(stderr, *file, err)
			return exitFailure
		}
	}
	var notes []string // said once the logger exists
	fs.Visit(func(f *flag.Flag) {
		origin := "flag -" + f.Name
		switch f.Name {
		case "listen":
			c.GRPC.Listen = *listen
			c.SetOrigin("grpc.listen", origin)
		case "insecure":
			c.GRPC.Insecure = *plain
			c.SetOrigin("grpc.insecure", origin)
			if *plain && c.GRPC.TLS.Enabled() {
				c.GRPC.TLS = config.TLS{}
				notes = append(notes, "-insecure overrides grpc.tls: serving plaintext gRPC")
			}
		case "device-id":
			c.Device.ID = *deviceID
			c.SetOrigin("device.id", origin)
		case "metrics-listen":
			c.Metrics.Listen = *metricsL
			c.SetOrigin("metrics.listen", origin)
		case "log-level":
			c.Log.Level = *logLevel
			c.SetOrigin("log.level", origin)
		case "log-format":
			c.Log.Format = *logFmt
			c.SetOrigin("log.format", origin)
		case "port":
			if *file != "" && len(c.Interfaces) > 0 {
				notes = append(notes, "-port replaces the interfaces of "+*file)
			}
			c.ReplaceInterfaces(ports, origin)
		}
	})
	var vo config.ValidateOptions
	if !*memory {
		vo = hostChecks()
	}
	if err := c.Validate(vo); err != nil {
		printProblems(stderr, *file, err)
		return exitFailure
	}

	log, err := newLogger(c.Log)
	if err != nil {
		fmt.Fprintf(stderr, "linx-agent: logger: %v\n", err)
		return exitFailure
	}
	defer log.Sync()
	for _, n := range notes {
		log.Warn(n)
	}
	if err := run(c, *memory, log); err != nil {
		log.Error("linx-agent stopped", zap.Error(err), missingCapabilities(*memory)) // service.go
		return exitFailure
	}
	return exitOK
}

func newLogger(l config.Log) (*zap.Logger, error) {
	lvl, err := zap.ParseAtomicLevel(l.Level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	zc.Level = lvl
	zc.DisableStacktrace = true // errors here are operational, not bugs
	if l.Format == "console" {
		zc.Encoding = "console"
		zc.EncoderConfig = zap.NewDevelopmentEncoderConfig()
	}
	return zc.Build()
}

// serverCredentials returns the gRPC server option for the configured TLS:
// the server's key pair and, with a client CA, mandatory client certificates.
func serverCredentials(t config.TLS) (grpc.ServerOption, error) {
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("grpc.tls: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pem, err := os.ReadFile(t.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("grpc.tls.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("grpc.tls.client_ca: no certificate in %s", t.ClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return grpc.Creds(credentials.NewTLS(tc)), nil
}

func run(c *config.Config, memory bool, log *zap.Logger) error {
	name := c.Device.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	if len(c.Interfaces) == 0 {
		log.Warn("no interfaces configured: the pipeline is attached nowhere")
	}

	svc, err := startMetrics(c, log) // service.go: /metrics, /readyz, sd_notify
	if err != nil {
		return err
	}
	defer svc.close()
	gopts := svc.grpcOptions()
	if !c.GRPC.Insecure {
		cred, err := serverCredentials(c.GRPC.TLS)
		if err != nil {
			return err
		}
		gopts = append(gopts, cred)
	}
	pipeline, err := p4info.NewIndex(p4info.New(c.P4InfoSizes()))
	if err != nil {
		return fmt.Errorf("p4info: %w", err)
	}

	state, err := openState(c, memory, log) // restart.go: state_dir, locked
	if err != nil {
		return err
	}
	if state != nil {
		defer state.Close()
	}
	dp, stopDP, err := loadDataplane(c, memory, log) // restart.go: over bpffs_dir's pins
	if err != nil {
		return err
	}
	cleanStop := false
	defer func() { stopDP(cleanStop) }()
	if !memory {
		if err := enableForwarding(c, log); err != nil { // ports.go
			return err
		}
	}
	for _, it := range c.Interfaces {
		role, _ := it.Role.Dataplane() // valid: Validate checked
		mode, _ := it.XDPMode.Dataplane()
		if err := dp.Attach(it.Name, dataplane.PortID(it.Port), role, mode); err != nil {
			return attachError(it.Name, err)
		}
		log.Info("port attached", zap.String("interface", it.Name), zap.Int("port", it.Port),
			zap.String("role", string(it.Role)), zap.String("xdp_mode", string(it.XDPMode)),
			zap.Bool("taken_over", tookOver(dp, dataplane.PortID(it.Port))))
	}
	releaseStale(dp, log)
	if !memory {
		warnVethPeers(c, log)
	}
	defer linkwatch.Start(dp, dp.Ports(), log.Sugar().Infof)() // ports follow their links' state; stops before dp.Close
	sugar := log.Sugar()
	// The controller writes through steered, which lays the SLA prober's
	// verdicts over its tunnels and LBRs (internal/slaagent).
	steered := slaagent.Wrap(dp, c.DataplaneOptions())
	hooks := &slaHooks{log: log} // sla.go
	srv, err := server.New(server.Options{
		DeviceID:     c.Device.ID,
		Dataplane:    steered,
		Pipeline:     pipeline,
		GNMI:         gnmisrv.Options{Links: linkwatch.NewLinks(nil), Logf: sugar.Warnf, Quality: hooks, Meters: meterLister(dp)},
		GRPC:         gopts,
		Persist:      persistOf(state),
		OnSLAClasses: hooks.onSLAClasses,
	})
	if err != nil {
		return err
	}
	hooks.gnmi.Store(srv.GNMI)
	logRestored(srv, state, log)
	stopSLA, err := startSLA(c, steered, hooks, log)
	if err != nil {
		return err
	}
	defer stopSLA()
	svc.watch(dp, srv, hooks)
	lis, err := net.Listen("tcp", c.GRPC.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	tunnels := make([]string, len(c.TunnelAddresses))
	for i, a := range c.TunnelAddresses {
		tunnels[i] = a.String()
	}
	log.Info("serving P4Runtime, gNMI and gNOI",
		zap.String("address", lis.Addr().String()), zap.Bool("tls", !c.GRPC.Insecure),
		zap.Bool("client_certificates", c.GRPC.TLS.ClientCA != ""),
		zap.Uint64("device_id", c.Device.ID), zap.String("device_name", name),
		zap.String("tunnel_addresses", strings.Join(tunnels, ",")),
		zap.Bool("memory_dataplane", memory))
	svc.ready(lis.Addr().String())
	select {
	case <-ctx.Done():
		log.Info("stopping")
		svc.stopping()
		if err := srv.Stop(c.GRPC.ShutdownGrace); err != nil {
			log.Warn("writing the P4Runtime state snapshot on stop (the journal still holds it)", zap.Error(err))
		}
		cleanStop = true
		svc.close() // before the data path closes under a scrape
		return nil
	case err := <-served:
		return err
	}
}
