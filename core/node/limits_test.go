package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// stuckConn is a socket whose peer stopped reading: every write waits for
// its deadline (or the end of the test) and fails. Its close is reported
// on closed.
type stuckConn struct {
	release chan struct{}
	closed  chan int
}

func newStuckConn(t *testing.T) *stuckConn {
	c := &stuckConn{release: make(chan struct{}), closed: make(chan int, 1)}
	t.Cleanup(func() { close(c.release) })
	return c
}

// expectOpen fails the test if the socket was closed; why says what
// needs it open.
func (c *stuckConn) expectOpen(t *testing.T, why string) {
	t.Helper()
	select {
	case code := <-c.closed:
		t.Fatalf("the stuck socket was closed with %d: %s", code, why)
	default:
	}
}

// attachStuck attaches a socket of user's that never takes a write.
func (e *env) attachStuck(t *testing.T, user chat.User) *stuckConn {
	t.Helper()
	c := newStuckConn(t)
	if _, err := e.n.Attach(context.Background(), user, time.Time{}, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *stuckConn) Write(deadline time.Time, _ [][]byte) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.release:
	}
	return os.ErrDeadlineExceeded
}

func (c *stuckConn) Close(code int, _ string) error {
	select {
	case c.closed <- code:
	default:
	}
	return nil
}

// TestNonReadingSocketsOfOneUserAreBoundedAndLoseNothing reproduces the
// attack at small scale: 50 sockets of bob that never read while alice
// sends him 300 messages of 1 KiB. The bytes the instance holds for them
// stay under 50 × the per-socket bound, every one of them is closed 1013,
// and every message is stored, undelivered, and replayed on reconnect.
func TestNonReadingSocketsOfOneUserAreBoundedAndLoseNothing(t *testing.T) {
	const sockets, perSocket, msgs = 50, 16 << 10, 300
	e := newEnv(t, node.Options{Rate: 1e6, Burst: 1e6, ReplayBatch: 1000, Hub: hub.Options{
		MaxQueueBytes: perSocket, MaxSocketsPerUser: sockets, WriteTimeout: time.Minute}})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)
	var stuck []*stuckConn
	for range sockets {
		c := newStuckConn(t)
		if _, err := e.n.Attach(context.Background(), bob, time.Time{}, c); err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, c)
	}
	bound := int64(sockets * (perSocket + 2<<10))
	content := contentOf(1000)
	for i := range msgs {
		a.do(sendJSON(fmt.Sprint("c", i), bob.ID, content))
		a.expect(t, chat.TypeMessageAck)
		if q := e.n.Hub().QueuedBytes(); q > bound {
			t.Fatalf("after %d messages the instance holds %d bytes for bob, over %d", i+1, q, bound)
		}
	}
	for i, c := range stuck {
		select {
		case code := <-c.closed:
			if code != 1013 {
				t.Fatalf("socket %d closed with %d, want 1013", i, code)
			}
		case <-time.After(waitFor):
			t.Fatalf("socket %d of %d was not closed as a slow consumer", i, sockets)
		}
	}
	rows := e.stored(t, alice, bob)
	undelivered := 0
	for _, m := range rows {
		if !m.Delivered() {
			undelivered++
		}
	}
	if len(rows) < 200 || undelivered != len(rows) {
		t.Fatalf("stored %d rows, %d undelivered; want every one stored and undelivered", len(rows), undelivered)
	}
	b := e.attach(t, bob)
	for range msgs {
		b.expect(t, chat.TypeMessage)
	}
	b.expectReplayDone(t, msgs)
}

