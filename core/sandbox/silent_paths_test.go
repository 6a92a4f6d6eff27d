package sandbox

import (
	"context"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/logging"
)

// waitEvent waits for a record of instance with event, added after since,
// whose fields hold want.
func waitEvent(t *testing.T, ctx context.Context, c *Cluster, since int64, instance, event string, want map[string]any) logging.Record {
	t.Helper()
	r, err := c.Logs().WaitSince(ctx, since, func(r logging.Record) bool {
		if r.Event != event || (instance != "" && r.InstanceID != instance) {
			return false
		}
		for k, v := range want {
			if r.Fields[k] != v {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("no %s %s %v in the logs: %v", instance, event, want, err)
	}
	return r
}

// TestSilentPathsAreLogged: a local delivery, a publish skipped while
// Redis is down, a bus-fault drop, a replay and a deduplicated retry each
// log a line (ids only).
func TestSilentPathsAreLogged(t *testing.T) {
	c, ctx := setup(t, Options{Users: 3, LogLevel: -1})
	u1, u2, u3 := c.User("user1"), c.User("user2"), c.User("user3")
	connect(t, ctx, u1, "A")
	connect(t, ctx, u3, "A")

	since := c.Logs().Total()
	if _, err := u1.Send(ctx, "user3", "local"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ctx, c, since, "A", "chat_message_delivered_local", map[string]any{"recipientId": u3.ID()})

	// A bus fault that drops everything: the drop is logged.
	c.SetBusFault(BusFault{DropRate: 1})
	since = c.Logs().Total()
	if _, err := u1.Send(ctx, "user2", "dropped on the bus"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ctx, c, since, "", "bus_fault_dropped", map[string]any{"instance": "A", "kind": "chat.message"})
	c.SetBusFault(BusFault{})

	// Redis down: the publish is skipped, and said so.
	c.StopRedis()
	if _, err := c.Logs().Wait(ctx, func(r logging.Record) bool { return r.InstanceID == "A" && r.Event == "bus_lost" }); err != nil {
		t.Fatal(err)
	}
	since = c.Logs().Total()
	if _, err := u1.Send(ctx, "user2", "during the outage"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ctx, c, since, "A", "chat_message_publish_skipped", nil)
	if err := c.StartRedis(); err != nil {
		t.Fatal(err)
	}

	// user2 connects: the replay of what it missed is logged with a count.
	since = c.Logs().Total()
	connect(t, ctx, u2, "B")
	r := waitEvent(t, ctx, c, since, "B", "replay_done", map[string]any{"userId": u2.ID()})
	if n, _ := r.Fields["count"].(int64); n < 1 {
		t.Errorf("replay_done count = %v, want at least 1", r.Fields["count"])
	}

	// A lost MESSAGE_ACK: the retry is deduplicated, and said so.
	u1.LoseMessageAcks(1)
	since = c.Logs().Total()
	if _, err := u1.Send(ctx, "user3", "retried"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ctx, c, since, "A", "chat_message_send_deduplicated", map[string]any{"senderId": u1.ID()})
}

// TestRetryWithDifferentContentIsLogged: a retry with the same
// clientMessageId and other content is acked with the first messageId (the
// contract allows it) and logged as a warning, without either content.
func TestRetryWithDifferentContentIsLogged(t *testing.T) {
	c, ctx := setup(t, Options{Users: 2})
	u1, u2 := c.User("user1"), c.User("user2")
	conn, _, err := client.Dial(ctx, c.Instance("A").WSURL(), client.DialOptions{Token: u1.Token()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.WaitFor(ctx, client.OfType(chat.TypeReplayDone)); err != nil {
		t.Fatal(err)
	}
	ack := func(content string) string {
		t.Helper()
		if err := conn.SendMessage(ctx, "same-cmid", u2.ID(), content); err != nil {
			t.Fatal(err)
		}
		f, err := conn.WaitFor(ctx, client.OfType(chat.TypeMessageAck))
		if err != nil {
			t.Fatal(err)
		}
		return f.MessageID
	}
	first := ack("first text")
	since := c.Logs().Total()
	if again := ack("other text"); again != first {
		t.Fatalf("retry acked as %s, want the first messageId %s", again, first)
	}
	r := waitEvent(t, ctx, c, since, "A", "chat_message_retry_content_differs", map[string]any{"messageId": first})
	for k, v := range r.Fields {
		if s, _ := v.(string); s == "first text" || s == "other text" {
			t.Errorf("field %s logs message content", k)
		}
	}
	// The same content again is only a deduplicated retry.
	since = c.Logs().Total()
	ack("first text")
	waitEvent(t, ctx, c, since, "A", "chat_message_send_deduplicated", map[string]any{"messageId": first})
}

// TestPublishLoggedBeforeRemoteDelivery: the sender's instance stamps
// chat_message_published (and admin_kick_published) no later than the
// other instance's chat_message_delivered (admin_kick_ban_applied), so a
// merged log in time order reads cause before effect.
func TestPublishLoggedBeforeRemoteDelivery(t *testing.T) {
	c, ctx := setup(t, Options{Users: 2})
	u1, u2 := c.User("user1"), c.User("user2")
	connect(t, ctx, u1, "A")
	connect(t, ctx, u2, "B")
	for i := range 10 {
		since := c.Logs().Total()
		if _, err := u1.Send(ctx, "user2", "m"); err != nil {
			t.Fatal(err)
		}
		del := waitEvent(t, ctx, c, since, "B", "chat_message_delivered", nil)
		mid := del.Fields["messageId"]
		pub := waitEvent(t, ctx, c, since, "A", "chat_message_published", map[string]any{"messageId": mid})
		if pub.Time.After(del.Time) {
			t.Fatalf("message %d (%v): published at %s, after B delivered it at %s", i, mid, pub.Time.Format("15:04:05.000000"), del.Time.Format("15:04:05.000000"))
		}
	}
}
