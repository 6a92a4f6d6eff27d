package sandbox

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// TestTimelineMergesHistoryAndLogsInTimeOrder: a message's timeline holds
// its send (by clientMessageId, before any messageId is known), its log
// lines of every instance and its frames, in time order, and nothing of
// another message.
func TestTimelineMergesHistoryAndLogsInTimeOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	events := []history.Event{
		{Seq: 1, Time: at(0), Kind: history.Send, User: "ua", Conn: "alice#1", Instance: "A", ClientMessageID: "c1", Peer: "ub", Attempt: 1},
		{Seq: 2, Time: at(2), Kind: history.Ack, User: "ua", Conn: "alice#1", Instance: "A", ClientMessageID: "c1", MessageID: "31"},
		{Seq: 3, Time: at(4), Kind: history.Receive, User: "ub", Conn: "bob#1", Instance: "B", MessageID: "31", Peer: "ua"},
		{Seq: 4, Time: at(5), Kind: history.Receive, User: "ub", Conn: "bob#1", Instance: "B", MessageID: "3", Peer: "ua"},
		{Seq: 5, Time: at(6), Kind: history.DeliveryAck, User: "ub", Conn: "bob#1", Instance: "B", MessageID: "31"},
		{Seq: 6, Time: at(8), Kind: history.StateChange, User: "ua", Conn: "alice#1", Instance: "A", MessageID: "31"},
	}
	logs := []logging.Record{
		{Time: at(3), Level: zapcore.InfoLevel, Logger: "RedisBusHandler", Event: "chat_message_delivered", InstanceID: "B",
			Fields: map[string]any{"messageId": "31", "recipientId": "ub", "instanceId": "B"}},
		{Time: at(1), Level: zapcore.InfoLevel, Logger: "RedisBus", Event: "chat_message_published", InstanceID: "A",
			Fields: map[string]any{"messageId": "31", "instanceId": "A"}},
		{Time: at(1), Level: zapcore.InfoLevel, Logger: "RedisBus", Event: "chat_message_published", InstanceID: "A",
			Fields: map[string]any{"messageId": "3", "instanceId": "A"}},
	}
	tl := Timeline("31", events, logs, map[string]string{"ua": "alice", "ub": "bob"})
	var got []string
	for _, e := range tl {
		got = append(got, e.What)
	}
	want := []string{
		"alice sends MESSAGE_SEND cmid=c1 to bob (attempt 1)",
		"RedisBus chat_message_published",
		"alice gets MESSAGE_ACK messageId=31",
		"RedisBusHandler chat_message_delivered recipientId=ub(bob)",
		"bob gets MESSAGE from alice",
		"bob sends DELIVERY_ACK",
		"alice gets MESSAGE_STATE DELIVERED",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := FormatTimeline(tl); !strings.Contains(s, "log B") || !strings.Contains(s, "bob#1 on B") {
		t.Errorf("FormatTimeline lacks where:\n%s", s)
	}
}
