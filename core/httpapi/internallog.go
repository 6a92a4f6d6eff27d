package httpapi

import (
	"net/http"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
)

// The bound on internal_error lines: a burst, then one per second. A store
// that is down fails every request; the log should say so, not grow with
// the request rate.
const (
	internalLogBurst = 10
	internalLogEvery = 1 // lines per second after the burst
)

// internalLog writes the cause of each 500 INTERNAL as an internal_error
// line (Error) with the route and the error, within the bound above; the
// next line written after drops carries their count ("suppressed"). One
// bound for the whole API rather than one per client, as the node's
// Repeats keeps: a 500 is the server's fault, not the caller's, so one
// caller's failures say as much as everyone's.
type internalLog struct{ lines *logging.Bounded }

func newInternalLog(log *zap.Logger) *internalLog {
	return &internalLog{lines: logging.NewBounded(log, zapcore.ErrorLevel, "internal_error", internalLogEvery, internalLogBurst)}
}

func (l *internalLog) write(r *http.Request, err error) {
	// The pattern, not the path: it names the route without the ids in it.
	route := r.Pattern
	if route == "" {
		route = r.Method + " " + r.URL.Path
	}
	l.lines.Log(zap.String("route", route), zap.Error(err))
}
