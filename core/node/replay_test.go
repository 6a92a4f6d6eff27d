package node_test

import (
	"strconv"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// TestReplayOldestFirstThenReplayDone checks that messages stored while
// the recipient was offline are replayed on Attach as MESSAGE frames,
// oldest first, across several store batches (ReplayBatch 2), then
// REPLAY_DONE with their count; delivered ones are not replayed again.
func TestReplayOldestFirstThenReplayDone(t *testing.T) {
	e := newEnv(t, node.Options{ReplayBatch: 2})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)

	var ids []string
	for i := range 5 {
		a.do(sendJSON("c"+strconv.Itoa(i), bob.ID, "m"+strconv.Itoa(i)))
		ids = append(ids, a.expect(t, chat.TypeMessageAck).MessageID)
	}

	b := e.attach(t, bob)
	for i, id := range ids {
		m := b.expect(t, chat.TypeMessage)
		if m.MessageID != id || m.Content != "m"+strconv.Itoa(i) || m.SenderID != alice.ID || m.RecipientID != bob.ID {
			t.Fatalf("replay #%d is %+v, want %s (m%d)", i, m, id, i)
		}
	}
	b.expectReplayDone(t, len(ids))

	// Ack two of them; the next connection replays only the other three.
	b.do(ackJSON(ids[1]))
	b.do(ackJSON(ids[3]))
	b2 := e.attach(t, bob)
	for _, want := range []string{ids[0], ids[2], ids[4]} {
		if m := b2.expect(t, chat.TypeMessage); m.MessageID != want {
			t.Fatalf("replayed %s, want %s", m.MessageID, want)
		}
	}
	b2.expectReplayDone(t, 3)
}

// TestReplayDoneZeroWhenNothingPending checks that a user with nothing
// missed gets REPLAY_DONE with count 0 as the first and only frame, and
// that messages to other users are not replayed to them.
func TestReplayDoneZeroWhenNothingPending(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	a := e.connect(t, alice)
	a.do(sendJSON("c1", bob.ID, "for bob only"))
	a.expect(t, chat.TypeMessageAck)

	c := e.attach(t, carol)
	c.expectReplayDone(t, 0)
	c.expectNothing(t)
}

// TestLiveMessageAfterReplayIsNotRepeated checks that a message replayed
// on a connection is not pushed to it again by a sender's retry, while a
// message sent after the replay arrives live after REPLAY_DONE.
func TestLiveMessageAfterReplayIsNotRepeated(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)
	a.do(sendJSON("c1", bob.ID, "missed"))
	first := a.expect(t, chat.TypeMessageAck).MessageID

	b := e.attach(t, bob)
	b.expect(t, chat.TypeMessage)
	b.expectReplayDone(t, 1)

	a.do(sendJSON("c1", bob.ID, "missed")) // retry: already pending on b
	a.expect(t, chat.TypeMessageAck)
	a.do(sendJSON("c2", bob.ID, "live"))
	second := a.expect(t, chat.TypeMessageAck).MessageID
	got := b.pending(t)
	if len(got) != 1 || got[0].MessageID != second || got[0].MessageID == first {
		t.Fatalf("bob got %+v after the replay, want only %s", got, second)
	}
}
