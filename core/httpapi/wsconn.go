package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/dmchat/dmchat/core/hub"
)

// Buffer sizes of a hijacked WebSocket connection. net/http hands over 4 KiB
// for each direction and keeps them for the connection's life; an idle
// socket needs neither, and keeps these for its whole life (640 B in all):
//   - reads: a DM frame (~150–300 B) arrives whole in one read of 512 B;
//     a payload of 512 B or more is read straight into the frame buffer
//     (bufio bypasses its buffer for reads at least its size), so a
//     larger frame costs at most one more read than with 1 KiB.
//   - writes: data frames are written corked, so a frame that does not fit
//     in 128 B only costs one more copy into corkConn's batch, never a
//     system call; the frames written uncorked are control frames (ping,
//     pong, close: a 2-byte header and at most 125 B of payload, unmasked
//     from a server), which fit, so each is still one system call.
const (
	wsReadBufferSize  = 512
	wsWriteBufferSize = 128
	// corkFlushBytes is how much a corked connection collects before it
	// writes anyway, so a long batch (a replay) is not held in memory whole.
	corkFlushBytes = 64 << 10
)

// corkBufs recycles the buffers corked connections collect into, so a
// socket holds one only while it writes.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// corkConn is the hijacked connection under a WebSocket. coder/websocket
// flushes every message to it; while corked it collects those flushes, and
// uncork sends them in one write, so a batch of frames costs one system
// call instead of one per frame. Writes made while not corked (control
// frames: pong, close) go straight through, in order with the batches.
//
// A batch can also be tried (tryUncork): written with one non-blocking
// system call, keeping what the socket did not take. Until a later uncork
// sends those held bytes, every write is appended behind them, so frames
// never interleave.
type corkConn struct {
	net.Conn
	raw syscall.RawConn // for non-blocking writes; nil if the conn has none
	// rawWrite is the function handed to raw.Write, made once: a closure
	// made per call would cost three allocations per frame. It writes
	// rawBuf and leaves rawN and rawErr; all three are guarded by mu.
	rawWrite func(fd uintptr) bool
	rawBuf   []byte
	rawN     int
	rawErr   error

	mu       sync.Mutex
	corked   bool
	trying   bool      // the batch will be tried: never block to flush it
	buf      *[]byte   // from corkBufs, while corked or holding bytes
	deadline time.Time // of the batch being collected
	// deadlineSet says the connection carries a batch's write deadline,
	// which a write outside a batch must clear first.
	deadlineSet bool

	// ahead is what the HTTP server had read past the upgrade request.
	// ahead and cursor belong to whoever holds coder/websocket's read lock
	// (the read loop, or a Close waiting for the peer's close frame).
	ahead  []byte
	cursor frameCursor // where the bytes read stand in the client's frames
	// between says the read loop waits for the next message, inside
	// coder/websocket's Reader (see idlepark.go); messages counts the
	// messages it has read, so the pinger can tell a quiet socket.
	between  atomic.Bool
	messages atomic.Uint32
}

func newCorkConn(nc net.Conn) *corkConn {
	c := &corkConn{Conn: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.rawWrite = func(fd uintptr) bool {
		c.rawN, c.rawErr = rawWriteFD(fd, c.rawBuf)
		return true // one attempt: never wait for the socket
	}
	return c
}

// Read returns the bytes read ahead of the upgrade first.
func (c *corkConn) Read(p []byte) (int, error) {
	if len(c.ahead) > 0 {
		n := copy(p, c.ahead)
		c.cursor.advance(p[:n])
		c.ahead = c.ahead[n:]
		if len(c.ahead) == 0 {
			c.ahead = nil
		}
		return n, nil
	}
	return c.readConn(p)
}

// cork starts collecting writes for a batch, behind any held bytes. A
// batch that will be uncorked must be written by deadline; one that will
// be tried has none.
func (c *corkConn) cork(deadline time.Time, trying bool) {
	c.mu.Lock()
	c.corked, c.trying, c.deadline = true, trying, deadline
	if c.buf == nil {
		c.buf = corkBufs.Get().(*[]byte)
	}
	c.mu.Unlock()
}

// uncork writes what was collected (held bytes first) and stops
// collecting; with send false (the batch failed) it drops it all.
func (c *corkConn) uncork(send bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if send {
		err = c.flushLocked()
	}
	c.corked = false
	c.releaseLocked()
	return err
}

// tryUncork stops collecting and writes what was collected with one
// non-blocking system call. done reports whether all of it left; if not,
// the rest is held for the next uncork.
func (c *corkConn) tryUncork() (done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked, c.trying = false, false
	b := *c.buf
	n, err := c.writeNowLocked(b)
	if err != nil {
		c.releaseLocked()
		return false, err
	}
	if n == len(b) {
		c.releaseLocked()
		return true, nil
	}
	*c.buf = b[:copy(b, b[n:])]
	return false, nil
}

// releaseLocked gives the buffer back, dropping what it holds.
func (c *corkConn) releaseLocked() {
	if cap(*c.buf) <= corkFlushBytes*2 {
		*c.buf = (*c.buf)[:0]
		corkBufs.Put(c.buf)
	}
	c.buf = nil
}

// flushLocked writes the collected bytes under the batch's deadline.
func (c *corkConn) flushLocked() error {
	b := *c.buf
	if len(b) == 0 {
		return nil
	}
	*c.buf = b[:0]
	if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
		return err
	}
	c.deadlineSet = true
	_, err := c.Conn.Write(b)
	return err
}

