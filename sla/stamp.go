package sla

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// STAMP (RFC 8762) in unauthenticated mode. Both test packets are 44 octets at
// least; the session-sender pads its packet with MBZ octets to the size of the
// reflector's reply so that the exchange is symmetric (RFC 8762 §4.2, after
// RFC 6038), and a reflector never answers with more octets than it received.
//
// Session-sender test packet (RFC 8762 §4.2.1):
//
//	 0               1               2               3
//	+---------------+---------------+---------------+---------------+
//	|                        Sequence Number                        |  0
//	+---------------------------------------------------------------+
//	|                          Timestamp                            |  4
//	|                                                               |
//	+-------------------------------+-------------------------------+
//	|         Error Estimate        |                               | 12
//	+-------------------------------+                               |
//	|                         MBZ (30 octets)                       |
//	+---------------------------------------------------------------+ 44
//
// Session-reflector test packet (RFC 8762 §4.3.1):
//
//	+---------------------------------------------------------------+
//	|                        Sequence Number                        |  0
//	+---------------------------------------------------------------+
//	|                          Timestamp                            |  4
//	|                                                               |
//	+-------------------------------+-------------------------------+
//	|         Error Estimate        |           MBZ (2)             | 12
//	+-------------------------------+-------------------------------+
//	|                        Receive Timestamp                      | 16
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                 Session-Sender Sequence Number                | 24
//	+---------------------------------------------------------------+
//	|                  Session-Sender Timestamp                     | 28
//	|                                                               |
//	+-------------------------------+-------------------------------+
//	| Session-Sender Error Estimate |           MBZ (2)             | 36
//	+---------------+---------------+-------------------------------+
//	|Ses-Sender TTL |                   MBZ (3)                     | 40
//	+---------------+-----------------------------------------------+ 44
const (
	// Port is the UDP port STAMP session-reflectors listen on (RFC 8762 §4.1).
	Port = 862
	// BaseLen is the size of both unauthenticated test packets without padding.
	BaseLen = 44
	// MaxProbeLen is the largest probe the prober sends: a STAMP packet that still
	// fits a 1500-octet underlay MTU inside GRE with a key (1500 - 20 outer IPv4 -
	// 8 GRE - 20 inner IPv4 - 8 UDP).
	MaxProbeLen = 1444
)

// Offsets of the fields above.
const (
	offSeq        = 0
	offTimestamp  = 4
	offErrorEst   = 12
	offRxTime     = 16
	offSenderSeq  = 24
	offSenderTime = 28
	offSenderErr  = 36
	offSenderTTL  = 40
)

// Timestamp is a STAMP timestamp as carried on the wire. Its format is given by
// the Z flag of the error estimate that accompanies it: NTP 64-bit (seconds
// since 1900 and a 32-bit binary fraction) when Z is 0, PTPv2 truncated (seconds
// since 1970 and nanoseconds, 32 bits each) when Z is 1 (RFC 8762 §4.2.1, RFC 8186).
type Timestamp uint64

const ntpEpochOffset = 2208988800 // seconds from 1900-01-01 to 1970-01-01

// NTPTimestamp encodes t in NTP 64-bit format.
func NTPTimestamp(t time.Time) Timestamp {
	sec := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond())<<32 + 500_000_000) / 1_000_000_000
	return Timestamp(sec<<32 + frac) // a fraction that rounds up to 2^32 carries into seconds
}

// PTPTimestamp encodes t in PTPv2 truncated format. linx treats the seconds as
// Unix seconds; the TAI-UTC offset does not matter to differences, the only use
// linx makes of a peer's timestamps.
func PTPTimestamp(t time.Time) Timestamp {
	return Timestamp(uint64(uint32(t.Unix()))<<32 | uint64(t.Nanosecond()))
}

// Time decodes ts in the format ptp selects. NTP seconds below 2^31 are taken to
// be in NTP era 1 (after February 2036), PTP seconds as Unix seconds.
func (ts Timestamp) Time(ptp bool) time.Time {
	sec, low := int64(ts>>32), uint64(uint32(ts))
	if ptp {
		return time.Unix(sec, int64(low))
	}
	if sec < 1<<31 {
		sec += 1 << 32
	}
	ns := (low*1_000_000_000 + 1<<31) >> 32
	return time.Unix(sec-ntpEpochOffset, int64(ns))
}

