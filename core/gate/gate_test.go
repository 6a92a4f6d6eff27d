package gate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

const wait = 5 * time.Second

// With 2 slots and a queue of 3, 8 simultaneous callers give 2 running, 3
// waiting and 3 ErrBusy at once; no more than 2 ever run together.
func TestGateNeverRunsMoreThanItsBound(t *testing.T) {
	const slots, queue, callers = 2, 3, 8
	g := New(slots, queue)
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
		select {
		case <-entered:
		case <-time.After(wait):
			t.Fatal("timed out waiting for a caller to enter")
		}
	}
	for range callers - slots - queue {
		if err := result(t, results); !errors.Is(err, ErrBusy) {
			t.Fatalf("caller over the queue got %v, want ErrBusy", err)
		}
	}
	if n := g.Waiting(); n != queue {
		t.Fatalf("Waiting() = %d with the queue full, want %d", n, queue)
	}
	close(release)
	for range slots + queue {
		if err := result(t, results); err != nil {
			t.Fatalf("queued caller: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != slots || ran != slots+queue {
		t.Fatalf("at most %d ran together (want %d), %d ran (want %d)", most, slots, ran, slots+queue)
	}
	if n := g.Waiting(); n != 0 {
		t.Fatalf("Waiting() = %d once all ran, want 0", n)
	}
}

// A caller waiting for a slot gives up when its context ends, without
// running, and no longer counts as waiting.
func TestGateWaitEndsWithTheContext(t *testing.T) {
	g := New(1, 1)
	holdSlot(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Do(ctx, func() { t.Error("ran without a slot") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with an ended context: %v", err)
	}
	if n := g.Waiting(); n != 0 {
		t.Fatalf("Waiting() = %d after the wait was given up, want 0", n)
	}
}

// A gate without a queue refuses the second caller at once.
func TestGateWithoutQueueRefusesAtOnce(t *testing.T) {
	g := New(1, 0)
	holdSlot(t, g)
	if err := g.Do(context.Background(), func() { t.Error("ran without a slot") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("second caller: %v, want ErrBusy", err)
	}
}

// holdSlot takes one of g's slots until the test ends.
func holdSlot(t *testing.T, g *Gate) {
	held, done := make(chan struct{}), make(chan struct{})
	go func() { _ = g.Do(context.Background(), func() { close(held); <-done }) }()
	t.Cleanup(func() { close(done) })
	<-held
}

func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(wait):
		t.Fatal("timed out waiting for a result")
		return nil
	}
}
