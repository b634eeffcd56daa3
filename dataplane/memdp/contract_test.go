package memdp

import (
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/dataplanetest"
)

func TestContract(t *testing.T) {
	dataplanetest.Run(t, func(t *testing.T, o dataplane.Options) dataplane.Dataplane {
		d := New(o)
		t.Cleanup(func() { d.Close() })
		return d
	})
}
