package store

import (
	"sync/atomic"
	"testing"
	"time"
)

// counter counts calls of a committer hook and lets a test wait for a
// count: each call leaves a token on ch, and a waiter re-reads the count
// after every token, so no call is missed.
type counter struct {
	n  atomic.Int64
	ch chan struct{}
}

func newCounter() *counter { return &counter{ch: make(chan struct{}, 1)} }

func (c *counter) inc() {
	c.n.Add(1)
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// waitFor waits until the count reaches n, for at most 5 s.
func (c *counter) waitFor(t *testing.T, n int64, what string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for c.n.Load() < n {
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("%s: %d of %d within 5 s", what, c.n.Load(), n)
		}
	}
}

// watchQueue counts the requests c's submit queues and those its writer
// takes. Call it before the first request it should count is queued.
func watchQueue(c *committer) (queued, taken *counter) {
	queued, taken = newCounter(), newCounter()
	c.onQueued, c.onTaken = queued.inc, taken.inc
	return queued, taken
}
