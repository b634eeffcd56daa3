package translate

import (
	"math/bits"

	"google.golang.org/grpc/codes"
)

// MaxBitwidth is the widest value this package decodes: every linx field,
// parameter and metadata value fits 64 bits.
const MaxBitwidth = 64

// DecodeUint decodes a P4Runtime bytestring holding an unsigned value of the given
// bit width (1..MaxBitwidth), big-endian. Any length is accepted as long as the
// value fits: leading zero bytes (padding) are allowed, so "\x00\x63" and "\x63"
// both decode to 99. An empty string, or a value that needs more than bitwidth
// bits, is an OUT_OF_RANGE error, as the specification's Bytestrings section
// requires. A bit width outside 1..MaxBitwidth is an UNIMPLEMENTED error.
func DecodeUint(b []byte, bitwidth int) (uint64, error) {
	if bitwidth < 1 || bitwidth > MaxBitwidth {
		return 0, Errorf(codes.Unimplemented, "bit width %d not supported (1..%d)", bitwidth, MaxBitwidth)
	}
	if len(b) == 0 {
		return 0, Errorf(codes.OutOfRange, "empty bytestring")
	}
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	sig := b[i:]
	if len(sig) > 8 {
		return 0, Errorf(codes.OutOfRange, "bytestring 0x%x does not fit %d bits", b, bitwidth)
	}
	var v uint64
	for _, c := range sig {
		v = v<<8 | uint64(c)
	}
	if bits.Len64(v) > bitwidth {
		return 0, Errorf(codes.OutOfRange, "bytestring 0x%x does not fit %d bits", b, bitwidth)
	}
	return v, nil
}

// MaxWideBitwidth is the widest ternary field decoded by DecodeWide (IPv6
// addresses).
const MaxWideBitwidth = 128

// DecodeWide decodes a bytestring of a value of up to 128 bits into 16
// big-endian bytes, with DecodeUint's rules: leading zero bytes are allowed,
// an empty string or a value over bitwidth bits is OUT_OF_RANGE.
func DecodeWide(b []byte, bitwidth int) ([16]byte, error) {
	var out [16]byte
	if bitwidth < 1 || bitwidth > MaxWideBitwidth {
		return out, Errorf(codes.Unimplemented, "bit width %d not supported (1..%d)", bitwidth, MaxWideBitwidth)
	}
	if len(b) == 0 {
		return out, Errorf(codes.OutOfRange, "empty bytestring")
	}
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	sig := b[i:]
	if len(sig) > 16 || (len(sig) > 0 && (len(sig)-1)*8+bits.Len8(sig[0]) > bitwidth) {
		return out, Errorf(codes.OutOfRange, "bytestring 0x%x does not fit %d bits", b, bitwidth)
	}
	copy(out[16-len(sig):], sig)
	return out, nil
}

// EncodeWide returns the canonical bytestring of a 16-byte big-endian value:
// the shortest string holding it, "\x00" for zero.
func EncodeWide(v [16]byte) []byte {
	i := 0
	for i < 15 && v[i] == 0 {
		i++
	}
	return append([]byte(nil), v[i:]...)
}

// EncodeUint returns the canonical bytestring of v: the shortest big-endian string
// holding it, "\x00" for zero.
func EncodeUint(v uint64) []byte {
	n := (bits.Len64(v) + 7) / 8
	if n == 0 {
		n = 1
	}
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// mask returns the all-ones value of a bit width in 1..64.
func mask(bitwidth int) uint64 {
	if bitwidth >= 64 {
		return ^uint64(0)
	}
	return 1<<bitwidth - 1
}
