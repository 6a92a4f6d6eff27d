package httpapi

import (
	"errors"
	"os"
	"time"
)

// An idle socket's read loop parks on a small stack. coder/websocket's
// read path (Reader, its frame loop, bufio, corkConn.Read, netpoll) parks
// deeper than a 2 KiB stack allows, so the read loop's stack grows to
// 4 KiB, and the runtime never shrinks it back while the goroutine parks
// there: it shrinks only a stack less than a quarter used, counting 800 B
// of guard. So the read loop first waits for the socket to be readable
// outside coder/websocket (waitReadable, a few frames deep), on a fresh
// goroutine; once the socket has been quiet for a ping interval the
// pinger wakes the read (kickIdle), which gives up between two messages
// (errIdle), and the loop goes on in a fresh goroutine (see ws.go). An
// idle socket saves 2 KiB of stack; a busy one pays nothing per frame but
// a few atomic operations, and one goroutine start per quiet ping interval.

// errIdle is what a kicked read returns between two messages, at a frame
// boundary: nothing of a frame has been read, so coder/websocket's state
// is intact and the next Reader starts where this one stopped.
var errIdle = errors.New("httpapi: read loop idle")

// aLongTimeAgo is a read deadline that has passed: it wakes a read at once.
var aLongTimeAgo = time.Unix(1, 0)

// waitReadable parks until the socket has something to read, reading
// none of it. A kick meanwhile is cleared and the wait goes on. It
// returns at once where the connection offers no raw descriptor.
func (c *corkConn) waitReadable() {
	if c.raw == nil {
		return
	}
	for {
		err := c.raw.Read(rawReadableFD)
		if err == nil {
			// A kick that came after the wait began and before the bytes
			// is still set (RawConn.Read checks deadlines only before it
			// waits): it must not make the read that follows give up.
			_ = c.Conn.SetReadDeadline(time.Time{})
			return
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || c.Conn.SetReadDeadline(time.Time{}) != nil {
			return // failed: the read that follows says how
		}
	}
}

// kickIdle wakes the read in progress, if any (or the next one), so that
// it returns errIdle if the read loop is between messages at a frame
// boundary, and reads on otherwise.
func (c *corkConn) kickIdle() { _ = c.Conn.SetReadDeadline(aLongTimeAgo) }

// readConn reads from the connection, following the frame boundaries.
// Only kickIdle sets a read deadline, so a deadline error is a kick: it
// is cleared, and the read either gives up with errIdle or goes on.
func (c *corkConn) readConn(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		c.cursor.advance(p[:n])
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if derr := c.Conn.SetReadDeadline(time.Time{}); derr != nil {
			return n, derr
		}
		if n > 0 {
			return n, nil
		}
		if c.between.Load() && c.cursor.atBoundary() {
			return 0, errIdle
		}
	}
}
