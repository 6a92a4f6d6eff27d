package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
)

// Postgres is the Store for several server instances on many hosts, on
// PostgreSQL through a pgx connection pool.
//
// SaveMessage and MarkDelivered are group-committed like SQLite's: one
// goroutine takes every queued call (up to Options.MaxBatch), sends them as
// one pgx.Batch inside one transaction, commits, and answers each caller.
// If one statement fails (an unknown user, say), the transaction is rolled
// back and retried without it, so one bad request never fails the others.
// Other writes and all reads use the pool directly.
// All methods are safe for concurrent use.
type Postgres struct {
	log  *zap.Logger
	opts Options

	gate      gate
	closeOnce sync.Once

	pool   *pgxpool.Pool
	commit *committer

	// pending and batches belong to the writer goroutine (runBatch).
	pending []*writeReq
	batches batchLog
}

var _ Store = (*Postgres)(nil)

// Message columns for PostgreSQL, in the order scanPgMessage reads them.
const pgMessageCols = `id, sender_id, recipient_id, client_message_id, content, created_at, delivered_at`

// pgSaveSQL inserts a message unless (sender, client id) exists, and
// returns the new or the existing row with a created flag. The existing
// row is found only if it was visible when the statement began; when a
// concurrent transaction of another process inserted it, the statement
// returns nothing and the row is read again after the commit.
const pgSaveSQL = `WITH ins AS (
	INSERT INTO messages (sender_id, recipient_id, conv, client_message_id, content, created_at)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (sender_id, client_message_id) DO NOTHING
	RETURNING ` + pgMessageCols + `)
SELECT ` + pgMessageCols + `, true FROM ins
UNION ALL
SELECT ` + pgMessageCols + `, false FROM messages
WHERE sender_id = $1 AND client_message_id = $4 AND NOT EXISTS (SELECT 1 FROM ins)`

// pgDeliverSQL is MarkDelivered's conditional UPDATE; it returns the row
// with a changed flag, or nothing for an unknown id.
const pgDeliverSQL = `WITH upd AS (
	UPDATE messages SET delivered_at = $1
	WHERE id = $2 AND recipient_id = $3 AND delivered_at IS NULL
	RETURNING ` + pgMessageCols + `)
SELECT ` + pgMessageCols + `, true FROM upd
UNION ALL
SELECT ` + pgMessageCols + `, false FROM messages WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM upd)`

// pgIdleInTxTimeout bounds how long PostgreSQL keeps a transaction of
// this store open while waiting for the client's next statement; batches
// take milliseconds between their statements and COMMIT.
const (
	pgIdleInTxParam   = "idle_in_transaction_session_timeout"
	pgIdleInTxTimeout = 5 * time.Second
)

// OpenPostgres connects to the PostgreSQL database at url
// ("postgres://user:pass@host:port/db?sslmode=...") and migrates its
// schema. Options.ReadConns, if set, is the pool size.
func OpenPostgres(ctx context.Context, url string, opts Options) (*Postgres, error) {
	p, err := openPostgres(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("store: failed to open postgres database: %w", err)
	}
	return p, nil
}

func openPostgres(ctx context.Context, url string, opts Options) (*Postgres, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx errors may quote the URL, password included.
		return nil, errors.New("invalid postgres URL")
	}
	if opts.ReadConns > 0 {
		cfg.MaxConns = int32(opts.ReadConns)
	}
	// A write transaction holds the order lock that every instance's
	// inserts wait for. If this instance is cut off from the database in
	// the middle of one, the server would wait for its COMMIT for as long
	// as TCP takes to notice (hours): the whole cluster could store
	// nothing. The server ends such a transaction itself instead (rolled
	// back, so its senders retry; retries are idempotent). A URL that sets
	// the parameter wins.
	if _, set := cfg.ConnConfig.RuntimeParams[pgIdleInTxParam]; !set {
		cfg.ConnConfig.RuntimeParams[pgIdleInTxParam] = strconv.FormatInt(pgIdleInTxTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := migratePostgres(ctx, pool, opts.Logger); err != nil {
		pool.Close()
		return nil, err
	}
	p := &Postgres{log: opts.Logger, opts: opts, pool: pool, batches: batchLog{log: opts.Logger, backend: "postgres"}}
	p.commit = newCommitter(opts.MaxBatch, p.runBatch)
	p.log.Info("store_opened", zap.String("backend", "postgres"), zap.String("host", cfg.ConnConfig.Host),
		zap.String("database", cfg.ConnConfig.Database), zap.Int32("maxConns", cfg.MaxConns))
	return p, nil
}

// Close commits the queued writes, stops the writer and closes the pool.
// Later calls of other methods fail with ErrClosed; Close is idempotent.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		p.gate.shut()
		p.commit.stop()
		p.pool.Close()
		p.log.Info("store_closed", zap.String("backend", "postgres"))
	})
	return nil
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// isRequestError reports whether err is about one statement's data (class
// 22, data exception, or 23, integrity violation) rather than about the
// connection or the transaction.
func isRequestError(err error) bool {
	code, _ := pgCode(err)
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23")
}

