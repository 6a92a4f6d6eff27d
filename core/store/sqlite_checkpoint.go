package store

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// checkpointEveryWrites is how many committed writes start a background
// checkpoint.
//
// Why: a checkpoint copies the WAL's pages back into the database file and
// fsyncs it. Run by the writer itself (SQLite's wal_autocheckpoint, in the
// COMMIT that crosses the threshold), every caller of that batch and every
// write queued behind it waits for thousands of page copies: the largest
// share of the send→delivered p99 at 10,000 DMs/s (measured: p99 6.1 ms
// without checkpoints against 8.4–10.2 ms with them). A connection of its
// own copies them while the writer goes on committing; see walCheckpointer.
const checkpointEveryWrites = 2048

// tailCheckpointFrames is the WAL length from which the writer, after a
// background checkpoint, copies the few frames committed meanwhile itself.
//
// Why: SQLite rewinds the WAL to its start only when a write transaction
// begins with every frame copied, which a checkpoint running beside the
// writer never achieves on its own; without the writer's short turn the
// WAL would only be rewound by wal_autocheckpoint (the writer's full
// checkpoint at 10,000 frames), which is what this moves off the writer.
const tailCheckpointFrames = 4096

// checkpointLimits say when checkpoints run. Zero fields mean the
// constants above; tests set small ones through Options.checkpoint.
type checkpointLimits struct {
	everyWrites int // see checkpointEveryWrites
	tailFrames  int // see tailCheckpointFrames
}

// withDefaults fills the zero fields of l.
func (l checkpointLimits) withDefaults() checkpointLimits {
	if l.everyWrites <= 0 {
		l.everyWrites = checkpointEveryWrites
	}
	if l.tailFrames <= 0 {
		l.tailFrames = tailCheckpointFrames
	}
	return l
}

// walCheckpointer runs PASSIVE checkpoints on a connection of its own, one
// each time the writer kicks it.
type walCheckpointer struct {
	db     *sql.DB // one connection, not the writer's or a reader's
	log    *zap.Logger
	limits checkpointLimits
	kick   chan struct{} // capacity 1: a kick while one runs means one more
	// ctx ends when close begins, interrupting a checkpoint under way (it
	// keeps what it copied), so closing the store never waits for one.
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
	// tailDue: the last background checkpoint left a WAL long enough for
	// the writer to finish it (see tailCheckpointFrames).
	tailDue atomic.Bool
	// onDone, if set (tests), gets each background checkpoint's WAL length
	// and frames copied.
	onDone atomic.Pointer[func(walFrames, copied int)]
}

// startCheckpointer opens the checkpointer's connection to path and starts
// its goroutine.
func startCheckpointer(path string, busyMS int, limits checkpointLimits, log *zap.Logger) (*walCheckpointer, error) {
	db, err := openSQLiteDB(path, checkpointerPragmas(busyMS))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx, stop := context.WithCancel(context.Background())
	c := &walCheckpointer{db: db, log: log, limits: limits.withDefaults(), kick: make(chan struct{}, 1),
		ctx: ctx, stop: stop, done: make(chan struct{})}
	go c.loop()
	return c, nil
}

// request asks for a checkpoint without waiting for it.
func (c *walCheckpointer) request() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// loop runs one checkpoint per kick until close.
func (c *walCheckpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
			c.run()
		}
	}
}

// run is one PASSIVE checkpoint: it copies what no reader still needs and
// never waits for the writer or the readers.
func (c *walCheckpointer) run() {
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	walFrames, copied, err := checkpoint(ctx, c.db)
	if c.ctx.Err() != nil {
		return // interrupted by close
	}
	if err != nil {
		c.log.Warn("store_checkpoint_failed", zap.String("backend", "sqlite"), zap.Error(err))
		return
	}
	if walFrames >= c.limits.tailFrames {
		c.tailDue.Store(true)
	}
	if f := c.onDone.Load(); f != nil {
		(*f)(walFrames, copied)
	}
}

// close stops the goroutine, interrupting the checkpoint it may be
// running, and closes the connection.
func (c *walCheckpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}

// checkpointQuerier is what checkpoint runs on: a pool or the writer's
// connection.
type checkpointQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkpoint runs a PASSIVE checkpoint on q and returns the WAL's length
// and how many of its frames are now in the database file.
func checkpoint(ctx context.Context, q checkpointQuerier) (walFrames, copied int, err error) {
	var busy int
	err = q.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walFrames, &copied)
	return walFrames, copied, err
}

// afterBatch is the committer's hook on the writer goroutine, after each
// batch's callers have been answered: it counts the writes toward the next
// background checkpoint and, when one has left its tail to the writer,
// copies that tail so the next transaction can rewind the WAL.
func (s *SQLite) afterBatch(n int) {
	if s.ckpt == nil {
		return
	}
	if s.sinceCheckpoint += n; s.sinceCheckpoint >= s.ckpt.limits.everyWrites {
		s.sinceCheckpoint = 0
		s.ckpt.request()
	}
	if s.wconn == nil || !s.ckpt.tailDue.CompareAndSwap(true, false) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	if _, _, err := checkpoint(ctx, s.wconn); err != nil {
		s.log.Warn("store_checkpoint_failed", zap.String("backend", "sqlite"), zap.Bool("writer", true), zap.Error(err))
	}
}
