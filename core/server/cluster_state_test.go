package server_test

import (
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
)

// A recipient on B acks while Redis is down: B cannot publish the state,
// holds it, and publishes it when its bus returns, so the sender on A sees
// DELIVERED without reconnecting, once.
func TestClusterStateHeldThroughOutage(t *testing.T) {
	c := newCluster(t, "memory", false)
	a, b := c.pair(nil)
	_, u1Tok := a.user("user1")
	u2ID, u2Tok := a.user("user2")
	u1, _ := a.dial(u1Tok)
	u2, _ := b.dial(u2Tok)

	send(t, u1, "s1", u2ID, "ack me during the outage")
	ack := expectType(t, u1, chat.TypeMessageAck)
	m := waitMessage(t, u2, ack.MessageID, waitFor)

	c.redisDown()
	waitBus(t, b, bus.StateLost, waitFor)
	if err := u2.Ack(ctxT(t), m.MessageID); err != nil {
		t.Fatal(err)
	}
	barrier(t, u2) // the ack was processed
	if got, err := c.st.MessageByID(ctxT(t), m.MessageID); err != nil || !got.Delivered() {
		t.Fatalf("stored %+v, %v", got, err)
	}

	c.redisUp()
	st := waitType(t, u1, chat.TypeMessageState, 5*time.Second)
	if st.MessageID != m.MessageID || st.State != chat.StateDelivered {
		t.Fatalf("state %s", st.Raw)
	}
	barrier(t, u1) // exactly one
}

// Banned is stored state: after an unban on A that B could not hear (Redis
// down), B admits the user from the store instead of its stale cache.
func TestClusterUnbanUnheardByOtherInstance(t *testing.T) {
	c := newCluster(t, "memory", false)
	a, b := c.pair(nil)
	u2ID, u2Tok := a.user("user2")
	u2, _ := b.dial(u2Tok)
	if err := a.api.Ban(ctxT(t), a.admin, u2ID); err != nil {
		t.Fatal(err)
	}
	expectError(t, u2, chat.CodeBanned)
	expectClose(t, u2, chat.CloseBanned)

	c.redisDown()
	waitBus(t, a, bus.StateLost, waitFor)
	if err := a.api.Unban(ctxT(t), a.admin, u2ID); err != nil {
		t.Fatal(err)
	}
	again, _ := b.dial(u2Tok) // fails the test on ERROR BANNED
	barrier(t, again)
}
