package bus

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/dmchat/dmchat/core/chat"
)

// frameMessage is a message whose frame holds every escape chat writes.
var frameMessage = chat.Message{ID: "01JF3Q7Z5B7W3XK4N4Q8C2V6RD", SenderID: "u1", RecipientID: "u2",
	Content: "a <b> & \u2028\u2029 \"q\" \\ é " + secret}

// subscribed makes tb hold userID's channel.
func (tb *testBus) subscribed(t *testing.T, userID string) {
	t.Helper()
	tb.Subscribe(userID)
	if err := tb.WaitSubscribed(context.Background(), userID); err != nil {
		t.Fatalf("WaitSubscribed(%s): %v", userID, err)
	}
}

// TestRedisMessageFrameArrivesAsSent: the frame a KindMessage carries
// reaches the other instance byte for byte, escapes included.
func TestRedisMessageFrameArrivesAsSent(t *testing.T) {
	t.Parallel()
	_, a, b := twoBuses(t)
	b.subscribed(t, frameMessage.RecipientID)
	frame := chat.MessageFrame(frameMessage).Encode()
	ev := Event{Kind: KindMessage, MessageID: frameMessage.ID, RecipientID: frameMessage.RecipientID,
		CreatedAtMs: 1234, Frame: frame}
	if err := a.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	got := b.rec.waitEvent(t, "the message", isMessage(frameMessage.ID))
	if !bytes.Equal(got.Frame, frame) {
		t.Fatalf("frame on B:\n%s\nwant:\n%s", got.Frame, frame)
	}
	if got.CreatedAtMs != 1234 || got.OriginInstanceID != "A" {
		t.Fatalf("event %+v", got)
	}
	assertNoSecret(t, a.logs, secret)
	assertNoSecret(t, b.logs, secret)
}

// TestRedisEventOfThePreviousVersion: what an older instance publishes
// (encoding/json of its Event, no frame) decodes with every field, and
// what this version publishes decodes with encoding/json into the older
// Event with every field that version reads.
func TestRedisEventOfThePreviousVersion(t *testing.T) {
	type oldEvent struct { // bus.Event before frames were carried
		Kind             Kind   `json:"kind"`
		OriginInstanceID string `json:"originInstanceId"`
		MessageID        string `json:"messageId,omitempty"`
		SenderID         string `json:"senderId,omitempty"`
		RecipientID      string `json:"recipientId,omitempty"`
		ClientMessageID  string `json:"clientMessageId,omitempty"`
		Content          string `json:"content,omitempty"`
		CreatedAt        string `json:"createdAt,omitempty"`
	}
	old := oldEvent{Kind: KindMessage, OriginInstanceID: "old", MessageID: "m1", SenderID: "u1",
		RecipientID: "u2", ClientMessageID: "c1", Content: "<hi> & é", CreatedAt: "2025-01-01T00:00:00.000Z"}
	payload, err := stdjson.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	ev, reason := decodeEvent(string(payload))
	if reason != "" {
		t.Fatalf("old payload malformed: %s", reason)
	}
	if ev.Kind != old.Kind || ev.MessageID != old.MessageID || ev.SenderID != old.SenderID || ev.RecipientID != old.RecipientID ||
		ev.Content != old.Content || ev.CreatedAt != old.CreatedAt || len(ev.Frame) != 0 || ev.CreatedAtMs != 0 {
		t.Fatalf("decoded %+v from %s", ev, payload)
	}

	ev.Frame = chat.MessageFrame(chat.Message{ID: "m1", Content: old.Content}).Encode()
	payload, err = encodeEvent(&ev)
	if err != nil {
		t.Fatal(err)
	}
	var back oldEvent
	if err := stdjson.Unmarshal(payload, &back); err != nil {
		t.Fatalf("an old instance cannot decode %s: %v", payload, err)
	}
	back.ClientMessageID = old.ClientMessageID // decoded, never used by a receiver
	if back != old {
		t.Fatalf("an old instance decodes %+v, want %+v", back, old)
	}
	if payloadKind(string(payload)) != KindMessage {
		t.Fatalf("kind not at the start of %s", payload)
	}
}

