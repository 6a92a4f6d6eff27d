package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/testsvc"
)

// oldUsers are the rows of a database made before usernames were unique
// without regard to case.
type oldUser struct{ id, name string }

// sqliteAtVersion builds a SQLite file at schema version 2 (the last one
// before case-insensitive names) holding users, and returns its path.
func sqliteAtVersion2(t *testing.T, users ...oldUser) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := OpenRawSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{sqliteMigrations[0].sql, sqliteMigrations[1].sql, `PRAGMA user_version = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	for _, u := range users {
		if _, err := db.Exec(`INSERT INTO users (id, username, password_hash, role, banned, created_at) VALUES (?, ?, x'00', 'user', 0, 1)`,
			u.id, u.name); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// postgresAtVersion1 builds a PostgreSQL database at schema version 1 (the
// last one before case-insensitive names) holding users, and returns its
// URL.
func postgresAtVersion1(t *testing.T, users ...oldUser) string {
	t.Helper()
	url := testsvc.NewPostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{postgresMigrations[0].sql,
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`, `INSERT INTO schema_version VALUES (1)`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	for _, u := range users {
		if _, err := conn.Exec(ctx, `INSERT INTO users (id, username, password_hash, role, banned, created_at) VALUES ($1, $2, '\x00', 'user', false, now())`,
			u.id, u.name); err != nil {
			t.Fatal(err)
		}
	}
	return url
}

// checkCollisionError fails the test unless err is a refusal to open that
// names every colliding name and id and leaves the others out.
func checkCollisionError(t *testing.T, err error, want []string, notWant ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("a database with usernames differing only in case opened")
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("error %q does not name %s", msg, w)
		}
	}
	for _, w := range notWant {
		if strings.Contains(msg, w) {
			t.Fatalf("error %q names %s, which collides with nothing", msg, w)
		}
	}
	if !strings.Contains(msg, "differ only in case") {
		t.Fatalf("error %q does not say what is wrong", msg)
	}
}

// colliding are users of an old database that can no longer all exist:
// Alice/alice/ALICE and Bob/bob, with carol alone.
var colliding = []oldUser{
	{"u01", "Alice"}, {"u02", "alice"}, {"u03", "carol"}, {"u04", "bob"}, {"u05", "ALICE"}, {"u06", "Bob"},
}

// wantColliding is what the refusal must name for colliding.
var wantColliding = []string{`"ALICE" (u05)`, `"Alice" (u01)`, `"alice" (u02)`, `"Bob" (u06)`, `"bob" (u04)`}

// checkMigratedNames checks a store opened on an old database holding
// Alice, bob and a.b: the names are kept as written, found in any case, and
// taken in any case.
func checkMigratedNames(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	for name, want := range map[string]string{"alice": "Alice", "ALICE": "Alice", "BOB": "bob", "A.B": "a.b"} {
		u, err := s.UserByName(ctx, name)
		if err != nil || u.Username != want {
			t.Fatalf("UserByName(%q) after migration = %+v, %v; want %s", name, u, err, want)
		}
	}
	if _, err := s.CreateUser(ctx, "aLiCe", []byte("h"), chat.RoleUser); !errors.Is(err, ErrUsernameTaken) {
		t.Fatalf("CreateUser(aLiCe) after migration: %v, want ErrUsernameTaken", err)
	}
	found, err := s.SearchUsers(ctx, "A", 10)
	if err != nil || len(found) != 2 || found[0].Username != "a.b" || found[1].Username != "Alice" {
		t.Fatalf("SearchUsers(A) after migration = %+v, %v", found, err)
	}
	if _, err := s.CreateUser(ctx, "dave", []byte("h"), chat.RoleUser); err != nil {
		t.Fatalf("CreateUser after migration: %v", err)
	}
	// The later step (revoked tokens) was applied too.
	if err := s.RevokeToken(ctx, "j1", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("RevokeToken after migration: %v", err)
	}
	if revoked, err := s.TokenRevoked(ctx, "j1"); err != nil || !revoked {
		t.Fatalf("TokenRevoked after migration = %v, %v", revoked, err)
	}
}

func TestSQLiteMigrationRefusesCaseCollisions(t *testing.T) {
	path := sqliteAtVersion2(t, colliding...)
	s, err := OpenSQLite(context.Background(), path, Options{})
	if err == nil {
		s.Close()
	}
	checkCollisionError(t, err, wantColliding, "carol")
	// Nothing was changed: the file is still at version 2, every row kept.
	db, err := OpenRawSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version, users int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != 2 {
		t.Fatalf("version after the refusal = %d, %v; want 2", version, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM users`).Scan(&users); err != nil || users != len(colliding) {
		t.Fatalf("users after the refusal = %d, %v", users, err)
	}
}

func TestSQLiteMigratesUsernames(t *testing.T) {
	path := sqliteAtVersion2(t, oldUser{"u01", "Alice"}, oldUser{"u02", "bob"}, oldUser{"u03", "a.b"})
	s, err := OpenSQLite(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigratedNames(t, s)
}

func TestPostgresMigrationRefusesCaseCollisions(t *testing.T) {
	url := postgresAtVersion1(t, colliding...)
	p, err := OpenPostgres(context.Background(), url, Options{ReadConns: 2})
	if err == nil {
		p.Close()
	}
	checkCollisionError(t, err, wantColliding, "carol")
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var version, users int
	if err := conn.QueryRow(context.Background(), `SELECT max(version) FROM schema_version`).Scan(&version); err != nil || version != 1 {
		t.Fatalf("version after the refusal = %d, %v; want 1", version, err)
	}
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&users); err != nil || users != len(colliding) {
		t.Fatalf("users after the refusal = %d, %v", users, err)
	}
}

func TestPostgresMigratesUsernames(t *testing.T) {
	url := postgresAtVersion1(t, oldUser{"u01", "Alice"}, oldUser{"u02", "bob"}, oldUser{"u03", "a.b"})
	p, err := OpenPostgres(context.Background(), url, Options{ReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checkMigratedNames(t, p)
}
