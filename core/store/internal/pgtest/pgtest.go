// Package pgtest gives each test its own empty PostgreSQL database on the
// throw-away server named by DMCHAT_TEST_POSTGRES (see .ci/services.sh).
// Without that variable tests are skipped, unless DMCHAT_REQUIRE_SERVICES=1,
// which make test sets so that CI cannot pass by skipping them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by NewDatabase.
const (
	EnvPostgres        = "DMCHAT_TEST_POSTGRES"
	EnvRequireServices = "DMCHAT_REQUIRE_SERVICES"
)

// NewDatabase creates a fresh database and returns its URL; the database is
// dropped when the test ends. It skips the test, or fails it when services
// are required, if DMCHAT_TEST_POSTGRES is not set.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		if os.Getenv(EnvRequireServices) == "1" {
			tb.Fatalf("%s is not set but %s=1: run `eval \"$(.ci/services.sh)\"` first", EnvPostgres, EnvRequireServices)
		}
		tb.Skipf("PostgreSQL tests skipped: set %s to a postgres:// URL of a throw-away server (.ci/services.sh starts one)", EnvPostgres)
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("bad %s: %v", EnvPostgres, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
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
	if err := exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("failed to create test database: %v", err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("failed to drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
