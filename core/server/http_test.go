package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
)

func asDialError(err error, de **client.DialError) bool { return errors.As(err, de) }

// forge signs a token for a made-up user with the right secret but alg.
func forge(t *testing.T, alg string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), jwt.MapClaims{
		"sub": "u1", "role": "admin", "exp": time.Now().Add(time.Hour).Unix(),
	})
	s, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegisterAndLoginErrors(t *testing.T) {
	e := setup(t, nil, nil)
	ctx := ctxT(t)
	if _, err := e.api.Register(ctx, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, pass, code string
		status                 int
	}{
		{"taken", "alice", testPassword, chat.CodeUsernameTaken, 409},
		{"short name", "al", testPassword, chat.CodeBadRequest, 400},
		{"bad chars", "al ice", testPassword, chat.CodeBadRequest, 400},
		{"short password", "bobby", "short", chat.CodeBadRequest, 400},
		{"long password", "bobby", strings.Repeat("p", 129), chat.CodeBadRequest, 400},
	} {
		_, err := e.api.Register(ctx, tc.user, tc.pass)
		if client.ErrorCode(err) != tc.code || client.HTTPStatus(err) != tc.status {
			t.Errorf("%s: %v, want %d %s", tc.name, err, tc.status, tc.code)
		}
	}
	if _, err := e.api.Login(ctx, "alice", "wrong-password"); client.HTTPStatus(err) != 401 {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := e.api.Login(ctx, "nobody", testPassword); client.HTTPStatus(err) != 401 {
		t.Errorf("unknown user: %v", err)
	}
	var raw []byte
	_, err := e.api.Do(ctx, client.Request{Method: "POST", Path: "/api/auth/register", Body: []byte(`{nope`)}, &raw)
	if client.ErrorCode(err) != chat.CodeBadRequest {
		t.Errorf("malformed body: %v", err)
	}
}

func TestLoginCookieAndLogout(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.CookieDomain = "example.test" }, nil)
	e.user("alice")
	ck, err := e.api.LoginCookie(ctxT(t), "alice", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Domain != "example.test" {
		t.Fatalf("cookie %+v", ck)
	}
	cookieAPI := &client.API{BaseURL: e.api.BaseURL, HTTP: e.api.HTTP, UseCookie: true}
	if _, err := cookieAPI.Me(ctxT(t), ck.Value); err != nil {
		t.Fatalf("me with cookie: %v", err)
	}
	resp, err := e.api.Do(ctxT(t), client.Request{Method: "POST", Path: "/api/auth/logout", Token: ck.Value}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		if c.Name == "token" && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Fatal("logout did not clear the cookie")
	}
}

func TestTokenAttacksRefused(t *testing.T) {
	e := setup(t, nil, nil)
	id, _ := e.user("alice")
	good := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"jti": "hand-made", "sub": id, "exp": time.Now().Add(time.Hour).Unix()})
	goodTok, _ := good.SignedString([]byte(testSecret))
	if _, err := e.api.Me(ctxT(t), goodTok); err != nil {
		t.Fatalf("a valid hand-made token was refused: %v", err)
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": id, "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	badSig, _ := good.SignedString([]byte("another-secret"))
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": id, "exp": time.Now().Add(-time.Minute).Unix()}).SignedString([]byte(testSecret))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": id}).SignedString([]byte(testSecret))
	noSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testSecret))
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": id, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testSecret))
	parts := strings.Split(goodTok, ".")
	rs256 := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2]
	for name, tok := range map[string]string{"none": none, "bad signature": badSig, "expired": expired,
		"no exp": noExp, "no sub": noSub, "HS512": hs512, "RS256 header": rs256} {
		if _, err := e.api.Me(ctxT(t), tok); client.HTTPStatus(err) != 401 || client.ErrorCode(err) != chat.CodeUnauthorized {
			t.Errorf("%s: %v, want 401 UNAUTHORIZED", name, err)
		}
		_, _, err := client.Dial(ctxT(t), e.api.WSURL("/ws"), client.DialOptions{Token: tok})
		var de *client.DialError
		if !errors.As(err, &de) || de.Status != 401 {
			t.Errorf("%s: upgrade %v, want 401", name, err)
		}
	}
}

