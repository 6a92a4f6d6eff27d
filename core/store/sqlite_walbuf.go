//go:build !(sqlite_mattn && cgo) && unix

package store

import (
	"errors"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// walBufVFS is the name of the SQLite VFS that coalesces WAL writes
// (modernc build only). It is SQLite's "unix" VFS except for the -wal
// file, whose writes wait in a buffer until SQLite next needs the file as
// it is on disk.
//
// Why: SQLite writes each WAL frame with two pwrite calls (the 24-byte
// frame header, then the page), about 3.7 per DM, and each costs ~0.7 µs
// of CPU beyond the bytes it copies. A commit's frames are
// contiguous, so one pwrite of the buffer right before the commit's fsync
// writes the same bytes with one call (docs/PERFORMANCE.md, section 11).
//
// What keeps it safe: nothing outside this connection's file handle reads
// the bytes of a frame before the commit that holds it is published in the
// wal-index, and with synchronous=FULL SQLite syncs the WAL (xSync, which
// writes the buffer first) before it publishes. Every other use of the
// file that could observe it (xRead, xFileSize, xTruncate, xFileControl,
// xClose) also writes the buffer first. With synchronous=NORMAL there is
// no xSync before the publication, so only connections that run
// synchronous=FULL may open through this VFS (see openSQLiteDB). Frames a
// rolled-back transaction spilled may wait in the buffer and be written
// later; like any frame past the last commit, SQLite never counts them (their
// salt or checksum does not continue the committed chain).
const walBufVFS = "dmchat-walbuf"

// walBufCap is the most a WAL file's buffer holds; a write that would not
// fit writes the buffer first. 1 MiB holds the frames of a batch of 64
// DMs several times over; the memory is reserved, not touched, until
// written.
const walBufCap = 1 << 20

// walBufHdr is what the VFS keeps ahead of the unix VFS's own file object
// in each -wal file's sqlite3_file, which SQLite allocates (szOsFile
// bytes) and owns. Everything lives in that C memory, so a write needs no
// lookup: pFile is the state.
type walBufHdr struct {
	methods uintptr // sqlite3_file.pMethods: &walBufMethods
	buf     uintptr // walBufCap bytes from libc.Xmalloc
	start   int64   // file offset of buf[0]
	n       int32   // bytes held in buf
	_       int32
}

// walBufChunk is the most one call of unix's xWrite writes: its
// seekAndWrite keeps only the low 17 bits of the length (SQLite itself
// never writes more than a page at once), so the buffer goes out in chunks
// of 31 pages.
const walBufChunk = 31 * 4096

// walBufInner is the offset of the unix VFS's file object inside ours.
const walBufInner = int32(unsafe.Sizeof(walBufHdr{}))

var (
	// walBufOnce registers the VFS once per process: SQLite's VFS registry
	// is process-wide, and so is this VFS (it keeps no state of its own
	// outside the file objects).
	walBufOnce sync.Once
	walBufErr  error

	// unixVFS is SQLite's "unix" VFS, to which everything is delegated.
	unixVFS uintptr
	// walBufVFSObj and walBufMethods are Go memory that SQLite points to
	// for the life of the process; Go does not move globals.
	walBufVFSObj  sqlite3.Tsqlite3_vfs
	walBufMethods sqlite3.Tsqlite3_io_methods
)

// registerWalBufVFS registers walBufVFS, once.
func registerWalBufVFS() error {
	walBufOnce.Do(func() { walBufErr = doRegisterWalBufVFS() })
	return walBufErr
}

func doRegisterWalBufVFS() error {
	tls := libc.NewTLS()
	defer tls.Close()
	unixName, err := libc.CString("unix")
	if err != nil {
		return err
	}
	defer libc.Xfree(tls, unixName)
	if unixVFS = sqlite3.Xsqlite3_vfs_find(tls, unixName); unixVFS == 0 {
		return errors.New(`sqlite: no "unix" VFS`)
	}
	name, err := libc.CString(walBufVFS) // kept: SQLite points to it
	if err != nil {
		return err
	}
	walBufVFSObj = *(*sqlite3.Tsqlite3_vfs)(cptr(unixVFS))
	walBufVFSObj.FpNext = 0
	walBufVFSObj.FzName = name
	walBufVFSObj.FszOsFile += walBufInner
	*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walBufVFSObj.FxOpen)) = walBufOpen

	// Version 1: SQLite uses the shared-memory and mmap methods of the
	// database file only, never of its WAL.
	m := &walBufMethods
	m.FiVersion = 1
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)) = walBufClose
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)) = walBufRead
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = walBufWrite
	*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)) = walBufTruncate
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)) = walBufSync
	*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)) = walBufFileSize
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxLock)) = walBufLock
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxUnlock)) = walBufUnlock
	*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxCheckReservedLock)) = walBufCheckReservedLock
	*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)) = walBufFileControl
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxSectorSize)) = walBufSectorSize
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxDeviceCharacteristics)) = walBufDeviceCharacteristics

	if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&walBufVFSObj)), 0); rc != sqlite3.SQLITE_OK {
		return errors.New("sqlite: failed to register the WAL-buffering VFS")
	}
	return nil
}

