package logging

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// RepeatSummaryEvery is how often, at most, Repeats writes a count line
// for an event that keeps repeating.
const RepeatSummaryEvery = time.Minute

// Repeats rate-limits the repeated events of one source, such as one
// client's session: the first occurrence of each event is logged as it
// comes, the next ones are only counted, and a "<event>_repeated" line
// with the count ("count") follows at most every RepeatSummaryEvery while
// the event keeps coming, and once more at Flush (call it when the source
// ends). A client that triggers a warning on every frame thus writes a
// bounded number of lines, however long and fast it goes on.
//
// zap's own sampler does not fit: it samples by message across the whole
// logger, so one noisy client would crowd out the first line of every
// other. Repeats keeps its counts per source, in a map made on first use.
//
// The zero value is not usable; use NewRepeats. Methods are safe for
// concurrent use.
type Repeats struct {
	log    *zap.Logger
	fields []zap.Field // naming the source, on every line
	now    func() time.Time

	mu     sync.Mutex // guards events; never held while logging
	events map[string]*repeat
}

type repeat struct {
	level      zapcore.Level
	suppressed int
	lastLine   time.Time
}

// NewRepeats returns a Repeats writing to log, with fields (naming the
// source, e.g. its userId) on every line. They are kept as given rather
// than bound with log.With, which would copy the logger's encoder for
// every source (a client's session) whether it ever logs or not.
func NewRepeats(log *zap.Logger, fields ...zap.Field) *Repeats {
	return &Repeats{log: log, fields: fields, now: time.Now}
}

// write logs one line with the source's fields first.
func (r *Repeats) write(level zapcore.Level, event string, fields ...zap.Field) {
	all := make([]zap.Field, 0, len(r.fields)+len(fields))
	all = append(append(all, r.fields...), fields...)
	r.log.Log(level, event, all...)
}

// Log writes event at level if it is its first occurrence; otherwise it
// counts it, writing the count line if the last line for event is older
// than RepeatSummaryEvery. fields go with the first line only.
func (r *Repeats) Log(level zapcore.Level, event string, fields ...zap.Field) {
	now := r.now()
	r.mu.Lock()
	if r.events == nil {
		r.events = make(map[string]*repeat, 1)
	}
	e := r.events[event]
	if e == nil {
		r.events[event] = &repeat{level: level, lastLine: now}
		r.mu.Unlock()
		r.write(level, event, fields...)
		return
	}
	e.suppressed++
	n := 0
	if now.Sub(e.lastLine) >= RepeatSummaryEvery {
		n, e.suppressed, e.lastLine = e.suppressed, 0, now
	}
	r.mu.Unlock()
	if n > 0 {
		r.write(level, event+"_repeated", zap.Int("count", n))
	}
}

// Flush writes the count line of every event repeated since its last line.
// Events logged after Flush start over.
func (r *Repeats) Flush() {
	r.mu.Lock()
	events := r.events
	r.events = nil
	r.mu.Unlock()
	for name, e := range events {
		if e.suppressed > 0 {
			r.write(e.level, name+"_repeated", zap.Int("count", e.suppressed))
		}
	}
}
