package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/internal/guard"
	"github.com/dmchat/dmchat/core/internal/wheel"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/metrics"
	"github.com/dmchat/dmchat/core/store"
)

// Options configure a Node. Store is required; the rest have defaults.
type Options struct {
	// InstanceID names this instance in logs, metrics and bus events.
	InstanceID string
	// Store is the durable state; instances in one process share one value.
	Store store.Store
	// Bus carries events between instances; nil means a disabled bus
	// and implies Standalone.
	Bus bus.Bus
	// Standalone says that no Redis is configured: the instance is alone
	// for good, so it holds no delivery states for a bus that will never
	// come, logs no skipped publishes, and trusts its own banned set after
	// a register. A bus that is down (or never came up in time) is not
	// standalone. Default false, or true when Bus is nil.
	Standalone bool
	// Logger is the instance's logger (it should already carry instanceId);
	// nil means no logs.
	Logger *zap.Logger
	// Metrics is the instance's registry; nil means a fresh one.
	Metrics *metrics.Metrics
	// Rate and Burst are the frame rate limit (frames/s and burst) of each
	// connection, and of each user across its connections here. Defaults
	// 20 and 40.
	Rate  float64
	Burst int
	// ReplayBatch is how many missed messages are read from the store at
	// a time (replay and catch-up): the page a socket that does not read
	// holds while its replay waits for it, up to ~4 KiB of content per
	// message. Default 200.
	ReplayBatch int
	// Hub bounds the local sockets (queue bytes, outbound budget, unacked
	// messages, sockets per user) and their writes; see hub.Options.
	Hub hub.Options
	// RevocationPoll is how often the store is asked for revoked tokens,
	// whose sockets are then closed with 4001. Default 1 s.
	RevocationPoll time.Duration
	// CatchupTimeout bounds the catch-up of one user after a bus outage:
	// the store reads and the waits for its sockets to drain. What a
	// socket has not taken by then stays undelivered, for its replay.
	// Default 30 s.
	CatchupTimeout time.Duration
}

// Node is one instance's engine. Its methods are safe for concurrent use.
type Node struct {
	opts     Options
	id       string
	store    store.Store
	bus      bus.Bus
	hub      *hub.Hub
	metrics  *metrics.Metrics
	log      *zap.Logger
	busLog   *zap.Logger // "RedisBusHandler": what arrived over the bus
	adminLog *zap.Logger

	known  sync.Map // user id -> struct{}: users known to exist (ids never disappear)
	banned sync.Map // user id -> struct{}: this instance's view of banned users

	states     stateLog
	presence   logging.Outage         // the admin list's remote presence (presence.go)
	replays    logging.Outage         // the store's reads for replays on connect (session.go)
	tokenReads logging.Outage         // the store's revocation check on connect (revoke.go)
	tokens     tokenSessions          // see revoke.go
	expiries   *wheel.Wheel[*Session] // the sessions' token expiries (expiry.go)
	userLimits *userLimits
	stopBg     context.CancelFunc

	catchups catchupQueue
	// bg runs the node's background work (pollers, catch-ups, state
	// republishes); Shutdown closes it first, which is also how the rest of
	// the node tells it is shutting down. The sockets' writers are the
	// hub's own.
	bg           guard.Group
	shutdownOnce sync.Once
}

// ErrBanned is returned by Attach for a banned user.
var ErrBanned = errors.New("node: user is banned")

