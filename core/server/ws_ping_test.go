package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/logging/logtest"
)

// pingInterval is the tests' WS_PING_INTERVAL; the pong deadline is the
// same (it is never longer than the interval).
const pingInterval = 500 * time.Millisecond

// dialWS opens a bare coder/websocket connection with token, for peers
// the client package would not play (one that never reads).
func dialWS(t *testing.T, e *env, token string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	c, _, err := websocket.Dial(ctxT(t), e.srv.WSURL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// TestSilentPeerIsClosedWithinThePingDeadline: a peer that never reads
// never answers a ping (pongs are sent by the reader), like a vanished
// one; the server closes its socket one interval plus one deadline after
// it connected, not never.
func TestSilentPeerIsClosedWithinThePingDeadline(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSPingInterval = pingInterval }, nil)
	_, tok := e.user("alice")
	start := time.Now()
	dialWS(t, e, tok, nil) // never read
	e.logs.WaitFor(t, waitFor, logtest.Event("HTTP", "ping_timeout"))
	if took, limit := time.Since(start), 2*pingInterval+2*time.Second; took > limit {
		t.Fatalf("closed after %v, want within %v", took, limit)
	}
	if n := e.srv.Node().Sockets(); n != 0 {
		t.Fatalf("%d sockets still registered after the ping timeout", n)
	}
}

// TestReadingPeerSurvivesPings: a peer that reads answers every ping and
// stays connected across several of them.
func TestReadingPeerSurvivesPings(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSPingInterval = pingInterval }, nil)
	_, tok := e.user("alice")
	pings := make(chan struct{}, 16)
	c := dialWS(t, e, tok, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		pings <- struct{}{}
		return true
	}})
	go func() { // the reader answers the pings
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	for i := range 3 {
		select {
		case <-pings:
		case <-time.After(waitFor):
			t.Fatalf("ping %d did not come", i+1)
		}
	}
	if n := len(e.logs.Events("HTTP", "ping_timeout")); n != 0 {
		t.Fatal("a peer that answered pings was timed out")
	}
	if n := e.srv.Node().Sockets(); n != 1 {
		t.Fatalf("%d sockets registered, want the reading peer's", n)
	}
}