// isTransient reports whether a failed batch may succeed if sent again:
// a serialization failure or deadlock (class 40), or a connection lost
// before anything was sent.
func isTransient(err error) bool {
	code, _ := pgCode(err)
	return strings.HasPrefix(code, "40") || pgconn.SafeToRetry(err)
}

// scanPgMessage reads pgMessageCols, plus the flag when flag is not nil.
func scanPgMessage(row pgx.Row, flag *bool) (chat.Message, error) {
	var (
		m         chat.Message
		id        int64
		cmid, txt []byte
		created   time.Time
		delivered *time.Time
	)
	dest := []any{&id, &m.SenderID, &m.RecipientID, &cmid, &txt, &created, &delivered}
	if flag != nil {
		dest = append(dest, flag)
	}
	if err := row.Scan(dest...); err != nil {
		return chat.Message{}, err
	}
	m.ID = formatMessageID(id)
	m.ClientMessageID, m.Content = string(cmid), string(txt)
	m.CreatedAt = created.UTC()
	if delivered != nil {
		m.DeliveredAt = delivered.UTC()
	}
	return m, nil
}

// SaveMessage implements Store. It returns once the batch holding the write
// is committed; ErrNotFound if the sender or recipient is not a user.
func (p *Postgres) SaveMessage(ctx context.Context, m NewMessage) (chat.Message, bool, error) {
	return saveMessage(ctx, &p.gate, p.commit, m)
}

// MarkDelivered implements Store with one conditional UPDATE, committed in
// the writer's next batch.
func (p *Postgres) MarkDelivered(ctx context.Context, messageID, recipientID string) (chat.Message, bool, error) {
	return markDelivered(ctx, &p.gate, p.commit, messageID, recipientID)
}

// runBatch is the committer's batchFunc. It commits the batch in one
// transaction; a request whose statement fails is taken out with its error
// and the rest is tried again.
func (p *Postgres) runBatch(batch []*writeReq) {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
	defer cancel()
	pending := append(p.pending[:0], batch...)
	defer func() { clear(pending); p.pending = pending[:0] }()
	var recheck []*writeReq
	for transient := 0; len(pending) > 0; {
		failed, err := p.tryBatch(ctx, pending)
		if err == nil {
			p.batches.committed()
			recheck = pending
			break
		}
		if failed >= 0 && isRequestError(err) {
			pending[failed].err = p.requestError(pending[failed], err)
			pending = slices.Delete(pending, failed, failed+1)
			continue
		}
		if isTransient(err) && ctx.Err() == nil && transient < maxFatalAttempts {
			transient++
			p.batches.retry(len(pending), err)
			continue
		}
		p.batches.fail(len(pending), err)
		for _, r := range pending {
			r.out, r.changed = chat.Message{}, false
			r.err = fmt.Errorf("store: failed to commit: %w", err)
		}
		break
	}
	// Rows another process was writing while our statements ran: read them
	// now that it has committed.
	for _, r := range recheck {
		if r.err == nil && !r.changed && (r.out.ID == "" || r.op == opDeliver && !r.out.Delivered() && r.out.RecipientID == r.recipientID) {
			p.recheck(ctx, r)
		}
	}
}

