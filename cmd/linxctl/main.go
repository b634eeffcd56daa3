// Command linxctl is a command-line client for linx gateways over P4Runtime, for
// people without ONOS: it shows tables, entries and counters, adds, modifies and
// deletes PDRs, FARs, LBRs, tunnels and tunnel terminations with human values,
// watches counters live and shows the arbitration state. docs/linxctl.md is the
// manual.
//
// Reads need no mastership: linxctl reads like any backup controller. Writes
// (add, mod, del, default, pipeline push, apply) need --master: linxctl then
// arbitrates with an election id above the highest the device has seen, which
// takes mastership from ONOS for the duration of the command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the device refused something, or could not be reached
	exitUsage = 2 // the command line is wrong
)

// options are the command-line flags.
type options struct {
	target     string
	deviceID   uint64
	role       string
	insecure   bool
	ca         string
	cert       string
	key        string
	serverName string
	master     bool
	electionID string
	json       bool
	timeout    time.Duration

	// Command options.
	interval time.Duration // watch
	count    int           // watch
	all      bool          // show counters, watch counters
	p4info   string        // pipeline push
	cookie   string        // pipeline push
	force    bool          // pipeline push

	set map[string]bool // flags given on the command line

	stdout, stderr io.Writer
}

// commandFlags are the flags that only some commands use: any other command
// refuses them rather than ignore them.
var commandFlags = map[string][]string{
	"all":      {"show counters", "watch counters", "show meters"},
	"interval": {"watch counters"},
	"count":    {"watch counters", "watch tunnels"},
	"p4info":   {"pipeline push"},
	"cookie":   {"pipeline push"},
	"force":    {"pipeline push"},
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("linxctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.target, "target", "127.0.0.1:9559", "gRPC address of the device (host:port)")
	fs.Uint64Var(&o.deviceID, "device-id", 1, "P4Runtime device id")
	fs.StringVar(&o.role, "role", "", "P4Runtime role (default: the default role)")
	fs.BoolVar(&o.insecure, "insecure", false, "plaintext gRPC (the agent's -insecure)")
	fs.StringVar(&o.ca, "ca", "", "TLS: PEM file of the CA that signed the device's certificate (default: system roots)")
	fs.StringVar(&o.cert, "cert", "", "TLS: client certificate (PEM)")
	fs.StringVar(&o.key, "key", "", "TLS: client key (PEM)")
	fs.StringVar(&o.serverName, "server-name", "", "TLS: name to verify the device's certificate against (default: the target's host)")
	fs.BoolVar(&o.master, "master", false, "take mastership for this command (needed by every write)")
	fs.BoolVar(&o.master, "m", false, "short for --master")
	fs.StringVar(&o.electionID, "election-id", "", "with --master: election id N or HIGH:LOW (default: one above the highest the device has seen)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of aligned tables")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of each exchange with the device")
	fs.DurationVar(&o.interval, "interval", time.Second, "watch: time between samples")
	fs.IntVar(&o.count, "count", 0, "watch: stop after this many samples (0: until interrupted)")
	fs.BoolVar(&o.all, "all", false, "counters: list every cell, zeros included")
	fs.StringVar(&o.p4info, "p4info", "", "pipeline push: P4Info text file (default: the linx P4Info built into linxctl)")
	fs.StringVar(&o.cookie, "cookie", "", "pipeline push: cookie (default: a hash of the P4Info)")
	fs.BoolVar(&o.force, "force", false, "pipeline push: push even if a pipeline is committed (clears every entry)")
	return fs
}

// parseArgs parses flags anywhere on the command line (before, between or after
// the command words); "--" ends the flags.
func parseArgs(args []string, o *options) ([]string, error) {
	fs := newFlagSet(o)
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return []string{"help"}, nil
			}
			return nil, &usageError{err.Error()}
		}
		fs.Visit(func(f *flag.Flag) {
			if o.set == nil {
				o.set = map[string]bool{}
			}
			o.set[f.Name] = true
		})
		rest := fs.Args()
		if len(rest) == 0 {
			return words, nil
		}
		// flag stops at "--" (consumed) or at the first non-flag word.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(words, rest...), nil
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext runs one linxctl command line and returns the exit code.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := &options{stdout: stdout, stderr: stderr}
	words, err := parseArgs(args, o)
	if err == nil && (len(words) == 0 || words[0] == "help") {
		usage(stdout, newFlagSet(&options{}))
		return exitOK
	}
	if err == nil {
		err = dispatch(ctx, o, words)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "linxctl: %v\nrun `linxctl help` for usage\n", err)
		return exitUsage
	case errors.Is(err, errReported):
		return exitError
	default:
		fmt.Fprintf(stderr, "linxctl: %v\n", err)
		return exitError
	}
}

// errReported is returned once the failure has been printed already.
var errReported = errors.New("reported")

