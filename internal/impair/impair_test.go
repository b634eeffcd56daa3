package impair_test

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/impair"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// path is a sender, an underlay router and a receiver: a ─ r ─ b, with the
// impairment element on r's end of the a link (frames from a to b).
type path struct {
	a, r, b *testenv.NS
	el      *impair.Element
}

func newPath(t *testing.T) *path {
	t.Helper()
	testenv.RequireRoot(t)
	p := &path{a: testenv.NewNS(t), r: testenv.NewNS(t), b: testenv.NewNS(t)}
	testenv.Veth(t, p.a, "va", p.r, "ra")
	testenv.Veth(t, p.r, "rb", p.b, "vb")
	for _, ns := range []*testenv.NS{p.a, p.r, p.b} {
		if err := netlab.DisableIPv6(ns); err != nil {
			t.Fatal(err)
		}
	}
	testenv.AddAddr(t, p.a, "va", "10.71.1.2/24")
	testenv.AddAddr(t, p.r, "ra", "10.71.1.1/24")
	testenv.AddAddr(t, p.r, "rb", "10.71.2.1/24")
	testenv.AddAddr(t, p.b, "vb", "10.71.2.2/24")
	testenv.AddDefaultRoute(t, p.a, "10.71.1.1")
	testenv.AddDefaultRoute(t, p.b, "10.71.2.1")
	if err := netlab.SetSysctl(p.r, "net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	// Frames the delay line writes back carry the checksums they came with:
	// make them complete ones.
	testenv.DisableTXChecksum(t, p.a, "va")
	el, err := impair.Attach(p.r, "ra")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := el.Close(); err != nil {
			t.Error(err)
		}
	})
	p.el = el
	if n, err := testenv.Ping(p.a, netip.MustParseAddr("10.71.2.2"), 3, 5*time.Second); err != nil || n == 0 {
		t.Fatalf("no path a → b before impairing it: %d replies, %v", n, err)
	}
	return p
}

// send sends n datagrams from a to b and returns how many arrived.
func (p *path) send(t *testing.T, n int) int {
	t.Helper()
	sink, err := netlab.NewUDPSink(p.b, "10.71.2.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	flow, err := testenv.SendUDPWith(p.a, "10.71.1.2:0", "10.71.2.2:7000", n, netlab.UDPOptions{Size: 64, Gap: time.Millisecond, Burst: 10})
	if err != nil {
		t.Fatal(err)
	}
	return sink.WaitReceived(flow, n, 3*time.Second)
}

func (p *path) set(t *testing.T, c impair.Config) {
	t.Helper()
	if err := p.el.Set(c); err != nil {
		t.Fatal(err)
	}
}

func TestPassByDefault(t *testing.T) {
	p := newPath(t)
	if got := p.send(t, 500); got != 500 {
		t.Errorf("%d of 500 datagrams arrived with nothing impaired", got)
	}
}

func TestRandomLoss(t *testing.T) {
	p := newPath(t)
	const n, loss = 4000, 0.2
	p.set(t, impair.Config{Loss: loss})
	got := p.send(t, n)
	// Binomial: σ = √(n·p·(1−p)) ≈ 25 datagrams; allow 5σ either way.
	want, tol := float64(n)*(1-loss), 5*math.Sqrt(n*loss*(1-loss))
	t.Logf("loss %.0f%%: %d of %d arrived (%.1f%% lost)", 100*loss, got, n, 100*(1-float64(got)/n))
	if math.Abs(float64(got)-want) > tol {
		t.Errorf("%d of %d arrived: want %.0f ± %.0f", got, n, want, tol)
	}
	st, err := p.el.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped == 0 || st.Seen < n {
		t.Errorf("stats %+v: want at least %d seen and some dropped", st, n)
	}
}

func TestEveryNth(t *testing.T) {
	p := newPath(t)
	p.set(t, impair.Config{EveryNth: 4})
	if got := p.send(t, 1000); got != 750 {
		t.Errorf("dropping every 4th: %d of 1000 arrived, want 750", got)
	}
}

func TestBlackoutAndBack(t *testing.T) {
	p := newPath(t)
	p.set(t, impair.Config{Blackout: true})
	if got := p.send(t, 300); got != 0 {
		t.Errorf("blackout: %d of 300 datagrams arrived", got)
	}
	if n, _ := testenv.Ping(p.a, netip.MustParseAddr("10.71.2.2"), 2, time.Second); n != 0 {
		t.Errorf("blackout: %d pings answered", n)
	}
	if err := p.el.Pass(); err != nil {
		t.Fatal(err)
	}
	if got := p.send(t, 300); got != 300 {
		t.Errorf("after the blackout: %d of 300 arrived", got)
	}
}

func TestDelay(t *testing.T) {
	p := newPath(t)
	dst := netip.MustParseAddr("10.71.2.2")
	const delay = 80 * time.Millisecond
	p.set(t, impair.Config{Delay: delay, Jitter: 10 * time.Millisecond})
	for i := range 5 {
		start := time.Now()
		n, err := testenv.Ping(p.a, dst, 1, 5*time.Second)
		rtt := time.Since(start)
		if err != nil || n != 1 {
			t.Fatalf("ping %d through the delay line: %d replies, %v", i, n, err)
		}
		t.Logf("ping %d: rtt ≤ %v", i, rtt)
		// Loose lower bound only: delay − jitter, the least the line may hold a frame.
		if rtt < delay-10*time.Millisecond {
			t.Errorf("ping %d took %v: the delay line held it less than %v", i, rtt, delay-10*time.Millisecond)
		}
	}
	// Datagrams go through the delay line intact (checksums and all) and in order.
	if got := p.send(t, 300); got != 300 {
		t.Errorf("through the delay line %d of 300 datagrams arrived", got)
	}
	st, err := p.el.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Delayed < 300 || st.Released < 300 {
		t.Errorf("stats %+v: want at least 300 delayed and released", st)
	}
	// Delay with loss: both apply.
	p.set(t, impair.Config{Delay: 20 * time.Millisecond, EveryNth: 2})
	if got := p.send(t, 200); got != 100 {
		t.Errorf("delay with every 2nd lost: %d of 200 arrived, want 100", got)
	}
}
