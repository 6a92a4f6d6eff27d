//go:build sqlite_ncruces && !(sqlite_mattn && cgo)

package store

import (
	"database/sql"
	"errors"
	"net/url"
	"strings"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"
)

// sqliteDriver is github.com/ncruces/go-sqlite3/driver's database/sql name.
const sqliteDriver = "sqlite3"

// openSQLiteDB opens path with ncruces, which reads _pragma only from a
// "file:" URI and runs each on every new connection, in order.
func openSQLiteDB(path string, pragmas []string) (*sql.DB, error) {
	q := make([]string, len(pragmas))
	for i, p := range pragmas {
		q[i] = "_pragma=" + url.QueryEscape(p)
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath()}
	return sql.Open(sqliteDriver, u.String()+"?"+strings.Join(q, "&"))
}

// sqliteErrCode returns the extended result code in err, if err is
// SQLite's (an *Error, or a bare code some calls return).
func sqliteErrCode(err error) (int, bool) {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return int(se.ExtendedCode()), true
	}
	var xc sqlite3.ExtendedErrorCode
	if errors.As(err, &xc) {
		return int(xc), true
	}
	var c sqlite3.ErrorCode
	if errors.As(err, &c) {
		return int(c), true
	}
	return 0, false
}