// TestRedisMalformedFrame: a message event whose frame is not its
// message's MESSAGE frame is dropped, logged without its content, and
// counted; the bus carries on.
func TestRedisMalformedFrame(t *testing.T) {
	t.Parallel()
	m, a, b := twoBuses(t)
	b.subscribed(t, "u2")
	raw := redis.NewClient(&redis.Options{Addr: m.Addr(), Protocol: 2, DisableIdentity: true})
	defer func() { _ = raw.Close() }()
	ctx := context.Background()
	head := `{"kind":"chat.message","originInstanceId":"X","messageId":"m1","recipientId":"u2","frame":`
	junk := []string{
		head + `{"type":"MESSAGE_STATE","messageId":"m1","content":"` + secret + `"}}`,
		head + `{"type":"MESSAGE","messageId":"m2","content":"` + secret + `"}}`,
		head + `{"type":"MESSAGE","messageId":"m1x","content":"` + secret + `"}}`,
		head + `"{\"type\":\"MESSAGE\",\"messageId\":\"m1\",\"content\":\"` + secret + `\"}"}`,
		head + `[1]}`,
		head + `{"type":"MESSAGE","messageId":"m1","content":"` + secret + "\xff" + `"}}`,
	}
	for _, p := range junk {
		if err := raw.Publish(ctx, b.userChannel("u2"), p).Err(); err != nil {
			t.Fatalf("raw publish: %v", err)
		}
	}
	good := chat.MessageFrame(chat.Message{ID: "good", RecipientID: "u2", Content: "ok"}).Encode()
	if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "good", RecipientID: "u2", Frame: good}); err != nil {
		t.Fatal(err)
	}
	b.rec.waitEvent(t, "good message after junk", isMessage("good"))
	if n := b.rec.count(func(Event) bool { return true }); n != 1 {
		t.Errorf("B's handler got %d events, want only the good one", n)
	}
	if n := len(b.entries("bus_event_malformed")); n != len(junk) {
		t.Errorf("%d bus_event_malformed entries, want %d", n, len(junk))
	}
	if n := b.rec.malformedCount(); n != len(junk) {
		t.Errorf("EventMalformed called %d times, want %d", n, len(junk))
	}
	assertNoSecret(t, b.logs, secret)
}

// TestDecodingAMessageEventAllocations bounds the receive path's cost per
// message event: the decode and the frame check. Measured: 4 (the
// payload's copy, the frame's, and the strings of the fields); the previous
// version's decode with encoding/json took 13 for the same event without a
// frame, before the node parsed its time and encoded the frame again.
func TestDecodingAMessageEventAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race; run without it")
	}
	ev := Event{Kind: KindMessage, OriginInstanceID: "A", MessageID: frameMessage.ID, SenderID: frameMessage.SenderID,
		RecipientID: frameMessage.RecipientID, Content: frameMessage.Content, CreatedAt: "2025-01-01T00:00:00.000Z",
		CreatedAtMs: 1, Frame: chat.MessageFrame(frameMessage).Encode()}
	p, err := encodeEvent(&ev)
	if err != nil {
		t.Fatal(err)
	}
	payload := string(p)
	allocs := testing.AllocsPerRun(200, func() {
		if _, reason := decodeEvent(payload); reason != "" {
			t.Fatal(reason)
		}
	})
	if allocs > 4 {
		t.Fatalf("%v allocations per message event decoded, want at most 4", allocs)
	}
}

// BenchmarkDecodeMessageEvent is the receive path of one message event up
// to a frame ready for the sockets: decode and frame check (the previous
// version decoded, then the node parsed the time and encoded the frame).
func BenchmarkDecodeMessageEvent(b *testing.B) {
	ev := benchEvent
	ev.OriginInstanceID = "A"
	p, err := encodeEvent(&ev)
	if err != nil {
		b.Fatal(err)
	}
	payload := string(p)
	b.ReportAllocs()
	for b.Loop() {
		if _, reason := decodeEvent(payload); reason != "" {
			b.Fatal(reason)
		}
	}
}

// BenchmarkEncodeMessageEvent is the publish side: one message event
// encoded, frame included (the frame itself is encoded for the sender's
// own sockets in any case).
func BenchmarkEncodeMessageEvent(b *testing.B) {
	ev := benchEvent
	ev.OriginInstanceID = "A"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeEvent(&ev); err != nil {
			b.Fatal(err)
		}
	}
}
