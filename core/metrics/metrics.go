// Package metrics owns one instance's Prometheus metrics: a registry of its
// own (never the global default one, since two instances may share a
// process), the dmchat_* metrics the server updates, and their exposition as
// Prometheus text or as a small JSON object.
//
// Every metric, the Go and process collectors' included, carries the
// constant label instance=<instance id>.
//
// All fields are set by New and never reassigned; the metrics themselves are
// safe for concurrent use, and so are all methods.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dmchat/dmchat/core/chat"
)

// BusStateHelp is how the help of dmchat_bus_state and
// dmchat_bus_shard_state reads the gauges' values. The values are
// bus.State's; this package imports nothing of the server's, so a test
// beside the bus hooks (core/server) pins this text to bus.State.
const BusStateHelp = "0 disabled, 1 connected, 2 lost"

// InstanceLabel is the constant label every metric carries.
const InstanceLabel = "instance"

// LatencyBuckets returns the histogram buckets of the latency metrics, in
// seconds: 100µs to 10s, about three per decade, suited to a persist or a
// delivery that takes well under a millisecond on a quiet machine and
// seconds on a drowning one.
func LatencyBuckets() []float64 {
	return []float64{
		0.0001, 0.00025, 0.0005,
		0.001, 0.0025, 0.005,
		0.01, 0.025, 0.05,
		0.1, 0.25, 0.5,
		1, 2.5, 5, 10,
	}
}

// Metrics are one instance's metrics.
type Metrics struct {
	// Registry holds every metric below plus the Go and process collectors.
	Registry *prometheus.Registry

	// Connections is the number of open WebSocket connections.
	Connections prometheus.Gauge // dmchat_ws_connections
	// MessagesStored counts new message rows (a retried send is not new).
	MessagesStored prometheus.Counter // dmchat_messages_stored_total
	// MessagesDelivered counts messages marked DELIVERED.
	MessagesDelivered prometheus.Counter // dmchat_messages_delivered_total
	// MessagesReplayed counts MESSAGE frames sent by replay on connect.
	MessagesReplayed prometheus.Counter // dmchat_messages_replayed_total
	// MessagesSent counts MESSAGE frames pushed live.
	MessagesSent prometheus.Counter // dmchat_messages_pushed_total
	// Acks counts MESSAGE_ACK frames sent.
	Acks prometheus.Counter // dmchat_message_acks_total
	// DeliveryAcks counts DELIVERY_ACK frames received.
	DeliveryAcks prometheus.Counter // dmchat_delivery_acks_total
	// Errors counts ERROR frames by wire code; the frame codes start at 0.
	Errors *prometheus.CounterVec // dmchat_errors_total{code}
	// PersistSeconds is the time to store a message durably.
	PersistSeconds prometheus.Histogram // dmchat_persist_seconds
	// DeliverySeconds is the time from stored to MESSAGE queued on a socket.
	DeliverySeconds prometheus.Histogram // dmchat_delivery_seconds
	// SlowConsumers counts sockets closed because their queue was full.
	SlowConsumers prometheus.Counter // dmchat_slow_consumer_closes_total
	// BusState is the bus's state as its owner numbers it (bus.State,
	// set by the server's bus hooks); this package does not know the
	// numbering, only the text of BusStateHelp.
	BusState prometheus.Gauge // dmchat_bus_state
	// BusPublishFailures counts events the bus accepted but did not get to
	// Redis (bus.Hooks.PublishFailed): down, queue full, or a failed
	// pipeline, whoever published them.
	BusPublishFailures prometheus.Counter // dmchat_bus_publish_failures_total
	// CatchupDeliveries counts messages delivered by the catch-up after a
	// bus outage.
	CatchupDeliveries prometheus.Counter // dmchat_catchup_deliveries_total
	// KicksApplied counts ban kicks applied to local connections.
	KicksApplied prometheus.Counter // dmchat_kicks_applied_total
	// Bus shows the bus's routing: events published and received per kind,
	// user channels held, shard states (see bus.go).
	Bus BusMetrics

	// own holds only the dmchat_* metrics (without the instance label, which
	// every value of one instance shares), so Value need not gather the Go
	// and process collectors.
	own *prometheus.Registry
}

