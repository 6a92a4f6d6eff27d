package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// Outbox states of a simulated user's sends.
const (
	// OutPending: sent (or waiting to be sent), no MESSAGE_ACK yet.
	OutPending = "PENDING"
	// OutSent: MESSAGE_ACK received.
	OutSent = "SENT"
	// OutDelivered: MESSAGE_STATE DELIVERED received.
	OutDelivered = "DELIVERED"
	// OutFailed: the server refused the send for good (UNKNOWN_RECIPIENT,
	// TOO_LARGE, BAD_FRAME); it is not retried.
	OutFailed = "FAILED"
)

// Sizes of a simulated user's frame logs.
const (
	// FramesKept is how many received frames Frames returns at most.
	FramesKept = 200
	// connFramesKept is how many frames of the current connection
	// WaitFrame can look back on.
	connFramesKept = 4096
)

// ErrUserExists: CreateUser with the name of an existing simulated user.
var ErrUserExists = errors.New("sandbox: user already exists")

// InboxEntry is one message a simulated user received, once per messageId.
type InboxEntry struct {
	MessageID string
	From      string // sender's name
	FromID    string
	Content   string
	At        time.Time // createdAt as the server stamped it
	// ReceivedAt is when it first arrived.
	ReceivedAt time.Time
	// Replayed: it first arrived in the replay that follows a connect.
	Replayed bool
	// Duplicates counts later arrivals of the same messageId, dropped.
	Duplicates int
	// Acked: a DELIVERY_ACK was sent for its latest arrival.
	Acked bool
}

// OutboxEntry is one message a simulated user sent, once per
// clientMessageId, however many times it was retried.
type OutboxEntry struct {
	ClientMessageID string
	To              string // recipient's name
	ToID            string
	Content         string
	MessageID       string // from MESSAGE_ACK; "" until then
	State           string // OutPending, OutSent, OutDelivered or OutFailed
	Attempts        int
	Errors          []string // ERROR codes received about it
	FirstSent       time.Time

	nextTry time.Time // when a PENDING entry is sent again
}

// SimUser is a simulated user: a real client of the public HTTP and
// WebSocket contract over loopback, built on core/client, that behaves as
// a real client does (retries sends without MESSAGE_ACK with the same
// clientMessageId, acks deliveries, drops repeats by messageId) and records
// everything into the cluster's history. Safe for concurrent use.
type SimUser struct {
	c       *Cluster
	name    string
	id      string
	admin   bool
	token   string
	limiter *rate.Limiter
	wake    chan struct{} // cap 1: the retry loop looks again

	// mu guards the fields below. Held only to read or write them: never
	// across I/O, history recording or predicates.
	mu         sync.Mutex
	conn       *client.Conn // nil while not connected
	dialing    bool
	connSeq    int    // number of connections made; the current one's generation
	connID     string // e.g. "user2#3"
	instance   string // of the current or last connection
	closing    bool   // this side is closing the current connection
	replaying  bool   // before REPLAY_DONE on the current connection
	readerDone chan struct{}
	connEnded  bool
	connFrames []client.Frame // frames of the current connection
	frames     []client.Frame // the last FramesKept frames, all connections
	waiters    map[*frameWaiter]struct{}
	lastClose  int
	closedOnce bool
	sockEvents []SocketEvent // ERROR frames and closes, the last socketEventsKept

	autoAck  bool
	dropAcks int // DELIVERY_ACKs still to skip
	loseAcks int // MESSAGE_ACKs still to ignore

	inbox    []InboxEntry
	inboxIdx map[string]int // messageId -> index
	outbox   []OutboxEntry
	outIdx   map[string]int  // clientMessageId -> index
	midOut   map[string]int  // messageId -> index
	early    map[string]bool // messageIds seen DELIVERED before their MESSAGE_ACK
	cmidSeq  int
}

// frameWaiter is one WaitFrame call waiting on connection gen.
type frameWaiter struct {
	gen    int
	signal chan struct{} // cap 1: queue grew
	ended  chan struct{} // closed when the connection ends

	// mu guards queue: frames received since the wait began.
	mu    sync.Mutex
	queue []client.Frame
}

