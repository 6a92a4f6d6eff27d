package httpapi

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/store"
)

// TestFail pins every error a route answers, wrapped or not, to its
// status, Retry-After and exact body: clients and the contract's tests
// read these bytes.
func TestFail(t *testing.T) {
	dbDown := errors.New("database is locked: secret detail")
	for _, tc := range []struct {
		err        error
		status     int
		retryAfter string
		body       string
	}{
		{errMissingToken, 401, "", `{"error":{"code":"UNAUTHORIZED","message":"missing token"}}`},
		{errInvalidToken, 401, "", `{"error":{"code":"UNAUTHORIZED","message":"invalid token"}}`},
		{errTokenRevoked, 401, "", `{"error":{"code":"UNAUTHORIZED","message":"token revoked (logged out)"}}`},
		{errUnknownUser, 401, "", `{"error":{"code":"UNAUTHORIZED","message":"unknown user"}}`},
		{errMetricsKey, 401, "", `{"error":{"code":"UNAUTHORIZED","message":"x-metrics-key required"}}`},
		{errBanned, 403, "", `{"error":{"code":"BANNED","message":"you are banned"}}`},
		{errAdminsOnly, 403, "", `{"error":{"code":"FORBIDDEN","message":"admins only"}}`},
		{errSelfBan, 403, "", `{"error":{"code":"FORBIDDEN","message":"an admin cannot ban themselves"}}`},
		{errOrigin, 403, "", `{"error":{"code":"FORBIDDEN","message":"origin not allowed"}}`},
		{errPostNotJSON, 403, "", `{"error":{"code":"FORBIDDEN","message":"POST requires Content-Type: application/json"}}`},
		{errCrossSite, 403, "", `{"error":{"code":"FORBIDDEN","message":"cross-site request refused: origin not allowed"}}`},
		{errNoSuchUser, 404, "", `{"error":{"code":"NOT_FOUND","message":"no such user"}}`},
		{errNoRoute, 404, "", `{"error":{"code":"NOT_FOUND","message":"no such route"}}`},
		{errMetricsOff, 404, "", `{"error":{"code":"NOT_FOUND","message":"metrics are off"}}`},
		{errAdminMetricsOff, 404, "", `{"error":{"code":"NOT_FOUND","message":"admin metrics route is disabled"}}`},
		{badRequest("limit must be an integer from 1 to 50"), 400, "",
			`{"error":{"code":"BAD_REQUEST","message":"limit must be an integer from 1 to 50"}}`},
		{rateLimited(1500*time.Millisecond, "too many attempts; slow down"), 429, "2",
			`{"error":{"code":"RATE_LIMITED","message":"too many attempts; slow down"}}`},
		{rateLimited(0, "x"), 429, "1", `{"error":{"code":"RATE_LIMITED","message":"x"}}`},
		{auth.ErrInvalidUsername, 400, "",
			`{"error":{"code":"BAD_REQUEST","message":"username must be 3-32 characters of letters, digits, _ . -"}}`},
		{auth.ErrInvalidPassword, 400, "", `{"error":{"code":"BAD_REQUEST","message":"password must be 8-128 characters"}}`},
		{auth.ErrBadCredentials, 401, "", `{"error":{"code":"UNAUTHORIZED","message":"wrong username or password"}}`},
		{fmt.Errorf("auth: %w", auth.ErrBusy), 429, "1",
			`{"error":{"code":"RATE_LIMITED","message":"the server is busy checking passwords; try again shortly"}}`},
		{fmt.Errorf("store: failed to insert user: %w", store.ErrUsernameTaken), 409, "",
			`{"error":{"code":"USERNAME_TAKEN","message":"username is taken"}}`},
		// What a route did not name is ours: 500, and none of its text.
		{store.ErrNotFound, 500, "", `{"error":{"code":"INTERNAL","message":"internal error"}}`},
		{dbDown, 500, "", `{"error":{"code":"INTERNAL","message":"internal error"}}`},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, httpError(tc.err))
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			if got := res.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if got := res.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := rec.Body.String(); got != tc.body+"\n" {
				t.Errorf("body %q, want %q", got, tc.body+"\n")
			}
		})
	}
}
