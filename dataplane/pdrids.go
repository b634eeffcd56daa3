package dataplane

import "container/heap"

// PDRIDs hands out PDR ids as the contract says: the smallest free one, from 1.
// Both implementations use it, so a controller (and a restart that replays its
// writes) sees the same ids whichever data path runs. Not safe for concurrent
// use: callers hold their own lock.
type PDRIDs struct {
	free idHeap // free ids below next, smallest first
	next PDRID  // every id >= next is free
}

// Alloc takes the smallest free id.
func (a *PDRIDs) Alloc() PDRID {
	if a.next == 0 {
		a.next = 1
	}
	if len(a.free) > 0 {
		return heap.Pop(&a.free).(PDRID)
	}
	a.next++
	return a.next - 1
}

// Release frees ids (zeros are ignored).
func (a *PDRIDs) Release(ids ...PDRID) {
	for _, id := range ids {
		if id != 0 {
			heap.Push(&a.free, id)
		}
	}
}

// Reset makes exactly the ids in used taken (none: every id is free again).
func (a *PDRIDs) Reset(used map[PDRID]PDR) {
	var top PDRID
	for id := range used {
		top = max(top, id)
	}
	a.next, a.free = top+1, a.free[:0]
	for id := PDRID(1); id < top; id++ {
		if _, ok := used[id]; !ok {
			a.free = append(a.free, id) // ascending: already a heap
		}
	}
}

type idHeap []PDRID

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(PDRID)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