// CreateUser creates a simulated user through the real HTTP API of a
// running instance: an ordinary user registers (a name already in the
// store is logged into instead, so a durable store can be reused), an
// admin is created or promoted as ADMIN_BOOTSTRAP does (through the
// instance's auth.Accounts). Every sandbox user's password is
// DefaultPassword. The user starts disconnected, with auto-ack on.
func (c *Cluster) CreateUser(ctx context.Context, name string, admin bool) (*SimUser, error) {
	if c.bg.Closed() {
		return nil, ErrClosed
	}
	if c.User(name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrUserExists, name)
	}
	inst := c.running()
	if inst == nil {
		return nil, ErrNoInstance
	}
	srv := inst.Server()
	if srv == nil {
		return nil, ErrNoInstance
	}
	api := &client.API{BaseURL: inst.URL()}
	if admin {
		if _, err := srv.Accounts().EnsureAdmin(ctx, name, DefaultPassword); err != nil {
			return nil, fmt.Errorf("sandbox: failed to create admin %q: %w", name, err)
		}
	} else if _, err := api.Register(ctx, name, DefaultPassword); err != nil && client.ErrorCode(err) != chat.CodeUsernameTaken {
		return nil, fmt.Errorf("sandbox: failed to register %q: %w", name, err)
	}
	token, err := api.Login(ctx, name, DefaultPassword)
	if err != nil {
		return nil, fmt.Errorf("sandbox: failed to log in %q: %w", name, err)
	}
	me, err := api.Me(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("sandbox: failed to read %q: %w", name, err)
	}
	u := &SimUser{
		c: c, name: name, id: me.ID, admin: me.Role == string(chat.RoleAdmin), token: token,
		limiter:  rate.NewLimiter(rate.Limit(c.opts.SendRate), c.opts.SendBurst),
		wake:     make(chan struct{}, 1),
		waiters:  map[*frameWaiter]struct{}{},
		autoAck:  true,
		inboxIdx: map[string]int{}, outIdx: map[string]int{}, midOut: map[string]int{}, early: map[string]bool{},
	}
	c.mu.Lock()
	if _, dup := c.users[name]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrUserExists, name)
	}
	c.users[name] = u
	c.userOrder = append(c.userOrder, u)
	c.idNames[u.id] = name
	c.mu.Unlock()
	if !c.goBg(func() { u.retryLoop(c.ctx) }) {
		return nil, ErrClosed
	}
	c.notify()
	return u, nil
}

// User returns the simulated user called name, or nil.
func (c *Cluster) User(name string) *SimUser {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[name]
}

// Users returns the simulated users in creation order.
func (c *Cluster) Users() []*SimUser {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*SimUser(nil), c.userOrder...)
}

// UserList is the admin's view of every stored user: banned flag, online,
// and on which instances, from a running instance (node.Users, the data
// of GET /api/admin/users).
func (c *Cluster) UserList(ctx context.Context) ([]node.UserStatus, error) {
	inst := c.running()
	if inst == nil {
		return nil, ErrNoInstance
	}
	srv := inst.Server()
	if srv == nil {
		return nil, ErrNoInstance
	}
	return srv.Node().Users(ctx)
}

// userID resolves a user name: a simulated user's, else the store's.
func (c *Cluster) userID(ctx context.Context, name string) (string, error) {
	if u := c.User(name); u != nil {
		return u.id, nil
	}
	usr, err := c.store.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%w: %q", ErrUnknownUser, name)
	}
	if err != nil {
		return "", fmt.Errorf("sandbox: failed to look up %q: %w", name, err)
	}
	c.mu.Lock()
	c.idNames[usr.ID] = usr.Username
	c.mu.Unlock()
	return usr.ID, nil
}

// userName resolves a user id to a name, "" when unknown.
func (c *Cluster) userName(ctx context.Context, id string) string {
	c.mu.Lock()
	n, ok := c.idNames[id]
	c.mu.Unlock()
	if ok {
		return n
	}
	usr, err := c.store.UserByID(ctx, id)
	if err != nil {
		return ""
	}
	c.mu.Lock()
	c.idNames[id] = usr.Username
	c.mu.Unlock()
	return usr.Username
}

// Name is the user's name.
func (u *SimUser) Name() string { return u.name }

// ID is the user's id, assigned by the server.
func (u *SimUser) ID() string { return u.id }

