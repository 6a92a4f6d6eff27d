package node

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// userLimits holds one rate.Limiter per user with a socket here, shared by
// that user's sessions, so opening more sockets buys no more sends: the
// contract's per-user limit, with the same WS_RATE and WS_BURST as each
// connection's. A user's entry goes when its last session closes.
//
// Lock rule: mu guards byUser; no call out is made while holding it.
type userLimits struct {
	rate  rate.Limit
	burst int

	mu     sync.Mutex
	byUser map[string]*userLimit
}

type userLimit struct {
	lim      *rate.Limiter
	sessions int // guarded by userLimits.mu
}

func newUserLimits(r float64, burst int) *userLimits {
	return &userLimits{rate: rate.Limit(r), burst: burst, byUser: make(map[string]*userLimit)}
}

// acquire returns userID's shared limiter, counting one more session.
func (u *userLimits) acquire(userID string) *rate.Limiter {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.byUser[userID]
	if l == nil {
		l = &userLimit{lim: rate.NewLimiter(u.rate, u.burst)}
		u.byUser[userID] = l
	}
	l.sessions++
	return l.lim
}

// release counts one session of userID fewer, dropping its limiter after
// the last.
func (u *userLimits) release(userID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.byUser[userID]
	if l == nil {
		return
	}
	if l.sessions--; l.sessions <= 0 {
		delete(u.byUser, userID)
	}
}

// users is the number of users holding a limiter (for tests).
func (u *userLimits) users() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.byUser)
}

// allowBoth takes one token from each of a and b, or from neither: a frame
// refused by one limit must not spend the other's token (a user's other
// sockets would pay for a connection's flood).
func allowBoth(a, b *rate.Limiter, now time.Time) bool {
	ra := a.ReserveN(now, 1)
	if !ra.OK() || ra.DelayFrom(now) > 0 {
		ra.CancelAt(now)
		return false
	}
	if b == nil {
		return true
	}
	rb := b.ReserveN(now, 1)
	if !rb.OK() || rb.DelayFrom(now) > 0 {
		rb.CancelAt(now)
		ra.CancelAt(now)
		return false
	}
	return true
}
