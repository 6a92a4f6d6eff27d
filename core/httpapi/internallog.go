package httpapi

import (
	"net/http"
	"sync/atomic"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// The bound on internal_error lines: a burst, then one per second. A store
// that is down fails every request; the log should say so, not grow with
// the request rate.
const (
	internalLogBurst = 10
	internalLogEvery = 1 // lines per second after the burst
)

// internalLog writes the cause of each 500 INTERNAL as an internal_error
// line (Error) with the route and the error, within the bound above. The
// lines it drops are counted, and the next line written carries the count
// ("suppressed"). One bound for the whole API rather than one per client,
// as the node's Repeats keeps: a 500 is the server's fault, not the
// caller's, so one caller's failures say as much as everyone's.
type internalLog struct {
	log     *zap.Logger
	limit   *rate.Limiter
	dropped atomic.Int64
}

func newInternalLog(log *zap.Logger) *internalLog {
	return &internalLog{log: log, limit: rate.NewLimiter(internalLogEvery, internalLogBurst)}
}

func (l *internalLog) write(r *http.Request, err error) {
	if !l.limit.Allow() {
		l.dropped.Add(1)
		return
	}
	// The pattern, not the path: it names the route without the ids in it.
	route := r.Pattern
	if route == "" {
		route = r.Method + " " + r.URL.Path
	}
	fields := []zap.Field{zap.String("route", route), zap.Error(err)}
	if n := l.dropped.Swap(0); n > 0 {
		fields = append(fields, zap.Int64("suppressed", n))
	}
	l.log.Error("internal_error", fields...)
}
