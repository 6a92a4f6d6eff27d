package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/internal/guard"
)

// Options configure a Hub. The zero value means the defaults documented on
// each field.
type Options struct {
	// MaxQueueBytes bounds one socket's outbound bytes (queued, or handed
	// to the socket and not yet written); a socket that would pass it is
	// closed with 1013 as a slow consumer. Replay and catch-up wait for a
	// socket to drain below half of it. Default 1 MiB (DefaultMaxQueueBytes).
	MaxQueueBytes int
	// OutboundBudget bounds the sum of every socket's outbound bytes on
	// this instance; a push that would pass it closes its socket with 1013
	// instead. Default 256 MiB (DefaultOutboundBudget).
	OutboundBudget int64
	// MaxUnacked bounds the messages pushed on one socket and not acked
	// yet; a live delivery past it closes the socket with 1013 (a client
	// that does not ack is treated like one that does not read, and gets
	// the messages again by replay). Default 4096 (DefaultMaxUnacked).
	MaxUnacked int
	// MaxSocketsPerUser bounds one user's registered sockets here; Register
	// refuses one more with ErrTooManySockets. Default 16
	// (DefaultMaxSocketsPerUser).
	MaxSocketsPerUser int
	// WriteTimeout bounds the write of one batch of frames. Default 10 s.
	WriteTimeout time.Duration
	// OnSlowConsumer, if set, is called before a slow socket is closed.
	OnSlowConsumer func(*Socket)
	// OnRegister and OnUnregister, if set, are called after a socket is
	// added or removed, outside the hub's lock.
	OnRegister, OnUnregister func(*Socket)
}

// Defaults of Options.
const (
	DefaultMaxQueueBytes     = 1 << 20
	DefaultOutboundBudget    = 256 << 20
	DefaultMaxUnacked        = 4096
	DefaultMaxSocketsPerUser = 16
)

// ErrTooManySockets is Register's answer for a user who already has
// Options.MaxSocketsPerUser sockets here.
var ErrTooManySockets = errors.New("hub: too many sockets for this user")

// Hub is the set of this instance's sockets, by user. It is safe for
// concurrent use. It owns every goroutine it starts (sockets' writers and
// close handshakes); Shutdown ends them.
type Hub struct {
	opts   Options
	limits limits
	nextID atomic.Uint64
	// queued is the sum of every socket's outbound bytes, kept by the
	// queues themselves.
	queued atomic.Int64

	// writers runs the sockets' writer goroutines and closers their close
	// handshakes. Shutdown closes writers first (a socket that needs a new
	// writer is then closed with 1001), and closers only once the writers
	// are done, since a writer's last act can be to close its socket.
	writers, closers guard.Group
	// writerHook, set by tests only, wraps each writer goroutine's function.
	writerHook func(fn func()) func()

	// mu guards users. Never call a Socket method that can block, or a
	// callback, while holding it.
	mu    sync.RWMutex
	users map[string][]*Socket
}

// New returns an empty hub.
func New(opts Options) *Hub {
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if opts.OutboundBudget <= 0 {
		opts.OutboundBudget = DefaultOutboundBudget
	}
	if opts.MaxUnacked <= 0 {
		opts.MaxUnacked = DefaultMaxUnacked
	}
	if opts.MaxSocketsPerUser <= 0 {
		opts.MaxSocketsPerUser = DefaultMaxSocketsPerUser
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	return &Hub{opts: opts, limits: limits{opts.MaxQueueBytes, opts.OutboundBudget},
		users: make(map[string][]*Socket)}
}

// QueuedBytes is the sum of every socket's outbound bytes: what the
// global budget bounds.
func (h *Hub) QueuedBytes() int64 { return h.queued.Load() }

// NewSocket wraps conn for userID. The socket is not yet visible to
// deliveries until Register; frames sent to it before are written.
func (h *Hub) NewSocket(userID string, role chat.Role, conn Transport) *Socket {
	return &Socket{
		id:     h.nextID.Add(1),
		userID: userID,
		role:   role,
		conn:   conn,
		hub:    h,
		q:      newQueue(&h.queued),
		closed: make(chan struct{}),
	}
}

// Register makes c receive deliveries for its user. A socket that is
// already closed is not added; nor is one past its user's
// MaxSocketsPerUser (ErrTooManySockets: the caller tells and closes it).
func (h *Hub) Register(c *Socket) error {
	h.mu.Lock()
	if c.q.isClosed() {
		h.mu.Unlock()
		return nil
	}
	set := h.users[c.userID]
	if len(set) >= h.opts.MaxSocketsPerUser {
		h.mu.Unlock()
		return ErrTooManySockets
	}
	h.users[c.userID] = append(set, c)
	h.mu.Unlock()
	if h.opts.OnRegister != nil {
		h.opts.OnRegister(c)
	}
	return nil
}

func (h *Hub) unregister(c *Socket) {
	h.mu.Lock()
	set := h.users[c.userID]
	i := slices.Index(set, c)
	present := i >= 0
	switch {
	case present && len(set) == 1:
		delete(h.users, c.userID)
	case present:
		h.users[c.userID] = slices.Delete(set, i, i+1)
	}
	h.mu.Unlock()
	if present && h.opts.OnUnregister != nil {
		h.opts.OnUnregister(c)
	}
}

// Sockets returns userID's sockets on this instance.
func (h *Hub) Sockets(userID string) []*Socket {
	return h.appendSockets(nil, userID)
}

// appendSockets appends userID's sockets here to dst. The per-message paths
// pass a small array on their stack, so looking up a user's few sockets
// allocates nothing.
func (h *Hub) appendSockets(dst []*Socket, userID string) []*Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append(dst, h.users[userID]...)
}

