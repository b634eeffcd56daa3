package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// applyParsers are the commands apply accepts, by their two first words.
func applyParser(words []string) (parseFunc, int, bool) {
	if len(words) < 2 {
		return nil, 0, false
	}
	first := canonicalWord(words[0], 0, "")
	if first == "meter" {
		return parseMeterOp, 1, true
	}
	second := canonicalWord(words[1], 1, first)
	table := map[string]parseFunc{
		"add pdr": parsePDROp(insertOp), "mod pdr": parsePDROp(modifyOp), "del pdr": parsePDROp(deleteOp),
		"default pdr": parseDefault,
		"add far":     parseFAROp(insertOp), "mod far": parseFAROp(modifyOp), "del far": parseFAROp(deleteOp),
		"add tunnel": parseTunnelOp(insertOp), "mod tunnel": parseTunnelOp(modifyOp), "del tunnel": parseTunnelOp(deleteOp),
		"add term": parseTermOp(insertOp), "mod term": parseTermOp(modifyOp), "del term": parseTermOp(deleteOp),
		"add nonip": parseNonIPOp(insertOp), "mod nonip": parseNonIPOp(modifyOp), "del nonip": parseNonIPOp(deleteOp),
		"add lbr": parseAddLBR, "mod lbr": parseModLBR, "del lbr": parseDelLBR,
		"add qos": parseQoSOp(insertOp), "mod qos": parseQoSOp(modifyOp), "del qos": parseQoSOp(deleteOp),
		"add sla": parseSLAOp(insertOp), "mod sla": parseSLAOp(modifyOp), "del sla": parseSLAOp(deleteOp),
	}
	p, ok := table[first+" "+second]
	return p, 2, ok
}

// applyFile runs the write commands of a file (one per line, as typed after
// linxctl; # starts a comment) in one master session. Every line is parsed
// before anything is written; then lines run in order and a line whose updates
// fail does not stop the next ones.
func applyFile(ctx context.Context, o *options, args []string) error {
	if len(args) != 1 {
		return usageErrorf("apply: want one file name, or - for standard input")
	}
	var r io.Reader
	if args[0] == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(args[0])
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		defer f.Close()
		r = f
	}
	type line struct {
		n  int
		op writeOp
	}
	var lines []line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		words := strings.Fields(text)
		if len(words) == 0 {
			continue
		}
		parse, used, ok := applyParser(words)
		if !ok {
			return usageErrorf("apply: line %d: %q is not an add, mod, del or default command", n, strings.Join(words, " "))
		}
		op, err := parse(words[used:])
		if err != nil {
			return usageErrorf("apply: line %d: %v", n, err)
		}
		lines = append(lines, line{n, op})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return withMaster(ctx, o, func(s *session) error {
		for _, l := range lines {
			s.prefix = fmt.Sprintf("line %d: ", l.n)
			if err := l.op(ctx, s); err != nil {
				return fmt.Errorf("line %d: %w", l.n, err)
			}
		}
		return nil
	})
}

// dump prints the device's entries as commands for apply: tunnels, terms, lbr,
// far, pdr, the pdr default when it is not pass, non_ip rules, configured
// meters and qos policies.
func dump(ctx context.Context, o *options, args []string) error {
	if err := noArgs("dump", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		all, err := c.readAll(ctx)
		if err != nil {
			return err
		}
		w := o.stdout
		fmt.Fprintf(w, "# linxctl dump of device %d at %s; restore with: linxctl --master apply FILE\n", o.deviceID, o.target)
		for _, t := range all.Tunnels {
			fmt.Fprintf(w, "add tunnel %d port=%d src=%s dst=%s key=%d\n", t.ID, t.Port, t.Src, t.Dst, t.Key)
		}
		for _, t := range all.Terms {
			fmt.Fprintf(w, "add term src=%s dst=%s key=%d tunnel=%d\n", t.Src, t.Dst, t.Key, t.Tunnel)
		}
		for _, l := range all.LBR {
			if len(l.Members) == 0 {
				fmt.Fprintf(w, "# lbr %d has no members: linxctl cannot recreate an empty lbr\n", l.ID)
				continue
			}
			fmt.Fprintf(w, "add lbr %d members=%s\n", l.ID, membersArg(l.Members))
		}
		for _, f := range all.FAR {
			fmt.Fprintf(w, "add far %d %s\n", f.ID, farRowArgs(f))
		}
		for _, p := range all.PDR {
			fmt.Fprintf(w, "add pdr %s far=%d\n", pdrRowArgs(p), p.FAR)
		}
		if all.PDRDefault.Action != "pass" {
			fmt.Fprintf(w, "default pdr %s\n", all.PDRDefault.Action)
		}
		for _, r := range all.NonIP {
			fmt.Fprintf(w, "add nonip %s %s\n", r.EthType, r.Action)
		}
		meters, err := c.readMeters(ctx, false)
		if err != nil {
			return err
		}
		for _, m := range meters {
			c := m.Config
			switch {
			case c == nil:
			case m.PDR != "":
				fmt.Fprintf(w, "meter pdr %s cir=%d cburst=%d pir=%d pburst=%d eburst=%d\n", m.PDR, c.CIR, c.CBurst, c.PIR, c.PBurst, c.EBurst)
			default:
				fmt.Fprintf(w, "meter %d %s cir=%d cburst=%d pir=%d pburst=%d eburst=%d\n", m.FAR, m.Unit, c.CIR, c.CBurst, c.PIR, c.PBurst, c.EBurst)
			}
		}
		qos, err := c.readQoS(ctx)
		if err != nil {
			return err
		}
		for _, q := range qos {
			fmt.Fprintf(w, "add qos %d green=%s yellow=%s red=%s\n", q.FAR, q.Green, q.Yellow, q.Red)
		}
		for _, r := range all.SLA {
			fmt.Fprintf(w, "add sla %d %s\n", r.LBR, slaArgs(r))
		}
		return nil
	})
}

func farRowArgs(f farRow) string {
	switch {
	case f.Port != nil:
		return fmt.Sprintf("forward port=%d", *f.Port)
	case f.Tunnel != nil:
		return fmt.Sprintf("encap tunnel=%d", *f.Tunnel)
	case f.LBR != nil:
		return fmt.Sprintf("balance lbr=%d", *f.LBR)
	}
	return f.Action
}

func pdrRowArgs(r pdrRow) string {
	parts := []string{fmt.Sprintf("prio=%d", r.Prio)}
	for _, f := range []struct{ k, v string }{
		{"in", r.In}, {"dir", r.Dir}, {"ip", cmp.Or(r.IP, wildcard)}, {"src", r.Src}, {"dst", r.Dst}, {"proto", r.Proto},
		{"sport", r.Sport}, {"dport", r.Dport}, {"dscp", r.DSCP},
	} {
		if f.v != wildcard {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	return strings.Join(parts, " ")
}
