package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is the lifetime of a token when NewTokens is given 0.
const DefaultTokenTTL = 24 * time.Hour

// CookieName is the cookie that carries the token for browsers.
const CookieName = "token"

// Claims is what a valid token says.
type Claims struct {
	TokenID   string    // "jti": what logout revokes
	UserID    string    // "sub"
	Role      chat.Role // "role"; RoleUser when the token has none
	ExpiresAt time.Time // "exp", whole seconds
}

// tokenClaims is the JWT body: jti, sub, exp, iat and role.
type tokenClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
}

// Tokens issues and checks HS256 JWTs with one secret. It is immutable and
// safe for concurrent use.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	parser *jwt.Parser
}

// NewTokens returns Tokens signing with secret (copied) and issuing tokens
// valid for ttl (0 means DefaultTokenTTL, 24h). An empty secret issues
// nothing and accepts nothing.
func NewTokens(secret []byte, ttl time.Duration) *Tokens {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{
		secret: append([]byte(nil), secret...),
		ttl:    ttl,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			// iat is not checked: instances on other hosts may have clocks a
			// little ahead, and exp is what bounds a token.
		),
	}
}

// TTL returns the lifetime of issued tokens.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs a token for userID with role, issued now and expiring after the
// TTL. exp is the expiry as written in the token (whole seconds), e.g. for
// the cookie's Expires.
func (t *Tokens) Issue(userID string, role chat.Role) (token string, exp time.Time, err error) {
	switch {
	case userID == "":
		return "", time.Time{}, errors.New("auth: failed to issue token: empty user id")
	case !role.Valid():
		return "", time.Time{}, fmt.Errorf("auth: failed to issue token: invalid role %q", role)
	case len(t.secret) == 0:
		return "", time.Time{}, errors.New("auth: failed to issue token: empty secret")
	}
	var id [16]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand docs)
	now := time.Now().Truncate(time.Second)
	exp = now.Add(t.ttl)
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        hex.EncodeToString(id[:]),
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Role: string(role),
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: failed to sign token: %w", err)
	}
	return token, exp, nil
}

// Parse checks a token and returns its claims. Every failure wraps
// ErrInvalidToken (and the jwt library's reason, e.g. jwt.ErrTokenExpired):
// only HS256 with this secret is accepted; exp is required and must be in
// the future; sub must be non-empty; role, when present, must be "user" or
// "admin".
func (t *Tokens) Parse(token string) (Claims, error) {
	c, err := t.parse(token)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return c, nil
}

func (t *Tokens) parse(token string) (Claims, error) {
	if token == "" {
		return Claims{}, errors.New("no token")
	}
	if len(t.secret) == 0 {
		return Claims{}, errors.New("no secret configured")
	}
	var tc tokenClaims
	_, err := t.parser.ParseWithClaims(token, &tc, func(tok *jwt.Token) (any, error) {
		// WithValidMethods already limits alg to HS256; this keeps the key
		// from ever being handed to another method family.
		if _, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
		}
		return t.secret, nil
	})
	if err != nil {
		return Claims{}, err
	}
	if tc.Subject == "" {
		return Claims{}, errors.New("missing sub")
	}
	if tc.ID == "" {
		return Claims{}, errors.New("missing jti")
	}
	role := chat.Role(tc.Role)
	if role == "" {
		role = chat.RoleUser
	}
	if !role.Valid() {
		return Claims{}, fmt.Errorf("invalid role %q", tc.Role)
	}
	return Claims{TokenID: tc.ID, UserID: tc.Subject, Role: role, ExpiresAt: tc.ExpiresAt.Time}, nil
}

// TokenFromRequest returns the token of r: the cookie "token" when present
// and non-empty, else the credentials of "Authorization: Bearer X" (scheme
// case-insensitive), else "". Tokens are never taken from the URL, where
// they would end up in logs.
func TokenFromRequest(r *http.Request) string {
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return c.Value
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// Authenticate parses the token of r (see TokenFromRequest). A request
// without one gets an error wrapping ErrInvalidToken too.
func (t *Tokens) Authenticate(r *http.Request) (Claims, error) {
	return t.Parse(TokenFromRequest(r))
}
