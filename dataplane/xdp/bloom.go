package xdp

// The Bloom filter in front of pdr_entries (pdr_bloom in bpf/maps.h): one bit
// per hashed masked key, so that the tuple search skips, with an inlined array
// read, each tuple under which the packet's masked key has no entry, instead of
// a hash lookup into cold memory. Only a clear bit is trusted (absence), so the
// invariant is: every key present in pdr_entries has its bit set. Keys' bits are
// set before the keys are written; deleted keys leave their bits (false
// positives, harmless) until the filter is rebuilt from the keys present, which
// sets every present key's bit in every word it rewrites.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
)

// bloomBitsPerEntry sizes the filter: about 1/8 of the bits set when the
// entries table is full, fewer false positives below that.
const bloomBitsPerEntry = 8

type bloom struct {
	words []uint64 // Go's copy of pdr_bloom
	stale int      // bits set since the last rebuild: an upper bound of the stale ones
}

// bloomWords is the number of 64-bit words of a filter for maxEntries keys: a
// power of two.
func bloomWords(maxEntries int) int {
	bits := 64
	for bits < maxEntries*bloomBitsPerEntry && bits < 1<<31 {
		bits <<= 1
	}
	return bits / 64
}

// bloomBit is pdr_bloom_hash of bpf/classify.h: the bit of a masked key, the key
// read as the five little-endian 32-bit words of its C layout.
func bloomBit(k linxPdrKey, mask uint32) uint32 {
	w0, w1, w2 := uint64(k.Tuple), uint64(k.Src), uint64(k.Dst)
	w3 := uint64(k.Sport) | uint64(k.Dport)<<16
	w4 := uint64(k.InPort) | uint64(k.Proto)<<16 | uint64(k.DscpDir)<<24
	h := (w1<<32 | w0) * 0x9E3779B97F4A7C15
	h ^= (w3<<32 | w2) * 0xC2B2AE3D27D4EB4F
	h ^= w4 * 0x165667B19E3779F9
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	return uint32(h) & mask
}

// bloomBit6 is pdr6_bloom_hash of bpf/classify6.h for a masked IPv6 key.
func bloomBit6(k linxPdr6Key, mask uint32) uint32 {
	w := [11]uint32{k.Tuple, k.Src[0], k.Src[1], k.Src[2], k.Src[3], k.Dst[0], k.Dst[1], k.Dst[2], k.Dst[3],
		uint32(k.Sport) | uint32(k.Dport)<<16, uint32(k.InPort) | uint32(k.Proto)<<16 | uint32(k.DscpDir)<<24}
	h := uint64(0x6A09E667F3BCC909)
	for _, x := range w {
		h = (h ^ uint64(x)) * 0x9E3779B97F4A7C15
	}
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	return uint32(h) & mask
}

// bloomBitOf is the filter bit of a classifier key of either family.
func (d *Dataplane) bloomBitOf(k entryKey) uint32 {
	if k.val.v6 {
		return bloomBit6(kernelKey6(k), d.bloom.mask())
	}
	return bloomBit(kernelKey(k), d.bloom.mask())
}

func (b *bloom) mask() uint32 { return uint32(len(b.words)*64 - 1) }

// bloomAdd sets the bits (bloomBitOf) of keys about to be written. d.mu is
// held. The words that changed are collected once each (a word's first new
// bit adds it), in a list rather than a map: a 100 000-PDR batch changes tens
// of thousands.
func (d *Dataplane) bloomAdd(bits []uint32) error {
	var changed []uint32
	seen := make([]uint64, (len(d.bloom.words)+63)/64) // words already in changed
	for _, bit := range bits {
		w, m := bit>>6, uint64(1)<<(bit&63)
		if d.bloom.words[w]&m == 0 {
			d.bloom.words[w] |= m
			d.bloom.stale++
			if seen[w>>6]&(1<<(w&63)) == 0 {
				seen[w>>6] |= 1 << (w & 63)
				changed = append(changed, w)
			}
		}
	}
	return d.writeBloom(changed)
}

// bloomTidy rebuilds the filter once the bits set since the last rebuild
// outnumber the keys present (and the filter's words): a rebuild's cost is then
// amortised over the writes that made the bits. Called after a successful apply,
// when pdr_entries holds exactly d.cls.entries. d.mu is held.
func (d *Dataplane) bloomTidy() error {
	if d.bloom.stale <= max(d.cls.entries.len(), len(d.bloom.words)) {
		return nil
	}
	return d.bloomRebuild()
}

// bloomRebuild rewrites the filter from the keys pdr_entries holds
// (d.cls.entries), clearing the bits only deleted keys had. d.mu is held.
func (d *Dataplane) bloomRebuild() error {
	fresh := make([]uint64, len(d.bloom.words))
	for k := range d.cls.entries.keys() {
		bit := d.bloomBitOf(k)
		fresh[bit>>6] |= 1 << (bit & 63)
	}
	var changed []uint32
	for i := range fresh {
		if fresh[i] != d.bloom.words[i] {
			changed = append(changed, uint32(i))
		}
	}
	d.bloom.words = fresh
	d.bloom.stale = 0
	return d.writeBloom(changed)
}

// writeBloom writes the words listed in changed (each once).
func (d *Dataplane) writeBloom(changed []uint32) error {
	if len(changed) == 0 {
		return nil
	}
	slices.Sort(changed)
	vals := make([]uint64, len(changed))
	for i, w := range changed {
		vals[i] = d.bloom.words[w]
	}
	if err := batchPut(d.objs.PdrBloom, changed, vals); err != nil {
		return fmt.Errorf("write pdr filter: %w", err)
	}
	return nil
}

// readBloom loads Go's copy of the filter from the map (pinned by an earlier
// load: its bits cover the keys pinned pdr_entries holds).
func (d *Dataplane) readBloom() error {
	n := len(d.bloom.words)
	keys := make([]uint32, n)
	vals := make([]uint64, n)
	var cursor ebpf.MapBatchCursor
	got, err := d.objs.PdrBloom.BatchLookup(&cursor, keys, vals, nil)
	if err == nil || errors.Is(err, ebpf.ErrKeyNotExist) {
		for i := range got {
			if int(keys[i]) < n {
				d.bloom.words[keys[i]] = vals[i]
			}
		}
		if got == n || errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
	}
	for i := range n { // no batch support: one lookup per word
		if err := d.objs.PdrBloom.Lookup(uint32(i), &d.bloom.words[i]); err != nil {
			return fmt.Errorf("read pdr filter: %w", err)
		}
	}
	return nil
}
