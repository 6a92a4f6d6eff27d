package node_test

import (
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// tinyRate refills a token about every 17 minutes: within a test, a
// connection gets its Burst and nothing more.
const tinyRate = 0.001

// TestRateLimitDropsSendsOverTheLimit checks that, past the burst, a
// MESSAGE_SEND gets ERROR RATE_LIMITED with its clientMessageId, is not
// stored, not acknowledged and not delivered; the limit holds for the
// user's other sockets too, not for other users.
func TestRateLimitDropsSendsOverTheLimit(t *testing.T) {
	e := newEnv(t, node.Options{Rate: tinyRate, Burst: 2})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "one"))
	a.do(sendJSON("c2", bob.ID, "two"))
	a.do(sendJSON("c3", bob.ID, "three"))
	a.expect(t, chat.TypeMessageAck)
	a.expect(t, chat.TypeMessageAck)
	if f := a.expectError(t, chat.CodeRateLimited); f.ClientMessageID != "c3" {
		t.Fatalf("RATE_LIMITED names %q, want c3", f.ClientMessageID)
	}
	a.expectNothing(t)
	if rows := e.stored(t, alice, bob); len(rows) != 2 {
		t.Fatalf("stored %d rows, want 2 (the dropped send stores nothing)", len(rows))
	}
	if got := b.pending(t); len(got) != 2 || got[0].Content != "one" || got[1].Content != "two" {
		t.Fatalf("bob got %+v, want messages one and two only", got)
	}

	// A bad frame counts too; another socket of alice shares her limit,
	// while bob has his own.
	a.do(`nonsense`)
	a.expectError(t, chat.CodeRateLimited)
	a2 := e.connect(t, alice)
	a2.do(sendJSON("c3", bob.ID, "three"))
	a2.expectError(t, chat.CodeRateLimited)
	b.do(sendJSON("b1", alice.ID, "hello"))
	b.expect(t, chat.TypeMessageAck)
}

// TestRateLimitNeverLimitsAckOfPushedMessage checks that the first
// DELIVERY_ACK for a message pushed on the connection goes through with
// the limit exhausted (the sender gets MESSAGE_STATE), while an ack of a
// message not pushed there, and a repeat ack, are limited like any frame.
func TestRateLimitNeverLimitsAckOfPushedMessage(t *testing.T) {
	e := newEnv(t, node.Options{Rate: tinyRate, Burst: 1})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "live"))
	id := a.expect(t, chat.TypeMessageAck).MessageID
	b.expect(t, chat.TypeMessage)

	b.do(`{"type":"PING"}`) // spends bob's only token
	b.expectError(t, chat.CodeBadFrame)
	b.do(ackJSON("999999")) // not pushed here: limited
	if f := b.expectError(t, chat.CodeRateLimited); f.MessageID != "999999" {
		t.Fatalf("RATE_LIMITED names messageId %q, want the ack's", f.MessageID)
	}

	b.do(ackJSON(id))
	if st := a.expect(t, chat.TypeMessageState); st.MessageID != id {
		t.Fatalf("state for %s, want %s", st.MessageID, id)
	}
	b.do(ackJSON(id)) // a repeat counts: limited
	if f := b.expectError(t, chat.CodeRateLimited); f.MessageID != id {
		t.Fatalf("RATE_LIMITED names messageId %q, want %s", f.MessageID, id)
	}
	b.expectNothing(t)
	a.expectNothing(t)
	if m, _ := e.st.MessageByID(t.Context(), id); !m.Delivered() {
		t.Fatal("exempt ack did not mark the message delivered")
	}
}

// TestFloodingClosesWith1008 checks that a connection that keeps sending
// over the limit is closed with 1008: still open after 99 over-limit
// frames, closed by the 100th (the contract's "100 over-limit frames
// within 10 s").
func TestFloodingClosesWith1008(t *testing.T) {
	e := newEnv(t, node.Options{Rate: tinyRate, Burst: 1})
	alice := e.user(t, "alice")
	a := e.connect(t, alice)

	a.do(`{"type":"PING"}`)
	a.expectError(t, chat.CodeBadFrame)
	for range 99 {
		a.do(`{"type":"PING"}`)
	}
	if got := a.pending(t); len(got) != 99 || a.isClosed() {
		t.Fatalf("after 99 over-limit frames: %d frames, closed=%v; want 99 errors and open", len(got), a.isClosed())
	}
	a.do(`{"type":"PING"}`)
	a.expectFloodClose(t)
}
