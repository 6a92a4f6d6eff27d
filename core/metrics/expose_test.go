package metrics

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, accept string) (string, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Content-Type"), string(body)
}

func TestHandlerText(t *testing.T) {
	t.Parallel()
	m := New("A")
	m.MessagesStored.Add(5)
	m.Errors.WithLabelValues("BAD_FRAME").Inc()
	m.DeliverySeconds.Observe(0.0003)

	for _, accept := range []string{"", "text/plain", "*/*", "application/json;q=0, text/plain"} {
		ctype, body := get(t, m.Handler(), accept)
		if !strings.HasPrefix(ctype, "text/plain") {
			t.Fatalf("Accept %q: content type %q", accept, ctype)
		}
		for _, line := range []string{
			`dmchat_messages_stored_total{instance="A"} 5`,
			`dmchat_errors_total{code="BAD_FRAME",instance="A"} 1`,
			`dmchat_errors_total{code="BANNED",instance="A"} 0`,
			`dmchat_delivery_seconds_bucket{instance="A",le="0.0005"} 1`,
			`dmchat_delivery_seconds_bucket{instance="A",le="0.00025"} 0`,
			`dmchat_delivery_seconds_count{instance="A"} 1`,
			`# TYPE dmchat_bus_state gauge`,
			`go_goroutines{instance="A"}`,
		} {
			if !strings.Contains(body, line) {
				t.Fatalf("Accept %q: text lacks %q:\n%s", accept, line, body)
			}
		}
	}
}

func TestHandlerAndJSON(t *testing.T) {
	t.Parallel()
	m := New("A")
	m.MessagesStored.Add(5)
	m.Connections.Set(2)
	m.Errors.WithLabelValues("TOO_LARGE").Add(4)
	m.PersistSeconds.Observe(0.25)
	m.PersistSeconds.Observe(0.5)

	direct, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, accept := range []string{"application/json", "text/html, application/json;q=0.9"} {
		ctype, body := get(t, m.Handler(), accept)
		if ctype != "application/json" {
			t.Fatalf("Accept %q: content type %q", accept, ctype)
		}
		for _, b := range []string{body, string(direct)} {
			var doc struct {
				Stored  float64            `json:"dmchat_messages_stored_total"`
				Conns   float64            `json:"dmchat_ws_connections"`
				Errors  map[string]float64 `json:"dmchat_errors_total"`
				Persist struct {
					Count uint64  `json:"count"`
					Sum   float64 `json:"sum"`
				} `json:"dmchat_persist_seconds"`
				Goroutines float64 `json:"go_goroutines"`
			}
			if err := json.Unmarshal([]byte(b), &doc); err != nil {
				t.Fatalf("not the documented JSON: %v\n%s", err, b)
			}
			if doc.Stored != 5 || doc.Conns != 2 || doc.Errors["code=TOO_LARGE"] != 4 || doc.Errors["code=BANNED"] != 0 ||
				len(doc.Errors) != len(frameErrorCodes) || doc.Persist.Count != 2 || doc.Persist.Sum != 0.75 || doc.Goroutines < 1 {
				t.Fatalf("unexpected figures %+v\n%s", doc, b)
			}
			if strings.Contains(b, "instance") {
				t.Fatalf("instance label in JSON keys: %s", b)
			}
		}
	}
}

func TestJSONLabelledHistogramAndNonFinite(t *testing.T) {
	t.Parallel()
	m := New("A")
	hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Help: "x"}, []string{"route", "method"})
	hv.WithLabelValues("a", "GET").Observe(1)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_nan", Help: "x"})
	g.Set(nanValue())
	m.Registry.MustRegister(hv, g)

	b, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := string(doc["x_seconds"]); got != `{"method=GET,route=a":{"count":1,"sum":1}}` {
		t.Fatalf("labelled histogram = %s", got)
	}
	if got := string(doc["x_nan"]); got != "null" {
		t.Fatalf("NaN gauge = %s", got)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestWantsJSON(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"":                                     false,
		"application/json":                     true,
		"Application/JSON":                     true,
		"application/json; charset=utf-8":      true,
		"text/plain, application/json":         true,
		"application/json;q=0":                 false,
		"application/json;q=0.0":               false,
		"application/json;q=0.1":               true,
		"application/openmetrics-text":         false,
		"application/jsonx":                    false,
		"text/plain;version=0.0.4;q=1,*/*;q=1": false,
	}
	for accept, want := range tests {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Header.Set("Accept", accept)
		if got := wantsJSON(r); got != want {
			t.Errorf("wantsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}
