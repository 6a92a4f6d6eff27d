package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/store"
)

// TestUsernamesIgnoreCaseOverHTTP: Alice and alice are one name (409
// USERNAME_TAKEN), login works in any case, and the name is shown as
// registered.
func TestUsernamesIgnoreCaseOverHTTP(t *testing.T) {
	e := setup(t, nil, nil)
	ctx := ctxT(t)
	alice, err := e.api.Register(ctx, "Alice", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "ALICE", "aLiCe"} {
		_, err := e.api.Register(ctx, name, testPassword)
		if client.HTTPStatus(err) != 409 || client.ErrorCode(err) != chat.CodeUsernameTaken {
			t.Fatalf("register %s with Alice taken: %v, want 409 USERNAME_TAKEN", name, err)
		}
	}
	for _, name := range []string{"ALICE", "alice", "Alice"} {
		tok := e.login(name, testPassword)
		me, err := e.api.Me(ctx, tok)
		if err != nil || me.ID != alice.ID || me.Username != "Alice" {
			t.Fatalf("login as %s: me = %+v, %v; want Alice's account, shown as Alice", name, me, err)
		}
	}
}

// expectRevoked checks that token is refused with 401 over HTTP and at the
// WebSocket upgrade of e.
func expectRevoked(t *testing.T, e *env, token string) {
	t.Helper()
	if _, err := e.api.Me(ctxT(t), token); client.HTTPStatus(err) != 401 || client.ErrorCode(err) != chat.CodeUnauthorized {
		t.Fatalf("%s: GET /api/me with a logged-out token: %v, want 401 UNAUTHORIZED", e.srv.Config().InstanceID, err)
	}
	_, _, err := client.Dial(ctxT(t), e.api.WSURL("/ws"), client.DialOptions{Token: token})
	var de *client.DialError
	if !errors.As(err, &de) || de.Status != 401 {
		t.Fatalf("%s: upgrade with a logged-out token: %v, want 401", e.srv.Config().InstanceID, err)
	}
}

// TestLogoutRevokesToken: after logout the token is refused (HTTP and
// upgrade) and the socket opened with it is closed with 4001; another
// login of the same user is untouched.
func TestLogoutRevokesToken(t *testing.T) {
	e := setup(t, nil, nil)
	_, tok := e.user("alice")
	other := e.login("alice", testPassword)
	c, _ := e.dial(tok)
	keep, _ := e.dial(other)

	if err := e.api.Logout(ctxT(t), tok); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, chat.CloseTokenExpired)
	expectRevoked(t, e, tok)
	if _, err := e.api.Me(ctxT(t), other); err != nil {
		t.Fatalf("the other login's token was refused: %v", err)
	}
	barrier(t, keep) // still open and answering
	if err := e.api.Logout(ctxT(t), tok); client.HTTPStatus(err) != 401 {
		t.Fatalf("second logout with the revoked token: %v, want 401", err)
	}
}

// TestLogoutRevokesOnEveryInstance: a logout on A refuses the token on B
// and closes, within 5 s, the socket opened with it on B — with Redis and
// without it (the store alone carries the revocation).
func TestLogoutRevokesOnEveryInstance(t *testing.T) {
	for _, kind := range storeKinds {
		for _, redis := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/redis=%v", kind, redis), func(t *testing.T) {
				c := newCluster(t, kind, false)
				var a, b *env
				if redis {
					a, b = c.pair(nil)
				} else {
					a = setup(t, func(cfg *config.Config) { cfg.InstanceID = "A" }, c.st)
					b = setup(t, func(cfg *config.Config) { cfg.InstanceID = "B" }, c.st)
				}
				_, tok := a.user("alice")
				onB, _ := b.dial(tok)
				onA, _ := a.dial(tok)

				start := time.Now()
				if err := a.api.Logout(ctxT(t), tok); err != nil {
					t.Fatal(err)
				}
				expectClose(t, onA, chat.CloseTokenExpired)
				expectClose(t, onB, chat.CloseTokenExpired) // waits at most waitFor, 5 s
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("socket on B closed %v after the logout on A, want within 5 s", d)
				}
				expectRevoked(t, b, tok)
				expectRevoked(t, a, tok)
			})
		}
	}
}

// TestAdminCannotBanThemselves: 403 FORBIDDEN, and the admin stays in.
func TestAdminCannotBanThemselves(t *testing.T) {
	e := setup(t, nil, nil)
	me, err := e.api.Me(ctxT(t), e.admin)
	if err != nil {
		t.Fatal(err)
	}
	err = e.api.Ban(ctxT(t), e.admin, me.ID)
	if client.HTTPStatus(err) != 403 || client.ErrorCode(err) != chat.CodeForbidden {
		t.Fatalf("self-ban: %v, want 403 FORBIDDEN", err)
	}
	stored, err := e.store.UserByID(ctxT(t), me.ID)
	if err != nil || stored.Banned {
		t.Fatalf("after the refused self-ban the admin is %+v, %v", stored, err)
	}
	if _, err := e.api.AdminUsers(ctxT(t), e.admin); err != nil {
		t.Fatalf("admin locked out after a refused self-ban: %v", err)
	}
	// Banning somebody else still works.
	bobID, _ := e.user("bob")
	if err := e.api.Ban(ctxT(t), e.admin, bobID); err != nil {
		t.Fatalf("ban bob: %v", err)
	}
}

