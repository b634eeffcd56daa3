package p4rtsrv

import (
	"hash/maphash"
	"iter"

	"github.com/linx-sdwan/linx/translate"
)

// entryIndex is the stored table entries by key. A map keyed by translate.Key
// (192 bytes) would hold every key twice, once in the map and once in the
// entry; at 100 000 PDRs that is ~20 MB of the server's memory. The index is
// keyed by the key's hash instead and the key is read from the entry; an
// entry whose key's hash another key has already (64-bit hashes: rarely) is
// held by its key in more.
type entryIndex struct {
	seed  maphash.Seed
	m     map[uint64]*stored
	more  map[translate.Key]*stored
	n     int
	hashK func(translate.Key) uint64 // tests: force collisions (nil: maphash)
}

func newEntryIndex() entryIndex {
	return entryIndex{seed: maphash.MakeSeed(), m: map[uint64]*stored{}}
}

func (x *entryIndex) hash(k translate.Key) uint64 {
	if x.hashK != nil {
		return x.hashK(k)
	}
	return maphash.Comparable(x.seed, k)
}

// hasher returns x's hash function, for another goroutine to hash keys ahead
// (it reads nothing of x that changes).
func (x *entryIndex) hasher() func(translate.Key) uint64 {
	y := entryIndex{seed: x.seed, hashK: x.hashK}
	return y.hash
}

// get returns the entry of key k.
func (x *entryIndex) get(k translate.Key) (*stored, bool) { return x.getH(x.hash(k), k) }

// getH is get of a key whose hash is h.
func (x *entryIndex) getH(h uint64, k translate.Key) (*stored, bool) {
	if st := x.m[h]; st != nil && st.is(k) {
		return st, true
	}
	if len(x.more) > 0 {
		st, ok := x.more[k]
		return st, ok
	}
	return nil, false
}

// put stores st under its key, replacing the entry of that key if any.
func (x *entryIndex) put(st *stored) { x.putH(x.hash(st.key()), st) }

// putH is put of an entry whose key's hash is h.
func (x *entryIndex) putH(h uint64, st *stored) {
	cur := x.m[h]
	switch {
	case cur == nil:
		x.m[h] = st
		x.n++
	case cur == st:
	default:
		k := st.key()
		if cur.is(k) {
			x.m[h] = st
			return
		}
		if x.more == nil {
			x.more = map[translate.Key]*stored{}
		}
		if _, ok := x.more[k]; !ok {
			x.n++
		}
		x.more[k] = st
	}
}

// del removes the entry of key k, if any.
func (x *entryIndex) del(k translate.Key) {
	h := x.hash(k)
	if cur := x.m[h]; cur != nil && cur.is(k) {
		delete(x.m, h)
		x.n--
		for k2, st := range x.more { // one of the same hash takes its place
			if x.hash(k2) == h {
				delete(x.more, k2)
				x.m[h] = st
				break
			}
		}
		return
	}
	if _, ok := x.more[k]; ok {
		delete(x.more, k)
		x.n--
	}
}

// len is the number of entries.
func (x *entryIndex) len() int { return x.n }

// all yields every entry, in no particular order. The index must not change
// during the iteration.
func (x *entryIndex) all() iter.Seq[*stored] {
	return func(yield func(*stored) bool) {
		for _, st := range x.m {
			if !yield(st) {
				return
			}
		}
		for _, st := range x.more {
			if !yield(st) {
				return
			}
		}
	}
}
