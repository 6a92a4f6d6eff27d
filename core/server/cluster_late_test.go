package server_test

// Bus events that arrive late: after the recipient already got the
// message by replay and acked it on the same connection.

import (
	"testing"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/server"
)

// TestClusterLateBusMessageAfterAck: user1 on B sends to user2, who has a
// socket on A (so A holds user2's channel); the chat.message event is held
// on its way to A's handler. user2 opens a second socket on A, gets the
// message by replay and acks it (DELIVERED). Then A's bus handler applies
// the late event: that connection must not get the message a second time
// (its ack was not lost).
func TestClusterLateBusMessageAfterAck(t *testing.T) {
	c := newCluster(t, "mem", false)
	var gate *gateBus
	a := c.instanceWith("A", nil, func(o *server.Options) {
		o.WrapBus = func(b bus.Bus) bus.Bus { gate = newGateBus(b, bus.KindMessage); return gate }
	})
	b := c.instance("B", nil)
	_, u1Tok := b.user("user1")
	u2ID, u2Tok := b.user("user2")
	u1, _ := b.dial(u1Tok)
	a.dial(u2Tok) // the first socket: A subscribes to user2's channel

	gate.arm()
	send(t, u1, "late-1", u2ID, "held on the way to A")
	ack := expectType(t, u1, chat.TypeMessageAck)
	select {
	case ev := <-gate.held:
		if ev.MessageID != ack.MessageID {
			t.Fatalf("held %s, want %s", ev.MessageID, ack.MessageID)
		}
	case <-ctxT(t).Done():
		t.Fatal("the chat.message event never reached A")
	}

	u2, replayed := a.dial(u2Tok)
	if len(replayed) != 1 || replayed[0].MessageID != ack.MessageID {
		t.Fatalf("replayed %v", frameTypes(replayed))
	}
	if err := u2.Ack(ctxT(t), ack.MessageID); err != nil {
		t.Fatal(err)
	}
	waitType(t, u1, chat.TypeMessageState, waitFor) // DELIVERED is stored
	barrier(t, u2)                                  // the ack was processed

	close(gate.release)
	select {
	case <-gate.handled:
	case <-ctxT(t).Done():
		t.Fatal("the held event was not applied")
	}
	barrier(t, u2) // no second MESSAGE before it
}
