package node

import (
	"context"
	"testing"

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
		name string
		bus  bus.Bus
		held int
	}{
		{"no Redis configured", nil, 0},
		{"Redis down", &lostBus{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(Options{Store: store.NewMemory(), Bus: tc.bus})
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
