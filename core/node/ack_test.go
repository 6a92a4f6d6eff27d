package node_test

import (
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// TestDeliveryAckSendsStateOnce checks DELIVERY_ACK from the recipient:
// the message is marked DELIVERED in the store, every socket of the sender
// gets MESSAGE_STATE DELIVERED exactly once, and repeat acks (same socket,
// or another socket of the recipient) change nothing and send nothing, not
// even to a socket the sender opened after the first ack.
func TestDeliveryAckSendsStateOnce(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a1, a2, b := e.connect(t, alice), e.connect(t, alice), e.connect(t, bob)

	a1.do(sendJSON("c1", bob.ID, "hi"))
	id := a1.expect(t, chat.TypeMessageAck).MessageID
	b.expect(t, chat.TypeMessage)

	b.do(ackJSON(id))
	for _, a := range []*peer{a1, a2} {
		st := a.expect(t, chat.TypeMessageState)
		if st.MessageID != id || st.State != chat.StateDelivered {
			t.Fatalf("state %+v, want DELIVERED for %s", st, id)
		}
	}
	m, err := e.st.MessageByID(t.Context(), id)
	if err != nil || !m.Delivered() {
		t.Fatalf("stored message %+v (%v), want delivered", m, err)
	}
	deliveredAt := m.DeliveredAt

	a3 := e.connect(t, alice) // a socket that was not told yet
	b.do(ackJSON(id))         // repeat on the same socket
	b2 := e.connect(t, bob)
	b2.do(ackJSON(id)) // repeat from another socket: the store refuses it
	a1.expectNothing(t)
	a2.expectNothing(t)
	a3.expectNothing(t)
	b.expectNothing(t)
	b2.expectNothing(t)
	if m, _ := e.st.MessageByID(t.Context(), id); !m.DeliveredAt.Equal(deliveredAt) {
		t.Fatalf("DeliveredAt changed from %v to %v", deliveredAt, m.DeliveredAt)
	}
}

// TestDeliveryAckForbidden checks that only the recipient may ack: the
// sender, a third user, an unknown id and a malformed id all get ERROR
// FORBIDDEN naming the messageId, every time, and the message stays
// undelivered.
func TestDeliveryAckForbidden(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	a, c := e.connect(t, alice), e.connect(t, carol)

	a.do(sendJSON("c1", bob.ID, "hi")) // bob offline
	id := a.expect(t, chat.TypeMessageAck).MessageID

	for _, tc := range []struct {
		name string
		p    *peer
		id   string
	}{
		{"sender", a, id},
		{"third user", c, id},
		{"unknown id", a, "999999"},
		{"malformed id", c, "abc"},
	} {
		for range 2 { // a repeat is refused again, not ignored
			tc.p.do(ackJSON(tc.id))
			f := tc.p.expectError(t, chat.CodeForbidden)
			if f.MessageID != tc.id {
				t.Fatalf("%s: FORBIDDEN names %q, want %q", tc.name, f.MessageID, tc.id)
			}
		}
	}
	a.expectNothing(t) // no MESSAGE_STATE
	if m, _ := e.st.MessageByID(t.Context(), id); m.Delivered() {
		t.Fatal("a forbidden ack marked the message delivered")
	}
}

// TestDeliveryAckOfReplayedMessage checks that acking a message received
// by replay marks it delivered and tells the sender, so it is not replayed
// on the next connection.
func TestDeliveryAckOfReplayedMessage(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)
	a.do(sendJSON("c1", bob.ID, "while you were away"))
	id := a.expect(t, chat.TypeMessageAck).MessageID

	b := e.attach(t, bob)
	if m := b.expect(t, chat.TypeMessage); m.MessageID != id {
		t.Fatalf("replayed %s, want %s", m.MessageID, id)
	}
	b.expectReplayDone(t, 1)
	b.do(ackJSON(id))
	if st := a.expect(t, chat.TypeMessageState); st.MessageID != id {
		t.Fatalf("state for %s, want %s", st.MessageID, id)
	}
	e.connect(t, bob) // REPLAY_DONE 0: nothing left to replay
}
