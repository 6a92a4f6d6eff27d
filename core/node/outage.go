package node

import "sync"

// outage tells the first failure of a dependency from the ones after it,
// so that an outage is logged once when it starts and once when it ends
// (with how many calls failed meanwhile), however often the dependency is
// asked: the revocation poll every few seconds, the admin list on every
// refresh (ten times a second in the sandbox). Safe for concurrent use.
type outage struct {
	mu       sync.Mutex
	failures int // since the last success
}

// failed counts a failure and reports whether it starts an outage.
func (o *outage) failed() (first bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	return o.failures == 1
}

// succeeded ends an outage and returns how many failures it had (0: there
// was none).
func (o *outage) succeeded() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.failures
	o.failures = 0
	return n
}
