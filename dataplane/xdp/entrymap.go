package xdp

import (
	"iter"
)

// entryMap is the classifier's entries by key. An IPv4 key is held as the 20
// bytes it has, not as an entryKey (56 bytes, mostly IPv6 addresses): at
// 100 000 PDRs that halves the map, and hashing a key costs less.
type entryMap struct {
	m4 map[key4]*entry
	m6 map[entryKey]*entry
}

// key4 is an IPv4 entryKey.
type key4 struct {
	tuple        uint32
	src, dst     uint32
	sport, dport uint16
	inPort       uint16
	proto        uint8
	dscpDir      uint8
}

func newEntryMap(n4 int) entryMap {
	return entryMap{m4: make(map[key4]*entry, n4), m6: map[entryKey]*entry{}}
}

func toKey4(k entryKey) key4 {
	v := k.val
	return key4{k.tuple, v.src, v.dst, v.sport, v.dport, v.inPort, v.proto, v.dscpDir}
}

func (k key4) entryKey() entryKey {
	return entryKey{k.tuple, fields{src: k.src, dst: k.dst, sport: k.sport, dport: k.dport,
		inPort: k.inPort, proto: k.proto, dscpDir: k.dscpDir}}
}

// get returns the entry of k, nil if none.
func (m *entryMap) get(k entryKey) *entry {
	if k.val.v6 {
		return m.m6[k]
	}
	return m.m4[toKey4(k)]
}

func (m *entryMap) put(k entryKey, e *entry) {
	if k.val.v6 {
		m.m6[k] = e
	} else {
		m.m4[toKey4(k)] = e
	}
}

func (m *entryMap) del(k entryKey) {
	if k.val.v6 {
		delete(m.m6, k)
	} else {
		delete(m.m4, toKey4(k))
	}
}

func (m *entryMap) len() int { return len(m.m4) + len(m.m6) }

// all yields every entry, IPv4 first, in no particular order.
func (m *entryMap) all() iter.Seq2[entryKey, *entry] {
	return func(yield func(entryKey, *entry) bool) {
		for k, e := range m.m4 {
			if !yield(k.entryKey(), e) {
				return
			}
		}
		for k, e := range m.m6 {
			if !yield(k, e) {
				return
			}
		}
	}
}

// keys yields every key.
func (m *entryMap) keys() iter.Seq[entryKey] {
	return func(yield func(entryKey) bool) {
		for k := range m.all() {
			if !yield(k) {
				return
			}
		}
	}
}
