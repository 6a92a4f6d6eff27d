package node_test

import (
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/node"
)

// TestSendAcksSenderAndDeliversLive checks MESSAGE_SEND: the sender gets
// MESSAGE_ACK (state SENT, its clientMessageId, a messageId, an RFC 3339
// createdAt), the online recipient gets MESSAGE with that messageId and the
// sender, recipient and content, and exactly one row is stored.
func TestSendAcksSenderAndDeliversLive(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "hello bob"))

	ack := a.expect(t, chat.TypeMessageAck)
	if ack.State != chat.StateSent || ack.ClientMessageID != "c1" || ack.MessageID == "" {
		t.Fatalf("ack %+v, want state SENT, clientMessageId c1 and a messageId", ack)
	}
	if _, err := time.Parse(time.RFC3339, ack.CreatedAt); err != nil {
		t.Fatalf("ack createdAt %q: %v", ack.CreatedAt, err)
	}
	msg := b.expect(t, chat.TypeMessage)
	if msg.MessageID != ack.MessageID || msg.SenderID != alice.ID || msg.RecipientID != bob.ID ||
		msg.Content != "hello bob" || msg.CreatedAt != ack.CreatedAt {
		t.Fatalf("recipient got %+v, want the acked message %s from alice", msg, ack.MessageID)
	}
	rows := e.stored(t, alice, bob)
	if len(rows) != 1 || rows[0].ID != ack.MessageID || rows[0].Content != "hello bob" || rows[0].Delivered() {
		t.Fatalf("stored %+v, want one undelivered row %s", rows, ack.MessageID)
	}
	a.expectNothing(t) // the sender is not sent its own message
}

// TestSendRetryIsIdempotent checks that a retry with the same
// clientMessageId is acknowledged with the same messageId, stores nothing
// new (even with other content), and is not pushed a second time to a
// socket that already has it; a new clientMessageId is a new message.
func TestSendRetryIsIdempotent(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "first"))
	first := a.expect(t, chat.TypeMessageAck)
	b.expect(t, chat.TypeMessage)

	a.do(sendJSON("c1", bob.ID, "first, edited"))
	retry := a.expect(t, chat.TypeMessageAck)
	if retry.MessageID != first.MessageID || retry.ClientMessageID != "c1" || retry.CreatedAt != first.CreatedAt {
		t.Fatalf("retry ack %+v, want messageId %s and createdAt %s", retry, first.MessageID, first.CreatedAt)
	}
	if rows := e.stored(t, alice, bob); len(rows) != 1 || rows[0].Content != "first" {
		t.Fatalf("stored %+v, want the one original row", rows)
	}
	b.expectNothing(t) // already pending on bob's socket: not pushed twice

	a.do(sendJSON("c2", bob.ID, "second"))
	second := a.expect(t, chat.TypeMessageAck)
	if second.MessageID == first.MessageID {
		t.Fatalf("new clientMessageId got the old messageId %s", first.MessageID)
	}
	if m := b.expect(t, chat.TypeMessage); m.MessageID != second.MessageID {
		t.Fatalf("bob got %s, want %s", m.MessageID, second.MessageID)
	}
	if rows := e.stored(t, alice, bob); len(rows) != 2 {
		t.Fatalf("stored %d rows, want 2", len(rows))
	}
}

// TestSendRetryAfterDeliveryOnlyAcks checks that retrying a message the
// recipient already acknowledged gets the same MESSAGE_ACK and reaches
// nobody again, not even a new socket of the recipient.
func TestSendRetryAfterDeliveryOnlyAcks(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "hi"))
	ack := a.expect(t, chat.TypeMessageAck)
	b.expect(t, chat.TypeMessage)
	b.do(ackJSON(ack.MessageID))
	a.expect(t, chat.TypeMessageState)

	b2 := e.connect(t, bob) // nothing to replay: the message is delivered
	a.do(sendJSON("c1", bob.ID, "hi"))
	if again := a.expect(t, chat.TypeMessageAck); again.MessageID != ack.MessageID {
		t.Fatalf("retry acked as %s, want %s", again.MessageID, ack.MessageID)
	}
	b.expectNothing(t)
	b2.expectNothing(t)
	a.expectNothing(t)
}

// TestSendReachesEverySocketOfTheRecipient checks that a user connected
// twice gets the message on both sockets.
func TestSendReachesEverySocketOfTheRecipient(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b1, b2 := e.connect(t, alice), e.connect(t, bob), e.connect(t, bob)

	a.do(sendJSON("c1", bob.ID, "both"))
	ack := a.expect(t, chat.TypeMessageAck)
	for _, b := range []*peer{b1, b2} {
		if m := b.expect(t, chat.TypeMessage); m.MessageID != ack.MessageID {
			t.Fatalf("got %s, want %s", m.MessageID, ack.MessageID)
		}
	}
}

