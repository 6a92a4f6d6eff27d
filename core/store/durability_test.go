package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteDurability: the store reports what the writer runs with, and
// CheckDurability refuses anything weaker than synchronous=FULL.
func TestSQLiteDurability(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "d.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Durability(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Synchronous != "FULL" || d.JournalMode != "wal" {
		t.Fatalf("durability %+v, want FULL and wal", d)
	}
	if err := CheckDurability(ctx, s); err != nil {
		t.Fatal(err)
	}
	weak := weakStore{Store: NewMemory(), d: Durability{JournalMode: "wal", Synchronous: "OFF"}}
	if err := CheckDurability(ctx, weak); err == nil || !strings.Contains(err.Error(), "synchronous=OFF") {
		t.Fatalf("CheckDurability = %v, want a synchronous=OFF refusal", err)
	}
	if err := CheckDurability(ctx, NewMemory()); err != nil {
		t.Errorf("the memory store: %v", err)
	}
}

// weakStore reports weaker durability than the contract's.
type weakStore struct {
	Store
	d Durability
}

func (w weakStore) Durability(context.Context) (Durability, error) { return w.d, nil }
