package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBodyBytes bounds how much of an HTTP answer is read. A full page of
// messages (200 x 4 KiB of content) fits comfortably.
const maxBodyBytes = 16 << 20

// API is a client of the server's HTTP routes. The zero value is not usable:
// BaseURL is required. An API is safe for concurrent use; its fields must
// not change once calls have started.
type API struct {
	// BaseURL is the server's root, like "http://127.0.0.1:8000", without a
	// trailing path.
	BaseURL string
	// HTTP sends the requests. Nil means http.DefaultClient.
	HTTP *http.Client
	// UseCookie sends tokens as the "token" cookie, as a browser would,
	// instead of the default "Authorization: Bearer" header.
	UseCookie bool
}

// Request is one HTTP call made with API.Do.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// Path is appended to BaseURL and may carry a query, like
	// "/api/messages?with=u2".
	Path string
	// Token, when set, authenticates the request (see API.UseCookie).
	Token string
	// Body is sent as the request body: []byte or json.RawMessage as-is (to
	// send malformed JSON), anything else encoded as JSON. Nil sends no body.
	Body any
	// Header holds extra request headers (Origin, Accept, x-metrics-key...).
	Header http.Header
}

// APIError is a non-2xx HTTP answer. Code and Message come from the
// {"error":{"code","message"}} body; when the body is not of that form Code is
// empty and Message holds the start of the body.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode returns the wire error code carried by err: the Code of an
// *APIError or a *DialError anywhere in its chain, else "".
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	var de *DialError
	if errors.As(err, &de) {
		return de.Code
	}
	return ""
}

// HTTPStatus returns the HTTP status carried by err: the Status of an
// *APIError or a *DialError anywhere in its chain, else 0.
func HTTPStatus(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	var de *DialError
	if errors.As(err, &de) {
		return de.Status
	}
	return 0
}

// parseErrorBody reads a {"error":{"code","message"}} body, or falls back to
// the body's text.
func parseErrorBody(body []byte) (code, msg string) {
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		return eb.Error.Code, eb.Error.Message
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return "", text
}

// Do sends r and reads the whole answer. A 2xx answer is decoded into out:
// nil discards it, a *[]byte receives the raw body, anything else is filled
// by JSON decoding. A non-2xx answer returns an *APIError. The response is
// returned whenever one arrived, with its Body already read, closed, and
// replaced by a re-readable copy.
func (a *API) Do(ctx context.Context, r Request, out any) (*http.Response, error) {
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case json.RawMessage:
		body = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("client: failed to encode request body: %w", err)
		}
		body = bytes.NewReader(enc)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.BaseURL, "/")+r.Path, body)
	if err != nil {
		return nil, fmt.Errorf("client: failed to build request: %w", err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	// The server refuses a POST without it (its CSRF rule), body or not.
	if (body != nil || method == http.MethodPost) && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	setToken(req.Header, r.Token, a.UseCookie)

	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: failed to %s %s: %w", method, r.Path, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return resp, fmt.Errorf("client: failed to read answer of %s %s: %w", method, r.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		code, msg := parseErrorBody(data)
		return resp, &APIError{Status: resp.StatusCode, Code: code, Message: msg}
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("client: failed to decode answer of %s %s: %w", method, r.Path, err)
		}
	}
	return resp, nil
}

// setToken authenticates a request or handshake with token, as a bearer
// header or as the "token" cookie. An empty token sets nothing.
func setToken(h http.Header, token string, useCookie bool) {
	if token == "" {
		return
	}
	if !useCookie {
		h.Set("Authorization", "Bearer "+token)
		return
	}
	c := (&http.Cookie{Name: "token", Value: token}).String()
	if prev := h.Get("Cookie"); prev != "" {
		c = prev + "; " + c
	}
	h.Set("Cookie", c)
}

// WSURL returns the WebSocket URL of path on this server: BaseURL with its
// scheme changed from http(s) to ws(s). An empty path means "/ws", the
// default WS_PATH.
func (a *API) WSURL(path string) string {
	if path == "" {
		path = "/ws"
	}
	u := strings.TrimRight(a.BaseURL, "/") + path
	switch {
	case strings.HasPrefix(u, "https://"):
		return "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		return "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u
}
