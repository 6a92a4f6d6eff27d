package bus

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRedisPost: a posted event arrives as a published one does, is
// logged as published, and its result reaches then: nil once Redis has
// it; ErrUnavailable, from Post itself and without a call of then, while
// the bus is down.
func TestRedisPost(t *testing.T) {
	t.Parallel()
	m, a, b := twoBuses(t)
	ctx := context.Background()
	b.Subscribe("u2")
	if err := b.WaitSubscribed(ctx, "u2"); err != nil {
		t.Fatalf("WaitSubscribed: %v", err)
	}

	results := make(chan error, 1)
	ev := Event{Kind: KindMessage, MessageID: "m1", SenderID: "u1", RecipientID: "u2"}
	if err := a.Post(ctx, ev, func(err error) { results <- err }); err != nil {
		t.Fatalf("Post: %v", err)
	}
	got := b.rec.waitEvent(t, "posted message at B", isMessage("m1"))
	if got.OriginInstanceID != "A" {
		t.Errorf("OriginInstanceID = %q, want A", got.OriginInstanceID)
	}
	select {
	case err := <-results:
		if err != nil {
			t.Fatalf("then got %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("then was not called")
	}
	if n := len(a.entries("chat_message_published")); n != 1 {
		t.Errorf("chat_message_published lines = %d, want 1", n)
	}

	m.Close()
	eventually(t, "A lost", func() bool { return a.State() == StateLost })
	called := false
	err := a.Post(ctx, ev, func(error) { called = true })
	if !errors.Is(err, ErrUnavailable) || called {
		t.Fatalf("Post while down = %v (then called: %v), want ErrUnavailable and no call", err, called)
	}
	if a.rec.failedCount() == 0 {
		t.Error("a post while down was not counted as failed")
	}
}

// TestRedisPostIntoDeadConnection: a post that Redis never answers is
// reported through then as ErrUnavailable, counted as failed once, and
// marks the bus lost, as a Publish would.
func TestRedisPostIntoDeadConnection(t *testing.T) {
	t.Parallel()
	a, p := startedBehindProxy(t)
	p.freeze()
	results := make(chan error, 1)
	if err := a.Post(context.Background(), Event{Kind: KindState, MessageID: "m1", SenderID: "u1"},
		func(err error) { results <- err }); err != nil {
		t.Fatalf("Post: %v", err)
	}
	select {
	case err := <-results:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("then got %v, want ErrUnavailable", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("then was not called")
	}
	eventually(t, "lost after failed post", func() bool { return a.State() == StateLost })
	a.rec.wait(t, "failure counted", func(r *recorder) bool { return r.failed == 1 })
	p.thaw()
}