func TestHistoryPaging(t *testing.T) {
	e := setup(t, nil, nil)
	aliceID, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)
	var ids []string
	for i := 0; i < 5; i++ {
		c, to := alice, bobID
		if i%2 == 1 {
			c, to = bob, aliceID
		}
		send(t, c, fmt.Sprintf("h%d", i), to, fmt.Sprintf("m%d", i))
		ack, err := c.WaitFor(ctxT(t), client.OfType(chat.TypeMessageAck))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.MessageID)
	}
	var got []string
	before := ""
	for page := 0; page < 5; page++ {
		msgs, next, err := e.api.Messages(ctxT(t), bobTok, aliceID, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, m.MessageID)
		}
		if next == "" {
			break
		}
		before = next
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages %v, want newest first %v", got, want)
	}
	for _, lim := range []int{-1, 201} {
		if _, _, err := e.api.Messages(ctxT(t), bobTok, aliceID, "", lim); client.HTTPStatus(err) != 400 {
			t.Errorf("limit %d: %v, want 400", lim, err)
		}
	}
	if _, _, err := e.api.Messages(ctxT(t), bobTok, "", "", 0); client.HTTPStatus(err) != 400 {
		t.Errorf("missing with: %v", err)
	}
}

func TestAdminRoutes(t *testing.T) {
	e := setup(t, nil, nil)
	aliceID, aliceTok := e.user("alice")
	e.dial(aliceTok)
	users, err := e.api.AdminUsers(ctxT(t), e.admin)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range users {
		if u.ID == aliceID {
			found = true
			if !u.Online || len(u.Instances) != 1 || u.Instances[0] != "T1" || u.Banned {
				t.Fatalf("alice %+v", u)
			}
		}
	}
	if !found {
		t.Fatal("alice not listed")
	}
	if _, err := e.api.AdminUsers(ctxT(t), aliceTok); client.HTTPStatus(err) != 403 || client.ErrorCode(err) != chat.CodeForbidden {
		t.Fatalf("non-admin: %v", err)
	}
	if err := e.api.Ban(ctxT(t), aliceTok, aliceID); client.HTTPStatus(err) != 403 {
		t.Fatalf("non-admin ban: %v", err)
	}
	if err := e.api.Ban(ctxT(t), e.admin, "u-nobody"); client.HTTPStatus(err) != 404 {
		t.Fatalf("ban unknown: %v", err)
	}
	if _, err := e.api.AdminUsers(ctxT(t), ""); client.HTTPStatus(err) != 401 {
		t.Fatalf("anonymous: %v", err)
	}
}

func TestHealthReadyAndMetricsModes(t *testing.T) {
	e := setup(t, nil, nil)
	if err := e.api.Healthz(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r, err := e.api.Readyz(ctxT(t))
	if err != nil || r["bus"] != "disabled" || r["store"] != "ok" {
		t.Fatalf("readyz %v %v", r, err)
	}
	var text []byte
	if _, err := e.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/metrics"}, &text); err != nil || !strings.Contains(string(text), "dmchat_ws_connections") {
		t.Fatalf("metrics text: %v %.200s", err, text)
	}
	var js map[string]any
	if _, err := e.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/metrics", Header: http.Header{"Accept": {"application/json"}}}, &js); err != nil || len(js) == 0 {
		t.Fatalf("metrics json: %v %v", err, js)
	}
	if _, err := e.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/api/metrics", Token: e.admin}, &js); client.HTTPStatus(err) != 404 {
		t.Fatalf("admin metrics route off: %v", err)
	}

	s := setup(t, func(c *config.Config) {
		c.MetricsMode = "secret"
		c.MetricsSecret = "k"
		c.MetricsEnableAdminRoute = true
	}, nil)
	if _, err := s.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/metrics"}, &text); client.HTTPStatus(err) != 401 {
		t.Fatalf("secret mode without key: %v", err)
	}
	if _, err := s.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/metrics", Header: http.Header{"X-Metrics-Key": {"k"}}}, &text); err != nil {
		t.Fatalf("secret mode with key: %v", err)
	}
	if _, err := s.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/api/metrics", Token: s.admin}, &js); err != nil {
		t.Fatalf("admin metrics: %v", err)
	}
	_, userTok := s.user("alice")
	if _, err := s.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/api/metrics", Token: userTok}, &js); client.HTTPStatus(err) != 403 {
		t.Fatalf("admin metrics as user: %v", err)
	}

	o := setup(t, func(c *config.Config) { c.MetricsMode = "off" }, nil)
	if _, err := o.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/metrics"}, &text); client.HTTPStatus(err) != 404 {
		t.Fatalf("off mode: %v", err)
	}
}

