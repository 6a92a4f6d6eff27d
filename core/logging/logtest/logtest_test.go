package logtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// fakeTB records failures instead of failing, so the assertions themselves
// can be tested.
type fakeTB struct {
	testing.TB
	errors []string
	fatal  bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.fatal = true
}

func TestCaptureThroughInstanceLogger(t *testing.T) {
	t.Parallel()
	core, get := Capture(t)
	l := logging.New(logging.Options{InstanceID: "A", Output: zapcore.AddSync(discard{}), Extra: []zapcore.Core{core}})
	l.Named("RedisBus").Info("bus_connected")
	recs := get()
	if len(recs) != 1 || recs[0].Event != "bus_connected" || recs[0].Logger != "RedisBus" || recs[0].InstanceID != "A" {
		t.Fatalf("records %+v", recs)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestAssertNoSecrets(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	type creds struct{ User, Pass string }
	tests := []struct {
		name string
		log  func(l *zap.Logger)
		leak bool
	}{
		{"clean", func(l *zap.Logger) { l.Info("login_ok", zap.String("user", "alice")) }, false},
		{"in message", func(l *zap.Logger) { l.Info("bad " + secret) }, true},
		{"in logger name", func(l *zap.Logger) { l.Named(secret).Info("x") }, true},
		{"in string field", func(l *zap.Logger) { l.Info("x", zap.String("password", secret)) }, true},
		{"in field key", func(l *zap.Logger) { l.Info("x", zap.Bool(secret, true)) }, true},
		{"in With field", func(l *zap.Logger) { l.With(zap.String("tok", "Bearer "+secret)).Info("x") }, true},
		{"in error", func(l *zap.Logger) { l.Info("x", zap.Error(fmt.Errorf("bad password %s", secret))) }, true},
		{"in string array", func(l *zap.Logger) { l.Info("x", zap.Strings("a", []string{"ok", secret})) }, true},
		{"in bytes", func(l *zap.Logger) { l.Info("x", zap.ByteString("b", []byte(secret))) }, true},
		{"in reflected struct", func(l *zap.Logger) { l.Info("x", zap.Any("c", creds{"a", secret})) }, true},
		{"in stringer", func(l *zap.Logger) { l.Info("x", zap.Stringer("s", stringer(secret))) }, true},
		{"in namespace", func(l *zap.Logger) { l.Info("x", zap.Namespace("n"), zap.String("p", secret)) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := New(t)
			tt.log(rec.Logger())
			f := &fakeTB{TB: t}
			AssertNoSecrets(f, rec.Records(), "", secret)
			if got := len(f.errors) > 0; got != tt.leak {
				t.Fatalf("leak reported = %v, want %v (%v)", got, tt.leak, f.errors)
			}
			for _, e := range f.errors {
				if strings.Contains(e, secret) {
					t.Fatalf("failure message repeats the secret: %s", e)
				}
			}
		})
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestWaitForAndEvents(t *testing.T) {
	t.Parallel()
	rec := New(t)
	l := rec.Logger()
	go func() {
		l.Named("Other").Info("bus_connected")
		l.Named("RedisBus").Info("bus_connected", zap.String("n", "2"))
	}()
	r := rec.WaitFor(t, 5*time.Second, Event("RedisBus", "bus_connected"))
	if r.String("n") != "2" {
		t.Fatalf("got %+v", r)
	}
	if n := len(rec.Events("", "bus_connected")); n != 2 {
		t.Fatalf("Events any logger = %d, want 2", n)
	}
	if n := len(rec.Events("RedisBus", "bus_connected")); n != 1 {
		t.Fatalf("Events RedisBus = %d, want 1", n)
	}
}

func TestWaitForTimesOut(t *testing.T) {
	t.Parallel()
	rec := New(t)
	rec.Logger().Info("something_else")
	f := &fakeTB{TB: t}
	rec.WaitFor(f, 20*time.Millisecond, Event("", "never"))
	if !f.fatal || !strings.Contains(f.errors[0], "something_else") {
		t.Fatalf("want a fatal listing the captured records, got %v", f.errors)
	}
}
