package main

// The two-instance checklist with real processes: a real redis-server, two
// server processes A and B on one shared store (an SQLite file, or a
// PostgreSQL database when DMCHAT_TEST_POSTGRES is set), steps 5, 6 and 7
// read from their standard error, then a SIGKILL of redis-server in the
// middle of a cross-instance DM.

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/store"
	"github.com/dmchat/dmchat/core/testsvc"
)

// The service helpers below keep the names this package's tests (and
// those of other branches) call; the work is done once, in
// core/testsvc, for every package's tests.

// requireServices reports DMCHAT_REQUIRE_SERVICES=1: a missing service
// fails the test instead of skipping it.
func requireServices() bool { return testsvc.RequireServices() }

// redisProc is a real redis-server on a fixed port, restartable on it.
type redisProc struct {
	*testsvc.Redis
	port int
}

// startRedisProc starts redis-server (DMCHAT_REDIS_SERVER, else PATH) on a
// free port, skipping the test when there is none unless services are
// required. It is killed when the test ends.
func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	r := testsvc.StartRedis(t)
	return &redisProc{Redis: r, port: r.Port()}
}

// url is the server's REDIS_URL.
func (r *redisProc) url() string { return r.URL() }

// start runs redis-server on r.port again and waits until it answers PING.
func (r *redisProc) start() { r.Start() }

// kill sends SIGKILL and waits for the process to be gone.
func (r *redisProc) kill() { r.Kill() }

// freshPostgres creates an empty database on the server named by
// DMCHAT_TEST_POSTGRES and returns its URL; it is dropped at the end.
func freshPostgres(t *testing.T) string {
	t.Helper()
	return testsvc.NewPostgres(t)
}

// TestClusterProcesses runs the checklist against two server processes.
func TestClusterProcesses(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		// Two processes on one SQLite file: WAL and a busy timeout.
		runClusterProcesses(t, "sqlite:"+filepath.Join(t.TempDir(), "chat.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		runClusterProcesses(t, freshPostgres(t))
	})
}

// logFields matches a log line by logger, event and string fields.
func logFields(logger, msg string, want map[string]string) func(logLine) bool {
	return func(l logLine) bool {
		if l.Logger != logger || l.Msg != msg {
			return false
		}
		for k, v := range want {
			if l.str(k) != v {
				return false
			}
		}
		return true
	}
}

// countLog is the number of lines pred matches so far.
func countLog(p *proc, pred func(logLine) bool) int {
	n := 0
	for _, l := range p.logs() {
		if pred(l) {
			n++
		}
	}
	return n
}