// command is one command of the grammar.
type command struct {
	words []string // e.g. "show", "pdr"
	args  string   // synopsis of the arguments
	write bool     // needs --master
	help  string
	run   func(ctx context.Context, o *options, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{[]string{"show", "tables"}, "", false, "every entry of every table (with pdr counters)", showTables},
		{[]string{"show", "pdr"}, "", false, "packet detection rules, their counters and the default action", showPDR},
		{[]string{"show", "far"}, "", false, "forwarding action rules", showFAR},
		{[]string{"show", "lbr"}, "", false, "load-balancing rules with their tunnels and weights", showLBR},
		{[]string{"show", "tunnels"}, "", false, "GRE overlays with their state and measured quality (gNMI)", showTunnels},
		{[]string{"show", "terms"}, "", false, "GRE tunnel terminations", showTerms},
		{[]string{"show", "nonip"}, "", false, "what frames that are not IPv4 get, by EtherType, with counters", showNonIP},
		{[]string{"show", "sla"}, "", false, "SLA classes: the limits each LBR's traffic is carried within", showSLA},
		{[]string{"show", "groups"}, "", false, "lbr_selector groups and their members", showGroups},
		{[]string{"show", "members"}, "", false, "lbr_selector members", showMembers},
		{[]string{"show", "counters"}, "[ports|tunnels|drops|pdr]", false, "counters (non-zero cells; --all for every cell)", showCounters},
		{[]string{"show", "arbitration"}, "", false, "primary present?, highest election id (as a backup that never becomes primary)", showArbitration},
		{[]string{"show", "pipeline"}, "", false, "same as pipeline show", pipelineShow},
		{[]string{"watch", "counters"}, "[ports|tunnels|drops|pdr] [--interval 1s] [--count N]", false, "counters with rates, refreshed live", watchCounters},
		{[]string{"watch", "tunnels"}, "[--count N]", false, "overlays' state changes (up/degraded/down, rtt, loss, jitter) as they happen, until Ctrl-C", watchTunnels},
		{[]string{"pipeline", "show"}, "", false, "whether a pipeline config is committed, its cookie and P4Info package", pipelineShow},
		{[]string{"pipeline", "push"}, "[--p4info FILE] [--cookie N] [--force]", true, "commit the linx P4Info (VERIFY_AND_COMMIT: clears every entry)", pipelinePush},
		{[]string{"add", "pdr"}, "prio=N [in=PORT] [dir=DIR] [ip=4|6] [src=PREFIX] [dst=PREFIX] [proto=P] [sport=PORTS] [dport=PORTS] [dscp=D] far=ID", true, "insert a packet detection rule", addPDR},
		{[]string{"mod", "pdr"}, "KEY... far=ID", true, "point a rule (same key as add) to another FAR", modPDR},
		{[]string{"del", "pdr"}, "KEY...", true, "delete a rule (same key as add; far= is ignored)", delPDR},
		{[]string{"default", "pdr"}, "pass|drop", true, "what packets matching no rule get", defaultPDR},
		{[]string{"add", "far"}, "ID drop|pass|punt|forward port=P|encap tunnel=T|balance lbr=L", true, "insert a forwarding action rule", addFAR},
		{[]string{"mod", "far"}, "ID ACTION [PARAM=V]", true, "change a forwarding action rule", modFAR},
		{[]string{"del", "far"}, "ID", true, "delete a forwarding action rule", delFAR},
		{[]string{"add", "tunnel"}, "ID port=P src=ADDR dst=ADDR [key=K]", true, "insert a GRE overlay", addTunnel},
		{[]string{"mod", "tunnel"}, "ID [port=P] [src=ADDR] [dst=ADDR] [key=K]", true, "change a GRE overlay (unnamed parameters stay)", modTunnel},
		{[]string{"del", "tunnel"}, "ID", true, "delete a GRE overlay", delTunnel},
		{[]string{"add", "term"}, "src=ADDR dst=ADDR [key=K] tunnel=T", true, "insert a tunnel termination (src: remote, dst: local)", addTerm},
		{[]string{"mod", "term"}, "src=ADDR dst=ADDR [key=K] tunnel=T", true, "account a termination to another tunnel", modTerm},
		{[]string{"del", "term"}, "src=ADDR dst=ADDR [key=K]", true, "delete a tunnel termination", delTerm},
		{[]string{"add", "nonip"}, "ETHTYPE pass|drop|punt|copy_to_controller", true, "insert a rule for frames that are not IPv4 (ETHTYPE: arp, lldp, bddp, ipv6, ... or a number)", addNonIP},
		{[]string{"mod", "nonip"}, "ETHTYPE ACTION", true, "change what frames of an EtherType get", modNonIP},
		{[]string{"del", "nonip"}, "ETHTYPE", true, "delete a non_ip rule: those frames pass to the kernel again", delNonIP},
		{[]string{"add", "lbr"}, "ID members=TUNNEL[:WEIGHT],...", true, "insert a load-balancing rule (members, group, entry)", addLBR},
		{[]string{"mod", "lbr"}, "ID members=TUNNEL[:WEIGHT],...", true, "change the tunnels and weights of a load-balancing rule", modLBR},
		{[]string{"del", "lbr"}, "ID", true, "delete a load-balancing rule with the group and members linxctl made for it", delLBR},
		{[]string{"meter"}, "FAR [bytes|packets] | pdr KEY...  reset|cir=RATE cburst=SIZE [pir=RATE pburst=SIZE] [eburst=SIZE]", true, "configure or reset a FAR's meter, or a pdr entry's direct meter (KEY as del pdr; RATE: 10mbit, 1.25mbps or bytes/s; packets: plain numbers)", setMeter},
		{[]string{"show", "meters"}, "[--all]", false, "FAR and pdr meters: config and what each colored (packets, bytes per color)", showMeters},
		{[]string{"add", "qos"}, "FAR [green=A] [yellow=A] [red=A]", true, "what a FAR's meter colors do: pass, drop or a DSCP to remark to (defaults: pass, pass, drop)", addQoS},
		{[]string{"mod", "qos"}, "FAR [green=A] [yellow=A] [red=A]", true, "replace a FAR's color policy (unnamed colors: pass, pass, drop)", modQoS},
		{[]string{"del", "qos"}, "FAR", true, "delete a FAR's color policy (back to pass, pass, drop)", delQoS},
		{[]string{"show", "qos"}, "", false, "FAR color policies (table far_qos)", showQoS},
		{[]string{"add", "sla"}, "LBR [dscp=D] [rtt=DURATION] [loss=PERCENT] [jitter=DURATION]", true, "insert an SLA class: only the LBR's members within these limits carry its traffic (0 or absent: not checked)", addSLA},
		{[]string{"mod", "sla"}, "LBR [dscp=D] [rtt=DURATION] [loss=PERCENT] [jitter=DURATION]", true, "replace an SLA class's limits (absent ones become 0: not checked)", modSLA},
		{[]string{"del", "sla"}, "LBR", true, "delete an SLA class: every live member carries the LBR's traffic again", delSLA},
		{[]string{"apply"}, "FILE|-", true, "run add/mod/del/default lines from a file in one master session", applyFile},
		{[]string{"dump"}, "", false, "print the device's entries as add lines for apply", dump},
	}
}

