package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
)

// SQLite is the embedded Store: one database file in WAL mode with
// synchronous=FULL, so a commit survives a crash or power loss. The driver
// is chosen at build time (sqlite_driver.go; SQLiteDriver names it).
//
// All writes go through one goroutine that owns the only writing
// connection and group-commits them: it takes every queued SaveMessage,
// MarkDelivered and user update (up to Options.MaxBatch), runs them in one
// BEGIN IMMEDIATE transaction, commits, and then answers each caller. Reads
// use a separate pool of read-only connections and run alongside writes.
// Checkpoints (copying the WAL back into the database file) run on a third
// connection beside the writer, which only copies what was committed
// meanwhile (sqlite_checkpoint.go).
//
// Several processes may share one file: SQLite's file locks serialise their
// writers, and a busy database is waited for (busy_timeout, then retries
// until Options.WriteTimeout), never reported as "database is locked".
// All methods are safe for concurrent use.
type SQLite struct {
	path string
	log  *zap.Logger
	opts Options

	gate      gate
	closeOnce sync.Once
	closeErr  error

	w      *sql.DB // the writer: at most one connection, held by wconn
	r      *sql.DB // the read-only pool
	commit *committer
	ckpt   *walCheckpointer // nil until Open has started it
	// batches logs failed batches once per outage (writer goroutine only).
	batches batchLog

	// wconn and st belong to the writer goroutine (runBatch) once Open
	// returns; Close touches them only after the writer has stopped.
	wconn *sql.Conn
	st    sqliteStmts
	// multiDeliver: the multi-row UPDATEs (sqlite_write_deliver.go).
	multiDeliver deliverStmts
	// sinceCheckpoint counts the writes since the last background
	// checkpoint was asked for (afterBatch).
	sinceCheckpoint int
	// Scratch of tryBatch, reused from batch to batch.
	delivers []*writeReq
	args     []any
}

// sqliteStmts are the writer's prepared statements, bound to wconn.
type sqliteStmts struct {
	insert  *sql.Stmt // a new message, or nothing on a retry
	byKey   *sql.Stmt // a message by (sender_id, client_message_id)
	deliver *sql.Stmt // the conditional UPDATE of MarkDelivered
	byID    *sql.Stmt // a message by id
}

var _ Store = (*SQLite)(nil)

// busyTimeoutMS is how long SQLite itself waits for a lock held by another
// connection before returning SQLITE_BUSY (which is then retried).
const busyTimeoutMS = 5000

// Columns of a message row, in the order scanMessage reads them.
const messageCols = `id, sender_id, recipient_id, client_message_id, content, created_at, delivered_at`

// Columns of a user row, in the order scanUser reads them.
const userCols = `id, username, password_hash, role, banned, created_at`

// OpenSQLite opens (creating if needed) the database file at path, creating
// its directory if missing, and migrates the schema. path must not be empty
// or ":memory:" (use NewMemory) and must not contain '?'.
func OpenSQLite(ctx context.Context, path string, opts Options) (*SQLite, error) {
	s, err := openSQLite(ctx, path, opts, busyTimeoutMS)
	if err != nil {
		return nil, fmt.Errorf("store: failed to open sqlite database: %w", err)
	}
	return s, nil
}