// Sub returns ts - u for two timestamps of the same format. It is exact across
// the wrap of the 32-bit seconds, so differences of a peer's timestamps need
// neither its epoch nor its era.
func (ts Timestamp) Sub(u Timestamp, ptp bool) time.Duration {
	if ptp {
		ds := int64(int32(uint32(ts>>32) - uint32(u>>32)))
		dns := int64(uint32(ts)) - int64(uint32(u))
		return time.Duration(ds*1_000_000_000 + dns)
	}
	d := int64(ts - u) // 32.32 fixed point seconds
	// Split to keep the multiplication within 64 bits for |d| up to 2^31 s.
	sec, frac := d>>32, d&(1<<32-1)
	return time.Duration(sec*1_000_000_000 + (frac*1_000_000_000+1<<31)>>32)
}

// ErrorEstimate is the 16-bit field of RFC 4656 §4.1.2 with the Z flag of
// RFC 8186: S (bit 15) says the clock is synchronised to UTC, Z (bit 14) that
// the timestamps are in PTPv2 format, Scale (6 bits) and Multiplier (8 bits) give
// the error as Multiplier × 2^(Scale-32) seconds. Multiplier must not be zero.
type ErrorEstimate uint16

// NewErrorEstimate builds an error estimate.
func NewErrorEstimate(synchronized, ptp bool, scale, multiplier uint8) ErrorEstimate {
	e := ErrorEstimate(scale&0x3f)<<8 | ErrorEstimate(multiplier)
	if synchronized {
		e |= 1 << 15
	}
	if ptp {
		e |= 1 << 14
	}
	return e
}

// Synchronized reports the S flag.
func (e ErrorEstimate) Synchronized() bool { return e&(1<<15) != 0 }

// PTP reports the Z flag: the timestamps are in PTPv2 truncated format.
func (e ErrorEstimate) PTP() bool { return e&(1<<14) != 0 }

// Scale is the 6-bit exponent.
func (e ErrorEstimate) Scale() uint8 { return uint8(e>>8) & 0x3f }

// Multiplier is the 8-bit mantissa.
func (e ErrorEstimate) Multiplier() uint8 { return uint8(e) }

// Duration is the estimated error, Multiplier × 2^(Scale-32) s, saturated at the
// largest Duration.
func (e ErrorEstimate) Duration() time.Duration {
	ns := float64(e.Multiplier()) * 1e9
	for s := int(e.Scale()) - 32; s < 0; s++ {
		ns /= 2
	}
	for s := int(e.Scale()) - 32; s > 0; s-- {
		ns *= 2
	}
	if ns >= float64(1<<63-1) {
		return 1<<63 - 1
	}
	return time.Duration(ns)
}

// DefaultErrorEstimate is what linx's sender and reflector model put in their
// packets: NTP format, no claim of UTC synchronisation, an error of 2^-10 s
// (about 1 ms, Scale 22, Multiplier 1). Round-trip measurements do not depend on
// it; it is there because RFC 4656 forbids a zero multiplier.
var DefaultErrorEstimate = NewErrorEstimate(false, false, 22, 1)

// ErrMalformed is wrapped by every refusal of a STAMP packet; the *PacketError
// says why.
var ErrMalformed = errors.New("malformed STAMP packet")

// Reason says why a STAMP packet was refused. The XDP reflector is to count the
// same reasons as drop reasons.
type Reason uint8

const (
	// ReasonShort: fewer octets than the 44-octet base packet.
	ReasonShort Reason = iota + 1
	// ReasonErrorEstimate: an error estimate with a zero multiplier, which RFC 4656
	// §4.1.2 says makes the packet corrupt.
	ReasonErrorEstimate
	// ReasonLong: a packet to send that is larger than MaxProbeLen.
	ReasonLong
)

