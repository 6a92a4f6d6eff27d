package bus

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/testsvc"
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
	return setupBenchAt(b, miniredis.RunT(b).Addr(), h)
}

// setupBenchServer is setupBench on a real redis-server (skipped without
// one): no Redis runs in the benchmark's process, so its allocations and
// instructions are the buses' alone. $DMCHAT_BENCH_REDIS_ADDR names one
// already running instead: callgrind aborts on the start of a child
// process.
func setupBenchServer(b *testing.B, h *benchHandler) *Redis {
	b.Helper()
	if addr := os.Getenv("DMCHAT_BENCH_REDIS_ADDR"); addr != "" {
		return setupBenchAt(b, addr, h)
	}
	return setupBenchAt(b, testsvc.StartRedis(b).Addr(), h)
}

// setupBenchAt starts buses A and B on the Redis at addr; B uses h.
func setupBenchAt(b *testing.B, addr string, h *benchHandler) *Redis {
	b.Helper()
	start := func(id string, handler Handler) *Redis {
		// A long dial timeout: under callgrind the first dial is slow.
		bus, err := NewRedis(RedisOptions{URL: "redis://" + addr + "?dial_timeout=10s", InstanceID: id})
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
	roundTrips(b, setupBench(b, h), h)
}

// roundTrips publishes one event at a time on a and waits for h to get it.
func roundTrips(b *testing.B, a *Redis, h *benchHandler) {
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
	benchParallel(b, setupBench(b, h), h, (*Redis).Publish)
}

// BenchmarkBusServer is BenchmarkBusRoundTrip and BenchmarkBusPublishParallel
// on a real redis-server, and "post" the parallel one with Post, which
// does not wait for Redis's answer (as a node publishes a message).
func BenchmarkBusServer(b *testing.B) {
	b.Run("roundtrip", func(b *testing.B) {
		h := &benchHandler{got: make(chan struct{}, 1)}
		roundTrips(b, setupBenchServer(b, h), h)
	})
	b.Run("publish", func(b *testing.B) {
		h := &benchHandler{}
		benchParallel(b, setupBenchServer(b, h), h, (*Redis).Publish)
	})
	b.Run("post", func(b *testing.B) {
		h := &benchHandler{}
		benchParallel(b, setupBenchServer(b, h), h, func(a *Redis, ctx context.Context, ev Event) error {
			return a.Post(ctx, ev, nil)
		})
	})
}

// benchParallel publishes benchEvent from 16 goroutines per core with
// publish and stops the timer once h has received all of them.
func benchParallel(b *testing.B, a *Redis, h *benchHandler, publish func(*Redis, context.Context, Event) error) {
	ctx := context.Background()
	var sent atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := publish(a, ctx, benchEvent); err != nil {
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
