package logging

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// syncBuffer is a WriteSyncer over a bytes.Buffer for tests that log from
// one goroutine.
type syncBuffer struct{ bytes.Buffer }

func (*syncBuffer) Sync() error { return nil }

func TestConsoleLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  func(l *zap.Logger)
		want string
	}{
		{
			name: "spec example",
			log: func(l *zap.Logger) {
				l.Named("RedisBus").Info("chat_message_published",
					zap.String("messageId", "1"), zap.String("recipientId", "u2"), zap.String("originInstanceId", "A"))
			},
			want: `[INFO] [RedisBus] chat_message_published {"messageId":"1","recipientId":"u2","originInstanceId":"A","instanceId":"A"}`,
		},
		{
			name: "no fields but instance id",
			log:  func(l *zap.Logger) { l.Named("RedisBus").Warn("bus_lost") },
			want: `[WARN] [RedisBus] bus_lost {"instanceId":"A"}`,
		},
		{
			name: "no logger name",
			log:  func(l *zap.Logger) { l.Error("boom", zap.Error(errors.New("disk full"))) },
			want: `[ERROR] boom {"error":"disk full","instanceId":"A"}`,
		},
		{
			name: "nested names and With fields come first",
			log: func(l *zap.Logger) {
				l.Named("Server").Named("http").With(zap.String("remote", "127.0.0.1")).Info("request", zap.Int("status", 200))
			},
			want: `[INFO] [Server.http] request {"remote":"127.0.0.1","status":200,"instanceId":"A"}`,
		},
		{
			name: "event's own instanceId is not repeated",
			log: func(l *zap.Logger) {
				l.Named("Server").Info("listening", zap.String("addr", ":8000"), zap.String("instanceId", "A"))
			},
			want: `[INFO] [Server] listening {"addr":":8000","instanceId":"A"}`,
		},
		{
			name: "instanceId from With is not repeated",
			log: func(l *zap.Logger) {
				l.With(zap.String("instanceId", "B")).Info("x")
			},
			want: `[INFO] x {"instanceId":"B"}`,
		},
		{
			name: "durations read as text and strings are escaped",
			log: func(l *zap.Logger) {
				l.Info("e", zap.Duration("took", 1500*time.Millisecond), zap.String("q", "a\"b\n"))
			},
			want: `[INFO] e {"took":"1.5s","q":"a\"b\n","instanceId":"A"}`,
		},
		{
			name: "below level is dropped",
			log:  func(l *zap.Logger) { l.Debug("hidden") },
			want: ``,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			l := New(Options{InstanceID: "A", Output: &buf, OmitTime: true})
			tt.log(l)
			got := strings.TrimSuffix(buf.String(), "\n")
			if got != tt.want {
				t.Fatalf("line\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestConsoleNoInstanceNoFields(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	New(Options{Output: &buf, OmitTime: true}).Named("RedisBus").Info("stopped")
	if got, want := buf.String(), "[INFO] [RedisBus] stopped\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestConsoleTimePrefix(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	New(Options{Output: &buf}).Named("Server").Info("listening", zap.String("addr", ":1"))
	re := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} \[INFO\] \[Server\] listening \{"addr":":1"\}\n$`)
	if !re.MatchString(buf.String()) {
		t.Fatalf("line %q does not match %v", buf.String(), re)
	}
}

func TestConsoleStack(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	l := zap.New(zapcore.NewCore(NewConsoleEncoder(ConsoleOptions{OmitTime: true}), &buf, zapcore.InfoLevel),
		zap.AddStacktrace(zapcore.ErrorLevel))
	l.Error("bad")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if lines[0] != "[ERROR] bad" || len(lines) < 2 || !strings.Contains(buf.String(), "TestConsoleStack") {
		t.Fatalf("want first line [ERROR] bad then a stack trace, got:\n%s", buf.String())
	}
}

func TestConsoleLevelsAndDebug(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	l := New(Options{Output: &buf, OmitTime: true, Level: zapcore.DebugLevel})
	l.Debug("d")
	l.Info("i")
	l.Warn("w")
	l.Error("e")
	want := "[DEBUG] d\n[INFO] i\n[WARN] w\n[ERROR] e\n"
	if buf.String() != want {
		t.Fatalf("got %q want %q", buf.String(), want)
	}
}
