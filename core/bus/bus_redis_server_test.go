package bus

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// redisServer is a real redis-server process on a fixed port.
type redisServer struct {
	bin  string
	port int
	cmd  *exec.Cmd
}

// newRedisServer finds redis-server (DMCHAT_REDIS_SERVER, then PATH) and
// starts it on a free port. It skips the test when there is none, unless
// DMCHAT_REQUIRE_SERVICES=1.
func newRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin := os.Getenv("DMCHAT_REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			if os.Getenv("DMCHAT_REQUIRE_SERVICES") == "1" {
				t.Fatalf("redis-server not found and DMCHAT_REQUIRE_SERVICES=1: %v", err)
			}
			t.Skipf("redis-server not found: %v", err)
		}
	}
	_, portStr, _ := net.SplitHostPort(freeAddr(t))
	port, _ := strconv.Atoi(portStr)
	s := &redisServer{bin: bin, port: port}
	s.start(t)
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs the process and waits until it answers PING.
func (s *redisServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		err := pingRaw(s.addr())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer PING: %v", s.addr(), err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// pingRaw sends one inline PING over a fresh connection and expects
// +PONG (no go-redis here: it would log each refused dial on stderr).
func pingRaw(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
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

// kill sends SIGKILL and reaps the process; idempotent.
func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// TestRedisOutageRealServer: the outage scenario against a real
// redis-server killed with SIGKILL and restarted on the same port.
func TestRedisOutageRealServer(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	a := newTestBus(t, srv.addr(), "A")
	b := newTestBus(t, srv.addr(), "B")
	a.start(t)
	b.start(t)
	checkOutage(t, a, b, srv.kill, func() { srv.start(t) })
}

// TestRedisDownAtStartRealServer: a real redis-server appearing after
// Start gave up is picked up in the background.
func TestRedisDownAtStartRealServer(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	srv.kill()
	a := newTestBus(t, srv.addr(), "A")
	a.Start(context.Background(), a.rec)
	if a.State() != StateDisabled || len(a.entries("bus_disabled")) != 1 {
		t.Fatalf("State = %v; bus_disabled entries: %d", a.State(), len(a.entries("bus_disabled")))
	}
	srv.start(t)
	a.rec.wait(t, "BusRestored", func(r *recorder) bool { return r.restored == 1 })
	if err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "m"}); err != nil {
		t.Fatal(err)
	}
	a.rec.waitEvent(t, "own message", isMessage("m"))
}
