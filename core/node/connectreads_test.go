package node_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// connectReadsDown is a memory store whose reads made on connect (the
// replay's Undelivered, the token's TokenRevoked) fail while their flag is
// set.
type connectReadsDown struct {
	*store.Memory
	undelivered, tokenRevoked atomic.Bool
}

var errInjected = errors.New("store is down (injected)")

func (s *connectReadsDown) Undelivered(ctx context.Context, recipientID, after string, limit int) ([]chat.Message, error) {
	if s.undelivered.Load() {
		return nil, errInjected
	}
	return s.Memory.Undelivered(ctx, recipientID, after, limit)
}

func (s *connectReadsDown) TokenRevoked(ctx context.Context, tokenID string) (bool, error) {
	if s.tokenRevoked.Load() {
		return false, errInjected
	}
	return s.Memory.TokenRevoked(ctx, tokenID)
}

// newConnectReadsEnv starts a node with opts on a connectReadsDown store,
// logging to rec.
func newConnectReadsEnv(t *testing.T, rec *logtest.Recorder, opts node.Options) (*node.Node, *connectReadsDown) {
	t.Helper()
	st := &connectReadsDown{Memory: store.NewMemory()}
	opts.Store, opts.Logger = st, rec.Logger()
	return startNode(t, opts), st
}

