package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// countingListener counts the Write calls made on the connections it
// accepts: one per system call the server makes.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// SyscallConn passes the TCP connection's through, so tried writes work
// as on a real server (they are not counted).
func (c *countingConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

// serveCorked starts an HTTP server on loopback whose handler upgrades
// through corkingWriter, as serveWS does, and passes each socket to got.
// It returns the ws:// URL and the listener.
func serveCorked(t testing.TB, got func(wsConn)) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkingWriter{ResponseWriter: w}
		c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		cw.accepted()
		got(wsConn{c: c, cork: cw.conn})
	})}
	go func() { _ = srv.Serve(cl) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "ws://" + ln.Addr().String(), cl
}

// dialCorked connects a coder/websocket client to serveCorked and returns
// a context for the test, both ends and the listener counting writes.
func dialCorked(t *testing.T) (context.Context, *websocket.Conn, wsConn, *countingListener) {
	t.Helper()
	conns := make(chan wsConn, 1)
	url, ln := serveCorked(t, func(c wsConn) { conns <- c })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	client, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CloseNow() })
	return ctx, client, <-conns, ln
}

func TestBatchOfFramesIsOneSystemCall(t *testing.T) {
	ctx, client, server, ln := dialCorked(t)

	frames := [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`), []byte(strings.Repeat("x", 3000)), []byte(`{"n":4}`)}
	before := ln.writes.Load()
	if err := server.Write(time.Now().Add(5*time.Second), frames); err != nil {
		t.Fatal(err)
	}
	if n := ln.writes.Load() - before; n != 1 {
		t.Fatalf("%d frames took %d writes, want 1", len(frames), n)
	}
	for i, want := range frames {
		typ, b, err := client.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != websocket.MessageText || string(b) != string(want) {
			t.Fatalf("message %d = %v %.20q, want text %.20q", i, typ, b, want)
		}
	}
}

// TestControlFrameIsOneSystemCall: the frames written outside a batch
// (ping, and close with the longest reason a close frame carries) fit the
// connection's write buffer, so each is still one write.
func TestControlFrameIsOneSystemCall(t *testing.T) {
	ctx, client, server, ln := dialCorked(t)
	go func() { _, _, _ = client.Read(ctx) }()   // answers the ping, then the close
	go func() { _, _, _ = server.c.Read(ctx) }() // takes the pong

	before := ln.writes.Load()
	if err := server.c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ln.writes.Load() - before; n != 1 {
		t.Fatalf("a ping took %d writes, want 1", n)
	}
	before = ln.writes.Load()
	if err := server.Close(4003, strings.Repeat("r", 123)); err != nil {
		t.Fatal(err)
	}
	if n := ln.writes.Load() - before; n != 1 {
		t.Fatalf("a close frame took %d writes, want 1", n)
	}
}

// TestCloseAfterABatchDeadlinePassed: a batch's write deadline must not
// outlive the batch, or the close frame written later fails.
func TestCloseAfterABatchDeadlinePassed(t *testing.T) {
	ctx, client, server, _ := dialCorked(t)

	deadline := time.Now().Add(50 * time.Millisecond)
	if err := server.Write(deadline, [][]byte{[]byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Read(ctx); err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(deadline.Add(10 * time.Millisecond)) {
		time.Sleep(10 * time.Millisecond) // the condition is the clock itself
	}
	go func() { _ = server.Close(4003, "banned") }()
	_, _, err := client.Read(ctx)
	if code := websocket.CloseStatus(err); code != 4003 {
		t.Fatalf("client saw %v (code %d), want close 4003", err, code)
	}
}

// TestStuckPeerFailsTheBatchAtItsDeadline: a client that never reads
// fills the socket buffers; the batch write gives up at its deadline.
func TestStuckPeerFailsTheBatchAtItsDeadline(t *testing.T) {
	ctx, _, server, _ := dialCorked(t)

	big := []byte(strings.Repeat("y", 60<<10))
	batch := make([][]byte, 2048) // 120 MiB: more than loopback buffers hold
	for i := range batch {
		batch[i] = big
	}
	done := make(chan error, 1)
	go func() { done <- server.Write(time.Now().Add(200*time.Millisecond), batch) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a batch to a peer that never reads was written in full")
		}
	case <-ctx.Done():
		t.Fatal("the batch write did not give up at its deadline")
	}
}

// TestBytesReadAheadOfTheUpgradeAreKept: a client that sends its first
// frame in the same packet as the upgrade request must not lose it to the
// hijack's new buffers.
func TestBytesReadAheadOfTheUpgradeAreKept(t *testing.T) {
	got := make(chan string, 1)
	url, _ := serveCorked(t, func(c wsConn) {
		_, b, err := c.c.Read(context.Background())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	})
	raw, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	payload := []byte("hello")
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := raw.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("server read %q, want %q", s, "hello")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the frame sent with the upgrade request was never read")
	}
}

// TestTryWriteOnARoomySocketSendsEverything: frames tried on a socket with
// room all leave at once.
func TestTryWriteOnARoomySocketSendsEverything(t *testing.T) {
	ctx, client, server, _ := dialCorked(t)
	frames := [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`)}
	done, err := server.TryWrite(frames)
	if err != nil || !done {
		t.Fatalf("TryWrite = %v, %v; want everything sent", done, err)
	}
	for _, want := range frames {
		if _, b, err := client.Read(ctx); err != nil || string(b) != string(want) {
			t.Fatalf("read %q, %v; want %q", b, err, want)
		}
	}
}

