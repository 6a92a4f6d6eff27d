package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/dmchat/dmchat/core/chat"
)

// Defaults of DialOptions.
const (
	// DefaultQueueSize is the number of received frames buffered before the
	// reader stops reading.
	DefaultQueueSize = 1024
	// DefaultReadLimit is the client's read limit per frame: above the
	// server's 64 KiB, so tests can observe the server's own limit.
	DefaultReadLimit = 1 << 20
)

// DialOptions configures Dial. The zero value dials without a token, with the
// defaults stated on each field.
type DialOptions struct {
	// Token authenticates the handshake; empty sends none.
	Token string
	// UseCookie sends Token as the "token" cookie instead of the default
	// "Authorization: Bearer" header.
	UseCookie bool
	// Origin, when set, is sent as the Origin header, as a browser would.
	// Empty sends none (a non-browser client).
	Origin string
	// Header holds extra handshake headers; it is not modified.
	Header http.Header
	// QueueSize is how many received frames are buffered; 0 means
	// DefaultQueueSize. When the buffer is full the reader waits: frames are
	// never dropped.
	QueueSize int
	// ReadLimit is the largest frame accepted from the server, in bytes; 0
	// means DefaultReadLimit.
	ReadLimit int64
	// HTTPClient performs the handshake; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// DialError is a handshake the server answered with something other than
// 101 Switching Protocols, like 401 for a bad token or 403 for a foreign
// Origin. Body holds up to 1 KiB of the answer and Code its wire error code
// when the body is {"error":{"code",...}}.
type DialError struct {
	Status int
	Code   string
	Body   string
	Err    error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("client: websocket upgrade refused with HTTP %d: %s", e.Status, e.Body)
}

// Unwrap returns the WebSocket library's error.
func (e *DialError) Unwrap() error { return e.Err }

// CloseError ends every connection: it is what Next and WaitFor return once
// all frames were consumed. Code is the close code the server sent (4003,
// 4001, 1001, 1008, 1009...), or -1 when the connection ended without a close
// frame; Err is the underlying read error.
type CloseError struct {
	Code   int
	Reason string
	Err    error
}

func (e *CloseError) Error() string {
	if e.Code < 0 {
		return fmt.Sprintf("client: connection lost: %v", e.Err)
	}
	return fmt.Sprintf("client: connection closed with %d %q", e.Code, e.Reason)
}

// Unwrap returns the underlying read error.
func (e *CloseError) Unwrap() error { return e.Err }

// Conn is an open WebSocket to the server. One goroutine reads frames, in
// order, into a bounded queue consumed through Frames, Next or WaitFor; use
// one of these at a time. Send, SendMessage, Ack, Close, CloseNow,
// CloseStatus, Done and Skipped are safe to call concurrently with each other
// and with the consumer.
type Conn struct {
	ws     *websocket.Conn
	frames chan Frame
	// quit is closed by Close: the reader then discards frames instead of
	// waiting for queue room, so the close handshake can complete.
	quit     chan struct{}
	quitOnce sync.Once
	// done is closed when the reader has ended; closeErr is written by the
	// reader before it closes frames and done, and only read after.
	done     chan struct{}
	closeErr *CloseError

	mu      sync.Mutex // guards skipped; held only to append or copy, never while calling out
	skipped []Frame
}

// Dial opens a WebSocket to wsURL (ws://, wss://, or http(s):// read as
// ws(s)://). ctx bounds the handshake only, not the connection. The
// handshake response is returned when one arrived; a refused upgrade is a
// *DialError.
func Dial(ctx context.Context, wsURL string, o DialOptions) (*Conn, *http.Response, error) {
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	setToken(h, o.Token, o.UseCookie)
	if o.Origin != "" {
		h.Set("Origin", o.Origin)
	}
	ws, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: o.HTTPClient, HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(resp.Body)
			}
			code, _ := parseErrorBody(body)
			return nil, resp, &DialError{Status: resp.StatusCode, Code: code, Body: string(body), Err: err}
		}
		return nil, resp, fmt.Errorf("client: failed to dial %s: %w", wsURL, err)
	}
	limit := o.ReadLimit
	if limit == 0 {
		limit = DefaultReadLimit
	}
	ws.SetReadLimit(limit)
	size := o.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	c := &Conn{
		ws:     ws,
		frames: make(chan Frame, size),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go c.readLoop()
	return c, resp, nil
}

