// Package logtest captures structured log lines in tests and asserts on them:
// which events were logged, and that no secret (password, token, message
// content) appears in any message, logger name, field key or field value.
//
//	rec := logtest.New(t)
//	srv := server.New(server.Options{Logger: rec.Logger()})
//	...
//	rec.WaitFor(t, 5*time.Second, logtest.Event("RedisBus", "bus_connected"))
//	logtest.AssertNoSecrets(t, rec.Records(), password, token)
package logtest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Recorder collects the records of its core. It is safe for concurrent use.
type Recorder struct {
	core zapcore.Core

	mu      sync.Mutex // guards records and changed; held only to copy
	records []logging.Record
	changed chan struct{} // closed and replaced on every new record
}

// New returns a Recorder that captures every level, Debug included.
func New(t testing.TB) *Recorder {
	t.Helper()
	r := &Recorder{changed: make(chan struct{})}
	r.core = logging.NewCaptureCore(zapcore.DebugLevel, r.add)
	return r
}

// Capture is the short form: a core to pass as logging.Options.Extra (or to
// zap.New) and a function returning a copy of what it captured so far.
func Capture(t testing.TB) (zapcore.Core, func() []logging.Record) {
	t.Helper()
	r := New(t)
	return r.Core(), r.Records
}

func (r *Recorder) add(rec logging.Record) {
	r.mu.Lock()
	r.records = append(r.records, rec)
	ch := r.changed
	r.changed = make(chan struct{})
	r.mu.Unlock()
	close(ch)
}

// Core returns the capturing core.
func (r *Recorder) Core() zapcore.Core { return r.core }

// Logger returns a logger that writes only to the recorder, with no instance
// id. Use logging.New(logging.Options{Extra: []zapcore.Core{r.Core()}, ...})
// to capture what a real instance logger adds.
func (r *Recorder) Logger() *zap.Logger { return zap.New(r.core) }

// Records returns a copy of the records captured so far, in logging order.
func (r *Recorder) Records() []logging.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logging.Record(nil), r.records...)
}

// Events returns the records whose logger and event match; an empty logger
// matches any logger.
func (r *Recorder) Events(logger, event string) []logging.Record {
	return Filter(r.Records(), Event(logger, event))
}

// WaitFor waits until a captured record satisfies match and returns the
// first that does, or fails the test after timeout.
func (r *Recorder) WaitFor(t testing.TB, timeout time.Duration, match func(logging.Record) bool) logging.Record {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		recs, changed := r.records, r.changed
		r.mu.Unlock()
		// recs is an immutable prefix: add only appends.
		for _, rec := range recs {
			if match(rec) {
				return rec
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("logtest: no matching log record within %v; captured:\n%s", timeout, Format(r.Records()))
			return logging.Record{}
		}
	}
}

// Event returns a matcher for a logger and event name; an empty logger
// matches any logger.
func Event(logger, event string) func(logging.Record) bool {
	return func(r logging.Record) bool {
		return r.Event == event && (logger == "" || r.Logger == logger)
	}
}

// Filter returns the records that match.
func Filter(records []logging.Record, match func(logging.Record) bool) []logging.Record {
	var out []logging.Record
	for _, r := range records {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// Format renders records one per line for failure messages.
func Format(records []logging.Record) string {
	var b strings.Builder
	for _, r := range records {
		fmt.Fprintf(&b, "[%s] [%s] %s %v\n", r.Level.CapitalString(), r.Logger, r.Event, r.Fields)
	}
	return b.String()
}

// AssertNoSecrets fails the test when any secret occurs in any record's
// event, logger name, field key or field value (nested objects and arrays
// included, non-string values by their fmt form). Empty secrets are ignored.
func AssertNoSecrets(t testing.TB, records []logging.Record, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, r := range records {
			if where := findSecret(r, s); where != "" {
				// Never repeat the secret, even where it sits in the header.
				m := mask(s)
				t.Errorf("logtest: secret %q found in %s of log record [%s] %s", m,
					strings.ReplaceAll(where, s, m), strings.ReplaceAll(r.Logger, s, m), strings.ReplaceAll(r.Event, s, m))
			}
		}
	}
}

// mask shows enough of a secret to identify it in a failure message.
func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return s[:2] + strings.Repeat("*", len(s)-4) + s[len(s)-2:]
}

func findSecret(r logging.Record, s string) string {
	switch {
	case strings.Contains(r.Event, s):
		return "the event"
	case strings.Contains(r.Logger, s):
		return "the logger name"
	}
	for k, v := range r.Fields {
		if strings.Contains(k, s) {
			return "field key " + k
		}
		if containsSecret(v, s) {
			return "field " + k
		}
	}
	return ""
}

func containsSecret(v any, s string) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return strings.Contains(x, s)
	case []byte:
		return strings.Contains(string(x), s)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, s) || containsSecret(e, s) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if containsSecret(e, s) {
				return true
			}
		}
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			if containsSecret(rv.Index(i).Interface(), s) {
				return true
			}
		}
		return false
	case reflect.Map:
		it := rv.MapRange()
		for it.Next() {
			if containsSecret(fmt.Sprint(it.Key().Interface()), s) || containsSecret(it.Value().Interface(), s) {
				return true
			}
		}
		return false
	}
	return strings.Contains(fmt.Sprint(v), s)
}
