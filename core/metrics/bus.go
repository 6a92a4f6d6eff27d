package metrics

import "github.com/prometheus/client_golang/prometheus"

// busKinds are the bus event kinds, pre-set to 0 so the families are
// always exposed. They mirror bus.Kind's values (this package imports
// nothing of the server's).
var busKinds = [...]string{"chat.message", "chat.state", "admin.kick", "bus.resync", "bus.resync.users", "presence"}

// BusMetrics let an operator see the routing by interest: with it, events
// received per delivered message stay near one whatever the number of
// instances.
type BusMetrics struct {
	// Published counts events sent to Redis, by kind.
	Published *prometheus.CounterVec // dmchat_bus_events_published_total{kind}
	// Received counts events that arrived on this instance's
	// subscriptions, own echoes included, by kind.
	Received *prometheus.CounterVec // dmchat_bus_events_received_total{kind}
	// Malformed counts payloads dropped because they did not decode as an
	// event (or carried a frame that is not their message's).
	Malformed prometheus.Counter // dmchat_bus_events_malformed_total
	// Subscriptions is the number of user channels held.
	Subscriptions prometheus.Gauge // dmchat_bus_subscriptions
	// ShardState is each Redis shard's state, numbered as BusState (one series,
	// shard="default", on single-node Redis).
	ShardState *prometheus.GaugeVec // dmchat_bus_shard_state{shard}
}

func newBusMetrics(register func(prometheus.Collector)) BusMetrics {
	b := BusMetrics{
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dmchat_bus_events_published_total", Help: "Bus events published, by kind.",
		}, []string{"kind"}),
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dmchat_bus_events_received_total", Help: "Bus events received on this instance's subscriptions (own included), by kind.",
		}, []string{"kind"}),
		Malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dmchat_bus_events_malformed_total", Help: "Bus payloads dropped because they did not decode as an event.",
		}),
		Subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dmchat_bus_subscriptions", Help: "User channels this instance is subscribed to.",
		}),
		ShardState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dmchat_bus_shard_state", Help: "Bus state per Redis shard: " + BusStateHelp + ".",
		}, []string{"shard"}),
	}
	for _, c := range []prometheus.Collector{b.Published, b.Received, b.Malformed, b.Subscriptions, b.ShardState} {
		register(c)
	}
	for _, k := range busKinds {
		b.Published.WithLabelValues(k)
		b.Received.WithLabelValues(k)
	}
	return b
}