// requestError turns one request's statement error into its result.
func (p *Postgres) requestError(r *writeReq, err error) error {
	code, _ := pgCode(err)
	switch {
	case r.op == opSave && code == "23503": // foreign_key_violation
		return errUnknownUser
	case r.op == opSave:
		return fmt.Errorf("store: failed to save message: %w", err)
	}
	return fmt.Errorf("store: failed to mark message delivered: %w", err)
}

// tryBatch runs pending in one transaction and commits it. On a statement
// error it rolls back and returns the index of the failing request.
func (p *Postgres) tryBatch(ctx context.Context, pending []*writeReq) (failed int, err error) {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return -1, err
	}
	defer conn.Release()
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(pending)+2)}
	b.BeginTx(pgx.TxOptions{})
	// Every write transaction takes the order lock: commits then follow id
	// order, and two instances' batches never deadlock on each other's rows.
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, pgOrderLock)
	ts := now()
	for _, r := range pending {
		r.out, r.changed, r.err = chat.Message{}, false, nil
		switch r.op {
		case opSave:
			m := &r.msg
			b.Queue(pgSaveSQL, m.SenderID, m.RecipientID, convKey(m.SenderID, m.RecipientID),
				[]byte(m.ClientMessageID), []byte(m.Content), ts)
		case opDeliver:
			b.Queue(pgDeliverSQL, ts, r.id, r.recipientID)
		}
	}
	br := conn.SendBatch(ctx, b)
	tx := br.Tx()
	defer func() {
		if err != nil {
			_ = br.Close()
			_ = tx.Rollback(context.Background())
		}
	}()
	for range 2 { // BEGIN and the lock
		if _, err := br.Exec(); err != nil {
			return -1, err
		}
	}
	for i, r := range pending {
		var flag bool
		m, err := scanPgMessage(br.QueryRow(), &flag)
		switch {
		case errors.Is(err, pgx.ErrNoRows) && r.op == opSave:
			// Inserted by a transaction we could not see: read it later.
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return i, err
		case r.op == opDeliver:
			r.out, r.changed, r.err = deliverOutcome(m, err == nil, flag, r.recipientID)
		default:
			r.out, r.changed = m, flag
		}
	}
	if err := br.Close(); err != nil {
		return -1, err
	}
	if err := tx.Commit(ctx); err != nil {
		return -1, err
	}
	return -1, nil
}

// recheck reads the current row for a request whose statement could not
// see it (see pgSaveSQL) or saw it before a concurrent delivery.
func (p *Postgres) recheck(ctx context.Context, r *writeReq) {
	var row pgx.Row
	if r.op == opSave {
		row = p.pool.QueryRow(ctx, `SELECT `+pgMessageCols+` FROM messages WHERE sender_id = $1 AND client_message_id = $2`,
			r.msg.SenderID, []byte(r.msg.ClientMessageID))
	} else {
		row = p.pool.QueryRow(ctx, `SELECT `+pgMessageCols+` FROM messages WHERE id = $1`, r.id)
	}
	m, err := scanPgMessage(row, nil)
	if err != nil {
		r.err = fmt.Errorf("store: failed to read message: %w", err)
		return
	}
	r.out = m
}

// CreateUser implements Store.
func (p *Postgres) CreateUser(ctx context.Context, username string, passwordHash []byte, role chat.Role) (chat.User, error) {
	if !role.Valid() {
		return chat.User{}, fmt.Errorf("store: invalid role %q", role)
	}
	if !p.gate.enter() {
		return chat.User{}, ErrClosed
	}
	defer p.gate.leave()
	u := chat.User{Username: username, Role: role, PasswordHash: slices.Clone(passwordHash), CreatedAt: now()}
	if u.PasswordHash == nil {
		u.PasswordHash = []byte{}
	}
	for {
		id, err := newUserID()
		if err != nil {
			return chat.User{}, err
		}
		_, err = p.pool.Exec(ctx, `INSERT INTO users (id, username, username_key, password_hash, role, banned, created_at)
			VALUES ($1, $2, $3, $4, $5, false, $6)`,
			id, username, usernameKey(username), u.PasswordHash, string(role), u.CreatedAt)
		code, constraint := pgCode(err)
		switch {
		case code == "23505" && constraint == "users_pkey":
			continue // a 64-bit collision; draw again
		case code == "23505": // users_username_key or users_username_key_unique
			return chat.User{}, ErrUsernameTaken
		case err != nil:
			return chat.User{}, fmt.Errorf("store: failed to create user: %w", err)
		}
		u.ID = id
		return u, nil
	}
}

