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
	resyncWindow    = 10 * time.Second
)

// stateLog keeps delivery states for the bus's bad moments. Messages need
// nothing like it (every instance re-reads undelivered messages from the
// store after an outage), but a state leaves no trace in the store that
// the sender's instance could look for. So states that could not be
// published are held until the bus returns, and states published lately
// are published again when an instance announces a resync: it may have
// been unsubscribed when they first went out. Sockets drop repeats
// (hub.Client.SendState), so publishing one twice is harmless.
//
// mu guards every field.
type stateLog struct {
	mu     sync.Mutex
	held   []bus.Event
	recent []timedEvent // ring of published states, oldest at next
	next   int
}

type timedEvent struct {
	ev bus.Event
	at time.Time
}

func (l *stateLog) hold(ev bus.Event) {
	l.mu.Lock()
	if len(l.held) >= maxHeldStates {
		l.held = l.held[1:]
	}
	l.held = append(l.held, ev)
	l.mu.Unlock()
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
func (n *Node) publishState(ctx context.Context, ev bus.Event) {
	if _, alone := n.bus.(*bus.Disabled); alone {
		return // no Redis configured: there is no other instance, ever
	}
	if n.bus.State() != bus.StateConnected {
		n.states.hold(ev)
		return
	}
	if err := n.bus.Publish(ctx, ev); err != nil {
		n.metrics.BusPublishFailures.Inc()
		n.states.hold(ev)
		return
	}
	n.states.published(ev, time.Now())
}

// republishStatesOf is republishStates for the states of senders' messages
// only: their channels were out for a while.
func (n *Node) republishStatesOf(senders []string) {
	if n.closing.Load() || len(senders) == 0 {
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
	if n.closing.Load() {
		return
	}
	n.publishStatesLater(append(n.states.since(time.Now()), n.states.takeHeld()...))
}

// publishStatesLater publishes evs in the background.
func (n *Node) publishStatesLater(evs []bus.Event) {
	if len(evs) == 0 {
		return
	}
	n.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, ev := range evs {
			n.publishState(ctx, ev)
		}
	})
}
