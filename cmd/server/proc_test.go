package main

// The tests of this package build the server binary once (TestMain) and run
// it as a black box: environment in, logs and exit code out, HTTP and
// WebSocket over real loopback through core/client.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
)

// serverBin is the binary built by TestMain.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dmchat-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdir temp:", err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "server")
	args := []string{"build", "-o", serverBin}
	if raceEnabled {
		// The binary is checked for races too when the tests are.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build ./cmd/server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logLine is one line of the server's standard error: a structured log line
// (production JSON or development console form) or plain text.
type logLine struct {
	Raw    string
	JSON   bool   // the line is a JSON object
	Level  string // "info", "warn"... (lower case); "" for plain text
	Logger string
	Msg    string         // the event name
	Fields map[string]any // the event's fields, instanceId included
}

// consoleLine matches the development form
// "15:04:05.000 [INFO] [RedisBus] chat_message_published {...}".
var consoleLine = regexp.MustCompile(`^(?:\S+ )?\[([A-Z]+)\] (?:\[([^\]]+)\] )?(\S+)(?: (\{.*\}))?$`)

func parseLogLine(raw string) logLine {
	l := logLine{Raw: raw}
	if strings.HasPrefix(raw, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) == nil {
			l.JSON = true
			l.Level, _ = m["level"].(string)
			l.Logger, _ = m["logger"].(string)
			l.Msg, _ = m["msg"].(string)
			l.Fields = m
			return l
		}
	}
	if sm := consoleLine.FindStringSubmatch(raw); sm != nil {
		l.Level, l.Logger, l.Msg = strings.ToLower(sm[1]), sm[2], sm[3]
		l.Fields = map[string]any{}
		if sm[4] != "" && json.Unmarshal([]byte(sm[4]), &l.Fields) != nil {
			return logLine{Raw: raw}
		}
	}
	return l
}

// str returns a field as a string ("" when absent; numbers formatted).
func (l logLine) str(key string) string {
	switch v := l.Fields[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// event matches a log line by logger (empty: any) and event name.
func event(logger, msg string) func(logLine) bool {
	return func(l logLine) bool { return l.Msg == msg && (logger == "" || l.Logger == logger) }
}

// proc is one running server process.
type proc struct {
	t   *testing.T
	cmd *exec.Cmd

	// mu guards lines, stdout and changed; changed is closed and replaced
	// whenever a line arrives.
	mu      sync.Mutex
	lines   []logLine
	stdout  []string
	changed chan struct{}

	done     chan struct{} // closed once the process has exited and its output was read
	exitCode int           // valid after done
}

// env builds a process environment from pairs "K=V"; nothing is inherited
// from the test's own environment (APP_ENV, JWT_SECRET... must not leak in).
func baseEnv(kv ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, kv...)
}

// start runs the server binary with env, args and stdin; the process is
// killed at the end of the test if still running.
func start(t *testing.T, env []string, stdin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(serverBin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, changed: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.read(stderr, false) }()
	go func() { defer readers.Done(); p.read(stdout, true) }()
	go func() {
		readers.Wait()
		err := cmd.Wait()
		p.exitCode = cmd.ProcessState.ExitCode()
		if err != nil && p.exitCode == 0 {
			p.exitCode = -1
		}
		close(p.done)
		p.mu.Lock()
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if p.contains("WARNING: DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", p.stderr())
		} else if t.Failed() {
			t.Logf("server %v stderr:\n%s\nstdout:\n%s", args, p.stderr(), strings.Join(p.stdoutLines(), "\n"))
		}
	})
	return p
}

func (p *proc) read(r io.Reader, isStdout bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		if isStdout {
			p.stdout = append(p.stdout, line)
		} else {
			p.lines = append(p.lines, parseLogLine(line))
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// logs returns a copy of the standard error lines so far.
func (p *proc) logs() []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

func (p *proc) stdoutLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.stdout)
}

func (p *proc) stderr() string {
	var b strings.Builder
	for _, l := range p.logs() {
		b.WriteString(l.Raw)
		b.WriteByte('\n')
	}
	return b.String()
}

func (p *proc) contains(s string) bool {
	for _, l := range p.logs() {
		if strings.Contains(l.Raw, s) {
			return true
		}
	}
	return false
}

// waitLog waits for the first line pred matches, failing the test after
// timeout or when the process exits without one.
func (p *proc) waitLog(timeout time.Duration, what string, pred func(logLine) bool) logLine {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if pred(l) {
				p.mu.Unlock()
				return l
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.done:
			// One last look: the line may have come with the exit.
			for _, l := range p.logs() {
				if pred(l) {
					return l
				}
			}
			p.t.Fatalf("server exited (code %d) without logging %s", p.exitCode, what)
		case <-deadline.C:
			p.t.Fatalf("server did not log %s within %v", what, timeout)
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitCode
	case <-time.After(timeout):
		p.t.Fatalf("server still running after %v", timeout)
		return 0
	}
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// listening waits for the "listening" line and returns the API of the
// server it announces (on 127.0.0.1, whatever address it bound).
func (p *proc) listening() *client.API {
	p.t.Helper()
	l := p.waitLog(15*time.Second, "listening", event("Server", "listening"))
	_, port, err := net.SplitHostPort(l.str("addr"))
	if err != nil {
		p.t.Fatalf("listening addr %q: %v", l.str("addr"), err)
	}
	return &client.API{BaseURL: "http://127.0.0.1:" + port}
}

// freePort returns a TCP port that was free a moment ago (production
// refuses PORT=0, so the tests pick one).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// refused reports whether nothing accepts connections on 127.0.0.1:port.
func refused(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// user is a registered, logged-in account.
type user struct {
	info     client.UserInfo
	name     string
	password string
	token    string
}

// newUser registers and logs in name.
func newUser(ctx context.Context, t *testing.T, api *client.API, name, password string) user {
	t.Helper()
	info, err := api.Register(ctx, name, password)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	tok, err := api.Login(ctx, name, password)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return user{info: info, name: name, password: password, token: tok}
}

// dial connects u and waits for REPLAY_DONE, returning the frames replayed
// before it and its count.
func dial(ctx context.Context, t *testing.T, api *client.API, wsPath, token string, o client.DialOptions) (*client.Conn, []client.Frame, int) {
	t.Helper()
	o.Token = token
	c, _, err := client.Dial(ctx, api.WSURL(wsPath), o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	var replayed []client.Frame
	for {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for REPLAY_DONE: %v (frames so far %v)", err, replayed)
		}
		if f.Type == chat.TypeReplayDone {
			if f.Count == nil {
				t.Fatalf("REPLAY_DONE without count: %s", f.Raw)
			}
			return c, replayed, *f.Count
		}
		replayed = append(replayed, f)
	}
}

// waitFrame waits for a frame of type typ on c.
func waitFrame(ctx context.Context, t *testing.T, c *client.Conn, typ string) client.Frame {
	t.Helper()
	f, err := c.WaitFor(ctx, client.OfType(typ))
	if err != nil {
		t.Fatalf("waiting for %s: %v (skipped %d frames)", typ, err, len(c.Skipped()))
	}
	return f
}
