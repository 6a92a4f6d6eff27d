package store

import "github.com/dmchat/dmchat/core/internal/guard"

// gate counts the calls in progress on a store so that Close can refuse new
// ones and then wait for those already inside. The zero value is open. It
// is the project's one admission guard under the store's own names, so
// the store's call sites read as they always did.
type gate struct{ g guard.Group }

// enter admits one call, or returns false once shut has begun. Every true
// must be paired with leave.
func (g *gate) enter() bool { return g.g.Enter() }

// leave ends a call admitted by enter.
func (g *gate) leave() { g.g.Leave() }

// shut refuses new calls and waits for the admitted ones to leave. It
// reports whether this call did the shutting (false when already shut).
// No deadline: every admitted call is bounded by its own context.
func (g *gate) shut() bool { return g.g.Shut() }
