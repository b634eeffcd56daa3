package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/linx-sdwan/linx/p4info"
)

// pipelineJSON is pipeline show --json.
type pipelineJSON struct {
	Committed bool    `json:"committed"`
	Cookie    *uint64 `json:"cookie"`
	Name      string  `json:"name"`
	Version   string  `json:"version"`
	Arch      string  `json:"arch"`
	Tables    int     `json:"tables"`
}

func (c *client) getPipeline(ctx context.Context, what p4v1.GetForwardingPipelineConfigRequest_ResponseType) (*p4v1.ForwardingPipelineConfig, error) {
	ctx, cancel := c.rpcContext(ctx)
	defer cancel()
	resp, err := c.p4.GetForwardingPipelineConfig(ctx, &p4v1.GetForwardingPipelineConfigRequest{DeviceId: c.o.deviceID, ResponseType: what})
	if err != nil {
		return nil, c.rpcError("get pipeline config", err)
	}
	return resp.GetConfig(), nil
}

func pipelineShow(ctx context.Context, o *options, args []string) error {
	if err := noArgs("pipeline show", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		cfg, err := c.getPipeline(ctx, p4v1.GetForwardingPipelineConfigRequest_P4INFO_AND_COOKIE)
		if err != nil {
			return err
		}
		out := pipelineJSON{Committed: cfg != nil}
		if cfg != nil {
			if ck := cfg.GetCookie(); ck != nil {
				v := ck.Cookie
				out.Cookie = &v
			}
			pi := cfg.GetP4Info()
			out.Name, out.Version, out.Arch = pi.GetPkgInfo().GetName(), pi.GetPkgInfo().GetVersion(), pi.GetPkgInfo().GetArch()
			out.Tables = len(pi.GetTables())
		}
		if o.json {
			return writeJSON(o.stdout, out)
		}
		t := newTable(o.stdout, "FIELD", "VALUE")
		if !out.Committed {
			t.row("pipeline", "none: reads and writes fail until `linxctl --master pipeline push`")
			return t.flush()
		}
		t.row("pipeline", "committed")
		cookie := "none"
		if out.Cookie != nil {
			cookie = fmt.Sprintf("%#x", *out.Cookie)
		}
		t.row("cookie", cookie)
		t.row("p4info", fmt.Sprintf("%s version %s, arch %s, %d tables", orNone(out.Name), orNone(out.Version), orNone(out.Arch), out.Tables))
		return t.flush()
	})
}

// loadP4Info returns the P4Info to push: --p4info's file, else linx's own.
func loadP4Info(path string) (*p4configv1.P4Info, error) {
	if path == "" {
		return p4info.New(p4info.DefaultSizes), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--p4info: %w", err)
	}
	pi := &p4configv1.P4Info{}
	if err := prototext.Unmarshal(b, pi); err != nil {
		return nil, fmt.Errorf("--p4info %s: %w", path, err)
	}
	return pi, nil
}

// defaultCookie identifies a P4Info: FNV-1a 64 of its deterministic text form,
// so pushing the same P4Info twice gives the same cookie.
func defaultCookie(pi *p4configv1.P4Info) uint64 {
	h := fnv.New64a()
	h.Write(p4info.MarshalText(pi))
	return h.Sum64()
}

func pipelinePush(ctx context.Context, o *options, args []string) error {
	if err := noArgs("pipeline push", args); err != nil {
		return err
	}
	pi, err := loadP4Info(o.p4info)
	if err != nil {
		return err
	}
	cookie := defaultCookie(pi)
	if o.cookie != "" {
		if cookie, err = strconv.ParseUint(o.cookie, 0, 64); err != nil {
			return usageErrorf("--cookie %q: want an unsigned 64-bit number", o.cookie)
		}
	}
	return withClient(o, func(c *client) error {
		cur, err := c.getPipeline(ctx, p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY)
		if err != nil {
			return err
		}
		if cur != nil && !o.force {
			if cur.GetCookie() != nil && cur.GetCookie().Cookie == cookie {
				if o.json {
					return writeJSON(o.stdout, pushJSON{Pushed: false, Cookie: cookie})
				}
				fmt.Fprintf(o.stdout, "pipeline already committed with cookie %#x: nothing to do\n", cookie)
				return nil
			}
			return fmt.Errorf("the device already has a pipeline config (cookie %s); pushing clears every table entry (VERIFY_AND_COMMIT): pass --force to push anyway",
				cookieString(cur.GetCookie()))
		}
		if cur != nil {
			fmt.Fprintf(o.stderr, "linxctl: warning: replacing the committed pipeline (cookie %s) clears every table entry\n", cookieString(cur.GetCookie()))
		}
		m, err := c.becomeMaster(ctx, o.stderr)
		if err != nil {
			return err
		}
		defer m.close()
		rctx, cancel := c.rpcContext(ctx)
		defer cancel()
		_, err = c.p4.SetForwardingPipelineConfig(rctx, &p4v1.SetForwardingPipelineConfigRequest{
			DeviceId: o.deviceID, Role: o.role, ElectionId: m.eid.proto(),
			Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
			Config: &p4v1.ForwardingPipelineConfig{P4Info: pi, Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: cookie}},
		})
		if err != nil {
			return c.rpcError("pipeline push", err)
		}
		if o.json {
			return writeJSON(o.stdout, pushJSON{Pushed: true, Cookie: cookie})
		}
		fmt.Fprintf(o.stdout, "pipeline committed: %s version %s, cookie %#x\n", pi.GetPkgInfo().GetName(), pi.GetPkgInfo().GetVersion(), cookie)
		return nil
	})
}

// pushJSON is pipeline push --json.
type pushJSON struct {
	Pushed bool   `json:"pushed"` // false: the same cookie was committed already
	Cookie uint64 `json:"cookie"`
}

func cookieString(c *p4v1.ForwardingPipelineConfig_Cookie) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%#x", c.Cookie)
}
