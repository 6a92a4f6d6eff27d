package bus

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// go-redis accepts it (the interface is internal, so check by assignment).
var _ = func() { redis.SetLogger(GoRedisLogger{}) }

func TestGoRedisLogger(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	NewGoRedisLogger(zap.New(core)).Printf(context.Background(), "redis: failed to dial %s: %v", "127.0.0.1:1", "refused")
	GoRedisLogger{}.Printf(context.Background(), "zero value: %d", 1) // no panic
	NewGoRedisLogger(nil).Printf(context.Background(), "nil logger")

	all := logs.AllUntimed()
	if len(all) != 1 {
		t.Fatalf("%d entries, want 1", len(all))
	}
	e := all[0]
	if e.LoggerName != "go-redis" || e.Message != "go_redis" || e.Level != zapcore.WarnLevel ||
		e.ContextMap()["detail"] != "redis: failed to dial 127.0.0.1:1: refused" {
		t.Errorf("entry = %s %s %v %v", e.LoggerName, e.Message, e.Level, e.ContextMap())
	}
}
