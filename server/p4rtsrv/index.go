package p4rtsrv

import (
	"hash/maphash"
	"iter"

	"github.com/linx-sdwan/linx/translate"
)

// entryIndex is the stored table entries by key. A map keyed by translate.Key
// (192 bytes) would hold every key twice, once in the map and once in the
// entry; at 100 000 PDRs that is ~15 MB of the server's memory. The index is
// keyed by the key's hash instead and the key is read from the entry; entries
// whose keys share a hash are chained.
type entryIndex struct {
	seed  maphash.Seed
	m     map[uint64]*stored
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
	for st := x.m[h]; st != nil; st = st.next {
		if st.is(k) {
			return st, true
		}
	}
	return nil, false
}

// put stores st under its key, replacing the entry of that key if any.
func (x *entryIndex) put(st *stored) { x.putH(x.hash(st.key()), st) }

// putH is put of an entry whose key's hash is h.
func (x *entryIndex) putH(h uint64, st *stored) {
	prev := (*stored)(nil)
	var k translate.Key
	if x.m[h] != nil {
		k = st.key()
	}
	for cur := x.m[h]; cur != nil; prev, cur = cur, cur.next {
		if cur.is(k) {
			st.next = cur.next
			cur.next = nil
			if prev == nil {
				x.m[h] = st
			} else {
				prev.next = st
			}
			return
		}
	}
	st.next = x.m[h]
	x.m[h] = st
	x.n++
}

// del removes the entry of key k, if any.
func (x *entryIndex) del(k translate.Key) {
	h := x.hash(k)
	prev := (*stored)(nil)
	for cur := x.m[h]; cur != nil; prev, cur = cur, cur.next {
		if !cur.is(k) {
			continue
		}
		switch {
		case prev != nil:
			prev.next = cur.next
		case cur.next != nil:
			x.m[h] = cur.next
		default:
			delete(x.m, h)
		}
		cur.next = nil
		x.n--
		return
	}
}

// len is the number of entries.
func (x *entryIndex) len() int { return x.n }

// all yields every entry, in no particular order. The index must not change
// during the iteration.
func (x *entryIndex) all() iter.Seq[*stored] {
	return func(yield func(*stored) bool) {
		for _, st := range x.m {
			for ; st != nil; st = st.next {
				if !yield(st) {
					return
				}
			}
		}
	}
}
