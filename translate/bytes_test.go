package translate

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestDecodeUint(t *testing.T) {
	cases := []struct {
		in    []byte
		width int
		want  uint64
		code  codes.Code
	}{
		// The specification's table of valid encodings (unsigned rows).
		{b(0x63), 8, 99, codes.OK},
		{b(0, 0x63), 16, 99, codes.OK},
		{b(0x63), 16, 99, codes.OK},
		{b(0x30, 0x64), 16, 12388, codes.OK},
		{b(0, 0x30, 0x64), 16, 12388, codes.OK},
		{b(0, 0x63), 12, 99, codes.OK},
		{b(0x63), 12, 99, codes.OK},
		{b(0, 0, 0x63), 12, 99, codes.OK},
		{b(0), 16, 0, codes.OK},
		{b(0, 0), 16, 0, codes.OK},
		{b(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, codes.OK},
		{b(1), 1, 1, codes.OK},
		{b(3), 2, 3, codes.OK},
		{b(0x0f, 0xff), 12, 0xfff, codes.OK},
		{b(0xff, 0xff, 0xff, 0xff), 32, 0xffffffff, codes.OK},
		{b(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 64, 1<<64 - 1, codes.OK},
		// Invalid: empty, or the value needs more bits than the width.
		{nil, 8, 0, codes.OutOfRange},
		{b(), 32, 0, codes.OutOfRange},
		{b(2), 1, 0, codes.OutOfRange},
		{b(4), 2, 0, codes.OutOfRange},
		{b(0x40), 6, 0, codes.OutOfRange},
		{b(0x10, 0), 12, 0, codes.OutOfRange},
		{b(1, 0), 8, 0, codes.OutOfRange},
		{b(0, 1, 0, 0, 0, 0), 32, 0, codes.OutOfRange},
		{b(1, 0, 0, 0, 0, 0, 0, 0, 0), 64, 0, codes.OutOfRange},
		// Widths this package does not handle.
		{b(1), 0, 0, codes.Unimplemented},
		{b(1), 65, 0, codes.Unimplemented},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%x/%d", c.in, c.width), func(t *testing.T) {
			got, err := DecodeUint(c.in, c.width)
			if c.code != codes.OK {
				wantCode(t, err, c.code)
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

func TestEncodeUint(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want []byte
	}{
		{0, b(0)},
		{1, b(1)},
		{0xff, b(0xff)},
		{0x100, b(1, 0)},
		{12388, b(0x30, 0x64)},
		{0xffffffff, b(0xff, 0xff, 0xff, 0xff)},
		{1<<64 - 1, b(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	} {
		if got := EncodeUint(c.v); !bytes.Equal(got, c.want) {
			t.Errorf("EncodeUint(%#x) = %x, want %x", c.v, got, c.want)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	err := Errorf(codes.OutOfRange, "value %d", 5)
	if err.Error() != "OutOfRange: value 5" {
		t.Errorf("message %q", err.Error())
	}
	wrapped := fmt.Errorf("update 3: %w", err)
	if Code(wrapped) != codes.OutOfRange || status.Code(wrapped) != codes.OutOfRange || status.Code(err) != codes.OutOfRange {
		t.Errorf("codes %s %s %s", Code(wrapped), status.Code(wrapped), status.Code(err))
	}
	if s, ok := status.FromError(err); !ok || s.Message() != "value 5" {
		t.Errorf("status %v", s)
	}
	if Code(nil) != codes.OK || Code(errors.New("x")) != codes.Unknown {
		t.Error("Code of nil or foreign errors")
	}
}

// FuzzDecodeUint checks DecodeUint against math/big: it accepts exactly the
// non-empty strings whose value fits the width, returns that value, and
// EncodeUint gives the shortest string decoding to it.
func FuzzDecodeUint(f *testing.F) {
	f.Add([]byte{0x63}, uint8(8))
	f.Add([]byte{0, 0, 0x63}, uint8(12))
	f.Add([]byte{}, uint8(32))
	f.Add([]byte{0x40}, uint8(6))
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(64))
	f.Fuzz(func(t *testing.T, in []byte, width uint8) {
		w := int(width)
		v, err := DecodeUint(in, w)
		if w < 1 || w > MaxBitwidth {
			if Code(err) != codes.Unimplemented {
				t.Fatalf("width %d: %v", w, err)
			}
			return
		}
		n := new(big.Int).SetBytes(in)
		fits := len(in) > 0 && n.BitLen() <= w
		if !fits {
			if Code(err) != codes.OutOfRange {
				t.Fatalf("DecodeUint(%x, %d) = %d, %v; want OUT_OF_RANGE", in, w, v, err)
			}
			return
		}
		if err != nil || v != n.Uint64() {
			t.Fatalf("DecodeUint(%x, %d) = %d, %v; want %s", in, w, v, err, n)
		}
		enc := EncodeUint(v)
		want := n.Bytes()
		if len(want) == 0 {
			want = []byte{0}
		}
		if !bytes.Equal(enc, want) {
			t.Fatalf("EncodeUint(%d) = %x, want %x", v, enc, want)
		}
		if back, err := DecodeUint(enc, w); err != nil || back != v {
			t.Fatalf("canonical %x decodes to %d, %v", enc, back, err)
		}
	})
}
