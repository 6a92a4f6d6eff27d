package main

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
)

// devEnv is a development environment on any free port with extra
// variables.
func devEnv(extra ...string) []string {
	return baseEnv(append([]string{"JWT_SECRET=dev-test-secret", "PORT=0", "DB_URI=mem", "INSTANCE_ID=dev-1"}, extra...)...)
}

// TestShutdownSignal: SIGTERM and SIGINT close every socket with 1001 and
// the process exits 0 within a few seconds.
func TestShutdownSignal(t *testing.T) {
	t.Parallel()
	for name, sig := range map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := start(t, devEnv(), "")
			api := p.listening()
			ctx := testCtx(t, 20*time.Second)
			u := newUser(ctx, t, api, "sig_user", "sigpassword1")
			c, _, _ := dial(ctx, t, api, "", u.token, client.DialOptions{})

			sent := time.Now()
			p.signal(sig)
			_, err := c.Next(ctx)
			var ce *client.CloseError
			if !errors.As(err, &ce) || ce.Code != 1001 {
				t.Errorf("client saw %v, want close 1001", err)
			}
			if code := p.wait(5 * time.Second); code != 0 {
				t.Errorf("exit code = %d, want 0", code)
			}
			if d := time.Since(sent); d > 5*time.Second {
				t.Errorf("shutdown took %v", d)
			}
			p.waitLog(time.Second, "Server stopped", event("Server", "stopped"))
			if !refused(portOf(t, api)) {
				t.Errorf("port still accepts connections after exit")
			}
		})
	}
}

// TestSQLiteDurability: a MESSAGE_ACK means the row is on disk; SIGKILL
// right after it loses nothing, and the id survives a retry.
func TestSQLiteDurability(t *testing.T) {
	t.Parallel()
	db := "DB_URI=sqlite:" + filepath.Join(t.TempDir(), "chat.db")
	const content = "durable hello"

	p := start(t, devEnv(db), "")
	api := p.listening()
	ctx := testCtx(t, 30*time.Second)
	alice := newUser(ctx, t, api, "alice", "alicepassword")
	bob := newUser(ctx, t, api, "bob", "bobpassword1")
	a, _, _ := dial(ctx, t, api, "", alice.token, client.DialOptions{})
	if err := a.SendMessage(ctx, "dur-1", bob.info.ID, content); err != nil {
		t.Fatal(err)
	}
	ack := waitFrame(ctx, t, a, chat.TypeMessageAck)
	if ack.State != chat.StateSent || ack.MessageID == "" {
		t.Fatalf("ack = %s", ack.Raw)
	}
	p.signal(syscall.SIGKILL)
	p.wait(5 * time.Second)
	_ = a.CloseNow()

	p = start(t, devEnv(db), "")
	api = p.listening()
	bobTok, err := api.Login(ctx, "bob", bob.password)
	if err != nil {
		t.Fatalf("bob login after restart: %v", err)
	}
	b, replayed, n := dial(ctx, t, api, "", bobTok, client.DialOptions{})
	if n != 1 || len(replayed) != 1 {
		t.Fatalf("after SIGKILL and restart, bob's replay count %d with %d frames, want the acked message", n, len(replayed))
	}
	if r := replayed[0]; r.MessageID != ack.MessageID || r.Content != content || r.SenderID != alice.info.ID || r.CreatedAt != ack.CreatedAt {
		t.Fatalf("replayed %s, want %s (createdAt %s)", r.Raw, ack.MessageID, ack.CreatedAt)
	}

	aliceTok, err := api.Login(ctx, "alice", alice.password)
	if err != nil {
		t.Fatalf("alice login after restart: %v", err)
	}
	a, _, _ = dial(ctx, t, api, "", aliceTok, client.DialOptions{})
	if err := a.SendMessage(ctx, "dur-1", bob.info.ID, content); err != nil {
		t.Fatal(err)
	}
	retry := waitFrame(ctx, t, a, chat.TypeMessageAck)
	if retry.MessageID != ack.MessageID || retry.ClientMessageID != "dur-1" {
		t.Fatalf("retry after restart acked %s, want messageId %s", retry.Raw, ack.MessageID)
	}
	msgs, _, err := api.Messages(ctx, aliceTok, bob.info.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].MessageID != ack.MessageID {
		t.Fatalf("history has %d rows, want exactly one (%s)", len(msgs), ack.MessageID)
	}
	_ = b.Close()
	_ = a.Close()
	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
}

