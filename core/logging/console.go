package logging

import (
	"bytes"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// ConsoleOptions configure NewConsoleEncoder. The zero value shows the time.
type ConsoleOptions struct {
	// OmitTime drops the leading "15:04:05.000 " local time.
	OmitTime bool
}

// consoleTimeLayout is short on purpose: a developer's terminal needs the
// time of day to the millisecond, not the date and zone.
const consoleTimeLayout = "15:04:05.000"

// NewConsoleEncoder returns the encoder of development lines:
//
//	15:04:05.000 [INFO] [RedisBus] chat_message_published {"messageId":"1","instanceId":"A"}
//
// The time is omitted when o.OmitTime is set, the logger bracket when the
// logger has no name, and the JSON object when there are no fields. Fields
// (from With and from the entry) are encoded by zap's JSON encoder, so every
// field type zap knows renders as valid JSON. A stack trace, when present,
// follows on the next lines.
func NewConsoleEncoder(o ConsoleOptions) zapcore.Encoder {
	cfg := zapcore.EncoderConfig{
		// Every entry key left empty: the JSON encoder writes only fields.
		LineEnding:     "\n",
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
	}
	return &consoleEncoder{
		Encoder:  zapcore.NewJSONEncoder(cfg),
		pool:     buffer.NewPool(),
		omitTime: o.OmitTime,
	}
}

// consoleEncoder wraps a JSON encoder: the embedded encoder accumulates the
// With fields (through the promoted Add* methods) and encodes the fields of
// each entry; EncodeEntry puts the bracketed prefix in front.
type consoleEncoder struct {
	zapcore.Encoder
	pool     buffer.Pool // shared by clones; a pool is safe for concurrent use
	omitTime bool
}

func (e *consoleEncoder) Clone() zapcore.Encoder {
	return &consoleEncoder{Encoder: e.Encoder.Clone(), pool: e.pool, omitTime: e.omitTime}
}

func (e *consoleEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	// The JSON encoder is configured with no entry keys; hand it an entry
	// that carries nothing it could print anyway.
	obj, err := e.Encoder.EncodeEntry(zapcore.Entry{}, fields)
	if err != nil {
		return nil, err
	}
	defer obj.Free()

	line := e.pool.Get()
	if !e.omitTime && !ent.Time.IsZero() {
		line.AppendTime(ent.Time, consoleTimeLayout)
		line.AppendByte(' ')
	}
	line.AppendByte('[')
	line.AppendString(ent.Level.CapitalString())
	line.AppendByte(']')
	if ent.LoggerName != "" {
		line.AppendString(" [")
		line.AppendString(ent.LoggerName)
		line.AppendByte(']')
	}
	line.AppendByte(' ')
	line.AppendString(ent.Message)

	fieldsJSON := bytes.TrimRight(obj.Bytes(), "\n")
	if !bytes.Equal(fieldsJSON, []byte("{}")) {
		line.AppendByte(' ')
		_, _ = line.Write(fieldsJSON)
	}
	if ent.Stack != "" {
		line.AppendByte('\n')
		line.AppendString(ent.Stack)
	}
	line.AppendByte('\n')
	return line, nil
}
