package node

import (
	"context"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// discardConn takes every write.
type discardConn struct{}

func (discardConn) Write(time.Time, [][]byte) error { return nil }
func (discardConn) Close(int, string) error         { return nil }

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
	s1, err := n.Attach(context.Background(), u, time.Time{}, discardConn{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := n.Attach(context.Background(), u, time.Time{}, discardConn{})
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