// walBufOpen is the VFS's xOpen. Files other than a WAL are the unix VFS's
// own, at the start of the object SQLite gave (their pMethods are unix's,
// so SQLite calls unix directly); a WAL gets the header and walBufMethods,
// with unix's object behind the header.
func walBufOpen(tls *libc.TLS, _ uintptr, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	open := (*sqlite3.Tsqlite3_vfs)(cptr(unixVFS)).FxOpen
	if flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return callOpen(open, tls, unixVFS, zName, pFile, flags, pOutFlags)
	}
	h := (*walBufHdr)(cptr(pFile))
	*h = walBufHdr{}
	buf := libc.Xmalloc(tls, walBufCap)
	if buf == 0 {
		return sqlite3.SQLITE_NOMEM
	}
	if rc := callOpen(open, tls, unixVFS, zName, pFile+uintptr(walBufInner), flags, pOutFlags); rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, buf)
		return rc
	}
	h.buf = buf
	h.methods = uintptr(unsafe.Pointer(&walBufMethods))
	return sqlite3.SQLITE_OK
}

// walBufFlush writes the buffer with unix's xWrite (which retries short
// writes) and empties it, also when the write fails: the failure fails the
// transaction, whose frames SQLite then writes again or never counts.
func walBufFlush(tls *libc.TLS, pFile uintptr) int32 {
	h := (*walBufHdr)(cptr(pFile))
	buf, n, off := h.buf, h.n, h.start
	h.n = 0
	inner := pFile + uintptr(walBufInner)
	for n > 0 {
		c := min(n, walBufChunk)
		if rc := callReadWrite(innerMethods(inner).FxWrite, tls, inner, buf, c, off); rc != sqlite3.SQLITE_OK {
			return rc
		}
		buf, n, off = buf+uintptr(c), n-c, off+int64(c)
	}
	return sqlite3.SQLITE_OK
}

// walBufWrite is the WAL's xWrite: a write that continues the buffer goes
// into it; any other (SQLite rewriting a frame of the same transaction,
// or the WAL's header when it starts over) writes the buffer first and
// starts it afresh, so the file ends up with the bytes of the last write to
// each offset, as if written through. SQLite writes at most a page (64
// KiB) at once; anything larger would not fit and is written through.
func walBufWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	h := (*walBufHdr)(cptr(pFile))
	if h.n > 0 && iOfst == h.start+int64(h.n) && int64(h.n)+int64(iAmt) <= walBufCap {
		libc.Xmemcpy(tls, h.buf+uintptr(h.n), zBuf, uint64(iAmt))
		h.n += iAmt
		return sqlite3.SQLITE_OK
	}
	if rc := walBufFlush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if iAmt > walBufChunk {
		inner := pFile + uintptr(walBufInner)
		return callReadWrite(innerMethods(inner).FxWrite, tls, inner, zBuf, iAmt, iOfst)
	}
	libc.Xmemcpy(tls, h.buf, zBuf, uint64(iAmt))
	h.start, h.n = iOfst, iAmt
	return sqlite3.SQLITE_OK
}

