package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/zap"
)

// Defaults and fixed timings of the Redis bus.
const (
	// DefaultChannel is the pub/sub channel when RedisOptions.Channel is empty.
	DefaultChannel = "dmchat:events"
	// DefaultInitTimeout is how long Start waits for Redis by default.
	DefaultInitTimeout = 5 * time.Second

	defaultPingInterval   = 500 * time.Millisecond
	defaultPingTimeout    = 500 * time.Millisecond
	defaultPublishTimeout = time.Second
	defaultDialTimeout    = time.Second
	handshakeTimeout      = time.Second

	minBackoff     = 100 * time.Millisecond
	initMaxBackoff = 500 * time.Millisecond // while Start is waiting
	maxBackoff     = time.Second            // afterwards: recovery seen within ~1 s

	queueSize = 4096 // pending publishes
	maxBatch  = 512  // publishes sent in one pipeline
)

// Hooks let the caller observe the bus (for metrics) without this package
// importing anything of the caller's. Nil funcs are skipped. Hooks must be
// quick and must not call the bus's Close.
type Hooks struct {
	// StateChanged is called after each change of State(), with the new
	// state. Calls never overlap and arrive in the order of the changes. The
	// change to StateLost is reported once the bus has noticed the outage
	// (Publish already returns ErrUnavailable by then).
	StateChanged func(State)
	// PublishFailed is called once for each event that Publish accepted but
	// did not get to Redis: rejected because the bus was not connected or its
	// queue stayed full, or failed in the pipeline. It is not called after
	// Close. It may be called from several goroutines at once.
	PublishFailed func()
	// EventPublished is called for each event sent to Redis, with its kind.
	// It may be called from several goroutines at once.
	EventPublished func(Kind)
	// EventMalformed is called for each payload dropped undelivered because
	// it does not decode as an event: invalid JSON, no kind, or a Frame that
	// is not its message's MESSAGE frame. It is called from the bus's
	// receiving goroutines, one at a time.
	EventMalformed func()
	// EventReceived is called for each payload that arrives on this
	// instance's subscriptions, own events included (they cost the bus a
	// delivery all the same), with its kind ("" when it has none).
	EventReceived func(Kind)
	// Subscriptions is called with the number of user channels held (their
	// subscription confirmed, and no unsubscribe confirmed since) after
	// each change. It is called with the bus's lock held:
	// it must only record the number.
	Subscriptions func(int)
	// ShardState is called with a shard's address and its new state after
	// each change; single-node Redis is one shard, whose state is State().
	ShardState func(shard string, st State)
}

// RedisOptions configures NewRedis. Every field but URL has a default used
// when the field is left zero.
type RedisOptions struct {
	// URL is redis://[user:password@]host:port[/db] (rediss:// for TLS,
	// unix:///path for a socket). Required. go-redis query parameters such as
	// dial_timeout are honoured.
	URL string
	// InstanceID is written into OriginInstanceID of every published event.
	InstanceID string
	// InitTimeout is how long Start waits for the first connection before it
	// logs init_timeout and bus_disabled and returns. Default 5 s.
	InitTimeout time.Duration
	// Channel is the control channel, which every instance subscribes to
	// (resync, presence), and the prefix of the user channels
	// (<Channel>:u:{<user id>}). Default "dmchat:events".
	Channel string
	// Logger receives the bus's events under the name "RedisBus" (pass the
	// root logger, not a named one). Nil means zap.NewNop().
	Logger *zap.Logger
	// Hooks report state changes and failed publishes.
	Hooks Hooks
	// PingInterval is how often the subscription connection is pinged. The
	// connection is declared lost when nothing (pong included) arrives for
	// PingInterval+PingTimeout. Default 500 ms.
	PingInterval time.Duration
	// PingTimeout: see PingInterval. Default 500 ms.
	PingTimeout time.Duration
	// PublishTimeout bounds how long Publish waits for a queue slot and then
	// for its batch result. Default 1 s.
	PublishTimeout time.Duration
	// SkipOwn drops the events this instance published before they are
	// decoded, instead of handing them back to the Handler. A node applies
	// its own events locally and ignores the echo, which would otherwise
	// cost a JSON decode for every event it publishes.
	SkipOwn bool
}

