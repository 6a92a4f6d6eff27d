package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// serveWS authenticates before the upgrade (401 JSON), checks the Origin in
// production (403), then hands the socket to the node and starts its read
// loop.
//
// The handler's goroutine returns once the socket is attached: the
// replay it ran grew its stack, and a read loop in a fresh goroutine keeps
// an idle socket's stack small.
func (a *API) serveWS(w http.ResponseWriter, r *http.Request) {
	p, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	if origin := r.Header.Get("Origin"); a.opts.Production && origin != "" && origin != a.opts.CORSOrigin {
		a.fail(w, r, errOrigin)
		return
	}
	cw := &corkingWriter{ResponseWriter: w}
	c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		// The Origin policy is ours (above): development accepts any.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	cw.accepted()
	// Bytes sent right behind the upgrade request are there to read: no
	// wait first. Asked now, while nothing else can read the socket.
	wait := cw.conn.ahead == nil
	a.sockets.Add(1)
	c.SetReadLimit(chat.MaxFrameBytes)

	sess, err := a.node.AttachToken(context.Background(), p.user, p.claims.TokenID, p.claims.ExpiresAt, wsConn{c: c, cork: cw.conn})
	if err != nil {
		// Banned or shutting down: the node queued the closing frames; keep
		// reading so the close handshake completes.
		drain(c)
		a.sockets.Done()
		return
	}
	sr := &socketReader{a: a, c: c, cork: cw.conn, sess: sess, userID: p.user.ID}
	sr.pinger = startPinger(a.pings, c, cw.conn, a.opts.PingTimeout, sr.pingTimedOut)
	go sr.loop(wait)
}

// frameBufs recycles the buffers frames are read into: a frame is decoded
// (copied out) before its buffer goes back.
var frameBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledFrameBuf keeps a rare large frame's buffer out of the pool.
const maxPooledFrameBuf = 16 << 10

// closePingTimeout closes a socket whose peer did not answer a ping in
// time: it is gone (or cannot be reached), and a client that is still
// there reconnects as after a restart.
const closePingTimeout = chat.CloseGoingAway

// socketReader is a socket's read loop: it feeds the session every frame
// until the socket closes, pinging the peer meanwhile. It outlives each
// goroutine that runs the loop: an idle socket's loop waits on a fresh
// goroutine's small stack (see idlepark.go).
type socketReader struct {
	a      *API
	c      *websocket.Conn
	cork   *corkConn
	sess   *node.Session
	userID string
	pinger *pinger
}

func (r *socketReader) pingTimedOut() {
	r.sess.Close(closePingTimeout, "ping timeout")
	r.a.log.Info("ping_timeout", zap.String("userId", r.userID))
}

// loop reads frames, first waiting for the socket to be readable if wait;
// kicked while idle, it goes on in a fresh goroutine and returns.
func (r *socketReader) loop(wait bool) {
	if wait {
		r.cork.waitReadable()
	}
	ctx := context.Background()
	for {
		err := r.a.readFrame(ctx, r.c, r.cork, r.sess)
		if err == nil {
			continue
		}
		if errors.Is(err, errIdle) {
			go r.loop(true)
			return
		}
		r.end(err)
		return
	}
}

// end closes the session with the code the read's error calls for.
func (r *socketReader) end(err error) {
	code := websocket.CloseStatus(err)
	if errors.Is(err, websocket.ErrMessageTooBig) {
		// coder/websocket has already closed the socket with 1009.
		code = websocket.StatusMessageTooBig
		r.a.log.Info("frame_too_large", zap.String("userId", r.userID))
	}
	if errors.Is(err, context.Canceled) || code == -1 {
		code = websocket.StatusNormalClosure
	}
	r.sess.Close(int(code), "")
	r.pinger.stop()
	r.a.sockets.Done()
}

// readFrame reads one message into a pooled buffer and hands it to the
// session.
func (a *API) readFrame(ctx context.Context, c *websocket.Conn, cork *corkConn, sess *node.Session) error {
	cork.between.Store(true)
	typ, r, err := c.Reader(ctx)
	cork.between.Store(false)
	if err != nil {
		return err
	}
	cork.messages.Add(1)
	buf := frameBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledFrameBuf {
			buf.Reset()
			frameBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	if typ != websocket.MessageText {
		sess.HandleFrame(ctx, []byte("binary frame"))
	} else {
		sess.HandleFrame(ctx, buf.Bytes())
	}
	return nil
}

// drain reads until the socket is closed (or a deadline), so a
// server-initiated close receives the peer's answer.
func drain(c *websocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}
