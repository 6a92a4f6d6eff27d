package node_test

import (
	"bytes"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// expectRaw is expect returning the bytes written.
func (p *peer) expectRaw(t *testing.T, typ string) []byte {
	t.Helper()
	ev := p.conn.next(t)
	if ev.Closed || ev.Frame.Type != typ {
		t.Fatalf("%s: got %+v, want a %s frame", p.user.Username, ev, typ)
	}
	return ev.Raw
}

// twoInstances starts nodes A and B on one store, each with a real Redis
// bus on one miniredis, as in production (own events skipped).
func twoInstances(t *testing.T) (a, b *env) {
	t.Helper()
	m := miniredis.RunT(t)
	st := store.NewMemory()
	start := func(id string) *env {
		rb, err := bus.NewRedis(bus.RedisOptions{URL: "redis://" + m.Addr(), InstanceID: id, SkipOwn: true})
		if err != nil {
			t.Fatal(err)
		}
		e := newEnvOn(t, st, node.Options{InstanceID: id, Bus: rb})
		if st := e.n.BusState(); st != bus.StateConnected {
			t.Fatalf("%s: bus %s, want connected", id, st)
		}
		return e
	}
	return start("A"), start("B")
}

// TestCrossInstanceMessageIsTheSendersFrame: a message sent on A reaches
// the recipient's socket on B as the very bytes A wrote to the recipient's
// socket on A: encoded once, carried by the bus, written as it is.
func TestCrossInstanceMessageIsTheSendersFrame(t *testing.T) {
	ea, eb := twoInstances(t)
	alice, bob := ea.user(t, "alice"), ea.user(t, "bob")
	a := ea.connect(t, alice)
	bobHere, bobThere := ea.connect(t, bob), eb.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "hello <there> & \u2028 \"quoted\" é"))
	ack := a.expect(t, chat.TypeMessageAck)
	local := bobHere.expectRaw(t, chat.TypeMessage)
	remote := bobThere.expectRaw(t, chat.TypeMessage)
	if !bytes.Equal(local, remote) {
		t.Fatalf("frame on B:\n%s\nwant the frame on A:\n%s", remote, local)
	}
	want := chat.MessageFrame(ea.stored(t, alice, bob)[0]).Encode()
	if !bytes.Equal(remote, want) || !bytes.Contains(remote, []byte(ack.MessageID)) {
		t.Fatalf("frame %s, want %s", remote, want)
	}

	// The frame counts as the message's push on B: its ack is the first.
	bobThere.do(ackJSON(ack.MessageID))
	a.expect(t, chat.TypeMessageState)
}

// TestMessageEventOfThePreviousVersionStillDelivers: an event without a
// frame (an instance of the previous version) is delivered from its
// fields, as that version did.
func TestMessageEventOfThePreviousVersionStillDelivers(t *testing.T) {
	e := newEnv(t, node.Options{InstanceID: "new"})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	b := e.connect(t, bob)
	m, _, err := e.st.SaveMessage(t.Context(), store.NewMessage{SenderID: alice.ID, RecipientID: bob.ID,
		ClientMessageID: "old", Content: "from an old instance"})
	if err != nil {
		t.Fatal(err)
	}
	e.n.HandleEvent(bus.Event{Kind: bus.KindMessage, OriginInstanceID: "old", MessageID: m.ID,
		SenderID: alice.ID, RecipientID: bob.ID, ClientMessageID: "old", Content: m.Content,
		CreatedAt: chat.FormatTime(m.CreatedAt)})
	got := b.expectRaw(t, chat.TypeMessage)
	if want := chat.MessageFrame(m).Encode(); !bytes.Equal(got, want) {
		t.Fatalf("frame %s, want %s", got, want)
	}
}
