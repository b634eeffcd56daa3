package demo

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRules checks the linxctl commands that program gw-a: the overlays over
// the two WAN links to gw-b's addresses, the terminations of gw-b's ends, the
// 3:1 LBR and the three PDRs.
func TestRules(t *testing.T) {
	a, b := newSite("a", 1, 1, 2), newSite("b", 2, 3, 4)
	a.peer, b.peer = b, a
	var got []string
	for _, l := range strings.Split(a.rules(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			got = append(got, l)
		}
	}
	want := []string{
		"add tunnel 1 port=2 src=172.16.1.1 dst=172.16.3.1",
		"add tunnel 2 port=3 src=172.16.2.1 dst=172.16.4.1 key=2",
		"add term src=172.16.3.1 dst=172.16.1.1 tunnel=1",
		"add term src=172.16.4.1 dst=172.16.2.1 key=2 tunnel=2",
		"add lbr 1 members=1:3,2:1",
		"add far 1 forward port=1",
		"add far 2 encap tunnel=1",
		"add far 3 balance lbr=1",
		"add pdr prio=30 dir=uplink dst=10.2.0.0/16 dscp=ef far=2",
		"add pdr prio=20 dir=uplink dst=10.2.0.0/16 far=3",
		"add pdr prio=10 dir=downlink dst=10.1.0.0/16 far=1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("gw-a's rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := b.rules(); !strings.Contains(r, "add tunnel 1 port=2 src=172.16.3.1 dst=172.16.1.1\n") ||
		!strings.Contains(r, "add pdr prio=10 dir=downlink dst=10.2.0.0/16 far=1\n") {
		t.Errorf("gw-b's rules are not gw-a's mirrored:\n%s", r)
	}
}

// commands returns the non-comment lines of a rules file.
func commands(rules string) []string {
	var out []string
	for _, l := range strings.Split(rules, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestQoSActRules checks the rules of the IPv6 and the policed acts: IPv6
// prefixes balanced uplink and forwarded downlink, each site mirrored; a FAR
// onto overlay 1 policed at 8 Mbit/s (1,000,000 bytes/s as linxctl reads
// 8mbit) for UDP to port 9000, above every other uplink rule.
func TestQoSActRules(t *testing.T) {
	a, b := newSite("a", 1, 1, 2), newSite("b", 2, 3, 4)
	a.peer, b.peer = b, a
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"gw-a ipv6", commands(a.rules6()), []string{
			"add pdr prio=21 dir=uplink dst=2001:db8:2::/64 far=3",
			"add pdr prio=11 dir=downlink dst=2001:db8:1::/64 far=1",
		}},
		{"gw-b ipv6", commands(b.rules6()), []string{
			"add pdr prio=21 dir=uplink dst=2001:db8:1::/64 far=3",
			"add pdr prio=11 dir=downlink dst=2001:db8:2::/64 far=1",
		}},
		{"gw-a policed", commands(a.policedRules()), []string{
			"add far 10 encap tunnel=1",
			"meter 10 cir=8mbit cburst=100000",
			"add pdr prio=50 dir=uplink dst=10.2.0.0/16 proto=udp dport=9000 far=10",
		}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, strings.Join(c.got, "\n"), strings.Join(c.want, "\n"))
		}
	}
	// Above every uplink rule, the SLA brownout's voice rule (prio 40, FAR 4) included.
	if prioPoliced <= 40 || farPoliced == 4 || policedFrame != 1042 {
		t.Errorf("policed class: priority %d (must beat %d), frame %d", prioPoliced, prioUplinkEF, policedFrame)
	}
	if _, host, gw := site6(a); host.String() != "2001:db8:1::2" || gw.String() != "2001:db8:1::1" {
		t.Errorf("site a's IPv6 host %s, gateway %s", host, gw)
	}
}

// TestChildren checks that Children finds a child process and forgets it
// once it is reaped.
func TestChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	pid := cmd.Process.Pid
	if !slices.Contains(Children(), pid) {
		t.Errorf("Children() = %v, lacks %d", Children(), pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if slices.Contains(Children(), pid) {
		t.Errorf("Children() = %v, still has %d after it was reaped", Children(), pid)
	}
}

// TestIdealGreen: the reference policer of the policed act. 100-byte frames
// every 10 ms into a bucket of 300 bytes refilled at 5000 bytes/s (50 per
// frame interval): the burst and the refill pass five, then every other one.
func TestIdealGreen(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var sent []time.Time
	for i := range 10 {
		sent = append(sent, t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	if g := idealGreen(sent, 100, 5000, 300); g != 7 {
		t.Errorf("idealGreen = %d, want 7 (frames 0-4, 6, 8)", g)
	}
	if g := idealGreen(sent, 100, 1e9, 100); g != 10 {
		t.Errorf("idealGreen at a rate far above the offered one = %d, want all 10", g)
	}
	sent = append(sent, sent[9].Add(250*time.Millisecond))
	if g := longestGap(sent); g != 250*time.Millisecond {
		t.Errorf("longestGap = %v, want 250ms", g)
	}
}