func runClusterProcesses(t *testing.T, dbURI string) {
	begin := time.Now()
	step := func(name string) { t.Logf("%v: %s", time.Since(begin).Round(time.Millisecond), name) }
	redis := startRedisProc(t)
	const (
		secret    = "cluster-proc-secret-0123456789abcdef"
		adminPass = "adminpass1"
		password  = "clusterpass1"
	)
	// bcrypt at its default cost takes seconds under -race: the admin and
	// three users are put in the shared store beforehand with the minimum
	// cost (they log in over HTTP); user4 registers over HTTP, on B.
	seedStore(t, dbURI, adminPass, password, "user1", "user2", "user3")
	portA, portB := freePort(t), freePort(t)
	common := []string{"APP_ENV=development", "JWT_SECRET=" + secret, "DB_URI=" + dbURI,
		"REDIS_URL=" + redis.url(), "REDIS_INIT_TIMEOUT=5s"}
	pa := start(t, baseEnv(append(common, "INSTANCE_ID=A", "PORT="+strconv.Itoa(portA))...), "")
	apiA := pa.listening()
	pb := start(t, baseEnv(append(common, "INSTANCE_ID=B", "PORT="+strconv.Itoa(portB))...), "")
	apiB := pb.listening()
	if portOf(t, apiA) != portA || portOf(t, apiB) != portB {
		t.Fatalf("listening on %s and %s, want ports %d and %d", apiA.BaseURL, apiB.BaseURL, portA, portB)
	}
	for _, p := range []*proc{pa, pb} {
		p.waitLog(10*time.Second, "RedisBus bus_connected", event("RedisBus", "bus_connected"))
	}
	step("both listening, buses connected")
	ctx := testCtx(t, 90*time.Second)

	u1 := login(ctx, t, apiA, "user1", password)
	u2 := login(ctx, t, apiB, "user2", password)
	u3 := login(ctx, t, apiA, "user3", password)
	u4 := newUser(ctx, t, apiB, "user4", password)
	if _, err := apiA.Me(ctx, u4.token); err != nil { // B's user is known to A
		t.Fatalf("user4 on A: %v", err)
	}
	adminTok := login(ctx, t, apiA, "admin", adminPass).token
	c1, _, _ := dial(ctx, t, apiA, "", u1.token, client.DialOptions{})
	c2, _, _ := dial(ctx, t, apiB, "", u2.token, client.DialOptions{})
	c3, _, _ := dial(ctx, t, apiA, "", u3.token, client.DialOptions{})
	c4, _, _ := dial(ctx, t, apiB, "", u4.token, client.DialOptions{})
	contents := []string{"step five marker-K2p9", "same instance marker-W7d1", "during outage marker-R4x6"}

	step("users ready")
	// Step 5: DM A -> B.
	if err := c1.SendMessage(ctx, "s5", u2.info.ID, contents[0]); err != nil {
		t.Fatal(err)
	}
	ack := waitFrame(ctx, t, c1, chat.TypeMessageAck)
	m := waitFrame(ctx, t, c2, chat.TypeMessage)
	if m.MessageID != ack.MessageID || m.Content != contents[0] || m.SenderID != u1.info.ID {
		t.Fatalf("user2 got %s, want %s", m.Raw, ack.MessageID)
	}
	pa.waitLog(5*time.Second, "A chat_message_published", logFields("RedisBus", "chat_message_published",
		map[string]string{"messageId": m.MessageID, "recipientId": u2.info.ID, "originInstanceId": "A"}))
	pb.waitLog(5*time.Second, "B chat_message_delivered", logFields("RedisBusHandler", "chat_message_delivered",
		map[string]string{"messageId": m.MessageID, "recipientId": u2.info.ID, "originInstanceId": "A"}))
	if err := c2.Ack(ctx, m.MessageID); err != nil {
		t.Fatal(err)
	}
	if st := waitFrame(ctx, t, c1, chat.TypeMessageState); st.MessageID != m.MessageID {
		t.Fatalf("state %s", st.Raw)
	}

	step("step 5 done")
	// Step 6: BAN from A, user2 on B is kicked.
	if err := apiA.Ban(ctx, adminTok, u2.info.ID); err != nil {
		t.Fatalf("ban: %v", err)
	}
	f, err := c2.WaitFor(ctx, client.OfType(chat.TypeError))
	if err != nil || f.Code != chat.CodeBanned {
		t.Fatalf("user2: %v %s, want ERROR BANNED", err, f.Raw)
	}
	_, err = c2.Next(ctx)
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != chat.CloseBanned {
		t.Fatalf("user2 after ERROR BANNED: %v, want close 4003", err)
	}
	pa.waitLog(5*time.Second, "A admin_kick_published", logFields("RedisBus", "admin_kick_published",
		map[string]string{"action": "ban", "targetUserId": u2.info.ID, "originInstanceId": "A"}))
	pb.waitLog(5*time.Second, "B admin_kick_ban_applied", logFields("RedisBusHandler", "admin_kick_ban_applied",
		map[string]string{"targetUserId": u2.info.ID, "originInstanceId": "A", "sockets": "1"}))

	step("step 6 done")
	// Step 7: Redis killed mid-run. No crash; a DM on one instance is
	// delivered; a DM to the other instance is acknowledged, stored, and
	// reaches its recipient within 5 s of Redis returning.
	redis.kill()
	for _, p := range []*proc{pa, pb} {
		p.waitLog(5*time.Second, "RedisBus bus_lost", event("RedisBus", "bus_lost"))
	}
	if err := c1.SendMessage(ctx, "s7-local", u3.info.ID, contents[1]); err != nil {
		t.Fatal(err)
	}
	local := waitFrame(ctx, t, c1, chat.TypeMessageAck)
	if got := waitFrame(ctx, t, c3, chat.TypeMessage); got.MessageID != local.MessageID {
		t.Fatalf("user3 got %s, want %s", got.Raw, local.MessageID)
	}
	if err := c1.SendMessage(ctx, "s7-cross", u4.info.ID, contents[2]); err != nil {
		t.Fatal(err)
	}
	cross := waitFrame(ctx, t, c1, chat.TypeMessageAck)
	if cross.ClientMessageID != "s7-cross" || cross.MessageID == "" {
		t.Fatalf("ack %s", cross.Raw)
	}
	for _, tc := range []struct {
		p   *proc
		api *client.API
	}{{pa, apiA}, {pb, apiB}} {
		select {
		case <-tc.p.done:
			t.Fatalf("a server exited (code %d) after Redis was killed", tc.p.exitCode)
		default:
		}
		if err := tc.api.Healthz(ctx); err != nil {
			t.Fatalf("healthz with Redis down: %v", err)
		}
		if n := countLog(tc.p, event("RedisBus", "bus_lost")); n != 1 {
			t.Errorf("bus_lost logged %d times, want once", n)
		}
	}
	step("outage sends done")
	redis.start()
	up := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := c4.WaitFor(wctx, func(f client.Frame) bool { return f.Type == chat.TypeMessage && f.MessageID == cross.MessageID })
	if err != nil {
		t.Fatalf("user4 on B did not get the DM sent during the outage within 5 s of Redis returning: %v", err)
	}
	t.Logf("the DM sent during the outage arrived %v after redis-server restarted", time.Since(up).Round(time.Millisecond))
	if got.Content != contents[2] || got.SenderID != u1.info.ID {
		t.Fatalf("user4 got %s", got.Raw)
	}
	for _, p := range []*proc{pa, pb} {
		p.waitLog(5*time.Second, "RedisBus bus_restored", event("RedisBus", "bus_restored"))
	}

	step("outage DM arrived")
	for _, p := range []*proc{pa, pb} {
		p.signal(syscall.SIGTERM)
	}
	for _, p := range []*proc{pa, pb} {
		if code := p.wait(15 * time.Second); code != 0 {
			t.Errorf("exit code after SIGTERM = %d, want 0", code)
		}
		step("exited")
		for _, l := range p.logs() {
			for _, s := range append(contents, password, adminPass, secret, u1.token, adminTok) {
				if strings.Contains(l.Raw, s) {
					t.Errorf("a log line contains content, a password, the secret or a token: %s", l.Raw)
				}
			}
		}
	}
}

// seedStore creates the admin and users in the store at dbURI with
// bcrypt's minimum cost.
func seedStore(t *testing.T, dbURI, adminPass, password string, names ...string) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	st, err := store.Open(ctx, dbURI, store.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", strings.SplitN(dbURI, ":", 2)[0], err)
	}
	defer st.Close()
	acc := &auth.Accounts{Store: st, Hasher: auth.Hasher{Cost: bcrypt.MinCost}}
	if _, err := acc.EnsureAdmin(ctx, "admin", adminPass); err != nil {
		t.Fatalf("seed admin: %v", err)
	}
	for _, n := range names {
		if _, err := acc.Register(ctx, n, password); err != nil {
			t.Fatalf("seed %s: %v", n, err)
		}
	}
}

// login logs name in over HTTP.
func login(ctx context.Context, t *testing.T, api *client.API, name, password string) user {
	t.Helper()
	tok, err := api.Login(ctx, name, password)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	me, err := api.Me(ctx, tok)
	if err != nil {
		t.Fatalf("me %s: %v", name, err)
	}
	return user{info: me, name: name, password: password, token: tok}
}