// New builds a node; call Start before serving sockets.
func New(opts Options) (*Node, error) {
	if opts.Store == nil {
		return nil, errors.New("node: a store is required")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Bus == nil {
		opts.Bus = bus.NewDisabled(opts.Logger)
		opts.Standalone = true
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(opts.InstanceID)
	}
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	if opts.Burst <= 0 {
		opts.Burst = 40
	}
	if opts.ReplayBatch <= 0 {
		opts.ReplayBatch = 200
	}
	if opts.RevocationPoll <= 0 {
		opts.RevocationPoll = defaultRevocationPoll
	}
	if opts.CatchupTimeout <= 0 {
		opts.CatchupTimeout = defaultCatchupTimeout
	}
	n := &Node{
		opts:     opts,
		id:       opts.InstanceID,
		store:    opts.Store,
		bus:      opts.Bus,
		metrics:  opts.Metrics,
		log:      opts.Logger.Named("Node"),
		busLog:   opts.Logger.Named("RedisBusHandler"),
		adminLog: opts.Logger.Named("Admin"),
	}
	n.userLimits = newUserLimits(opts.Rate, opts.Burst)
	n.expiries = newExpiries()
	ho := opts.Hub
	ho.OnSlowConsumer = func(*hub.Socket) { n.metrics.SlowConsumers.Inc() }
	// One bus interest per registered socket: the bus subscribes to a
	// user's channel with their first socket here and leaves it after the
	// last.
	ho.OnRegister = func(c *hub.Socket) {
		n.metrics.Connections.Inc()
		n.bus.Subscribe(c.UserID())
	}
	ho.OnUnregister = func(c *hub.Socket) {
		n.metrics.Connections.Dec()
		n.bus.Unsubscribe(c.UserID())
	}
	n.hub = hub.New(ho)
	return n, nil
}

// Start loads the banned users, starts the bus (which waits at most its
// init timeout for Redis, and never fails because Redis is down) and the
// presence and revocation pollers.
func (n *Node) Start(ctx context.Context) error {
	if err := n.refreshBans(ctx); err != nil {
		return fmt.Errorf("node: failed to load banned users: %w", err)
	}
	n.bus.Start(ctx, n)
	bgCtx, cancel := context.WithCancel(context.Background())
	n.stopBg = cancel
	n.spawn(func() { n.announcePresence(bgCtx) })
	n.spawn(func() { n.pollRevocations(bgCtx, n.opts.RevocationPoll) })
	return nil
}

// spawn runs fn in a goroutine that Shutdown waits for, unless the node is
// shutting down; it reports whether fn was started.
func (n *Node) spawn(fn func()) bool { return n.bg.Go(fn) }

// Shutdown closes every socket with 1001 and stops the bus, then waits
// until ctx for the node's background work and the sockets' writers and
// close handshakes (hub.Shutdown). It does not close the store, which the
// caller owns. Idempotent.
func (n *Node) Shutdown(ctx context.Context) error {
	var hubErr error
	n.shutdownOnce.Do(func() {
		n.bg.Close()
		if n.stopBg != nil {
			n.stopBg()
		}
		// The hub refuses new writers and closes every socket before this
		// returns; its wait is bounded by ctx.
		hubErr = n.hub.Shutdown(ctx)
		_ = n.bus.Close()
	})
	if err := n.bg.Wait(ctx); err != nil {
		return err
	}
	if hubErr != nil {
		return hubErr
	}
	// A later call waits again for what the first one's deadline cut.
	return n.hub.Shutdown(ctx)
}

// InstanceID is this instance's name.
func (n *Node) InstanceID() string { return n.id }

// Sockets is the number of sockets open on this instance.
func (n *Node) Sockets() int { return n.hub.Count() }

// Hub is the local socket table, for tests that push frames to a socket
// themselves; the server's own code goes through the node's methods.
func (n *Node) Hub() *hub.Hub { return n.hub }

// UserSockets is the number of userID's sockets open on this instance.
func (n *Node) UserSockets(userID string) int { return len(n.hub.Sockets(userID)) }

// Disconnect closes userID's sockets on this instance with code, as a
// server-side drop (the tests' and the sandbox's way to make a client
// reconnect); it returns how many it closed. Nothing is lost: what was
// not acked is replayed on the next connection.
func (n *Node) Disconnect(userID string, code int, reason string) int {
	cs := n.hub.Sockets(userID)
	for _, c := range cs {
		c.Close(code, reason)
	}
	return len(cs)
}

// Metrics is this instance's registry.
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

// BusState reports the bus connection state.
func (n *Node) BusState() bus.State { return n.bus.State() }

func (n *Node) isBanned(userID string) bool {
	_, ok := n.banned.Load(userID)
	return ok
}

// bannedNow decides a connecting user's ban. The stored flag (user was
// just read) wins over this instance's cache, which can lag behind an
// unban made on another instance until its bus event arrives; when the two
// disagree the store is read again, because the cache can also be ahead (a
// ban applied after user was read).
func (n *Node) bannedNow(ctx context.Context, user chat.User) bool {
	if user.Banned {
		n.setBanned(user.ID, true)
		return true
	}
	if !n.isBanned(user.ID) {
		return false
	}
	u, err := n.store.UserByID(ctx, user.ID)
	if err != nil {
		return true // cannot tell: keep the safer answer
	}
	n.setBanned(user.ID, u.Banned)
	return u.Banned
}

// bannedAfterRegister decides the ban of a user whose socket was just
// registered. A ban made on another instance is heard here only over the
// user's channel, so one made before this instance subscribed left no
// trace but the store: with a bus the store is read again. Alone, a ban
// between the first check and Register updated the banned set before
// kicking, so the set is enough.
func (n *Node) bannedAfterRegister(ctx context.Context, user chat.User) bool {
	if n.opts.Standalone {
		return n.isBanned(user.ID) && n.bannedNow(ctx, user)
	}
	u, err := n.store.UserByID(ctx, user.ID)
	if err != nil {
		return n.isBanned(user.ID) // cannot tell: the cache's answer
	}
	n.setBanned(user.ID, u.Banned)
	return u.Banned
}

func (n *Node) setBanned(userID string, banned bool) {
	if banned {
		n.banned.Store(userID, struct{}{})
	} else {
		n.banned.Delete(userID)
	}
}

// userExists answers from a cache first: user ids are never removed, so a
// positive answer stays true.
func (n *Node) userExists(ctx context.Context, id string) (bool, error) {
	if _, ok := n.known.Load(id); ok {
		return true, nil
	}
	_, err := n.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	n.known.Store(id, struct{}{})
	return true, nil
}

// refreshBans reloads the banned set from the store and kicks local
// sockets of users banned while this instance did not hear of it.
func (n *Node) refreshBans(ctx context.Context) error {
	ids, err := n.store.BannedUserIDs(ctx)
	if err != nil {
		return err
	}
	now := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		now[id] = struct{}{}
		n.banned.Store(id, struct{}{})
	}
	n.banned.Range(func(k, _ any) bool {
		if _, ok := now[k.(string)]; !ok {
			n.banned.Delete(k)
		}
		return true
	})
	for _, id := range ids {
		if k := n.kickLocal(id); k > 0 {
			n.busLog.Info("admin_kick_ban_applied", zap.String("targetUserId", id),
				zap.String("originInstanceId", n.id), zap.Int("sockets", k), zap.String("via", "catchup"))
		}
	}
	return nil
}

// kickLocal sends ERROR BANNED and closes with 4003 every local socket of
// userID.
func (n *Node) kickLocal(userID string) int {
	frame, _ := errorFrame(ErrBanned)
	k := n.hub.Kick(userID, frame, chat.CloseBanned, "banned")
	if k > 0 {
		n.metrics.KicksApplied.Add(float64(k))
	}
	return k
}
