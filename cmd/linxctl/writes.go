package main

import (
	"context"
	"fmt"
	"strings"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// writeOp is a parsed write command, run in a master session.
type writeOp func(ctx context.Context, s *session) error

// parseFunc parses the arguments of a write command.
type parseFunc func(args []string) (writeOp, error)

// session is a master session and the record of its updates.
type session struct {
	o       *options
	c       *client
	m       *master
	prefix  string // "line 3: " in apply
	results []writeResult
	failed  int
	refs    []ref // of the applied updates
}

// writeResult is the outcome of one update, as printed (--json: an array of
// them).
type writeResult struct {
	Update  int    `json:"update"`
	Desc    string `json:"desc"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r writeResult) String() string {
	s := fmt.Sprintf("update %d (%s): %s", r.Update, r.Desc, r.Code)
	if r.Message != "" {
		s += ": " + r.Message
	}
	return s
}

// send writes updates in one request and records their outcomes; ok[i] says
// whether update i was applied. Per-update failures are not an error: the
// caller decides whether to go on. The error is a request that failed as a
// whole.
func (s *session) send(ctx context.Context, us []update) (ok []bool, err error) {
	rs, err := s.m.write(ctx, us)
	if err != nil {
		return nil, err
	}
	ok = make([]bool, len(us))
	for i, r := range rs {
		wr := writeResult{Update: len(s.results) + 1, Desc: s.prefix + us[i].desc, Code: codeName(r.code), Message: r.msg}
		s.results = append(s.results, wr)
		ok[i] = r.code == codes.OK
		if ok[i] {
			s.refs = append(s.refs, us[i].refs...)
		}
		if !ok[i] {
			s.failed++
			if !s.o.json {
				fmt.Fprintf(s.o.stderr, "linxctl: %s\n", wr)
			}
		} else if !s.o.json {
			fmt.Fprintln(s.o.stdout, wr)
		}
	}
	return ok, nil
}

// allOK reports whether every update was applied.
func allOK(ok []bool) bool {
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

// finish prints the JSON record and the summary; it returns errReported when an
// update failed.
func (s *session) finish() error {
	if s.o.json {
		if s.results == nil {
			s.results = []writeResult{}
		}
		if err := writeJSON(s.o.stdout, s.results); err != nil {
			return err
		}
	}
	if s.failed > 0 {
		fmt.Fprintf(s.o.stderr, "linxctl: %d of %d updates failed\n", s.failed, len(s.results))
		return errReported
	}
	return nil
}

// withMaster takes mastership, runs f and gives mastership up (the stream ends).
func withMaster(ctx context.Context, o *options, f func(s *session) error) error {
	return withClient(o, func(c *client) error {
		m, err := c.becomeMaster(ctx, o.stderr)
		if err != nil {
			return err
		}
		defer m.close()
		s := &session{o: o, c: c, m: m}
		if err := f(s); err != nil {
			return err
		}
		s.warnDangling(ctx)
		return s.finish()
	})
}

// writeCommand turns a parser into a command: parse (usage errors before any
// connection), then run in a master session.
func writeCommand(parse parseFunc) func(ctx context.Context, o *options, args []string) error {
	return func(ctx context.Context, o *options, args []string) error {
		op, err := parse(args)
		if err != nil {
			return err
		}
		return withMaster(ctx, o, func(s *session) error { return op(ctx, s) })
	}
}

// single is the op of commands that write one update.
func single(u update) writeOp {
	return func(ctx context.Context, s *session) error {
		_, err := s.send(ctx, []update{u})
		return err
	}
}

func tableOp(op p4v1.Update_Type, e translate.Entry, desc string) (writeOp, error) {
	u, err := tableUpdate(op, e, desc)
	if err != nil {
		return nil, err
	}
	return single(u), nil
}

// ---- pdr ----

var (
	addPDR = writeCommand(parsePDROp(p4v1.Update_INSERT))
	modPDR = writeCommand(parsePDROp(p4v1.Update_MODIFY))
	delPDR = writeCommand(parsePDROp(p4v1.Update_DELETE))
)

func parsePDROp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		e, err := parsePDR(args, op != p4v1.Update_DELETE)
		if err != nil {
			return nil, err
		}
		desc := opName(op) + " pdr " + pdrKeyArgs(e)
		if a, ok := e.Action.(translate.SetFAR); ok {
			desc += fmt.Sprintf(" far=%d", a.FAR)
		}
		return tableOp(op, e, desc)
	}
}

var defaultPDR = writeCommand(parseDefault)

func parseDefault(args []string) (writeOp, error) {
	if len(args) != 1 {
		return nil, usageErrorf("default pdr: want pass or drop")
	}
	var act dataplane.Action
	switch strings.ToLower(args[0]) {
	case "pass":
		act = dataplane.ActPass
	case "drop":
		act = dataplane.ActDrop
	default:
		return nil, usageErrorf("default pdr: %q is not pass or drop", args[0])
	}
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTablePDR, Default: true},
		Action: translate.FARAction{FAR: dataplane.FAR{Action: act}}}
	return tableOp(p4v1.Update_MODIFY, e, "modify pdr default: "+act.String())
}

// ---- far ----

var (
	addFAR = writeCommand(parseFAROp(p4v1.Update_INSERT))
	modFAR = writeCommand(parseFAROp(p4v1.Update_MODIFY))
	delFAR = writeCommand(parseFAROp(p4v1.Update_DELETE))
)

func parseFAROp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		if len(args) == 0 {
			return nil, usageErrorf("far: the FAR id is required")
		}
		id, err := parseID(args[0], "far")
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		e := translate.Entry{Key: translate.Key{Table: p4info.IDTableFAR, FAR: dataplane.FARID(id)}}
		desc := fmt.Sprintf("%s far %d", opName(op), id)
		if op == p4v1.Update_DELETE {
			if err := noArgs("del far ID", args[1:]); err != nil {
				return nil, err
			}
		} else {
			f, err := parseFARAction(args[1:])
			if err != nil {
				return nil, err
			}
			e.Action = translate.FARAction{FAR: f}
			desc += ": " + farActionArgs(f)
		}
		return tableOp(op, e, desc)
	}
}

// ---- tunnels ----

var (
	addTunnel = writeCommand(parseTunnelOp(p4v1.Update_INSERT))
	modTunnel = writeCommand(parseTunnelOp(p4v1.Update_MODIFY))
	delTunnel = writeCommand(parseTunnelOp(p4v1.Update_DELETE))
)

func tunnelArgs(t dataplane.Tunnel) string {
	return fmt.Sprintf("port=%d src=%s dst=%s key=%d", t.Port, addrString(t.Src), addrString(t.Dst), t.Key)
}

func parseTunnelOp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		if len(args) == 0 {
			return nil, usageErrorf("tunnel: the tunnel id is required")
		}
		id, err := parseID(args[0], "tunnel")
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		key := translate.Key{Table: p4info.IDTableTunnels, Tunnel: dataplane.TunnelID(id)}
		desc := fmt.Sprintf("%s tunnel %d", opName(op), id)
		switch op {
		case p4v1.Update_DELETE:
			if err := noArgs("del tunnel ID", args[1:]); err != nil {
				return nil, err
			}
			return tableOp(op, translate.Entry{Key: key}, desc)
		case p4v1.Update_INSERT:
			t, err := parseTunnel(args[1:], dataplane.Tunnel{}, true)
			if err != nil {
				return nil, err
			}
			return tableOp(op, translate.Entry{Key: key, Action: translate.SetGRE{Tunnel: t}}, desc+": "+tunnelArgs(t))
		}
		// MODIFY: the parameters not named keep their values, read first.
		if _, err := parseTunnel(args[1:], dataplane.Tunnel{}, false); err != nil {
			return nil, err
		}
		return func(ctx context.Context, s *session) error {
			cur, err := s.c.readEntry(ctx, translate.Entry{Key: key})
			if err != nil {
				return err
			}
			base := dataplane.Tunnel{}
			if cur != nil {
				if a, ok := cur.Action.(translate.SetGRE); ok {
					base = a.Tunnel
				}
			} else if _, err := parseTunnel(args[1:], base, true); err != nil {
				return fmt.Errorf("tunnel %d does not exist, so mod must name every parameter (or use add tunnel): %v", id, err)
			}
			t, err := parseTunnel(args[1:], base, false)
			if err != nil {
				return err
			}
			u, err := tableUpdate(op, translate.Entry{Key: key, Action: translate.SetGRE{Tunnel: t}}, desc+": "+tunnelArgs(t))
			if err != nil {
				return err
			}
			_, err = s.send(ctx, []update{u})
			return err
		}, nil
	}
}

// readEntry reads the entry with e's key; nil when there is none.
func (c *client) readEntry(ctx context.Context, e translate.Entry) (*translate.Entry, error) {
	te, err := translator().EncodeKey(e.Key)
	if err != nil {
		return nil, err
	}
	ents, err := c.read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}})
	if err != nil {
		return nil, err
	}
	for _, ent := range ents {
		if te := ent.GetTableEntry(); te != nil {
			got, err := decodeEntry(te)
			if err != nil {
				return nil, err
			}
			if got.Key == e.Key {
				return &got, nil
			}
		}
	}
	return nil, nil
}

// ---- tunnel_term ----

var (
	addTerm = writeCommand(parseTermOp(p4v1.Update_INSERT))
	modTerm = writeCommand(parseTermOp(p4v1.Update_MODIFY))
	delTerm = writeCommand(parseTermOp(p4v1.Update_DELETE))
)

func parseTermOp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		e, err := parseTerm(args, op != p4v1.Update_DELETE)
		if err != nil {
			return nil, err
		}
		desc := opName(op) + " term " + termKeyArgs(e)
		if d, ok := e.Action.(translate.Decap); ok {
			desc += fmt.Sprintf(": tunnel=%d", d.Tunnel)
		}
		return tableOp(op, e, desc)
	}
}
