package bus

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// GoRedisLogger adapts a zap logger for redis.SetLogger, so the few lines
// go-redis prints by itself (a failed dial while Redis is down, say) come
// out as structured "go_redis" warnings under the logger name "go-redis"
// instead of plain text on stderr, which would break one-JSON-object-per-line
// logs. redis.SetLogger is process-wide, so the bus does not call it: the
// program's main does, once. Safe for concurrent use.
type GoRedisLogger struct {
	log *zap.Logger
}

// NewGoRedisLogger returns a GoRedisLogger on l (nil means zap.NewNop()).
func NewGoRedisLogger(l *zap.Logger) GoRedisLogger {
	if l == nil {
		l = zap.NewNop()
	}
	return GoRedisLogger{log: l.Named("go-redis")}
}

// Printf logs one go-redis line as a "go_redis" warning with field
// "detail". go-redis formats errors and addresses there, never payloads.
func (g GoRedisLogger) Printf(_ context.Context, format string, v ...any) {
	if g.log == nil {
		return
	}
	g.log.Warn("go_redis", zap.String("detail", fmt.Sprintf(format, v...)))
}
