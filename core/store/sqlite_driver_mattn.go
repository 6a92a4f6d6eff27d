//go:build sqlite_mattn && cgo

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/url"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// sqliteDriver names github.com/mattn/go-sqlite3 (cgo), opened through a
// connector rather than its registered name.
const sqliteDriver = "sqlite3 (mattn, cgo)"

// openSQLiteDB opens path with mattn. Its DSN knows only some pragmas, so
// a connect hook runs them all on every new connection, in order.
func openSQLiteDB(path string, pragmas []string) (*sql.DB, error) {
	d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec(pragmaStatement(p), nil); err != nil {
				return err
			}
		}
		return nil
	}}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath()}
	return sql.OpenDB(mattnConnector{d: d, dsn: u.String()}), nil
}

// mattnConnector opens mattn connections with its hook-carrying driver.
type mattnConnector struct {
	d   *sqlite3.SQLiteDriver
	dsn string
}

// Connect implements driver.Connector.
func (c mattnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }

// Driver implements driver.Connector.
func (c mattnConnector) Driver() driver.Driver { return c.d }

// sqliteErrCode returns the extended result code in err, if err is
// SQLite's.
func sqliteErrCode(err error) (int, bool) {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return int(se.ExtendedCode), true
	}
	return 0, false
}

// pragmaStatement turns "name(value)" into "PRAGMA name = value", for
// drivers that run pragmas themselves rather than from the DSN.
func pragmaStatement(p string) string {
	name, value, ok := strings.Cut(strings.TrimSuffix(p, ")"), "(")
	if !ok {
		return "PRAGMA " + p
	}
	return "PRAGMA " + name + " = " + value
}
