package node

import (
	"context"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// takeAllConn takes every write.
type takeAllConn struct{}

func (takeAllConn) Write(time.Time, [][]byte) error { return nil }
func (takeAllConn) Close(int, string) error         { return nil }

// TestUserLimiterGoesWithTheLastSocket: the per-user limiter is shared
// while the user has a socket here and dropped after the last one closes,
// so the table holds only connected users.
func TestUserLimiterGoesWithTheLastSocket(t *testing.T) {
	st := store.NewMemory()
	n, err := New(Options{Store: st, InstanceID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	u, err := st.CreateUser(context.Background(), "alice", []byte("hash"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := n.Attach(context.Background(), u, time.Time{}, takeAllConn{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := n.Attach(context.Background(), u, time.Time{}, takeAllConn{})
	if err != nil {
		t.Fatal(err)
	}
	if s1.userLimiter == nil || s1.userLimiter != s2.userLimiter {
		t.Fatal("two sockets of one user do not share one limiter")
	}
	s1.Close(chat.CloseNormal, "")
	if n.userLimits.users() != 1 {
		t.Fatal("the limiter went while the user still had a socket")
	}
	s2.Close(chat.CloseNormal, "")
	s2.Close(chat.CloseNormal, "") // idempotent: released once
	if k := n.userLimits.users(); k != 0 {
		t.Fatalf("%d limiters left after the last socket closed", k)
	}
}

// TestReconnectingBuysNoFreshBurst: a user who spent their burst, closed
// every socket and reconnected gets the same, still empty bucket; entries
// of idle users whose buckets refilled are swept as the table grows.
func TestReconnectingBuysNoFreshBurst(t *testing.T) {
	u := newUserLimits(0.001, 2)
	lim := u.acquire("alice")
	lim.Allow()
	lim.Allow()
	u.release("alice")
	again := u.acquire("alice")
	if again != lim || again.Allow() {
		t.Fatal("a reconnect got a fresh burst")
	}
	u.release("alice")

	for i := range 3 * minSweep {
		id := string(rune('a'+i%26)) + time.Duration(i).String()
		u.acquire(id)
		u.release(id) // full bucket: dropped at once
	}
	if k := u.users(); k != 1 {
		t.Fatalf("%d entries left, want only alice's (her bucket is still empty)", k)
	}
}

// TestIdleEntriesAreSweptOnceRefilled: entries kept for users who left
// with a spent bucket are dropped by a sweep once the bucket is full again,
// not before, and never while the user has a socket.
func TestIdleEntriesAreSweptOnceRefilled(t *testing.T) {
	u := newUserLimits(1, 1) // refills in a second
	for _, id := range []string{"a", "b", "c"} {
		u.acquire(id).Allow()
	}
	u.release("a")
	u.release("b")
	now := time.Now()
	u.mu.Lock()
	u.sweepLocked(now)
	u.mu.Unlock()
	if k := u.users(); k != 3 {
		t.Fatalf("%d entries after a sweep before refill, want 3", k)
	}
	u.mu.Lock()
	u.sweepLocked(now.Add(time.Hour))
	u.mu.Unlock()
	if k := u.users(); k != 1 {
		t.Fatalf("%d entries after a sweep once refilled, want 1 (c still connected)", k)
	}
}
