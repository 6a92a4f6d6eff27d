//go:build !(sqlite_mattn && cgo)

package store

import (
	"database/sql"
	"errors"
	"net/url"
	"slices"
	"strings"

	"modernc.org/sqlite"
)

// sqliteDriver is modernc.org/sqlite's database/sql name.
const sqliteDriver = "sqlite"

// openSQLiteDB opens path with modernc, which runs the DSN's _pragma list
// on every new connection: busy_timeout first, then the others sorted by
// name, not in the order given. So a pragma that must come before another
// (page_size before journal_mode=WAL) cannot be set this way. path must
// not contain '?'.
func openSQLiteDB(path string, pragmas []string) (*sql.DB, error) {
	if usesWalBuf(pragmas) {
		if err := registerWalBufVFS(); err != nil {
			return nil, err
		}
	}
	return sql.Open(sqliteDriver, sqliteDSN(path, pragmas))
}

// usesWalBuf reports whether a connection with these pragmas opens through
// walBufVFS: only those that sync every commit (synchronous(FULL): the
// writer and the checkpointer), since the VFS writes each commit's WAL
// frames with one call and is safe only when every commit syncs (see
// walBufVFS). The readers, which never write the WAL, keep SQLite's own.
func usesWalBuf(pragmas []string) bool {
	return walBufVFS != "" && slices.Contains(pragmas, "synchronous(FULL)")
}

// sqliteDSN is the DSN openSQLiteDB opens.
func sqliteDSN(path string, pragmas []string) string {
	q := make([]string, 0, len(pragmas)+1)
	if usesWalBuf(pragmas) {
		q = append(q, "vfs="+walBufVFS)
	}
	for _, p := range pragmas {
		q = append(q, "_pragma="+url.QueryEscape(p))
	}
	return path + "?" + strings.Join(q, "&")
}

// sqliteErrCode returns the extended result code in err, if err is
// SQLite's.
func sqliteErrCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}