// Redis is the Bus on Redis pub/sub. Every event is one JSON message on
// the channel it is routed to (see the package doc). Publishes are queued
// and sent by one goroutine, all pending ones in one pipeline; Publish
// waits for its result, Post does not (the result goes to a callback). One
// goroutine owns the subscription connection: it connects, reconnects with
// backoff, and calls the Handler, one call at a time; another sends the
// interest changes (Subscribe, Unsubscribe) in batches on it.
//
// Loss of Redis is noticed by whichever comes first: the subscription's read
// failing, a publish failing, or a ping going unanswered. It is logged once
// ("bus_lost"), Publish then returns ErrUnavailable at once, and the bus
// reconnects; once the new subscription is confirmed it logs
// "bus_restored", calls Handler.BusRestored and publishes a KindResync event
// so every other instance catches up too.
//
// All methods are safe for concurrent use. Close must not be called from a
// Handler method or a hook.
type Redis struct {
	opts    RedisOptions // defaults filled in
	ownMark string       // `,"originInstanceId":` and the JSON of InstanceID (see isOwn)
	log     *zap.Logger
	client  redis.UniversalClient
	cluster *redis.ClusterClient // the same client on Redis Cluster; nil on one node
	network string               // of Redis, for the connect probe
	addr    string
	dialTO  time.Duration
	queue   chan *pubReq

	ctx    context.Context // lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the run and publish goroutines

	// state holds a State. It is written only with mu held and read freely.
	state atomic.Int32

	// mu guards the fields below. It is held only to read or write them:
	// never across I/O, logging, Handler calls or hooks.
	mu      sync.Mutex
	started bool
	closed  bool
	sess    *session // the connected session; nil unless StateConnected

	// Interest, guarded by mu as well. interest counts this instance's
	// wants per user (its sockets); dirty holds the users whose want changed
	// since the subscriber last looked; gap the users who may have missed
	// events (a WaitSubscribed that returned unconfirmed) and get
	// Handler.UsersResubscribed once their channel is held; held counts the
	// user channels confirmed on the live session.
	interest map[string]int
	dirty    map[string]struct{}
	gap      map[string]struct{}
	waiters  map[string][]*waiter
	held     int
	subKick  chan struct{} // capacity 1: dirty has changed

	// On Redis Cluster, users' channels are held on one connection per
	// shard (a lane); lanes by shard address, and each user's lane. Guarded
	// by mu. shardRetry is the next retry delay of a shard that failed.
	lanes      map[string]*lane
	assign     map[string]*lane
	shardRetry map[string]time.Duration

	h         Handler    // set by Start
	handlerMu sync.Mutex // one Handler call at a time, whichever connection it comes from
}

var _ Bus = (*Redis)(nil)

// NewRedis checks opts and returns a bus that is not yet connected; Start
// connects. It fails only for a bad URL: no I/O happens here.
func NewRedis(opts RedisOptions) (*Redis, error) {
	b, err := newRedis(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: failed to configure redis: %w", err)
	}
	return b, nil
}

func newRedis(opts RedisOptions) (*Redis, error) {
	if opts.URL == "" {
		return nil, errors.New("redis url is empty")
	}
	if IsClusterURL(opts.URL) {
		return newRedisCluster(opts)
	}
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid redis url: %w", urlCause(err))
	}
	opts = withDefaults(opts)
	tuneOptions(ro)
	b := newRedisBus(opts, redis.NewClient(ro))
	b.network, b.addr, b.dialTO = ro.Network, ro.Addr, ro.DialTimeout
	return b, nil
}

// withDefaults fills in opts' zero fields.
func withDefaults(opts RedisOptions) RedisOptions {
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.Channel == "" {
		opts.Channel = DefaultChannel
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = defaultPingInterval
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = defaultPingTimeout
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = defaultPublishTimeout
	}

	return opts
}

