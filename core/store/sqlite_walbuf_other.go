//go:build !(sqlite_mattn && cgo) && !unix

package store

// walBufVFS is empty where SQLite has no "unix" VFS to wrap (Windows: its
// VFS is "win32"): every connection opens through SQLite's own VFS, and
// each WAL frame costs its two writes, as without sqlite_walbuf.go.
const walBufVFS = ""

// registerWalBufVFS has nothing to register here.
func registerWalBufVFS() error { return nil }
