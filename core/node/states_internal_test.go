package node

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/store"
)

// lostBus is a Redis bus that is down: Publish is refused.
type lostBus struct{ bus.Disabled }

func (*lostBus) State() bus.State { return bus.StateLost }

// TestStatesAreHeldOnlyWhenThereIsABus: a state that could not be published
// is held for when the bus returns, but an instance with no Redis
// configured has nobody to tell, ever, and keeps nothing.
func TestStatesAreHeldOnlyWhenThereIsABus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		bus        bus.Bus
		standalone bool
		held       int
	}{
		{"no Redis configured", nil, false, 0},
		{"no Redis configured, bus wrapped", &lostBus{}, true, 0},
		{"Redis down", &lostBus{}, false, 1},
		// Whatever its type, a bus the node was not told is alone may come
		// back (Redis that did not answer in time at start).
		{"Redis not up yet", &bus.Disabled{}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(Options{Store: store.NewMemory(), Bus: tc.bus, Standalone: tc.standalone})
			if err != nil {
				t.Fatal(err)
			}
			n.publishState(context.Background(), bus.Event{Kind: bus.KindState, MessageID: "1", SenderID: "u"})
			if got := len(n.states.takeHeld()); got != tc.held {
				t.Fatalf("%d states held, want %d", got, tc.held)
			}
		})
	}
}

// restoringBus is down at publishState's first look, and comes back right
// after it: the restore (BusRestored) takes the held states before the
// state being published is held.
type restoringBus struct {
	bus.Disabled
	n         *Node
	calls     atomic.Int32
	published chan bus.Event
}

func (b *restoringBus) State() bus.State {
	if b.calls.Add(1) == 1 {
		b.n.BusRestored()
		return bus.StateLost
	}
	return bus.StateConnected
}

func (b *restoringBus) Publish(_ context.Context, ev bus.Event) error {
	if ev.Kind == bus.KindState {
		b.published <- ev
	}
	return nil
}

// TestStateHeldAsTheBusReturnsIsNotStranded: a state held just as the bus
// came back, after the restore took the held states, is published anyway,
// not kept until the next outage.
func TestStateHeldAsTheBusReturnsIsNotStranded(t *testing.T) {
	b := &restoringBus{published: make(chan bus.Event, 1)}
	n, err := New(Options{Store: store.NewMemory(), Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	b.n = n
	defer n.Shutdown(context.Background())
	n.publishState(context.Background(), bus.Event{Kind: bus.KindState, MessageID: "7", SenderID: "u"})
	select {
	case ev := <-b.published:
		if ev.MessageID != "7" {
			t.Fatalf("published %+v, want the state of 7", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the state held as the bus returned was never published")
	}
}
