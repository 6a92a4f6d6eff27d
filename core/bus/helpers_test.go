package bus

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

// recorder is a Handler that keeps what it is given and wakes waiters.
type recorder struct {
	mu       sync.Mutex // guards the fields below
	events   []Event
	restored int
	resubbed []string // users given to UsersResubscribed
	states   []State
	failed   int
	bad      int           // EventMalformed calls
	changed  chan struct{} // capacity 1: a change happened
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) HandleEvent(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.notify()
}

func (r *recorder) BusRestored() {
	r.mu.Lock()
	r.restored++
	r.mu.Unlock()
	r.notify()
}

func (r *recorder) UsersResubscribed(ids []string) {
	r.mu.Lock()
	r.resubbed = append(r.resubbed, ids...)
	r.mu.Unlock()
	r.notify()
}

// hooks returns Hooks that record into r.
func (r *recorder) hooks() Hooks {
	return Hooks{
		StateChanged: func(s State) {
			r.mu.Lock()
			r.states = append(r.states, s)
			r.mu.Unlock()
			r.notify()
		},
		PublishFailed: func() {
			r.mu.Lock()
			r.failed++
			r.mu.Unlock()
		},
		EventMalformed: func() {
			r.mu.Lock()
			r.bad++
			r.mu.Unlock()
		},
	}
}

// wait blocks until cond (called with r.mu held) is true, failing the test
// after waitTimeout.
func (r *recorder) wait(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitEvent waits for an event matching pred and returns it.
func (r *recorder) waitEvent(t *testing.T, what string, pred func(Event) bool) Event {
	t.Helper()
	var found Event
	r.wait(t, what, func(r *recorder) bool {
		for _, ev := range r.events {
			if pred(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

func (r *recorder) count(pred func(Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if pred(ev) {
			n++
		}
	}
	return n
}

func (r *recorder) restoredCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restored
}

func (r *recorder) lastState() (State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return 0, false
	}
	return r.states[len(r.states)-1], true
}

// eventually polls cond until it is true, failing after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// testBus is a started or startable Redis bus with its recorder and logs.
type testBus struct {
	*Redis
	rec  *recorder
	logs *observer.ObservedLogs
}

// newTestBus returns a bus on addr with a 300 ms init timeout, closed at
// the end of the test.
func newTestBus(t *testing.T, addr, id string, tweak ...func(*RedisOptions)) *testBus {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	rec := newRecorder()
	opts := RedisOptions{
		URL:         "redis://" + addr + "/0",
		InstanceID:  id,
		InitTimeout: 300 * time.Millisecond,
		Logger:      zap.New(core),
		Hooks:       rec.hooks(),
	}
	for _, f := range tweak {
		f(&opts)
	}
	b, err := NewRedis(opts)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testBus{Redis: b, rec: rec, logs: logs}
}

// start starts tb and fails unless it connected.
func (tb *testBus) start(t *testing.T) {
	t.Helper()
	tb.Start(context.Background(), tb.rec)
	if s := tb.State(); s != StateConnected {
		t.Fatalf("State after Start = %v, want connected", s)
	}
}

// entries returns the RedisBus entries named msg.
func (tb *testBus) entries(msg string) []observer.LoggedEntry {
	return tb.logs.FilterLoggerName("RedisBus").FilterMessage(msg).AllUntimed()
}

// assertNoSecret fails if s appears in any log entry's message or fields.
func assertNoSecret(t *testing.T, logs *observer.ObservedLogs, s string) {
	t.Helper()
	for _, e := range logs.AllUntimed() {
		text := e.Message + " " + fmt.Sprint(e.ContextMap())
		if strings.Contains(text, s) {
			t.Errorf("log entry %q contains %q: %s", e.Message, s, text)
		}
	}
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func isKind(k Kind) func(Event) bool { return func(ev Event) bool { return ev.Kind == k } }

func isMessage(id string) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == KindMessage && ev.MessageID == id }
}

func (r *recorder) failedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// twoBuses starts instances A and B on one miniredis, both connected.
func twoBuses(t *testing.T) (*miniredis.Miniredis, *testBus, *testBus) {
	t.Helper()
	m := miniredis.RunT(t)
	a, b := twoBusesAt(t, m.Addr())
	return m, a, b
}

// twoBusesAt starts instances A and B on the Redis at addr, both connected.
func twoBusesAt(t *testing.T, addr string) (*testBus, *testBus) {
	t.Helper()
	a := newTestBus(t, addr, "A")
	b := newTestBus(t, addr, "B")
	a.start(t)
	b.start(t)
	return a, b
}

func (r *recorder) malformedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}
