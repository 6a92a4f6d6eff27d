package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// rawClient upgrades a plain TCP connection by hand, so a test can send
// frames split wherever it likes. It returns the connection and the
// server's end.
func rawClient(t testing.TB) (net.Conn, wsConn) {
	t.Helper()
	conns := make(chan wsConn, 1)
	url, _ := serveCorked(t, func(c wsConn) { conns <- c })
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return nc, <-conns
}

// maskedText is a text frame as a client sends it.
func maskedText(s string) []byte {
	key := []byte{1, 2, 3, 4}
	f := append([]byte{0x81, 0x80 | byte(len(s))}, key...)
	for i := range len(s) {
		f = append(f, s[i]^key[i%4])
	}
	return f
}

// serverLoop reads messages as socketReader.loop does, reporting each
// message and each errIdle.
func serverLoop(t *testing.T, server wsConn) (msgs chan string, idles chan struct{}) {
	t.Helper()
	msgs, idles = make(chan string, 256), make(chan struct{}, 256)
	go func() {
		defer close(msgs)
		for {
			server.cork.between.Store(true)
			_, r, err := server.c.Reader(t.Context())
			server.cork.between.Store(false)
			if errors.Is(err, errIdle) {
				idles <- struct{}{}
				server.cork.waitReadable()
				continue
			}
			if err != nil {
				return
			}
			server.cork.messages.Add(1)
			b, err := io.ReadAll(r)
			if err != nil {
				return
			}
			msgs <- string(b)
		}
	}()
	return msgs, idles
}

func expectMessage(t *testing.T, msgs chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-msgs:
		if !ok || got != want {
			t.Fatalf("read %q (open %v), want %q", got, ok, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%q never arrived", want)
	}
}

// TestKickedReadGivesUpBetweenMessages: a kick makes the read waiting for
// the next message return errIdle, and the messages that come afterwards
// arrive whole; a kick while waiting for readability changes nothing.
func TestKickedReadGivesUpBetweenMessages(t *testing.T) {
	nc, server := rawClient(t)
	msgs, idles := serverLoop(t, server)
	server.cork.kickIdle()
	select {
	case <-idles:
	case <-time.After(10 * time.Second):
		t.Fatal("a kicked read did not give up")
	}
	server.cork.kickIdle() // lands in waitReadable (or before it): cleared
	if _, err := nc.Write(maskedText("one")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, msgs, "one")
	select {
	case <-idles:
		t.Fatal("a kick while waiting for readability gave up a read")
	default:
	}
}

// TestKickMidFrameReadsOn: kicks that land while a frame is half read
// (in its header or its payload) do not give the read up: every message
// arrives whole, whatever the split.
func TestKickMidFrameReadsOn(t *testing.T) {
	nc, server := rawClient(t)
	msgs, _ := serverLoop(t, server)
	for i := range 200 {
		want := fmt.Sprintf("message %d", i)
		f := maskedText(want)
		cut := 1 + i%(len(f)-1)
		if _, err := nc.Write(f[:cut]); err != nil {
			t.Fatal(err)
		}
		server.cork.kickIdle()
		if _, err := nc.Write(f[cut:]); err != nil {
			t.Fatal(err)
		}
		expectMessage(t, msgs, want)
	}
	_ = server.c.CloseNow()
	if _, ok := <-msgs; ok {
		t.Fatal("a message after the last")
	}
}

// TestPongKicksAQuietSocketOnly: after a pong, the pinger kicks the read
// loop of a socket that read no message since the last pong, and leaves
// a busy one alone.
func TestPongKicksAQuietSocketOnly(t *testing.T) {
	ctx, client, server, _ := dialCorked(t)
	msgs, idles := serverLoop(t, server)
	go func() {
		for {
			if _, _, err := client.Read(ctx); err != nil {
				return
			}
		}
	}()
	p := &pinger{w: newPingWheel(time.Hour), c: server.c, cork: server.cork, timeout: 5 * time.Second, onDead: func() {}}
	defer p.stop()
	p.ping() // quiet since the start: kicked
	select {
	case <-idles:
	case <-time.After(10 * time.Second):
		t.Fatal("a quiet socket was not kicked after its pong")
	}
	if err := client.Write(ctx, websocket.MessageText, []byte("busy")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, msgs, "busy")
	p.ping() // a message since the last pong: not kicked
	if err := client.Write(ctx, websocket.MessageText, []byte("after")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, msgs, "after")
	select {
	case <-idles:
		t.Fatal("a busy socket was kicked")
	default:
	}
}
