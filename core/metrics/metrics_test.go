package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// allNames lists every dmchat family New creates, with its field.
func allNames(m *Metrics) map[string]prometheus.Collector {
	return map[string]prometheus.Collector{
		"dmchat_ws_connections":             m.Connections,
		"dmchat_messages_stored_total":      m.MessagesStored,
		"dmchat_messages_delivered_total":   m.MessagesDelivered,
		"dmchat_messages_replayed_total":    m.MessagesReplayed,
		"dmchat_messages_pushed_total":      m.MessagesSent,
		"dmchat_message_acks_total":         m.Acks,
		"dmchat_delivery_acks_total":        m.DeliveryAcks,
		"dmchat_errors_total":               m.Errors,
		"dmchat_persist_seconds":            m.PersistSeconds,
		"dmchat_delivery_seconds":           m.DeliverySeconds,
		"dmchat_slow_consumer_closes_total": m.SlowConsumers,
		"dmchat_bus_state":                  m.BusState,
		"dmchat_bus_publish_failures_total": m.BusPublishFailures,
		"dmchat_catchup_deliveries_total":   m.CatchupDeliveries,
		"dmchat_kicks_applied_total":        m.KicksApplied,
	}
}

func TestEveryMetricHasInstanceLabel(t *testing.T) {
	t.Parallel()
	m := New("A")
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
		for _, mt := range f.GetMetric() {
			ok := false
			for _, lp := range mt.GetLabel() {
				ok = ok || (lp.GetName() == "instance" && lp.GetValue() == "A")
			}
			if !ok {
				t.Errorf("%s has a series without instance=A: %v", f.GetName(), mt.GetLabel())
			}
		}
	}
	for name := range allNames(m) {
		if !seen[name] {
			t.Errorf("family %s not exposed", name)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !seen[name] {
			t.Errorf("collector family %s missing", name)
		}
	}
}

func TestTwoInstancesAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := New("A"), New("B")
	a.MessagesStored.Add(3)
	a.Errors.WithLabelValues("BAD_FRAME").Inc()
	b.MessagesStored.Inc()
	b.Connections.Set(7)

	if got := a.Value("dmchat_messages_stored_total"); got != 3 {
		t.Fatalf("A stored = %v", got)
	}
	if got := b.Value("dmchat_messages_stored_total"); got != 1 {
		t.Fatalf("B stored = %v", got)
	}
	if a.Value("dmchat_ws_connections") != 0 || b.Value("dmchat_ws_connections") != 7 {
		t.Fatal("gauge leaked between instances")
	}
	if a.Value("dmchat_errors_total") != 1 || b.Value("dmchat_errors_total") != 0 {
		t.Fatal("counter vec leaked between instances")
	}
	// Nothing went to the global registry.
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "dmchat_") {
			t.Fatalf("%s registered on the default registry", f.GetName())
		}
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	m := New("A")
	m.Acks.Inc()
	m.Acks.Inc()
	m.BusState.Set(2)
	m.Errors.WithLabelValues("RATE_LIMITED").Add(2)
	m.Errors.WithLabelValues("NEW_CODE").Inc()
	m.PersistSeconds.Observe(0.0004)
	m.PersistSeconds.Observe(0.002)
	m.PersistSeconds.Observe(0.5)

	tests := map[string]float64{
		"dmchat_message_acks_total": 2,
		"dmchat_bus_state":          2,
		"dmchat_errors_total":       3,
		"dmchat_persist_seconds":    3, // observations
		"dmchat_delivery_seconds":   0,
		"dmchat_no_such_metric":     0,
		"":                          0,
	}
	for name, want := range tests {
		if got := m.Value(name); got != want {
			t.Errorf("Value(%q) = %v, want %v", name, got, want)
		}
	}
	if m.Value("go_goroutines") < 1 {
		t.Error("Value does not read collector families")
	}
}

func TestNoInstanceLabelWhenEmpty(t *testing.T) {
	t.Parallel()
	m := New("")
	m.KicksApplied.Inc()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "instance" {
					t.Fatalf("%s has an instance label", f.GetName())
				}
			}
		}
	}
	if m.Value("dmchat_kicks_applied_total") != 1 {
		t.Fatal("value lost")
	}
}

func TestLatencyBuckets(t *testing.T) {
	t.Parallel()
	b := LatencyBuckets()
	if b[0] > 0.0001 || b[len(b)-1] < 1 {
		t.Fatalf("buckets %v do not span 100µs..1s", b)
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("buckets not increasing: %v", b)
		}
	}
	b[0] = 42 // a copy: the next call is unaffected
	if LatencyBuckets()[0] == 42 {
		t.Fatal("LatencyBuckets shares its slice")
	}
}
