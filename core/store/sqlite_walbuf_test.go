//go:build !(sqlite_mattn && cgo) && unix

package store

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// setupWalBuf opens a raw pool on a new database through walBufVFS (the
// writer's pragmas, then extra ones) with one table t(i, b).
func setupWalBuf(t *testing.T, extra ...string) (db *sql.DB, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "walbuf.db")
	db = openWalBufDB(t, path, extra...)
	if _, err := db.Exec(`CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// openWalBufDB opens path with the writer's pragmas (so through
// walBufVFS) and extra, on one connection.
func openWalBufDB(t *testing.T, path string, extra ...string) *sql.DB {
	t.Helper()
	db, err := openSQLiteDB(path, append(writerPragmas(busyTimeoutMS), extra...))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// openPlainReader opens path through SQLite's own VFS, as the store's
// readers do.
func openPlainReader(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := openSQLiteDB(path, readerPragmas(busyTimeoutMS))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// insertRows inserts rows [from, to) with 1000-byte blobs in one
// transaction.
func insertRows(t *testing.T, db *sql.DB, from, to int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		if _, err := tx.Exec(`INSERT INTO t (i, b) VALUES (?, randomblob(1000))`, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// wantRows checks that db holds rows 0..n-1 and is intact.
func wantRows(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	var count, sum int
	var ok string
	if err := db.QueryRow(`SELECT count(*), coalesce(sum(i), 0) FROM t`).Scan(&count, &sum); err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*(n-1)/2 {
		t.Fatalf("count %d, sum %d; want %d, %d", count, sum, n, n*(n-1)/2)
	}
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}

// wantRowsEverywhere checks the n rows through db, through a reader on
// SQLite's own VFS, and through walBufVFS again after db is closed.
func wantRowsEverywhere(t *testing.T, db *sql.DB, path string, n int) {
	t.Helper()
	wantRows(t, db, n)
	wantRows(t, openPlainReader(t, path), n)
	db.Close()
	wantRows(t, openWalBufDB(t, path), n)
}

// TestWalBufSpilledTransaction writes a transaction much larger than the
// page cache: SQLite spills frames to the WAL before the commit and reads
// them back, and rewrites frames of pages changed again after the spill.
func TestWalBufSpilledTransaction(t *testing.T) {
	db, path := setupWalBuf(t, "cache_size(20)")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := range n {
		if _, err := tx.Exec(`INSERT INTO t (i, b) VALUES (?, randomblob(1000))`, i); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 { // pages already spilled, changed again
			if _, err := tx.Exec(`UPDATE t SET b = randomblob(900) WHERE i % 97 = 0`); err != nil {
				t.Fatal(err)
			}
		}
	}
	var inTx int
	if err := tx.QueryRow(`SELECT count(*) FROM t WHERE length(b) > 0`).Scan(&inTx); err != nil || inTx != n {
		t.Fatalf("inside the transaction: %d rows, %v", inTx, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wantRowsEverywhere(t, db, path, n)
}

// TestWalBufReaderSeesEachCommit reads, through SQLite's own VFS and its
// own file handle, what each commit of a walBufVFS writer wrote.
func TestWalBufReaderSeesEachCommit(t *testing.T) {
	db, path := setupWalBuf(t)
	r := openPlainReader(t, path)
	for k := 1; k <= 50; k++ {
		insertRows(t, db, (k-1)*7, k*7)
		var count int
		if err := r.QueryRow(`SELECT count(*) FROM t WHERE length(b) = 1000`).Scan(&count); err != nil || count != k*7 {
			t.Fatalf("after commit %d the reader sees %d rows, %v", k, count, err)
		}
	}
	wantRowsEverywhere(t, db, path, 350)
}

// TestWalBufWALRestart checkpoints the whole WAL, so the next commit
// rewrites its header at offset 0 and its frames from the start.
func TestWalBufWALRestart(t *testing.T) {
	db, path := setupWalBuf(t)
	n := 0
	for round := range 5 {
		insertRows(t, db, n, n+200)
		n += 200
		mode := "PASSIVE"
		if round%2 == 1 {
			mode = "TRUNCATE"
		}
		var busy, logFrames, done int
		if err := db.QueryRow(`PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logFrames, &done); err != nil || busy != 0 || done != logFrames {
			t.Fatalf("checkpoint %s: busy %d, %d of %d frames, %v", mode, busy, done, logFrames, err)
		}
		wantRows(t, db, n)
	}
	wantRowsEverywhere(t, db, path, n)
}

