package httpapi

import (
	"net/http"
	"runtime"

	"golang.org/x/sync/semaphore"
)

// newReadGate bounds the routes whose store reads and answers grow with
// the data asked for (a history page of 200 messages, a directory
// search) to half the processors at once, at least one. The per-user rate
// limit bounds what one user asks; this bounds what all of them together
// may take, however many accounts an attacker holds, so the message path
// keeps the other half. Measured with "sandbox bench --workload hostile"
// (docs/PERFORMANCE.md, "history flood"): one user's burst of 40 such
// pages raised the legitimate send→delivered p99 several times while both
// cores were busy encoding them.
func newReadGate() *semaphore.Weighted {
	return semaphore.NewWeighted(int64(max(1, runtime.GOMAXPROCS(0)/2)))
}

// gated runs h once the read gate has room. A request waits in line (not
// runnable, so costing no CPU) for as long as its context lasts; one
// whose client left meanwhile is answered 500 to nobody and logs nothing,
// as fail does for any request whose context ended.
func (a *API) gated(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		if err := a.reads.Acquire(r.Context(), 1); err != nil {
			a.fail(w, r, err)
			return
		}
		defer a.reads.Release(1)
		h(w, r, p)
	}
}