func TestAuthRoutesAreRateLimitedPerAddress(t *testing.T) {
	// setup raises the limit for speed; this instance keeps the defaults.
	d := setupWith(t, nil, nil, func(o *server.Options) { o.AuthRate, o.AuthBurst = 0, 0 })
	var last error
	var resp *http.Response
	for i := 0; i < 40; i++ {
		// A name per try: the per-account throttle must not be what answers.
		body := fmt.Sprintf(`{"username":"nobody%d","password":"whatever1"}`, i)
		resp, last = d.api.Do(ctxT(t), client.Request{Method: "POST", Path: "/api/auth/login", Body: []byte(body)}, nil)
		if client.HTTPStatus(last) == 429 {
			break
		}
	}
	if client.HTTPStatus(last) != 429 || client.ErrorCode(last) != chat.CodeRateLimited {
		t.Fatalf("40 logins: last %v, want 429 RATE_LIMITED", last)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("429 with Retry-After %q, want whole seconds >= 1", resp.Header.Get("Retry-After"))
	}
}

// The authenticated routes are limited per user (20/s, burst 40, by the
// token's user): past the burst one user gets 429 RATE_LIMITED with a
// Retry-After, another user is not slowed, and the limited user's
// WebSocket still opens (sockets have limits of their own).
func TestUserRoutesAreRateLimitedPerUser(t *testing.T) {
	// setup raises the limit for speed; this instance keeps the defaults.
	d := setupWith(t, nil, nil, func(o *server.Options) { o.UserRate, o.UserBurst = 0, 0 })
	_, alice := d.user("alice")
	_, bob := d.user("bob")
	var last error
	var resp *http.Response
	answered := 0
	for range 200 {
		resp, last = d.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/api/me", Token: alice}, nil)
		if last != nil {
			break
		}
		answered++
	}
	if client.HTTPStatus(last) != 429 || client.ErrorCode(last) != chat.CodeRateLimited {
		t.Fatalf("after %d answered requests: %v, want 429 RATE_LIMITED", answered, last)
	}
	if answered < 40 {
		t.Fatalf("limited after %d requests, before the burst of 40", answered)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("429 with Retry-After %q, want whole seconds >= 1", resp.Header.Get("Retry-After"))
	}
	if _, err := d.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/api/me", Token: bob}, nil); err != nil {
		t.Fatalf("bob while alice is limited: %v", err)
	}
	if _, err := d.api.Do(ctxT(t), client.Request{Method: "GET", Path: "/api/messages?with=x", Token: alice}, nil); client.HTTPStatus(err) != 429 {
		t.Fatalf("alice's history while limited: %v, want 429", err)
	}
	d.dial(alice) // fails the test if the socket does not open
}

func TestCORSForTheConfiguredOriginOnly(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.CORSOrigin = "http://app.test" }, nil)
	checkCORS(t, e, []corsCase{
		{"http://app.test", "OPTIONS", true},
		{"http://app.test", "GET", true},
		{"http://evil.test", "OPTIONS", false},
		{"", "GET", false},
	})
}

// In development with CORS_ORIGIN empty every origin is allowed and
// answered (the contract's default), so a frontend on a dev server works.
func TestCORSForEveryOriginInDevelopment(t *testing.T) {
	e := setup(t, nil, nil)
	checkCORS(t, e, []corsCase{
		{"http://localhost:5173", "OPTIONS", true},
		{"http://localhost:5174", "GET", true},
		{"", "GET", false},
	})
}

type corsCase struct {
	origin, method string
	allowed        bool
}

func checkCORS(t *testing.T, e *env, cases []corsCase) {
	t.Helper()
	for _, tc := range cases {
		req, _ := http.NewRequestWithContext(ctxT(t), tc.method, e.api.BaseURL+"/healthz", nil)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := e.api.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if tc.allowed != (got != "" && got == tc.origin) || (tc.allowed && resp.Header.Get("Access-Control-Allow-Credentials") != "true") {
			t.Errorf("%s from %q: Allow-Origin %q", tc.method, tc.origin, got)
		}
		if tc.allowed && tc.method == "OPTIONS" && resp.StatusCode != http.StatusNoContent {
			t.Errorf("preflight status %d", resp.StatusCode)
		}
	}
}
