package fwd

// The harness's BPF objects and bindings are generated and committed like the
// data path's (`make generate` reruns this, `make check` proves them fresh).
// The C lives in bpf/ because Go refuses C files in a package without cgo.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -type gen_config -type sink_kind fwd bpf/fwd.c
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -type min_slot minimal bpf/minimal.c