// urlCause keeps only the cause of a *url.Error, which quotes the whole
// URL, password included.
func urlCause(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// tuneOptions sets what the bus needs of a connection, where the URL did
// not say otherwise.
func tuneOptions(ro *redis.Options) {
	// RESP2 unless the URL asks otherwise: plain pub/sub framing.
	if ro.Protocol == 0 {
		ro.Protocol = 2
	}
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if ro.DialTimeout == 0 {
		ro.DialTimeout = defaultDialTimeout
	}
	ro.DialerRetries = 1 // we retry ourselves, with backoff
	if ro.ReadTimeout == 0 {
		ro.ReadTimeout = time.Second
	}
	if ro.WriteTimeout == 0 {
		ro.WriteTimeout = time.Second
	}
	if ro.MaxRetries == 0 {
		// No retries inside go-redis: a failed publish marks the bus lost
		// at once and the bus reconnects itself.
		ro.MaxRetries = -1
	}
	ro.ContextTimeoutEnabled = true
}

// newRedisBus builds the bus on client, opts' defaults filled in.
func newRedisBus(opts RedisOptions, client redis.UniversalClient) *Redis {
	ctx, cancel := context.WithCancel(context.Background())
	id, _ := encodeString(opts.InstanceID) // as encodeEvent writes it
	b := &Redis{
		opts:    opts,
		ownMark: `,"originInstanceId":` + string(id),
		log:     opts.Logger.Named("RedisBus"),
		client:  client,
		queue:   make(chan *pubReq, queueSize),
		ctx:     ctx,
		cancel:  cancel,

		interest: make(map[string]int),
		dirty:    make(map[string]struct{}),
		gap:      make(map[string]struct{}),
		waiters:  make(map[string][]*waiter),
		subKick:  make(chan struct{}, 1),

		lanes:      make(map[string]*lane),
		assign:     make(map[string]*lane),
		shardRetry: make(map[string]time.Duration),
	}
	b.state.Store(int32(StateDisabled))
	return b
}

// State reports the connection state: StateDisabled before Start, after Close
// and while the first connection is still being tried.
func (b *Redis) State() State { return State(b.state.Load()) }

// Start connects and subscribes, waiting at most InitTimeout (or until ctx
// is done) for the first connection. A refused connection is retried with a
// short backoff. On success it logs "bus_connected"; otherwise it logs
// "init_timeout" and "bus_disabled" and keeps trying in the background, and
// when Redis appears it logs "bus_connected" and calls h.BusRestored. Either
// way Start returns, and h is called from one background goroutine until
// Close. Only the first call does anything; ctx is not used after Start
// returns.
func (b *Redis) Start(ctx context.Context, h Handler) {
	b.mu.Lock()
	if b.started || b.closed {
		b.mu.Unlock()
		return
	}
	b.started = true
	b.wg.Add(3)
	if h == nil {
		h = nopHandler{}
	}
	b.h = h
	b.mu.Unlock()

	initCtx, cancel := context.WithTimeout(b.ctx, b.opts.InitTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	ready := make(chan struct{})
	go b.publishLoop()
	go b.subscribeLoop()
	go b.run(initCtx, h, ready)
	<-ready
}

// Close removes this instance's presence record, stops the goroutines,
// closes the connections and logs "stopped".
// Later calls do nothing. Publish after Close returns ErrUnavailable.
func (b *Redis) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	b.removePresence()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	prev := State(b.state.Load())
	b.state.Store(int32(StateDisabled))
	b.sess = nil
	b.mu.Unlock()

	b.cancel()
	b.wg.Wait()
	err := b.client.Close()
	b.log.Info("stopped")
	if prev != StateDisabled {
		b.hookState(StateDisabled)
	}
	if err != nil {
		return fmt.Errorf("bus: failed to close redis client: %w", err)
	}
	return nil
}

// run owns the subscription: first connection, serving, loss and
// reconnection. It is the only goroutine that calls the Handler and
// StateChanged (until Close, which waits for it).
func (b *Redis) run(initCtx context.Context, h Handler, ready chan<- struct{}) {
	defer b.wg.Done()
	signalReady := sync.OnceFunc(func() { close(ready) })
	defer signalReady()

	catchUp := false
	s := b.connect(initCtx, initMaxBackoff)
	if s == nil {
		if b.ctx.Err() != nil {
			return
		}
		b.log.Warn("init_timeout", zap.Int64("timeoutMs", b.opts.InitTimeout.Milliseconds()))
		b.log.Warn("bus_disabled", zap.String("reason", "Redis unavailable or timeout"))
		signalReady()
		if s = b.connect(b.ctx, maxBackoff); s == nil {
			return
		}
		catchUp = true // events published meanwhile were lost
	}
	event := "bus_connected"
	for {
		missed, ok := b.setConnected(s)
		if !ok {
			b.endSession(s, nil)
			return
		}
		b.log.Info(event)
		b.hookState(StateConnected)
		signalReady()
		b.kickSubscriber() // interest changed while connecting
		if catchUp {
			b.publishResync()
			h.BusRestored()
		} else if len(missed) > 0 {
			h.UsersResubscribed(missed)
		}
		cause := b.serve(s, h)
		b.endSession(s, cause)
		if b.ctx.Err() != nil {
			return
		}
		b.log.Warn("bus_lost", zap.NamedError("cause", s.cause))
		b.hookState(StateLost)
		if s = b.connect(b.ctx, maxBackoff); s == nil {
			return
		}
		event, catchUp = "bus_restored", true
	}
}

// connect tries to connect and subscribe until it succeeds or ctx is done
// (then it returns nil), waiting between attempts with a jittered backoff
// from 100 ms doubling up to capDelay.
func (b *Redis) connect(ctx context.Context, capDelay time.Duration) *session {
	delay := minBackoff
	for {
		s, err := b.dial(ctx)
		if err == nil {
			return s
		}
		b.log.Debug("bus_connect_failed", zap.Error(err))
		// ±20 % so that many instances do not retry in lockstep.
		d := delay - delay/5 + rand.N(2*delay/5+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, capDelay)
	}
}

// dial makes one attempt at a live, confirmed subscription. On success the
// session's pinger is running.
func (b *Redis) dial(ctx context.Context) (*session, error) {
	if b.cluster == nil {
		// A plain TCP probe first: while Redis is down this fails quietly,
		// where a go-redis dial would print a line on stderr each time.
		d := net.Dialer{Timeout: b.dialTO}
		c, err := d.DialContext(ctx, b.network, b.addr)
		if err != nil {
			return nil, err
		}
		_ = c.Close()
	}

	sctx, cancel := context.WithCancel(b.ctx)
	s := &session{ctx: sctx, cancel: cancel, pingerDone: make(chan struct{})}
	if b.cluster == nil {
		s.ps = b.client.Subscribe(sctx)
		s.lane = &lane{ps: s.ps, subs: make(map[string]*subState)}
	} else {
		s.ps = b.cluster.Subscribe(sctx)
		// A PING before any SUBSCRIBE connects to a random node rather
		// than the master of the control channel's slot: the control
		// channel is classic pub/sub, which every node carries, so losing
		// one shard need not take it down.
		pctx, pcancel := context.WithTimeout(ctx, handshakeTimeout)
		err := s.ps.Ping(pctx)
		pcancel()
		if err != nil {
			cancel()
			return nil, err
		}
	}
	// Closing the PubSub is what interrupts a blocked read, so cancelling
	// the session (loss, Close) closes it.
	context.AfterFunc(sctx, func() { _ = s.ps.Close() })
	stop := context.AfterFunc(ctx, cancel) // init timeout ends the attempt
	defer stop()

	if err := b.subscribe(s); err != nil {
		cancel()
		return nil, err
	}
	if err := sctx.Err(); err != nil {
		return nil, err
	}
	go b.ping(s)
	return s, nil
}

// subscribe sends SUBSCRIBE for the control channel and every user this
// instance wants, and waits for Redis to confirm them all: only then is
// every later publish sure to reach us. The users subscribed are recorded
// in s.subs as held; changes made meanwhile are left dirty for the
// subscriber.
func (b *Redis) subscribe(s *session) error {
	var users []string // on a cluster the lanes hold the users
	if s.lane != nil {
		b.mu.Lock()
		users = b.interestSnapshotLocked()
		b.mu.Unlock()
	}
	want := make(map[string]struct{}, len(users)+1)
	want[b.opts.Channel] = struct{}{}
	for _, id := range users {
		want[b.userChannel(id)] = struct{}{}
	}
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout+time.Duration(len(users))*time.Millisecond)
	defer cancel()
	if err := s.ps.Subscribe(ctx, b.opts.Channel); err != nil {
		return fmt.Errorf("failed to subscribe: %w", err)
	}
	for i := 0; i < len(users); i += maxSubscribeArgs {
		chans := make([]string, 0, maxSubscribeArgs)
		for _, id := range users[i:min(i+maxSubscribeArgs, len(users))] {
			chans = append(chans, b.userChannel(id))
		}
		if err := s.ps.Subscribe(ctx, chans...); err != nil {
			return fmt.Errorf("failed to subscribe: %w", err)
		}
	}
	for len(want) > 0 {
		msg, err := s.ps.ReceiveTimeout(ctx, handshakeTimeout)
		if err != nil {
			return fmt.Errorf("failed to confirm subscription: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				delete(want, m.Channel)
			}
		case *redis.Message:
			s.early = append(s.early, m.Payload) // served first
		}
	}
	for _, id := range users {
		s.lane.subs[id] = &subState{sent: true, counted: true}
	}
	return nil
}

