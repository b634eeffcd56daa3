package xdp

// The BPF object and its Go bindings are generated and committed, so building linx
// needs no clang. `make generate` reruns this; `make check` fails if the committed
// files are stale. Every C type the Go side touches is exported with -type.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -type drop_reason -type stage -type role -type direction -type far_action -type tunnel_flags -type non_ip_action -type non_ip_rule -type pdr_key -type pdr6_key -type pdr_tuple -type pdr_tuples -type pdr6_tuple -type pdr6_tuples -type flow6_entry -type flow6_set -type pdr_entry -type pdr_rule -type fwd_l2 -type flow_result -type flow_entry -type flow_set -type flow_cache_use -type far -type lbr -type lbr_watch -type tunnel -type tunnel6 -type term6_key -type addr6 -type tunnel_nh -type nh_state -type port_addr6 -type term_key -type port_info -type counter -type port_stats -type tunnel_stats -type punt_record -type probe_record -type meter -type qos_policy -type meter_stats -type meter_color -type meter_mode -type color_action -type qos_flags linx ../../bpf/linx.c