// TestWalBufFailedFlush makes the write of the buffer fail and expects the
// commit to fail with it, and the database to hold every earlier commit and
// take later ones.
func TestWalBufFailedFlush(t *testing.T) {
	db, path := setupWalBuf(t)
	insertRows(t, db, 0, 10)
	failLargePwrites(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		if _, err := tx.Exec(`INSERT INTO t (i, b) VALUES (?, randomblob(1000))`, i); err != nil {
			t.Fatal(err)
		}
	}
	err = tx.Commit()
	if code, _ := sqliteErrCode(err); code != sqlite3.SQLITE_FULL {
		t.Fatalf("commit with a failing pwrite: %v (code %d), want SQLITE_FULL", err, code)
	}
	restorePwrite()
	wantRows(t, db, 10)
	insertRows(t, db, 10, 20)
	wantRowsEverywhere(t, db, path, 20)
}

// pwriteFunc is the signature of the unix VFS's pwrite system call.
type pwriteFunc = func(*libc.TLS, int32, uintptr, uint64, int64) int64

// realPwrite is the unix VFS's pwrite while failLargePwrites replaces it.
var realPwrite uintptr

// failLargePwrites makes the unix VFS's pwrite write nothing when asked for
// more than one frame (4096+24 bytes), which only walBufVFS asks for.
// Tests here do not run in parallel, and the unix VFS's system calls are
// process-wide, so this replaces it for the test's duration.
func failLargePwrites(t *testing.T) {
	t.Helper()
	tls := libc.NewTLS()
	defer tls.Close()
	name := cstring(t, "pwrite")
	defer libc.Xfree(tls, name)
	v := (*sqlite3.Tsqlite3_vfs)(cptr(unixVFS))
	get := v.FxGetSystemCall
	realPwrite = (*(*func(*libc.TLS, uintptr, uintptr) uintptr)(unsafe.Pointer(&struct{ f uintptr }{get})))(tls, unixVFS, name)
	if realPwrite == 0 {
		t.Fatal(`the unix VFS has no "pwrite" system call`)
	}
	var fail pwriteFunc = failingPwrite
	if rc := setPwrite(tls, *(*uintptr)(unsafe.Pointer(&fail))); rc != sqlite3.SQLITE_OK {
		t.Fatalf("xSetSystemCall: %d", rc)
	}
	t.Cleanup(restorePwrite)
}

// restorePwrite undoes failLargePwrites; more calls do nothing.
func restorePwrite() {
	if realPwrite == 0 {
		return
	}
	tls := libc.NewTLS()
	defer tls.Close()
	setPwrite(tls, realPwrite)
	realPwrite = 0
}

func setPwrite(tls *libc.TLS, fn uintptr) int32 {
	name, err := libc.CString("pwrite")
	if err != nil {
		panic(err)
	}
	defer libc.Xfree(tls, name)
	set := (*sqlite3.Tsqlite3_vfs)(cptr(unixVFS)).FxSetSystemCall
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ f uintptr }{set})))(tls, unixVFS, name, fn)
}

func failingPwrite(tls *libc.TLS, fd int32, buf uintptr, n uint64, off int64) int64 {
	if n > 4096+24 {
		return 0
	}
	return (*(*pwriteFunc)(unsafe.Pointer(&struct{ f uintptr }{realPwrite})))(tls, fd, buf, n, off)
}

func cstring(t *testing.T, s string) uintptr {
	t.Helper()
	p, err := libc.CString(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWalBufOnlyForFullSync checks which connections get walBufVFS: the
// ones that sync every commit.
func TestWalBufOnlyForFullSync(t *testing.T) {
	for _, c := range []struct {
		pragmas []string
		want    bool
	}{
		{writerPragmas(busyTimeoutMS), true},
		{checkpointerPragmas(busyTimeoutMS), true},
		{readerPragmas(busyTimeoutMS), false},
		{[]string{"synchronous(NORMAL)"}, false},
	} {
		if got := strings.Contains(sqliteDSN("x.db", c.pragmas), "vfs="+walBufVFS); got != c.want {
			t.Errorf("%v: walBufVFS %v, want %v", c.pragmas, got, c.want)
		}
	}
}
