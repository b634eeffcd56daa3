package translate

import (
	"errors"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"

	"github.com/linx-sdwan/linx/p4info"
)

func TestNew(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	// Sizes may differ from linx's defaults.
	idx := p4info.MustNewIndex(p4info.New(p4info.Sizes{Ports: 8, Tunnels: 16, LBRMaxGroupSize: 4}))
	tr, err := New(idx)
	if err != nil || tr.Index() != idx {
		t.Fatal(err)
	}
	// Another pipeline is refused.
	other := p4info.New(p4info.Sizes{})
	other.Tables[0].MatchFields[2].Bitwidth = 16
	var mm *p4info.MismatchError
	if _, err := New(p4info.MustNewIndex(other)); !errors.As(err, &mm) {
		t.Fatalf("mismatching P4Info: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustNew did not panic")
		}
	}()
	empty := &p4configv1.P4Info{}
	MustNew(p4info.MustNewIndex(empty))
}
