package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dmchat/dmchat/core/chat"
)

// fakeOrigin is the only browser Origin the fake server accepts.
const fakeOrigin = "http://app.example"

// fake is a small stand-in for the real server, on a loopback socket: it
// serves canned JSON for the HTTP routes and an echo-ish WebSocket. Test-only
// frame types drive the WebSocket side:
//
//	TEST_CLOSE   content = close code: the server closes with it, reason "bye <code>"
//	TEST_FLOOD   content = N: the server sends MESSAGE frames m0..m<N-1>
//	TEST_BIG     the server sends a MESSAGE with 100 KiB of content
//	TEST_BINARY  the server sends a binary frame
//	TEST_NOTJSON the server sends the text frame "hello"
type fake struct {
	srv *httptest.Server
	hc  *http.Client
	api *API
	// users maps a token to the user it authenticates; read-only.
	users map[string]UserInfo

	mu        sync.Mutex // guards the fields below; held only to read or write them
	lastAuth  string     // "bearer", "cookie" or "" for the last authenticated request
	lastQuery url.Values // query of the last /api/messages
	lastPath  string     // escaped path of the last admin action
	notReady  bool       // /readyz answers 503
}

func setupTest(t *testing.T) *fake {
	t.Helper()
	f := &fake{users: map[string]UserInfo{
		"tok-alice":  {ID: "u1", Username: "alice", Role: "user"},
		"tok-bob":    {ID: "u2", Username: "bob", Role: "user"},
		"tok-banned": {ID: "u3", Username: "mallory", Role: "user", Banned: true},
		"tok-admin":  {ID: "u4", Username: "root", Role: "admin"},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/register", f.register)
	mux.HandleFunc("POST /api/auth/login", f.login)
	mux.HandleFunc("POST /api/auth/logout", f.authed(f.logout))
	mux.HandleFunc("GET /api/me", f.authed(func(w http.ResponseWriter, r *http.Request, u UserInfo) { writeJSON(w, 200, u) }))
	mux.HandleFunc("GET /api/messages", f.authed(f.messages))
	mux.HandleFunc("GET /api/admin/users", f.authed(f.adminUsers))
	mux.HandleFunc("POST /api/admin/users/{id}/{action}", f.authed(f.adminAction))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("GET /readyz", f.readyz)
	mux.HandleFunc("GET /plain-error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"method": r.Method, "xTest": r.Header.Get("X-Test"),
			"contentType": r.Header.Get("Content-Type")})
	})
	mux.HandleFunc("GET /ws", f.ws)
	f.srv = httptest.NewServer(mux)
	tr := &http.Transport{}
	f.hc = &http.Client{Transport: tr}
	f.api = &API{BaseURL: f.srv.URL, HTTP: f.hc}
	t.Cleanup(func() {
		f.srv.Close()
		tr.CloseIdleConnections()
	})
	return f
}

// testCtx bounds one test's blocking calls.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects to the fake's WebSocket and closes the connection at cleanup.
func (f *fake) dial(t *testing.T, o DialOptions) *Conn {
	t.Helper()
	if o.HTTPClient == nil {
		o.HTTPClient = f.hc
	}
	c, resp, err := Dial(testCtx(t), f.api.WSURL(""), o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", resp.StatusCode)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func (f *fake) auth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// user authenticates r by bearer header or token cookie, as the real server
// does, and records which was used.
func (f *fake) user(r *http.Request) (UserInfo, bool) {
	token, via := "", ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token, via = strings.TrimPrefix(h, "Bearer "), "bearer"
	} else if c, err := r.Cookie("token"); err == nil {
		token, via = c.Value, "cookie"
	}
	u, ok := f.users[token]
	if ok {
		f.mu.Lock()
		f.lastAuth = via
		f.mu.Unlock()
	}
	return u, ok
}

func (f *fake) authed(h func(http.ResponseWriter, *http.Request, UserInfo)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := f.user(r)
		if !ok {
			writeErr(w, 401, chat.CodeUnauthorized, "missing or invalid token")
			return
		}
		h(w, r, u)
	}
}

func (f *fake) register(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		writeErr(w, 400, chat.CodeBadRequest, "body is not JSON")
		return
	}
	if c.Username == "taken" {
		writeErr(w, 409, chat.CodeUsernameTaken, "username is taken")
		return
	}
	writeJSON(w, 201, map[string]any{"user": map[string]string{"id": "u9", "username": c.Username, "role": "user"}})
}

