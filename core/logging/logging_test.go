package logging

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestProductionJSON(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	l := New(Options{InstanceID: "A", Production: true, Output: &buf})
	l.Named("RedisBus").Info("init_timeout", zap.Int64("timeoutMs", 5000))
	l.Named("RedisBus").Debug("hidden")
	l.Named("RedisBus").Warn("bus_disabled", zap.String("reason", "init_timeout"))

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("line is not one JSON object: %v: %s", err, lines[0])
	}
	want := map[string]any{"level": "info", "logger": "RedisBus", "msg": "init_timeout", "timeoutMs": 5000.0, "instanceId": "A"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("field %s = %v, want %v (line %s)", k, first[k], v, lines[0])
		}
	}
	ts, ok := first["ts"].(string)
	if !ok {
		t.Fatalf("ts missing or not a string: %v", first["ts"])
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z0700", ts); err != nil {
		t.Errorf("ts %q is not ISO 8601: %v", ts, err)
	}
	var second map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if second["level"] != "warn" || second["reason"] != "init_timeout" || second["instanceId"] != "A" {
		t.Errorf("second line: %s", lines[1])
	}
}

func TestZeroOptionsIsInfoConsole(t *testing.T) {
	t.Parallel()
	l := New(Options{})
	if l.Core().Enabled(zapcore.DebugLevel) || !l.Core().Enabled(zapcore.InfoLevel) {
		t.Fatal("zero Options must enable Info and not Debug")
	}
}

func TestExtraCoresGetInstanceIDAndOwnLevel(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		recs []Record
	)
	capture := NewCaptureCore(zapcore.DebugLevel, func(r Record) {
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	})
	var buf syncBuffer
	l := New(Options{InstanceID: "A", Output: &buf, OmitTime: true, Extra: []zapcore.Core{capture}})
	l.Named("RedisBusHandler").Debug("chat_message_delivered", zap.String("messageId", "7"))

	if buf.Len() != 0 {
		t.Fatalf("debug reached the Info output: %q", buf.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != 1 {
		t.Fatalf("want 1 captured record, got %d", len(recs))
	}
	r := recs[0]
	if r.InstanceID != "A" || r.Logger != "RedisBusHandler" || r.Event != "chat_message_delivered" ||
		r.Level != zapcore.DebugLevel || r.String("messageId") != "7" || r.Time.IsZero() {
		t.Fatalf("bad record %+v", r)
	}
}

func TestOrNop(t *testing.T) {
	t.Parallel()
	if OrNop(nil) == nil {
		t.Fatal("OrNop(nil) = nil")
	}
	l := zap.NewExample()
	if OrNop(l) != l {
		t.Fatal("OrNop changed a non-nil logger")
	}
}

// TestProductionLineAllocations: a line with a few fields, the kind logged
// per message, allocates once: the fields the caller passes, which escape
// through zap's Core interface. Adding the instance id costs nothing more
// (zap's entry and buffers are pooled, and so is the slice it goes in).
func TestProductionLineAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector empties pools at random")
	}
	log := New(Options{Production: true, InstanceID: "A", Output: zapcore.AddSync(io.Discard)})
	allocs := testing.AllocsPerRun(1000, func() {
		if ce := log.Check(zap.InfoLevel, "chat_message_delivered_local"); ce != nil {
			ce.Write(zap.String("messageId", "123"), zap.String("recipientId", "u2"), zap.Int("sockets", 1))
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per line, want 1", allocs)
	}
}
