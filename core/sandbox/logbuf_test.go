package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/logging"
)

func rec(event string) logging.Record { return logging.Record{Event: event} }

func events(rs []logging.Record) string {
	s := ""
	for _, r := range rs {
		s += r.Event + " "
	}
	return s
}

func TestLogBufferRing(t *testing.T) {
	t.Parallel()
	b := NewLogBuffer(3)
	if b.Len() != 0 || len(b.Snapshot()) != 0 {
		t.Fatalf("new buffer not empty")
	}
	b.add(rec("a"))
	b.add(rec("b"))
	if got := events(b.Snapshot()); got != "a b " {
		t.Fatalf("snapshot %q", got)
	}
	b.add(rec("c"))
	b.add(rec("d"))
	b.add(rec("e"))
	if got := events(b.Snapshot()); got != "c d e " {
		t.Fatalf("snapshot after wrap %q", got)
	}
	if b.Len() != 3 || b.Total() != 5 {
		t.Fatalf("Len %d Total %d", b.Len(), b.Total())
	}
	b.mu.Lock()
	since := events(b.sinceLocked(3))
	b.mu.Unlock()
	if since != "d e " {
		t.Fatalf("since 3: %q", since)
	}
}

func TestLogBufferWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := NewLogBuffer(10)
	b.add(rec("x"))
	b.add(rec("y"))

	// Past record.
	r, err := b.Wait(ctx, func(r logging.Record) bool { return r.Event == "y" })
	if err != nil || r.Event != "y" {
		t.Fatalf("past: %v %v", r.Event, err)
	}
	// Past records before the mark are ignored.
	mark := b.Total()
	got := make(chan logging.Record, 1)
	go func() {
		r, err := b.WaitSince(ctx, mark, func(r logging.Record) bool { return r.Event == "y" })
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	// Future record: keep adding until the waiter has seen one (it may
	// register after the first add; WaitSince still finds it in the ring).
	b.add(rec("z"))
	b.add(rec("y"))
	select {
	case r := <-got:
		if r.Event != "y" {
			t.Fatalf("future: %v", r.Event)
		}
	case <-ctx.Done():
		t.Fatal("WaitSince never returned")
	}

	// ctx ending.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := b.Wait(cctx, func(logging.Record) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	b.mu.Lock()
	n := len(b.waiters)
	b.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d waiters left registered", n)
	}
}

func TestLogBufferWaitConcurrentAdds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := NewLogBuffer(100000)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				b.add(rec(fmt.Sprintf("g%d-%d", g, i)))
			}
		})
	}
	// Every record is found, whether added before or after the wait began.
	for g := range 4 {
		want := fmt.Sprintf("g%d-499", g)
		if _, err := b.Wait(ctx, func(r logging.Record) bool { return r.Event == want }); err != nil {
			t.Fatalf("%s: %v", want, err)
		}
	}
	wg.Wait()
	if b.Total() != 2000 {
		t.Fatalf("Total %d", b.Total())
	}
}

func TestLogBufferSubscribe(t *testing.T) {
	t.Parallel()
	b := NewLogBuffer(10)
	ch, stop := b.Subscribe()
	b.add(rec("a"))
	if r := <-ch; r.Event != "a" {
		t.Fatalf("got %q", r.Event)
	}
	// A subscriber that does not read misses lines beyond its queue; the
	// logger is never blocked.
	for range subscriberQueue + 5 {
		b.add(rec("flood"))
	}
	if b.Missed() != 5 {
		t.Fatalf("Missed %d, want 5", b.Missed())
	}
	stop()
	stop() // idempotent
	n := 0
	for range ch {
		n++
	}
	if n != subscriberQueue {
		t.Fatalf("drained %d, want %d", n, subscriberQueue)
	}
	b.add(rec("after")) // no send on the closed channel
}
