package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Durability is what a store's commits are made with, as the database
// reports it (not as configured): a test or the sandbox asserts it, so a
// store opened with weaker settings than the contract's is caught.
type Durability struct {
	// JournalMode and Synchronous are SQLite's journal_mode and synchronous
	// pragmas on the writer connection, e.g. "wal" and "FULL".
	JournalMode string
	Synchronous string
}

// DurabilityReporter is a store that can report its Durability.
type DurabilityReporter interface {
	Durability(ctx context.Context) (Durability, error)
}

// sqliteSynchronous names the values of PRAGMA synchronous.
var sqliteSynchronous = map[int]string{0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

// Durability reads journal_mode and synchronous on the writer connection,
// the one every commit goes through.
func (s *SQLite) Durability(ctx context.Context) (Durability, error) {
	var d Durability
	var sync int
	err := s.write(ctx, func(ctx context.Context, c *sql.Conn) error {
		return errors.Join(
			c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&d.JournalMode),
			c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync),
		)
	})
	if err != nil {
		return Durability{}, fmt.Errorf("store: failed to read the durability settings: %w", err)
	}
	d.Synchronous = sqliteSynchronous[sync]
	if d.Synchronous == "" {
		d.Synchronous = fmt.Sprint(sync)
	}
	d.JournalMode = strings.ToLower(d.JournalMode)
	return d, nil
}

// CheckDurability fails unless st commits as the contract requires: on
// SQLite, synchronous=FULL (an acked message survives a crash or power
// loss). Stores that do not report durability pass.
func CheckDurability(ctx context.Context, st Store) error {
	r, ok := st.(DurabilityReporter)
	if !ok {
		return nil
	}
	d, err := r.Durability(ctx)
	if err != nil {
		return err
	}
	if d.Synchronous != "FULL" && d.Synchronous != "EXTRA" {
		return fmt.Errorf("store: SQLite runs with synchronous=%s (journal_mode=%s); the contract requires FULL", d.Synchronous, d.JournalMode)
	}
	return nil
}
