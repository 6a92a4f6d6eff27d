package bench

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/client"
)

// probe is the legitimate client that checks /healthz and logs in while
// attackers run.
type probe struct {
	h                         *hostileRun
	api                       *client.API
	hc                        *http.Client
	user                      benchUser
	health, login             *latency
	healthFailed, loginFailed atomic.Int64
}

func newProbe(h *hostileRun) *probe {
	hc := httpClientFrom(legitIP(), 2)
	return &probe{h: h, hc: hc, api: &client.API{BaseURL: h.Base, HTTP: hc}, user: h.pairs.users[0],
		health: newLatency(), login: newLatency()}
}

// run probes four times a second until stop is closed; a round under way
// then is finished (each request is bounded by probeTimeout), so a login
// slowed past the phase's end is still measured.
func (p *probe) run(ctx context.Context, stop <-chan struct{}) {
	defer p.hc.CloseIdleConnections()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, probeTimeout)
		t0 := time.Now()
		err := p.api.Healthz(rctx)
		p.health.Record(0, time.Since(t0))
		if err != nil {
			p.healthFailed.Add(1)
		}
		t0 = time.Now()
		_, err = p.api.Login(rctx, p.user.Name, benchPassword)
		p.login.Record(0, time.Since(t0))
		if err != nil {
			p.loginFailed.Add(1)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// probeTimeout bounds each of the legitimate client's requests: one that
// takes longer counts as failed (and is recorded at this time).
const probeTimeout = 10 * time.Second
