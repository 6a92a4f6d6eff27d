// Package sandbox is the developer harness: it runs several full server
// instances in one process over an embedded Redis (miniredis) and one shared
// store, drives them with simulated users that are real WebSocket clients
// over loopback, injects faults (Redis stop and start, instance stop and
// restart, bus latency and loss, dropped acks) and records what happened
// into a history.Recorder and a LogBuffer.
//
// The sandbox holds no server logic. It drives the core only through the
// public API cmd/server uses (server.New, Start, Shutdown) plus fault
// wrappers that sit outside the server's hot path (a bus.Bus wrapper given
// as server.Options.WrapBus). cmd/sandbox's terminal UI and the scenario
// runner are built on it:
//
//	c, err := sandbox.Start(ctx, sandbox.Options{Users: 2})
//	defer c.Close()
//	alice, bob := c.User("user1"), c.User("user2")
//	_ = alice.Connect(ctx, "A")
//	_ = bob.Connect(ctx, "B")
//	_ = bob.WaitReady(ctx)
//	cmid, err := alice.Send(ctx, "user2", "hello")
//	c.StopRedis() // a fault, shown by c.Faults()
//
// Every exported method of Cluster, Instance, SimUser and LogBuffer is safe
// for concurrent use.
package sandbox

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/internal/guard"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox/history"
	"github.com/dmchat/dmchat/core/store"
)

// Defaults of Options.
const (
	// DefaultRedisInitTimeout keeps a start with Redis down fast.
	DefaultRedisInitTimeout = time.Second
	// DefaultPassword is the password of every user the sandbox creates.
	DefaultPassword = "password1"
	// DefaultAdminName is the admin created when Options.Users > 0.
	DefaultAdminName = "admin"
	// DefaultRetryAfter is how long a simulated user waits for a
	// MESSAGE_ACK before sending the same clientMessageId again.
	DefaultRetryAfter = 2 * time.Second
	// DefaultLogCapacity is how many log records the LogBuffer keeps.
	DefaultLogCapacity = 20000
)

// Errors of the sandbox; check with errors.Is.
var (
	// ErrUnknownInstance: no instance has that name.
	ErrUnknownInstance = errors.New("sandbox: unknown instance")
	// ErrUnknownUser: no simulated or stored user has that name.
	ErrUnknownUser = errors.New("sandbox: unknown user")
	// ErrInstanceStopped: the instance is not running.
	ErrInstanceStopped = errors.New("sandbox: instance stopped")
	// ErrInstanceRunning: StartInstance on a running instance.
	ErrInstanceRunning = errors.New("sandbox: instance already running")
	// ErrNoInstance: no instance is running to serve an HTTP call.
	ErrNoInstance = errors.New("sandbox: no instance running")
	// ErrNotConnected: the simulated user has no open connection.
	ErrNotConnected = errors.New("sandbox: not connected")
	// ErrAlreadyConnected: Connect while a connection is open.
	ErrAlreadyConnected = errors.New("sandbox: already connected")
	// ErrNotAdmin: an admin action by a user who is not an admin.
	ErrNotAdmin = errors.New("sandbox: not an admin")
	// ErrConnectionEnded: WaitFrame's connection ended with no match.
	ErrConnectionEnded = errors.New("sandbox: connection ended")
	// ErrClosed: the cluster was closed.
	ErrClosed = errors.New("sandbox: cluster closed")
)

// Options configure Start. The zero value starts instances "A" and "B" on a
// memory store with Redis up and no users.
type Options struct {
	// DBURI picks the one store shared by every instance: "" means "mem";
	// "sqlite:/tmp/x.db" gives a durable store.
	DBURI string
	// RedisDown starts with miniredis stopped: instances log init_timeout
	// and bus_disabled, then recover when StartRedis is called.
	RedisDown bool
	// Users pre-creates users user1..userN (password DefaultPassword) and,
	// when N > 0, one admin DefaultAdminName with the same password.
	Users int
	// Instances names the instances; default {"A", "B"}.
	Instances []string
	// Ports fixes an instance's loopback port by name ({"A": 8000}), so a
	// browser can be pointed at it before the start; an instance without
	// one (or 0) gets a free port. The port is kept across restarts.
	Ports map[string]int
	// LogFile, when set, also receives every log line as one JSON object
	// (production form, with instanceId). It is created or appended to.
	LogFile string
	// RedisInitTimeout is how long an instance's start waits for Redis;
	// default DefaultRedisInitTimeout (1 s).
	RedisInitTimeout time.Duration
	// Seed seeds the random choices of simulated users (Burst, bus drops).
	// Zero means a seed from the clock.
	Seed int64
	// LogOutput receives the instances' console log lines; default
	// io.Discard (a UI shows them from the LogBuffer instead).
	LogOutput io.Writer
	// LogLevel is the lowest level kept in the LogBuffer and the LogFile;
	// the zero value is Info.
	LogLevel zapcore.Level
	// LogCapacity is the size of the LogBuffer ring; default
	// DefaultLogCapacity.
	LogCapacity int
	// RetryAfter is how long simulated users wait for a MESSAGE_ACK before
	// retrying; default DefaultRetryAfter.
	RetryAfter time.Duration
	// SendRate and SendBurst pace each simulated user's MESSAGE_SEND frames
	// (retries included) under the server's default limit of 20/s burst
	// 40; defaults 15 per second and 20.
	SendRate  float64
	SendBurst int
}

