package node_test

import (
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// TestBadFramesGetBadFrameAndSessionStaysUsable checks that frames that
// are not JSON, have an unknown or missing type, or lack a required field
// each get ERROR BAD_FRAME (naming the clientMessageId when known), store
// nothing, leave the socket open, and that a valid send then still works.
func TestBadFramesGetBadFrameAndSessionStaysUsable(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)

	for _, tc := range []struct {
		name, frame, cmid string
	}{
		{"not json", `hello`, ""},
		{"truncated json", `{"type":"MESSAGE_SEND"`, ""},
		{"json array", `[1]`, ""},
		{"unknown type", `{"type":"PING"}`, ""},
		{"missing type", `{"messageId":"1"}`, ""},
		{"send without clientMessageId", `{"type":"MESSAGE_SEND","recipientId":"` + bob.ID + `","content":"hi"}`, ""},
		{"send without recipientId", `{"type":"MESSAGE_SEND","clientMessageId":"c1","content":"hi"}`, "c1"},
		{"send without content", `{"type":"MESSAGE_SEND","clientMessageId":"c2","recipientId":"` + bob.ID + `"}`, "c2"},
		{"clientMessageId over 64 chars", sendJSON(strings.Repeat("c", 65), bob.ID, "hi"), strings.Repeat("c", 65)},
		{"ack without messageId", `{"type":"DELIVERY_ACK"}`, ""},
	} {
		a.do(tc.frame)
		f := a.expectError(t, chat.CodeBadFrame)
		if f.ClientMessageID != tc.cmid {
			t.Fatalf("%s: error names clientMessageId %q, want %q", tc.name, f.ClientMessageID, tc.cmid)
		}
	}
	if a.isClosed() {
		t.Fatal("a bad frame closed the socket")
	}
	if rows := e.stored(t, alice, bob); len(rows) != 0 {
		t.Fatalf("bad frames stored %d rows", len(rows))
	}
	a.do(sendJSON("ok", bob.ID, "still here"))
	if ack := a.expect(t, chat.TypeMessageAck); ack.ClientMessageID != "ok" {
		t.Fatalf("ack %+v after bad frames", ack)
	}
}

// TestContentSizeLimit checks that content over 4096 bytes gets ERROR
// TOO_LARGE with its clientMessageId and stores nothing, while exactly
// 4096 bytes (also in multi-byte UTF-8) is accepted.
func TestContentSizeLimit(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)

	a.do(sendJSON("big", bob.ID, contentOf(chat.MaxContentBytes+1)))
	if f := a.expectError(t, chat.CodeTooLarge); f.ClientMessageID != "big" {
		t.Fatalf("TOO_LARGE names %q, want big", f.ClientMessageID)
	}
	a.do(sendJSON("bigutf8", bob.ID, strings.Repeat("é", chat.MaxContentBytes/2)+"x"))
	if f := a.expectError(t, chat.CodeTooLarge); f.ClientMessageID != "bigutf8" {
		t.Fatalf("TOO_LARGE names %q, want bigutf8", f.ClientMessageID)
	}
	if rows := e.stored(t, alice, bob); len(rows) != 0 {
		t.Fatalf("too large content stored %d rows", len(rows))
	}

	a.do(sendJSON("max", bob.ID, contentOf(chat.MaxContentBytes)))
	a.expect(t, chat.TypeMessageAck)
	a.do(sendJSON("maxutf8", bob.ID, strings.Repeat("é", chat.MaxContentBytes/2)))
	a.expect(t, chat.TypeMessageAck)
	if rows := e.stored(t, alice, bob); len(rows) != 2 {
		t.Fatalf("stored %d rows, want the 2 at the limit", len(rows))
	}
}

// TestUnknownRecipient checks that a send to a user id that does not exist
// gets ERROR UNKNOWN_RECIPIENT with its clientMessageId and stores nothing.
func TestUnknownRecipient(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice := e.user(t, "alice")
	a := e.connect(t, alice)

	a.do(sendJSON("c1", "u0000000000000000", "anyone there?"))
	if f := a.expectError(t, chat.CodeUnknownRecipient); f.ClientMessageID != "c1" {
		t.Fatalf("UNKNOWN_RECIPIENT names %q, want c1", f.ClientMessageID)
	}
	a.expectNothing(t)
	if msgs, _ := e.st.Undelivered(t.Context(), "u0000000000000000", "", 10); len(msgs) != 0 {
		t.Fatalf("stored %d messages for an unknown recipient", len(msgs))
	}
	if _, err := e.st.MessageByID(t.Context(), "1"); err == nil {
		t.Fatal("a message was stored")
	}
}
