package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestDo(t *testing.T) {
	t.Parallel()
	f := setupTest(t)
	ctx := testCtx(t)

	// Raw bytes are sent as-is, so malformed JSON reaches the server.
	_, err := f.api.Do(ctx, Request{Method: http.MethodPost, Path: "/api/auth/register", Body: []byte("{bad")}, nil)
	if HTTPStatus(err) != 400 || ErrorCode(err) != "BAD_REQUEST" {
		t.Errorf("raw bad body = %v, want 400 BAD_REQUEST", err)
	}

	// A *[]byte receives the raw answer.
	var raw []byte
	if _, err := f.api.Do(ctx, Request{Path: "/healthz"}, &raw); err != nil || string(raw) != "ok" {
		t.Errorf("raw answer = %q, %v", raw, err)
	}

	// Extra headers, default method and JSON content type.
	var echo map[string]string
	resp, err := f.api.Do(ctx, Request{Path: "/echo", Header: http.Header{"X-Test": {"yes"}}, Body: map[string]int{"a": 1}}, &echo)
	if err != nil {
		t.Fatalf("Do(/echo): %v", err)
	}
	if echo["method"] != "GET" || echo["xTest"] != "yes" || echo["contentType"] != "application/json" {
		t.Errorf("echo = %v", echo)
	}
	// The body stays readable after Do.
	var again map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&again); err != nil || again["xTest"] != "yes" {
		t.Errorf("re-read body = %v, %v", again, err)
	}

	// An error body that is not {"error":...} keeps its text.
	resp, err = f.api.Do(ctx, Request{Path: "/plain-error"}, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Code != "" || ae.Message != "bad gateway" {
		t.Errorf("plain error = %#v", err)
	}
	if resp == nil || resp.StatusCode != 502 {
		t.Errorf("plain error response = %v", resp)
	}

	// A 2xx body that does not decode.
	var n int
	if _, err := f.api.Do(ctx, Request{Path: "/healthz"}, &n); err == nil || HTTPStatus(err) != 0 {
		t.Errorf("undecodable answer = %v, want a decode error", err)
	}
	// An unencodable request body.
	if _, err := f.api.Do(ctx, Request{Path: "/echo", Body: make(chan int)}, nil); err == nil {
		t.Error("unencodable body: no error")
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{nil, 0, ""},
		{errors.New("x"), 0, ""},
		{fmt.Errorf("wrapped: %w", &APIError{Status: 409, Code: "USERNAME_TAKEN"}), 409, "USERNAME_TAKEN"},
		{fmt.Errorf("wrapped: %w", &DialError{Status: 401, Code: "UNAUTHORIZED"}), 401, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		if got := HTTPStatus(tt.err); got != tt.status {
			t.Errorf("HTTPStatus(%v) = %d, want %d", tt.err, got, tt.status)
		}
		if got := ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
		}
	}
	if got := (&APIError{Status: 409, Code: "USERNAME_TAKEN", Message: "taken"}).Error(); got != "HTTP 409 USERNAME_TAKEN: taken" {
		t.Errorf("Error() = %q", got)
	}
}

func TestWSURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ base, path, want string }{
		{"http://127.0.0.1:8000", "", "ws://127.0.0.1:8000/ws"},
		{"https://chat.example/", "/socket", "wss://chat.example/socket"},
		{"ws://h:1", "", "ws://h:1/ws"},
	}
	for _, tt := range tests {
		if got := (&API{BaseURL: tt.base}).WSURL(tt.path); got != tt.want {
			t.Errorf("WSURL(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
	}
}

func TestSetToken(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	setToken(h, "", false)
	if len(h) != 0 {
		t.Errorf("empty token set %v", h)
	}
	setToken(h, "abc", false)
	if h.Get("Authorization") != "Bearer abc" {
		t.Errorf("bearer: %v", h)
	}
	h = http.Header{"Cookie": {"theme=dark"}}
	setToken(h, "abc", true)
	if got := h.Get("Cookie"); got != "theme=dark; token=abc" || h.Get("Authorization") != "" {
		t.Errorf("cookie: %v", h)
	}
}
