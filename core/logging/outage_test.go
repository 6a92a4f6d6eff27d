package logging_test

import (
	"sync"
	"testing"

	"github.com/dmchat/dmchat/core/logging"
)

// TestOutageFirstFailureAndCount: of many concurrent failures exactly one
// starts the outage, the success after them reports them all, and the
// next failure starts a new outage.
func TestOutageFirstFailureAndCount(t *testing.T) {
	var o logging.Outage
	if n := o.Succeeded(); n != 0 {
		t.Fatalf("Succeeded with no failure = %d, want 0", n)
	}
	const callers = 50
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first int
	)
	for range callers {
		wg.Go(func() {
			if o.Failed() {
				mu.Lock()
				first++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != 1 {
		t.Fatalf("%d failures started the outage, want 1", first)
	}
	if n := o.Succeeded(); n != callers {
		t.Fatalf("Succeeded = %d, want %d", n, callers)
	}
	if !o.Failed() {
		t.Fatal("the first failure after a success did not start a new outage")
	}
}
