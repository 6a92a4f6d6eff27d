package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/golang-jwt/jwt/v5"
)

var testSecret = []byte("test-secret-0123456789-0123456789")

// sign makes an HS256 token over arbitrary claims with key.
func sign(t *testing.T, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// handmade builds header.payload.signature with an HMAC-SHA256 signature
// over whatever header is given (the algorithm-confusion attack).
func handmade(t *testing.T, header, payload map[string]any, key []byte) string {
	t.Helper()
	signing := b64(t, header) + "." + b64(t, payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestIssueParseRoundTrip(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(testSecret, time.Hour)
	for _, role := range []chat.Role{chat.RoleUser, chat.RoleAdmin} {
		before := time.Now()
		tok, exp, err := tokens.Issue("u42", role)
		if err != nil {
			t.Fatal(err)
		}
		if d := exp.Sub(before); d < time.Hour-time.Second || d > time.Hour+time.Second {
			t.Fatalf("exp %v is not about an hour after %v", exp, before)
		}
		c, err := tokens.Parse(tok)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if c.UserID != "u42" || c.Role != role || !c.ExpiresAt.Equal(exp) || len(c.TokenID) != 32 {
			t.Fatalf("claims %+v, want u42 %s %v and a 128-bit hex jti", c, role, exp)
		}
		// The body has exactly jti, sub, role, iat and exp.
		var body map[string]any
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err := json.Unmarshal(payload, &body); err != nil {
			t.Fatal(err)
		}
		if len(body) != 5 || body["jti"] != c.TokenID || body["sub"] != "u42" || body["role"] != string(role) || body["iat"] == nil || body["exp"] == nil {
			t.Fatalf("token body %v", body)
		}
	}
}

func TestDefaultTTL(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(testSecret, 0)
	if tokens.TTL() != 24*time.Hour {
		t.Fatalf("TTL %v", tokens.TTL())
	}
	_, exp, err := tokens.Issue("u1", chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 24*time.Hour-2*time.Second || d > 24*time.Hour {
		t.Fatalf("exp in %v", d)
	}
}

func TestMissingRoleIsUser(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(testSecret, 0)
	tok := sign(t, testSecret, jwt.MapClaims{"jti": "j1", "sub": "u1", "exp": time.Now().Add(time.Minute).Unix()})
	c, err := tokens.Parse(tok)
	if err != nil || c.Role != chat.RoleUser || c.UserID != "u1" {
		t.Fatalf("claims %+v err %v", c, err)
	}
}

func TestIssueRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tokens *Tokens
		user   string
		role   chat.Role
	}{
		{"empty user", NewTokens(testSecret, 0), "", chat.RoleUser},
		{"empty role", NewTokens(testSecret, 0), "u1", ""},
		{"bad role", NewTokens(testSecret, 0), "u1", "root"},
		{"empty secret", NewTokens(nil, 0), "u1", chat.RoleUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tok, _, err := tt.tokens.Issue(tt.user, tt.role); err == nil {
				t.Fatalf("Issue gave %q", tok)
			}
		})
	}
}

func TestTokenAttacks(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(testSecret, time.Hour)
	future := time.Now().Add(time.Hour).Unix()
	valid := jwt.MapClaims{"jti": "j1", "sub": "u1", "role": "user", "exp": future, "iat": time.Now().Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, valid).SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, valid).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, testSecret, valid)
	parts := strings.Split(good, ".")
	// Same signature, body changed to claim admin.
	tampered := parts[0] + "." + b64(t, with("role", "admin")) + "." + parts[2]

	attacks := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"three garbage parts", "a.b.c"},
		{"alg none", none},
		{"alg none without signature", strings.TrimSuffix(none, ".") + "."},
		{"alg none upper-case header", handmade(t, map[string]any{"alg": "NONE", "typ": "JWT"}, valid, testSecret)},
		{"HS512 with the same secret", hs512},
		{"RS256 signed with an RSA key", rs256},
		{"RS256 header HMAC-signed with the secret", handmade(t, map[string]any{"alg": "RS256", "typ": "JWT"}, valid, testSecret)},
		{"no alg header", handmade(t, map[string]any{"typ": "JWT"}, valid, testSecret)},
		{"bad signature (other secret)", sign(t, []byte("another-secret-0123456789-0123456"), valid)},
		{"tampered body", tampered},
		{"signature stripped", parts[0] + "." + parts[1] + "."},
		{"expired", sign(t, testSecret, with("exp", time.Now().Add(-time.Minute).Unix()))},
		{"expired long ago", sign(t, testSecret, with("exp", 1))},
		{"no exp", sign(t, testSecret, with("exp", nil))},
		{"exp as text", sign(t, testSecret, with("exp", "tomorrow"))},
		{"no sub", sign(t, testSecret, with("sub", nil))},
		{"empty sub", sign(t, testSecret, with("sub", ""))},
		{"sub not a string", sign(t, testSecret, with("sub", 42))},
		{"no jti (could not be revoked)", sign(t, testSecret, with("jti", nil))},
		{"empty jti", sign(t, testSecret, with("jti", ""))},
		{"jti not a string", sign(t, testSecret, with("jti", 7))},
		{"bad role", sign(t, testSecret, with("role", "root"))},
		{"role upper-case", sign(t, testSecret, with("role", "ADMIN"))},
		{"role not a string", sign(t, testSecret, with("role", 1))},
		{"not yet valid", sign(t, testSecret, with("nbf", time.Now().Add(time.Hour).Unix()))},
	}
	for _, tt := range attacks {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tokens.Parse(tt.token)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			if c != (Claims{}) {
				t.Fatalf("claims returned with an error: %+v", c)
			}
		})
	}

	// The untouched token is accepted: the table fails for the right reasons.
	if _, err := tokens.Parse(good); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
}