// aliases of command words.
var wordAliases = map[string]string{
	"modify": "mod", "delete": "del", "rm": "del", "insert": "add",
	"table": "tables", "pdrs": "pdr", "fars": "far", "lbrs": "lbr", "tunnel": "tunnels",
	"term": "terms", "tunnel_term": "terms", "tunnel_terms": "terms", "group": "groups",
	"member": "members", "counter": "counters", "arb": "arbitration",
	"non_ip": "nonip", "non-ip": "nonip", "far_qos": "qos", "sla_class": "sla", "class": "sla", "classes": "sla",
}

func canonicalWord(w string, i int, first string) string {
	w = strings.ToLower(w)
	// "add tunnel", "del term": write commands use the singular.
	if i == 1 && (first == "add" || first == "mod" || first == "del") {
		switch w {
		case "tunnels", "tunnel":
			return "tunnel"
		case "terms", "term", "tunnel_term":
			return "term"
		}
	}
	if a, ok := wordAliases[w]; ok {
		return a
	}
	return w
}

func dispatch(ctx context.Context, o *options, words []string) error {
	canon := make([]string, len(words))
	for i, w := range words {
		canon[i] = w
		if i < 2 {
			canon[i] = canonicalWord(w, i, canonicalWord(words[0], 0, ""))
		}
	}
	for _, c := range commands {
		if len(canon) < len(c.words) || !equalWords(canon[:len(c.words)], c.words) {
			continue
		}
		if c.write && !o.master {
			return usageErrorf("writes need mastership: pass --master (this takes mastership from ONOS if your election id is higher)")
		}
		if !c.write && o.electionID != "" && !o.master {
			return usageErrorf("--election-id is used only with --master")
		}
		name := strings.Join(c.words, " ")
		for _, f := range slices.Sorted(maps.Keys(o.set)) {
			if only, ok := commandFlags[f]; ok && !slices.Contains(only, name) {
				return usageErrorf("--%s applies to %s only, not to %s", f, strings.Join(only, " and "), name)
			}
		}
		return c.run(ctx, o, words[len(c.words):])
	}
	var known []string
	for _, c := range commands {
		if c.words[0] == canon[0] {
			known = append(known, strings.Join(c.words, " "))
		}
	}
	if len(known) > 0 {
		return usageErrorf("unknown command %q; did you mean one of: %s", strings.Join(words, " "), strings.Join(known, ", "))
	}
	return usageErrorf("unknown command %q", strings.Join(words, " "))
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `linxctl — P4Runtime command line for linx gateways (docs/linxctl.md)

usage: linxctl [flags] COMMAND [ARGS] [flags]

commands (writes need --master):
`)
	for _, c := range commands {
		syn := strings.Join(c.words, " ")
		if c.args != "" {
			syn += " " + c.args
		}
		fmt.Fprintf(w, "  %s\n      %s\n", syn, c.help)
	}
	fmt.Fprint(w, `
values: prefixes 10.1.0.0/16 (an address alone is /32), protocols by name
(tcp, udp, icmp, gre...) or number, ports 5060 or 5060-5061, DSCP by name
(ef, af11..af43, cs0..cs7, be) or number, dir uplink|downlink|underlay;
* is a wildcard; VALUE&&&MASK is a ternary match.

flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
