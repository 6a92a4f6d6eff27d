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

// newInternalLog is where the causes of 500 INTERNAL go: internal_error
// lines (Error) with the route and the error, within the bound above. One
// bound for the whole API rather than one per client, as the node's
// Repeats keeps: a 500 is the server's fault, not the caller's, so one
// caller's failures say as much as everyone's.
func newInternalLog(log *zap.Logger) *logging.Bounded {
	return logging.NewBounded(log, zapcore.ErrorLevel, "internal_error", internalLogEvery, internalLogBurst)
}

// routeOf names r's route by its pattern, not its path, so the line
// carries no ids; a request no pattern matched is named by method and path.
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method + " " + r.URL.Path
}
