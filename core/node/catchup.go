package node

import "sync"

// catchupQueue merges catch-up requests: every local user (after an
// outage, or another instance's resync) or a few (their channels were
// subscribed again after a gap). One loop at a time takes what was asked
// so far. mu guards every field.
type catchupQueue struct {
	mu      sync.Mutex
	running bool
	all     bool
	users   map[string]struct{}
}

// add records a request (nil users: everyone) and reports whether the
// caller must start the loop, none being running.
func (q *catchupQueue) add(users []string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if users == nil {
		q.all = true
	} else if !q.all {
		if q.users == nil {
			q.users = make(map[string]struct{}, len(users))
		}
		for _, id := range users {
			q.users[id] = struct{}{}
		}
	}
	if q.running {
		return false
	}
	q.running = true
	return true
}

// take returns what was asked since the last take; ok is false when
// nothing was, and then the loop has ended (a later add starts another).
func (q *catchupQueue) take() (all bool, users []string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.all && len(q.users) == 0 {
		q.running = false
		return false, nil, false
	}
	all = q.all
	if !all {
		users = make([]string, 0, len(q.users))
		for id := range q.users {
			users = append(users, id)
		}
	}
	q.all, q.users = false, nil
	return all, users, true
}

// stop ends the loop without taking (shutting down).
func (q *catchupQueue) stop() {
	q.mu.Lock()
	q.running = false
	q.mu.Unlock()
}
