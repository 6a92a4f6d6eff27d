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

// openSQLiteDB opens path with modernc, which runs each _pragma of the DSN
// on every new connection, in order. path must not contain '?'.
func openSQLiteDB(path string, pragmas []string) (*sql.DB, error) {
	dsn := sqliteDSN(path, pragmas)
	if strings.Contains(dsn, "vfs=") {
		if err := registerWalBufVFS(); err != nil {
			return nil, err
		}
	}
	return sql.Open(sqliteDriver, dsn)
}

// sqliteDSN is the DSN openSQLiteDB opens. Connections that sync every
// commit (synchronous(FULL) among pragmas: the writer and the
// checkpointer) open through walBufVFS, which writes each commit's WAL
// frames with one call and is safe only when every commit syncs (see
// walBufVFS). The readers, which never write the WAL, keep SQLite's own.
func sqliteDSN(path string, pragmas []string) string {
	q := make([]string, 0, len(pragmas)+1)
	if walBufVFS != "" && slices.Contains(pragmas, "synchronous(FULL)") {
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
