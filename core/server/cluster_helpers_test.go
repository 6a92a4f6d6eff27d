package server_test

// Helpers of the multi-instance tests: two (or more) in-process instances
// sharing one store value and one miniredis, which a test can stop and
// restart on the same address to simulate a Redis outage.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/server"
	"github.com/dmchat/dmchat/core/store"
)

// storeKinds are the shared stores the cluster tests run against.
var storeKinds = []string{"mem", "sqlite"}

// cluster is a shared store, a miniredis and the instances started on them.
type cluster struct {
	t    *testing.T
	mr   *miniredis.Miniredis
	addr string // miniredis's address, kept across restarts
	st   store.Store
	kind string
}

// newCluster starts miniredis (unless redisDown) and opens one store of kind
// ("mem" or "sqlite") that every instance of the cluster shares.
func newCluster(t *testing.T, kind string, redisDown bool) *cluster {
	t.Helper()
	c := &cluster{t: t, kind: kind}
	c.mr = miniredis.NewMiniRedis()
	if redisDown {
		// Reserve an address that refuses connections until redisUp.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.addr = l.Addr().String()
		l.Close()
	} else {
		if err := c.mr.StartAddr("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		c.addr = c.mr.Addr()
	}
	t.Cleanup(c.mr.Close)
	uri := "mem"
	if kind == "sqlite" {
		uri = "sqlite:" + filepath.Join(t.TempDir(), "chat.db")
	}
	st, err := store.Open(context.Background(), uri, store.Options{})
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	t.Cleanup(func() { st.Close() })
	c.st = st
	return c
}

// instance starts one instance named id on the cluster's store and Redis.
// mutate, when given, has the last say on its configuration.
func (c *cluster) instance(id string, mutate func(*config.Config)) *env {
	c.t.Helper()
	return c.instanceWith(id, mutate, nil)
}

// instanceWith is instance with a last say on the server options.
func (c *cluster) instanceWith(id string, mutate func(*config.Config), opts func(*server.Options)) *env {
	c.t.Helper()
	return setupWith(c.t, func(cfg *config.Config) {
		cfg.InstanceID = id
		cfg.RedisURL = "redis://" + c.addr + "/0"
		cfg.RedisInitTimeout = 2 * time.Second
		if mutate != nil {
			mutate(cfg)
		}
	}, c.st, opts)
}

// gateBus wraps a bus so a test can hold the events of one kind on their
// way to the instance's handler: while armed, such an event is reported on
// held and waits for release; handled reports it was then applied.
type gateBus struct {
	bus.Bus
	kind     bus.Kind
	armed    chan struct{} // closed: hold the next event of kind
	held     chan bus.Event
	release  chan struct{}
	handled  chan struct{}
	armOnce  sync.Once
	heldOnce sync.Once
}

func newGateBus(b bus.Bus, kind bus.Kind) *gateBus {
	return &gateBus{Bus: b, kind: kind, armed: make(chan struct{}), held: make(chan bus.Event, 1),
		release: make(chan struct{}), handled: make(chan struct{})}
}

// arm makes the next event of the gate's kind from another instance wait.
func (g *gateBus) arm() { g.armOnce.Do(func() { close(g.armed) }) }

func (g *gateBus) Start(ctx context.Context, h bus.Handler) { g.Bus.Start(ctx, gateHandler{h, g}) }

type gateHandler struct {
	bus.Handler
	g *gateBus
}

func (h gateHandler) HandleEvent(ev bus.Event) {
	select {
	case <-h.g.armed:
	default:
		h.Handler.HandleEvent(ev)
		return
	}
	hold := false
	if ev.Kind == h.g.kind {
		h.g.heldOnce.Do(func() { hold = true })
	}
	if !hold {
		h.Handler.HandleEvent(ev)
		return
	}
	h.g.held <- ev
	select {
	case <-h.g.release:
	case <-time.After(30 * time.Second): // never hang the bus for good
	}
	h.Handler.HandleEvent(ev)
	close(h.g.handled)
}

// pair starts instances A and B and checks both buses are connected.
func (c *cluster) pair(mutate func(*config.Config)) (a, b *env) {
	c.t.Helper()
	a, b = c.instance("A", mutate), c.instance("B", mutate)
	for _, e := range []*env{a, b} {
		if st := e.srv.Node().BusState(); st != bus.StateConnected {
			c.t.Fatalf("instance %s: bus %v after start, want connected", e.srv.Config().InstanceID, st)
		}
		e.logs.WaitFor(c.t, waitFor, logtest.Event("RedisBus", "bus_connected"))
	}
	return a, b
}

// redisDown stops miniredis: every connection to it is dropped and new
// ones are refused.
func (c *cluster) redisDown() { c.mr.Close() }

// redisUp starts miniredis again on the same address.
func (c *cluster) redisUp() {
	c.t.Helper()
	if err := c.mr.StartAddr(c.addr); err != nil {
		c.t.Fatalf("restart miniredis on %s: %v", c.addr, err)
	}
}

// waitBus waits until e's bus reports want.
func waitBus(t *testing.T, e *env, want bus.State, d time.Duration) {
	t.Helper()
	eventually(t, d, fmt.Sprintf("instance %s bus %v", e.srv.Config().InstanceID, want), func() bool {
		return e.srv.Node().BusState() == want
	})
}

// eventually polls cond until it holds, failing the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// fieldsMatch matches a record of logger/event whose string fields equal
// want (a value "*" only requires the field to be present and non-empty).
func fieldsMatch(logger, event string, want map[string]string) func(logging.Record) bool {
	return func(r logging.Record) bool {
		if r.Logger != logger || r.Event != event {
			return false
		}
		for k, v := range want {
			got := fmt.Sprint(r.Fields[k])
			if r.Fields[k] == nil || (v == "*" && got == "") || (v != "*" && got != v) {
				return false
			}
		}
		return true
	}
}

// countEvents is the number of logger/event records captured so far.
func countEvents(rec *logtest.Recorder, logger, event string) int {
	return len(rec.Events(logger, event))
}

// noContentFields fails when a record carries a content field: ids only.
func noContentFields(t *testing.T, recs []logging.Record) {
	t.Helper()
	for _, r := range recs {
		for k := range r.Fields {
			if strings.EqualFold(k, "content") {
				t.Errorf("log record [%s] %s has a content field", r.Logger, r.Event)
			}
		}
	}
}

// waitMessage waits on c for the MESSAGE with id, failing after d.
func waitMessage(t *testing.T, c *client.Conn, id string, d time.Duration) client.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	f, err := c.WaitFor(ctx, func(f client.Frame) bool { return f.Type == chat.TypeMessage && f.MessageID == id })
	if err != nil {
		t.Fatalf("waiting for MESSAGE %s: %v (skipped %v)", id, err, frameTypes(c.Skipped()))
	}
	return f
}

