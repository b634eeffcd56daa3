package integration

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
)

// The hitless restart, end to end: gw-a's data path belongs to a real
// linx-agent process running in gw-a's namespace, with its data path pinned on
// a bpffs the test mounts and its P4Runtime state in a state directory.

const (
	restartCookie   = 0x5eed
	restartStream   = 20000            // datagrams host-a -> host-b across the restart
	restartGap      = time.Millisecond // after each burst of restartBurst: ~5000 datagrams/s
	restartBurst    = 5
	restartPort     = 7000
	restartAgentTCP = "127.0.0.1:9559" // in gw-a's namespace
)

// restartRig is the lab with gw-a driven by linx-agent processes.
type restartRig struct {
	*p4rtLab
	bin, dir, bpffs, state string
	agent                  *agentProc
}

// agentProc is one linx-agent child process in gw-a's namespace.
type agentProc struct {
	cmd  *exec.Cmd
	log  *syncLog
	done chan struct{}
	err  error
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newRestartRig(t *testing.T) *restartRig {
	t.Helper()
	testenv.RequireRoot(t)
	r := &restartRig{dir: t.TempDir(), bin: testenv.LinxAgent(t)}
	// A bpffs of the test's own: `ip netns exec` would remount /sys, and the
	// agent runs in the test's mount namespace anyway.
	mnt := filepath.Join(r.dir, "bpf")
	os.Mkdir(mnt, 0o700)
	if err := unix.Mount("bpf", mnt, "bpf", 0, ""); err != nil {
		testenv.SkipOrFail(t, "mount bpffs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) }) // last: drops any pin left
	r.bpffs = filepath.Join(mnt, "linx")
	r.state = filepath.Join(r.dir, "state")

	l, err := lab.New(testenv.Context(t, labTimeout), lab.Config{NewNS: testenv.NSMaker(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	// gw-a's data path is the agent's: the lab's in-process one goes.
	if err := l.A.DP.Close(); err != nil {
		t.Fatal(err)
	}
	l.A.DP = nil
	t.Cleanup(func() { r.stop(syscall.SIGKILL) }) // before the lab goes, if still running
	r.p4rtLab = &p4rtLab{env: &env{Lab: l, t: t, allow: map[dataplane.DropReason]uint64{}}}
	return r
}

// config writes gw-a's agent configuration and returns its path.
func (r *restartRig) config(leaveRunning bool) string {
	r.t.Helper()
	o := lab.LabOptions
	y := fmt.Sprintf(`device: {id: %d, name: gw-a}
interfaces:
  - {name: %s, role: lan, port: %d}
  - {name: %s, role: wan, port: %d}
  - {name: %s, role: wan, port: %d}
tables: {pdrs: %d, fars: %d, lbrs: %d, tunnels: %d, tunnel_terms: %d, ports: %d}
grpc: {listen: "%s", insecure: true, shutdown_grace: 1s}
bpffs_dir: %s
state_dir: %s
leave_running_on_stop: %v
log: {level: info, format: console}
`, p4rtDevice, lab.IfLAN, lab.PortLAN, lab.IfWAN1, lab.PortWAN1, lab.IfWAN2, lab.PortWAN2,
		o.MaxPDRs, o.MaxFARs, o.MaxLBRs, o.MaxTunnels, o.MaxTerms, o.MaxPorts, restartAgentTCP, r.bpffs, r.state, leaveRunning)
	path := filepath.Join(r.dir, fmt.Sprintf("gw-a-leave-%v.yaml", leaveRunning))
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return path
}

// start runs linx-agent in gw-a's namespace and waits until it serves
// P4Runtime; it returns how long that took.
func (r *restartRig) start(cfg string) time.Duration {
	t := r.t
	t.Helper()
	t0 := time.Now()
	a := &agentProc{log: &syncLog{}, done: make(chan struct{})}
	a.cmd = exec.Command(r.bin, "-c", cfg)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	// SIGKILL if the thread that started it ends: the test dying leaves no agent.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the agent's wait
		if err := netns.Set(r.A.GW.Handle()); err != nil {
			started <- err
			return
		}
		if err := a.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		a.err = a.cmd.Wait()
		close(a.done)
	}()
	if err := <-started; err != nil {
		t.Fatalf("start linx-agent in gw-a: %v", err)
	}
	r.agent = a
	conn, err := grpc.NewClient("passthrough:///"+restartAgentTCP, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return netlab.DialTCP(r.A.GW, addr, 2*time.Second)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r.c = p4v1.NewP4RuntimeClient(conn)
	for end := time.Now().Add(30 * time.Second); ; {
		select {
		case <-a.done:
			t.Fatalf("linx-agent exited (%v) before serving:\n%s", a.err, a.log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := r.c.Capabilities(ctx, &p4v1.CapabilitiesRequest{})
		cancel()
		if err == nil {
			return time.Since(t0)
		}
		if time.Now().After(end) {
			a.cmd.Process.Signal(syscall.SIGQUIT) // its goroutines, into its log
			select {
			case <-a.done:
			case <-time.After(5 * time.Second):
			}
			t.Fatalf("linx-agent not serving after 30s: %v\n%s", err, a.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop signals the running agent (by its PID, no one else) and waits for it.
func (r *restartRig) stop(sig syscall.Signal) error {
	a := r.agent
	if a == nil {
		return nil
	}
	r.agent = nil
	a.cmd.Process.Signal(sig)
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
		return fmt.Errorf("linx-agent (pid %d) did not stop on %v:\n%s", a.cmd.Process.Pid, sig, a.log)
	}
	if sig == syscall.SIGTERM && a.err != nil {
		return fmt.Errorf("linx-agent exited with %v on SIGTERM:\n%s", a.err, a.log)
	}
	return nil
}

// readAll reads everything a controller can have written, in the server's order.
func (r *restartRig) readAll() []*p4v1.Entity {
	r.t.Helper()
	return r.read(p4Table(&p4v1.TableEntry{}), p4Table(&p4v1.TableEntry{IsDefaultAction: true}),
		&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: &p4v1.ActionProfileMember{}}},
		&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: &p4v1.ActionProfileGroup{}}})
}

func (r *restartRig) cookie() uint64 {
	r.t.Helper()
	resp, err := r.c.GetForwardingPipelineConfig(testenv.Context(r.t, 10*time.Second), &p4v1.GetForwardingPipelineConfigRequest{
		DeviceId: p4rtDevice, ResponseType: p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY})
	if err != nil {
		r.t.Fatalf("get pipeline config (cookie only): %v", err)
	}
	if resp.GetConfig().GetP4Info() != nil {
		r.t.Errorf("COOKIE_ONLY answered with a p4info")
	}
	return resp.GetConfig().GetCookie().GetCookie()
}

// xdpProgs returns the XDP program of each gw-a port (0: none).
func (r *restartRig) xdpProgs() map[string]uint32 {
	r.t.Helper()
	out := map[string]uint32{}
	for _, name := range []string{lab.IfLAN, lab.IfWAN1, lab.IfWAN2} {
		l := testenv.Link(r.t, r.A.GW, name)
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			out[name] = x.ProgId
		} else {
			out[name] = 0
		}
	}
	return out
}

// pins lists what is pinned under the agent's bpffs directory.
func (r *restartRig) pins() []string {
	var out []string
	filepath.WalkDir(r.bpffs, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(r.bpffs, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func sameEntities(t *testing.T, what string, got, want []*p4v1.Entity) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: read %d entities, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("%s: entity %d is\n  %v\nwant\n  %v", what, i, got[i], want[i])
		}
	}
}

// TestHitlessRestart: with traffic flowing host-a -> host-b through gw-a, the
// agent owning gw-a's data path is killed (SIGKILL) and started again. Every
// datagram arrives (none lost, none twice), the new agent took every port over
// (a new program on each, no detach), a P4Runtime Read returns exactly what it
// returned before the kill and the cookie is the one pushed, so a controller
// has nothing to push again; the PDR counters counted on across the restart.
// Then a clean stop detaches and leaves no pin, a start after it installs the
// persisted state afresh, and with leave_running_on_stop the data path keeps
// forwarding with the agent stopped, until an agent takes it over again.
func TestHitlessRestart(t *testing.T) {
	r := newRestartRig(t)
	a, b := r.A, r.B
	cfg := r.config(false)
	r.start(cfg)

	// Program gw-a as a controller does, plus a few more shapes: a port-range
	// drop rule on a port the stream does not use, and the default entry with
	// controller metadata.
	r.primary = r.connect(p4rtElection)
	if st := r.primary.arbitration(); st.GetStatus().GetCode() != int32(code.Code_OK) {
		t.Fatalf("not primary: %v", st)
	}
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.SetForwardingPipelineConfig(testenv.Context(t, labTimeout), &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: p4rtDevice, ElectionId: &p4v1.Uint128{Low: p4rtElection},
		Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: p4info.New(c.P4InfoSizes()), Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: restartCookie}},
	}); err != nil {
		t.Fatalf("push pipeline: %v", err)
	}
	r.program()
	def := &p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true, Action: p4action(p4info.IDActionPass), ControllerMetadata: 42}
	r.write(
		p4update(p4v1.Update_INSERT, p4Table(p4FAR(farDrop, p4action(p4info.IDActionDrop)))),
		p4update(p4v1.Update_INSERT, p4Table(p4PDR(prioDrop, dataplane.DirUplink, farDrop,
			p4Ternary(p4info.IDFieldPDRIPProto, 17, 0xff), p4Range(p4info.IDFieldPDRL4Dport, 9000, 9100)))),
		p4update(p4v1.Update_MODIFY, p4Table(def)),
	)
	r.warmup()
	before := r.readAll()
	if len(before) < 14 {
		t.Fatalf("read %d entities after programming", len(before))
	}
	progs := r.xdpProgs()
	// Before an upgrade: can the next build take the data path over?
	if out, err := exec.Command(r.bin, "takeover-check", "-c", cfg).CombinedOutput(); err != nil || !strings.Contains(string(out), "without a gap") {
		t.Errorf("takeover-check with the same build and configuration: %v\n%s", err, out)
	}
	y, _ := os.ReadFile(cfg)
	resized := filepath.Join(r.dir, "resized.yaml")
	os.WriteFile(resized, []byte(strings.Replace(string(y), fmt.Sprintf("pdrs: %d", lab.LabOptions.MaxPDRs), "pdrs: 2048", 1)), 0o600)
	if out, err := exec.Command(r.bin, "takeover-check", "-c", resized).CombinedOutput(); err == nil || !strings.Contains(string(out), "cannot take the running data path over") {
		t.Errorf("takeover-check with other table sizes: %v\n%s", err, out)
	}

	// The stream, and the restart in its middle.
	sink := testenv.NewUDPSink(t, b.Host, netip.AddrPortFrom(b.HostAddr, restartPort).String())
	type sent struct {
		flow netlab.FlowID
		err  error
		end  time.Time
	}
	sender := make(chan sent, 1)
	t0 := time.Now()
	go func() {
		flow, err := netlab.SendUDPWith(a.Host, "", netip.AddrPortFrom(b.HostAddr, restartPort).String(), restartStream,
			netlab.UDPOptions{Size: 256, Gap: restartGap, Burst: restartBurst})
		sender <- sent{flow, err, time.Now()}
	}()
	for sink.Total() < restartStream/5 {
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("the stream does not get through: %d datagrams in 10s", sink.Total())
		}
		time.Sleep(time.Millisecond)
	}
	atKill := sink.Total()
	killed := time.Now()
	must(t, r.stop(syscall.SIGKILL))
	took := r.start(cfg)
	restarted := time.Now()
	s := <-sender
	if s.err != nil {
		t.Fatal(s.err)
	}
	got := sink.WaitReceived(s.flow, restartStream, 10*time.Second)
	t.Logf("stream of %d datagrams over %v; agent killed after %d had arrived, %v in; serving again %v later",
		restartStream, s.end.Sub(t0).Round(time.Millisecond), atKill, killed.Sub(t0).Round(time.Millisecond), took.Round(time.Millisecond))
	if !restarted.Before(s.end) {
		t.Errorf("the agent served again only after the stream ended (%v after it): the restart was not under traffic", restarted.Sub(s.end))
	}
	if got != restartStream || sink.Duplicates(s.flow) != 0 || sink.Corrupt() != 0 {
		t.Errorf("across the restart, %d of %d datagrams arrived (%d duplicates, %d corrupt)",
			got, restartStream, sink.Duplicates(s.flow), sink.Corrupt())
	}
	log := r.agent.log.String()
	if n := strings.Count(log, `"taken_over": true`); n != 3 {
		t.Errorf("the restarted agent took %d ports over, want 3:\n%s", n, log)
	}
	for name, id := range r.xdpProgs() {
		if id == 0 || id == progs[name] {
			t.Errorf("%s after the restart runs XDP program %d (was %d): want a new one", name, id, progs[name])
		}
	}

	// What a controller sees: the same cookie and exactly the same entries.
	if ck := r.cookie(); ck != restartCookie {
		t.Errorf("cookie after the restart: %#x, want %#x", ck, restartCookie)
	}
	sameEntities(t, "read after the restart", r.readAll(), before)
	if up := r.pdrCounters()[lab.PrioUplink]; up.Packets < restartStream {
		t.Errorf("the uplink PDR counted %d packets, want at least the %d of the stream: counters did not survive", up.Packets, restartStream)
	}
	// It takes writes as before.
	r.primary = r.connect(p4rtElection)
	if st := r.primary.arbitration(); st.GetStatus().GetCode() != int32(code.Code_OK) {
		t.Fatalf("not primary after the restart: %v", st)
	}
	r.write(p4update(p4v1.Update_INSERT, p4Table(p4FAR(farPunt, p4action(p4info.IDActionPunt)))))
	r.write(p4update(p4v1.Update_DELETE, p4Table(p4FAR(farPunt, nil))))

	// A clean stop detaches everything and leaves no pin.
	must(t, r.stop(syscall.SIGTERM))
	for name, id := range r.xdpProgs() {
		if id != 0 {
			t.Errorf("%s still runs XDP program %d after a clean stop", name, id)
		}
	}
	if p := r.pins(); len(p) > 0 {
		t.Errorf("pins left after a clean stop: %v", p)
	}

	// A start after a clean stop installs the persisted state afresh.
	leave := r.config(true)
	r.start(leave)
	if strings.Contains(r.agent.log.String(), `"taken_over": true`) {
		t.Errorf("a start after a clean stop took a port over")
	}
	sameEntities(t, "read after a clean stop and a start", r.readAll(), before)
	if ck := r.cookie(); ck != restartCookie {
		t.Errorf("cookie after a clean stop and a start: %#x, want %#x", ck, restartCookie)
	}
	// leave_running_on_stop: the pipeline forwards with the agent stopped.
	must(t, r.stop(syscall.SIGTERM))
	for name, id := range r.xdpProgs() {
		if id == 0 {
			t.Errorf("%s has no XDP after a stop with leave_running_on_stop", name)
		}
	}
	const burst = 200
	got2, err := testenv.UDPFlow(t, a.Host, "", b.Host, netip.AddrPortFrom(b.HostAddr, restartPort+1).String(), burst)
	if err != nil || got2 != burst {
		t.Errorf("with the agent stopped and the data path left running, %d of %d datagrams arrived (%v)", got2, burst, err)
	}
	// The next agent takes it over, and its clean stop detaches.
	r.start(cfg)
	if n := strings.Count(r.agent.log.String(), `"taken_over": true`); n != 3 {
		t.Errorf("after leave_running_on_stop, the next agent took %d ports over, want 3", n)
	}
	sameEntities(t, "read after taking over a pipeline left running", r.readAll(), before)
	must(t, r.stop(syscall.SIGTERM))
	for name, id := range r.xdpProgs() {
		if id != 0 {
			t.Errorf("%s still runs XDP program %d after the last clean stop", name, id)
		}
	}
	if p := r.pins(); len(p) > 0 {
		t.Errorf("pins left after the last clean stop: %v", p)
	}
	if fi, err := os.Stat(filepath.Join(r.state, "p4rt.journal")); err != nil || fi.Size() != 8 {
		t.Errorf("journal after a clean stop: %v %v, want compacted into the snapshot", fi, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
