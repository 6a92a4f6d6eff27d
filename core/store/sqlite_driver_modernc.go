//go:build !(sqlite_mattn && cgo)

package store

import (
	"database/sql"
	"errors"
	"net/url"
	"strings"

	"modernc.org/sqlite"
)

// sqliteDriver is modernc.org/sqlite's database/sql name.
const sqliteDriver = "sqlite"

// openSQLiteDB opens path with modernc, which runs each _pragma of the DSN
// on every new connection, in order. path must not contain '?'.
func openSQLiteDB(path string, pragmas []string) (*sql.DB, error) {
	q := make([]string, len(pragmas))
	for i, p := range pragmas {
		q[i] = "_pragma=" + url.QueryEscape(p)
	}
	return sql.Open(sqliteDriver, path+"?"+strings.Join(q, "&"))
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
