package node_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// subscribeGate is a connected fake bus whose WaitSubscribed blocks until
// the test releases it, reporting the user on waiting; it counts the
// interest the node adds and drops.
type subscribeGate struct {
	*fakeBus
	waiting chan string
	release chan struct{}

	mu       sync.Mutex
	interest map[string]int
}

func newSubscribeGate() *subscribeGate {
	return &subscribeGate{fakeBus: newFakeBus(), waiting: make(chan string, 16), release: make(chan struct{}),
		interest: map[string]int{}}
}

func (g *subscribeGate) Subscribe(id string) {
	g.mu.Lock()
	g.interest[id]++
	g.mu.Unlock()
}

func (g *subscribeGate) Unsubscribe(id string) {
	g.mu.Lock()
	g.interest[id]--
	g.mu.Unlock()
}

func (g *subscribeGate) interestIn(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.interest[id]
}

func (g *subscribeGate) WaitSubscribed(ctx context.Context, id string) error {
	g.waiting <- id
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type attachResult struct {
	s   *node.Session
	err error
}

// attachAsync starts Attach of u and waits until it is waiting for the
// subscription.
func attachAsync(t *testing.T, e *env, g *subscribeGate, u chat.User, conn *fakeConn) <-chan attachResult {
	t.Helper()
	done := make(chan attachResult, 1)
	go func() {
		s, err := e.n.Attach(context.Background(), u, time.Time{}, conn)
		done <- attachResult{s, err}
	}()
	select {
	case id := <-g.waiting:
		if id != u.ID {
			t.Fatalf("waiting for %s, want %s", id, u.ID)
		}
	case <-time.After(waitFor):
		t.Fatal("Attach never waited for the subscription")
	}
	return done
}

// TestAttachReadsStoreAfterSubscription: a message stored (and published,
// where this instance did not yet listen) while bob's subscription is
// being confirmed is in his replay: Attach reads the store only once the
// subscription is in place, so nothing falls between replay and live
// delivery. The interest the socket added is dropped when it closes.
func TestAttachReadsStoreAfterSubscription(t *testing.T) {
	g := newSubscribeGate()
	e := newEnv(t, node.Options{Bus: g})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	conn := newFakeConn()
	done := attachAsync(t, e, g, bob, conn)
	if g.interestIn(bob.ID) != 1 {
		t.Fatalf("interest in bob = %d before the wait, want 1", g.interestIn(bob.ID))
	}

	m, _, err := e.st.SaveMessage(context.Background(), store.NewMessage{SenderID: alice.ID, RecipientID: bob.ID,
		ClientMessageID: "c1", Content: "in the gap"})
	if err != nil {
		t.Fatal(err)
	}
	close(g.release)
	res := <-done
	if res.err != nil {
		t.Fatalf("Attach: %v", res.err)
	}
	p := &peer{user: bob, s: res.s, conn: conn}
	if f := p.expect(t, chat.TypeMessage); f.MessageID != m.ID {
		t.Fatalf("replayed %s, want %s", f.MessageID, m.ID)
	}
	p.expectReplayDone(t, 1)

	res.s.Close(chat.CloseNormal, "bye")
	if n := g.interestIn(bob.ID); n != 0 {
		t.Errorf("interest in bob after his only socket closed = %d, want 0", n)
	}
}

// TestAttachBanDuringSubscription: a ban stored while the subscription is
// being confirmed (its kick published where this instance did not listen)
// still refuses the socket: the stored flag is read again once subscribed.
func TestAttachBanDuringSubscription(t *testing.T) {
	g := newSubscribeGate()
	e := newEnv(t, node.Options{Bus: g})
	bob := e.user(t, "bob")
	conn := newFakeConn()
	done := attachAsync(t, e, g, bob, conn)
	if _, err := e.st.SetBanned(context.Background(), bob.ID, true); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if res := <-done; !errors.Is(res.err, node.ErrBanned) {
		t.Fatalf("Attach = %v, want ErrBanned", res.err)
	}
	p := &peer{user: bob, conn: conn}
	if f := p.expect(t, chat.TypeError); f.Code != chat.CodeBanned {
		t.Fatalf("error %s, want BANNED", f.Code)
	}
	p.expectClose(t, chat.CloseBanned)
}