func (f *fake) login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		writeErr(w, 400, chat.CodeBadRequest, "body is not JSON")
		return
	}
	switch {
	case c.Username == "alice" && c.Password == "password1":
		http.SetCookie(w, &http.Cookie{Name: "token", Value: "tok-alice", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		writeJSON(w, 200, map[string]any{"user": f.users["tok-alice"]})
	case c.Username == "nocookie":
		writeJSON(w, 200, map[string]any{})
	default:
		writeErr(w, 401, chat.CodeUnauthorized, "bad credentials")
	}
}

func (f *fake) logout(w http.ResponseWriter, r *http.Request, _ UserInfo) {
	http.SetCookie(w, &http.Cookie{Name: "token", Value: "", Path: "/", MaxAge: -1})
	w.WriteHeader(204)
}

func (f *fake) messages(w http.ResponseWriter, r *http.Request, u UserInfo) {
	q := r.URL.Query()
	f.mu.Lock()
	f.lastQuery = q
	f.mu.Unlock()
	if l := q.Get("limit"); l != "" {
		if n, err := strconv.Atoi(l); err != nil || n < 1 || n > 200 {
			writeErr(w, 400, chat.CodeBadRequest, "limit must be 1-200")
			return
		}
	}
	msg := func(id string) chat.OutFrame {
		return chat.OutFrame{Type: chat.TypeMessage, MessageID: id, SenderID: q.Get("with"), RecipientID: u.ID,
			Content: "hi " + id, CreatedAt: "2025-01-02T03:04:05.000Z"}
	}
	if q.Get("before") == "" {
		writeJSON(w, 200, map[string]any{"messages": []chat.OutFrame{msg("m3"), msg("m2")}, "nextBefore": "m2"})
		return
	}
	writeJSON(w, 200, map[string]any{"messages": []chat.OutFrame{msg("m1")}, "nextBefore": nil})
}

func (f *fake) adminUsers(w http.ResponseWriter, r *http.Request, u UserInfo) {
	if u.Role != "admin" {
		writeErr(w, 403, chat.CodeForbidden, "admins only")
		return
	}
	writeJSON(w, 200, map[string]any{"users": []AdminUser{
		{ID: "u1", Username: "alice", Role: "user", Online: true, Instances: []string{"i1", "i2"}},
		{ID: "u3", Username: "mallory", Role: "user", Banned: true, Instances: []string{}},
	}})
}

func (f *fake) adminAction(w http.ResponseWriter, r *http.Request, u UserInfo) {
	if u.Role != "admin" {
		writeErr(w, 403, chat.CodeForbidden, "admins only")
		return
	}
	f.mu.Lock()
	f.lastPath = r.URL.EscapedPath()
	f.mu.Unlock()
	if a := r.PathValue("action"); a != "ban" && a != "unban" {
		writeErr(w, 404, chat.CodeNotFound, "no such route")
		return
	}
	if r.PathValue("id") == "nope" {
		writeErr(w, 404, chat.CodeNotFound, "no such user")
		return
	}
	writeJSON(w, 200, map[string]any{"ok": true})
}

func (f *fake) readyz(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	down := f.notReady
	f.mu.Unlock()
	if down {
		writeJSON(w, 503, map[string]any{"ready": false, "store": "down"})
		return
	}
	writeJSON(w, 200, map[string]any{"ready": true, "bus": "disabled"})
}

func (f *fake) ws(w http.ResponseWriter, r *http.Request) {
	u, ok := f.user(r)
	if !ok {
		writeErr(w, 401, chat.CodeUnauthorized, "missing or invalid token")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != fakeOrigin {
		writeErr(w, 403, chat.CodeForbidden, "origin not allowed")
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(chat.MaxFrameBytes)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	send := func(of chat.OutFrame) error { return c.Write(ctx, websocket.MessageText, of.Encode()) }

	if u.Banned {
		_ = send(chat.ErrorFrame(chat.CodeBanned, "you are banned", "", ""))
		_ = c.Close(chat.CloseBanned, "banned")
		return
	}
	if send(chat.ReplayDoneFrame(0)) != nil {
		return
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return // includes the read limit: the library closes with 1009
		}
		var probe chat.InFrame
		_ = json.Unmarshal(data, &probe)
		switch probe.Type {
		case "TEST_CLOSE":
			code, _ := strconv.Atoi(probe.Content)
			_ = c.Close(websocket.StatusCode(code), "bye "+probe.Content)
			return
		case "TEST_FLOOD":
			n, _ := strconv.Atoi(probe.Content)
			for i := range n {
				id := fmt.Sprintf("m%d", i)
				if send(chat.OutFrame{Type: chat.TypeMessage, MessageID: id, SenderID: "u2", RecipientID: u.ID,
					Content: id, CreatedAt: "2025-01-02T03:04:05.000Z"}) != nil {
					return
				}
			}
			continue
		case "TEST_BIG":
			err = send(chat.OutFrame{Type: chat.TypeMessage, MessageID: "big", Content: strings.Repeat("x", 100<<10)})
		case "TEST_BINARY":
			err = c.Write(ctx, websocket.MessageBinary, []byte(`{"type":"MESSAGE"}`))
		case "TEST_NOTJSON":
			err = c.Write(ctx, websocket.MessageText, []byte("hello"))
		default:
			in, derr := chat.DecodeFrame(data)
			var fe *chat.FrameError
			switch {
			case derr != nil && errors.As(derr, &fe):
				err = send(chat.ErrorFrame(fe.Code, fe.Message, fe.ClientMessageID, fe.MessageID))
			case in.Type == chat.TypeMessageSend:
				err = send(chat.OutFrame{Type: chat.TypeMessageAck, ClientMessageID: in.ClientMessageID,
					MessageID: "id-" + in.ClientMessageID, State: chat.StateSent, CreatedAt: "2025-01-02T03:04:05.000Z"})
			case in.Type == chat.TypeDeliveryAck:
				err = send(chat.StateFrame(in.MessageID))
			}
		}
		if err != nil {
			return
		}
	}
}