func TestExpiredWrapsJWTReason(t *testing.T) {
	t.Parallel()
	tok := sign(t, testSecret, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(-time.Second).Unix()})
	_, err := NewTokens(testSecret, 0).Parse(tok)
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("want ErrInvalidToken and jwt.ErrTokenExpired, got %v", err)
	}
}

func TestEmptySecretAcceptsNothing(t *testing.T) {
	t.Parallel()
	tok := sign(t, []byte{0}, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := NewTokens(nil, 0).Parse(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("empty-secret Tokens accepted a token: %v", err)
	}
}

func TestTokenFromRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cookie string // "" = none
		auth   string // "" = none
		want   string
	}{
		{"none", "", "", ""},
		{"cookie", "c.o.k", "", "c.o.k"},
		{"bearer", "", "Bearer b.e.r", "b.e.r"},
		{"bearer lower-case scheme", "", "bearer b.e.r", "b.e.r"},
		{"bearer extra blanks", "", "  Bearer   b.e.r  ", "b.e.r"},
		{"cookie wins over bearer", "c.o.k", "Bearer b.e.r", "c.o.k"},
		{"basic is not a token", "", "Basic dXNlcjpwYXNz", ""},
		{"bearer without token", "", "Bearer", ""},
		{"token alone", "", "b.e.r", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/ws?token=from-url", nil)
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "token", Value: tt.cookie})
			}
			r.AddCookie(&http.Cookie{Name: "other", Value: "x"})
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := TokenFromRequest(r); got != tt.want {
				t.Fatalf("TokenFromRequest = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(testSecret, 0)
	tok, _, err := tokens.Issue("u7", chat.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	cookieReq := httptest.NewRequest(http.MethodGet, "/ws", nil)
	cookieReq.AddCookie(&http.Cookie{Name: CookieName, Value: tok})
	bearerReq := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	bearerReq.Header.Set("Authorization", "Bearer "+tok)
	for _, r := range []*http.Request{cookieReq, bearerReq} {
		c, err := tokens.Authenticate(r)
		if err != nil || c.UserID != "u7" || c.Role != chat.RoleAdmin {
			t.Fatalf("Authenticate: %+v %v", c, err)
		}
	}
	if _, err := tokens.Authenticate(httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("no token: %v", err)
	}
}

func TestIssuedTokenIDsDiffer(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(testSecret, time.Hour)
	seen := map[string]bool{}
	for range 50 {
		tok, _, err := tokens.Issue("u1", chat.RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tokens.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.TokenID] {
			t.Fatalf("token id %s issued twice: a logout would revoke another login's token", c.TokenID)
		}
		seen[c.TokenID] = true
	}
}
