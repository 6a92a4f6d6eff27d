package store

import (
	"context"
	"database/sql"
	"fmt"

	"go.uber.org/zap"
)

// sqliteMigration is one schema step: check, when set, runs first in the
// same transaction and refuses the step (and so the open) if the data
// cannot be migrated.
type sqliteMigration struct {
	check func(ctx context.Context, conn *sql.Conn) error
	sql   string
}

// sqliteMigrations are the schema steps of the SQLite store, in order. The
// database's PRAGMA user_version counts the steps applied; Open applies the
// rest in one IMMEDIATE transaction, so two processes opening one new file
// at once migrate it once. Never edit a step; append a new one.
//
// Times are INTEGER microseconds since the Unix epoch, UTC. messages.conv is
// convKey(sender_id, recipient_id), so one index serves a conversation in
// both directions.
var sqliteMigrations = []sqliteMigration{
	{sql: `CREATE TABLE users (
		id            TEXT PRIMARY KEY,
		username      TEXT NOT NULL UNIQUE,
		password_hash BLOB NOT NULL,
		role          TEXT NOT NULL,
		banned        INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL
	);
	CREATE TABLE messages (
		id                INTEGER PRIMARY KEY AUTOINCREMENT,
		sender_id         TEXT NOT NULL REFERENCES users(id),
		recipient_id      TEXT NOT NULL REFERENCES users(id),
		conv              TEXT NOT NULL,
		client_message_id TEXT NOT NULL,
		content           TEXT NOT NULL,
		created_at        INTEGER NOT NULL,
		delivered_at      INTEGER,
		UNIQUE (sender_id, client_message_id)
	);
	CREATE INDEX messages_undelivered ON messages (recipient_id, id) WHERE delivered_at IS NULL;
	CREATE INDEX messages_conv ON messages (conv, id);`},

	// 2: messages.id without AUTOINCREMENT. Messages are never deleted, so
	// the plain rowid (largest + 1) is just as monotonic, and a commit no
	// longer rewrites the sqlite_sequence page: one WAL frame fewer in
	// every commit that stores a message (about 4.2 → 3.6 frames per
	// single-write commit). The table is rebuilt with its ids.
	{sql: `CREATE TABLE messages_v2 (
		id                INTEGER PRIMARY KEY,
		sender_id         TEXT NOT NULL REFERENCES users(id),
		recipient_id      TEXT NOT NULL REFERENCES users(id),
		conv              TEXT NOT NULL,
		client_message_id TEXT NOT NULL,
		content           TEXT NOT NULL,
		created_at        INTEGER NOT NULL,
		delivered_at      INTEGER,
		UNIQUE (sender_id, client_message_id)
	);
	INSERT INTO messages_v2 (id, sender_id, recipient_id, conv, client_message_id, content, created_at, delivered_at)
		SELECT id, sender_id, recipient_id, conv, client_message_id, content, created_at, delivered_at FROM messages;
	DROP TABLE messages;
	ALTER TABLE messages_v2 RENAME TO messages;
	CREATE INDEX messages_undelivered ON messages (recipient_id, id) WHERE delivered_at IS NULL;
	CREATE INDEX messages_conv ON messages (conv, id);`},

	// 3: usernames unique without regard to case. username_key is
	// usernameKey(username); SQLite's lower() folds exactly ASCII A-Z, the
	// same. Refused, naming the names, if two existing users collide.
	{check: sqliteUsernameCollisions, sql: `ALTER TABLE users ADD COLUMN username_key TEXT;
	UPDATE users SET username_key = lower(username);
	CREATE UNIQUE INDEX users_username_key ON users (username_key);`},

	// 4: revoked tokens (logout), by jti. revoked_at orders RevokedSince;
	// expires_at lets RevokeToken purge what can no longer be presented.
	{sql: `CREATE TABLE revoked_tokens (
		token_id   TEXT PRIMARY KEY,
		revoked_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);
	CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);`},
}

// sqliteUsernameCollisions refuses migration step 3 when existing
// usernames differ only in case, naming each group with its user ids.
func sqliteUsernameCollisions(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT group_concat('"' || username || '" (' || id || ')', ', ')
		FROM (SELECT username, id FROM users ORDER BY username, id)
		GROUP BY lower(username) HAVING count(*) > 1 ORDER BY lower(username)`)
	if err != nil {
		return fmt.Errorf("failed to look for usernames that differ only in case: %w", err)
	}
	defer rows.Close()
	var groups []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return fmt.Errorf("failed to look for usernames that differ only in case: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to look for usernames that differ only in case: %w", err)
	}
	if len(groups) > 0 {
		return collisionError(groups)
	}
	return nil
}

// migrateSQLite brings the schema up to date on conn, which must not be in a
// transaction.
func migrateSQLite(ctx context.Context, conn *sql.Conn, log *zap.Logger) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("failed to begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("failed to read schema version: %w", err)
	}
	if version > len(sqliteMigrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", version, len(sqliteMigrations))
	}
	for v := version; v < len(sqliteMigrations); v++ {
		m := sqliteMigrations[v]
		if m.check != nil {
			if err := m.check(ctx, conn); err != nil {
				return fmt.Errorf("cannot apply schema version %d: %w", v+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("failed to apply schema version %d: %w", v+1, err)
		}
	}
	if version < len(sqliteMigrations) {
		// PRAGMA takes no parameters; the value is our own integer.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(sqliteMigrations))); err != nil {
			return fmt.Errorf("failed to set schema version: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("failed to commit migration: %w", err)
	}
	if version < len(sqliteMigrations) {
		log.Info("store_migrated", zap.String("backend", "sqlite"), zap.Int("from", version), zap.Int("to", len(sqliteMigrations)))
	}
	return nil
}
