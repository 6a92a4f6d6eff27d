package bus

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// failHandler fails the test if the bus ever calls it.
type failHandler struct{ t *testing.T }

func (f failHandler) HandleEvent(Event) { f.t.Errorf("HandleEvent called on a disabled bus") }
func (f failHandler) UsersResubscribed([]string) {
	f.t.Errorf("UsersResubscribed called on a disabled bus")
}
func (f failHandler) BusRestored() { f.t.Errorf("BusRestored called on a disabled bus") }

func TestDisabled(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	d := NewDisabled(zap.New(core))

	if got := d.State(); got != StateDisabled {
		t.Fatalf("State() = %v, want disabled", got)
	}
	d.Start(context.Background(), failHandler{t})
	d.Start(context.Background(), failHandler{t}) // second Start: no second log line
	for range 100 {
		err := d.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "m1", Content: "secret words"})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Publish() = %v, want ErrUnavailable", err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if err := d.Publish(context.Background(), Event{Kind: KindKick}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish after Close = %v, want ErrUnavailable", err)
	}

	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("got %d log entries, want 2 (bus_disabled, stopped): %v", len(entries), entries)
	}
	if e := entries[0]; e.Message != "bus_disabled" || e.LoggerName != "RedisBus" || e.ContextMap()["reason"] != "Redis not configured" {
		t.Errorf("first entry = %s %s %v", e.LoggerName, e.Message, e.ContextMap())
	}
	if e := entries[1]; e.Message != "stopped" || e.LoggerName != "RedisBus" {
		t.Errorf("second entry = %s %s", e.LoggerName, e.Message)
	}
}

func TestDisabledZeroValue(t *testing.T) {
	t.Parallel()
	var d Disabled
	d.Start(context.Background(), failHandler{t})
	if err := d.Publish(context.Background(), Event{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish() = %v, want ErrUnavailable", err)
	}
	if d.State() != StateDisabled {
		t.Fatalf("State() = %v", d.State())
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStateString(t *testing.T) {
	t.Parallel()
	for s, want := range map[State]string{StateDisabled: "disabled", StateConnected: "connected", StateLost: "lost", State(42): "disabled"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", s, got, want)
		}
	}
}