// pgUserCols are the user columns, in the order scanPgUser reads them.
const pgUserCols = `id, username, password_hash, role, banned, created_at`

// scanPgUser reads pgUserCols.
func scanPgUser(row pgx.Row) (chat.User, error) {
	var (
		u       chat.User
		role    string
		created time.Time
	)
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &role, &u.Banned, &created); err != nil {
		return chat.User{}, err
	}
	u.Role = chat.Role(role)
	u.CreatedAt = created.UTC()
	if u.PasswordHash == nil {
		u.PasswordHash = []byte{}
	}
	return u, nil
}

// user runs a query for one user row.
func (p *Postgres) user(ctx context.Context, what, query string, args ...any) (chat.User, error) {
	if !p.gate.enter() {
		return chat.User{}, ErrClosed
	}
	defer p.gate.leave()
	u, err := scanPgUser(p.pool.QueryRow(ctx, query, args...))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return chat.User{}, ErrNotFound
	case err != nil:
		return chat.User{}, fmt.Errorf("store: failed to %s: %w", what, err)
	}
	return u, nil
}

// UserByID implements Store.
func (p *Postgres) UserByID(ctx context.Context, id string) (chat.User, error) {
	return p.user(ctx, "read user", `SELECT `+pgUserCols+` FROM users WHERE id = $1`, id)
}

// UserByName implements Store.
func (p *Postgres) UserByName(ctx context.Context, username string) (chat.User, error) {
	return p.user(ctx, "read user", `SELECT `+pgUserCols+` FROM users WHERE username_key = $1`, usernameKey(username))
}

// SetBanned implements Store.
func (p *Postgres) SetBanned(ctx context.Context, id string, banned bool) (chat.User, error) {
	return p.user(ctx, "set banned", `UPDATE users SET banned = $1 WHERE id = $2 RETURNING `+pgUserCols, banned, id)
}

// SetRoleAndPassword implements Store.
func (p *Postgres) SetRoleAndPassword(ctx context.Context, id string, role chat.Role, passwordHash []byte) (chat.User, error) {
	if !role.Valid() {
		return chat.User{}, fmt.Errorf("store: invalid role %q", role)
	}
	if passwordHash == nil {
		passwordHash = []byte{}
	}
	return p.user(ctx, "set role and password", `UPDATE users SET role = $1, password_hash = $2 WHERE id = $3 RETURNING `+pgUserCols,
		string(role), passwordHash, id)
}

// ListUsers implements Store. Usernames are ordered bytewise (COLLATE "C"),
// whatever the database's locale, like the other stores.
func (p *Postgres) ListUsers(ctx context.Context) ([]chat.User, error) {
	return p.queryUsers(ctx, "list users", `SELECT `+pgUserCols+` FROM users ORDER BY username COLLATE "C"`)
}

// SearchUsers implements Store. username_key is COLLATE "C", so the LIKE
// uses its unique index and the order is bytewise.
func (p *Postgres) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return p.queryUsers(ctx, "search users", `SELECT `+pgUserCols+` FROM users WHERE username_key LIKE $1 ESCAPE '`+likeEscape+`'
		ORDER BY username_key, username COLLATE "C" LIMIT $2`, likePrefix(usernameKey(prefix)), limit)
}

// queryUsers runs a query of user rows; what names it in the error.
func (p *Postgres) queryUsers(ctx context.Context, what, query string, args ...any) ([]chat.User, error) {
	if !p.gate.enter() {
		return nil, ErrClosed
	}
	defer p.gate.leave()
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to %s: %w", what, err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.User, error) { return scanPgUser(row) })
	if err != nil {
		return nil, fmt.Errorf("store: failed to %s: %w", what, err)
	}
	return users, nil
}