// TestOneUserCannotPassThePerUserRateWithManySockets: ten sockets of one
// user share one limit, so together they store no more than one burst
// (each socket alone would have stored three).
func TestOneUserCannotPassThePerUserRateWithManySockets(t *testing.T) {
	e := newEnv(t, node.Options{Rate: tinyRate, Burst: 5})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	var socks []*peer
	for range 10 {
		socks = append(socks, e.connect(t, alice))
	}
	acks, limited := 0, 0
	for i, p := range socks {
		for j := range 3 {
			p.do(sendJSON(fmt.Sprintf("c%d-%d", i, j), bob.ID, "hi"))
			switch f := p.conn.next(t).Frame; {
			case f.Type == chat.TypeMessageAck:
				acks++
			case f.Code == chat.CodeRateLimited:
				limited++
			default:
				t.Fatalf("unexpected frame %+v", f)
			}
		}
	}
	if rows := e.stored(t, alice, bob); len(rows) != 5 || acks != 5 || limited != 25 {
		t.Fatalf("stored %d, acked %d, limited %d; want 5, 5 and 25", len(rows), acks, limited)
	}
}

// TestRepeatAcksAreRateLimitedAndCountTowardsTheFlood: the first ack of a
// pushed message passes with the limit spent; repeats of it are limited,
// and 100 of them within 10 s close the socket with 1008.
func TestRepeatAcksAreRateLimitedAndCountTowardsTheFlood(t *testing.T) {
	e := newEnv(t, node.Options{Rate: tinyRate, Burst: 1})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)
	a.do(sendJSON("c1", bob.ID, "one"))
	id := a.expect(t, chat.TypeMessageAck).MessageID
	b.expect(t, chat.TypeMessage)

	b.do(`{"type":"PING"}`) // spends bob's token
	b.expectError(t, chat.CodeBadFrame)
	b.do(ackJSON(id)) // the first ack: never limited
	a.expect(t, chat.TypeMessageState)
	b.expectNothing(t)
	for i := range 100 {
		b.do(ackJSON(id))
		if i < 99 {
			b.expectError(t, chat.CodeRateLimited)
		}
	}
	b.expectFloodClose(t)
	a.expectNothing(t)
}

// TestFloodClosedIsLoggedOnce: a client that goes on flooding after its
// 1008 close (frames already on their way) writes one flood_closed line,
// one rate_limited line and one count, not a line per frame; frames read
// after the close are ignored (the count stops at the 100 over the limit).
func TestFloodClosedIsLoggedOnce(t *testing.T) {
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Rate: tinyRate, Burst: 1, Logger: rec.Logger()})
	a := e.connect(t, e.user(t, "alice"))
	for range 400 {
		a.do(`{"type":"PING"}`)
	}
	a.skipToClose(t)
	if n := len(rec.Events("Node", "flood_closed")); n != 1 {
		t.Fatalf("%d flood_closed lines, want 1:\n%s", n, logtest.Format(rec.Records()))
	}
	if n := len(rec.Events("Node", "rate_limited")); n != 1 {
		t.Fatalf("%d rate_limited lines, want 1", n)
	}
	sum := rec.Events("Node", "rate_limited_repeated")
	if len(sum) != 1 || sum[0].Fields["count"] != int64(99) {
		t.Fatalf("rate_limited_repeated lines %+v, want one with count 99", sum)
	}
	if n := len(rec.Records()); n > 5 {
		t.Fatalf("%d log lines for one flooding socket:\n%s", n, logtest.Format(rec.Records()))
	}
}

// TestTooManyConnectionsGetsOnlyTheError: past MaxSocketsPerUser, a socket
// gets ERROR TOO_MANY_CONNECTIONS as its only frame (no replay, though
// bob has a message waiting) and is closed with 1008; bob's other sockets
// keep working.
func TestTooManyConnectionsGetsOnlyTheError(t *testing.T) {
	e := newEnv(t, node.Options{Hub: hub.Options{MaxSocketsPerUser: 3}})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)
	a.do(sendJSON("c1", bob.ID, "waiting"))
	a.expect(t, chat.TypeMessageAck)
	var bobs []*peer
	for range 3 {
		p := e.attach(t, bob)
		p.expect(t, chat.TypeMessage)
		p.expectReplayDone(t, 1)
		bobs = append(bobs, p)
	}
	conn := newFakeConn()
	_, err := e.n.Attach(context.Background(), bob, time.Time{}, conn)
	if !errors.Is(err, node.ErrTooManyConnections) {
		t.Fatalf("4th Attach: %v, want ErrTooManyConnections", err)
	}
	extra := &peer{user: bob, conn: conn}
	extra.expectError(t, chat.CodeTooManyConnections)
	extra.expectClose(t, chat.ClosePolicy)

	a.do(sendJSON("c2", bob.ID, "live"))
	a.expect(t, chat.TypeMessageAck)
	for _, p := range bobs {
		if f := p.expect(t, chat.TypeMessage); f.Content != "live" {
			t.Fatalf("got %+v, want the live message", f)
		}
	}
	if n := e.n.Hub().Count(); n != 4 {
		t.Fatalf("%d sockets registered, want 4 (alice and bob's 3)", n)
	}
}

