package node

import (
	"context"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// discardConn is a hub.Transport that accepts everything.
type discardConn struct{}

func (discardConn) Write(time.Time, [][]byte) error { return nil }
func (discardConn) Close(int, string) error         { return nil }

// TestTokenTableForgetsClosedSockets: the token → sessions table holds only
// open sockets, so it is bounded by the sockets, not by every connect ever
// made.
func TestTokenTableForgetsClosedSockets(t *testing.T) {
	st := store.NewMemory()
	n, err := New(Options{Store: st, RevocationPoll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	ctx := context.Background()
	u, err := st.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	var open *Session
	for i := range 20 {
		s, err := n.AttachToken(ctx, u, "j"+string(rune('a'+i)), time.Now().Add(time.Hour), discardConn{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			open = s
			continue
		}
		s.Close(chat.CloseNormal, "")
	}
	// A second socket of the first token leaves the table when it closes,
	// and the first stays.
	twin, err := n.AttachToken(ctx, u, "ja", time.Now().Add(time.Hour), discardConn{})
	if err != nil {
		t.Fatal(err)
	}
	n.tokens.mu.Lock()
	if got := len(n.tokens.byToken["ja"]); got != 2 {
		n.tokens.mu.Unlock()
		t.Fatalf("token ja has %d sockets in the table, want 2", got)
	}
	n.tokens.mu.Unlock()
	twin.Close(chat.CloseNormal, "")
	n.tokens.mu.Lock()
	defer n.tokens.mu.Unlock()
	if len(n.tokens.byToken) != 1 || n.tokens.byToken["ja"] == nil {
		t.Fatalf("the table holds %d tokens, want only the open socket's", len(n.tokens.byToken))
	}
	if got := n.tokens.byToken["ja"]; len(got) != 1 || got[0] != open {
		t.Fatal("the open socket was forgotten")
	}
}
