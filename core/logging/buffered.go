package logging

import (
	"errors"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// DefaultFlushInterval is how long a line may wait in a BufferedOutput: short
// enough that a person tailing the log sees it live, long enough that a busy
// server writes hundreds of lines per system call.
const DefaultFlushInterval = 100 * time.Millisecond

// bufferSize bounds what a BufferedOutput holds; a full buffer is written at
// once, so a burst never waits for the interval.
const bufferSize = 256 << 10

// BufferedOutput batches the lines written to an output so that a busy
// server makes one write system call per batch instead of one per line (it
// logs a line per delivered message). It wraps zap's BufferedWriteSyncer and
// adds what a server needs of it:
//
//   - Flush writes the batch without syncing the output to disk; New's cores
//     call it after every entry at Warn or above, so a problem is never held
//     back (an output that has a Flush method is flushed that way).
//   - Stop writes what is left and ends the flush goroutine; lines logged
//     after it (by a goroutine that outlives the server) go straight to the
//     output instead of waiting in a buffer nobody flushes.
//
// Lines wait at most the flush interval. If the process dies without Stop
// (a panic outside zap, SIGKILL), the lines of that last interval are lost;
// that is the price of not writing each line on its own.
type BufferedOutput struct {
	direct zapcore.WriteSyncer // the output, safe for concurrent use
	buf    *zapcore.BufferedWriteSyncer

	mu      sync.RWMutex // writes hold it for reading, Stop for writing
	stopped bool
}

// NewBufferedOutput buffers out; interval 0 means DefaultFlushInterval. The
// caller must Stop it when the logger is done.
func NewBufferedOutput(out zapcore.WriteSyncer, interval time.Duration) *BufferedOutput {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	direct := zapcore.Lock(out)
	return &BufferedOutput{
		direct: direct,
		// The inner syncer's Sync is only a flush: zap's own flush loop and
		// every Warn line would otherwise fsync a log file each time.
		buf: &zapcore.BufferedWriteSyncer{WS: writeOnly{direct}, Size: bufferSize, FlushInterval: interval},
	}
}

// Write buffers one encoded line (zap writes a whole entry per call).
func (b *BufferedOutput) Write(p []byte) (int, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.stopped {
		return b.direct.Write(p)
	}
	return b.buf.Write(p)
}

// Flush writes the buffered lines to the output.
func (b *BufferedOutput) Flush() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.stopped {
		return nil
	}
	return b.buf.Sync()
}

// Sync writes the buffered lines and syncs the output, as zap's Logger.Sync
// expects.
func (b *BufferedOutput) Sync() error {
	return errors.Join(b.Flush(), b.direct.Sync())
}

// Stop writes the buffered lines and ends the flush goroutine. It is
// idempotent; later lines are written unbuffered.
func (b *BufferedOutput) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil
	}
	b.stopped = true
	return b.buf.Stop()
}

// writeOnly turns Sync into a no-op (see NewBufferedOutput).
type writeOnly struct{ zapcore.WriteSyncer }

func (writeOnly) Sync() error { return nil }

// flushingCore flushes its output after every entry at Warn or above.
type flushingCore struct {
	zapcore.Core
	flush func() error
}

func (c *flushingCore) With(fields []zapcore.Field) zapcore.Core {
	return &flushingCore{Core: c.Core.With(fields), flush: c.flush}
}

func (c *flushingCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *flushingCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	err := c.Core.Write(ent, fields)
	if ent.Level >= zapcore.WarnLevel {
		err = errors.Join(err, c.flush())
	}
	return err
}
