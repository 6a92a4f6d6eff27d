// Package logging builds the server's structured zap loggers and owns their
// two line formats.
//
// In production every line is one JSON object with zap's production keys
// (level, ts, logger, msg) plus "instanceId" and the event's fields. In
// development every line is the console form
//
//	12:04:05.123 [INFO] [RedisBus] chat_message_published {"messageId":"1","recipientId":"u2","originInstanceId":"A","instanceId":"A"}
//
// (an optional local wall-clock time, the upper-case level and the logger name
// in brackets, the message, which is always an event name, and the fields as
// one JSON object). Components name their logger (log.Named("RedisBus")) and
// log events, never free text, and never message content, passwords or
// tokens.
//
// Extra cores are tee'd in beside the output; NewCaptureCore turns every entry
// into a structured Record, which is how the sandbox and the tests read logs
// (see the logtest sub-package).
//
// A failing dependency or a misbehaving client must not grow the log at the
// rate it fails or misbehaves. Three helpers bound such events: Repeats,
// one client's repeated events (the first, then a count); Outage, one
// dependency's failures (once when it starts, once when it ends); Bounded,
// events each of which may carry a new cause (a burst, then a steady rate,
// with the number dropped).
//
// The package holds no package-level state: every logger is independent, so
// several instances can log side by side in one process.
package logging

import (
	"os"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// InstanceIDKey is the field that New adds to every line.
const InstanceIDKey = "instanceId"

// Options configure New. The zero value means a development console logger
// at Info level writing to os.Stderr with no instance id.
type Options struct {
	// InstanceID, when set, is added as the field "instanceId" to every line
	// (after the event's own fields; an event that sets "instanceId" itself
	// keeps its own value).
	InstanceID string
	// Production selects one JSON object per line; otherwise the development
	// console form.
	Production bool
	// Level is the lowest level written to Output. The zero value is Info.
	// It does not filter Extra cores, which have their own levels.
	Level zapcore.Level
	// Output receives the lines. Default os.Stderr. An output that batches
	// lines (a BufferedOutput, or anything with a Flush() error method) is
	// flushed after every entry at Warn or above.
	Output zapcore.WriteSyncer
	// Extra cores are tee'd beside Output; each sees every entry its own
	// level enables, with the same fields (instanceId included).
	Extra []zapcore.Core
	// OmitTime drops the leading wall-clock time from development console
	// lines (useful for golden output). Production lines always carry "ts".
	OmitTime bool
}

// New returns a logger for o. It is safe for concurrent use, like every zap
// logger; Sync flushes Output.
func New(o Options) *zap.Logger {
	out := o.Output
	if out == nil {
		out = zapcore.Lock(os.Stderr)
	}
	var enc zapcore.Encoder
	if o.Production {
		enc = NewProductionEncoder()
	} else {
		enc = NewConsoleEncoder(ConsoleOptions{OmitTime: o.OmitTime})
	}
	var out0 zapcore.Core = zapcore.NewCore(enc, out, o.Level)
	if f, ok := out.(interface{ Flush() error }); ok {
		out0 = &flushingCore{Core: out0, flush: f.Flush}
	}
	cores := make([]zapcore.Core, 0, 1+len(o.Extra))
	if o.InstanceID == "" {
		cores = append(cores, out0)
		cores = append(cores, o.Extra...)
		return zap.New(zapcore.NewTee(cores...))
	}
	// The output core gets instanceId last on each line; extra cores get it
	// through With, which keeps their own Check (levels, sampling) intact.
	// Neither wraps the tee: a tee's Write reaches all of its cores whatever
	// their levels.
	field := zap.String(InstanceIDKey, o.InstanceID)
	cores = append(cores, &trailingFieldCore{Core: out0, field: field, bufs: newFieldBufs()})
	for _, c := range o.Extra {
		cores = append(cores, c.With([]zapcore.Field{field}))
	}
	return zap.New(zapcore.NewTee(cores...))
}

// NewProductionEncoder returns the JSON encoder of production lines: zap's
// production keys (level, ts, logger, msg; caller and stacktrace when the
// logger adds them), with ts in ISO 8601 so a person can read it.
func NewProductionEncoder() zapcore.Encoder {
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = newISO8601Encoder() // zapcore.ISO8601TimeEncoder's output, faster
	return zapcore.NewJSONEncoder(cfg)
}

// OrNop returns l, or a no-op logger when l is nil: the "nil means
// zap.NewNop()" rule of every options struct in this module.
func OrNop(l *zap.Logger) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	return l
}

// trailingFieldCore appends one field to every entry, after the entry's own
// fields, unless the context (With) or the entry already has that key. This
// puts "instanceId" last on every line, as the wire docs show it. Its Check
// uses only the inner core's level, so it wraps only cores built here.
type trailingFieldCore struct {
	zapcore.Core
	field zapcore.Field
	bufs  *sync.Pool // of *[]zapcore.Field, for Write
}

func (c *trailingFieldCore) With(fields []zapcore.Field) zapcore.Core {
	inner := c.Core.With(fields)
	if hasKey(fields, c.field.Key) {
		return inner // the context already carries the key
	}
	return &trailingFieldCore{Core: inner, field: c.field, bufs: c.bufs}
}

func (c *trailingFieldCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *trailingFieldCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if hasKey(fields, c.field.Key) {
		return c.Core.Write(ent, fields)
	}
	// The fields with ours go in a pooled slice, never the caller's backing
	// array: a line logged per message then costs no allocation here. The
	// inner core (one of zapcore.NewCore's, built by New) has encoded them
	// once Write returns, and keeps none.
	bp := c.bufs.Get().(*[]zapcore.Field)
	all := append(append((*bp)[:0], fields...), c.field)
	err := c.Core.Write(ent, all)
	clear(all)
	if cap(all) <= maxPooledFields {
		*bp = all[:0]
		c.bufs.Put(bp)
	}
	return err
}

// newFieldBufs is the pool of a trailingFieldCore and the cores its With
// makes; a slice of more than maxPooledFields (a rare line with many
// fields) is left to the GC.
func newFieldBufs() *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]zapcore.Field, 0, 8); return &b }}
}

const maxPooledFields = 32

func hasKey(fields []zapcore.Field, key string) bool {
	for _, f := range fields {
		if f.Key == key {
			return true
		}
	}
	return false
}
