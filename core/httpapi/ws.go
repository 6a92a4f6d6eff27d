package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
)

// serveWS authenticates before the upgrade (401 JSON), checks the Origin in
// production (403), then hands the socket to the node and reads frames
// until it closes.
func (a *API) serveWS(w http.ResponseWriter, r *http.Request) {
	p, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	if origin := r.Header.Get("Origin"); a.opts.Production && origin != "" && origin != a.opts.CORSOrigin {
		writeError(w, http.StatusForbidden, chat.CodeForbidden, "origin not allowed")
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The Origin policy is ours (above): development accepts any.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	a.sockets.Add(1)
	defer a.sockets.Done()
	c.SetReadLimit(chat.MaxFrameBytes)

	ctx := context.Background()
	sess, err := a.node.Attach(ctx, p.user, p.claims.ExpiresAt, wsConn{c})
	if err != nil {
		// Banned or shutting down: the node queued the closing frames; keep
		// reading so the close handshake completes.
		drain(c)
		return
	}
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			code := websocket.CloseStatus(err)
			if code == websocket.StatusMessageTooBig {
				a.log.Info("frame_too_large", zap.String("userId", p.user.ID))
			}
			if errors.Is(err, context.Canceled) || code == -1 {
				code = websocket.StatusNormalClosure
			}
			sess.Close(int(code), "")
			return
		}
		if typ != websocket.MessageText {
			sess.HandleFrame(ctx, []byte("binary frame"))
			continue
		}
		sess.HandleFrame(ctx, data)
	}
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

// wsConn adapts a coder/websocket connection to hub.Conn.
type wsConn struct{ c *websocket.Conn }

var _ hub.Conn = wsConn{}

func (w wsConn) Write(ctx context.Context, frame []byte) error {
	return w.c.Write(ctx, websocket.MessageText, frame)
}

func (w wsConn) Close(code int, reason string) error {
	return w.c.Close(websocket.StatusCode(code), reason)
}
