package node

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// userLimits holds one rate.Limiter per user with a socket here, shared by
// that user's sessions, so opening more sockets buys no more sends: the
// contract's per-user limit, with the same WS_RATE and WS_BURST as each
// connection's. A user's entry outlives its last session until its bucket
// has refilled, so closing every socket and reconnecting buys no fresh
// burst either; such idle entries are swept as the table grows.
//
// Lock rule: mu guards byUser and sweepAt; no call out is made while
// holding it.
type userLimits struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	byUser  map[string]*userLimit
	sweepAt int // sweep idle entries once byUser grows to this size
}

type userLimit struct {
	lim      *rate.Limiter
	sessions int // guarded by userLimits.mu
}

func newUserLimits(r float64, burst int) *userLimits {
	return &userLimits{rate: rate.Limit(r), burst: burst, byUser: make(map[string]*userLimit), sweepAt: minSweep}
}

// minSweep is the table size under which idle entries are not swept.
const minSweep = 64

// acquire returns userID's shared limiter, counting one more session.
func (u *userLimits) acquire(userID string) *rate.Limiter {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.byUser[userID]
	if l == nil {
		if len(u.byUser) >= u.sweepAt {
			u.sweepLocked(time.Now())
		}
		l = &userLimit{lim: rate.NewLimiter(u.rate, u.burst)}
		u.byUser[userID] = l
	}
	l.sessions++
	return l.lim
}

// sweepLocked drops the entries of users with no session whose bucket is
// full again (a fresh one would be the same), and sets the next sweep at
// twice the size left, so sweeping costs O(1) per new user.
func (u *userLimits) sweepLocked(now time.Time) {
	for id, l := range u.byUser {
		if l.sessions <= 0 && l.lim.TokensAt(now) >= float64(u.burst) {
			delete(u.byUser, id)
		}
	}
	u.sweepAt = max(minSweep, 2*len(u.byUser))
}

// release counts one session of userID fewer, dropping its limiter after
// the last if its bucket is full (otherwise a sweep drops it later).
func (u *userLimits) release(userID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.byUser[userID]
	if l == nil {
		return
	}
	if l.sessions--; l.sessions <= 0 && l.lim.TokensAt(time.Now()) >= float64(u.burst) {
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