// skipToClose reads p's events until the socket's close.
func (p *peer) skipToClose(t *testing.T) {
	t.Helper()
	for !p.conn.next(t).Closed {
	}
}

// gatedConn is a socket that reads, but slower than the server can queue:
// every Write waits for a turn handed out by a goroutine of the test. It
// reports each MESSAGE frame that reached it on got.
type gatedConn struct {
	gate   chan struct{}
	got    chan struct{} // one per MESSAGE
	closed chan int
}

func newGatedConn(t *testing.T) *gatedConn {
	c := &gatedConn{gate: make(chan struct{}), got: make(chan struct{}, 10000), closed: make(chan int, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case c.gate <- struct{}{}:
			case <-done:
				return
			}
		}
	}()
	return c
}

func (c *gatedConn) Write(deadline time.Time, frames [][]byte) error {
	select {
	case <-c.gate:
	case <-time.After(time.Until(deadline)):
		return os.ErrDeadlineExceeded
	}
	for _, f := range frames {
		if strings.Contains(string(f), `"type":"MESSAGE"`) {
			c.got <- struct{}{}
		}
	}
	return nil
}

func (c *gatedConn) Close(code int, _ string) error {
	select {
	case c.closed <- code:
	default:
	}
	return nil
}

// TestCatchUpIsNotHeldUpByANonReadingUser: a user whose socket does not
// read keeps its own catch-up waiting until the socket's write deadline
// closes it. The other users' catch-ups must not wait behind it: bob's
// socket is stuck (a minute's write deadline) and comes first in the
// catch-up, yet carol gets what she missed while bob's still waits.
func TestCatchUpIsNotHeldUpByANonReadingUser(t *testing.T) {
	e := newEnv(t, node.Options{ReplayBatch: 50, Hub: hub.Options{MaxQueueBytes: 4 << 10, WriteTimeout: time.Minute}})
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	stuck := e.attachStuck(t, bob)
	c := e.connect(t, carol)
	// Stored while the bus was down: more for bob than half his queue
	// bound, so his catch-up has to wait for his socket.
	e.storeMissed(t, alice, bob, 20)
	m, _, err := e.st.SaveMessage(context.Background(), store.NewMessage{SenderID: alice.ID, RecipientID: carol.ID,
		ClientMessageID: "for-carol", Content: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	e.n.UsersResubscribed([]string{bob.ID, carol.ID})
	if got := c.expect(t, chat.TypeMessage); got.MessageID != m.ID {
		t.Fatalf("carol got %+v, want message %s", got, m.ID)
	}
	stuck.expectOpen(t, "the test needs his catch-up still waiting")
}

// TestCatchUpIsNotHeldUpByTheSameUsersStuckSocket: bob has a socket that
// does not read (first in his list) and one that does; after a bus outage
// the reading one gets all his missed messages while the stuck one's
// catch-up still waits for it to drain.
func TestCatchUpIsNotHeldUpByTheSameUsersStuckSocket(t *testing.T) {
	const msgs = 20
	e := newEnv(t, node.Options{ReplayBatch: 50, Hub: hub.Options{MaxQueueBytes: 4 << 10, WriteTimeout: time.Minute}})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	stuck := e.attachStuck(t, bob)
	laptop := e.connect(t, bob)
	// Stored while the bus was down: more than half the queue bound, so the
	// stuck socket's catch-up has to wait for it.
	want := e.storeMissed(t, alice, bob, msgs)
	e.n.UsersResubscribed([]string{bob.ID})
	for i, id := range want {
		if got := laptop.expect(t, chat.TypeMessage); got.MessageID != id {
			t.Fatalf("message %d on the reading socket is %+v, want %s", i, got, id)
		}
	}
	stuck.expectOpen(t, "the test needs its catch-up still waiting")
}

// TestCatchUpGivesUpOnASocketThatDoesNotDrain: a catch-up that cannot
// push all of a user's missed messages within CatchupTimeout (the socket
// does not read) gives up, logs catchup_interrupted at debug and no
// failure, and leaves the messages undelivered in the store, for the
// socket's replay; the socket itself is left to its write deadline.
func TestCatchUpGivesUpOnASocketThatDoesNotDrain(t *testing.T) {
	const msgs = 20
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Logger: rec.Logger(), ReplayBatch: 50, CatchupTimeout: 200 * time.Millisecond,
		Hub: hub.Options{MaxQueueBytes: 4 << 10, WriteTimeout: time.Minute}})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	stuck := e.attachStuck(t, bob)
	e.storeMissed(t, alice, bob, msgs)
	e.n.UsersResubscribed([]string{bob.ID})
	got := rec.WaitFor(t, waitFor, logtest.Event("Node", "catchup_interrupted"))
	if got.Fields["userId"] != bob.ID || got.Level != zapcore.DebugLevel {
		t.Fatalf("catchup_interrupted %v at %v, want bob's at debug", got.Fields, got.Level)
	}
	done := rec.WaitFor(t, waitFor, logtest.Event("Node", "catchup_done"))
	if done.Fields["failed"] != nil || fmt.Sprint(done.Fields["users"]) != "1" {
		t.Fatalf("catchup_done %v, want one user and no failure", done.Fields)
	}
	if pushed, _ := strconv.Atoi(fmt.Sprint(done.Fields["pushed"])); pushed <= 0 || pushed >= msgs {
		t.Fatalf("catchup_done pushed %v, want some of the %d and not all", done.Fields["pushed"], msgs)
	}
	left, err := e.st.Undelivered(context.Background(), bob.ID, "", msgs+1)
	if err != nil || len(left) != msgs {
		t.Fatalf("undelivered in the store after the catch-up: %d (%v), want all %d", len(left), err, msgs)
	}
	stuck.expectOpen(t, "giving up the catch-up must leave it to its write deadline")
}

