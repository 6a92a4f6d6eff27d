package logging

import (
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"
)

// Bounded writes the lines of one event at a bounded rate: a burst, then
// a steady number per second. The lines it drops are counted, and the next
// line written carries the count ("suppressed"). It is for events whose
// rate callers set, such as one line per failed request or per bad
// connection, where every occurrence may carry a different cause worth
// seeing but the log must not grow with the request rate. Repeats bounds
// one client's events instead, Outage one dependency's failures.
//
// Safe for concurrent use.
type Bounded struct {
	log     *zap.Logger
	level   zapcore.Level
	event   string
	limit   *rate.Limiter
	dropped atomic.Int64
}

// NewBounded returns a Bounded writing event at level to log: burst lines
// at once, then perSecond.
func NewBounded(log *zap.Logger, level zapcore.Level, event string, perSecond float64, burst int) *Bounded {
	return &Bounded{log: log, level: level, event: event, limit: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// Log writes one line with fields if the bound allows it, and counts it
// otherwise.
func (b *Bounded) Log(fields ...zap.Field) {
	if !b.limit.Allow() {
		b.dropped.Add(1)
		return
	}
	if n := b.dropped.Swap(0); n > 0 {
		fields = append(fields, zap.Int64("suppressed", n))
	}
	b.log.Log(b.level, b.event, fields...)
}

// Limiter is the bound, for tests that change it.
func (b *Bounded) Limiter() *rate.Limiter { return b.limit }