func (r Reason) String() string {
	switch r {
	case ReasonShort:
		return "short"
	case ReasonErrorEstimate:
		return "zero error-estimate multiplier"
	case ReasonLong:
		return "longer than the largest probe"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// PacketError is a refused STAMP packet.
type PacketError struct {
	Packet string // "session-sender" or "session-reflector"
	Reason Reason
	Len    int // octets received (or asked for)
}

func (e *PacketError) Error() string {
	return fmt.Sprintf("%s test packet of %d octets: %s", e.Packet, e.Len, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMalformed) hold.
func (e *PacketError) Unwrap() error { return ErrMalformed }

const (
	senderPacket    = "session-sender"
	reflectorPacket = "session-reflector"
)

// TestPacket is a session-sender test packet.
type TestPacket struct {
	Seq           uint32
	Timestamp     Timestamp // when the sender sent it
	ErrorEstimate ErrorEstimate
	// Len is the packet's size on the wire, padding included; 0 means BaseLen.
	Len int
}

// Marshal encodes p, MBZ octets zeroed.
func (p TestPacket) Marshal() ([]byte, error) {
	n := p.Len
	if n == 0 {
		n = BaseLen
	}
	if err := checkOutgoing(senderPacket, n, p.ErrorEstimate); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	binary.BigEndian.PutUint32(b[offSeq:], p.Seq)
	binary.BigEndian.PutUint64(b[offTimestamp:], uint64(p.Timestamp))
	binary.BigEndian.PutUint16(b[offErrorEst:], uint16(p.ErrorEstimate))
	return b, nil
}

func checkOutgoing(packet string, n int, e ErrorEstimate) error {
	switch {
	case n < BaseLen:
		return &PacketError{Packet: packet, Reason: ReasonShort, Len: n}
	case n > MaxProbeLen:
		return &PacketError{Packet: packet, Reason: ReasonLong, Len: n}
	case e.Multiplier() == 0:
		return &PacketError{Packet: packet, Reason: ReasonErrorEstimate, Len: n}
	}
	return nil
}

// ParseTestPacket decodes a session-sender test packet. MBZ octets are ignored,
// as RFC 8762 asks of a receiver.
func ParseTestPacket(b []byte) (TestPacket, error) {
	if len(b) < BaseLen {
		return TestPacket{}, &PacketError{Packet: senderPacket, Reason: ReasonShort, Len: len(b)}
	}
	p := TestPacket{
		Seq:           binary.BigEndian.Uint32(b[offSeq:]),
		Timestamp:     Timestamp(binary.BigEndian.Uint64(b[offTimestamp:])),
		ErrorEstimate: ErrorEstimate(binary.BigEndian.Uint16(b[offErrorEst:])),
		Len:           len(b),
	}
	if p.ErrorEstimate.Multiplier() == 0 {
		return TestPacket{}, &PacketError{Packet: senderPacket, Reason: ReasonErrorEstimate, Len: len(b)}
	}
	return p, nil
}

// ReflectedPacket is a session-reflector test packet.
type ReflectedPacket struct {
	// Seq is the reflector's sequence number: a copy of SenderSeq in stateless
	// mode, the reflector's own count of replies in the session in stateful mode.
	Seq           uint32
	Timestamp     Timestamp // when the reflector sent the reply (T3)
	ErrorEstimate ErrorEstimate
	ReceiveTime   Timestamp // when the reflector received the probe (T2), same format

	SenderSeq           uint32
	SenderTimestamp     Timestamp // T1, copied from the probe
	SenderErrorEstimate ErrorEstimate
	SenderTTL           uint8 // TTL of the probe's IPv4 header as received
	// Len is the packet's size on the wire; 0 means BaseLen.
	Len int
}

// Marshal encodes p, MBZ octets and padding zeroed.
func (p ReflectedPacket) Marshal() ([]byte, error) {
	n := p.Len
	if n == 0 {
		n = BaseLen
	}
	if err := checkOutgoing(reflectorPacket, n, p.ErrorEstimate); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	p.put(b)
	return b, nil
}

func (p ReflectedPacket) put(b []byte) {
	binary.BigEndian.PutUint32(b[offSeq:], p.Seq)
	binary.BigEndian.PutUint64(b[offTimestamp:], uint64(p.Timestamp))
	binary.BigEndian.PutUint16(b[offErrorEst:], uint16(p.ErrorEstimate))
	binary.BigEndian.PutUint64(b[offRxTime:], uint64(p.ReceiveTime))
	binary.BigEndian.PutUint32(b[offSenderSeq:], p.SenderSeq)
	binary.BigEndian.PutUint64(b[offSenderTime:], uint64(p.SenderTimestamp))
	binary.BigEndian.PutUint16(b[offSenderErr:], uint16(p.SenderErrorEstimate))
	b[offSenderTTL] = p.SenderTTL
}

// ParseReflectedPacket decodes a session-reflector test packet. MBZ octets are
// ignored. The reflector's error estimate must have a non-zero multiplier; the
// copy of the sender's is the sender's business and is not checked.
func ParseReflectedPacket(b []byte) (ReflectedPacket, error) {
	if len(b) < BaseLen {
		return ReflectedPacket{}, &PacketError{Packet: reflectorPacket, Reason: ReasonShort, Len: len(b)}
	}
	p := ReflectedPacket{
		Seq:                 binary.BigEndian.Uint32(b[offSeq:]),
		Timestamp:           Timestamp(binary.BigEndian.Uint64(b[offTimestamp:])),
		ErrorEstimate:       ErrorEstimate(binary.BigEndian.Uint16(b[offErrorEst:])),
		ReceiveTime:         Timestamp(binary.BigEndian.Uint64(b[offRxTime:])),
		SenderSeq:           binary.BigEndian.Uint32(b[offSenderSeq:]),
		SenderTimestamp:     Timestamp(binary.BigEndian.Uint64(b[offSenderTime:])),
		SenderErrorEstimate: ErrorEstimate(binary.BigEndian.Uint16(b[offSenderErr:])),
		SenderTTL:           b[offSenderTTL],
		Len:                 len(b),
	}
	if p.ErrorEstimate.Multiplier() == 0 {
		return ReflectedPacket{}, &PacketError{Packet: reflectorPacket, Reason: ReasonErrorEstimate, Len: len(b)}
	}
	return p, nil
}

// Reflect is the model of linx's stateless session-reflector: the reply to the
// session-sender test packet probe, received at rxTime with IPv4 TTL ttl. The
// reply has exactly the probe's size (octets past the base packet, padding or
// RFC 8972 TLVs linx does not implement, come back zeroed), its sequence number
// is the probe's (stateless mode, RFC 8762 §4.3), and it is sent at the instant it
// was received (Timestamp = Receive Timestamp), as an XDP reflector that answers
// in the same program run does. Timestamps are NTP with DefaultErrorEstimate.
// A malformed probe is refused with a *PacketError, never answered.
func Reflect(probe []byte, rxTime time.Time, ttl uint8) ([]byte, error) {
	p, err := ParseTestPacket(probe)
	if err != nil {
		return nil, fmt.Errorf("reflect: %w", err)
	}
	return reflect(p, p.Seq, rxTime, ttl), nil
}

// ReflectStateful is Reflect in stateful mode: the reply carries seq, the
// reflector's own count of replies in this session (starting at 0), which lets
// the sender tell forward from backward loss.
func ReflectStateful(probe []byte, rxTime time.Time, ttl uint8, seq uint32) ([]byte, error) {
	p, err := ParseTestPacket(probe)
	if err != nil {
		return nil, fmt.Errorf("reflect: %w", err)
	}
	return reflect(p, seq, rxTime, ttl), nil
}

func reflect(p TestPacket, seq uint32, rx time.Time, ttl uint8) []byte {
	ts := NTPTimestamp(rx)
	b := make([]byte, p.Len) // never larger than the probe
	ReflectedPacket{
		Seq: seq, Timestamp: ts, ErrorEstimate: DefaultErrorEstimate, ReceiveTime: ts,
		SenderSeq: p.Seq, SenderTimestamp: p.Timestamp, SenderErrorEstimate: p.ErrorEstimate,
		SenderTTL: ttl,
	}.put(b)
	return b
}
