package store

import "sync"

// gate counts the calls in progress on a store so that Close can refuse new
// ones and then wait for those already inside. The zero value is open.
type gate struct {
	// mu guards closed. enter holds it (read) across the check and
	// inflight.Add, and shut takes it (write) before inflight.Wait, so every
	// Add happens before the Wait that could see a zero count.
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
}

// enter admits one call, or returns false once shut has begun. Every true
// must be paired with leave.
func (g *gate) enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false
	}
	g.inflight.Add(1)
	return true
}

// leave ends a call admitted by enter.
func (g *gate) leave() { g.inflight.Done() }

// shut refuses new calls and waits for the admitted ones to leave. It
// reports whether this call did the shutting (false when already shut).
func (g *gate) shut() bool {
	g.mu.Lock()
	first := !g.closed
	g.closed = true
	g.mu.Unlock()
	g.inflight.Wait()
	return first
}
