package sandbox

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/bus"
)

// fakeBus records published events on a channel.
type fakeBus struct {
	published chan bus.Event
	mu        sync.Mutex
	closed    bool
}

func (f *fakeBus) Publish(_ context.Context, ev bus.Event) error { f.published <- ev; return nil }
func (f *fakeBus) State() bus.State                              { return bus.StateConnected }
func (f *fakeBus) Start(context.Context, bus.Handler)            {}
func (f *fakeBus) Subscribe(string)                              {}
func (f *fakeBus) Unsubscribe(string)                            {}
func (f *fakeBus) WaitSubscribed(context.Context, string) error  { return nil }
func (f *fakeBus) SetPresence(context.Context, []string) error   { return nil }
func (f *fakeBus) Presence(context.Context) (map[string][]string, error) {
	return nil, nil
}
func (f *fakeBus) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

// faultCluster is the least of a Cluster a faultBus needs.
func faultCluster() *Cluster {
	c := &Cluster{changed: make(chan struct{}, 1), log: zap.NewNop()}
	c.opts.Seed = 1
	c.rng = newRand(1)
	return c
}

func TestBusFaultString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    BusFault
		want string
	}{
		{BusFault{}, ""},
		{BusFault{Latency: 50 * time.Millisecond}, "bus latency 50ms"},
		{BusFault{DropRate: 0.1}, "bus drop 10%"},
		{BusFault{Latency: time.Second, DropRate: 1}, "bus latency 1s, drop 100%"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestFaultBusPassDropDelay(t *testing.T) {
	t.Parallel()
	c := faultCluster()
	inner := &fakeBus{published: make(chan bus.Event, 10)}
	fb := newFaultBus(inner, c, "A")
	ctx := context.Background()

	// Healthy: straight through.
	_ = fb.Publish(ctx, bus.Event{MessageID: "1"})
	if ev := <-inner.published; ev.MessageID != "1" {
		t.Fatalf("got %+v", ev)
	}

	// Drop everything: Publish succeeds, nothing reaches the bus.
	c.SetBusFault(BusFault{DropRate: 1})
	if err := fb.Publish(ctx, bus.Event{MessageID: "2"}); err != nil {
		t.Fatal(err)
	}
	// Delay: Publish returns at once; the event arrives after the latency.
	c.SetBusFault(BusFault{Latency: 30 * time.Millisecond})
	start := time.Now()
	_ = fb.Publish(ctx, bus.Event{MessageID: "3"})
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Fatalf("Publish blocked %v", d)
	}
	select {
	case ev := <-inner.published:
		if ev.MessageID != "3" {
			t.Fatalf("dropped event got through: %+v", ev)
		}
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Fatalf("delayed event arrived after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("delayed event never arrived")
	}

	// Close drops what is still delayed and waits for it.
	c.SetBusFault(BusFault{Latency: time.Hour})
	_ = fb.Publish(ctx, bus.Event{MessageID: "4"})
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	if len(inner.published) != 0 || !inner.closed {
		t.Fatalf("after Close: %d published, closed %v", len(inner.published), inner.closed)
	}
	if err := fb.Publish(ctx, bus.Event{MessageID: "5"}); err != bus.ErrUnavailable {
		t.Fatalf("Publish after Close: %v", err)
	}
	if got := c.BusFault(); got.Latency != time.Hour {
		t.Fatalf("BusFault %+v", got)
	}
}
