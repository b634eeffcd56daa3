package translate

import (
	"errors"
	"sync"

	"github.com/linx-sdwan/linx/p4info"
)

// Translator converts P4Runtime entities of linx's pipeline to and from typed
// rules. It is immutable and safe for concurrent use.
type Translator struct {
	idx      *p4info.Index
	selector *p4info.ActionProfile
}

// reference is linx's own P4Info, whose IDs, match kinds and bit widths the
// translation is written for.
var reference = sync.OnceValue(func() *p4info.Index { return p4info.MustNewIndex(p4info.New(p4info.Sizes{})) })

// New returns a translator for the pipeline described by idx, normally the index of
// the P4Info a controller pushed. idx must describe linx's pipeline (the same IDs,
// match kinds, bit widths, action scopes... as package p4info; sizes may differ):
// otherwise New returns the *p4info.MismatchError of (*p4info.Index).Compatible.
// Sizes (action selector max_group_size, counter sizes) are taken from idx.
func New(idx *p4info.Index) (*Translator, error) {
	if idx == nil {
		return nil, errors.New("translate: no P4Info index")
	}
	ref := reference()
	if d := ref.Diff(idx); len(d) > 0 {
		return nil, &p4info.MismatchError{Pipeline: ref.PkgName(), Differences: d}
	}
	sel, _ := idx.ActionProfile(p4info.IDActionProfileLBRSelector)
	return &Translator{idx: idx, selector: sel}, nil
}

// MustNew is New for indexes known to describe linx's pipeline: it panics on error.
func MustNew(idx *p4info.Index) *Translator {
	t, err := New(idx)
	if err != nil {
		panic(err)
	}
	return t
}

// Index returns the P4Info index the translator was built with.
func (t *Translator) Index() *p4info.Index { return t.idx }
