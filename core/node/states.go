package node

import (
	"context"
	"sync"

	"github.com/dmchat/dmchat/core/bus"
)

// maxHeldStates bounds the MESSAGE_STATE events kept while the bus is down.
// Past it the oldest are dropped: the sender still sees DELIVERED in its
// history, only the live notice is lost.
const maxHeldStates = 10000

// heldStates are delivery states that could not be published. Messages
// need no such queue (every instance re-reads undelivered messages from the
// store after an outage), but a state has no trace in the store that the
// sender's instance could look for, so it is kept here and published when
// the bus returns. mu guards events.
type heldStates struct {
	mu     sync.Mutex
	events []bus.Event
}

func (h *heldStates) add(ev bus.Event) {
	h.mu.Lock()
	if len(h.events) >= maxHeldStates {
		h.events = h.events[1:]
	}
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *heldStates) take() []bus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.events
	h.events = nil
	return out
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

// flushStates publishes the held states; those that fail again are kept.
func (n *Node) flushStates(ctx context.Context) {
	for _, ev := range n.states.take() {
		n.publishState(ctx, ev)
	}
}
