package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// BackupSQLite writes a consistent copy of the SQLite database at path to
// dest with VACUUM INTO, while servers go on reading and writing it: the
// copy is one read transaction's snapshot, so it holds every commit made
// before it started and none made after. A file copy of a WAL database
// taken while it runs can miss committed pages; this cannot. dest must not
// exist yet; the copy is created with mode 0600.
func BackupSQLite(ctx context.Context, path, dest string) error {
	if path == "" || dest == "" {
		return errors.New("store: backup needs a database and a destination path")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// VACUUM INTO creates the file itself; create it empty first so that
	// its mode is ours, not the umask's, and an existing file is refused.
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// Its own connection: the store's readers are query_only, which
	// VACUUM INTO refuses, and its writer belongs to the group commit.
	db, err := openSQLiteDB(path, []string{busyPragma(busyTimeoutMS)})
	if err == nil {
		defer db.Close()
		_, err = db.ExecContext(ctx, `VACUUM INTO ?`, dest)
	}
	if err != nil {
		_ = os.Remove(dest)
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	return nil
}

// Backup is BackupSQLite of this store's file.
func (s *SQLite) Backup(ctx context.Context, dest string) error {
	return BackupSQLite(ctx, s.path, dest)
}
