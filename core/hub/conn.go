package hub

import "context"

// Conn is one client socket as the hub needs it. Implementations must allow
// Write and Close to be called concurrently with each other; the hub calls
// Write from a single goroutine per Conn.
type Conn interface {
	// Write sends one text frame.
	Write(ctx context.Context, frame []byte) error
	// Close sends a close frame with code and reason and releases the socket.
	Close(code int, reason string) error
}
