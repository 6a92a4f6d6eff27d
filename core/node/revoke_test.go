package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// attachToken attaches u with token id jti and reads its empty replay.
func (e *env) attachToken(t *testing.T, u chat.User, jti string) *peer {
	t.Helper()
	conn := newFakeConn()
	s, err := e.n.AttachToken(context.Background(), u, jti, time.Now().Add(time.Hour), conn)
	if err != nil {
		t.Fatalf("AttachToken(%s): %v", u.Username, err)
	}
	p := &peer{user: u, s: s, conn: conn}
	p.expectReplayDone(t, 0)
	return p
}

// TestRevokeTokenClosesItsSockets: revoking a token closes, with 4001,
// every local socket opened with it and no other, and stores the
// revocation.
func TestRevokeTokenClosesItsSockets(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice := e.user(t, "alice")
	a1, a2 := e.attachToken(t, alice, "j1"), e.attachToken(t, alice, "j1")
	other := e.attachToken(t, alice, "j2")

	if err := e.n.RevokeToken(t.Context(), "j1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a1.expectClose(t, chat.CloseTokenExpired)
	a2.expectClose(t, chat.CloseTokenExpired)
	other.expectNothing(t)
	if revoked, err := e.st.TokenRevoked(t.Context(), "j1"); err != nil || !revoked {
		t.Fatalf("revocation not stored: %v, %v", revoked, err)
	}
}

// TestRevocationOnAnotherInstanceClosesSocket: a token revoked through
// another node on the same store (no bus between them) closes this node's
// socket with 4001 within the contract's 5 s, by the store poll alone.
func TestRevocationOnAnotherInstanceClosesSocket(t *testing.T) {
	st := store.NewMemory()
	here := newEnvOn(t, st, node.Options{InstanceID: "here"})
	there := newEnvOn(t, st, node.Options{InstanceID: "there"})
	alice := here.user(t, "alice")
	p := here.attachToken(t, alice, "j1")
	keep := here.attachToken(t, alice, "j2")

	start := time.Now()
	if err := there.n.RevokeToken(t.Context(), "j1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p.expectClose(t, chat.CloseTokenExpired) // fails after waitFor, 5 s
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("closed after %v, want within 5 s", d)
	}
	keep.expectNothing(t)
}

// TestAttachWithRevokedToken: a socket whose token was revoked after the
// caller's check (here: before Attach) is closed with 4001 at once.
func TestAttachWithRevokedToken(t *testing.T) {
	e := newEnv(t, node.Options{RevocationPoll: time.Hour}) // the poll cannot be what closes it
	alice := e.user(t, "alice")
	if err := e.st.RevokeToken(t.Context(), "j1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	conn := newFakeConn()
	if _, err := e.n.AttachToken(t.Context(), alice, "j1", time.Now().Add(time.Hour), conn); err != nil {
		t.Fatal(err)
	}
	for { // the replay may or may not be written before the close
		if ev := conn.next(t); ev.Closed {
			if ev.Code != chat.CloseTokenExpired {
				t.Fatalf("closed with %d, want %d", ev.Code, chat.CloseTokenExpired)
			}
			return
		}
	}
}
