package netlab

import (
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// AttachXDPPass attaches, in native mode, an XDP program that passes every
// frame to ifname in ns, and returns the attachment (close it to detach; it
// also goes away with the interface).
//
// On a veth end this turns on the driver's NAPI path with an XDP program
// present, which is what veth requires before it delivers frames that XDP on
// the peer sends back with XDP_TX (GRO alone suffices for XDP_REDIRECT, but
// veth only kicks a peer's NAPI after XDP_TX if the peer runs XDP).
func AttachXDPPass(ns *NS, ifname string) (io.Closer, error) {
	l, err := Link(ns, ifname)
	if err != nil {
		return nil, fmt.Errorf("attach xdp pass: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "netlab_pass",
		Type: ebpf.XDP,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // XDP_PASS
			asm.Return(),
		},
		License: "GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("attach xdp pass to %s in %s: load: %w", ifname, ns, err)
	}
	defer prog.Close() // the link holds its own reference
	var xl link.Link
	// The ifindex is resolved in the calling thread's namespace.
	err = ns.Do(func() (err error) {
		xl, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: l.Attrs().Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach xdp pass to %s in %s: %w", ifname, ns, err)
	}
	return xl, nil
}
