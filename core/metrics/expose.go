package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Handler serves the registry: Prometheus text format, or the JSON of JSON
// when the request's Accept header names application/json. It does no
// access control (that is METRICS_MODE's business, in the HTTP layer).
func (m *Metrics) Handler() http.Handler {
	text := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wantsJSON(r) {
			text.ServeHTTP(w, r)
			return
		}
		body, err := m.JSON()
		if err != nil {
			http.Error(w, "metrics: failed to gather", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}

// wantsJSON reports whether an Accept header lists application/json (with
// a non-zero quality).
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/json" {
			continue
		}
		if q, ok := params["q"]; ok && strings.Trim(q, "0.") == "" {
			continue // q=0: explicitly not acceptable
		}
		return true
	}
	return false
}

// JSON returns every metric family as one JSON object, keys sorted:
//
//	{
//	  "dmchat_messages_stored_total": 12,
//	  "dmchat_persist_seconds": {"count": 12, "sum": 0.0061},
//	  "dmchat_errors_total": {"code=BAD_FRAME": 1, "code=BANNED": 0, ...},
//	  "dmchat_example_seconds": {"route=a": {"count": 3, "sum": 0.2}}
//	}
//
// A family without labels maps to its value: a number for a counter, gauge
// or untyped metric, {"count","sum"} for a histogram or summary. A family
// with labels maps each series, keyed "label=value" (several labels joined
// with ",", in name order), to that same form. The constant instance label
// is left out of the keys. A value that is not finite is null.
func (m *Metrics) JSON() ([]byte, error) {
	families, err := m.Registry.Gather()
	if err != nil && len(families) == 0 {
		return nil, fmt.Errorf("metrics: failed to gather: %w", err)
	}
	out := make(map[string]any, len(families))
	for _, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		if !labelled(f) {
			out[f.GetName()] = jsonValue(f.GetType(), f.GetMetric()[0])
			continue
		}
		series := make(map[string]any, len(f.GetMetric()))
		for _, mt := range f.GetMetric() {
			series[labelKey(mt)] = jsonValue(f.GetType(), mt)
		}
		out[f.GetName()] = series
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("metrics: failed to encode JSON: %w", err)
	}
	return b, nil
}

// labelled reports whether a family has labels other than instance.
func labelled(f *dto.MetricFamily) bool {
	for _, mt := range f.GetMetric() {
		for _, lp := range mt.GetLabel() {
			if lp.GetName() != InstanceLabel {
				return true
			}
		}
	}
	return false
}

// labelKey renders a series' labels (except instance) as "a=x,b=y".
func labelKey(mt *dto.Metric) string {
	var parts []string
	for _, lp := range mt.GetLabel() {
		if lp.GetName() != InstanceLabel {
			parts = append(parts, lp.GetName()+"="+lp.GetValue())
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// number is a float that JSON can hold: nil for NaN and infinities.
func number(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// countSum is the JSON form of a histogram or summary.
type countSum struct {
	Count uint64 `json:"count"`
	Sum   any    `json:"sum"`
}

func jsonValue(t dto.MetricType, mt *dto.Metric) any {
	switch t {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return countSum{Count: mt.GetHistogram().GetSampleCount(), Sum: number(mt.GetHistogram().GetSampleSum())}
	case dto.MetricType_SUMMARY:
		return countSum{Count: mt.GetSummary().GetSampleCount(), Sum: number(mt.GetSummary().GetSampleSum())}
	}
	return number(scalar(t, mt))
}

// scalar is the value of one counter, gauge or untyped series, or the
// observation count of a histogram or summary.
func scalar(t dto.MetricType, mt *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return mt.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return mt.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return mt.GetUntyped().GetValue()
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return float64(mt.GetHistogram().GetSampleCount())
	case dto.MetricType_SUMMARY:
		return float64(mt.GetSummary().GetSampleCount())
	}
	return 0
}

// familyValue sums the named family of g; ok is false when g has none.
func familyValue(g prometheus.Gatherer, name string) (v float64, ok bool) {
	families, _ := g.Gather() // a partial gather still has the good families
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			v += scalar(f.GetType(), mt)
		}
		return v, true
	}
	return 0, false
}