// IsAdmin reports whether the user's role is admin.
func (u *SimUser) IsAdmin() bool { return u.admin }

// Token is the user's token (sent as Authorization: Bearer).
func (u *SimUser) Token() string { return u.token }

// Instance is the instance of the current or last connection, "" before
// the first.
func (u *SimUser) Instance() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.instance
}

// Connected reports whether a connection is open.
func (u *SimUser) Connected() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conn != nil
}

// ConnID is the id of the current or last connection, e.g. "user2#3".
func (u *SimUser) ConnID() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.connID
}

// LastClose returns the close code of the last connection that ended (the
// server's code, or what this side's close produced, usually 1000); ok is
// false while connected or before any connection ended.
func (u *SimUser) LastClose() (code int, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.conn != nil || !u.closedOnce {
		return 0, false
	}
	return u.lastClose, true
}

// SetAutoAck turns automatic DELIVERY_ACKs on (the default) or off; with it
// off, received messages wait for AckPending.
func (u *SimUser) SetAutoAck(on bool) {
	u.mu.Lock()
	u.autoAck = on
	u.mu.Unlock()
	u.c.notify()
}

// AutoAck reports whether automatic DELIVERY_ACKs are on.
func (u *SimUser) AutoAck() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.autoAck
}

// DropDeliveryAcks makes the user skip its next n DELIVERY_ACKs (the
// recipient half of the ack-drop test): each is recorded as AckDropped and
// the message stays unacked, so the server replays it on the next connect.
// n replaces any count still pending; 0 cancels.
func (u *SimUser) DropDeliveryAcks(n int) {
	u.mu.Lock()
	u.dropAcks = max(n, 0)
	u.mu.Unlock()
	u.c.notify()
}

// LoseMessageAcks makes the user ignore the next n MESSAGE_ACKs it
// receives (the sender half): each is recorded as Ack with LostOnPurpose,
// the send stays PENDING and is retried with the same clientMessageId, and
// the server must store nothing new. n replaces any count still pending;
// 0 cancels.
func (u *SimUser) LoseMessageAcks(n int) {
	u.mu.Lock()
	u.loseAcks = max(n, 0)
	u.mu.Unlock()
	u.c.notify()
}

// Toggles describes the user's non-default toggles, e.g. "auto-ack off,
// drops next 2 acks"; "" when none.
func (u *SimUser) Toggles() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.togglesLocked(), ", ")
}

func (u *SimUser) togglesLocked() []string {
	var t []string
	if !u.autoAck {
		t = append(t, "auto-ack off")
	}
	if u.dropAcks > 0 {
		t = append(t, fmt.Sprintf("drops next %d acks", u.dropAcks))
	}
	if u.loseAcks > 0 {
		t = append(t, fmt.Sprintf("loses next %d MESSAGE_ACKs", u.loseAcks))
	}
	return t
}

// faults are the user's toggles as cluster faults, e.g. "user2 drops next
// 2 acks".
func (u *SimUser) faults() []string {
	u.mu.Lock()
	t := u.togglesLocked()
	u.mu.Unlock()
	for i := range t {
		t[i] = u.name + " " + t[i]
	}
	return t
}

// Inbox returns the received messages, once per messageId, in order of
// first arrival.
func (u *SimUser) Inbox() []InboxEntry {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]InboxEntry(nil), u.inbox...)
}

// Outbox returns the sent messages, once per clientMessageId, in order of
// sending.
func (u *SimUser) Outbox() []OutboxEntry {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]OutboxEntry, len(u.outbox))
	for i, e := range u.outbox {
		e.Errors = append([]string(nil), e.Errors...)
		out[i] = e
	}
	return out
}

// OutboxEntry returns the send with clientMessageId cmid.
func (u *SimUser) OutboxEntry(cmid string) (OutboxEntry, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	i, ok := u.outIdx[cmid]
	if !ok {
		return OutboxEntry{}, false
	}
	e := u.outbox[i]
	e.Errors = append([]string(nil), e.Errors...)
	return e, true
}

// Frames returns the last FramesKept frames received, on any connection,
// oldest first.
func (u *SimUser) Frames() []client.Frame {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]client.Frame(nil), u.frames[max(0, len(u.frames)-FramesKept):]...)
}
