package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
)

// rawDial opens a TCP connection to the instance from the loopback
// address from (Linux routes all of 127/8 to lo, so each is a distinct
// client address).
func rawDial(t *testing.T, e *env, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitFor}
	c, err := d.Dial("tcp", e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reads (and discards any response) until the server closes
// c, reporting false if that has not happened within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

// getHealthz sends one keep-alive GET /healthz on c and reads its answer.
func getHealthz(t *testing.T, c net.Conn, within time.Duration) (*http.Response, error) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func withTimeouts(t server.Timeouts) func(*server.Options) {
	return func(o *server.Options) { o.Timeouts = t }
}

// The old 10 s header timeout would keep a half-sent header for longer
// than the 3 s this test waits.
func TestSlowlorisHeaderIsDisconnected(t *testing.T) {
	e := setupWith(t, nil, nil, withTimeouts(server.Timeouts{ReadHeader: 200 * time.Millisecond}))
	c := rawDial(t, e, "127.0.0.2")
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(c, 3*time.Second) {
		t.Fatal("a connection with a never-finished header was kept open")
	}
}

func TestUnfinishedBodyIsDisconnected(t *testing.T) {
	e := setupWith(t, nil, nil, withTimeouts(server.Timeouts{Read: 300 * time.Millisecond}))
	c := rawDial(t, e, "127.0.0.2")
	_, err := c.Write([]byte("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: 1000\r\n\r\n{\"username\":"))
	if err != nil {
		t.Fatal(err)
	}
	if !closedWithin(c, 3*time.Second) {
		t.Fatal("a connection with a never-finished body was kept open")
	}
}

func TestIdleKeepAliveIsClosed(t *testing.T) {
	e := setupWith(t, nil, nil, withTimeouts(server.Timeouts{Idle: 300 * time.Millisecond}))
	c := rawDial(t, e, "127.0.0.2")
	resp, err := getHealthz(t, c, waitFor)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if !closedWithin(c, 3*time.Second) {
		t.Fatal("an idle keep-alive connection was kept open")
	}
}

// One address opening many idle connections gets only its share; the
// others are closed at once and /healthz still answers everyone else.
func TestIdleConnectionsOfOneAddressDoNotStopHealthz(t *testing.T) {
	const perIP, tries = 5, 40
	e := setup(t, func(c *config.Config) { c.MaxConnections, c.MaxConnectionsPerIP = 20, perIP }, nil)
	var conns []net.Conn
	for range tries {
		conns = append(conns, rawDial(t, e, "127.0.0.2"))
	}
	closed := 0
	for _, c := range conns {
		if closedWithin(c, 200*time.Millisecond) {
			closed++
		}
	}
	if closed < tries-perIP {
		t.Fatalf("%d of %d connections from one address closed, want at least %d", closed, tries, tries-perIP)
	}
	if err := e.api.Healthz(ctxT(t)); err != nil {
		t.Fatalf("healthz from another address: %v", err)
	}
}

// A trusted proxy carries every client's connections: the per-address cap
// does not apply to it.
func TestTrustedProxyIsNotCappedPerAddress(t *testing.T) {
	e := setup(t, func(c *config.Config) {
		c.MaxConnections, c.MaxConnectionsPerIP = 20, 2
		c.TrustedProxies = mustPrefixes(t, "127.0.0.2/32")
	}, nil)
	for i := range 5 {
		c := rawDial(t, e, "127.0.0.2")
		if resp, err := getHealthz(t, c, waitFor); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("proxy connection %d: %v %v", i+1, resp, err)
		}
	}
}

// Headers over MaxHeaderBytes are refused (431) instead of buffered.
func TestHugeHeadersAreRefused(t *testing.T) {
	e := setup(t, nil, nil)
	c := rawDial(t, e, "127.0.0.2")
	// net/http reads MaxHeaderBytes plus its 4 KiB of slack before it
	// answers; sending exactly that much leaves nothing unread, so the
	// close after the answer cannot turn into a reset that hides it.
	head := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
	req := head + strings.Repeat("a", server.MaxHeaderBytes+4096-len(head))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("huge header: %v %v, want 431", resp, err)
	}
}

