package logging

import (
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func captureLogger(level zapcore.LevelEnabler) (*zap.Logger, func() []Record) {
	var (
		mu   sync.Mutex
		recs []Record
	)
	core := NewCaptureCore(level, func(r Record) {
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	})
	return zap.New(core), func() []Record {
		mu.Lock()
		defer mu.Unlock()
		return append([]Record(nil), recs...)
	}
}

func TestCaptureFieldTypes(t *testing.T) {
	t.Parallel()
	l, get := captureLogger(zapcore.InfoLevel)
	l.With(zap.String("instanceId", "B"), zap.Namespace("ctx"), zap.String("inner", "x")).
		Named("A").Named("b").
		Info("ev", zap.Int("n", 3), zap.Duration("d", time.Second), zap.Error(errors.New("e1")),
			zap.Strings("list", []string{"p", "q"}), zap.Bool("ok", true))

	recs := get()
	if len(recs) != 1 {
		t.Fatalf("want 1 record, got %d", len(recs))
	}
	r := recs[0]
	if r.Logger != "A.b" || r.Event != "ev" || r.InstanceID != "B" {
		t.Fatalf("record header %+v", r)
	}
	// The namespace opened by With holds the later fields.
	ns, ok := r.Fields["ctx"].(map[string]any)
	if !ok {
		t.Fatalf("ctx namespace missing: %#v", r.Fields)
	}
	checks := map[string]any{"inner": "x", "n": int64(3), "d": time.Second, "error": "e1", "ok": true}
	for k, want := range checks {
		if ns[k] != want {
			t.Errorf("ctx.%s = %#v, want %#v", k, ns[k], want)
		}
	}
	list, ok := ns["list"].([]any)
	if !ok || len(list) != 2 || list[0] != "p" {
		t.Errorf("list = %#v", ns["list"])
	}
}

func TestCaptureLevelAndWithIsolation(t *testing.T) {
	t.Parallel()
	l, get := captureLogger(zapcore.WarnLevel)
	a := l.With(zap.String("k", "a"))
	b := l.With(zap.String("k", "b"))
	a.Info("dropped")
	a.Warn("one")
	b.Error("two")
	l.Warn("three")

	recs := get()
	if len(recs) != 3 {
		t.Fatalf("want 3 records, got %d: %+v", len(recs), recs)
	}
	if recs[0].String("k") != "a" || recs[1].String("k") != "b" {
		t.Fatalf("With contexts leaked: %+v", recs)
	}
	if _, ok := recs[2].Fields["k"]; ok {
		t.Fatalf("parent logger got a child's field: %+v", recs[2])
	}
	if recs[2].InstanceID != "" {
		t.Fatalf("InstanceID without the field: %q", recs[2].InstanceID)
	}
}

func TestCaptureConcurrent(t *testing.T) {
	t.Parallel()
	l, get := captureLogger(zapcore.DebugLevel)
	l = l.With(zap.String("instanceId", "A"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l.Info("e", zap.Int("g", g), zap.Int("i", i))
			}
		})
	}
	wg.Wait()
	recs := get()
	if len(recs) != 800 {
		t.Fatalf("want 800 records, got %d", len(recs))
	}
	for _, r := range recs {
		if r.InstanceID != "A" {
			t.Fatalf("record without instance: %+v", r)
		}
	}
}
