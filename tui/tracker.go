package tui

import "sync"

// tracker counts running action goroutines so quitting can wait for them.
type tracker struct {
	// mu guards n and closed; cond is signalled when n drops to 0.
	mu     sync.Mutex
	cond   *sync.Cond
	n      int
	closed bool
}

func newTracker() *tracker {
	t := &tracker{}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// begin counts one more goroutine; false once closed (the caller must not
// run then).
func (t *tracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

// end counts one goroutine fewer.
func (t *tracker) end() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		t.cond.Broadcast()
	}
	t.mu.Unlock()
}

// closeAndWait refuses new goroutines and waits for the running ones.
func (t *tracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	for t.n > 0 {
		t.cond.Wait()
	}
	t.mu.Unlock()
}