// TestBootstrapLiftsBan: an instance started with ADMIN_BOOTSTRAP naming a
// banned admin lifts the ban (the way back in after the last admin was
// banned).
func TestBootstrapLiftsBan(t *testing.T) {
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	first := setup(t, nil, st)
	root, err := st.UserByName(ctxT(t), "root")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetBanned(ctxT(t), root.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := first.api.AdminUsers(ctxT(t), first.admin); client.ErrorCode(err) != chat.CodeBanned {
		t.Fatalf("banned admin: %v, want 403 BANNED", err)
	}

	second := setup(t, func(c *config.Config) { c.InstanceID = "T2" }, st) // bootstraps root again
	me, err := second.api.Me(ctxT(t), second.admin)
	if err != nil || me.Banned || me.Role != string(chat.RoleAdmin) {
		t.Fatalf("after the bootstrap: %+v, %v; want an unbanned admin", me, err)
	}
	if _, err := first.api.AdminUsers(ctxT(t), first.admin); err != nil {
		t.Fatalf("admin routes after the bootstrap lifted the ban: %v", err)
	}
}

// directoryNames lists the usernames of a directory answer.
func directoryNames(users []client.DirectoryUser) string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	return "[" + strings.Join(names, " ") + "]"
}

// TestUserDirectory: GET /api/users finds users by prefix in any case,
// takes % and _ literally, orders by the lower-cased name, shows only id
// and username, bounds limit to 1-50 (default 20), and answers a banned
// user 403 BANNED like every other user route.
func TestUserDirectory(t *testing.T) {
	e := setup(t, nil, nil)
	ctx := ctxT(t)
	ids := map[string]string{}
	for _, n := range []string{"Alice", "alfred", "al_x", "alxe", "bob"} {
		ids[n], _ = e.user(n)
	}
	_, tok := e.user("zoe")
	for _, tc := range []struct {
		q     string
		limit int
		want  string
	}{
		{"al", 0, "[al_x alfred Alice alxe]"},
		{"AL", 0, "[al_x alfred Alice alxe]"},
		{"al_", 0, "[al_x]"}, // not a wildcard: alfred, alice and alxe do not match
		{"al%", 0, "[]"},     // nor this
		{"%", 0, "[]"},       // nor this
		{"al", 2, "[al_x alfred]"},
		{"bob", 50, "[bob]"},
		{"", 0, "[al_x alfred Alice alxe bob root zoe]"},
		{"x", 1, "[]"},
	} {
		got, err := e.api.Users(ctx, tok, tc.q, tc.limit)
		if err != nil {
			t.Fatalf("q=%q limit=%d: %v", tc.q, tc.limit, err)
		}
		if g := directoryNames(got); g != tc.want {
			t.Fatalf("q=%q limit=%d: %s, want %s", tc.q, tc.limit, g, tc.want)
		}
		for _, u := range got {
			if want, ok := ids[u.Username]; ok && u.ID != want {
				t.Fatalf("%s has id %s, want %s", u.Username, u.ID, want)
			}
		}
	}

	// Only id and username: no role, ban state or hash.
	var raw struct {
		Users []map[string]json.RawMessage `json:"users"`
	}
	if _, err := e.api.Do(ctx, client.Request{Path: "/api/users?q=bob", Token: tok}, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Users) != 1 || len(raw.Users[0]) != 2 || raw.Users[0]["id"] == nil || raw.Users[0]["username"] == nil {
		t.Fatalf("directory entry %v, want exactly id and username", raw.Users)
	}

	// The default limit is 20.
	for i := range 25 {
		e.user(fmt.Sprintf("many%02d", i))
	}
	if got, err := e.api.Users(ctx, tok, "many", 0); err != nil || len(got) != 20 || got[0].Username != "many00" {
		t.Fatalf("default limit: %d users (%v), want the first 20", len(got), err)
	}

	// Limits outside 1-50, and a q no username can start with, are 400.
	for _, query := range []string{"limit=0", "limit=51", "limit=-1", "limit=ten", "limit=", "limit=1.5",
		"q=" + strings.Repeat("a", 33), "q=" + url.QueryEscape("\xff")} {
		_, err := e.api.Do(ctx, client.Request{Path: "/api/users?" + query, Token: tok}, nil)
		if client.HTTPStatus(err) != 400 || client.ErrorCode(err) != chat.CodeBadRequest {
			t.Errorf("GET /api/users?%s: %v, want 400 BAD_REQUEST", query, err)
		}
	}
	if got, err := e.api.Users(ctx, tok, "many", 50); err != nil || len(got) != 25 {
		t.Fatalf("limit 50: %d users, %v", len(got), err)
	}

	// Not signed in: 401; banned: 403 BANNED.
	if _, err := e.api.Users(ctx, "", "a", 0); client.HTTPStatus(err) != 401 {
		t.Fatalf("without a token: %v, want 401", err)
	}
	if err := e.api.Ban(ctx, e.admin, ids["bob"]); err != nil {
		t.Fatal(err)
	}
	bobTok := e.login("bob", testPassword)
	if _, err := e.api.Users(ctx, bobTok, "a", 0); client.HTTPStatus(err) != 403 || client.ErrorCode(err) != chat.CodeBanned {
		t.Fatalf("banned user: %v, want 403 BANNED", err)
	}
}