// serve reads the subscription and hands events to h until the session
// ends; it returns the read error that ended it, if any.
func (b *Redis) serve(s *session, h Handler) error {
	recvTimeout := b.opts.PingInterval + b.opts.PingTimeout
	for _, p := range s.early {
		b.dispatch(p, h)
	}
	s.early = nil
	for {
		msg, err := s.ps.ReceiveTimeout(s.ctx, recvTimeout)
		if err != nil {
			return fmt.Errorf("subscription: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Message:
			b.dispatch(m.Payload, h)
		case *redis.Subscription:
			if s.lane == nil {
				break
			}
			if id, again := b.confirmed(s.lane, m); again {
				b.handle(func() { h.UsersResubscribed([]string{id}) })
			}
		}
		if s.ctx.Err() != nil {
			return nil
		}
	}
}

// dispatch decodes one payload and hands it to h. A malformed payload is
// logged (never its content) and skipped.
func (b *Redis) dispatch(payload string, h Handler) {
	if f := b.opts.Hooks.EventReceived; f != nil {
		f(payloadKind(payload))
	}
	if b.opts.SkipOwn && b.isOwn(payload) {
		return
	}
	b.handle(func() { b.decodeAndHandle(payload, h) })
}

// handle runs fn as a Handler call: one at a time, though on a cluster
// several connections deliver.
func (b *Redis) handle(fn func()) {
	b.handlerMu.Lock()
	defer b.handlerMu.Unlock()
	fn()
}

func (b *Redis) decodeAndHandle(payload string, h Handler) {
	ev, reason := decodeEvent(payload)
	if reason != "" {
		// Ids only: a payload that did not decode is never quoted.
		b.log.Warn("bus_event_malformed", zap.String("reason", reason), zap.Int("bytes", len(payload)),
			zap.String("kind", string(ev.Kind)), zap.String("messageId", ev.MessageID))
		if f := b.opts.Hooks.EventMalformed; f != nil {
			f()
		}
		return
	}
	h.HandleEvent(ev)
}

// isOwn reports whether payload was published by this instance without
// decoding it. encoding/json writes struct fields in order, so every
// payload starts {"kind":"…","originInstanceId":"…" and the first
// occurrence of the key is that field, before anything a user wrote; the
// mark ends with the id's closing quote, so "A" never matches "AB".
func (b *Redis) isOwn(payload string) bool {
	const key = `,"originInstanceId":`
	i := strings.Index(payload, key)
	return i >= 0 && strings.HasPrefix(payload[i:], b.ownMark)
}

// ping pings the subscription connection every PingInterval until the
// session ends; a failed write ends it. A missing pong is caught by
// serve's read timeout.
func (b *Redis) ping(s *session) {
	defer close(s.pingerDone)
	t := time.NewTicker(b.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, b.opts.PingTimeout)
		err := s.ps.Ping(ctx)
		cancel()
		if err != nil {
			b.markLost(s, fmt.Errorf("ping: %w", err))
			return
		}
	}
}

