//go:build linux

package main

// The infra "host" of TestInstancesOnSeparateHosts: a redis-server and a
// throw-away PostgreSQL cluster of their own, started inside the infra
// namespace and listening on its private address only.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmchat/dmchat/core/testsvc"
)

// daemon is a child process whose output is kept for the failure report.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex // guards out
	out  bytes.Buffer
}

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// startDaemon starts cmd inside namespace ns; it is killed at the end of
// the test (SIGKILL: the data is thrown away anyway).
func startDaemon(t *testing.T, ns, name string, cmd *exec.Cmd) *daemon {
	t.Helper()
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d, d
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Dies with the test binary (with the thread that started it, in fact:
	// Go does not retire threads of unlocked goroutines).
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	var err error
	inNetns(t, ns, func() { err = cmd.Start() })
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, d.output())
		}
	})
	return d
}

// waitUp polls ping until it succeeds, the process exits or timeout.
func (d *daemon) waitUp(t *testing.T, timeout time.Duration, ping func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := ping()
		if err == nil {
			return
		}
		select {
		case <-d.done:
			t.Fatalf("%s exited at start: %v\n%s", d.name, err, d.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up within %v: %v\n%s", d.name, timeout, err, d.output())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// startInfraRedis runs redis-server on the infra address and returns its
// URL. Protected mode is off: it listens on a private address of the
// test's own namespace only.
func startInfraRedis(t *testing.T, topo *nsTopology) string {
	t.Helper()
	bin := os.Getenv("DMCHAT_REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			if requireServices() {
				t.Fatalf("redis-server not found and DMCHAT_REQUIRE_SERVICES=1: %v", err)
			}
			t.Skipf("redis-server not found (set DMCHAT_REDIS_SERVER): %v", err)
		}
	}
	addr := hostPort(topo.infra.addr, 6379)
	d := startDaemon(t, topo.infra.ns, "redis-server", exec.Command(bin, "--bind", topo.infra.addr, "--port", "6379",
		"--protected-mode", "no", "--save", "", "--appendonly", "no"))
	d.waitUp(t, 10*time.Second, func() error { return testsvc.Ping(addr) })
	return "redis://" + addr + "/0"
}

// pgBinDir finds the newest installed PostgreSQL's bin directory.
func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "postgres")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// startInfraPostgres initialises a PostgreSQL cluster in a temporary
// directory, runs it as the postgres user (PostgreSQL refuses root) on the
// infra address with trust authentication, and returns the URL of its
// postgres database. fsync is off: the data dies with the test.
func startInfraPostgres(t *testing.T, topo *nsTopology) string {
	t.Helper()
	skip := func(why string) {
		t.Helper()
		if requireServices() {
			t.Fatalf("PostgreSQL unavailable and DMCHAT_REQUIRE_SERVICES=1: %s", why)
		}
		t.Skipf("PostgreSQL unavailable (install postgresql): %s", why)
	}
	bin := pgBinDir()
	if bin == "" {
		skip("postgres binaries not found")
	}
	pgUser, err := osuser.Lookup("postgres")
	if err != nil {
		skip("no postgres user: " + err.Error())
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	asPG := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
		return cmd
	}
	// Not t.TempDir: its parent is closed to other users.
	dir, err := os.MkdirTemp("", "dmchat-netns-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	initdb := asPG(exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--no-sync"))
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = hba.WriteString("host all all 10.213.0.0/16 trust\n")
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, topo.infra.ns, "postgres", asPG(exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses="+topo.infra.addr, "-c", "port=5432", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "max_connections=200")))
	url := "postgres://postgres@" + hostPort(topo.infra.addr, 5432) + "/postgres?sslmode=disable"
	d.waitUp(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	return url
}