// frameErrorCodes are the ERROR frame codes, pre-set to 0 so the error
// family is always exposed.
var frameErrorCodes = [...]string{
	chat.CodeBanned, chat.CodeBadFrame, chat.CodeTooLarge, chat.CodeUnknownRecipient,
	chat.CodeRateLimited, chat.CodeForbidden, chat.CodeInternal,
}

// New returns the metrics of one instance on a fresh registry. instanceID
// becomes the constant label instance on every metric (no label when
// empty).
func New(instanceID string) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), own: prometheus.NewRegistry()}
	var reg prometheus.Registerer = m.Registry
	if instanceID != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{InstanceLabel: instanceID}, m.Registry)
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		m.register(reg, c)
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		m.register(reg, g)
		return g
	}
	histogram := func(name, help string) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: LatencyBuckets()})
		m.register(reg, h)
		return h
	}

	m.Connections = gauge("dmchat_ws_connections", "Open WebSocket connections.")
	m.MessagesStored = counter("dmchat_messages_stored_total", "Message rows stored (new rows only, not retries).")
	m.MessagesDelivered = counter("dmchat_messages_delivered_total", "Messages marked DELIVERED.")
	m.MessagesReplayed = counter("dmchat_messages_replayed_total", "MESSAGE frames sent by replay on connect.")
	m.MessagesSent = counter("dmchat_messages_pushed_total", "MESSAGE frames pushed live.")
	m.Acks = counter("dmchat_message_acks_total", "MESSAGE_ACK frames sent.")
	m.DeliveryAcks = counter("dmchat_delivery_acks_total", "DELIVERY_ACK frames received.")
	m.Errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dmchat_errors_total", Help: "ERROR frames sent, by wire code.",
	}, []string{"code"})
	m.register(reg, m.Errors)
	for _, code := range frameErrorCodes {
		m.Errors.WithLabelValues(code)
	}
	m.PersistSeconds = histogram("dmchat_persist_seconds", "Time to store a message durably, in seconds.")
	m.DeliverySeconds = histogram("dmchat_delivery_seconds", "Time from a message stored to its MESSAGE queued on a socket, in seconds.")
	m.SlowConsumers = counter("dmchat_slow_consumer_closes_total", "Connections closed because their send queue was full.")
	m.BusState = gauge("dmchat_bus_state", "Bus state: "+BusStateHelp+".")
	m.BusPublishFailures = counter("dmchat_bus_publish_failures_total", "Bus events that did not reach Redis (bus down, queue full, or failed).")
	m.CatchupDeliveries = counter("dmchat_catchup_deliveries_total", "Messages delivered by the catch-up after a bus outage.")
	m.KicksApplied = counter("dmchat_kicks_applied_total", "Ban kicks applied to local connections.")
	m.Bus = newBusMetrics(func(c prometheus.Collector) { m.register(reg, c) })
	return m
}

// register adds c to the exposed registry (through reg, which adds the
// instance label) and to own.
func (m *Metrics) register(reg prometheus.Registerer, c prometheus.Collector) {
	reg.MustRegister(c)
	m.own.MustRegister(c)
}

// Value returns the sum of all series of the named family: a counter's or a
// gauge's value summed over its labels, or a histogram's or summary's
// observation count. It is 0 when no such family exists. Names are the
// exposed ones, e.g. "dmchat_messages_stored_total" or "go_goroutines".
func (m *Metrics) Value(name string) float64 {
	if v, ok := familyValue(m.own, name); ok {
		return v
	}
	v, _ := familyValue(m.Registry, name)
	return v
}