// writeNowLocked writes b with one non-blocking system call and returns
// how much the socket took.
func (c *corkConn) writeNowLocked(b []byte) (int, error) {
	if c.raw == nil || len(b) == 0 {
		return 0, nil
	}
	if c.deadlineSet {
		// A past batch deadline would refuse the write before it is tried.
		if err := c.Conn.SetWriteDeadline(time.Time{}); err != nil {
			return 0, err
		}
		c.deadlineSet = false
	}
	c.rawBuf, c.rawN = b, 0
	err := c.raw.Write(c.rawWrite)
	n, werr := c.rawN, c.rawErr
	c.rawBuf, c.rawErr = nil, nil
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if werr == syscall.EAGAIN || werr == syscall.EINTR {
		werr = nil // the socket is full (or the call was cut short): held
	}
	return n, werr
}

// Write is called by coder/websocket, under its own write lock.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil { // corked, or holding bytes that must go first
		*c.buf = append(*c.buf, p...)
		if c.corked && !c.trying && len(*c.buf) >= corkFlushBytes {
			if err := c.flushLocked(); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	}
	if c.deadlineSet {
		// The last batch's deadline has passed or will; this write is not
		// part of it (coder/websocket bounds control writes itself).
		if err := c.Conn.SetWriteDeadline(time.Time{}); err != nil {
			return 0, err
		}
		c.deadlineSet = false
	}
	return c.Conn.Write(p)
}

// corkingWriter is the http.ResponseWriter handed to websocket.Accept: its
// Hijack wraps the connection in a corkConn and gives coder/websocket
// small buffers.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
	br   *bufio.Reader // the reader handed to coder/websocket
}

// accepted undoes what websocket.Accept wraps around the reader: it
// resets it onto an io.MultiReader of the bytes read ahead (always none
// here: Hijack moved them into the corkConn) and the connection, which an
// idle socket would keep for its whole life (~110 B). Call it right after
// Accept, before anything can read the socket.
func (w *corkingWriter) accepted() {
	if w.br != nil && w.br.Buffered() == 0 {
		w.br.Reset(w.conn)
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker.
func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = newCorkConn(nc)
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after the upgrade request, already
		// read by the server, come first. They go into the connection, not
		// the new reader: coder/websocket resets the reader onto it.
		ahead, _ := brw.Reader.Peek(n)
		w.conn.ahead = bytes.Clone(ahead)
	}
	w.br = bufio.NewReaderSize(w.conn, wsReadBufferSize)
	return w.conn, bufio.NewReadWriter(w.br, bufio.NewWriterSize(w.conn, wsWriteBufferSize)), nil
}

// wsConn adapts a coder/websocket connection over a corkConn to hub.Transport.
type wsConn struct {
	c    *websocket.Conn
	cork *corkConn
}

var _ hub.Transport = wsConn{}

// Write writes frames as text messages in one system call (or one per
// corkFlushBytes). The messages are only collected in memory until the
// uncork, so coder/websocket gets no context deadline to watch; the
// deadline applies to the real write.
func (w wsConn) Write(deadline time.Time, frames [][]byte) error {
	if err := w.collect(deadline, false, frames); err != nil {
		return err
	}
	return w.cork.uncork(true)
}

var _ hub.TryWriter = wsConn{}

// TryWrite writes frames with one non-blocking system call; what the
// socket does not take is held for the next Write.
func (w wsConn) TryWrite(frames [][]byte) (bool, error) {
	if err := w.collect(time.Time{}, true, frames); err != nil {
		return false, err
	}
	return w.cork.tryUncork()
}

// collect corks the connection and has coder/websocket frame each message
// into it. On failure the connection is uncorked and everything dropped.
func (w wsConn) collect(deadline time.Time, trying bool, frames [][]byte) error {
	w.cork.cork(deadline, trying)
	for _, f := range frames {
		if err := w.c.Write(context.Background(), websocket.MessageText, f); err != nil {
			_ = w.cork.uncork(false)
			return err
		}
	}
	return nil
}

func (w wsConn) Close(code int, reason string) error {
	return w.c.Close(websocket.StatusCode(code), reason)
}
