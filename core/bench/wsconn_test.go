package bench

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// setupWS serves handle on a real loopback WebSocket server (the library
// the server uses) and returns its ws:// URL.
func setupWS(t *testing.T, handle func(ctx context.Context, c *websocket.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			http.Error(w, `{"error":{"code":"UNAUTHORIZED"}}`, http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(1 << 20)
		handle(r.Context(), c)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func dialTest(t *testing.T, url string) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dialWS(ctx, url, dialOptions{Token: "good"})
	if err != nil {
		t.Fatalf("dialWS: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func TestWSConnEchoesFramesOfEverySize(t *testing.T) {
	url := setupWS(t, func(ctx context.Context, c *websocket.Conn) {
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, b); err != nil {
				return
			}
		}
	})
	c := dialTest(t, url)
	payloads := [][]byte{
		[]byte("a"), bytes.Repeat([]byte("b"), 125), bytes.Repeat([]byte("c"), 126),
		bytes.Repeat([]byte("d"), 70000), []byte(`{"type":"MESSAGE_SEND"}`),
	}
	// All in one write: the server must still see five messages.
	if err := c.WriteFrames(payloads...); err != nil {
		t.Fatalf("WriteFrames: %v", err)
	}
	for i, want := range payloads {
		got, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("ReadFrame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
	// AppendText + WriteBuffered is the same thing, laid out by the caller.
	var out []byte
	out = c.AppendText(out, []byte("x1"))
	out = c.AppendText(out, []byte("x22"))
	if err := c.WriteBuffered(out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"x1", "x22"} {
		got, err := c.ReadFrame()
		if err != nil || string(got) != want {
			t.Fatalf("ReadFrame = %q, %v; want %q", got, err, want)
		}
	}
}

func TestWSConnAnswersPingAndReportsClose(t *testing.T) {
	pinged := make(chan error, 1)
	url := setupWS(t, func(ctx context.Context, c *websocket.Conn) {
		ctx = c.CloseRead(ctx) // reads (and so receives the pong) in the background
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pinged <- c.Ping(pctx)
		cancel()
		_ = c.Close(4003, "banned")
	})
	c := dialTest(t, url)
	_, err := c.ReadFrame()
	var ce *wsCloseError
	if !errors.As(err, &ce) || ce.Code != 4003 || ce.Reason != "banned" {
		t.Fatalf("ReadFrame error = %v, want close 4003 banned", err)
	}
	if err := <-pinged; err != nil {
		t.Fatalf("server ping was not answered: %v", err)
	}
}

func TestWSConnRefusedHandshake(t *testing.T) {
	url := setupWS(t, func(context.Context, *websocket.Conn) {})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := dialWS(ctx, url, dialOptions{Token: "bad"})
	var he *handshakeError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("dialWS error = %v, want a 401 handshake error", err)
	}
}
