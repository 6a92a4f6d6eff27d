package server_test

import (
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
)

// sendFrame builds a MESSAGE_SEND by hand: the client's JSON encoder would
// itself rewrite invalid UTF-8 before it reached the server.
func sendFrame(cmid, to, content string) []byte {
	return []byte(`{"type":"MESSAGE_SEND","clientMessageId":"` + cmid + `","recipientId":"` + to + `","content":"` + content + `"}`)
}

func TestInvalidUTF8SendIsRefusedAndNothingStored(t *testing.T) {
	e := setup(t, nil, nil)
	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)

	for _, tc := range []struct{ cmid, content string }{
		{"raw", "hi \xff\xfe"},
		{"surrogate", `hi \ud800`},
		{"low-surrogate", `\udc00 hi`},
	} {
		if err := alice.Send(ctxT(t), sendFrame(tc.cmid, bobID, tc.content)); err != nil {
			t.Fatal(err)
		}
		f := expectError(t, alice, chat.CodeBadFrame)
		if f.ClientMessageID != tc.cmid {
			t.Fatalf("%s: ERROR names %q", tc.cmid, f.ClientMessageID)
		}
	}
	// The socket is still open, and a real U+FFFD (raw and escaped) is content
	// like any other: stored and delivered unchanged.
	if err := alice.Send(ctxT(t), sendFrame("fffd", bobID, "a\uFFFDb\\ufffd")); err != nil {
		t.Fatal(err)
	}
	ack := expectType(t, alice, chat.TypeMessageAck)
	if ack.ClientMessageID != "fffd" {
		t.Fatalf("ack %+v", ack.OutFrame)
	}
	m := expectType(t, bob, chat.TypeMessage)
	if m.MessageID != ack.MessageID || m.Content != "a\uFFFDb\uFFFD" {
		t.Fatalf("delivered %+v", m.OutFrame)
	}
	msgs, _, err := e.api.Messages(ctxT(t), aliceTok, bobID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Content != "a\uFFFDb\uFFFD" {
		t.Fatalf("stored %d messages (%+v), want only the valid one", len(msgs), msgs)
	}
}

func TestInvalidUTF8BodiesAreRefused(t *testing.T) {
	e := setup(t, nil, nil)
	ctx := ctxT(t)
	post := func(path, name, password string) error {
		body := []byte(`{"username":"` + name + `","password":"` + password + `"}`)
		_, err := e.api.Do(ctx, client.Request{Method: "POST", Path: path, Body: body}, nil)
		return err
	}
	// What "\xfe"x8 used to become: an account whose password is U+FFFD x8.
	replaced := strings.Repeat("\uFFFD", 8)
	if err := post("/api/auth/register", "carol", replaced); err != nil {
		t.Fatalf("register with a literal U+FFFD password: %v", err)
	}
	for _, tc := range []struct{ name, path, user, password string }{
		{"login with invalid bytes", "/api/auth/login", "carol", strings.Repeat("\xff", 8)},
		{"login with lone surrogates", "/api/auth/login", "carol", strings.Repeat(`\ud800`, 8)},
		{"register with invalid bytes", "/api/auth/register", "dave", strings.Repeat("\xfe", 8)},
		{"register with an invalid name", "/api/auth/register", "dave\xff", testPassword},
	} {
		err := post(tc.path, tc.user, tc.password)
		if client.HTTPStatus(err) != 400 || client.ErrorCode(err) != chat.CodeBadRequest || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s: %v, want 400 %s", tc.name, err, chat.CodeBadRequest)
		}
	}
	if _, err := e.api.Login(ctx, "carol", replaced); err != nil {
		t.Fatalf("login with the real password: %v", err)
	}
	if _, err := e.api.Login(ctx, "dave", testPassword); client.HTTPStatus(err) != 401 {
		t.Fatalf("a refused register created dave: %v", err)
	}
}
