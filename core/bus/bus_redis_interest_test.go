package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// subsHeld returns a hook recording the held-subscriptions gauge and a
// reader for it.
func subsHeld() (func(int), func() int) {
	var mu sync.Mutex
	n := 0
	return func(v int) { mu.Lock(); n = v; mu.Unlock() },
		func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// TestRedisInterestRaces: many sockets of one user open and close on B at
// once, in every order. Once they settle with one left open, B holds the
// channel and gets the user's events; once the last closes, B drops it and
// a later event for the user is not received.
func TestRedisInterestRaces(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	set, held := subsHeld()
	a := newTestBus(t, m.Addr(), "A")
	b := newTestBus(t, m.Addr(), "B", func(o *RedisOptions) { o.Hooks.Subscriptions = set })
	a.start(t)
	b.start(t)
	ctx := context.Background()

	for round := range 20 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.Subscribe("u1")
				_ = b.WaitSubscribed(ctx, "u1")
				b.Unsubscribe("u1")
			}()
		}
		b.Subscribe("u1") // the socket that stays
		wg.Wait()
		if err := b.WaitSubscribed(ctx, "u1"); err != nil {
			t.Fatalf("round %d: WaitSubscribed: %v", round, err)
		}
		id := fmt.Sprintf("m%d", round)
		if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: id, RecipientID: "u1"}); err != nil {
			t.Fatal(err)
		}
		b.rec.waitEvent(t, "message "+id, isMessage(id))
		b.Unsubscribe("u1")
		eventually(t, "u1's channel dropped", func() bool { return held() == 0 })
	}

	if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "gone", RecipientID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, Event{Kind: KindResync}); err != nil { // on the control channel, after
		t.Fatal(err)
	}
	b.rec.waitEvent(t, "resync", isKind(KindResync))
	if n := b.rec.count(isMessage("gone")); n != 0 {
		t.Errorf("B received a message for u1 after its last socket closed")
	}
}

// TestRedisWaitSubscribedWhileDown: a socket opened while Redis is away
// cannot wait for its subscription; the bus subscribes it on reconnect
// and says so (BusRestored), and events published after reach it.
func TestRedisWaitSubscribedWhileDown(t *testing.T) {
	t.Parallel()
	m, a, b := twoBuses(t)
	ctx := context.Background()
	addr := m.Addr()
	m.Close()
	eventually(t, "B lost", func() bool { return b.State() == StateLost })

	b.Subscribe("u7")
	if err := b.WaitSubscribed(ctx, "u7"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("WaitSubscribed while down = %v, want ErrUnavailable", err)
	}
	if err := m.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B restored", func() bool { return b.rec.restoredCount() > 0 })
	if err := b.WaitSubscribed(ctx, "u7"); err != nil {
		t.Fatalf("WaitSubscribed after restore: %v", err)
	}
	eventually(t, "A connected", func() bool { return a.State() == StateConnected })
	if err := a.Publish(ctx, Event{Kind: KindKick, Action: "ban", TargetUserID: "u7"}); err != nil {
		t.Fatal(err)
	}
	b.rec.waitEvent(t, "kick for u7", isKind(KindKick))
}

// TestRedisUsersResubscribedAfterUnconfirmedWait: a WaitSubscribed that
// gives up (its ctx ended before the confirmation) leaves the user in the
// gap; the confirmation that follows is reported by UsersResubscribed, so
// the node catches that user up.
func TestRedisUsersResubscribedAfterUnconfirmedWait(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := newTestBus(t, m.Addr(), "B")
	b.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Subscribe("u3")
	err := b.WaitSubscribed(ctx, "u3")
	if err == nil {
		t.Skip("the confirmation won the race against a cancelled context")
	}
	b.rec.wait(t, "UsersResubscribed(u3)", func(r *recorder) bool {
		for _, id := range r.resubbed {
			if id == "u3" {
				return true
			}
		}
		return false
	})
}
