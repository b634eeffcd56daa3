package sla

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// unhex decodes a hex string that may contain spaces and newlines.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The vectors below are written field by field from RFC 8762 §4.2.1 and §4.3.1,
// not produced by the code under test.
const senderVector = `
	01020304                 sequence number
	83aa7e81 80000000        timestamp: 1970-01-01T00:00:01.5Z in NTP
	0001                     error estimate: S=0 Z=0 scale 0 multiplier 1
	0000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 MBZ, 30 octets`

const reflectorVector = `
	0a0b0c0d                 sequence number
	83aa7e82 40000000        timestamp (T3): 1970-01-01T00:00:02.25Z
	d601                     error estimate: S=1 Z=1 scale 22 multiplier 1
	0000                     MBZ
	83aa7e82 00000000        receive timestamp (T2): 1970-01-01T00:00:02Z
	01020304                 session-sender sequence number
	83aa7e81 80000000        session-sender timestamp
	0001                     session-sender error estimate
	0000                     MBZ
	3f                       session-sender TTL 63
	000000                   MBZ`

func vector(t *testing.T, v string) []byte {
	t.Helper()
	var fields []string
	for _, line := range strings.Split(v, "\n") {
		// Keep the leading hex groups of each line, drop the comment.
		for _, w := range strings.Fields(line) {
			if _, err := hex.DecodeString(w); err != nil || len(w)%2 != 0 {
				break
			}
			fields = append(fields, w)
		}
	}
	return unhex(t, strings.Join(fields, ""))
}

func TestTestPacketWireFormat(t *testing.T) {
	want := vector(t, senderVector)
	if len(want) != BaseLen {
		t.Fatalf("vector is %d octets, want %d", len(want), BaseLen)
	}
	p := TestPacket{Seq: 0x01020304, Timestamp: NTPTimestamp(time.Unix(1, 5e8)), ErrorEstimate: NewErrorEstimate(false, false, 0, 1)}
	got, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal:\n got %x\nwant %x", got, want)
	}
	back, err := ParseTestPacket(want)
	if err != nil {
		t.Fatal(err)
	}
	p.Len = BaseLen
	if back != p {
		t.Fatalf("Parse = %+v, want %+v", back, p)
	}
}

func TestReflectedPacketWireFormat(t *testing.T) {
	want := vector(t, reflectorVector)
	if len(want) != BaseLen {
		t.Fatalf("vector is %d octets, want %d", len(want), BaseLen)
	}
	p := ReflectedPacket{
		Seq: 0x0a0b0c0d, Timestamp: NTPTimestamp(time.Unix(2, 25e7)), ErrorEstimate: NewErrorEstimate(true, true, 22, 1),
		ReceiveTime: NTPTimestamp(time.Unix(2, 0)), SenderSeq: 0x01020304, SenderTimestamp: NTPTimestamp(time.Unix(1, 5e8)),
		SenderErrorEstimate: 1, SenderTTL: 63,
	}
	got, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal:\n got %x\nwant %x", got, want)
	}
	back, err := ParseReflectedPacket(want)
	if err != nil {
		t.Fatal(err)
	}
	p.Len = BaseLen
	if back != p {
		t.Fatalf("Parse = %+v, want %+v", back, p)
	}
}

func TestParseIgnoresMBZ(t *testing.T) {
	s := vector(t, senderVector)
	for i := 14; i < BaseLen; i++ {
		s[i] = 0xff
	}
	if _, err := ParseTestPacket(s); err != nil {
		t.Errorf("sender packet with MBZ set: %v, want accepted (RFC 8762: ignored on receipt)", err)
	}
	r := vector(t, reflectorVector)
	for _, i := range []int{14, 15, 38, 39, 41, 42, 43} {
		r[i] = 0xff
	}
	if _, err := ParseReflectedPacket(r); err != nil {
		t.Errorf("reflector packet with MBZ set: %v, want accepted", err)
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	zeroMult := vector(t, senderVector)
	zeroMult[13] = 0
	zeroMultR := vector(t, reflectorVector)
	zeroMultR[13] = 0
	cases := []struct {
		name   string
		parse  func([]byte) error
		b      []byte
		reason Reason
	}{
		{"sender empty", parseT, nil, ReasonShort},
		{"sender 43 octets", parseT, vector(t, senderVector)[:43], ReasonShort},
		{"sender zero multiplier", parseT, zeroMult, ReasonErrorEstimate},
		{"reflector 43 octets", parseR, vector(t, reflectorVector)[:43], ReasonShort},
		{"reflector zero multiplier", parseR, zeroMultR, ReasonErrorEstimate},
	}
	for _, c := range cases {
		err := c.parse(c.b)
		var pe *PacketError
		if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) || pe.Reason != c.reason || pe.Len != len(c.b) {
			t.Errorf("%s: err %v, want a *PacketError with reason %v and length %d", c.name, err, c.reason, len(c.b))
		}
	}
}

func parseT(b []byte) error { _, err := ParseTestPacket(b); return err }
func parseR(b []byte) error { _, err := ParseReflectedPacket(b); return err }

func TestMarshalRefuses(t *testing.T) {
	for _, c := range []struct {
		p      TestPacket
		reason Reason
	}{
		{TestPacket{ErrorEstimate: 1, Len: 43}, ReasonShort},
		{TestPacket{ErrorEstimate: 1, Len: MaxProbeLen + 1}, ReasonLong},
		{TestPacket{ErrorEstimate: NewErrorEstimate(true, false, 3, 0)}, ReasonErrorEstimate},
	} {
		_, err := c.p.Marshal()
		var pe *PacketError
		if !errors.As(err, &pe) || pe.Reason != c.reason {
			t.Errorf("Marshal(%+v) = %v, want reason %v", c.p, err, c.reason)
		}
	}
	if b, err := (TestPacket{ErrorEstimate: 1, Len: 200}).Marshal(); err != nil || len(b) != 200 || !bytes.Equal(b[14:], make([]byte, 186)) {
		t.Errorf("padded probe: %x, %v; want 200 octets, MBZ zero", b, err)
	}
}

