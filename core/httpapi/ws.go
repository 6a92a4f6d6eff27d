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
		fail(w, errOrigin)
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
	go a.readLoop(c, sess, p.user.ID)
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

// readLoop feeds the session every frame until the socket closes, pinging
// the peer meanwhile.
func (a *API) readLoop(c *websocket.Conn, sess *node.Session, userID string) {
	defer a.sockets.Done()
	p := startPinger(a.pings, c, a.opts.PingTimeout, func() {
		sess.Close(closePingTimeout, "ping timeout")
		a.log.Info("ping_timeout", zap.String("userId", userID))
	})
	defer p.stop()
	ctx := context.Background()
	for {
		if err := a.readFrame(ctx, c, sess); err != nil {
			code := websocket.CloseStatus(err)
			if errors.Is(err, websocket.ErrMessageTooBig) {
				// coder/websocket has already closed the socket with 1009.
				code = websocket.StatusMessageTooBig
				a.log.Info("frame_too_large", zap.String("userId", userID))
			}
			if errors.Is(err, context.Canceled) || code == -1 {
				code = websocket.StatusNormalClosure
			}
			sess.Close(int(code), "")
			return
		}
	}
}

// readFrame reads one message into a pooled buffer and hands it to the
// session.
func (a *API) readFrame(ctx context.Context, c *websocket.Conn, sess *node.Session) error {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
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