// openSQLite is OpenSQLite with SQLite's busy timeout in milliseconds (tests
// shorten it).
func openSQLite(ctx context.Context, path string, opts Options, busyMS int) (_ *SQLite, err error) {
	opts = opts.withDefaults()
	switch {
	case path == "":
		return nil, errors.New(`empty path in "sqlite:PATH"`)
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("path %q is not a plain file path (for a volatile store use DB_URI=mem)", path)
	case strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("path %q contains '?'", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	s := &SQLite{path: path, log: opts.Logger, opts: opts}
	s.batches = batchLog{log: opts.Logger, backend: "sqlite"}
	defer func() {
		if err != nil {
			s.closeDBs()
		}
	}()

	// The writer: one connection, kept for the life of the store.
	if s.w, err = openSQLiteDB(path, writerPragmas(busyMS)); err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := retryBusy(ctx, func() error {
		var err error
		s.wconn, err = s.w.Conn(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("failed to connect: %w", err)
	}
	var mode string
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, fmt.Errorf("failed to read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("journal mode is %q, not WAL (is the file on a filesystem without shared memory?)", mode)
	}
	if err := retryBusy(ctx, func() error { return migrateSQLite(ctx, s.wconn, s.log) }); err != nil {
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}

	// The readers.
	if s.r, err = openSQLiteDB(path, readerPragmas(busyMS)); err != nil {
		return nil, err
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := retryBusy(ctx, func() error { return s.r.PingContext(ctx) }); err != nil {
		return nil, fmt.Errorf("failed to open a reader: %w", err)
	}

	if s.ckpt, err = startCheckpointer(path, busyMS, opts.checkpoint, s.log); err != nil {
		return nil, err
	}
	s.commit = newCommitterAfter(opts.MaxBatch, s.runBatch, s.afterBatch)
	s.log.Info("store_opened", zap.String("backend", "sqlite"), zap.String("driver", sqliteDriver),
		zap.String("path", path), zap.Int("readConns", n))
	return s, nil
}

// createPrivate creates path's directory (0700) and an empty database file
// (0600) when they are missing, so that the messages and password hashes in
// it are readable by this account only. SQLite gives the -wal and -shm
// files it creates later the mode of the database file. Existing
// directories and files are the operator's and keep their modes.
func createPrivate(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("failed to create directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("failed to create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to create database file: %w", err)
	}
	return nil
}

// prepare prepares the writer's statements on wconn.
func (s *SQLite) prepare(ctx context.Context) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.st.insert, `INSERT INTO messages (sender_id, recipient_id, conv, client_message_id, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (sender_id, client_message_id) DO NOTHING`},
		{&s.st.byKey, `SELECT ` + messageCols + ` FROM messages WHERE sender_id = ? AND client_message_id = ?`},
		{&s.st.deliver, `UPDATE messages SET delivered_at = ?
			WHERE id = ? AND recipient_id = ? AND delivered_at IS NULL
			RETURNING sender_id, client_message_id, content, created_at`},
		{&s.st.byID, `SELECT ` + messageCols + ` FROM messages WHERE id = ?`},
	} {
		st, err := s.wconn.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("failed to prepare statement: %w", err)
		}
		*p.st = st
	}
	return nil
}

// closeStmts closes the writer's statements.
func (s *SQLite) closeStmts() {
	for _, st := range []*sql.Stmt{s.st.insert, s.st.byKey, s.st.deliver, s.st.byID} {
		if st != nil {
			_ = st.Close()
		}
	}
	s.st = sqliteStmts{}
	s.multiDeliver.close()
}

// closeDBs releases the writer connection and both pools.
func (s *SQLite) closeDBs() error {
	s.closeStmts()
	var errs []error
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
		s.ckpt = nil
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
		s.wconn = nil
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	return errors.Join(errs...)
}

// Close commits the queued writes, stops the writer and closes the
// database. Later calls of other methods fail with ErrClosed; Close itself
// may be called again and returns the first call's result.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		s.gate.shut()
		s.commit.stop()
		if err := s.closeDBs(); err != nil {
			s.closeErr = fmt.Errorf("store: failed to close sqlite database: %w", err)
		}
		s.log.Info("store_closed", zap.String("backend", "sqlite"))
	})
	return s.closeErr
}

// sqliteCode returns the primary SQLite result code in err, or 0.
func sqliteCode(err error) int {
	c, _ := sqliteErrCode(err)
	return c & 0xff
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED: another
// connection holds a lock, and trying again later will do.
func isBusy(err error) bool {
	c := sqliteCode(err)
	return c == sqliteBusy || c == sqliteLocked
}

// isFatal reports whether err from a statement inside the batch
// transaction may have ended that transaction (busy, I/O, interrupt, a
// canceled context...), so the batch must be rolled back. Constraint and
// other statement-level errors undo only their statement, and errors that
// are not SQLite's (ErrNotFound, ErrUsernameTaken...) belong to one request.
func isFatal(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	c, ok := sqliteErrCode(err)
	if !ok {
		return false
	}
	switch c & 0xff {
	case sqliteConstraint, sqliteTooBig, sqliteMismatch, sqliteRange:
		return false
	}
	return true
}

// isConstraint reports whether err is the given extended constraint code
// (e.g. sqliteConstraintForeignKey) on a column list containing what.
func isConstraint(err error, code int, what string) bool {
	c, ok := sqliteErrCode(err)
	return ok && c == code && strings.Contains(err.Error(), what)
}

// retryBusy runs f until it returns something other than a busy error or
// ctx ends, waiting a little longer (with jitter) each time.
func retryBusy(ctx context.Context, f func() error) error {
	delay := 200 * time.Microsecond
	for {
		err := f()
		if err == nil || !isBusy(err) {
			return err
		}
		t := time.NewTimer(delay/2 + rand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("database stayed busy: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanMessage reads the messageCols of one row.
func scanMessage(row rowScanner) (chat.Message, error) {
	var (
		m         chat.Message
		id        int64
		created   int64
		delivered sql.NullInt64
	)
	if err := row.Scan(&id, &m.SenderID, &m.RecipientID, &m.ClientMessageID, &m.Content, &created, &delivered); err != nil {
		return chat.Message{}, err
	}
	m.ID = formatMessageID(id)
	m.CreatedAt = time.UnixMicro(created).UTC()
	if delivered.Valid {
		m.DeliveredAt = time.UnixMicro(delivered.Int64).UTC()
	}
	return m, nil
}

// scanUser reads the userCols of one row.
func scanUser(row rowScanner) (chat.User, error) {
	var (
		u       chat.User
		role    string
		created int64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &role, &u.Banned, &created); err != nil {
		return chat.User{}, err
	}
	u.Role = chat.Role(role)
	u.CreatedAt = time.UnixMicro(created).UTC()
	if u.PasswordHash == nil {
		u.PasswordHash = []byte{}
	}
	return u, nil
}