// TestTokenExpiryCloses4001 checks that a session closes with 4001 once
// the token's expiry passes.
func TestTokenExpiryCloses4001(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice := e.user(t, "alice")
	conn := newFakeConn()
	s, err := e.n.Attach(t.Context(), alice, time.Now().Add(20*time.Millisecond), conn)
	if err != nil {
		t.Fatal(err)
	}
	// REPLAY_DONE may or may not be written before the timer closes the
	// socket; nothing else may be, and the close must be 4001.
	for {
		ev := conn.next(t)
		if ev.Closed {
			if ev.Code != chat.CloseTokenExpired {
				t.Fatalf("closed with %d, want %d", ev.Code, chat.CloseTokenExpired)
			}
			break
		}
		if ev.Frame.Type != chat.TypeReplayDone {
			t.Fatalf("unexpected frame %+v", ev.Frame)
		}
	}
	if e.n.Hub().Online(alice.ID) || s.Client().CloseCode() != chat.CloseTokenExpired {
		t.Fatalf("expired socket: online=%v, close code %d", e.n.Hub().Online(alice.ID), s.Client().CloseCode())
	}
}

// Without Redis configured there is nobody to tell: a send logs its local
// delivery, but no "publish skipped" line for every message.
func TestNoPublishSkippedLineWithoutRedis(t *testing.T) {
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Logger: rec.Logger()})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b := e.connect(t, alice), e.connect(t, bob)
	a.do(sendJSON("c1", bob.ID, "hi"))
	a.expect(t, chat.TypeMessageAck)
	b.expect(t, chat.TypeMessage)
	if n := len(rec.Events("Node", "chat_message_delivered_local")); n != 1 {
		t.Fatalf("%d chat_message_delivered_local lines, want 1", n)
	}
	if n := len(rec.Events("Node", "chat_message_publish_skipped")); n != 0 {
		t.Fatalf("%d chat_message_publish_skipped lines without Redis, want 0", n)
	}
}

// At debug level the moments a row became durable and DELIVERED are logged
// once per message, with ids only: a retry and a second ack (from another
// socket) add no line.
func TestStoredAndDeliveredDebugLinesOncePerMessage(t *testing.T) {
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Logger: rec.Logger()})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b1, b2 := e.connect(t, alice), e.connect(t, bob), e.connect(t, bob)
	a.do(sendJSON("c1", bob.ID, "secret words"))
	id := a.expect(t, chat.TypeMessageAck).MessageID
	b1.expect(t, chat.TypeMessage)
	b2.expect(t, chat.TypeMessage)
	a.do(sendJSON("c1", bob.ID, "secret words")) // the retry
	a.expect(t, chat.TypeMessageAck)
	b1.do(ackJSON(id))
	a.expect(t, chat.TypeMessageState)
	b2.do(ackJSON(id)) // the other device's ack: nothing changes
	b2.expectNothing(t)

	for _, event := range []string{"chat_message_stored", "chat_message_marked_delivered"} {
		lines := rec.Events("Node", event)
		if len(lines) != 1 {
			t.Fatalf("%d %s lines, want 1\n%s", len(lines), event, logtest.Format(rec.Records()))
		}
		if l := lines[0]; l.Level != zapcore.DebugLevel || l.Fields["messageId"] != id || l.Fields["recipientId"] != bob.ID {
			t.Errorf("%s: %+v; want debug with messageId %s and recipientId %s", event, l, id, bob.ID)
		}
	}
	if _, ok := rec.Events("Node", "chat_message_stored")[0].Fields["persist"].(time.Duration); !ok {
		t.Errorf("chat_message_stored has no persist duration: %+v", rec.Events("Node", "chat_message_stored")[0].Fields)
	}
	logtest.AssertNoSecrets(t, rec.Records(), "secret words")
}

// TestRetryWithOtherContentWarnsOncePerSession: a retry whose content
// differs is acked like any retry and warned about, but a client that
// keeps doing it writes one warning and then a count, not a warning per
// frame.
func TestRetryWithOtherContentWarnsOncePerSession(t *testing.T) {
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Logger: rec.Logger()})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)
	a.do(sendJSON("c1", bob.ID, "first"))
	id := a.expect(t, chat.TypeMessageAck).MessageID
	const retries = 3
	for i := range retries {
		a.do(sendJSON("c1", bob.ID, "changed "+strconv.Itoa(i)))
		if got := a.expect(t, chat.TypeMessageAck).MessageID; got != id {
			t.Fatalf("retry acked as %s, want %s", got, id)
		}
	}
	if got := rec.Events("Node", "chat_message_retry_content_differs"); len(got) != 1 || got[0].Fields["messageId"] != id {
		t.Fatalf("retry_content_differs lines %+v; want one naming %s", got, id)
	}
	a.s.Close(chat.CloseNormal, "bye")
	got := rec.Events("Node", "chat_message_retry_content_differs_repeated")
	if len(got) != 1 || got[0].Fields["count"] != int64(retries-1) {
		t.Fatalf("repeated lines %+v; want one with count %d", got, retries-1)
	}
	logtest.AssertNoSecrets(t, rec.Records(), "first", "changed")
}
