package store

import "database/sql"

// OpenRawSQLite opens the database file at path with the driver this
// binary was built with, outside any store, for tests that must reach
// around the store (set a schema version, hold a lock).
func OpenRawSQLite(path string) (*sql.DB, error) {
	return openSQLiteDB(path, []string{busyPragma(busyTimeoutMS)})
}
