package httpapi

import (
	"crypto/subtle"
	"net/http"
)

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "instanceId": a.node.InstanceID()})
}

// readyz is ready when the store answers; the bus is reported, not
// required, because the server works without it.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	body := map[string]any{"instanceId": a.node.InstanceID(), "bus": a.node.BusState().String(), "store": "ok", "status": "ready"}
	status := http.StatusOK
	if err := a.store.Ping(ctx); err != nil {
		body["store"], body["status"] = "unreachable", "not ready"
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	switch a.opts.MetricsMode {
	case "off":
		a.fail(w, r, errMetricsOff)
		return
	case "secret":
		key := r.Header.Get("x-metrics-key")
		if key == "" || subtle.ConstantTimeCompare([]byte(key), []byte(a.opts.MetricsSecret)) != 1 {
			a.fail(w, r, errMetricsKey)
			return
		}
	}
	a.node.Metrics().Handler().ServeHTTP(w, r)
}

func (a *API) adminMetrics(w http.ResponseWriter, r *http.Request, _ principal) {
	if !a.opts.MetricsAdminRoute {
		a.fail(w, r, errAdminMetricsOff)
		return
	}
	b, err := a.node.Metrics().JSON()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
