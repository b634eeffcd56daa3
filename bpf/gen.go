// Package bpf holds the C sources of linx's XDP pipeline. They are compiled by
// bpf2go from package dataplane (see dataplane/gen.go); this file only documents
// the folder for Go tooling.
package bpf
