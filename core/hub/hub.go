package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Options configure a Hub. The zero value means the defaults documented on
// each field.
type Options struct {
	// MaxQueueBytes bounds one socket's outbound queue; a socket whose
	// queue would pass it is closed with 1013 as a slow consumer. Default 4 MiB.
	MaxQueueBytes int
	// WriteTimeout bounds the write of one batch of frames. Default 10 s.
	WriteTimeout time.Duration
	// Go starts a socket's writer goroutine and reports whether it did;
	// the owner uses it to wait for writers at shutdown, and refuses once
	// shutting down (the socket is then closed with 1001). Default: go.
	Go func(fn func()) bool
	// OnSlowConsumer, if set, is called before a slow socket is closed.
	OnSlowConsumer func(*Client)
	// OnRegister and OnUnregister, if set, are called after a client is
	// added or removed, outside the hub's lock.
	OnRegister, OnUnregister func(*Client)
}

// Hub is the set of this instance's sockets, by user. It is safe for
// concurrent use.
type Hub struct {
	opts   Options
	nextID atomic.Uint64

	// mu guards users. Never call a Client method that can block, or a
	// callback, while holding it.
	mu    sync.RWMutex
	users map[string]map[*Client]struct{}
}

// New returns an empty hub.
func New(opts Options) *Hub {
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = 4 << 20
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Go == nil {
		opts.Go = func(fn func()) bool { go fn(); return true }
	}
	return &Hub{opts: opts, users: make(map[string]map[*Client]struct{})}
}

// NewClient wraps conn for userID. The client is not yet visible to
// deliveries until Register; frames sent to it before are written.
func (h *Hub) NewClient(userID string, role chat.Role, conn Conn) *Client {
	return &Client{
		id:     h.nextID.Add(1),
		userID: userID,
		role:   role,
		conn:   conn,
		hub:    h,
		q:      newQueue(),
		pushed: make(map[string]bool),
		closed: make(chan struct{}),
	}
}

// Register makes c receive deliveries for its user. A client that is
// already closed is not added.
func (h *Hub) Register(c *Client) {
	h.mu.Lock()
	if c.q.isClosed() {
		h.mu.Unlock()
		return
	}
	set := h.users[c.userID]
	if set == nil {
		set = make(map[*Client]struct{}, 1)
		h.users[c.userID] = set
	}
	set[c] = struct{}{}
	h.mu.Unlock()
	if h.opts.OnRegister != nil {
		h.opts.OnRegister(c)
	}
}

func (h *Hub) unregister(c *Client) {
	h.mu.Lock()
	set, ok := h.users[c.userID]
	_, present := set[c]
	if ok && present {
		delete(set, c)
		if len(set) == 0 {
			delete(h.users, c.userID)
		}
	}
	h.mu.Unlock()
	if present && h.opts.OnUnregister != nil {
		h.opts.OnUnregister(c)
	}
}

// Clients returns userID's sockets on this instance.
func (h *Hub) Clients(userID string) []*Client {
	return h.appendClients(nil, userID)
}

// appendClients appends userID's sockets here to dst. The per-message paths
// pass a small array on their stack, so looking up a user's few sockets
// allocates nothing.
func (h *Hub) appendClients(dst []*Client, userID string) []*Client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[userID] {
		dst = append(dst, c)
	}
	return dst
}

// fewClients sizes the stack arrays of appendClients: a user's tabs.
const fewClients = 4

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
// sockets where it is already pending. The frame is encoded once. It
// returns the number of sockets it was pushed to.
func (h *Hub) DeliverMessage(m chat.Message, how Push) int {
	return h.fanOut(m.RecipientID, func() []byte { return chat.MessageFrame(m).Encode() },
		func(c *Client, frame []byte) bool { return c.deliver(m, frame, how) })
}

// fanOut encodes a frame once, and only if userID has sockets here, and
// offers it to each of them with push; it returns how many took it.
func (h *Hub) fanOut(userID string, encode func() []byte, push func(*Client, []byte) bool) int {
	var few [fewClients]*Client
	clients := h.appendClients(few[:0], userID)
	if len(clients) == 0 {
		return 0
	}
	frame := encode()
	n := 0
	for _, c := range clients {
		if push(c, frame) {
			n++
		}
	}
	return n
}

// Kick sends frame as the last frame to every socket of userID here, then
// closes each with code. It returns the number of sockets kicked.
func (h *Hub) Kick(userID string, frame []byte, code int, reason string) int {
	clients := h.Clients(userID)
	for _, c := range clients {
		c.CloseAfter(frame, code, reason)
	}
	return len(clients)
}

// CloseAll closes every socket with code (shutdown: 1001).
func (h *Hub) CloseAll(code int, reason string) {
	h.mu.RLock()
	var all []*Client
	for _, set := range h.users {
		for c := range set {
			all = append(all, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range all {
		c.Close(code, reason)
	}
}