// setConnected makes s the live session, unless the bus is closed, and
// returns the users subscribed by its handshake who had been told their
// subscription was not confirmed (see Handler.UsersResubscribed).
func (b *Redis) setConnected(s *session) ([]string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, false
	}
	b.sess = s
	b.state.Store(int32(StateConnected))
	if s.lane == nil {
		return nil, true
	}
	var missed []string
	for id := range s.lane.subs {
		if _, gap := b.gap[id]; gap {
			delete(b.gap, id)
			missed = append(missed, id)
		}
	}
	b.held = len(s.lane.subs)
	b.hookSubscriptions(b.held)
	return missed, true
}

// markLost ends session s because of cause: if s is still the live session
// the state becomes StateLost at once, so Publish stops queueing. Called
// by any goroutine that notices the loss; only the first call counts.
func (b *Redis) markLost(s *session, cause error) {
	b.mu.Lock()
	if b.sess == s {
		b.sess = nil
		b.state.Store(int32(StateLost))
		if s.lane != nil { // on a cluster the lanes live on
			b.releaseWaitersLocked("", false)
			b.held = 0
			b.hookSubscriptions(0)
		}
	}
	b.mu.Unlock()
	s.fail(cause)
}

// endSession ends s (recording cause if it is the first) and waits until
// its pinger has exited and its connection is closed.
func (b *Redis) endSession(s *session, cause error) {
	b.markLost(s, cause)
	<-s.pingerDone
	_ = s.ps.Close()
}