// waitType waits on c for a frame of typ, failing after d.
func waitType(t *testing.T, c *client.Conn, typ string, d time.Duration) client.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	f, err := c.WaitFor(ctx, client.OfType(typ))
	if err != nil {
		t.Fatalf("waiting for %s: %v (skipped %v)", typ, err, frameTypes(c.Skipped()))
	}
	return f
}

// expectBanned waits for ERROR BANNED then close 4003 on c, with nothing
// but MESSAGE frames allowed before it.
func expectBanned(t *testing.T, c *client.Conn, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	f, err := c.WaitFor(ctx, client.OfType(chat.TypeError))
	if err != nil {
		t.Fatalf("waiting for ERROR BANNED: %v", err)
	}
	if f.Code != chat.CodeBanned {
		t.Fatalf("error %s (%s), want BANNED", f.Code, f.Message)
	}
	_, err = c.Next(ctx)
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != chat.CloseBanned {
		t.Fatalf("after ERROR BANNED: %v, want close %d", err, chat.CloseBanned)
	}
}

func frameTypes(fs []client.Frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Type
		if f.MessageID != "" {
			out[i] += ":" + f.MessageID
		}
	}
	return out
}

// instancesOf returns, from e's admin user list, the sorted instances of
// user id.
func instancesOf(t *testing.T, e *env, id string) []string {
	t.Helper()
	users, err := e.api.AdminUsers(ctxT(t), e.admin)
	if err != nil {
		t.Fatalf("admin users: %v", err)
	}
	for _, u := range users {
		if u.ID == id {
			inst := append([]string(nil), u.Instances...)
			sort.Strings(inst)
			return inst
		}
	}
	t.Fatalf("user %s not in the admin list", id)
	return nil
}
