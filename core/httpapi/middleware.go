package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

type bannedPolicy bool

const (
	allowBanned  bannedPolicy = true
	refuseBanned bannedPolicy = false
)

// principal is the authenticated caller: the stored user (banned is stored
// state, read at every call) and the token's claims.
type principal struct {
	user   chat.User
	claims auth.Claims
}

type userHandler func(w http.ResponseWriter, r *http.Request, p principal)

// authenticate checks the token and loads the user; on failure it writes
// 401 and reports false. The WebSocket upgrade uses it as it is (a user's
// sockets have limits of their own); the HTTP routes go through user,
// which limits each user's requests between the two steps.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (principal, bool) {
	claims, ok := a.parseToken(w, r)
	if !ok {
		return principal{}, false
	}
	return a.loadPrincipal(w, r, claims)
}

// parseToken checks the request's token (no store read); on failure it
// writes 401 and reports false.
func (a *API) parseToken(w http.ResponseWriter, r *http.Request) (auth.Claims, bool) {
	tok := auth.TokenFromRequest(r)
	if tok == "" {
		a.fail(w, r, errMissingToken)
		return auth.Claims{}, false
	}
	claims, err := a.acc.Tokens.Parse(tok)
	if err != nil {
		a.fail(w, r, errInvalidToken)
		return auth.Claims{}, false
	}
	return claims, true
}

// loadPrincipal reads what the store says of a valid token and its user:
// revoked (logout) and the stored user. On failure it writes the error and
// reports false.
func (a *API) loadPrincipal(w http.ResponseWriter, r *http.Request, claims auth.Claims) (principal, bool) {
	// Revocation (logout) is stored state, shared by every instance.
	revoked, err := a.store.TokenRevoked(r.Context(), claims.TokenID)
	if err != nil {
		a.fail(w, r, err)
		return principal{}, false
	}
	if revoked {
		a.fail(w, r, errTokenRevoked)
		return principal{}, false
	}
	u, err := a.store.UserByID(r.Context(), claims.UserID)
	if errors.Is(err, store.ErrNotFound) {
		err = errUnknownUser // the token's user, not one the caller asked for
	}
	if err != nil {
		a.fail(w, r, err)
		return principal{}, false
	}
	// The role in a valid token is trusted: the server signed it.
	u.Role = claims.Role
	return principal{user: u, claims: claims}, true
}

func (a *API) user(h userHandler, policy bannedPolicy) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		claims, ok := a.parseToken(w, r)
		if !ok {
			return
		}
		// Limited before the store is read: only a token the server signed
		// gets this far, and its user's requests over the rate cost no more.
		if ok, wait := a.perUser.take(claims.UserID); !ok {
			a.fail(w, r, rateLimited(wait, "too many requests; slow down"))
			return
		}
		p, ok := a.loadPrincipal(w, r, claims)
		if !ok {
			return
		}
		if p.user.Banned && policy == refuseBanned {
			a.fail(w, r, errBanned)
			return
		}
		h(w, r, p)
	}
}

func (a *API) admin(h userHandler) http.HandlerFunc {
	return a.user(func(w http.ResponseWriter, r *http.Request, p principal) {
		if p.claims.Role != chat.RoleAdmin {
			a.fail(w, r, errAdminsOnly)
			return
		}
		h(w, r, p)
	}, refuseBanned)
}

// limited applies the per-address limit of login and register.
func (a *API) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := a.limiter.take(a.proxies.clientAddr(r)); !ok {
			a.fail(w, r, rateLimited(wait, "too many attempts; slow down"))
			return
		}
		h(w, r)
	}
}

// withTimeout bounds a handler's store work.
func withTimeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