// TestUsersAdd: the operator's `server users add NAME [--admin]` with the
// password on standard input, then ADMIN_BOOTSTRAP promoting a user.
func TestUsersAdd(t *testing.T) {
	t.Parallel()
	db := "DB_URI=sqlite:" + filepath.Join(t.TempDir(), "users.db")
	env := devEnv(db)

	var outputs []string
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		p := start(t, env, stdin, args...)
		code := p.wait(20 * time.Second)
		out := strings.Join(p.stdoutLines(), "\n") + "\n" + p.stderr()
		outputs = append(outputs, out)
		return code, out
	}
	if code, out := run("rootpassword\n", "users", "add", "root", "--admin"); code != 0 || !strings.Contains(out, "role=admin") {
		t.Fatalf("users add root --admin: exit %d, output %q", code, out)
	}
	if code, out := run("plainpassword\n", "users", "add", "plain"); code != 0 || !strings.Contains(out, "role=user") {
		t.Fatalf("users add plain: exit %d, output %q", code, out)
	}
	if code, out := run("otherpassword\n", "users", "add", "plain"); code != 1 {
		t.Errorf("users add of a taken name: exit %d, output %q, want 1", code, out)
	}
	if code, out := run("short\n", "users", "add", "shorty"); code != 1 {
		t.Errorf("users add with a too-short password: exit %d, output %q, want 1", code, out)
	}
	if code, out := run("", "users", "remove", "plain"); code == 0 {
		t.Errorf("unknown subcommand: exit 0, output %q", out)
	}
	for _, pw := range []string{"rootpassword", "plainpassword", "otherpassword"} {
		if all := strings.Join(outputs, "\n"); strings.Contains(all, pw) {
			t.Errorf("a password was printed: %q", all)
		}
	}

	p := start(t, env, "")
	api := p.listening()
	ctx := testCtx(t, 30*time.Second)
	rootTok, err := api.Login(ctx, "root", "rootpassword")
	if err != nil {
		t.Fatalf("root login: %v", err)
	}
	if me, err := api.Me(ctx, rootTok); err != nil || me.Role != string(chat.RoleAdmin) {
		t.Fatalf("root: %+v, %v, want role admin", me, err)
	}
	users, err := api.AdminUsers(ctx, rootTok)
	if err != nil || len(users) != 2 {
		t.Fatalf("admin users as root: %v, %v, want 2 users", users, err)
	}
	plainTok, err := api.Login(ctx, "plain", "plainpassword")
	if err != nil {
		t.Fatalf("plain login: %v", err)
	}
	if me, err := api.Me(ctx, plainTok); err != nil || me.Role != string(chat.RoleUser) {
		t.Fatalf("plain: %+v, %v, want role user", me, err)
	}
	if _, err := api.AdminUsers(ctx, plainTok); client.HTTPStatus(err) != 403 {
		t.Errorf("admin users as plain: %v, want 403", err)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}

	// ADMIN_BOOTSTRAP promotes plain (with a new password) and creates boot.
	p = start(t, append(env, "ADMIN_BOOTSTRAP=plain:promotedpassword"), "")
	api = p.listening()
	if _, err := api.Login(ctx, "plain", "plainpassword"); client.HTTPStatus(err) != 401 {
		t.Errorf("old password after bootstrap: %v, want 401", err)
	}
	plainTok, err = api.Login(ctx, "plain", "promotedpassword")
	if err != nil {
		t.Fatalf("plain login after bootstrap: %v", err)
	}
	if me, err := api.Me(ctx, plainTok); err != nil || me.Role != string(chat.RoleAdmin) {
		t.Fatalf("plain after bootstrap: %+v, %v, want role admin", me, err)
	}
	if _, err := api.AdminUsers(ctx, plainTok); err != nil {
		t.Errorf("admin users as promoted plain: %v", err)
	}
	if strings.Contains(p.stderr(), "promotedpassword") {
		t.Errorf("the bootstrap password was logged")
	}
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
}

// TestRedisUnavailable: with REDIS_URL on a closed port, start gives up on
// the bus after REDIS_INIT_TIMEOUT and serves one instance anyway.
func TestRedisUnavailable(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	p := start(t, devEnv("REDIS_URL=redis://127.0.0.1:"+strconv.Itoa(port)+"/0", "REDIS_INIT_TIMEOUT=500ms"), "")
	api := p.listening()
	it := p.waitLog(time.Second, "RedisBus init_timeout", event("RedisBus", "init_timeout"))
	if it.str("timeoutMs") != "500" {
		t.Errorf("init_timeout timeoutMs = %q, want 500: %s", it.str("timeoutMs"), it.Raw)
	}
	bd := p.waitLog(time.Second, "RedisBus bus_disabled", event("RedisBus", "bus_disabled"))
	order := map[string]int{}
	for i, l := range p.logs() {
		if _, seen := order[l.Msg]; !seen {
			order[l.Msg] = i
		}
	}
	if !(order["init_timeout"] < order["bus_disabled"] && order["bus_disabled"] < order["listening"]) {
		t.Errorf("want init_timeout, bus_disabled, then listening; got lines %v", order)
	}
	if bd.str("reason") == "" {
		t.Errorf("bus_disabled without reason: %s", bd.Raw)
	}
	if it.str("instanceId") != "dev-1" {
		t.Errorf("init_timeout without instanceId: %s", it.Raw)
	}

	ctx := testCtx(t, 20*time.Second)
	alice := newUser(ctx, t, api, "alice", "alicepassword")
	bob := newUser(ctx, t, api, "bob", "bobpassword1")
	a, _, _ := dial(ctx, t, api, "", alice.token, client.DialOptions{})
	b, _, _ := dial(ctx, t, api, "", bob.token, client.DialOptions{})
	if err := a.SendMessage(ctx, "r1", bob.info.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	ack := waitFrame(ctx, t, a, chat.TypeMessageAck)
	m := waitFrame(ctx, t, b, chat.TypeMessage)
	if m.MessageID != ack.MessageID || m.Content != "hi" {
		t.Fatalf("bob got %s, want %s", m.Raw, ack.MessageID)
	}
	if err := b.Ack(ctx, m.MessageID); err != nil {
		t.Fatal(err)
	}
	if st := waitFrame(ctx, t, a, chat.TypeMessageState); st.MessageID != ack.MessageID || st.State != chat.StateDelivered {
		t.Fatalf("state = %s", st.Raw)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	p.waitLog(time.Second, "RedisBus stopped", event("RedisBus", "stopped"))
}

// portOf returns the port of api's BaseURL.
func portOf(t *testing.T, api *client.API) int {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(api.BaseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
