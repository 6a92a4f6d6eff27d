package node

import (
	"context"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/bus"
)

// Bounds of the state log: at most maxHeldStates unpublished states, and
// the last maxRecentStates published ones, kept for resyncWindow.
const (
	maxHeldStates   = 10000
	maxRecentStates = 10000
	resyncWindow    = 30 * time.Second
)

// stateLog keeps delivery states for the bus's bad moments. Messages need
// nothing like it (every instance re-reads undelivered messages from the
// store after an outage), but a state leaves no trace in the store that
// the sender's instance could look for. So states that could not be
// published are held until the bus returns, and states published lately
// are published again when an instance announces a resync: it may have
// been unsubscribed when they first went out. Sockets drop repeats
// (hub.Socket.SendState), so publishing one twice is harmless.
//
// mu guards every field.
type stateLog struct {
	mu     sync.Mutex
	held   []bus.Event
	taken  uint64       // how many times held was taken (see hold)
	recent []timedEvent // ring of published states, oldest at next
	next   int
}

type timedEvent struct {
	ev bus.Event
	at time.Time
}

// generation is the count of takes so far; hold compares against it.
func (l *stateLog) generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taken
}

// hold keeps ev for the bus's return and reports whether the held states
// were taken since generation seen: then the take that was meant to carry
// ev ran before ev was held, and the caller must publish it.
func (l *stateLog) hold(ev bus.Event, seen uint64) (missedTake bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) >= maxHeldStates {
		l.held = l.held[1:]
	}
	l.held = append(l.held, ev)
	return l.taken != seen
}

func (l *stateLog) published(ev bus.Event, now time.Time) {
	l.mu.Lock()
	if len(l.recent) < maxRecentStates {
		l.recent = append(l.recent, timedEvent{ev, now})
	} else {
		l.recent[l.next] = timedEvent{ev, now}
		l.next = (l.next + 1) % maxRecentStates
	}
	l.mu.Unlock()
}

// takeHeld returns the unpublished states and forgets them.
func (l *stateLog) takeHeld() []bus.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.held
	l.held = nil
	l.taken++
	return out
}

// takeHeldOf returns the unpublished states of senders and forgets them,
// keeping the others.
func (l *stateLog) takeHeldOf(senders map[string]struct{}) []bus.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out, keep []bus.Event
	for _, ev := range l.held {
		if _, ok := senders[ev.SenderID]; ok {
			out = append(out, ev)
		} else {
			keep = append(keep, ev)
		}
	}
	l.held = keep
	l.taken++ // a hold that missed this take must publish (see hold)
	return out
}

// since returns the states published within resyncWindow of now.
func (l *stateLog) since(now time.Time) []bus.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []bus.Event
	for _, te := range l.recent {
		if now.Sub(te.at) <= resyncWindow {
			out = append(out, te.ev)
		}
	}
	return out
}

// publishState publishes a delivery state, holding it if the bus is down.
// A restore (or another instance's resync) that took the held states
// between the look at the bus and the hold would leave ev held until the
// next outage: hold reports it, and ev goes out at once instead.
func (n *Node) publishState(ctx context.Context, ev bus.Event) {
	if n.opts.Standalone {
		return // no Redis configured: there is no other instance, ever
	}
	seen := n.states.generation()
	if n.bus.State() != bus.StateConnected {
		if n.states.hold(ev, seen) {
			n.republishHeld()
		}
		return
	}
	n.post(ctx, ev, func(err error) {
		if err != nil {
			if n.states.hold(ev, seen) {
				n.republishHeld()
			}
			return
		}
		n.states.published(ev, time.Now())
	})
}

// republishHeld publishes, in the background, the states held so far.
func (n *Node) republishHeld() {
	if n.bg.Closed() {
		return
	}
	n.publishStatesLater(n.states.takeHeld())
}

// republishStatesOf is republishStates for the states of senders' messages
// only: their channels were out for a while.
func (n *Node) republishStatesOf(senders []string) {
	if n.bg.Closed() || len(senders) == 0 {
		return
	}
	set := make(map[string]struct{}, len(senders))
	for _, id := range senders {
		set[id] = struct{}{}
	}
	evs := n.states.takeHeldOf(set)
	for _, ev := range n.states.since(time.Now()) {
		if _, ok := set[ev.SenderID]; ok {
			evs = append(evs, ev)
		}
	}
	n.publishStatesLater(evs)
}

// republishStates publishes, in the background, the held states and
// those published lately (see stateLog).
func (n *Node) republishStates() {
	if n.bg.Closed() {
		return
	}
	n.publishStatesLater(append(n.states.since(time.Now()), n.states.takeHeld()...))
}

// publishStatesLater publishes evs in a background goroutine
// (publishState holds again whatever still cannot go).
func (n *Node) publishStatesLater(evs []bus.Event) {
	if len(evs) == 0 {
		return
	}
	n.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, ev := range evs {
			if n.bg.Closed() {
				return // shutting down: the bus is closing, and Shutdown waits for this
			}
			n.publishState(ctx, ev)
		}
	})
}
