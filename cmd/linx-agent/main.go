// Command linx-agent runs linx's data path and serves it as a P4Runtime + gNMI +
// gNOI device on one gRPC port.
//
// This is the minimal agent of the P4Runtime milestone: ports and options come
// from flags. The YAML configuration, TLS, metrics and hitless restart are the
// agent milestone's (docs/architecture.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server"
)

// portFlags collects -port name=id:role[:generic].
type portFlags []portSpec

type portSpec struct {
	name string
	id   dataplane.PortID
	role dataplane.Role
	mode dataplane.XDPMode
}

func (p *portFlags) String() string { return fmt.Sprint(*p) }

func (p *portFlags) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=id:role[:generic], got %q", v)
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("want name=id:role[:generic], got %q", v)
	}
	id, err := strconv.ParseUint(parts[0], 10, 16)
	if err != nil || id == 0 {
		return fmt.Errorf("port %s: id %q is not a number in 1..65535", name, parts[0])
	}
	s := portSpec{name: name, id: dataplane.PortID(id)}
	switch parts[1] {
	case "lan":
		s.role = dataplane.RoleLAN
	case "wan":
		s.role = dataplane.RoleWAN
	default:
		return fmt.Errorf("port %s: role %q is not lan or wan", name, parts[1])
	}
	if len(parts) == 3 {
		if parts[2] != "generic" {
			return fmt.Errorf("port %s: mode %q is not generic", name, parts[2])
		}
		s.mode = dataplane.XDPGeneric
	}
	*p = append(*p, s)
	return nil
}

type config struct {
	listen   string
	plain    bool
	deviceID uint64
	memory   bool
	ports    portFlags
	logLevel string
}

func main() {
	var c config
	flag.StringVar(&c.listen, "listen", "127.0.0.1:9559", "gRPC address for P4Runtime, gNMI and gNOI")
	flag.BoolVar(&c.plain, "insecure", false, "serve plaintext gRPC (required until TLS is configured)")
	flag.Uint64Var(&c.deviceID, "device-id", 1, "P4Runtime device id")
	flag.BoolVar(&c.memory, "memory-dataplane", false, "use the in-memory data path (development and tests; forwards nothing)")
	flag.Var(&c.ports, "port", "attach a port: name=id:role[:generic] (repeatable)")
	flag.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.Parse()

	lvl, err := zap.ParseAtomicLevel(c.logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "linx-agent: -log-level: %v\n", err)
		os.Exit(2)
	}
	zc := zap.NewProductionConfig()
	zc.Level = lvl
	log, err := zc.Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "linx-agent: logger: %v\n", err)
		os.Exit(1)
	}
	defer log.Sync()
	if err := run(c, log); err != nil {
		log.Error("linx-agent stopped", zap.Error(err))
		os.Exit(1)
	}
}

func run(c config, log *zap.Logger) error {
	if !c.plain {
		return errors.New("TLS is not configured yet: pass -insecure to serve plaintext gRPC explicitly")
	}
	opts := dataplane.Options{}
	var dp dataplane.Dataplane
	if c.memory {
		dp = memdp.New(opts)
	} else {
		e, err := dataplane.Load(opts)
		if err != nil {
			return fmt.Errorf("load data path: %w", err)
		}
		dp = e
	}
	defer dp.Close()
	for _, p := range c.ports {
		if err := dp.Attach(p.name, p.id, p.role, p.mode); err != nil {
			return fmt.Errorf("attach %s: %w", p.name, err)
		}
		log.Info("port attached", zap.String("interface", p.name), zap.Uint16("port", uint16(p.id)), zap.Stringer("role", p.role))
	}
	srv, err := server.New(server.Options{DeviceID: c.deviceID, Dataplane: dp, Pipeline: p4info.MustNewIndex(p4info.New(p4info.DefaultSizes))})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info("serving P4Runtime, gNMI and gNOI", zap.String("address", lis.Addr().String()), zap.Uint64("device_id", c.deviceID), zap.Bool("memory_dataplane", c.memory))
	select {
	case <-ctx.Done():
		log.Info("stopping")
		srv.Stop(5 * time.Second)
		return nil
	case err := <-served:
		return err
	}
}
