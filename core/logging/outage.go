package logging

import "sync"

// Outage tells the first failure of a dependency from the ones after it,
// so that an outage is logged once when it starts and once when it ends
// (with how many calls failed meanwhile), however often the dependency is
// asked: a store's write batches, the revocation poll every second, the
// admin list on every refresh (ten times a second in the sandbox). Unlike
// Repeats, whose source is one client, an Outage is one dependency seen by
// every caller; its first line after each recovery carries a cause again.
//
// The zero value is ready to use. Methods are safe for concurrent use.
type Outage struct {
	mu       sync.Mutex
	failures int // since the last success
}

// Failed counts a failure and reports whether it starts an outage.
func (o *Outage) Failed() (first bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	return o.failures == 1
}

// Succeeded ends an outage and returns how many failures it had (0: there
// was none).
func (o *Outage) Succeeded() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.failures
	o.failures = 0
	return n
}
