// Package gate bounds work that is dear in CPU (password hashing, long
// history reads): a fixed number of callers run it at once, a bounded
// number wait for a turn, and any more are refused at once with ErrBusy,
// so a flood costs a fixed share of the machine and is answered "try
// again shortly" instead of piling up goroutines, connections and waits.
package gate

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrBusy is returned when the queue is full: the caller should answer
// "try again shortly" (HTTP 429 with Retry-After) rather than queue more.
var ErrBusy = errors.New("gate: too many callers waiting")

// Gate lets a fixed number of callers run at once and a bounded number
// wait. Safe for concurrent use.
type Gate struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
}

// New returns a gate letting concurrency callers (at least one) run at
// once and queue more wait for a turn (none when queue <= 0).
func New(concurrency, queue int) *Gate {
	return &Gate{slots: make(chan struct{}, max(1, concurrency)), queue: int64(max(0, queue))}
}

// Do runs fn when a slot is free. It returns ErrBusy without running fn
// when the queue is full, and ctx's error if ctx ends while waiting; a
// waiting caller is parked, costing no CPU.
func (g *Gate) Do(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// Waiting is how many callers wait for a slot now.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }
