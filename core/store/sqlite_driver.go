package store

import "strconv"

// The SQLite driver is chosen at build time; the store sees only this seam:
// sqliteDriver names it, openSQLiteDB opens a pool whose every connection
// runs the given pragmas first, and sqliteErrCode reads the extended result
// code out of its errors. One file per driver implements them:
//
//   - sqlite_driver_modernc.go: modernc.org/sqlite (pure Go, transpiled C),
//     the default and the release build. Its writing connections open
//     through a VFS that writes a commit's WAL frames in one call
//     (sqlite_walbuf.go).
//   - sqlite_driver_mattn.go: github.com/mattn/go-sqlite3 (cgo), with
//     -tags sqlite_mattn and cgo enabled; without cgo that tag falls back
//     to the default, so CGO_ENABLED=0 builds always work.
//
// docs/PERFORMANCE.md has the measurements that chose the default.

// SQLite result codes the store acts on (https://sqlite.org/rescode.html).
// Every driver reports these numbers; only the error types differ.
const (
	sqliteBusy       = 5
	sqliteLocked     = 6
	sqliteTooBig     = 18
	sqliteConstraint = 19
	sqliteMismatch   = 20
	sqliteRange      = 25

	sqliteConstraintForeignKey = sqliteConstraint | 3<<8
	sqliteConstraintPrimaryKey = sqliteConstraint | 6<<8
	sqliteConstraintUnique     = sqliteConstraint | 8<<8
)

// SQLiteDriver names the SQLite driver this binary was built with.
func SQLiteDriver() string { return sqliteDriver }

// busyPragma is the first pragma of every connection: how long SQLite
// itself waits for another connection's lock.
func busyPragma(ms int) string { return "busy_timeout(" + strconv.Itoa(ms) + ")" }

// writerPragmas are the writer connection's settings. WAL with
// synchronous=FULL makes each commit durable with one fsync of the WAL. A
// 64 MiB page cache keeps the hot index pages in memory, and checkpointing
// every 10000 WAL pages (about 40 MiB) instead of 1000 copies a page
// rewritten by many commits back to the database once.
func writerPragmas(busyMS int) []string {
	return []string{busyPragma(busyMS), "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)",
		"cache_size(-65536)", "wal_autocheckpoint(10000)"}
}

// checkpointerPragmas are the background checkpointer's settings
// (sqlite_checkpoint.go): the checkpoint syncs the WAL and the database file
// as the writer's would.
func checkpointerPragmas(busyMS int) []string {
	return []string{busyPragma(busyMS), "synchronous(FULL)"}
}

// readerPragmas are the read pool's settings: it can never write.
func readerPragmas(busyMS int) []string {
	return []string{busyPragma(busyMS), "query_only(1)"}
}