// TestHeldBytesGoFirstAndWholeFrames: frames a full socket did not take
// are held; a close frame written meanwhile queues behind them, and once
// the peer reads, the next Write sends all of it in order, every frame
// whole.
func TestHeldBytesGoFirstAndWholeFrames(t *testing.T) {
	ctx, client, server, _ := dialCorked(t)
	client.SetReadLimit(1 << 20)
	big := []byte(strings.Repeat("z", 60<<10))
	sent := 0
	for {
		done, err := server.TryWrite([][]byte{big})
		if err != nil {
			t.Fatal(err)
		}
		sent++
		if !done {
			break // the socket is full: part of this frame is held
		}
		if sent > 4096 {
			t.Fatal("a peer that never reads took 240 MiB")
		}
	}
	held := func() int {
		server.cork.mu.Lock()
		defer server.cork.mu.Unlock()
		if server.cork.buf == nil {
			return 0
		}
		return len(*server.cork.buf)
	}
	before := held()
	closed := make(chan error, 1)
	go func() { closed <- server.Close(4003, "banned") }()
	// The close frame must join the held bytes, not go around them.
	for deadline := time.Now().Add(5 * time.Second); held() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the close frame was not queued behind the held bytes")
		}
		time.Sleep(time.Millisecond) // polling interval
	}

	got := make(chan error, 1)
	go func() {
		for i := 0; i < sent; i++ {
			_, b, err := client.Read(ctx)
			if err != nil {
				got <- fmt.Errorf("frame %d of %d: %w", i+1, sent, err)
				return
			}
			if !bytes.Equal(b, big) {
				got <- fmt.Errorf("frame %d of %d is not whole (%d bytes)", i+1, sent, len(b))
				return
			}
		}
		_, _, err := client.Read(ctx)
		if code := websocket.CloseStatus(err); code != 4003 {
			got <- fmt.Errorf("after the frames: %v, want close 4003", err)
			return
		}
		got <- nil
	}()
	if err := server.Write(time.Now().Add(5*time.Second), nil); err != nil {
		t.Fatalf("flushing the held bytes: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	<-closed
}

// TestWritingFramesAllocatesNothing: a batch written, tried or blocking,
// allocates nothing per frame: buffers and batch slices are reused.
func TestWritingFramesAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items at random); make bench runs this path without it")
	}
	// Nothing reads the client side while counting: AllocsPerRun counts
	// every goroutine's allocations, and a reader allocates each message
	// it reads whenever the scheduler lets it. The ~400 frames (30 KB) fit
	// in the loopback socket's buffers, so no write waits for a reader.
	_, _, server, _ := dialCorked(t)
	frames := [][]byte{[]byte(`{"type":"MESSAGE_STATE","messageId":"1","state":"DELIVERED"}`)}
	tried := testing.AllocsPerRun(200, func() {
		if done, err := server.TryWrite(frames); err != nil || !done {
			t.Fatalf("TryWrite = %v, %v", done, err)
		}
	})
	blocking := testing.AllocsPerRun(200, func() {
		if err := server.Write(time.Now().Add(5*time.Second), frames); err != nil {
			t.Fatal(err)
		}
	})
	if tried != 0 || blocking != 0 {
		t.Fatalf("allocations per write: tried %v, blocking %v; want 0", tried, blocking)
	}
}