// RevokeToken implements Store; the same transaction purges revocations
// that expired more than revocationGrace ago.
func (p *Postgres) RevokeToken(ctx context.Context, tokenID string, expiresAt time.Time) error {
	if !p.gate.enter() {
		return ErrClosed
	}
	defer p.gate.leave()
	at := now()
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < $1`, at.Add(-revocationGrace)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO revoked_tokens (token_id, revoked_at, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (token_id) DO NOTHING`, tokenID, at, expiresAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: failed to revoke token: %w", err)
	}
	return nil
}

// TokenRevoked implements Store.
func (p *Postgres) TokenRevoked(ctx context.Context, tokenID string) (bool, error) {
	if !p.gate.enter() {
		return false, ErrClosed
	}
	defer p.gate.leave()
	var revoked bool
	err := p.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE token_id = $1)`, tokenID).Scan(&revoked)
	if err != nil {
		return false, fmt.Errorf("store: failed to read token revocation: %w", err)
	}
	return revoked, nil
}

// RevokedSince implements Store.
func (p *Postgres) RevokedSince(ctx context.Context, since time.Time) ([]string, error) {
	if !p.gate.enter() {
		return nil, ErrClosed
	}
	defer p.gate.leave()
	rows, err := p.pool.Query(ctx, `SELECT token_id FROM revoked_tokens WHERE revoked_at >= $1
		ORDER BY revoked_at, token_id`, since)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read revoked tokens: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: failed to read revoked tokens: %w", err)
	}
	return ids, nil
}

// BannedUserIDs implements Store.
func (p *Postgres) BannedUserIDs(ctx context.Context) ([]string, error) {
	if !p.gate.enter() {
		return nil, ErrClosed
	}
	defer p.gate.leave()
	rows, err := p.pool.Query(ctx, `SELECT id FROM users WHERE banned ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: failed to list banned users: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: failed to list banned users: %w", err)
	}
	return ids, nil
}

// Undelivered implements Store.
func (p *Postgres) Undelivered(ctx context.Context, recipientID, afterID string, limit int) ([]chat.Message, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	after, ok := afterBound(afterID)
	msgs, err := p.messages(ctx, !ok, `SELECT `+pgMessageCols+` FROM messages
		WHERE recipient_id = $1 AND delivered_at IS NULL AND id > $2 ORDER BY id LIMIT $3`, recipientID, after, limit)
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to read undelivered messages: %w", err)
	}
	return msgs, err
}

// Conversation implements Store.
func (p *Postgres) Conversation(ctx context.Context, pg Page) ([]chat.Message, error) {
	if err := checkLimit(pg.Limit); err != nil {
		return nil, err
	}
	before, ok := beforeBound(pg.BeforeID)
	msgs, err := p.messages(ctx, !ok, `SELECT `+pgMessageCols+` FROM messages
		WHERE conv = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, convKey(pg.UserA, pg.UserB), before, pg.Limit)
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to read conversation: %w", err)
	}
	return msgs, err
}

// messages runs a query for message rows; none is true when the caller
// already knows nothing matches (the gate is still checked).
func (p *Postgres) messages(ctx context.Context, none bool, query string, args ...any) ([]chat.Message, error) {
	if !p.gate.enter() {
		return nil, ErrClosed
	}
	defer p.gate.leave()
	if none {
		return nil, nil
	}
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Message, error) { return scanPgMessage(row, nil) })
}

// MessageByID implements Store.
func (p *Postgres) MessageByID(ctx context.Context, id string) (chat.Message, error) {
	if !p.gate.enter() {
		return chat.Message{}, ErrClosed
	}
	defer p.gate.leave()
	n, ok := parseMessageID(id)
	if !ok {
		return chat.Message{}, ErrNotFound
	}
	m, err := scanPgMessage(p.pool.QueryRow(ctx, `SELECT `+pgMessageCols+` FROM messages WHERE id = $1`, n), nil)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return chat.Message{}, ErrNotFound
	case err != nil:
		return chat.Message{}, fmt.Errorf("store: failed to read message: %w", err)
	}
	return m, nil
}

// Ping implements Store.
func (p *Postgres) Ping(ctx context.Context) error {
	if !p.gate.enter() {
		return ErrClosed
	}
	defer p.gate.leave()
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: failed to ping postgres: %w", err)
	}
	return nil
}