// TestReplayStoreOutageLoggedOnce: while the store cannot read a user's
// undelivered messages every connect is closed with 1011 "replay failed",
// but the log says so once per outage, not once per attempt (a crowd
// reconnecting would write a warning each), and once when a replay works
// again, with how many failed.
func TestReplayStoreOutageLoggedOnce(t *testing.T) {
	rec := logtest.New(t)
	n, st := newConnectReadsEnv(t, rec, node.Options{})
	alice, err := st.CreateUser(t.Context(), "alice", []byte("hash"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	st.undelivered.Store(true)
	const attempts = 4
	for i := range attempts {
		conn := newFakeConn()
		if _, err := n.Attach(t.Context(), alice, time.Time{}, conn); !errors.Is(err, errInjected) {
			t.Fatalf("attempt %d: Attach = %v, want the store's error", i, err)
		}
		if ev := conn.next(t); !ev.Closed || ev.Code != chat.CloseInternalError {
			t.Fatalf("attempt %d: %+v, want a close with %d", i, ev, chat.CloseInternalError)
		}
	}
	if got := rec.Events("", "replay_failed"); len(got) != 1 || got[0].Fields["userId"] != alice.ID {
		t.Fatalf("replay_failed lines %+v for one outage; want 1, naming the user\n%s", got, logtest.Format(rec.Records()))
	}

	st.undelivered.Store(false)
	p := &peer{user: alice, conn: newFakeConn()}
	if p.s, err = n.Attach(t.Context(), alice, time.Time{}, p.conn); err != nil {
		t.Fatal(err)
	}
	p.expectReplayDone(t, 0)
	got := rec.Events("", "replay_recovered")
	if len(got) != 1 || got[0].Fields["failedReplays"] != int64(attempts) {
		t.Fatalf("replay_recovered lines %+v; want one with failedReplays %d", got, attempts)
	}

	st.undelivered.Store(true) // a second outage is logged again
	if _, err := n.Attach(t.Context(), alice, time.Time{}, newFakeConn()); err == nil {
		t.Fatal("Attach worked with the store down")
	}
	if got := rec.Events("", "replay_failed"); len(got) != 2 {
		t.Fatalf("%d replay_failed lines after a second outage, want 2", len(got))
	}
}

// failingConn is a transport whose every write fails, as a socket the
// client closed.
type failingConn struct{}

func (failingConn) Write(time.Time, [][]byte) error {
	return errors.New("connection reset (injected)")
}
func (failingConn) Close(int, string) error { return nil }

// TestReplayCutShortByTheClientIsNotAStoreFailure: a socket that goes away
// during its replay ends the replay, but that is the client's doing: no
// warning, and nothing the next working replay would report as an outage
// recovered.
func TestReplayCutShortByTheClientIsNotAStoreFailure(t *testing.T) {
	rec := logtest.New(t)
	// A queue of 2 KiB makes the replay wait for the socket after a few
	// messages, which is where it learns that the socket is gone.
	n, st := newConnectReadsEnv(t, rec, node.Options{ReplayBatch: 10, Hub: hub.Options{MaxQueueBytes: 2 << 10}})
	alice, err := st.CreateUser(t.Context(), "alice", []byte("hash"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := st.CreateUser(t.Context(), "bob", []byte("hash"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, _, err := st.SaveMessage(t.Context(), store.NewMessage{SenderID: alice.ID, RecipientID: bob.ID,
			ClientMessageID: "c" + strconv.Itoa(i), Content: "a message of about a hundred bytes, so that a few fill half the queue"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Attach(t.Context(), bob, time.Time{}, failingConn{}); err == nil {
		t.Fatal("Attach on a socket whose writes fail reached REPLAY_DONE")
	}
	rec.WaitFor(t, waitFor, logtest.Event("", "replay_interrupted"))
	if got := rec.Events("", "replay_failed"); len(got) != 0 {
		t.Fatalf("replay_failed %+v for a socket the client closed; want none", got)
	}

	p := &peer{user: bob, conn: newFakeConn()}
	if p.s, err = n.Attach(t.Context(), bob, time.Time{}, p.conn); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		p.expect(t, chat.TypeMessage)
	}
	p.expectReplayDone(t, 40)
	if got := rec.Events("", "replay_recovered"); len(got) != 0 {
		t.Fatalf("replay_recovered %+v after a client's own close; want none", got)
	}
}

// TestRevocationCheckOutageLoggedOnce: a connect whose token cannot be
// checked against the revocations is let in (the poll looks again), and
// the failing store is logged once per outage and once when it answers.
func TestRevocationCheckOutageLoggedOnce(t *testing.T) {
	rec := logtest.New(t)
	n, st := newConnectReadsEnv(t, rec, node.Options{RevocationPoll: time.Hour})
	alice, err := st.CreateUser(t.Context(), "alice", []byte("hash"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	attach := func() *peer {
		t.Helper()
		p := &peer{user: alice, conn: newFakeConn()}
		if p.s, err = n.AttachToken(t.Context(), alice, "j1", time.Now().Add(time.Hour), p.conn); err != nil {
			t.Fatal(err)
		}
		p.expectReplayDone(t, 0)
		return p
	}
	st.tokenRevoked.Store(true)
	for range 3 {
		attach().expectNothing(t) // let in, not closed
	}
	if got := rec.Events("", "revocation_check_failed"); len(got) != 1 {
		t.Fatalf("%d revocation_check_failed lines for one outage, want 1\n%s", len(got), logtest.Format(rec.Records()))
	}
	st.tokenRevoked.Store(false)
	attach()
	got := rec.Events("", "revocation_check_recovered")
	if len(got) != 1 || got[0].Fields["failedChecks"] != int64(3) {
		t.Fatalf("revocation_check_recovered lines %+v; want one with failedChecks 3", got)
	}
}

// TestCatchUpStoreOutageLoggedOnce: a catch-up after a bus outage that
// cannot read the store for any of its users logs the first cause and
// counts the rest in catchup_done, instead of a warning per user.
func TestCatchUpStoreOutageLoggedOnce(t *testing.T) {
	rec := logtest.New(t)
	n, st := newConnectReadsEnv(t, rec, node.Options{})
	const users = 3
	for i := range users {
		u, err := st.CreateUser(t.Context(), "user"+strconv.Itoa(i), []byte("hash"), chat.RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		p := &peer{user: u, conn: newFakeConn()}
		if p.s, err = n.Attach(t.Context(), u, time.Time{}, p.conn); err != nil {
			t.Fatal(err)
		}
		p.expectReplayDone(t, 0)
	}
	st.undelivered.Store(true)
	n.BusRestored()
	done := rec.WaitFor(t, waitFor, logtest.Event("Node", "catchup_done"))
	if done.Fields["users"] != int64(users) || done.Fields["failed"] != int64(users) {
		t.Fatalf("catchup_done %+v; want users and failed %d", done.Fields, users)
	}
	if got := rec.Events("", "catchup_failed"); len(got) != 1 || got[0].Fields["error"] != errInjected.Error() {
		t.Fatalf("catchup_failed lines %+v; want one, with the store's error\n%s", got, logtest.Format(rec.Records()))
	}
}