// flushed writes pFile's buffer and returns the unix VFS's file object
// inside it, for a method that delegates once the file is whole.
func flushed(tls *libc.TLS, pFile uintptr) (inner uintptr, rc int32) {
	return pFile + uintptr(walBufInner), walBufFlush(tls, pFile)
}

// walBufRead is the WAL's xRead. It writes the buffer first rather than
// reading from it: reads of the writer's own WAL are rare (a spilled or
// rewritten frame, a checkpoint), and the file is then whole for the read.
func walBufRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	inner, rc := flushed(tls, pFile)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return callReadWrite(innerMethods(inner).FxRead, tls, inner, zBuf, iAmt, iOfst)
}

// walBufSync is the WAL's xSync: the one place a commit's frames are
// written, right before they are made durable.
func walBufSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	inner, rc := flushed(tls, pFile)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return callInt(innerMethods(inner).FxSync, tls, inner, flags)
}

// walBufTruncate, walBufFileSize and walBufFileControl write the buffer,
// then delegate: each sees or changes the file as it is on disk.
func walBufTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	inner, rc := flushed(tls, pFile)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxTruncate
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, inner, size)
}

func walBufFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	inner, rc := flushed(tls, pFile)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return callPtr(innerMethods(inner).FxFileSize, tls, inner, pSize)
}

func walBufFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	inner, rc := flushed(tls, pFile)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	fn := innerMethods(inner).FxFileControl
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, inner, op, pArg)
}

// walBufClose is the WAL's xClose: the buffer is written (SQLite closes a
// WAL only between transactions, so it is normally empty), then freed.
func walBufClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := walBufFlush(tls, pFile)
	h := (*walBufHdr)(cptr(pFile))
	inner := pFile + uintptr(walBufInner)
	fn := innerMethods(inner).FxClose
	crc := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, inner)
	libc.Xfree(tls, h.buf)
	*h = walBufHdr{}
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return crc
}

func walBufLock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	inner := pFile + uintptr(walBufInner)
	return callInt(innerMethods(inner).FxLock, tls, inner, lock)
}

func walBufUnlock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	inner := pFile + uintptr(walBufInner)
	return callInt(innerMethods(inner).FxUnlock, tls, inner, lock)
}

func walBufCheckReservedLock(tls *libc.TLS, pFile, pResOut uintptr) int32 {
	inner := pFile + uintptr(walBufInner)
	return callPtr(innerMethods(inner).FxCheckReservedLock, tls, inner, pResOut)
}

func walBufSectorSize(tls *libc.TLS, pFile uintptr) int32 {
	inner := pFile + uintptr(walBufInner)
	return callFile(innerMethods(inner).FxSectorSize, tls, inner)
}

func walBufDeviceCharacteristics(tls *libc.TLS, pFile uintptr) int32 {
	inner := pFile + uintptr(walBufInner)
	return callFile(innerMethods(inner).FxDeviceCharacteristics, tls, inner)
}

// innerMethods is the unix VFS's method table of its file object at inner.
func innerMethods(inner uintptr) *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cptr((*sqlite3.Tsqlite3_file)(cptr(inner)).FpMethods))
}

// A C function pointer in modernc's transpiled SQLite is a Go func value;
// these call one, with the signatures the delegated methods have.

func callOpen(fn uintptr, tls *libc.TLS, vfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, vfs, zName, pFile, flags, pOutFlags)
}

func callReadWrite(fn uintptr, tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, pFile, buf, n, off)
}

func callPtr(fn uintptr, tls *libc.TLS, pFile, p uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, pFile, p)
}

func callInt(fn uintptr, tls *libc.TLS, pFile uintptr, v int32) int32 {
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, pFile, v)
}

func callFile(fn uintptr, tls *libc.TLS, pFile uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ f uintptr }{fn})))(tls, pFile)
}

// cptr turns an address of C memory (modernc's allocator, outside the Go
// heap, or a Go global) into a pointer. Going through memory rather than
// converting the uintptr is what keeps go vet's unsafeptr check, which is
// about Go heap objects the collector could free, from flagging each use.
func cptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