func (o Options) withDefaults() Options {
	if o.DBURI == "" {
		o.DBURI = "mem"
	}
	if len(o.Instances) == 0 {
		o.Instances = []string{"A", "B"}
	}
	if o.RedisInitTimeout <= 0 {
		o.RedisInitTimeout = DefaultRedisInitTimeout
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	if o.LogOutput == nil {
		o.LogOutput = io.Discard
	}
	if o.LogCapacity <= 0 {
		o.LogCapacity = DefaultLogCapacity
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.SendRate <= 0 {
		o.SendRate = 15
	}
	if o.SendBurst <= 0 {
		o.SendBurst = 20
	}
	return o
}

// Cluster is a running sandbox: its instances, miniredis, the shared store,
// simulated users, faults, logs and history. Create it with Start and end it
// with Close. Safe for concurrent use.
type Cluster struct {
	opts      Options
	store     store.Store
	redis     *miniredis.Miniredis
	redisAddr string
	secret    []byte
	logs      *LogBuffer
	logFile   *os.File
	logSync   zapcore.WriteSyncer // locked file writer shared by every instance, nil without LogFile
	log       *zap.Logger         // the sandbox's own logger (instanceId "sandbox")
	hist      *history.Recorder
	changed   chan struct{}
	names     []string
	instances map[string]*Instance // fixed after Start
	runID     string               // makes clientMessageIds unique across runs on a durable store

	ctx    context.Context // cancelled by Close: ends users' background work
	cancel context.CancelFunc
	// bg runs users' retry loops and delayed bus publishes; Close closes it
	// first, which is also how the rest of the sandbox tells it is closed.
	bg guard.Group

	// mu guards the fields below. Held only to read or write them, never
	// across I/O or calls into instances, users or miniredis.
	mu        sync.Mutex
	redisUp   bool
	busFault  BusFault
	users     map[string]*SimUser // by name
	userOrder []*SimUser          // creation order
	idNames   map[string]string   // user id -> name cache (sim and stored users)
	rng       *rand.Rand

	closeOnce sync.Once
	closeErr  error
}

// Start starts miniredis (unless o.RedisDown), opens the store, starts
// every instance on a loopback listener and creates the users o asks for.
// On failure everything already started is stopped again.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	c, err := start(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("sandbox: failed to start: %w", err)
	}
	return c, nil
}

