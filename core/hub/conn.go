package hub

import "time"

// Conn is one client socket as the hub needs it. Implementations must allow
// Write and Close to be called concurrently with each other; the hub calls
// Write from at most one goroutine at a time per Conn.
type Conn interface {
	// Write sends frames in order, each as one text message. It may send
	// them all in one system call, which is why the hub hands over
	// everything queued at once. It gives up with an error once deadline
	// passes.
	Write(deadline time.Time, frames [][]byte) error
	// Close sends a close frame with code and reason and releases the socket.
	Close(code int, reason string) error
}

// Push says who writes a frame when the socket's writer is idle.
type Push bool

const (
	// Inline lets the goroutine that queues the frame write it at once if
	// the socket takes it without blocking (Conn must be a TryWriter): right
	// for the one frame a connection's own handling produces.
	Inline Push = true
	// Queued leaves it to a writer goroutine, batched with whatever follows:
	// right for bursts from one goroutine (bus events, catch-up), which
	// would otherwise cost a system call per frame and stall that goroutine.
	Queued Push = false
)

// TryWriter is a Conn that can also write without waiting for the socket.
// The hub uses it to write a frame from the goroutine that queued it when
// the socket takes it at once, which saves starting (and waking) a writer
// goroutine for every frame of a lightly loaded socket.
type TryWriter interface {
	// TryWrite sends frames like Write but never blocks: done reports
	// whether all of them left. If not, the Conn keeps the rest and sends it
	// first on the next Write (which may have no frames of its own).
	TryWrite(frames [][]byte) (done bool, err error)
}