// Over MAX_CONNECTIONS a new connection waits (in the backlog) until one
// closes.
func TestConnectionCapHoldsNewConnectionsBack(t *testing.T) {
	e := setup(t, func(c *config.Config) {
		c.MaxConnections, c.MaxConnectionsPerIP = 2, 10
		c.AdminBootstrapName = "" // no login: the test's connections are the only ones
	}, nil)
	first := rawDial(t, e, "127.0.0.2")
	second := rawDial(t, e, "127.0.0.3")
	for _, c := range []net.Conn{first, second} {
		if resp, err := getHealthz(t, c, waitFor); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz under the cap: %v %v", resp, err)
		}
	}
	third := rawDial(t, e, "127.0.0.4")
	if _, err := fmt.Fprintf(third, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = third.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	r := bufio.NewReader(third)
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("a third connection was served over MAX_CONNECTIONS=2")
	}
	_ = first.Close()
	_ = third.SetReadDeadline(time.Now().Add(waitFor))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the held-back connection after a slot freed: %v %v", resp, err)
	}
}

// The upgrade hijacks the connection, and net/http clears the deadlines
// then, so short Read and Write timeouts do not cut a WebSocket.
func TestWebSocketOutlivesReadAndWriteTimeouts(t *testing.T) {
	e := setupWith(t, nil, nil, withTimeouts(server.Timeouts{
		Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: time.Second,
	}))
	id, tok := e.user("alice")
	ws, _ := e.dial(tok)

	// An idle keep-alive closed after Idle shows that more than Read and
	// Write have passed since the socket opened.
	c := rawDial(t, e, "127.0.0.2")
	if resp, err := getHealthz(t, c, waitFor); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if !closedWithin(c, waitFor) {
		t.Fatal("the keep-alive was not closed")
	}
	send(t, ws, "c1", id, "still here")
	expectType(t, ws, chat.TypeMessageAck)
	expectType(t, ws, chat.TypeMessage)
}

// lineSink is a log destination that keeps each write as one line and
// signals every new one.
type lineSink struct {
	mu      sync.Mutex
	lines   [][]byte
	changed chan struct{}
}

func newLineSink() *lineSink { return &lineSink{changed: make(chan struct{})} }

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		s.lines = append(s.lines, append([]byte(nil), l...))
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

func (s *lineSink) Sync() error { return nil }

// waitLine waits for a line containing sub and returns every line so far.
func (s *lineSink) waitLine(t *testing.T, sub string) [][]byte {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		s.mu.Lock()
		lines, ch := append([][]byte(nil), s.lines...), s.changed
		s.mu.Unlock()
		for _, l := range lines {
			if bytes.Contains(l, []byte(sub)) {
				return lines
			}
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no log line containing %q in:\n%s", sub, bytes.Join(lines, []byte("\n")))
		}
	}
}

// flakyListener fails its first Accept with a temporary error, which
// net/http reports through its ErrorLog and retries.
type flakyListener struct {
	net.Listener
	once sync.Once
}

type temporaryError struct{}

func (temporaryError) Error() string   { return "injected accept failure" }
func (temporaryError) Timeout() bool   { return false }
func (temporaryError) Temporary() bool { return true }

func (l *flakyListener) Accept() (net.Conn, error) {
	failed := false
	l.once.Do(func() { failed = true })
	if failed {
		return nil, temporaryError{}
	}
	return l.Listener.Accept()
}

func TestNetHTTPErrorsAreJSONLogLines(t *testing.T) {
	sink := newLineSink()
	e := setupWith(t, func(c *config.Config) { c.Production = true; c.Env = config.EnvProduction }, nil, func(o *server.Options) {
		o.Listener = &flakyListener{Listener: o.Listener}
		o.LogOutput = zapcore.AddSync(sink)
	})
	if err := e.api.Healthz(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	lines := sink.waitLine(t, "injected accept failure")
	for _, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal(l, &obj); err != nil {
			t.Fatalf("log line is not one JSON object: %q", l)
		}
		if !strings.Contains(fmt.Sprint(obj["detail"]), "injected accept failure") {
			continue
		}
		if obj["logger"] != "HTTP" || obj["msg"] != "http_server_error" || obj["instanceId"] != "T1" {
			t.Fatalf("net/http's line: %s", l)
		}
	}
}
