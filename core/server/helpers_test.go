package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/crypto/bcrypt"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/server"
	"github.com/dmchat/dmchat/core/store"
)

const (
	testSecret   = "test-secret-0123456789abcdef0123456789"
	testPassword = "password1"
	waitFor      = 5 * time.Second
)

// env is one running instance and an HTTP client for it.
type env struct {
	t     *testing.T
	srv   *server.Server
	api   *client.API
	logs  *logtest.Recorder
	store store.Store
	admin string // admin token
}

func testConfig() config.Config {
	return config.Config{
		Env: "development", InstanceID: "T1", JWTSecret: []byte(testSecret), DBURI: "mem",
		WSPath: "/ws", MetricsMode: "open", WSRate: 20, WSBurst: 40,
		ShutdownTimeout: 5 * time.Second, TokenTTL: time.Hour, RedisInitTimeout: time.Second,
		AdminBootstrapName: "root", AdminBootstrapPassword: "rootpassword",
	}
}

// setup starts an instance on a loopback port with a memory store (or st,
// when given), and logs in the bootstrap admin.
func setup(t *testing.T, mutate func(*config.Config), st store.Store) *env {
	t.Helper()
	return setupWith(t, mutate, st, nil)
}

// setupWith is setup with a last say on the server options.
func setupWith(t *testing.T, mutate func(*config.Config), st store.Store, opts func(*server.Options)) *env {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	ctx := context.Background()
	if st == nil {
		var err error
		st, err = store.Open(ctx, "mem", store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := logtest.New(t)
	so := server.Options{
		Config: cfg, Store: st, Listener: l, LogCores: []zapcore.Core{rec.Core()},
		LogOutput: zapcore.AddSync(io.Discard),
		Hasher:    auth.Hasher{Cost: bcrypt.MinCost}, AuthRate: 1000, AuthBurst: 1000,
		UserRate: 1000, UserBurst: 1000,
	}
	if opts != nil {
		opts(&so)
	}
	srv, err := server.New(ctx, so)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hc.CloseIdleConnections()
	})
	e := &env{t: t, srv: srv, api: &client.API{BaseURL: srv.URL(), HTTP: hc}, logs: rec, store: st}
	if cfg.AdminBootstrapName != "" {
		e.admin = e.login(cfg.AdminBootstrapName, cfg.AdminBootstrapPassword)
	}
	return e
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) login(name, password string) string {
	e.t.Helper()
	tok, err := e.api.Login(ctxT(e.t), name, password)
	if err != nil {
		e.t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

// user registers name and returns its id and a token.
func (e *env) user(name string) (id, token string) {
	e.t.Helper()
	u, err := e.api.Register(ctxT(e.t), name, testPassword)
	if err != nil {
		e.t.Fatalf("register %s: %v", name, err)
	}
	return u.ID, e.login(name, testPassword)
}

// dial connects with token and consumes the replay, returning the replayed
// messages.
func (e *env) dial(token string) (*client.Conn, []client.Frame) {
	e.t.Helper()
	c := e.dialRaw(token)
	var replayed []client.Frame
	for {
		f, err := c.Next(ctxT(e.t))
		if err != nil {
			e.t.Fatalf("waiting for REPLAY_DONE: %v", err)
		}
		if f.Type == chat.TypeReplayDone {
			if f.Count == nil || *f.Count != len(replayed) {
				e.t.Fatalf("REPLAY_DONE count %v after %d messages", f.Count, len(replayed))
			}
			return c, replayed
		}
		if f.Type != chat.TypeMessage {
			e.t.Fatalf("unexpected frame during replay: %+v", f.OutFrame)
		}
		replayed = append(replayed, f)
	}
}

func (e *env) dialRaw(token string) *client.Conn {
	e.t.Helper()
	c, _, err := client.Dial(ctxT(e.t), e.api.WSURL("/ws"), client.DialOptions{Token: token})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// next returns the next frame, failing the test on timeout or close.
func next(t *testing.T, c *client.Conn) client.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	f, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("next frame: %v", err)
	}
	return f
}

func expectType(t *testing.T, c *client.Conn, typ string) client.Frame {
	t.Helper()
	f := next(t, c)
	if f.Type != typ {
		t.Fatalf("got %s %+v, want %s", f.Type, f.OutFrame, typ)
	}
	return f
}

func expectError(t *testing.T, c *client.Conn, code string) client.Frame {
	t.Helper()
	f := expectType(t, c, chat.TypeError)
	if f.Code != code {
		t.Fatalf("error code %s (%s), want %s", f.Code, f.Message, code)
	}
	return f
}

// barrier proves nothing else was queued before it: a bad frame is
// answered in order, so every frame before its ERROR was sent earlier.
func barrier(t *testing.T, c *client.Conn) {
	t.Helper()
	if err := c.Send(ctxT(t), []byte(`{"type":"BARRIER"}`)); err != nil {
		t.Fatal(err)
	}
	f := next(t, c)
	if f.Type != chat.TypeError || f.Code != chat.CodeBadFrame {
		t.Fatalf("unexpected frame before barrier: %+v", f.OutFrame)
	}
}

// expectClose waits for the server to close c with code.
func expectClose(t *testing.T, c *client.Conn, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for {
		f, err := c.Next(ctx)
		if err == nil {
			continue // frames before the close
		}
		var ce *client.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("waiting for close %d: %v (last frame %+v)", code, err, f.OutFrame)
		}
		if ce.Code != code {
			t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, code)
		}
		return
	}
}

func send(t *testing.T, c *client.Conn, cmid, to, content string) {
	t.Helper()
	if err := c.SendMessage(ctxT(t), cmid, to, content); err != nil {
		t.Fatal(err)
	}
}
