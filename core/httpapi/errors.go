package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// apiError is a refusal answered as it is: its status, wire code and
// client-safe message, and for a 429 how long to wait (Retry-After).
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return "httpapi: " + e.code + ": " + e.msg }

// badRequest is a 400 BAD_REQUEST saying what is wrong with the request.
func badRequest(msg string) error {
	return &apiError{status: http.StatusBadRequest, code: chat.CodeBadRequest, msg: msg}
}

// rateLimited is a 429 RATE_LIMITED to retry after wait.
func rateLimited(wait time.Duration, msg string) error {
	return &apiError{status: http.StatusTooManyRequests, code: chat.CodeRateLimited, msg: msg, retryAfter: wait}
}

// Refusals the routes make themselves.
var (
	errMissingToken    error = &apiError{status: http.StatusUnauthorized, code: chat.CodeUnauthorized, msg: "missing token"}
	errInvalidToken    error = &apiError{status: http.StatusUnauthorized, code: chat.CodeUnauthorized, msg: "invalid token"}
	errTokenRevoked    error = &apiError{status: http.StatusUnauthorized, code: chat.CodeUnauthorized, msg: "token revoked (logged out)"}
	errUnknownUser     error = &apiError{status: http.StatusUnauthorized, code: chat.CodeUnauthorized, msg: "unknown user"}
	errMetricsKey      error = &apiError{status: http.StatusUnauthorized, code: chat.CodeUnauthorized, msg: "x-metrics-key required"}
	errBanned          error = &apiError{status: http.StatusForbidden, code: chat.CodeBanned, msg: "you are banned"}
	errAdminsOnly      error = &apiError{status: http.StatusForbidden, code: chat.CodeForbidden, msg: "admins only"}
	errSelfBan         error = &apiError{status: http.StatusForbidden, code: chat.CodeForbidden, msg: "an admin cannot ban themselves"}
	errOrigin          error = &apiError{status: http.StatusForbidden, code: chat.CodeForbidden, msg: "origin not allowed"}
	errPostNotJSON     error = &apiError{status: http.StatusForbidden, code: chat.CodeForbidden, msg: "POST requires Content-Type: application/json"}
	errCrossSite       error = &apiError{status: http.StatusForbidden, code: chat.CodeForbidden, msg: "cross-site request refused: origin not allowed"}
	errNoSuchUser      error = &apiError{status: http.StatusNotFound, code: chat.CodeNotFound, msg: "no such user"}
	errNoRoute         error = &apiError{status: http.StatusNotFound, code: chat.CodeNotFound, msg: "no such route"}
	errMetricsOff      error = &apiError{status: http.StatusNotFound, code: chat.CodeNotFound, msg: "metrics are off"}
	errAdminMetricsOff error = &apiError{status: http.StatusNotFound, code: chat.CodeNotFound, msg: "admin metrics route is disabled"}
)

// busyMessage answers a login or register refused by the hashing bound.
const busyMessage = "the server is busy checking passwords; try again shortly"

// httpError is the one place an error becomes an HTTP status, a wire code
// and a client-safe message: the routes' own refusals as they are, the
// errors of auth and the store that mean one thing wherever they come
// from, anything else 500 INTERNAL without a word of its text. A
// store.ErrNotFound means something else at each route (an unknown
// caller, an unknown target, an empty history), so a route that expects
// one names it with its own refusal; unexpected, it is a 500.
func httpError(err error) apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return *ae
	case errors.Is(err, auth.ErrInvalidUsername):
		return apiError{status: http.StatusBadRequest, code: chat.CodeBadRequest,
			msg: "username must be 3-32 characters of letters, digits, _ . -"}
	case errors.Is(err, auth.ErrInvalidPassword):
		return apiError{status: http.StatusBadRequest, code: chat.CodeBadRequest, msg: "password must be 8-128 characters"}
	case errors.Is(err, auth.ErrBadCredentials):
		return apiError{status: http.StatusUnauthorized, code: chat.CodeUnauthorized, msg: "wrong username or password"}
	case errors.Is(err, auth.ErrBusy):
		return apiError{status: http.StatusTooManyRequests, code: chat.CodeRateLimited, msg: busyMessage, retryAfter: time.Second}
	case errors.Is(err, store.ErrUsernameTaken):
		return apiError{status: http.StatusConflict, code: chat.CodeUsernameTaken, msg: "username is taken"}
	default:
		return apiError{status: http.StatusInternalServerError, code: chat.CodeInternal, msg: "internal error"}
	}
}

// fail answers err (see httpError), logging the cause of a 500: the
// client is told nothing of it, so the log is the only place it is kept.
// A request whose client went away (its context ended, so the store call
// was cancelled) is not the server's fault and logs nothing.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := httpError(err)
	if e.status == http.StatusInternalServerError && r.Context().Err() == nil {
		a.internal.Log(zap.String("route", routeOf(r)), zap.Error(err))
	}
	writeError(w, e)
}

// writeError writes e: a 429 with Retry-After in whole seconds (rounded
// up, at least 1), and the contract's JSON error body.
func writeError(w http.ResponseWriter, e apiError) {
	if e.status == http.StatusTooManyRequests {
		secs := max(1, int(math.Ceil(e.retryAfter.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.msg
	writeJSON(w, e.status, b)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a small JSON request body into v. The body is read whole
// first so that text encoding/json would rewrite to U+FFFD (a password of
// invalid bytes matching another one) is refused rather than decoded.
func (a *API) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err == nil {
		err = json.NewDecoder(bytes.NewReader(raw)).Decode(v)
	}
	if err != nil {
		a.fail(w, r, badRequest("request body must be a JSON object: "+err.Error()))
		return false
	}
	if err := chat.CheckJSONText(raw); err != nil {
		a.fail(w, r, badRequest("request body: "+err.Error()))
		return false
	}
	return true
}
