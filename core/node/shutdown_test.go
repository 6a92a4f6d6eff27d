package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// TestShutdownClosesSocketsAndRefusesAttach checks that Shutdown closes
// every socket with 1001 and empties the hub, is idempotent, and that an
// Attach afterwards fails (not as a ban) and closes its socket with 1001
// without replaying anything.
func TestShutdownClosesSocketsAndRefusesAttach(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)
	a.do(sendJSON("c1", bob.ID, "pending at shutdown"))
	a.expect(t, chat.TypeMessageAck)
	b.expect(t, chat.TypeMessage)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := e.n.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	a.expectClose(t, chat.CloseGoingAway)
	b.expectClose(t, chat.CloseGoingAway)
	if k := e.n.Hub().Count(); k != 0 {
		t.Fatalf("%d sockets registered after Shutdown", k)
	}
	if err := e.n.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}

	conn := newFakeConn()
	_, err := e.n.Attach(ctx, bob, time.Time{}, conn)
	if err == nil || errors.Is(err, node.ErrBanned) {
		t.Fatalf("Attach after Shutdown: err %v, want a shutting-down error", err)
	}
	late := &peer{user: bob, conn: conn}
	late.expectClose(t, chat.CloseGoingAway) // no MESSAGE, no REPLAY_DONE first
	if e.n.Hub().Online(bob.ID) {
		t.Fatal("a socket attached after Shutdown is registered")
	}
}
