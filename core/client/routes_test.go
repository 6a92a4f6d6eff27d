package client

import (
	"errors"
	"net/http"
	"testing"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	u, err := f.api.Register(ctx, "carol", "password1")
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if want := (UserInfo{ID: "u9", Username: "carol", Role: "user"}); u != want {
		t.Errorf("Register = %+v, want %+v", u, want)
	}

	_, err = f.api.Register(ctx, "taken", "password1")
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("Register(taken) error = %v, want *APIError", err)
	}
	if ae.Status != http.StatusConflict || ae.Code != "USERNAME_TAKEN" || ae.Message != "username is taken" {
		t.Errorf("APIError = %+v", ae)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	token, err := f.api.Login(ctx, "alice", "password1")
	if err != nil || token != "tok-alice" {
		t.Fatalf("Login = %q, %v; want tok-alice", token, err)
	}
	c, err := f.api.LoginCookie(ctx, "alice", "password1")
	if err != nil {
		t.Fatalf("LoginCookie: %v", err)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie attributes: HttpOnly=%v SameSite=%v", c.HttpOnly, c.SameSite)
	}

	_, err = f.api.Login(ctx, "alice", "wrong")
	if HTTPStatus(err) != 401 || ErrorCode(err) != "UNAUTHORIZED" {
		t.Errorf("Login(wrong) = %v, want 401 UNAUTHORIZED", err)
	}
	if _, err = f.api.Login(ctx, "nocookie", "password1"); !errors.Is(err, ErrNoToken) {
		t.Errorf("Login(nocookie) = %v, want ErrNoToken", err)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	if err := f.api.Logout(ctx, "tok-alice"); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := f.api.Logout(ctx, "bad"); HTTPStatus(err) != 401 {
		t.Errorf("Logout(bad) = %v, want 401", err)
	}
}

func TestMeBearerAndCookie(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	u, err := f.api.Me(ctx, "tok-alice")
	if err != nil || u.ID != "u1" || u.Username != "alice" || u.Banned {
		t.Fatalf("Me = %+v, %v", u, err)
	}
	if got := f.auth(); got != "bearer" {
		t.Errorf("default auth = %q, want bearer", got)
	}

	cookieAPI := &API{BaseURL: f.srv.URL, HTTP: f.hc, UseCookie: true}
	u, err = cookieAPI.Me(ctx, "tok-banned")
	if err != nil || !u.Banned {
		t.Fatalf("Me(banned) = %+v, %v; want banned", u, err)
	}
	if got := f.auth(); got != "cookie" {
		t.Errorf("UseCookie auth = %q, want cookie", got)
	}

	if _, err := f.api.Me(ctx, "nope"); HTTPStatus(err) != 401 || ErrorCode(err) != "UNAUTHORIZED" {
		t.Errorf("Me(bad token) = %v, want 401 UNAUTHORIZED", err)
	}
	if _, err := f.api.Me(ctx, ""); HTTPStatus(err) != 401 {
		t.Errorf("Me(no token) = %v, want 401", err)
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	query := func() map[string][]string {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.lastQuery
	}

	msgs, next, err := f.api.Messages(ctx, "tok-alice", "u2", "", 2)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	q := query()
	if q["with"][0] != "u2" || q["limit"][0] != "2" || q["before"] != nil {
		t.Errorf("query = %v", q)
	}
	if len(msgs) != 2 || next != "m2" {
		t.Fatalf("page 1 = %d messages, next %q", len(msgs), next)
	}
	m := msgs[0]
	if m.Type != "MESSAGE" || m.MessageID != "m3" || m.SenderID != "u2" || m.RecipientID != "u1" ||
		m.Content != "hi m3" || m.CreatedAt != "2025-01-02T03:04:05.000Z" || len(m.Raw) == 0 {
		t.Errorf("message = %+v", m)
	}

	msgs, next, err = f.api.Messages(ctx, "tok-alice", "u2", next, 0)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "m1" || next != "" {
		t.Fatalf("page 2 = %+v, %q, %v; want [m1], last page", msgs, next, err)
	}
	if q := query(); q["before"][0] != "m2" || q["limit"] != nil {
		t.Errorf("query = %v, want before=m2 and no limit", q)
	}

	for _, limit := range []int{-1, 201} {
		if _, _, err := f.api.Messages(ctx, "tok-alice", "u2", "", limit); HTTPStatus(err) != 400 || ErrorCode(err) != "BAD_REQUEST" {
			t.Errorf("Messages(limit %d) = %v, want 400 BAD_REQUEST", limit, err)
		}
	}
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	users, err := f.api.AdminUsers(ctx, "tok-admin")
	if err != nil || len(users) != 2 {
		t.Fatalf("AdminUsers = %+v, %v", users, err)
	}
	a := users[0]
	if a.ID != "u1" || !a.Online || a.Banned || len(a.Instances) != 2 || a.Instances[1] != "i2" {
		t.Errorf("users[0] = %+v", a)
	}
	if !users[1].Banned || users[1].Online {
		t.Errorf("users[1] = %+v", users[1])
	}
	if _, err := f.api.AdminUsers(ctx, "tok-alice"); HTTPStatus(err) != 403 || ErrorCode(err) != "FORBIDDEN" {
		t.Errorf("AdminUsers(user) = %v, want 403 FORBIDDEN", err)
	}
}

func TestBanUnban(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)
	path := func() string {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.lastPath
	}

	if err := f.api.Ban(ctx, "tok-admin", "u1"); err != nil || path() != "/api/admin/users/u1/ban" {
		t.Errorf("Ban = %v, path %q", err, path())
	}
	if err := f.api.Unban(ctx, "tok-admin", "a/b c"); err != nil || path() != "/api/admin/users/a%2Fb%20c/unban" {
		t.Errorf("Unban = %v, path %q", err, path())
	}
	if err := f.api.Ban(ctx, "tok-admin", "nope"); HTTPStatus(err) != 404 || ErrorCode(err) != "NOT_FOUND" {
		t.Errorf("Ban(unknown) = %v, want 404", err)
	}
	if err := f.api.Ban(ctx, "tok-alice", "u2"); HTTPStatus(err) != 403 {
		t.Errorf("Ban(as user) = %v, want 403", err)
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	if err := f.api.Healthz(ctx); err != nil {
		t.Errorf("Healthz: %v", err)
	}
	report, err := f.api.Readyz(ctx)
	if err != nil || report["ready"] != true || report["bus"] != "disabled" {
		t.Errorf("Readyz = %v, %v", report, err)
	}

	f.mu.Lock()
	f.notReady = true
	f.mu.Unlock()
	report, err = f.api.Readyz(ctx)
	if HTTPStatus(err) != 503 {
		t.Errorf("Readyz(down) error = %v, want 503", err)
	}
	if report["ready"] != false || report["store"] != "down" {
		t.Errorf("Readyz(down) report = %v, want the body", report)
	}

	down := &API{BaseURL: "http://127.0.0.1:1", HTTP: f.hc}
	if err := down.Healthz(ctx); err == nil || HTTPStatus(err) != 0 {
		t.Errorf("Healthz(no server) = %v, want a transport error", err)
	}
}
