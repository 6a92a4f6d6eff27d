package node_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/logging/logtest"
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

// revocationsDown is a memory store whose RevokedSince fails while down,
// telling calls on each poll.
type revocationsDown struct {
	*store.Memory
	down  atomic.Bool
	polls chan struct{}
}

func (s *revocationsDown) RevokedSince(ctx context.Context, since time.Time) ([]string, error) {
	select {
	case s.polls <- struct{}{}:
	default:
	}
	if s.down.Load() {
		return nil, errors.New("store is down (injected)")
	}
	return s.Memory.RevokedSince(ctx, since)
}

// A store that fails the revocation poll is logged once per outage,
// however many polls fail, and once when the poll works again, with how
// many failed.
func TestRevocationPollOutageLoggedOnce(t *testing.T) {
	st := &revocationsDown{Memory: store.NewMemory(), polls: make(chan struct{})}
	st.down.Store(true)
	rec := logtest.New(t)
	startNode(t, node.Options{Store: st, Logger: rec.Logger(), RevocationPoll: 5 * time.Millisecond})
	awaitPolls := func(k int) {
		t.Helper()
		for range k {
			select {
			case <-st.polls:
			case <-time.After(waitFor):
				t.Fatalf("no revocation poll within %v", waitFor)
			}
		}
	}
	awaitPolls(6) // the fifth has failed when the sixth starts
	st.down.Store(false)
	line := rec.WaitFor(t, waitFor, logtest.Event("Node", "revocation_poll_recovered"))
	if failed, _ := line.Fields["failedPolls"].(int64); failed < 5 {
		t.Errorf("revocation_poll_recovered %+v; want failedPolls ≥ 5", line.Fields)
	}
	if got := len(rec.Events("Node", "revocation_poll_failed")); got != 1 {
		t.Fatalf("%d revocation_poll_failed lines for one outage, want 1\n%s", got, logtest.Format(rec.Records()))
	}
}
