package logging

import (
	"sync"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/internal/isotime"
)

// newISO8601Encoder returns a zapcore.TimeEncoder that writes what
// zapcore.ISO8601TimeEncoder writes (layout "2006-01-02T15:04:05.000Z0700",
// in t's zone) without the general layout formatter: the production logger
// writes a line per message on some paths (chat_message_delivered_local on
// one instance, the bus's two events on several), and the formatter was
// ~2,000 of a line's ~8,500 instructions in the encoder (callgrind,
// BenchmarkProductionLine). Times it does not cover (years outside 0–9999,
// a zone offset with seconds) go to zap's. The text is built in a pooled
// buffer: one on the stack would escape through the encoder's interface.
func newISO8601Encoder() zapcore.TimeEncoder {
	bufs := sync.Pool{New: func() any { return new([len("2006-01-02T15:04:05.000-0700")]byte) }}
	return func(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
		buf := bufs.Get().(*[len("2006-01-02T15:04:05.000-0700")]byte)
		if b, ok := appendISO8601(buf[:0], t); ok {
			enc.AppendByteString(b)
		} else {
			zapcore.ISO8601TimeEncoder(t, enc)
		}
		bufs.Put(buf)
	}
}

// appendISO8601 appends t as newISO8601Encoder writes it, or reports false.
func appendISO8601(b []byte, t time.Time) ([]byte, bool) {
	_, off := t.Zone()
	if off%60 != 0 {
		return b, false
	}
	// The wall clock in t's zone, looked up once rather than by each of
	// Date and Clock.
	b, ok := isotime.AppendMillis(b, t.UTC().Add(time.Duration(off)*time.Second))
	if !ok {
		return b, false
	}
	if off == 0 {
		return append(b, 'Z'), true
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	h, m := off/3600, off/60%60
	return append(b, sign, byte('0'+h/10), byte('0'+h%10), byte('0'+m/10), byte('0'+m%10)), true
}
