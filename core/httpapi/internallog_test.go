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
	"golang.org/x/time/rate"

	"github.com/dmchat/dmchat/core/logging"
)

// A 500's cause is logged with its route, a failure on every request is
// bounded, and the next line written says how many were dropped.
func TestInternalLogBoundsLinesAndCountsTheDropped(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	// Three lines, then none until the limit is raised.
	l := &internalLog{lines: logging.NewBounded(zap.New(core), zapcore.ErrorLevel, "internal_error", 0, 3)}
	cause := errors.New("store: database is down")

	r := httptest.NewRequest("GET", "/api/messages?with=u1", nil)
	r.Pattern = "GET /api/messages"
	for range 5 {
		l.write(r, cause)
	}
	if n := logs.Len(); n != 3 {
		t.Fatalf("%d lines for 5 failures with a burst of 3; want 3", n)
	}
	first := logs.All()[0]
	fields := first.ContextMap()
	if first.Message != "internal_error" || first.Level != zapcore.ErrorLevel ||
		fields["route"] != "GET /api/messages" || fields["error"] != cause.Error() {
		t.Fatalf("first line %s %s %v; want internal_error at error with the route pattern and the cause",
			first.Level, first.Message, fields)
	}
	if _, ok := fields["suppressed"]; ok {
		t.Fatalf("first line %v counts suppressed lines before any was dropped", fields)
	}

	l.lines.Limiter().SetLimit(rate.Inf)
	unrouted := httptest.NewRequest("POST", "/somewhere", nil) // no pattern: method and path
	l.write(unrouted, cause)
	l.write(unrouted, cause)
	all := logs.All()
	if len(all) != 5 {
		t.Fatalf("%d lines; want 5", len(all))
	}
	if got := all[3].ContextMap(); got["suppressed"] != int64(2) || got["route"] != "POST /somewhere" {
		t.Fatalf("line after the drops %v; want suppressed 2 and route POST /somewhere", got)
	}
	if _, ok := all[4].ContextMap()["suppressed"]; ok {
		t.Fatalf("the line after that %v counts again what was already reported", all[4].ContextMap())
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
