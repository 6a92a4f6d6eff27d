package httpapi

import (
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type userJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

func toUserJSON(u chat.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, Role: string(u.Role)}
}

func (a *API) register(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !a.decodeBody(w, r, &c) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	u, err := a.acc.Register(ctx, c.Username, c.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u)})
}

// login spends one try of the account's failed-login budget before any
// bcrypt work and gives it back on success, so guessing one account's
// password is throttled while every other account logs in as fast as the
// hashing bound allows.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !a.decodeBody(w, r, &c) {
		return
	}
	account := strings.ToLower(c.Username)
	if ok, wait := a.loginFailures.take(account); !ok {
		a.fail(w, r, rateLimited(wait, "too many failed logins for this account; try again later"))
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	u, tok, exp, err := a.acc.Login(ctx, c.Username, c.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.loginFailures.forget(account)
	http.SetCookie(w, a.cookie(tok, exp))
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

// logout revokes the caller's token everywhere (its sockets close with
// 4001) and clears the cookie. The cookie is cleared even when the
// revocation could not be stored, which is then answered 500 so that the
// client knows the token still works.
func (a *API) logout(w http.ResponseWriter, r *http.Request, p principal) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	err := a.node.RevokeToken(ctx, p.claims.TokenID, p.claims.ExpiresAt)
	c := a.cookie("", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
	if err != nil {
		a.log.Warn("logout_revoke_failed", zap.String("userId", p.user.ID), zap.Error(err))
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (a *API) cookie(value string, exp time.Time) *http.Cookie {
	return &http.Cookie{
		Name: "token", Value: value, Path: "/", Domain: a.opts.CookieDomain, Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.opts.Production,
	}
}

func (a *API) me(w http.ResponseWriter, _ *http.Request, p principal) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": p.user.ID, "username": p.user.Username, "role": string(p.user.Role), "banned": p.user.Banned,
	})
}