func start(ctx context.Context, o Options) (*Cluster, error) {
	o = o.withDefaults()
	seen := map[string]bool{}
	for _, n := range o.Instances {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("instance names must be unique and non-empty: %q", o.Instances)
		}
		seen[n] = true
	}
	for n, port := range o.Ports {
		if !seen[n] || port < 0 || port > 65535 {
			return nil, fmt.Errorf("port %d for instance %q: no such instance, or not a port", port, n)
		}
	}
	secret := make([]byte, 32)
	if _, err := crand.Read(secret); err != nil {
		return nil, fmt.Errorf("failed to generate a JWT secret: %w", err)
	}
	bctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{
		opts:      o,
		secret:    secret,
		logs:      NewLogBuffer(o.LogCapacity),
		hist:      history.NewRecorder(),
		changed:   make(chan struct{}, 1),
		names:     append([]string(nil), o.Instances...),
		instances: map[string]*Instance{},
		runID:     fmt.Sprintf("%x", uint32(time.Now().UnixNano())),
		ctx:       bctx,
		cancel:    cancel,
		users:     map[string]*SimUser{},
		idNames:   map[string]string{},
		rng:       newRand(o.Seed),
	}
	ok := false
	defer func() {
		if !ok {
			_ = c.Close()
		}
	}()
	c.logs.onAdd = c.notify
	if o.LogFile != "" {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("failed to open log file: %w", err)
		}
		c.logFile = f
		c.logSync = zapcore.Lock(f)
	}
	c.log = logging.New(logging.Options{InstanceID: "sandbox", Output: zapcore.AddSync(o.LogOutput), Extra: c.logCores()})

	st, err := store.Open(ctx, o.DBURI, store.Options{Logger: c.log})
	if err != nil {
		return nil, fmt.Errorf("failed to open store: %w", err)
	}
	c.store = st
	// The contract's durability (synchronous=FULL on SQLite) is asserted,
	// not assumed: a scenario run on a weakened store fails at start.
	if err := store.CheckDurability(ctx, st); err != nil {
		return nil, err
	}

	c.redis = miniredis.NewMiniRedis()
	if err := c.redis.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("failed to start miniredis: %w", err)
	}
	c.redisAddr = c.redis.Addr()
	c.redisUp = true
	if o.RedisDown {
		c.redis.Close()
		c.redisUp = false
		c.hist.Record(history.Event{Kind: history.Fault, Detail: "redis_stop"})
	}

	for _, name := range c.names {
		c.instances[name] = &Instance{c: c, name: name}
	}
	// Instances start in parallel: with Redis down each waits its init
	// timeout, and they should not wait one after the other.
	errs := make([]error, len(c.names))
	var wg sync.WaitGroup
	for i, name := range c.names {
		wg.Go(func() { errs[i] = c.instances[name].start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if o.Users > 0 {
		if _, err := c.CreateUser(ctx, DefaultAdminName, true); err != nil {
			return nil, err
		}
		for i := 1; i <= o.Users; i++ {
			if _, err := c.CreateUser(ctx, fmt.Sprintf("user%d", i), false); err != nil {
				return nil, err
			}
		}
	}
	ok = true
	c.notify()
	return c, nil
}

// logCores are the extra zap cores of every logger of the cluster: the
// LogBuffer, and the log file when there is one.
func (c *Cluster) logCores() []zapcore.Core {
	cores := []zapcore.Core{logging.NewCaptureCore(c.opts.LogLevel, c.logs.add)}
	if c.logSync != nil {
		cores = append(cores, zapcore.NewCore(logging.NewProductionEncoder(), c.logSync, c.opts.LogLevel))
	}
	return cores
}

// Close disconnects every simulated user, shuts every instance down (each
// within 5 s), stops miniredis, closes the store and the log file, and waits
// for every goroutine the sandbox started. Idempotent; later calls return
// the first result.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.bg.Close()
		c.cancel()
		for _, u := range c.Users() {
			u.Disconnect()
		}
		errs := make([]error, len(c.names))
		var wg sync.WaitGroup
		for i, name := range c.names {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				inst := c.instances[name]
				if inst == nil {
					return // Start failed before this instance existed
				}
				if err := inst.stop(ctx); err != nil && !errors.Is(err, ErrInstanceStopped) {
					errs[i] = err
				}
			})
		}
		wg.Wait()
		_ = c.bg.Wait(context.Background()) // cancel ended their work
		if c.redis != nil {
			c.redis.Close()
		}
		if c.store != nil {
			if err := c.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: failed to close store: %w", err))
			}
		}
		if c.log != nil {
			_ = c.log.Sync()
		}
		if c.logFile != nil {
			if err := c.logFile.Close(); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: failed to close log file: %w", err))
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// InstanceNames returns the instance names in their configured order.
func (c *Cluster) InstanceNames() []string { return append([]string(nil), c.names...) }

// Instance returns the named instance, or nil if unknown.
func (c *Cluster) Instance(name string) *Instance { return c.instances[name] }

// Store is the store every instance shares.
func (c *Cluster) Store() store.Store { return c.store }

// History is the recorder every simulated user and fault records into.
func (c *Cluster) History() *history.Recorder { return c.hist }

// Logs is the buffer of every instance's log records.
func (c *Cluster) Logs() *LogBuffer { return c.logs }

// Changed returns a channel that receives a value after something changed
// (a frame, a log line, a fault, a user's state): a coalesced signal for
// UIs to redraw. It has capacity 1; a signal not yet consumed absorbs later
// ones. The same channel is returned every time.
func (c *Cluster) Changed() <-chan struct{} { return c.changed }

// notify signals Changed without ever blocking.
func (c *Cluster) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// running returns a running instance, preferring those named in order.
func (c *Cluster) running(prefer ...string) *Instance {
	for _, n := range append(prefer, c.names...) {
		if i := c.instances[n]; i != nil && i.Running() {
			return i
		}
	}
	return nil
}

// goBg runs fn in a goroutine Close waits for, unless the cluster is
// closed (then it reports false and runs nothing).
func (c *Cluster) goBg(fn func()) bool { return c.bg.Go(fn) }

// newRand returns the seeded source of the sandbox's random choices.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(seed)>>1|1))
}

// intn returns a seeded random int in [0, n).
func (c *Cluster) intn(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.IntN(n)
}

// float returns a seeded random float in [0, 1).
func (c *Cluster) float() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64()
}
