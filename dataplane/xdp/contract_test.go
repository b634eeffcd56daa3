package xdp

import (
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/dataplanetest"
	"github.com/linx-sdwan/linx/internal/testenv"
)

func TestContract(t *testing.T) {
	testenv.RequireRoot(t)
	dataplanetest.Run(t, func(t *testing.T, o dataplane.Options) dataplane.Dataplane {
		d, err := Load(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	})
}
