package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterKeys bounds a keyedLimiter's map. Past it (after a sweep) new
// keys are refused for a second: under a spray of that many distinct
// names or addresses at once, refusing is safer than forgetting the keys
// that are being limited.
const maxLimiterKeys = 100_000

// keyedLimiter is a token bucket per key (a client address, an account
// name). A bucket that has refilled completely is indistinguishable from
// a new one, so sweeps drop those: the map holds only keys limited
// recently. mu guards buckets and swept.
type keyedLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newKeyedLimiter(r rate.Limit, burst int) *keyedLimiter {
	return &keyedLimiter{rate: r, burst: burst, buckets: make(map[string]*rate.Limiter)}
}

// take spends one token of key's bucket. When none is left it spends
// nothing and returns how long until one is.
func (l *keyedLimiter) take(key string) (ok bool, wait time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// A full map is swept at most once a second: a sweep walks every key,
	// and a flood must not buy one per request.
	if since := now.Sub(l.swept); since > time.Minute || (len(l.buckets) >= maxLimiterKeys && since > time.Second) {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimiterKeys {
			return false, time.Second
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
	}
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// forget drops key's bucket (a successful login clears its failures).
func (l *keyedLimiter) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

func (l *keyedLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
