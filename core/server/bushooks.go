package server

import (
	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/metrics"
)

// busHooks feed the bus's observations into the instance's metrics. The
// gauges take bus.State's numbers as they are (metrics.BusStateHelp says
// what they mean); the bus counts failed publishes, whoever published.
func busHooks(m *metrics.Metrics) bus.Hooks {
	return bus.Hooks{
		StateChanged:   func(st bus.State) { m.BusState.Set(float64(st)) },
		PublishFailed:  m.BusPublishFailures.Inc,
		EventPublished: func(k bus.Kind) { m.Bus.Published.WithLabelValues(string(k)).Inc() },
		EventReceived:  func(k bus.Kind) { m.Bus.Received.WithLabelValues(kindLabel(k)).Inc() },
		EventMalformed: func() { m.Bus.Malformed.Inc() },
		Subscriptions:  func(n int) { m.Bus.Subscriptions.Set(float64(n)) },
		ShardState:     func(shard string, st bus.State) { m.Bus.ShardState.WithLabelValues(shard).Set(float64(st)) },
	}
}

// kindLabel bounds the label values to the known kinds: a payload's kind
// is read before it is checked.
func kindLabel(k bus.Kind) string {
	switch k {
	case bus.KindMessage, bus.KindState, bus.KindKick, bus.KindResync, bus.KindResyncUsers, bus.KindPresence:
		return string(k)
	}
	return "other"
}
