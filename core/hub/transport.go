package hub

import "time"

// Transport is the wire under one Socket: what the hub needs of a WebSocket. Implementations must allow
// Write and Close to be called concurrently with each other; the hub calls
// Write from at most one goroutine at a time per Transport.
type Transport interface {
	// Write sends frames in order, each as one text message. It may send
	// them all in one system call, which is why the hub hands over
	// everything queued at once. It gives up with an error once deadline
	// passes.
	Write(deadline time.Time, frames [][]byte) error
	// Close sends a close frame with code and reason and releases the socket.
	Close(code int, reason string) error
}

// writeMode says who writes a frame pushed while the socket's writer is
// idle. The hub chooses it from what it knows of the pushing goroutine,
// never the caller (see the rule in writer.go).
type writeMode bool

const (
	// inline lets the goroutine that queues the frame write it at once if
	// the socket takes it without blocking (Transport must be a TryWriter).
	inline writeMode = true
	// queued leaves it to a writer goroutine, batched with whatever follows.
	queued writeMode = false
)

// TryWriter is a Transport that can also write without waiting for the socket.
// The hub uses it to write a frame from the goroutine that queued it when
// the socket takes it at once, which saves starting (and waking) a writer
// goroutine for every frame of a lightly loaded socket.
type TryWriter interface {
	// TryWrite sends frames like Write but never blocks: done reports
	// whether all of them left. If not, the Transport keeps the rest and sends it
	// first on the next Write (which may have no frames of its own).
	TryWrite(frames [][]byte) (done bool, err error)
}
