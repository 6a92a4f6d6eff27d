package tui

import (
	"io"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox"
)

// asciiRenderer renders without any styling, so golden files are plain
// text whatever the terminal running the tests.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// testContext is a Context at w x h with plain styles.
func testContext(w, h int) *Context {
	return &Context{Width: w, Height: h, Styles: NewStyles(asciiRenderer()), Keys: DefaultKeyMap(),
		Instances: []string{"A", "B"}, UserNames: map[string]string{"u1": "user1", "u2": "user2", "u3": "user3"}}
}

// t0 is the fixed time of every fixture.
var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// fixedSnapshot is a cluster seen after a DM from user1 on A to user2 on
// B, a ban of user3 and Redis stopped.
func fixedSnapshot() Snapshot {
	return Snapshot{
		Instances: []InstanceView{
			{InstanceStatus: sandbox.InstanceStatus{Name: "A", Addr: "127.0.0.1:1001", Bus: "lost", Listening: true, Sockets: 2, Stored: 3, Delivered: 1}, WSURL: "ws://127.0.0.1:1001/ws", WebURL: "http://127.0.0.1:1001"},
			{InstanceStatus: sandbox.InstanceStatus{Name: "B", Addr: "127.0.0.1:1002", Bus: "lost", Listening: true, Sockets: 1, Stored: 0, Delivered: 2, Replayed: 1}, WSURL: "ws://127.0.0.1:1002/ws", WebURL: "http://localhost:1002"},
		},
		RedisUp: false, RedisAddr: "127.0.0.1:6379",
		Faults:     []string{"redis down", "user2 drops next 2 acks"},
		UserListOK: true,
		Users: []UserView{
			{Name: "admin", ID: "u0", Admin: true, Simulated: true, AutoAck: true},
			{Name: "user1", ID: "u1", Simulated: true, Connected: true, Instance: "A", OnlineOn: []string{"A"}, AutoAck: true,
				Outbox: []sandbox.OutboxEntry{
					{ClientMessageID: "user1-1", To: "user2", Content: "hello", MessageID: "1", State: sandbox.OutDelivered, Attempts: 1, FirstSent: at(100)},
					{ClientMessageID: "user1-2", To: "user2", Content: "are you there?", MessageID: "2", State: sandbox.OutSent, Attempts: 1, FirstSent: at(2000)},
					{ClientMessageID: "user1-3", To: "user3", Content: "ping", State: sandbox.OutPending, Attempts: 3, FirstSent: at(4000)},
				},
				Inbox: []sandbox.InboxEntry{
					{MessageID: "3", From: "user2", Content: "hi back", At: at(1000), ReceivedAt: at(1010), Acked: true, Replayed: true, Duplicates: 1},
				}},
			{Name: "user2", ID: "u2", Simulated: true, Connected: true, Instance: "B", OnlineOn: []string{"B"}, AutoAck: true, Toggles: "drops next 2 acks",
				Inbox: []sandbox.InboxEntry{
					{MessageID: "1", From: "user1", Content: "hello", At: at(100), ReceivedAt: at(120), Acked: true},
					{MessageID: "2", From: "user1", Content: "are you there?", At: at(2000), ReceivedAt: at(2020)},
				}},
			{Name: "user3", ID: "u3", Simulated: true, Instance: "B", Banned: true, AutoAck: false, Toggles: "auto-ack off", LastClose: 4003,
				Socket: []sandbox.SocketEvent{
					{At: at(3001), Instance: "B", Code: "BANNED", Message: "user is banned"},
					{At: at(3002), Instance: "B", CloseCode: 4003},
				}},
			{Name: "olduser", ID: "u9", AutoAck: true},
		},
	}
}

// fixedLogs are log records of the same story.
func fixedLogs() []logging.Record {
	rec := func(ms int, inst string, lvl zapcore.Level, logger, event string, kv ...any) logging.Record {
		f := map[string]any{"instanceId": inst}
		for i := 0; i+1 < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return logging.Record{Time: at(ms), Level: lvl, Logger: logger, Event: event, InstanceID: inst, Fields: f}
	}
	info, warn, debug := zapcore.InfoLevel, zapcore.WarnLevel, zapcore.DebugLevel
	return []logging.Record{
		rec(0, "A", info, "RedisBus", "bus_connected"),
		rec(1, "A", info, "Server", "listening", "addr", "127.0.0.1:1001"),
		rec(2, "B", info, "RedisBus", "bus_connected"),
		rec(3, "B", info, "Server", "listening", "addr", "127.0.0.1:1002"),
		rec(101, "A", info, "RedisBus", "chat_message_published", "messageId", "1", "recipientId", "u2", "originInstanceId", "A"),
		rec(102, "B", info, "RedisBusHandler", "chat_message_delivered", "messageId", "1", "recipientId", "u2", "originInstanceId", "A", "sockets", int64(1)),
		rec(103, "B", debug, "RedisBus", "bus_event_published", "kind", "chat.state", "messageId", "1"),
		rec(3000, "A", info, "Admin", "user_banned", "targetUserId", "u3", "sockets", int64(0)),
		rec(3001, "B", info, "RedisBusHandler", "admin_kick_ban_applied", "targetUserId", "u3", "originInstanceId", "A", "sockets", int64(1)),
		rec(5000, "A", warn, "RedisBus", "bus_lost", "cause", "subscription: EOF"),
		rec(5001, "B", warn, "RedisBus", "bus_lost", "cause", "subscription: EOF"),
		rec(5002, "sandbox", zapcore.ErrorLevel, "Sandbox", "fault_failed", "error", "something went wrong", "took", 1500*time.Millisecond),
	}
}

// lines splits a view for assertions.
func viewOf(t *testing.T, s string, w, h int) []byte {
	t.Helper()
	got := lipgloss.Height(s)
	if h > 0 && got != h {
		t.Errorf("view is %d lines high, want %d:\n%s", got, h, s)
	}
	if mw := lipgloss.Width(s); w > 0 && mw > w {
		t.Errorf("view is %d cells wide, more than %d:\n%s", mw, w, s)
	}
	return []byte(s + "\n")
}
