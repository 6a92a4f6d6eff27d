package client

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine (a Conn reader, a fake server
// handler, an idle HTTP connection) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