func TestReflect(t *testing.T) {
	rx := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for _, size := range []int{BaseLen, 45, 100, MaxProbeLen} {
		probe, err := TestPacket{Seq: 7, Timestamp: 0x1122334455667788, ErrorEstimate: 0x0102, Len: size}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for i := BaseLen; i < size; i++ {
			probe[i] = 0xee // padding, or TLVs linx does not implement
		}
		reply, err := Reflect(probe, rx, 61)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(reply) != size {
			t.Fatalf("size %d: reply of %d octets, want exactly the probe's", size, len(reply))
		}
		if !bytes.Equal(reply[BaseLen:], make([]byte, size-BaseLen)) {
			t.Errorf("size %d: octets past the base packet not zeroed", size)
		}
		r, err := ParseReflectedPacket(reply)
		if err != nil {
			t.Fatal(err)
		}
		want := ReflectedPacket{
			Seq: 7, Timestamp: NTPTimestamp(rx), ErrorEstimate: DefaultErrorEstimate, ReceiveTime: NTPTimestamp(rx),
			SenderSeq: 7, SenderTimestamp: 0x1122334455667788, SenderErrorEstimate: 0x0102, SenderTTL: 61, Len: size,
		}
		if r != want {
			t.Errorf("size %d: reply %+v, want %+v", size, r, want)
		}
		// Reflector MBZ octets are zero.
		for _, i := range []int{14, 15, 38, 39, 41, 42, 43} {
			if reply[i] != 0 {
				t.Errorf("size %d: MBZ octet %d = %#x", size, i, reply[i])
			}
		}
	}

	probe, _ := TestPacket{Seq: 7, ErrorEstimate: 1}.Marshal()
	reply, err := ReflectStateful(probe, rx, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := ParseReflectedPacket(reply); r.Seq != 3 || r.SenderSeq != 7 {
		t.Errorf("stateful reply seq %d sender seq %d, want 3 and 7", r.Seq, r.SenderSeq)
	}

	for _, bad := range [][]byte{nil, probe[:43], append(append([]byte{}, probe[:12]...), make([]byte, 32)...)} {
		if reply, err := Reflect(bad, rx, 64); reply != nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("Reflect(%x) = %x, %v; want no reply and ErrMalformed", bad, reply, err)
		}
	}
}

func TestNTPTimestamp(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want Timestamp
	}{
		{time.Unix(0, 0), 0x83aa7e80_00000000},
		{time.Unix(0, 5e8), 0x83aa7e80_80000000},
		{time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), 0}, // era 1 begins
		{time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC), 0x00000001_00000000},
	} {
		if got := NTPTimestamp(c.t); got != c.want {
			t.Errorf("NTPTimestamp(%v) = %#x, want %#x", c.t, uint64(got), uint64(c.want))
		}
		if back := c.want.Time(false); !back.Equal(c.t) {
			t.Errorf("%#x.Time = %v, want %v", uint64(c.want), back, c.t)
		}
	}
	now := time.Date(2026, 7, 1, 1, 2, 3, 456789012, time.UTC)
	if d := NTPTimestamp(now).Time(false).Sub(now).Abs(); d > time.Nanosecond {
		t.Errorf("NTP round trip off by %v", d)
	}
	// Differences are exact across the era wrap.
	a, b := time.Date(2036, 2, 7, 6, 28, 15, 750e6, time.UTC), time.Date(2036, 2, 7, 6, 28, 16, 250e6, time.UTC)
	if d := NTPTimestamp(b).Sub(NTPTimestamp(a), false); d != 500*time.Millisecond {
		t.Errorf("Sub across the era = %v, want 500ms", d)
	}
	if d := NTPTimestamp(a).Sub(NTPTimestamp(b), false); d != -500*time.Millisecond {
		t.Errorf("negative Sub = %v, want -500ms", d)
	}
}

func TestPTPTimestamp(t *testing.T) {
	at := time.Unix(1_700_000_000, 987654321)
	ts := PTPTimestamp(at)
	if ts != Timestamp(uint64(1_700_000_000)<<32|987654321) {
		t.Errorf("PTPTimestamp = %#x", uint64(ts))
	}
	if !ts.Time(true).Equal(at) {
		t.Errorf("Time = %v, want %v", ts.Time(true), at)
	}
	if d := PTPTimestamp(at.Add(1500*time.Millisecond)).Sub(ts, true); d != 1500*time.Millisecond {
		t.Errorf("Sub = %v", d)
	}
	if d := ts.Sub(PTPTimestamp(at.Add(1500*time.Millisecond)), true); d != -1500*time.Millisecond {
		t.Errorf("negative Sub = %v", d)
	}
}

func TestErrorEstimate(t *testing.T) {
	e := NewErrorEstimate(true, true, 22, 1)
	if e != 0xd601 {
		t.Errorf("NewErrorEstimate = %#04x, want 0xd601 (S, Z, scale 22, multiplier 1)", uint16(e))
	}
	if !e.Synchronized() || !e.PTP() || e.Scale() != 22 || e.Multiplier() != 1 {
		t.Errorf("fields of %#04x wrong", uint16(e))
	}
	if d := e.Duration(); d != 976562*time.Nanosecond { // 2^-10 s
		t.Errorf("Duration = %v, want 2^-10 s", d)
	}
	if d := NewErrorEstimate(false, false, 63, 255).Duration(); d != 1<<63-1 {
		t.Errorf("huge estimate = %v, want saturated", d)
	}
}
