package hub

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
)

// stuckClients registers n sockets of user that never take a write (a
// client that stopped reading), released when the test ends.
func stuckClients(t *testing.T, h *Hub, user string, n int) ([]*Socket, []*fakeConn) {
	t.Helper()
	var cs []*Socket
	var fcs []*fakeConn
	for range n {
		fc := newFakeConn()
		fc.block = make(chan struct{})
		c := h.NewSocket(user, chat.RoleUser, fc)
		if err := h.Register(c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(chat.CloseNormal, ""); close(fc.block) })
		cs, fcs = append(cs, c), append(fcs, fc)
	}
	return cs, fcs
}

// bigMsg is a message of about 1 KiB.
func bigMsg(id int, to string) chat.Message {
	m := msg(id, to)
	m.Content = strings.Repeat("x", 1000)
	return m
}

// TestNonReadingSocketsOfOneUserStayBounded: 50 sockets of one user that
// never read, fed 2,000 messages of 1 KiB: the bytes the hub holds never
// pass 50 × the per-socket bound (the attack grew them by every message ×
// every socket), and every socket is closed 1013 as a slow consumer.
func TestNonReadingSocketsOfOneUserStayBounded(t *testing.T) {
	const sockets, perSocket = 50, 16 << 10
	h := New(Options{MaxQueueBytes: perSocket, MaxSocketsPerUser: sockets})
	cs, fcs := stuckClients(t, h, "bob", sockets)
	bound := int64(sockets * (perSocket + 2<<10)) // one lone frame may pass a socket's bound
	for i := range 2000 {
		h.DeliverMessage(bigMsg(i, "bob"), nil, nil)
		if q := h.QueuedBytes(); q > bound {
			t.Fatalf("after %d messages the hub holds %d bytes, over %d", i+1, q, bound)
		}
	}
	for i, fc := range fcs {
		if code := fc.waitClosed(t); code != 1013 {
			t.Fatalf("socket %d closed with %d, want 1013", i, code)
		}
		if cs[i].CloseCode() != 1013 {
			t.Fatalf("socket %d close code %d", i, cs[i].CloseCode())
		}
	}
	if q := h.QueuedBytes(); q != 0 {
		t.Fatalf("%d bytes still accounted after every socket closed", q)
	}
}

// TestGlobalBudgetClosesSocketsBeforeItIsPassed: sockets each well within
// their own bound together reach the instance's budget; the push that
// would pass it closes its socket instead, and the total never passes it.
func TestGlobalBudgetClosesSocketsBeforeItIsPassed(t *testing.T) {
	const budget = 20 << 10
	h := New(Options{MaxQueueBytes: 1 << 20, OutboundBudget: budget})
	var all []*Socket
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		cs, _ := stuckClients(t, h, u, 1)
		all = append(all, cs...)
	}
	for i := range 200 {
		for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
			h.DeliverMessage(bigMsg(i, u), nil, nil)
			if q := h.QueuedBytes(); q > budget {
				t.Fatalf("the hub holds %d bytes, over its budget of %d", q, budget)
			}
		}
	}
	closed := 0
	for _, c := range all {
		if c.CloseCode() == 1013 {
			closed++
		}
	}
	if closed == 0 {
		t.Fatal("no socket was closed as a slow consumer at the budget")
	}
}

// TestPushedSetStaysBoundedAndStillDedupes: a socket's dedupe memory does
// not grow with every message it was ever pushed (10,000 pushed and
// acked), yet a late push of a message acked lately is still skipped.
func TestPushedSetStaysBoundedAndStillDedupes(t *testing.T) {
	h := New(Options{})
	cc := &countConn{}
	c := h.NewSocket("bob", chat.RoleUser, cc)
	if err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
	const n = 10000
	for i := range n {
		if h.DeliverMessage(msg(i, "bob"), nil, nil) != 1 {
			t.Fatalf("message %d not pushed", i)
		}
		if !c.MarkAcked(msg(i, "bob").ID) {
			t.Fatalf("first ack of %d not reported first", i)
		}
	}
	if c.CloseCode() != 0 {
		t.Fatalf("the socket was closed with %d", c.CloseCode())
	}
	if r := c.Remembered(); r > 2*ackWindowSize {
		t.Fatalf("the socket remembers %d ids after %d acked messages, want at most %d", r, n, 2*ackWindowSize)
	}
	if c.Unacked() != 0 {
		t.Fatalf("%d unacked after every message was acked", c.Unacked())
	}
	last := msg(n-1, "bob")
	if k := h.DeliverMessage(last, nil, nil); k != 0 {
		t.Fatal("a late push of a message acked lately reached the socket again")
	}
	if c.MarkAcked(last.ID) {
		t.Fatal("a repeat ack of a message acked lately was reported first")
	}
}

