package tui

import (
	"testing"

	"go.uber.org/goleak"
)

// teatestSignalWatcher is teatest's goroutine waiting for SIGINT, which
// lives as long as the test binary.
const teatestSignalWatcher = "github.com/charmbracelet/x/exp/teatest.NewTestModel.func2"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction(teatestSignalWatcher))
}
