package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ErrNoToken is returned by Login when a 2xx answer sets no "token" cookie.
var ErrNoToken = errors.New("client: login set no token cookie")

// UserInfo is a user as the HTTP API shows it. Register's answer has no
// banned flag, so Banned is false there.
type UserInfo struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Banned   bool   `json:"banned"`
}

// AdminUser is one row of GET /api/admin/users.
type AdminUser struct {
	ID        string   `json:"id"`
	Username  string   `json:"username"`
	Role      string   `json:"role"`
	Banned    bool     `json:"banned"`
	Online    bool     `json:"online"`
	Instances []string `json:"instances"`
}

// DirectoryUser is one entry of the user directory, GET /api/users.
type DirectoryUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Register creates an account (POST /api/auth/register) and returns it.
func (a *API) Register(ctx context.Context, username, password string) (UserInfo, error) {
	var out struct {
		User UserInfo `json:"user"`
	}
	_, err := a.Do(ctx, Request{Method: http.MethodPost, Path: "/api/auth/register",
		Body: credentials{username, password}}, &out)
	if err != nil {
		return UserInfo{}, fmt.Errorf("client: failed to register: %w", err)
	}
	return out.User, nil
}

// Login signs in (POST /api/auth/login) and returns the token from the
// "token" cookie the server sets; ErrNoToken when there is none.
func (a *API) Login(ctx context.Context, username, password string) (string, error) {
	c, err := a.LoginCookie(ctx, username, password)
	if err != nil {
		return "", err
	}
	return c.Value, nil
}

// LoginCookie is Login returning the whole "token" cookie, so its attributes
// (HttpOnly, SameSite, Secure, Domain) can be checked.
func (a *API) LoginCookie(ctx context.Context, username, password string) (*http.Cookie, error) {
	resp, err := a.Do(ctx, Request{Method: http.MethodPost, Path: "/api/auth/login",
		Body: credentials{username, password}}, nil)
	if err != nil {
		return nil, fmt.Errorf("client: failed to log in: %w", err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "token" && c.Value != "" {
			return c, nil
		}
	}
	return nil, ErrNoToken
}

// Logout signs out (POST /api/auth/logout).
func (a *API) Logout(ctx context.Context, token string) error {
	if _, err := a.Do(ctx, Request{Method: http.MethodPost, Path: "/api/auth/logout", Token: token}, nil); err != nil {
		return fmt.Errorf("client: failed to log out: %w", err)
	}
	return nil
}

// Me returns the signed-in user (GET /api/me); a banned user gets Banned set.
func (a *API) Me(ctx context.Context, token string) (UserInfo, error) {
	var u UserInfo
	if _, err := a.Do(ctx, Request{Path: "/api/me", Token: token}, &u); err != nil {
		return UserInfo{}, fmt.Errorf("client: failed to get me: %w", err)
	}
	return u, nil
}

// Messages returns one page of the conversation with user with, newest first
// (GET /api/messages). before, when not empty, asks for messages older than
// that id; limit 0 leaves the server's default (50), any other value is sent
// as-is, so out-of-range limits can be tested. nextBefore is the before of
// the next page, "" on the last page. Each message is a Frame decoded from
// the MESSAGE object, with its raw JSON in Raw.
func (a *API) Messages(ctx context.Context, token, with, before string, limit int) (msgs []Frame, nextBefore string, err error) {
	q := url.Values{}
	q.Set("with", with)
	if before != "" {
		q.Set("before", before)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Messages   []json.RawMessage `json:"messages"`
		NextBefore *string           `json:"nextBefore"`
	}
	if _, err := a.Do(ctx, Request{Path: "/api/messages?" + q.Encode(), Token: token}, &out); err != nil {
		return nil, "", fmt.Errorf("client: failed to get messages: %w", err)
	}
	msgs = make([]Frame, len(out.Messages))
	for i, raw := range out.Messages {
		msgs[i] = DecodeFrame(raw)
		if msgs[i].Err != nil {
			return nil, "", fmt.Errorf("client: failed to decode message %d: %w", i, msgs[i].Err)
		}
	}
	if out.NextBefore != nil {
		nextBefore = *out.NextBefore
	}
	return msgs, nextBefore, nil
}

// Users searches the user directory (GET /api/users): users whose name
// starts with prefix, in any case, ordered by the lower-cased name. limit 0
// leaves the server's default (20); any other value is sent as-is, so
// out-of-range limits can be tested.
func (a *API) Users(ctx context.Context, token, prefix string, limit int) ([]DirectoryUser, error) {
	q := url.Values{}
	q.Set("q", prefix)
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Users []DirectoryUser `json:"users"`
	}
	if _, err := a.Do(ctx, Request{Path: "/api/users?" + q.Encode(), Token: token}, &out); err != nil {
		return nil, fmt.Errorf("client: failed to search users: %w", err)
	}
	return out.Users, nil
}

// AdminUsers lists every user with presence (GET /api/admin/users); admins
// only.
func (a *API) AdminUsers(ctx context.Context, token string) ([]AdminUser, error) {
	var out struct {
		Users []AdminUser `json:"users"`
	}
	if _, err := a.Do(ctx, Request{Path: "/api/admin/users", Token: token}, &out); err != nil {
		return nil, fmt.Errorf("client: failed to list users: %w", err)
	}
	return out.Users, nil
}

// Ban bans userID (POST /api/admin/users/{id}/ban); admins only.
func (a *API) Ban(ctx context.Context, token, userID string) error {
	return a.adminAction(ctx, token, userID, "ban")
}

// Unban lifts the ban on userID (POST /api/admin/users/{id}/unban); admins
// only.
func (a *API) Unban(ctx context.Context, token, userID string) error {
	return a.adminAction(ctx, token, userID, "unban")
}

func (a *API) adminAction(ctx context.Context, token, userID, action string) error {
	path := "/api/admin/users/" + url.PathEscape(userID) + "/" + action
	if _, err := a.Do(ctx, Request{Method: http.MethodPost, Path: path, Token: token}, nil); err != nil {
		return fmt.Errorf("client: failed to %s user: %w", action, err)
	}
	return nil
}

// Healthz checks liveness (GET /healthz): nil on a 2xx answer.
func (a *API) Healthz(ctx context.Context) error {
	if _, err := a.Do(ctx, Request{Path: "/healthz"}, nil); err != nil {
		return fmt.Errorf("client: failed health check: %w", err)
	}
	return nil
}

// Readyz checks readiness (GET /readyz) and returns the JSON report. When the
// server is not ready (non-2xx) the error is an *APIError and the report is
// still returned if the body was a JSON object.
func (a *API) Readyz(ctx context.Context) (map[string]any, error) {
	var raw []byte
	resp, err := a.Do(ctx, Request{Path: "/readyz"}, &raw)
	if err != nil {
		var report map[string]any
		var ae *APIError
		if errors.As(err, &ae) && resp != nil {
			_ = json.NewDecoder(resp.Body).Decode(&report)
		}
		return report, fmt.Errorf("client: failed readiness check: %w", err)
	}
	var report map[string]any
	if err := json.Unmarshal(raw, &report); err != nil {
		return nil, fmt.Errorf("client: failed to decode readiness report: %w", err)
	}
	return report, nil
}
