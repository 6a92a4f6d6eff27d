package bus

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/dmchat/dmchat/core/chat"
)

// benchHandler counts messages and hands each one to got when set.
type benchHandler struct {
	n   atomic.Int64
	got chan struct{}
}

func (h *benchHandler) HandleEvent(ev Event) {
	if ev.Kind != KindMessage {
		return
	}
	h.n.Add(1)
	if h.got != nil {
		h.got <- struct{}{}
	}
}

func (h *benchHandler) BusRestored()               {}
func (h *benchHandler) UsersResubscribed([]string) {}

// setupBench starts buses A and B on one miniredis; B uses h.
func setupBench(b *testing.B, h *benchHandler) *Redis {
	b.Helper()
	m := miniredis.RunT(b)
	start := func(id string, handler Handler) *Redis {
		bus, err := NewRedis(RedisOptions{URL: "redis://" + m.Addr(), InstanceID: id})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = bus.Close() })
		bus.Start(context.Background(), handler)
		if bus.State() != StateConnected {
			b.Fatalf("%s not connected", id)
		}
		return bus
	}
	a := start("A", nil)
	// Events travel on their recipient's channel: B holds it, as an
	// instance with a socket of that user would.
	recv := start("B", h)
	recv.Subscribe(benchEvent.RecipientID)
	if err := recv.WaitSubscribed(context.Background(), benchEvent.RecipientID); err != nil {
		b.Fatal(err)
	}
	return a
}

// benchEvent is a message event as a node publishes it: the fields an
// instance of the previous version reads, and the frame.
var benchEvent = Event{
	Kind: KindMessage, MessageID: "01JF3Q7Z5B7W3XK4N4Q8C2V6RD", SenderID: "u1", RecipientID: "u2",
	Content: "hello there, a message of ordinary length", CreatedAt: "2025-01-01T00:00:00.000Z",
	CreatedAtMs: 1735689600000, Frame: chat.MessageFrame(chat.Message{ID: "01JF3Q7Z5B7W3XK4N4Q8C2V6RD",
		SenderID: "u1", RecipientID: "u2", Content: "hello there, a message of ordinary length"}).Encode(),
}

// BenchmarkBusRoundTrip: one event at a time, published on A and received
// by B's handler (latency-bound).
func BenchmarkBusRoundTrip(b *testing.B) {
	h := &benchHandler{got: make(chan struct{}, 1)}
	a := setupBench(b, h)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Publish(ctx, benchEvent); err != nil {
			b.Fatal(err)
		}
		<-h.got
	}
}

// BenchmarkBusPublishParallel: many publishers at once, so batches fill up;
// the timer stops once B has received everything (throughput-bound).
func BenchmarkBusPublishParallel(b *testing.B) {
	h := &benchHandler{}
	a := setupBench(b, h)
	ctx := context.Background()
	var sent atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := a.Publish(ctx, benchEvent); err != nil {
				b.Error(err)
				return
			}
			sent.Add(1)
		}
	})
	deadline := time.Now().Add(waitTimeout)
	for h.n.Load() < sent.Load() {
		if time.Now().After(deadline) {
			b.Fatalf("B received %d of %d", h.n.Load(), sent.Load())
		}
		time.Sleep(time.Millisecond) // polling interval
	}
}