// readLoop is the one reader goroutine. It ends when a read fails, which
// happens when the server closes, the connection drops, or Close is called.
func (c *Conn) readLoop() {
	// Deferred calls run last-first: done closes before frames, so whoever
	// sees frames end (Next returning the CloseError) also sees Done and
	// CloseStatus report the close.
	defer close(c.frames)
	defer close(c.done)
	discard := false
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			ce := &CloseError{Code: -1, Err: err}
			var wce websocket.CloseError
			if errors.As(err, &wce) {
				ce.Code, ce.Reason = int(wce.Code), wce.Reason
			}
			c.closeErr = ce
			return
		}
		if discard {
			continue
		}
		f := DecodeFrame(data)
		f.Binary = typ == websocket.MessageBinary
		select {
		case c.frames <- f:
		case <-c.quit:
			discard = true
		}
	}
}

// Send writes one text frame: v as-is when it is []byte or json.RawMessage
// (so malformed frames can be sent), else v encoded as JSON (a chat.InFrame,
// a map...).
func (c *Conn) Send(ctx context.Context, v any) error {
	var data []byte
	switch b := v.(type) {
	case []byte:
		data = b
	case json.RawMessage:
		data = b
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			return fmt.Errorf("client: failed to encode frame: %w", err)
		}
	}
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("client: failed to send frame: %w", err)
	}
	return nil
}

// SendMessage sends a MESSAGE_SEND frame. Empty fields are left out of the
// frame, so missing-field errors can be provoked.
func (c *Conn) SendMessage(ctx context.Context, clientMessageID, recipientID, content string) error {
	return c.Send(ctx, chat.InFrame{Type: chat.TypeMessageSend, ClientMessageID: clientMessageID,
		RecipientID: recipientID, Content: content})
}

// Ack sends a DELIVERY_ACK frame for messageID.
func (c *Conn) Ack(ctx context.Context, messageID string) error {
	return c.Send(ctx, chat.InFrame{Type: chat.TypeDeliveryAck, MessageID: messageID})
}

// Frames returns the queue of received frames, in order. It is closed when
// the connection has ended and every frame was received; CloseStatus then
// tells why.
func (c *Conn) Frames() <-chan Frame { return c.frames }

// Next returns the next frame. It fails with ctx's error when ctx ends first,
// and with the connection's *CloseError once the connection has ended and
// every frame was consumed.
func (c *Conn) Next(ctx context.Context) (Frame, error) {
	select {
	case f, ok := <-c.frames:
		if !ok {
			return Frame{}, c.closeErr
		}
		return f, nil
	case <-ctx.Done():
		return Frame{}, fmt.Errorf("client: failed to read frame: %w", ctx.Err())
	}
}

// WaitFor returns the first next frame that pred matches. Frames it skips are
// appended to the log Skipped returns. It fails like Next.
func (c *Conn) WaitFor(ctx context.Context, pred func(Frame) bool) (Frame, error) {
	for {
		f, err := c.Next(ctx)
		if err != nil {
			return Frame{}, err
		}
		if pred(f) {
			return f, nil
		}
		c.mu.Lock()
		c.skipped = append(c.skipped, f)
		c.mu.Unlock()
	}
}

// Skipped returns a copy of every frame WaitFor has skipped so far, in order.
func (c *Conn) Skipped() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.skipped...)
}

// CloseStatus reports how the connection ended: closed is false while it is
// open; then code and reason are those of the server's close frame (code -1
// when there was none). When the connection is closed by this side, code is
// whatever the handshake produced (usually 1000 or -1).
func (c *Conn) CloseStatus() (code int, reason string, closed bool) {
	select {
	case <-c.done:
		return c.closeErr.Code, c.closeErr.Reason, true
	default:
		return 0, "", false
	}
}

// Done is closed when the connection has ended and the reader goroutine has
// exited (frames may still be waiting in Frames).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close performs the close handshake with 1000 (waiting up to the library's
// 5 s for the server's answer), discards frames that arrive meanwhile (those
// already queued stay readable), and waits for the reader goroutine to exit. It is idempotent, and returns nil when
// the server had already closed the connection.
func (c *Conn) Close() error {
	c.quitOnce.Do(func() { close(c.quit) })
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
	// The peer's close frame, whatever its code, means the connection ended
	// cleanly; so does finding it already closed.
	if err != nil && !errors.Is(err, net.ErrClosed) && websocket.CloseStatus(err) == -1 {
		return fmt.Errorf("client: failed to close: %w", err)
	}
	return nil
}

// CloseNow drops the connection without a close handshake, as a lost
// network would, and waits for the reader goroutine to exit. It is
// idempotent.
func (c *Conn) CloseNow() error {
	c.quitOnce.Do(func() { close(c.quit) })
	err := c.ws.CloseNow()
	<-c.done
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("client: failed to close: %w", err)
	}
	return nil
}
