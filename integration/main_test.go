package integration

import (
	"os"
	"testing"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}
