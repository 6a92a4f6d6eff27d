package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewPostgres creates an empty database on the server named by
// DMCHAT_TEST_POSTGRES and returns its URL; the database is dropped (with
// its connections) when the test ends. Without the variable the test is
// skipped, or failed when services are required. A server that is named
// but refuses the CREATE DATABASE fails the test: it was asked for.
func NewPostgres(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		missing(tb, "PostgreSQL (set "+EnvPostgres+" to a postgres:// URL of a throw-away server)", errors.New(EnvPostgres+" is not set"))
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("bad %s: %v", EnvPostgres, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if err := adminExec(admin, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("failed to create test database: %v", err)
	}
	tb.Cleanup(func() {
		if err := adminExec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("failed to drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// adminExec runs one statement on its own connection to the admin URL.
func adminExec(admin, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