// TestUnackedCapClosesAClientThatNeverAcks: a socket that reads but never
// acks is closed 1013 once MaxUnacked messages wait for its acks, so its
// dedupe memory cannot grow without bound either.
func TestUnackedCapClosesAClientThatNeverAcks(t *testing.T) {
	h, connect := setup(t, Options{MaxUnacked: 10})
	c, fc := connect("bob")
	for i := range 10 {
		if h.DeliverMessage(msg(i, "bob"), nil, nil) != 1 {
			t.Fatalf("message %d not pushed within the cap", i)
		}
	}
	if h.DeliverMessage(msg(10, "bob"), nil, nil) != 0 {
		t.Fatal("the 11th unacked message was pushed")
	}
	if code := fc.waitClosed(t); code != 1013 {
		t.Fatalf("closed with %d, want 1013", code)
	}
	if c.Unacked() > 10 {
		t.Fatalf("%d unacked remembered, cap 10", c.Unacked())
	}
}

// TestHoldbackDuringAReplayIsBounded: live messages held back while a
// socket replays count against its bound; past it the socket is closed
// 1013 rather than holding them all.
func TestHoldbackDuringAReplayIsBounded(t *testing.T) {
	h := New(Options{MaxQueueBytes: 8 << 10})
	fc := newFakeConn()
	c := h.NewSocket("bob", chat.RoleUser, fc)
	t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
	c.BeginReplay()
	if err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		h.DeliverMessage(bigMsg(i, "bob"), nil, nil)
	}
	if code := fc.waitClosed(t); code != 1013 {
		t.Fatalf("closed with %d, want 1013", code)
	}
	if _, err := c.Replay(context.Background(), []chat.Message{msg(500, "bob")}); err == nil {
		t.Fatal("Replay went on on a closed client")
	}
}

// TestSocketsPerUserAreCapped: one more socket than MaxSocketsPerUser is
// refused; other users are not affected, and a closed socket frees a slot.
func TestSocketsPerUserAreCapped(t *testing.T) {
	h := New(Options{MaxSocketsPerUser: 3})
	var bobs []*Socket
	for range 3 {
		c := h.NewSocket("bob", chat.RoleUser, newFakeConn())
		if err := h.Register(c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
		bobs = append(bobs, c)
	}
	extra := h.NewSocket("bob", chat.RoleUser, newFakeConn())
	if err := h.Register(extra); !errors.Is(err, ErrTooManySockets) {
		t.Fatalf("4th socket: %v, want ErrTooManySockets", err)
	}
	if h.Count() != 3 {
		t.Fatalf("%d sockets registered, want 3", h.Count())
	}
	carol := h.NewSocket("carol", chat.RoleUser, newFakeConn())
	if err := h.Register(carol); err != nil {
		t.Fatalf("another user refused: %v", err)
	}
	t.Cleanup(func() { carol.Close(chat.CloseNormal, "") })
	bobs[0].Close(chat.CloseNormal, "")
	again := h.NewSocket("bob", chat.RoleUser, newFakeConn())
	if err := h.Register(again); err != nil {
		t.Fatalf("after a close, a new socket was refused: %v", err)
	}
	t.Cleanup(func() { again.Close(chat.CloseNormal, "") })
}

// TestBytesBeingWrittenCountAgainstTheBound: a batch the writer took but
// the socket has not accepted yet still counts, so a stuck socket holds
// its bound in all, not its bound queued plus a batch in flight.
func TestBytesBeingWrittenCountAgainstTheBound(t *testing.T) {
	h := New(Options{MaxQueueBytes: 4 << 10})
	bc := &batchConn{entered: make(chan struct{}), release: make(chan struct{}), wrote: make(chan struct{}, 16)}
	c := h.NewSocket("bob", chat.RoleUser, bc)
	if err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
	frame := []byte(strings.Repeat("x", 3<<10))
	if !c.Send(frame) {
		t.Fatal("the first frame was refused")
	}
	<-bc.entered // the writer holds it, stuck
	if got := c.QueuedBytes(); got != len(frame) {
		t.Fatalf("%d bytes accounted while the frame is being written, want %d", got, len(frame))
	}
	if c.Send(frame) {
		t.Fatal("a second frame was queued behind a stuck one past the bound")
	}
	if c.CloseCode() != 1013 {
		t.Fatalf("close code %d, want 1013", c.CloseCode())
	}
	close(bc.release)
	if q := h.QueuedBytes(); q != 0 {
		t.Fatalf("%d bytes accounted after the close", q)
	}
}
