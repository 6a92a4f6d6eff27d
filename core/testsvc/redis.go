package testsvc

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds the wait for a started redis-server to answer PING.
const startTimeout = 10 * time.Second

// Redis is one real redis-server on a loopback port that stays the same
// across Kill and Start, so clients configured with its URL see an outage
// and a recovery. Its methods are for the test goroutine; they are not
// safe for concurrent use.
type Redis struct {
	tb   testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
}

// StartRedis starts redis-server (DMCHAT_REDIS_SERVER, else PATH) without
// persistence on a free loopback port and waits until it answers PING. It
// skips the test when there is no redis-server, unless services are
// required. The process is killed when the test ends.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	r := &Redis{tb: tb, bin: redisServerBin(tb), port: FreePort(tb)}
	r.Start()
	tb.Cleanup(r.Kill)
	return r
}

// Port is the TCP port, the same after a restart.
func (r *Redis) Port() int { return r.port }

// Addr is the host:port address.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's REDIS_URL (database 0).
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Start runs redis-server on the port again (after Kill) and waits until
// it answers PING; it fails the test if it exits or stays silent.
func (r *Redis) Start() {
	r.tb.Helper()
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		r.tb.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	deadline := time.Now().Add(startTimeout)
	for {
		err := Ping(r.Addr())
		if err == nil {
			return
		}
		select {
		case <-done:
			r.cmd = nil
			r.tb.Fatalf("redis-server on %s exited at start: %v", r.Addr(), err)
		default:
		}
		if time.Now().After(deadline) {
			r.tb.Fatalf("redis-server on %s did not answer PING within %v: %v", r.Addr(), startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// Kill sends SIGKILL and waits until the process is gone (its data is
// lost). Idempotent.
func (r *Redis) Kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// Ping sends one inline PING to addr over a fresh connection and expects
// +PONG. It uses no Redis client, which would log every refused dial.
func Ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", buf)
	}
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("no free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
