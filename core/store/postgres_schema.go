package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
)

// Advisory lock keys of the PostgreSQL store (advisory locks are per
// database, so these cannot collide with another application's unless it
// shares the database and picks the same numbers).
const (
	// pgMigrateLock serialises schema migration between processes.
	pgMigrateLock int64 = 0x646d636861740001 // "dmchat" 0001
	// pgOrderLock is taken by every write transaction that inserts
	// messages, so transactions that draw ids from the sequence commit in
	// id order, on every instance: a reader that has seen id N will never
	// later see a new id below N appear.
	pgOrderLock int64 = 0x646d636861740002
)

// postgresMigration is one schema step: check, when set, runs first in the
// same transaction and refuses the step (and so the open) if the data
// cannot be migrated.
type postgresMigration struct {
	check func(ctx context.Context, tx pgx.Tx) error
	sql   string
}

// postgresMigrations are the schema steps of the PostgreSQL store, in
// order; schema_version holds how many are applied. Never edit a step;
// append a new one.
//
// client_message_id and content are BYTEA because PostgreSQL TEXT cannot
// hold U+0000, which is valid UTF-8 and so valid in a message.
// messages.conv is convKey(sender_id, recipient_id).
var postgresMigrations = []postgresMigration{
	{sql: `CREATE TABLE IF NOT EXISTS users (
		id            TEXT PRIMARY KEY,
		username      TEXT NOT NULL UNIQUE,
		password_hash BYTEA NOT NULL,
		role          TEXT NOT NULL,
		banned        BOOLEAN NOT NULL DEFAULT FALSE,
		created_at    TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE IF NOT EXISTS messages (
		id                BIGSERIAL PRIMARY KEY,
		sender_id         TEXT NOT NULL REFERENCES users (id),
		recipient_id      TEXT NOT NULL REFERENCES users (id),
		conv              TEXT NOT NULL,
		client_message_id BYTEA NOT NULL,
		content           BYTEA NOT NULL,
		created_at        TIMESTAMPTZ NOT NULL,
		delivered_at      TIMESTAMPTZ,
		UNIQUE (sender_id, client_message_id)
	);
	CREATE INDEX IF NOT EXISTS messages_undelivered ON messages (recipient_id, id) WHERE delivered_at IS NULL;
	CREATE INDEX IF NOT EXISTS messages_conv ON messages (conv, id);`},

	// 2: usernames unique without regard to case. username_key is
	// usernameKey(username): translate() folds exactly A-Z, where lower()
	// would follow the database's locale. COLLATE "C" makes the unique
	// index serve SearchUsers' LIKE 'prefix%' and its bytewise order.
	// Refused, naming the names, if two existing users collide.
	{check: pgUsernameCollisions, sql: `ALTER TABLE users ADD COLUMN username_key TEXT COLLATE "C";
	UPDATE users SET username_key = translate(username, '` + pgUpper + `', '` + pgLower + `');
	ALTER TABLE users ALTER COLUMN username_key SET NOT NULL;
	ALTER TABLE users ADD CONSTRAINT users_username_key_unique UNIQUE (username_key);`},

	// 3: revoked tokens (logout), by jti. revoked_at orders RevokedSince;
	// expires_at lets RevokeToken purge what can no longer be presented.
	{sql: `CREATE TABLE revoked_tokens (
		token_id   TEXT PRIMARY KEY,
		revoked_at TIMESTAMPTZ NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL
	);
	CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);
	CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);`},
}

// The ASCII letters folded by usernameKey, for translate().
const (
	pgUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pgLower = "abcdefghijklmnopqrstuvwxyz"
)

// pgUsernameCollisions refuses migration step 2 when existing usernames
// differ only in case, naming each group with its user ids.
func pgUsernameCollisions(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT string_agg('"' || username || '" (' || id || ')', ', ' ORDER BY username COLLATE "C", id)
		FROM users GROUP BY translate(username, '`+pgUpper+`', '`+pgLower+`') HAVING count(*) > 1
		ORDER BY translate(username, '`+pgUpper+`', '`+pgLower+`') COLLATE "C"`)
	if err != nil {
		return fmt.Errorf("failed to look for usernames that differ only in case: %w", err)
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("failed to look for usernames that differ only in case: %w", err)
	}
	if len(groups) > 0 {
		return collisionError(groups)
	}
	return nil
}

// migratePostgres brings the schema up to date, holding an advisory lock
// so that processes opening the database at once migrate it once.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, log *zap.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("failed to connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, pgMigrateLock); err != nil {
		return fmt.Errorf("failed to take the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, pgMigrateLock); err != nil {
			conn.Conn().Close(context.Background()) // closing the session drops the lock
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("failed to create schema_version: %w", err)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&version); err != nil {
		return fmt.Errorf("failed to read schema version: %w", err)
	}
	if version > len(postgresMigrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", version, len(postgresMigrations))
	}
	if version == len(postgresMigrations) {
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for v := version; v < len(postgresMigrations); v++ {
			m := postgresMigrations[v]
			if m.check != nil {
				if err := m.check(ctx, tx); err != nil {
					return fmt.Errorf("cannot apply schema version %d: %w", v+1, err)
				}
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("failed to apply schema version %d: %w", v+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM schema_version`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, len(postgresMigrations))
		return err
	})
	if err != nil {
		return err
	}
	log.Info("store_migrated", zap.String("backend", "postgres"), zap.Int("from", version), zap.Int("to", len(postgresMigrations)))
	return nil
}
