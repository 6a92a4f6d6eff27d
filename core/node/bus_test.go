package node_test

import (
	"bytes"
	"testing"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// TestPublishesToBus checks what a node tells the other instances over a
// connected bus: a stored message (with everything needed to deliver it),
// its delivery state, and a ban.
func TestPublishesToBus(t *testing.T) {
	fb := newFakeBus()
	e := newEnv(t, node.Options{Bus: fb})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "hi"))
	ack := a.expect(t, chat.TypeMessageAck)
	ev := fb.nextPublished(t)
	if ev.Kind != bus.KindMessage || ev.MessageID != ack.MessageID || ev.SenderID != alice.ID ||
		ev.RecipientID != bob.ID || ev.Content != "hi" || ev.CreatedAt != ack.CreatedAt {
		t.Fatalf("published %+v, want the message %s", ev, ack.MessageID)
	}
	if raw := b.expectRaw(t, chat.TypeMessage); !bytes.Equal(ev.Frame, raw) {
		t.Fatalf("published frame %s, want the bytes the local socket got: %s", ev.Frame, raw)
	}

	b.do(ackJSON(ack.MessageID))
	a.expect(t, chat.TypeMessageState)
	ev = fb.nextPublished(t)
	if ev.Kind != bus.KindState || ev.MessageID != ack.MessageID || ev.SenderID != alice.ID {
		t.Fatalf("published %+v, want the state of %s", ev, ack.MessageID)
	}

	if _, err := e.n.Ban(t.Context(), bob.ID); err != nil {
		t.Fatal(err)
	}
	ev = fb.nextPublished(t)
	if ev.Kind != bus.KindKick || ev.Action != node.ActionBan || ev.TargetUserID != bob.ID {
		t.Fatalf("published %+v, want a ban of bob", ev)
	}
}

// TestHandleEventFromAnotherInstance checks that events from another
// instance reach local sockets: a message is delivered to its recipient, a
// state to its sender (once per socket), a ban kicks with 4003; events
// carrying this instance's own id are ignored.
func TestHandleEventFromAnotherInstance(t *testing.T) {
	e := newEnv(t, node.Options{InstanceID: "here"})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	// Stored by the other instance (the store is shared).
	m, _, err := e.st.SaveMessage(t.Context(), store.NewMessage{SenderID: alice.ID, RecipientID: bob.ID,
		ClientMessageID: "remote", Content: "from afar"})
	if err != nil {
		t.Fatal(err)
	}
	msgEv := bus.Event{Kind: bus.KindMessage, MessageID: m.ID, SenderID: alice.ID, RecipientID: bob.ID,
		ClientMessageID: "remote", Content: "from afar", CreatedAt: chat.FormatTime(m.CreatedAt)}

	own := msgEv
	own.OriginInstanceID = "here"
	e.n.HandleEvent(own)
	b.expectNothing(t)

	msgEv.OriginInstanceID = "there"
	e.n.HandleEvent(msgEv)
	got := b.expect(t, chat.TypeMessage)
	if got.MessageID != m.ID || got.Content != "from afar" || got.SenderID != alice.ID {
		t.Fatalf("delivered %+v, want %s", got, m.ID)
	}
	e.n.HandleEvent(msgEv) // a repeat: already pending on the socket
	b.expectNothing(t)

	st := bus.Event{Kind: bus.KindState, OriginInstanceID: "there", MessageID: m.ID, SenderID: alice.ID, RecipientID: bob.ID}
	e.n.HandleEvent(st)
	e.n.HandleEvent(st) // republished after an outage: sockets drop repeats
	if got := a.pending(t); len(got) != 1 || got[0].Type != chat.TypeMessageState || got[0].MessageID != m.ID {
		t.Fatalf("alice got %+v, want one MESSAGE_STATE for %s", got, m.ID)
	}

	e.n.HandleEvent(bus.Event{Kind: bus.KindKick, OriginInstanceID: "there", Action: node.ActionBan, TargetUserID: bob.ID})
	b.expectError(t, chat.CodeBanned)
	b.expectClose(t, chat.CloseBanned)
}

// TestResyncPushesWhatTheBusLost checks that after a bus outage
// (BusRestored, or another instance's resync event) every undelivered
// message for a connected user is pushed from the store, and messages
// already on the socket are not pushed again.
func TestResyncPushesWhatTheBusLost(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)
	a.do(sendJSON("c1", bob.ID, "seen live"))
	a.expect(t, chat.TypeMessageAck)
	live := b.expect(t, chat.TypeMessage)

	// Stored on another instance whose bus event never arrived.
	lost, _, err := e.st.SaveMessage(t.Context(), store.NewMessage{SenderID: alice.ID, RecipientID: bob.ID,
		ClientMessageID: "lost1", Content: "lost in transit"})
	if err != nil {
		t.Fatal(err)
	}
	e.n.BusRestored()
	if got := b.expect(t, chat.TypeMessage); got.MessageID != lost.ID {
		t.Fatalf("catch-up pushed %s, want %s (not the live %s again)", got.MessageID, lost.ID, live.MessageID)
	}

	lost2, _, err := e.st.SaveMessage(t.Context(), store.NewMessage{SenderID: alice.ID, RecipientID: bob.ID,
		ClientMessageID: "lost2", Content: "lost again"})
	if err != nil {
		t.Fatal(err)
	}
	e.n.HandleEvent(bus.Event{Kind: bus.KindResync, OriginInstanceID: "there"})
	if got := b.expect(t, chat.TypeMessage); got.MessageID != lost2.ID {
		t.Fatalf("catch-up pushed %s, want %s", got.MessageID, lost2.ID)
	}
}