func (b *Redis) hookState(st State) {
	if f := b.opts.Hooks.StateChanged; f != nil {
		f(st)
	}
	if f := b.opts.Hooks.ShardState; f != nil && b.cluster == nil {
		f(b.addr, st)
	}
}

// session is one connection's subscription, from confirmed subscribe to
// loss or Close.
type session struct {
	ps         *redis.PubSub
	ctx        context.Context // cancelled when the session ends
	cancel     context.CancelFunc
	pingerDone chan struct{}
	// lane holds the user channels on this connection; nil on a cluster,
	// where each shard has a lane of its own.
	lane *lane
	// early holds what arrived during the handshake, before the last
	// confirmation; only the run goroutine touches it.
	early []string

	failOnce sync.Once
	cause    error // written once inside failOnce; read after fail returns
}

// fail records the first cause and cancels the session.
func (s *session) fail(cause error) {
	s.failOnce.Do(func() {
		s.cause = cause
		s.cancel()
	})
}

type nopHandler struct{}

func (nopHandler) HandleEvent(Event)          {}
func (nopHandler) BusRestored()               {}
func (nopHandler) UsersResubscribed([]string) {}

// payloadKind reads the kind of an encoded Event without decoding it:
// encoding/json writes the kind first, as {"kind":"…".
func payloadKind(payload string) Kind {
	const key = `{"kind":"`
	if !strings.HasPrefix(payload, key) {
		return ""
	}
	rest := payload[len(key):]
	if i := strings.IndexByte(rest, '"'); i >= 0 && i <= 32 {
		return Kind(rest[:i])
	}
	return ""
}