// TestCatchUpIsPacedToTheSocket: after a bus outage the catch-up pushes
// what the bus lost page by page as the socket takes it: a socket that
// reads slower than the server queues gets all 300 messages (60 times its
// queue bound) and is not closed as a slow consumer.
func TestCatchUpIsPacedToTheSocket(t *testing.T) {
	const msgs = 300
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Logger: rec.Logger(), ReplayBatch: 50, Hub: hub.Options{MaxQueueBytes: 5 << 10}})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	conn := newGatedConn(t)
	if _, err := e.n.Attach(context.Background(), bob, time.Time{}, conn); err != nil {
		t.Fatal(err)
	}
	// Stored while the bus was down: bob's socket never heard of them.
	e.storeMissed(t, alice, bob, msgs)
	e.n.BusRestored()
	for i := range msgs {
		select {
		case <-conn.got:
		case code := <-conn.closed:
			t.Fatalf("closed with %d after %d of %d messages", code, i, msgs)
		case <-time.After(waitFor):
			t.Fatalf("%d of %d messages arrived", i, msgs)
		}
	}
	if done := rec.WaitFor(t, waitFor, logtest.Event("Node", "catchup_done")); done.Fields["failed"] != nil {
		t.Fatalf("catchup_done %+v names failures when there were none", done.Fields)
	}
	select {
	case code := <-conn.closed:
		t.Fatalf("closed with %d", code)
	default:
	}
}
