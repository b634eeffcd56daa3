package xdp

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// asBytes views a slice of map keys or values as byte arrays of the same size
// (A is [unsafe.Sizeof(T)]byte), without a copy. The bpf2go types carry a blank
// structs.HostLayout field, so cilium/ebpf does not trust their memory and
// marshals a batch of them through encoding/binary's reflection, element by
// element: in a batch of thousands, that costs about as much as the map writes
// themselves. Their memory already is the C layout, padding-free (checked
// here), and byte arrays are handed to the kernel as they are.
func asBytes[A any, T any](s []T) []A {
	var a A
	var z T
	if unsafe.Sizeof(a) != unsafe.Sizeof(z) || binary.Size(z) != int(unsafe.Sizeof(z)) {
		panic(fmt.Sprintf("xdp: %T is not the %d bytes of %T without padding", a, unsafe.Sizeof(z), z))
	}
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*A)(unsafe.Pointer(&s[0])), len(s))
}

// asBytesOf is asBytes for one value: a pointer to it as a byte array, which
// cilium/ebpf passes to the kernel as it is (a struct pointer would be
// marshalled through reflection too).
func asBytesOf[A any, T any](v *T) *A {
	return &asBytes[A](unsafe.Slice(v, 1))[0]
}

// The byte arrays of the generated types written by the PDR paths.
type (
	pdrKeyBytes   = [unsafe.Sizeof(linxPdrKey{})]byte
	pdr6KeyBytes  = [unsafe.Sizeof(linxPdr6Key{})]byte
	pdrEntryBytes = [unsafe.Sizeof(linxPdrEntry{})]byte
	pdrRuleBytes  = [unsafe.Sizeof(linxPdrRule{})]byte
	pdrListBytes  = [unsafe.Sizeof(linxPdrTuples{})]byte
	pdr6ListBytes = [unsafe.Sizeof(linxPdr6Tuples{})]byte
)