// fewSockets sizes the stack arrays of appendSockets: a user's tabs.
const fewSockets = 4

// Online reports whether userID has a socket here.
func (h *Hub) Online(userID string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users[userID]) > 0
}

// UserIDs returns the users with at least one socket here.
func (h *Hub) UserIDs() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(h.users))
	for id := range h.users {
		out = append(out, id)
	}
	return out
}

// Count is the number of registered sockets.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.users {
		n += len(set)
	}
	return n
}

// DeliverMessage pushes m to every socket of its recipient here, skipping
// sockets where it is already pending. frame is m's MESSAGE frame when the
// caller has it already (encoded for the bus too, or by the instance that
// published it): it is written as it is, never decoded or copied, so it
// must not be modified afterwards, and m needs only its ID and
// RecipientID. With a nil frame the hub encodes m once, and only if the
// recipient has a socket here. from is the socket whose MESSAGE_SEND
// stored m, when the caller is handling it on that socket's read loop; nil
// for a delivery from elsewhere (the bus). The hub chooses from it who
// writes (see writer.go). It returns the number of sockets m was pushed to.
func (h *Hub) DeliverMessage(m chat.Message, frame []byte, from *Socket) int {
	how := modeFrom(from)
	encode := func() []byte {
		if frame == nil {
			frame = chat.MessageFrame(m).Encode()
		}
		return frame
	}
	return h.fanOut(m.RecipientID, encode, func(c *Socket, frame []byte) bool { return c.deliver(m.ID, frame, how) })
}

// fanOut encodes a frame once, and only if userID has sockets here, and
// offers it to each of them with push; it returns how many took it.
func (h *Hub) fanOut(userID string, encode func() []byte, push func(*Socket, []byte) bool) int {
	var few [fewSockets]*Socket
	sockets := h.appendSockets(few[:0], userID)
	if len(sockets) == 0 {
		return 0
	}
	frame := encode()
	n := 0
	for _, c := range sockets {
		if push(c, frame) {
			n++
		}
	}
	return n
}

// Kick sends frame as the last frame to every socket of userID here, then
// closes each with code. It returns the number of sockets kicked.
func (h *Hub) Kick(userID string, frame []byte, code int, reason string) int {
	sockets := h.Sockets(userID)
	for _, c := range sockets {
		c.CloseAfter(frame, code, reason)
	}
	return len(sockets)
}

// Shutdown refuses new writer goroutines, closes every socket with 1001,
// then waits until ctx for the writers and close handshakes still running
// (a close handshake is bounded by the WebSocket library's own timeouts).
// Once it has begun, a socket that needs a writer is closed with 1001, and
// a close handshake that can no longer be tracked runs on the goroutine
// that closes. A call after the first waits again. Safe for concurrent use.
func (h *Hub) Shutdown(ctx context.Context) error {
	if h.writers.Close() {
		h.CloseAll(chat.CloseGoingAway, "server shutting down")
	}
	if err := h.writers.Wait(ctx); err != nil {
		return fmt.Errorf("hub: failed to wait for socket writers: %w", err)
	}
	h.closers.Close()
	if err := h.closers.Wait(ctx); err != nil {
		return fmt.Errorf("hub: failed to wait for close handshakes: %w", err)
	}
	return nil
}

// CloseAll closes every socket with code.
func (h *Hub) CloseAll(code int, reason string) {
	h.mu.RLock()
	var all []*Socket
	for _, set := range h.users {
		all = append(all, set...)
	}
	h.mu.RUnlock()
	for _, c := range all {
		c.Close(code, reason)
	}
}
