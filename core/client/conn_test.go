package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
)

// replayDone consumes the REPLAY_DONE that follows a connect.
func replayDone(t *testing.T, c *Conn) {
	t.Helper()
	f, err := c.Next(testCtx(t))
	if err != nil || f.Type != chat.TypeReplayDone || f.Count == nil || *f.Count != 0 {
		t.Fatalf("first frame = %+v, %v; want REPLAY_DONE count 0", f, err)
	}
}

// wantClosed waits for the end of c and checks its close code.
func wantClosed(t *testing.T, c *Conn, code int) *CloseError {
	t.Helper()
	_, err := c.Next(testCtx(t))
	var ce *CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("Next = %v, want *CloseError", err)
	}
	if ce.Code != code {
		t.Errorf("close code = %d (%v), want %d", ce.Code, ce, code)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after the CloseError")
	}
	if _, ok := <-c.Frames(); ok {
		t.Error("Frames not closed after the CloseError")
	}
	got, reason, closed := c.CloseStatus()
	if !closed || got != ce.Code || reason != ce.Reason {
		t.Errorf("CloseStatus = %d %q %v, want %d %q true", got, reason, closed, ce.Code, ce.Reason)
	}
	return ce
}

func TestSendAckAndBearer(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	if got := f.auth(); got != "bearer" {
		t.Errorf("auth = %q, want bearer", got)
	}
	if _, _, closed := c.CloseStatus(); closed {
		t.Error("CloseStatus reports closed on an open connection")
	}
	replayDone(t, c)

	if err := c.SendMessage(ctx, "c1", "u2", "hello"); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	ack, err := c.Next(ctx)
	if err != nil || ack.Type != chat.TypeMessageAck || ack.ClientMessageID != "c1" || ack.MessageID != "id-c1" ||
		ack.State != chat.StateSent || ack.CreatedAt == "" {
		t.Fatalf("ack = %+v, %v", ack, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(ack.Raw, &raw); err != nil || raw["messageId"] != "id-c1" {
		t.Errorf("Raw = %s, %v", ack.Raw, err)
	}

	if err := c.Ack(ctx, "m7"); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	st, err := c.Next(ctx)
	if err != nil || st.Type != chat.TypeMessageState || st.MessageID != "m7" || st.State != chat.StateDelivered {
		t.Fatalf("state = %+v, %v", st, err)
	}
}

func TestDialCookie(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	c := f.dial(t, DialOptions{Token: "tok-alice", UseCookie: true})
	replayDone(t, c)
	if got := f.auth(); got != "cookie" {
		t.Errorf("auth = %q, want cookie", got)
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	tests := []struct {
		name   string
		o      DialOptions
		status int
		code   string
	}{
		{"bad token", DialOptions{Token: "nope"}, 401, "UNAUTHORIZED"},
		{"no token", DialOptions{}, 401, "UNAUTHORIZED"},
		{"bad token as cookie", DialOptions{Token: "nope", UseCookie: true}, 401, "UNAUTHORIZED"},
		{"foreign origin", DialOptions{Token: "tok-alice", Origin: "http://evil.example"}, 403, "FORBIDDEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.HTTPClient = f.hc
			c, resp, err := Dial(testCtx(t), f.api.WSURL(""), tt.o)
			if c != nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			var de *DialError
			if !errors.As(err, &de) {
				t.Fatalf("Dial error = %v, want *DialError", err)
			}
			if de.Status != tt.status || de.Code != tt.code || !strings.Contains(de.Body, tt.code) {
				t.Errorf("DialError = %+v", de)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Errorf("response = %v", resp)
			}
			if HTTPStatus(err) != tt.status || de.Unwrap() == nil {
				t.Errorf("HTTPStatus = %d, Unwrap = %v", HTTPStatus(err), de.Unwrap())
			}
		})
	}

	// The allowed Origin and extra headers go through.
	c := f.dial(t, DialOptions{Token: "tok-alice", Origin: fakeOrigin})
	replayDone(t, c)

	// No server at all: not a DialError.
	_, _, err := Dial(testCtx(t), "ws://127.0.0.1:1/ws", DialOptions{HTTPClient: f.hc})
	var de *DialError
	if err == nil || errors.As(err, &de) {
		t.Errorf("Dial(no server) = %v, want a plain error", err)
	}
}

func TestBadFrames(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	replayDone(t, c)

	sends := []struct {
		name string
		v    any
		code string
	}{
		{"raw bytes", []byte("not json"), chat.CodeBadFrame},
		{"raw message", json.RawMessage(`{"type":"NOPE"}`), chat.CodeBadFrame},
		{"map", map[string]string{"type": chat.TypeDeliveryAck}, chat.CodeBadFrame},
		{"too large content", chat.InFrame{Type: chat.TypeMessageSend, ClientMessageID: "c9", RecipientID: "u2",
			Content: strings.Repeat("x", chat.MaxContentBytes+1)}, chat.CodeTooLarge},
	}
	for _, s := range sends {
		if err := c.Send(ctx, s.v); err != nil {
			t.Fatalf("%s: Send: %v", s.name, err)
		}
		fr, err := c.Next(ctx)
		if err != nil || fr.Type != chat.TypeError || fr.Code != s.code {
			t.Errorf("%s: got %+v, %v; want ERROR %s", s.name, fr, err, s.code)
		}
	}
	// A MESSAGE_SEND with an empty field leaves it out.
	if err := c.SendMessage(ctx, "c2", "u2", ""); err != nil {
		t.Fatal(err)
	}
	if fr, err := c.WaitFor(ctx, ErrorFor(chat.CodeBadFrame)); err != nil || !strings.Contains(fr.Message, "content") {
		t.Errorf("missing content: %+v, %v", fr, err)
	}
	if err := c.Send(ctx, make(chan int)); err == nil {
		t.Error("Send(unencodable): no error")
	}
}

func TestServerCloseCodes(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	for _, code := range []int{chat.CloseBanned, chat.CloseTokenExpired, chat.CloseGoingAway, chat.ClosePolicy} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			c := f.dial(t, DialOptions{Token: "tok-alice"})
			replayDone(t, c)
			if err := c.Send(testCtx(t), chat.InFrame{Type: "TEST_CLOSE", Content: fmt.Sprint(code)}); err != nil {
				t.Fatal(err)
			}
			ce := wantClosed(t, c, code)
			if ce.Reason != fmt.Sprintf("bye %d", code) {
				t.Errorf("reason = %q", ce.Reason)
			}
			if err := c.Send(testCtx(t), []byte("{}")); err == nil {
				t.Error("Send after close: no error")
			}
			// Close after the server closed is quiet and idempotent.
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestFrameTooLarge1009(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	replayDone(t, c)
	big := []byte(`{"type":"MESSAGE_SEND","content":"` + strings.Repeat("x", chat.MaxFrameBytes) + `"}`)
	if err := c.Send(testCtx(t), big); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, c, chat.CloseTooLarge)
}

func TestBannedOnConnect(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	c := f.dial(t, DialOptions{Token: "tok-banned"})
	fr, err := c.Next(testCtx(t))
	if err != nil || !ErrorFor(chat.CodeBanned)(fr) {
		t.Fatalf("first frame = %+v, %v; want ERROR BANNED", fr, err)
	}
	wantClosed(t, c, chat.CloseBanned)
}

func TestReadLimitAbove64KiB(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	replayDone(t, c)
	if err := c.Send(testCtx(t), chat.InFrame{Type: "TEST_BIG"}); err != nil {
		t.Fatal(err)
	}
	fr, err := c.Next(testCtx(t))
	if err != nil || len(fr.Content) != 100<<10 || len(fr.Raw) <= chat.MaxFrameBytes {
		t.Fatalf("big frame: %d bytes of content, %v", len(fr.Content), err)
	}

	// A lower limit of our own closes with 1009 from this side.
	small := f.dial(t, DialOptions{Token: "tok-alice", ReadLimit: 1024})
	replayDone(t, small)
	if err := small.Send(testCtx(t), chat.InFrame{Type: "TEST_BIG"}); err != nil {
		t.Fatal(err)
	}
	if _, err := small.Next(testCtx(t)); err == nil {
		t.Fatal("frame over our read limit was delivered")
	}
}

func TestOddServerFrames(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	replayDone(t, c)
	if err := c.Send(ctx, chat.InFrame{Type: "TEST_BINARY"}); err != nil {
		t.Fatal(err)
	}
	if fr, err := c.Next(ctx); err != nil || !fr.Binary || fr.Type != chat.TypeMessage {
		t.Errorf("binary frame = %+v, %v", fr, err)
	}
	if err := c.Send(ctx, chat.InFrame{Type: "TEST_NOTJSON"}); err != nil {
		t.Fatal(err)
	}
	if fr, err := c.Next(ctx); err != nil || fr.Err == nil || string(fr.Raw) != "hello" || fr.Binary {
		t.Errorf("non-JSON frame = %+v, %v", fr, err)
	}
}

// TestSlowConsumerNoDrop floods a connection whose queue holds one frame: the
// reader must wait for the consumer, never drop, and keep the order.
func TestSlowConsumerNoDrop(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	c := f.dial(t, DialOptions{Token: "tok-alice", QueueSize: 1})
	replayDone(t, c)
	const n = 500
	if err := c.Send(ctx, chat.InFrame{Type: "TEST_FLOOD", Content: fmt.Sprint(n)}); err != nil {
		t.Fatal(err)
	}
	if cap(c.Frames()) != 1 {
		t.Fatalf("queue capacity = %d, want 1", cap(c.Frames()))
	}
	for i := range n {
		select {
		case fr := <-c.Frames():
			if want := fmt.Sprintf("m%d", i); fr.MessageID != want {
				t.Fatalf("frame %d = %q, want %q", i, fr.MessageID, want)
			}
		case <-ctx.Done():
			t.Fatalf("frame %d never came: %v", i, ctx.Err())
		}
	}
}

func TestWaitForSkipped(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	if err := c.Send(ctx, chat.InFrame{Type: "TEST_FLOOD", Content: "5"}); err != nil {
		t.Fatal(err)
	}
	fr, err := c.WaitFor(ctx, func(f Frame) bool { return f.MessageID == "m3" })
	if err != nil || fr.MessageID != "m3" {
		t.Fatalf("WaitFor = %+v, %v", fr, err)
	}
	var got []string
	for _, s := range c.Skipped() {
		got = append(got, s.Type+":"+s.MessageID)
	}
	if want := "REPLAY_DONE: MESSAGE:m0 MESSAGE:m1 MESSAGE:m2"; strings.Join(got, " ") != want {
		t.Errorf("Skipped = %v, want %s", got, want)
	}
	if fr, err := c.Next(ctx); err != nil || fr.MessageID != "m4" {
		t.Errorf("after WaitFor: %+v, %v; want m4", fr, err)
	}

	// Nothing more is coming: a cancelled context ends the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.WaitFor(cctx, OfType(chat.TypeMessage)); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor(cancelled) = %v, want context.Canceled", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	c := f.dial(t, DialOptions{Token: "tok-alice"})
	replayDone(t, c)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.SendMessage(ctx, fmt.Sprintf("c%d", i), "u2", "hi"); err != nil {
				t.Errorf("SendMessage: %v", err)
			}
		})
	}
	seen := map[string]bool{}
	for len(seen) < n {
		fr, err := c.WaitFor(ctx, OfType(chat.TypeMessageAck))
		if err != nil {
			t.Fatalf("after %d acks: %v", len(seen), err)
		}
		seen[fr.ClientMessageID] = true
	}
	wg.Wait()
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	// Close with a full queue and a flood in flight must not deadlock.
	c := f.dial(t, DialOptions{Token: "tok-alice", QueueSize: 1})
	if err := c.Send(ctx, chat.InFrame{Type: "TEST_FLOOD", Content: "200"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, closed := c.CloseStatus(); !closed {
		t.Error("CloseStatus not closed after Close")
	}
	var ce *CloseError
	for {
		if _, err := c.Next(ctx); err != nil {
			if !errors.As(err, &ce) {
				t.Errorf("Next after Close = %v, want *CloseError", err)
			}
			break
		}
	}

	// CloseNow drops the connection without a handshake.
	d := f.dial(t, DialOptions{Token: "tok-alice"})
	if err := d.CloseNow(); err != nil {
		t.Fatalf("CloseNow: %v", err)
	}
	if err := d.CloseNow(); err != nil {
		t.Errorf("second CloseNow: %v", err)
	}
	<-d.Done()
}
