package netlab

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// Capabilities the helpers rely on: namespaces and links (NET_ADMIN), setns
// and bind mounts (SYS_ADMIN), raw ICMP sockets (NET_RAW).
var neededCaps = []struct {
	bit  uint
	name string
}{
	{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	{unix.CAP_NET_RAW, "CAP_NET_RAW"},
}

// PrivProblem says why this process cannot build topologies ("" when it
// can): it must be root with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW.
// Computed once: euid and capabilities do not change while a process runs.
var PrivProblem = sync.OnceValue(func() string {
	if euid := unix.Geteuid(); euid != 0 {
		return fmt.Sprintf("not root (euid %d)", euid)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Sprintf("capget: %v", err)
	}
	var missing []string
	for _, c := range neededCaps {
		if data[c.bit/32].Effective&(1<<(c.bit%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return "root but missing " + strings.Join(missing, ", ")
	}
	return ""
})

// XDPProblem says why this process cannot load XDP programs ("" when it
// can). It loads (and closes at once) a program returning XDP_PASS; a socket
// filter would not do, since unprivileged users may load those.
var XDPProblem = sync.OnceValue(func() string {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "linxt_probe",
		Type: ebpf.XDP,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // XDP_PASS
			asm.Return(),
		},
		License: "GPL",
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Sprintf("cannot load BPF programs (missing CAP_BPF/CAP_SYS_ADMIN?): %v", err)
		}
		return fmt.Sprintf("kernel refused a trivial XDP program: %v", err)
	}
	prog.Close()
	return ""
})
