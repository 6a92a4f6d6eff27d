package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/config"
)

// rawPost sends a POST exactly as given (no client defaults) and returns
// the response with its wire error code ("" for none).
func rawPost(t *testing.T, e *env, path string, hdr http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, e.api.BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := e.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(data, &eb)
	return resp, eb.Error.Code
}

func cookieHdr(token string) http.Header {
	return http.Header{"Cookie": {(&http.Cookie{Name: "token", Value: token}).String()}}
}

func bearerHdr(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func with(h http.Header, kv ...string) http.Header {
	h = h.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// The attack: an admin ban sent from Origin http://evil.example,
// with the admin's cookie, in production.
func TestCSRFRuleInProduction(t *testing.T) {
	const appOrigin = "https://app.example"
	e := setup(t, func(c *config.Config) {
		c.Env, c.Production, c.CORSOrigin = config.EnvProduction, true, appOrigin
	}, nil)
	bobID, _ := e.user("bob")
	ban := "/api/admin/users/" + bobID + "/ban"
	unban := "/api/admin/users/" + bobID + "/unban"
	own := "http://" + e.srv.Addr()
	const json = "application/json; charset=utf-8"

	refused := []struct {
		name string
		hdr  http.Header
	}{
		{"cookie, foreign origin, JSON", with(cookieHdr(e.admin), "Origin", "http://evil.example", "Content-Type", json)},
		{"cookie, foreign origin, form", with(cookieHdr(e.admin), "Origin", "http://evil.example", "Content-Type", "application/x-www-form-urlencoded")},
		{"cookie, no origin, form", with(cookieHdr(e.admin), "Content-Type", "application/x-www-form-urlencoded")},
		{"cookie, no content type", with(cookieHdr(e.admin), "Origin", appOrigin)},
		{"cookie, origin null", with(cookieHdr(e.admin), "Origin", "null", "Content-Type", json)},
		{"bearer, text/plain", with(bearerHdr(e.admin), "Content-Type", "text/plain")},
		{"cookie beside bearer, foreign origin", with(cookieHdr(e.admin), "Authorization", "Bearer "+e.admin, "Origin", "http://evil.example", "Content-Type", json)},
	}
	for _, tc := range refused {
		resp, code := rawPost(t, e, ban, tc.hdr, "")
		if resp.StatusCode != http.StatusForbidden || code != chat.CodeForbidden {
			t.Errorf("%s: %d %s, want 403 FORBIDDEN", tc.name, resp.StatusCode, code)
		}
	}
	if u, err := e.store.UserByID(ctxT(t), bobID); err != nil || u.Banned {
		t.Fatalf("bob after the refused bans: %+v %v", u, err)
	}

	allowed := []struct {
		name string
		hdr  http.Header
	}{
		{"cookie, CORS_ORIGIN", with(cookieHdr(e.admin), "Origin", appOrigin, "Content-Type", json)},
		{"cookie, own origin", with(cookieHdr(e.admin), "Origin", own, "Content-Type", json)},
		{"cookie, no origin (not a browser)", with(cookieHdr(e.admin), "Content-Type", "application/json")},
		{"bearer, no origin", with(bearerHdr(e.admin), "Content-Type", json)},
		{"bearer, foreign origin", with(bearerHdr(e.admin), "Origin", "http://evil.example", "Content-Type", json)},
	}
	for _, tc := range allowed {
		for _, path := range []string{ban, unban} {
			if resp, code := rawPost(t, e, path, tc.hdr, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: %d %s, want 200", tc.name, path, resp.StatusCode, code)
			}
		}
	}

	// Login and register are POSTs too.
	if resp, code := rawPost(t, e, "/api/auth/login", http.Header{"Content-Type": {"text/plain"}},
		`{"username":"bob","password":"`+testPassword+`"}`); resp.StatusCode != http.StatusForbidden || code != chat.CodeForbidden {
		t.Errorf("login as text/plain: %d %s, want 403 FORBIDDEN", resp.StatusCode, code)
	}
	if resp, code := rawPost(t, e, "/api/auth/register", nil, `{"username":"carol","password":"`+testPassword+`"}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("register without a content type: %d %s, want 403", resp.StatusCode, code)
	}
}

// In development with CORS_ORIGIN empty every origin is allowed (the
// contract's default), but the content type rule still holds.
func TestCSRFRuleInDevelopmentWithoutCORSOrigin(t *testing.T) {
	e := setup(t, nil, nil)
	bobID, _ := e.user("bob")
	unban := "/api/admin/users/" + bobID + "/unban"
	if resp, code := rawPost(t, e, unban, with(cookieHdr(e.admin), "Origin", "http://evil.example", "Content-Type", "application/json"), ""); resp.StatusCode != http.StatusOK {
		t.Errorf("cookie, any origin, JSON: %d %s, want 200", resp.StatusCode, code)
	}
	if resp, code := rawPost(t, e, unban, with(cookieHdr(e.admin), "Origin", "http://evil.example", "Content-Type", "multipart/form-data; boundary=x"), ""); resp.StatusCode != http.StatusForbidden || code != chat.CodeForbidden {
		t.Errorf("cookie, form: %d %s, want 403 FORBIDDEN", resp.StatusCode, code)
	}
}

// The server's own origin behind a trusted TLS-terminating proxy is
// https://Host, told by X-Forwarded-Proto; from anyone else that header is
// ignored.
func TestOwnOriginBehindATrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
		want    int
	}{
		{"trusted", "127.0.0.0/8", http.StatusOK},
		{"untrusted", "10.0.0.0/8", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, func(c *config.Config) {
				c.Env, c.Production, c.CORSOrigin = config.EnvProduction, true, "https://app.example"
				c.TrustedProxies = mustPrefixes(t, tc.trusted)
			}, nil)
			bobID, _ := e.user("bob")
			hdr := with(cookieHdr(e.admin), "Origin", "https://"+e.srv.Addr(), "X-Forwarded-Proto", "https", "Content-Type", "application/json")
			if resp, code := rawPost(t, e, "/api/admin/users/"+bobID+"/unban", hdr, ""); resp.StatusCode != tc.want {
				t.Fatalf("own https origin via X-Forwarded-Proto: %d %s, want %d", resp.StatusCode, code, tc.want)
			}
		})
	}
}
