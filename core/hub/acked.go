package hub

import "time"

// ackWindow remembers the message ids a socket acked lately, so that a
// late push of one (a bus event or catch-up racing the ack) is still
// skipped on that connection, while the memory it takes stays bounded
// whatever the socket's life: two generations of ids, the current one
// started afresh once it holds ackWindowSize ids or is older than
// ackMemory, the previous one dropped then. It remembers at least the last
// ackWindowSize acks of the last ackMemory, and at most twice as many.
//
// Lateness past that is harmless: an acked message is DELIVERED in the
// store, so neither a catch-up nor a retry pushes it again.
type ackWindow struct {
	now, old map[string]struct{}
	since    time.Time // when now was started
}

// Bounds of the ack window.
const (
	ackWindowSize = 1024
	ackMemory     = time.Minute
)

func (w *ackWindow) has(id string) bool {
	if _, ok := w.now[id]; ok {
		return true
	}
	_, ok := w.old[id]
	return ok
}

func (w *ackWindow) add(id string, at time.Time) {
	if w.now == nil || len(w.now) >= ackWindowSize || at.Sub(w.since) > ackMemory {
		// Sized for as many ids as the generation it follows: a socket
		// acking steadily fills each the same, and a map grown from empty
		// to ackWindowSize rehashes its ids several times on the way. A
		// socket that acks little gets a small map.
		w.old, w.now, w.since = w.now, make(map[string]struct{}, len(w.now)), at
	}
	w.now[id] = struct{}{}
}

func (w *ackWindow) remove(id string) {
	delete(w.now, id)
	delete(w.old, id)
}

func (w *ackWindow) len() int { return len(w.now) + len(w.old) }
