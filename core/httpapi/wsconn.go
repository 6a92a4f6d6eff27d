package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dmchat/dmchat/core/hub"
)

// Buffer sizes of a hijacked WebSocket connection. net/http hands over 4 KiB
// for each direction and keeps them for the connection's life; an idle
// socket needs neither: frames are small, larger ones are read straight
// into the frame buffer, and writes are collected by corkConn anyway.
const (
	wsReadBufferSize  = 1024
	wsWriteBufferSize = 512
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
type corkConn struct {
	net.Conn

	mu       sync.Mutex
	corked   bool
	buf      *[]byte   // from corkBufs, while corked
	deadline time.Time // of the batch being collected
	// deadlineSet says the connection carries a batch's write deadline,
	// which a write outside a batch must clear first.
	deadlineSet bool

	// ahead is what the HTTP server had read past the upgrade request; the
	// read goroutine alone uses it.
	ahead []byte
}

// Read returns the bytes read ahead of the upgrade first.
func (c *corkConn) Read(p []byte) (int, error) {
	if len(c.ahead) > 0 {
		n := copy(p, c.ahead)
		c.ahead = c.ahead[n:]
		if len(c.ahead) == 0 {
			c.ahead = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// cork starts collecting writes for a batch that must be written by
// deadline.
func (c *corkConn) cork(deadline time.Time) {
	c.mu.Lock()
	c.corked = true
	c.deadline = deadline
	c.buf = corkBufs.Get().(*[]byte)
	c.mu.Unlock()
}

// uncork writes what was collected and stops collecting; with send false
// (the batch failed) it drops it.
func (c *corkConn) uncork(send bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if send {
		err = c.flushLocked()
	}
	c.corked = false
	if cap(*c.buf) <= corkFlushBytes*2 {
		*c.buf = (*c.buf)[:0]
		corkBufs.Put(c.buf)
	}
	c.buf = nil
	return err
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

// Write is called by coder/websocket, under its own write lock.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		if len(*c.buf) >= corkFlushBytes {
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
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker.
func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after the upgrade request, already
		// read by the server, come first. They go into the connection, not
		// the new reader: coder/websocket resets the reader onto it.
		ahead, _ := brw.Reader.Peek(n)
		w.conn.ahead = bytes.Clone(ahead)
	}
	brw = bufio.NewReadWriter(bufio.NewReaderSize(w.conn, wsReadBufferSize), bufio.NewWriterSize(w.conn, wsWriteBufferSize))
	return w.conn, brw, nil
}

// wsConn adapts a coder/websocket connection over a corkConn to hub.Conn.
type wsConn struct {
	c    *websocket.Conn
	cork *corkConn
}

var _ hub.Conn = wsConn{}

// Write writes frames as text messages in one system call (or one per
// corkFlushBytes). The messages are only collected in memory until the
// uncork, so coder/websocket gets no context deadline to watch; the
// deadline applies to the real write.
func (w wsConn) Write(deadline time.Time, frames [][]byte) error {
	w.cork.cork(deadline)
	for _, f := range frames {
		if err := w.c.Write(context.Background(), websocket.MessageText, f); err != nil {
			_ = w.cork.uncork(false)
			return err
		}
	}
	return w.cork.uncork(true)
}

func (w wsConn) Close(code int, reason string) error {
	return w.c.Close(websocket.StatusCode(code), reason)
}
