// Package guard is the one place where "start a goroutine unless shutting
// down" is written: a Group admits work until it is closed, then waits,
// within a deadline, for what it admitted. The hub's writers and close
// handshakes, the node's background loops, the store's calls and the
// sandbox's delayed work all go through one.
package guard

import (
	"context"
	"sync"
	"sync/atomic"
)

// Group admits goroutines (Go) and calls (Enter/Leave) until Close, and
// lets the closer wait for the admitted ones (Wait). The zero value is an
// open group. It is safe for concurrent use; Close is idempotent.
type Group struct {
	// mu orders admission against Close: Enter holds it (read) across the
	// check of closed and wg.Add, and Close takes it (write) to set closed,
	// so every Add happens before the Wait that could see a zero count. A
	// read lock, because admission happens many times a second concurrently
	// (every socket writer) and only Close needs to exclude it.
	mu     sync.RWMutex
	closed atomic.Bool // written under mu; read without it by Closed
	wg     sync.WaitGroup
}

// Enter admits one call, or reports false once Close has begun. Every true
// must be paired with Leave.
func (g *Group) Enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed.Load() {
		return false
	}
	g.wg.Add(1)
	return true
}

// Leave ends a call admitted by Enter.
func (g *Group) Leave() { g.wg.Done() }

// Go runs fn in a goroutine that Wait waits for, unless the group is
// closed; it reports whether fn was started.
func (g *Group) Go(fn func()) bool {
	if !g.Enter() {
		return false
	}
	go func() {
		defer g.Leave()
		fn()
	}()
	return true
}

// Close refuses everything from now on. It reports whether this call
// closed the group (false if it was closed already).
func (g *Group) Close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.closed.Swap(true)
}

// Closed reports whether Close was called. It takes no lock: a check that
// needs to exclude a concurrent Close must use Enter.
func (g *Group) Closed() bool { return g.closed.Load() }

// Wait blocks until every admitted goroutine and call has ended, or ctx
// ends (its error is returned; what is still running keeps running, and a
// later Wait can wait for it again). Call it after Close, so nothing new
// is admitted meanwhile.
func (g *Group) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shut is Close then Wait without a deadline: for owners whose admitted
// work is bounded by itself (a store's calls). It reports what Close did.
func (g *Group) Shut() bool {
	first := g.Close()
	g.wg.Wait()
	return first
}
