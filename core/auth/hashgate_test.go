package auth

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const gateWait = 5 * time.Second

// TestHashGateNeverRunsMoreThanItsBound: with 2 slots and a queue of 3, 8
// simultaneous callers give 2 running, 3 waiting and 3 ErrBusy at once;
// no more than 2 ever run together.
func TestHashGateNeverRunsMoreThanItsBound(t *testing.T) {
	const slots, queue, callers = 2, 3, 8
	g := NewHashGate(slots, queue)
	release := make(chan struct{})
	entered := make(chan struct{}, callers)
	var mu sync.Mutex
	inside, most, ran := 0, 0, 0
	work := func() {
		mu.Lock()
		inside++
		ran++
		most = max(most, inside)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		inside--
		mu.Unlock()
	}
	results := make(chan error, callers)
	for range callers {
		go func() { results <- g.Do(context.Background(), work) }()
	}
	for range slots {
		waitSignal(t, entered, "a caller to enter")
	}
	for range callers - slots - queue {
		if err := waitResult(t, results); !errors.Is(err, ErrBusy) {
			t.Fatalf("caller over the queue got %v, want ErrBusy", err)
		}
	}
	close(release)
	for range slots + queue {
		if err := waitResult(t, results); err != nil {
			t.Fatalf("queued caller: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != slots || ran != slots+queue {
		t.Fatalf("at most %d ran together (want %d), %d ran (want %d)", most, slots, ran, slots+queue)
	}
}

func TestHashGateWaitEndsWithTheContext(t *testing.T) {
	g := NewHashGate(1, 1)
	hold, release := holdGate(t, g)
	defer release()
	<-hold
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Do(ctx, func() { t.Error("ran without a slot") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with an ended context: %v", err)
	}
}

// TestLoginIsBoundByTheGate: with the only slot taken, one login waits and
// the next is refused with ErrBusy without hashing; the waiting one
// succeeds once the slot frees.
func TestLoginIsBoundByTheGate(t *testing.T) {
	a := &Accounts{Store: newFakeUsers(), Hasher: Hasher{Cost: bcrypt.MinCost}, Tokens: NewTokens(testSecret, 0),
		Gate: NewHashGate(1, 1)}
	ctx := context.Background()
	if _, err := a.Register(ctx, "alice", "password1"); err != nil {
		t.Fatal(err)
	}
	hold, release := holdGate(t, a.Gate)
	<-hold
	queued := make(chan error, 1)
	go func() {
		_, _, _, err := a.Login(ctx, "alice", "password1")
		queued <- err
	}()
	waitUntil(t, func() bool { return a.Gate.waiting.Load() == 1 }, "the login to queue")
	if _, _, _, err := a.Login(ctx, "alice", "password1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("login with the gate full: %v, want ErrBusy", err)
	}
	if _, err := a.Register(ctx, "bob", "password1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("register with the gate full: %v, want ErrBusy", err)
	}
	release()
	if err := waitResult(t, queued); err != nil {
		t.Fatalf("the queued login: %v", err)
	}
}

// holdGate takes g's slot until release is called; hold is closed once
// the slot is taken.
func holdGate(t *testing.T, g *HashGate) (hold <-chan struct{}, release func()) {
	t.Helper()
	held, done, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(returned)
		_ = g.Do(context.Background(), func() { close(held); <-done })
	}()
	var once sync.Once
	release = func() { once.Do(func() { close(done); <-returned }) }
	t.Cleanup(release)
	return held, release
}

// waitUntil polls cond (a condition with no event to wait on) until it
// holds or the deadline passes.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(gateWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(gateWait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func waitResult(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(gateWait):
		t.Fatal("timed out waiting for a result")
		return nil
	}
}
