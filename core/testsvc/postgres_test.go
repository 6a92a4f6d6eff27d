package testsvc

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestNewPostgres: each call gives a different, empty, usable database.
func TestNewPostgres(t *testing.T) {
	t.Parallel()
	a, b := NewPostgres(t), NewPostgres(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("new database has %d tables, want 0", tables)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
}
