package server_test

import (
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
)

// TestSocketPastTheUserCapGetsTooManyConnections: with 16 sockets of alice
// open, a 17th is upgraded, sent ERROR TOO_MANY_CONNECTIONS as its only
// frame (no replay, though a message waits) and closed with 1008; the 16
// keep working.
func TestSocketPastTheUserCapGetsTooManyConnections(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSMaxSocketsPerUser = 16 }, nil)
	aliceID, aliceTok := e.user("alice")
	_, bobTok := e.user("bob")
	bob, _ := e.dial(bobTok)
	send(t, bob, "waiting", aliceID, "before")
	expectType(t, bob, chat.TypeMessageAck)

	var tabs []*client.Conn
	for range 16 {
		c, replayed := e.dial(aliceTok)
		if len(replayed) != 1 {
			t.Fatalf("replayed %d, want 1", len(replayed))
		}
		tabs = append(tabs, c)
	}
	extra := e.dialRaw(aliceTok)
	if f := expectError(t, extra, chat.CodeTooManyConnections); f.MessageID != "" {
		t.Fatalf("unexpected frame %+v", f.OutFrame)
	}
	expectClose(t, extra, chat.ClosePolicy)

	send(t, bob, "live", aliceID, "after")
	expectType(t, bob, chat.TypeMessageAck)
	for i, c := range tabs {
		if f := expectType(t, c, chat.TypeMessage); f.Content != "after" {
			t.Fatalf("tab %d got %+v", i, f.OutFrame)
		}
	}
}
