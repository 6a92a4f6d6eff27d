package httpapi

import (
	"errors"
	"net/http"
	"runtime"
	"time"

	"github.com/dmchat/dmchat/core/gate"
)

// readQueuePerSlot is how many gated requests may wait per slot. A history
// page takes a few milliseconds, so a full queue is well under a second of
// waiting; past it a request is answered 429 at once rather than held (a
// crowd of accounts would otherwise park thousands of requests and
// connections, each waiting out its whole request timeout).
const readQueuePerSlot = 64

// newReadGate bounds the routes whose store reads and answers grow with
// the data asked for (a history page of 200 messages, a directory
// search) to half the processors at once, at least one. The per-user rate
// limit bounds what one user asks; this bounds what all of them together
// may take, however many accounts an attacker holds, so the message path
// keeps the other half. Measured with "sandbox bench --workload hostile"
// (docs/PERFORMANCE.md, "history flood"): one user asking for such pages
// as fast as answered had the server read and encode ~900 a second.
func newReadGate() *gate.Gate {
	slots := max(1, runtime.GOMAXPROCS(0)/2)
	return gate.New(slots, readQueuePerSlot*slots)
}

// errReadsBusy answers a gated request refused because the queue is full.
var errReadsBusy = rateLimited(time.Second, "the server is busy reading; try again shortly")

// gated runs h once the read gate has room. A request waits in line (not
// runnable, so costing no CPU) for as long as its context lasts; one
// whose client left meanwhile is answered 500 to nobody and logs nothing,
// as fail does for any request whose context ended. Past the queue it is
// answered 429 RATE_LIMITED with Retry-After: 1.
func (a *API) gated(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		err := a.reads.Do(r.Context(), func() { h(w, r, p) })
		switch {
		case errors.Is(err, gate.ErrBusy):
			a.fail(w, r, errReadsBusy)
		case err != nil:
			a.fail(w, r, err)
		}
	}
}
