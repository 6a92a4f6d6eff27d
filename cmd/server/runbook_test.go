package main

import (
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
)

// TestRunbookProduction is the production runbook (Tier-0.7): the one-line
// production start plus METRICS_SECRET, then Step 4 (connect with the
// cookie, send, reconnect, replay) and Step 5's ack-drop gate, the Origin
// check, the metrics key, and the production log format.
//
// The runbook's JWT_SECRET=secret is replaced by a distinctive value so the
// test can check that no log line contains it ("secret" appears in ordinary
// warning text).
func TestRunbookProduction(t *testing.T) {
	t.Parallel()
	const (
		jwtSecret     = "rb-jwt-7f3kQ9zX"
		metricsSecret = "rb-metrics-P4wd2"
		adminPass     = "adminpass1"
		alicePass     = "alice-pw-Zq81x"
		bobPass       = "bob-pw-Mv55t"
		content       = "hello bob, content-marker-Xy7"
		origin        = "http://localhost:3000"
	)
	port := freePort(t)
	p := start(t, baseEnv("APP_ENV=production", "PORT="+strconv.Itoa(port), "JWT_SECRET="+jwtSecret, "DB_URI=mem",
		"COOKIE_DOMAIN=.localhost", "CORS_ORIGIN="+origin, "WS_PATH=/ws", "METRICS_SECRET="+metricsSecret,
		"ADMIN_BOOTSTRAP=admin:"+adminPass, "INSTANCE_ID=rb-1"), "")
	api := p.listening()
	if want := "http://127.0.0.1:" + strconv.Itoa(port); api.BaseURL != want {
		t.Errorf("listening on %s, want PORT %d", api.BaseURL, port)
	}
	ctx := testCtx(t, 30*time.Second)

	// Register two users; login sets the production cookie.
	alice, err := api.Register(ctx, "alice", alicePass)
	if err != nil {
		t.Fatalf("register alice: %v", err)
	}
	bob, err := api.Register(ctx, "bob", bobPass)
	if err != nil {
		t.Fatalf("register bob: %v", err)
	}
	if alice.Role != string(chat.RoleUser) || bob.Role != string(chat.RoleUser) || alice.ID == bob.ID {
		t.Fatalf("registered %+v and %+v", alice, bob)
	}
	aliceCookie, err := api.LoginCookie(ctx, "alice", alicePass)
	if err != nil {
		t.Fatalf("login alice: %v", err)
	}
	bobCookie, err := api.LoginCookie(ctx, "bob", bobPass)
	if err != nil {
		t.Fatalf("login bob: %v", err)
	}
	for _, c := range []*http.Cookie{aliceCookie, bobCookie} {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			strings.TrimPrefix(c.Domain, ".") != "localhost" || c.Value == "" {
			t.Errorf("cookie %s: Secure=%t HttpOnly=%t SameSite=%v Domain=%q, want Secure, HttpOnly, Lax, localhost",
				c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Domain)
		}
	}
	tokens := []string{aliceCookie.Value, bobCookie.Value}
	cookie := client.DialOptions{UseCookie: true}

	// Step 4: connect with the cookie, A sends to B, SENT ack.
	a, replayed, n := dial(ctx, t, api, "/ws", aliceCookie.Value, cookie)
	if n != 0 || len(replayed) != 0 {
		t.Fatalf("alice's first connect replayed %d (%v), want 0", n, replayed)
	}
	b, _, n := dial(ctx, t, api, "/ws", bobCookie.Value, cookie)
	if n != 0 {
		t.Fatalf("bob's first connect replayed %d, want 0", n)
	}
	if err := a.SendMessage(ctx, "c1", bob.ID, content); err != nil {
		t.Fatal(err)
	}
	ack := waitFrame(ctx, t, a, chat.TypeMessageAck)
	if ack.ClientMessageID != "c1" || ack.State != chat.StateSent || ack.MessageID == "" || ack.CreatedAt == "" {
		t.Fatalf("ack = %s", ack.Raw)
	}
	msgID := ack.MessageID

	// Ack-drop gate: B receives it live and does NOT ack, then reconnects.
	live := waitFrame(ctx, t, b, chat.TypeMessage)
	if live.MessageID != msgID || live.Content != content || live.SenderID != alice.ID || live.RecipientID != bob.ID {
		t.Fatalf("live message = %s, want %s from %s", live.Raw, msgID, alice.ID)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("bob close: %v", err)
	}
	b, replayed, n = dial(ctx, t, api, "/ws", bobCookie.Value, cookie)
	if n != 1 || len(replayed) != 1 {
		t.Fatalf("bob's reconnect: REPLAY_DONE count %d with %d frames, want 1", n, len(replayed))
	}
	if r := replayed[0]; r.Type != chat.TypeMessage || r.MessageID != msgID || r.Content != content || r.CreatedAt != live.CreatedAt {
		t.Fatalf("replayed %s, want the same message %s", r.Raw, live.Raw)
	}
	if err := b.Ack(ctx, msgID); err != nil {
		t.Fatal(err)
	}
	st := waitFrame(ctx, t, a, chat.TypeMessageState)
	if st.MessageID != msgID || st.State != chat.StateDelivered {
		t.Fatalf("state = %s, want %s DELIVERED", st.Raw, msgID)
	}
	// A second ack changes nothing and sends nothing.
	if err := b.Ack(ctx, msgID); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("bob close: %v", err)
	}
	b, replayed, n = dial(ctx, t, api, "/ws", bobCookie.Value, cookie)
	if n != 0 || len(replayed) != 0 {
		t.Fatalf("bob's third connect replayed %d (%v), want 0", n, replayed)
	}
	// Fence alice's stream: the sender acking her own message is FORBIDDEN;
	// anything sent to her before that answer (a second MESSAGE_STATE) is
	// seen by now.
	if err := a.Ack(ctx, msgID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitFor(ctx, client.ErrorFor(chat.CodeForbidden)); err != nil {
		t.Fatalf("sender's ack: %v", err)
	}
	for _, f := range a.Skipped() {
		t.Errorf("alice got an extra frame (a second MESSAGE_STATE?): %s", f.Raw)
	}
	_ = b.Close()

	// History: exactly one row, same id and content, for both sides.
	for _, tc := range []struct{ token, with string }{{tokens[0], bob.ID}, {tokens[1], alice.ID}} {
		msgs, next, err := api.Messages(ctx, tc.token, tc.with, "", 0)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if len(msgs) != 1 || msgs[0].MessageID != msgID || msgs[0].Content != content || next != "" {
			t.Fatalf("history = %d rows (next %q), want exactly one row %s", len(msgs), next, msgID)
		}
	}

	// Origin check on the WebSocket.
	evil, _, err := client.Dial(ctx, api.WSURL("/ws"), client.DialOptions{Token: tokens[0], UseCookie: true, Origin: "http://evil.example"})
	if err == nil {
		_ = evil.CloseNow()
		t.Errorf("dial with Origin http://evil.example was accepted, want 403")
	} else if client.HTTPStatus(err) != http.StatusForbidden {
		t.Errorf("dial with Origin http://evil.example: %v, want 403", err)
	}
	good, _, n := dial(ctx, t, api, "/ws", tokens[0], client.DialOptions{UseCookie: true, Origin: origin})
	if n != 0 {
		t.Errorf("dial with the allowed Origin replayed %d, want 0", n)
	}
	_ = good.Close()

	// Metrics need the key.
	if _, err := api.Do(ctx, client.Request{Path: "/metrics"}, nil); client.HTTPStatus(err) != http.StatusUnauthorized {
		t.Errorf("/metrics without x-metrics-key: %v, want 401", err)
	}
	wrong := http.Header{"X-Metrics-Key": {"nope"}}
	if _, err := api.Do(ctx, client.Request{Path: "/metrics", Header: wrong}, nil); client.HTTPStatus(err) != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong x-metrics-key: %v, want 401", err)
	}
	var body []byte
	resp, err := api.Do(ctx, client.Request{Path: "/metrics", Header: http.Header{"X-Metrics-Key": {metricsSecret}}}, &body)
	if err != nil || resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("/metrics with x-metrics-key: %v, want 200 with a body", err)
	}

	// ADMIN_BOOTSTRAP made an admin.
	adminTok, err := api.Login(ctx, "admin", adminPass)
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	tokens = append(tokens, adminTok)
	if me, err := api.Me(ctx, adminTok); err != nil || me.Role != string(chat.RoleAdmin) {
		t.Errorf("bootstrapped admin: %+v, %v, want role admin", me, err)
	}
	if users, err := api.AdminUsers(ctx, adminTok); err != nil || len(users) != 3 {
		t.Errorf("admin users = %v, %v, want 3 users", users, err)
	}
	if _, err := api.AdminUsers(ctx, tokens[0]); client.HTTPStatus(err) != http.StatusForbidden {
		t.Errorf("admin route as a user: %v, want 403", err)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}

	// Production logs: JSON lines, each with instanceId, none with a secret.
	logs := p.logs()
	if len(logs) == 0 {
		t.Fatal("no log lines")
	}
	secrets := []string{jwtSecret, metricsSecret, adminPass, alicePass, bobPass, content}
	for _, tok := range tokens {
		secrets = append(secrets, tok, tok[strings.LastIndexByte(tok, '.')+1:])
	}
	for _, l := range logs {
		if !l.JSON {
			t.Errorf("log line is not JSON: %q", l.Raw)
			continue
		}
		if l.str("instanceId") != "rb-1" {
			t.Errorf("log line without instanceId rb-1: %s", l.Raw)
		}
		if l.Level == "" || l.Msg == "" || l.Fields["ts"] == nil {
			t.Errorf("log line without level/ts/msg: %s", l.Raw)
		}
		for _, s := range secrets {
			if strings.Contains(l.Raw, s) {
				t.Errorf("log line contains a secret, password, token or content (%.6s...): %s", s, l.Raw)
			}
		}
	}
	if l := p.waitLog(time.Second, "Server listening", event("Server", "listening")); l.str("addr") == "" {
		t.Errorf("listening line without addr: %s", l.Raw)
	}
	p.waitLog(time.Second, "Server stopped", event("Server", "stopped"))
}
