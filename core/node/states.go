package node

import (
	"context"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/bus"
)

// maxHeldStates bounds the MESSAGE_STATE events kept while the bus is down.
// Past it the oldest are dropped: the sender still sees DELIVERED in its
// history, only the live notice is lost.
const maxHeldStates = 10000

// resyncWindow is how long states published after an outage are kept for
// instances that re-subscribe later than this one and announce it with a
// resync event.
const resyncWindow = 10 * time.Second

// heldStates are delivery states that could not be published. Messages
// need no such queue (every instance re-reads undelivered messages from the
// store after an outage), but a state leaves no trace in the store that the
// sender's instance could look for, so it is kept here and published when
// the bus returns; sockets drop repeats (hub.Client.SendState), so
// publishing one again is harmless. mu guards the fields.
type heldStates struct {
	mu        sync.Mutex
	events    []bus.Event // not yet published
	recent    []bus.Event // published at flushedAt, after an outage
	flushedAt time.Time
}

func (h *heldStates) add(ev bus.Event) {
	h.mu.Lock()
	if len(h.events) >= maxHeldStates {
		h.events = h.events[1:]
	}
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

// take returns the held states and keeps them as recent.
func (h *heldStates) take(now time.Time) []bus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.events
	h.events = nil
	if len(out) > 0 {
		h.recent, h.flushedAt = out, now
	}
	return out
}

// recentSince returns the states flushed within resyncWindow of now.
func (h *heldStates) recentSince(now time.Time) []bus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Sub(h.flushedAt) > resyncWindow {
		h.recent = nil
	}
	return h.recent
}

// publishState publishes a delivery state, holding it for later if the bus
// is down.
func (n *Node) publishState(ctx context.Context, ev bus.Event) {
	if n.bus.State() != bus.StateConnected {
		n.states.add(ev)
		return
	}
	if err := n.bus.Publish(ctx, ev); err != nil {
		n.metrics.BusPublishFailures.Inc()
		n.states.add(ev)
	}
}

// flushStates publishes the held states; those that fail again are held.
func (n *Node) flushStates(ctx context.Context, now time.Time) {
	for _, ev := range n.states.take(now) {
		n.publishState(ctx, ev)
	}
}

// republishStates publishes again, in the background, the states flushed
// lately: an instance that announced a resync may have re-subscribed after
// they were first published.
func (n *Node) republishStates() {
	evs := n.states.recentSince(time.Now())
	if len(evs) == 0 || n.closing.Load() {
		return
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, ev := range evs {
			n.publishState(ctx, ev)
		}
	}()
}
