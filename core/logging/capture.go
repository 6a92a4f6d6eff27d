package logging

import (
	"time"

	"go.uber.org/zap/zapcore"
)

// Record is one captured log line, structured.
type Record struct {
	Time   time.Time
	Level  zapcore.Level
	Logger string // the full logger name, e.g. "RedisBus" or "Server.http"
	Event  string // the message, which is always an event name
	// InstanceID is Fields["instanceId"] when that is a string, else "".
	InstanceID string
	// Fields holds every field, those added by With included, decoded by
	// zapcore.MapObjectEncoder: strings stay strings, integers are int64,
	// durations time.Duration, errors their message, objects
	// map[string]any and arrays []any.
	Fields map[string]any
}

// String returns the field key as a string, or "" when absent or not a
// string.
func (r Record) String(key string) string {
	s, _ := r.Fields[key].(string)
	return s
}

// NewCaptureCore returns a core that calls fn for every entry that level
// enables, with all fields, the ones added by With included (e.g.
// instanceId), decoded into Record.Fields. fn is called synchronously on the
// logging goroutine, possibly from many goroutines at once: it must be cheap
// and safe for concurrent use.
func NewCaptureCore(level zapcore.LevelEnabler, fn func(Record)) zapcore.Core {
	return &captureCore{LevelEnabler: level, fn: fn}
}

// captureCore keeps its context as the list of fields given to With and
// replays them into a fresh map encoder for each entry, so namespaces opened
// by With behave as in any other encoder. It is immutable once built.
type captureCore struct {
	zapcore.LevelEnabler
	context []zapcore.Field
	fn      func(Record)
}

func (c *captureCore) With(fields []zapcore.Field) zapcore.Core {
	ctx := make([]zapcore.Field, 0, len(c.context)+len(fields))
	ctx = append(ctx, c.context...)
	ctx = append(ctx, fields...)
	return &captureCore{LevelEnabler: c.LevelEnabler, context: ctx, fn: c.fn}
}

func (c *captureCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *captureCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.context {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	r := Record{
		Time:   ent.Time,
		Level:  ent.Level,
		Logger: ent.LoggerName,
		Event:  ent.Message,
		Fields: enc.Fields,
	}
	r.InstanceID, _ = enc.Fields[InstanceIDKey].(string)
	c.fn(r)
	return nil
}

func (c *captureCore) Sync() error { return nil }
