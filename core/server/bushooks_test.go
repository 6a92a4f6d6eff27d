package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/metrics"
)

// TestBusStateHelpIsBusState pins the gauges' help text, which operators
// read, to bus.State's numbering: renumbering the states must change it.
func TestBusStateHelpIsBusState(t *testing.T) {
	states := []bus.State{bus.StateDisabled, bus.StateConnected, bus.StateLost}
	var want []string
	for _, st := range states {
		want = append(want, fmt.Sprintf("%d %s", int(st), st))
	}
	if got := strings.Join(want, ", "); metrics.BusStateHelp != got {
		t.Fatalf("metrics.BusStateHelp = %q, bus.State numbers %q", metrics.BusStateHelp, got)
	}
	m := metrics.New("A")
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "dmchat_bus_state" {
			if !strings.Contains(f.GetHelp(), metrics.BusStateHelp) {
				t.Fatalf("dmchat_bus_state help %q does not say %q", f.GetHelp(), metrics.BusStateHelp)
			}
			return
		}
	}
	t.Fatal("dmchat_bus_state not exposed")
}

// TestBusHooksCountFailedPublishes: a Redis bus configured but not
// reachable refuses a publish, and the refusal is counted in
// dmchat_bus_publish_failures_total; its state is the gauge's value.
func TestBusHooksCountFailedPublishes(t *testing.T) {
	mr := miniredis.RunT(t)
	m := metrics.New("A")
	hooks := busHooks(m)
	lost := make(chan struct{})
	var lostOnce sync.Once
	setState := hooks.StateChanged
	hooks.StateChanged = func(st bus.State) {
		setState(st)
		if st == bus.StateLost {
			lostOnce.Do(func() { close(lost) })
		}
	}
	b, err := bus.NewRedis(bus.RedisOptions{URL: "redis://" + mr.Addr() + "/0", InstanceID: "A",
		InitTimeout: 2 * time.Second, Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	b.Start(context.Background(), nopHandler{})
	if b.State() != bus.StateConnected {
		t.Fatalf("bus %v after Start, want connected", b.State())
	}
	if got := m.Value("dmchat_bus_state"); got != float64(bus.StateConnected) {
		t.Fatalf("dmchat_bus_state = %v, want %d", got, bus.StateConnected)
	}
	if got := m.Value("dmchat_bus_publish_failures_total"); got != 0 {
		t.Fatalf("dmchat_bus_publish_failures_total = %v before any failure", got)
	}

	mr.Close()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("bus did not notice that Redis is gone")
	}
	err = b.Publish(context.Background(), bus.Event{Kind: bus.KindMessage, MessageID: "1", RecipientID: "u"})
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Publish with Redis gone = %v, want ErrUnavailable", err)
	}
	if got := m.Value("dmchat_bus_publish_failures_total"); got != 1 {
		t.Fatalf("dmchat_bus_publish_failures_total = %v, want 1", got)
	}
	if got := m.Value("dmchat_bus_state"); got != float64(bus.StateLost) {
		t.Fatalf("dmchat_bus_state = %v, want %d (lost)", got, bus.StateLost)
	}
}

type nopHandler struct{}

func (nopHandler) HandleEvent(bus.Event)      {}
func (nopHandler) BusRestored()               {}
func (nopHandler) UsersResubscribed([]string) {}
