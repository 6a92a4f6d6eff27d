package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A 500's cause is logged with its route (the pattern, without the ids of
// the path; method and path when no pattern matched), and failures on
// every request are bounded (the count of the dropped is logging.Bounded's,
// tested there).
func TestFailLogsTheCauseOfA500ByRouteWithinTheBound(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	a := &API{internal: newInternalLog(zap.New(core))}
	cause := errors.New("store: database is down")

	r := httptest.NewRequest("GET", "/api/messages?with=u1", nil)
	r.Pattern = "GET /api/messages"
	a.fail(httptest.NewRecorder(), r, cause)
	unrouted := httptest.NewRequest("POST", "/somewhere", nil)
	a.fail(httptest.NewRecorder(), unrouted, cause)
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d lines for two 500s; want 2", len(all))
	}
	if f := all[0].ContextMap(); all[0].Message != "internal_error" || all[0].Level != zapcore.ErrorLevel ||
		f["route"] != "GET /api/messages" || f["error"] != cause.Error() {
		t.Fatalf("first line %s %s %v; want internal_error at error with the route pattern and the cause",
			all[0].Level, all[0].Message, f)
	}
	if got := all[1].ContextMap()["route"]; got != "POST /somewhere" {
		t.Fatalf("route of an unmatched request %v; want method and path", got)
	}

	for range 3 * internalLogBurst {
		a.fail(httptest.NewRecorder(), r, cause)
	}
	if n := logs.Len(); n > internalLogBurst+1 {
		t.Fatalf("%d lines for %d more 500s at once; want at most the burst of %d", n, 3*internalLogBurst, internalLogBurst)
	}
}

// A 500 whose client went away (the request's context ended, so the store
// call was cancelled) is answered but not logged as the server's error.
func TestFailLogsNoInternalErrorForAClientThatLeft(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	a := &API{internal: newInternalLog(zap.New(core))}
	cause := fmt.Errorf("store: failed to read conversation: %w", context.Canceled)

	r := httptest.NewRequest("GET", "/api/messages", nil)
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	rec := httptest.NewRecorder()
	a.fail(rec, r.WithContext(ctx), cause)
	if rec.Code != 500 || logs.Len() != 0 {
		t.Fatalf("client gone: status %d, %d log lines; want 500 and none", rec.Code, logs.Len())
	}

	a.fail(httptest.NewRecorder(), r, errors.New("store: database is down"))
	if logs.Len() != 1 {
		t.Fatalf("client still there: %d internal_error lines, want 1", logs.Len())
	}
}
