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

// NewHashGate's defaults: GOMAXPROCS slots and eight times as many
// waiting, the ninth caller per slot refused.
func TestNewHashGateDefaults(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	g := NewHashGate(0, 0)
	release := make(chan struct{})
	entered := make(chan struct{}, 9*procs+1)
	results := make(chan error, 9*procs+1)
	for range 9*procs + 1 {
		go func() { results <- g.Do(context.Background(), func() { entered <- struct{}{}; <-release }) }()
	}
	for range procs {
		waitSignal(t, entered, "a hash to start")
	}
	if err := waitResult(t, results); !errors.Is(err, ErrBusy) {
		t.Fatalf("caller past %d running and %d waiting: %v, want ErrBusy", procs, 8*procs, err)
	}
	if n := g.Waiting(); n != 8*procs {
		t.Fatalf("%d waiting, want %d", n, 8*procs)
	}
	close(release)
	for range 9 * procs {
		if err := waitResult(t, results); err != nil {
			t.Fatalf("a queued caller: %v", err)
		}
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
	waitUntil(t, func() bool { return a.Gate.Waiting() == 1 }, "the login to queue")
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
