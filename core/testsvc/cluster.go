package testsvc

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clusterTimeout bounds each wait for the cluster to form or heal.
const clusterTimeout = 20 * time.Second

// Cluster is a running Redis Cluster of masters without replicas, on
// loopback, whose nodes a test can SIGKILL and restart one by one. Its
// methods are for the test goroutine.
type Cluster struct {
	t      testing.TB
	server string
	cli    string
	dir    string
	ports  []int
	cmds   []*exec.Cmd
}

// StartCluster starts n masters (n >= 3) on free loopback ports, joins
// them into one cluster and waits until it serves every slot. Everything
// is killed when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	server := redisServerBin(t)
	cli := redisCLIBin(t, server)
	c := &Cluster{t: t, server: server, cli: cli, dir: t.TempDir(), cmds: make([]*exec.Cmd, n)}
	for range n {
		c.ports = append(c.ports, clusterPort(t))
	}
	t.Cleanup(func() {
		for i := range c.cmds {
			c.Kill(i)
		}
	})
	for i := range n {
		c.start(i)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy()
	return c
}

// Addrs are the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.ports))
	for i, p := range c.ports {
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return out
}

// URL is the cluster's REDIS_URL.
func (c *Cluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

func (c *Cluster) start(i int) {
	c.t.Helper()
	p := strconv.Itoa(c.ports[i])
	cmd := exec.Command(c.server, "--port", p, "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+p+".conf",
		"--cluster-node-timeout", "1000", "--dir", c.dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(c.dir, "redis-"+p+".log"))
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start redis-server: %v", err)
	}
	c.cmds[i] = cmd
	deadline := time.Now().Add(clusterTimeout)
	for c.cliOut(i, "PING") != "PONG" {
		if time.Now().After(deadline) {
			c.t.Fatalf("redis-server on port %s did not answer PING", p)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// Kill SIGKILLs node i (its data is lost; its cluster config is kept on
// disk for Restart). Idempotent.
func (c *Cluster) Kill(i int) {
	if c.cmds[i] == nil {
		return
	}
	_ = c.cmds[i].Process.Signal(syscall.SIGKILL)
	_ = c.cmds[i].Wait()
	c.cmds[i] = nil
}

// Restart starts node i again on its port, with its cluster config, and
// waits until the cluster serves every slot again.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.start(i)
	c.WaitHealthy()
}

// WaitHealthy waits until every running node reports cluster_state:ok.
func (c *Cluster) WaitHealthy() {
	c.t.Helper()
	deadline := time.Now().Add(clusterTimeout)
	for i := range c.ports {
		for c.cmds[i] != nil && !strings.Contains(c.cliOut(i, "CLUSTER", "INFO"), "cluster_state:ok") {
			if time.Now().After(deadline) {
				c.t.Fatalf("cluster not healthy on port %d within %v", c.ports[i], clusterTimeout)
			}
			time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
		}
	}
}

// NodeOf returns the index of the node serving key's slot.
func (c *Cluster) NodeOf(key string) int {
	c.t.Helper()
	slot := strings.TrimSpace(c.cliOut(0, "CLUSTER", "KEYSLOT", key))
	s, err := strconv.Atoi(slot)
	if err != nil {
		c.t.Fatalf("CLUSTER KEYSLOT %s: %q", key, slot)
	}
	for i := range c.ports {
		if c.cmds[i] == nil {
			continue
		}
		for _, line := range strings.Split(c.cliOut(i, "CLUSTER", "NODES"), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "myself") {
				continue
			}
			for _, r := range f[8:] {
				lo, hi, ok := strings.Cut(r, "-")
				if !ok {
					hi = lo
				}
				l, err1 := strconv.Atoi(lo)
				h, err2 := strconv.Atoi(hi)
				if err1 == nil && err2 == nil && l <= s && s <= h {
					return i
				}
			}
		}
	}
	c.t.Fatalf("no node serves slot %d", s)
	return -1
}

// cliOut runs redis-cli against node i and returns its trimmed output
// ("" on failure).
func (c *Cluster) cliOut(i int, args ...string) string {
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.ports[i])}, args...)
	var out bytes.Buffer
	cmd := exec.Command(c.cli, full...)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return ""
	}
	return strings.TrimSpace(out.String())
}

// clusterPort returns a free port p whose cluster bus port p+10000 is free
// too.
func clusterPort(t testing.TB) int {
	t.Helper()
	// Cluster nodes also listen on port+10000 (the cluster bus): keep
	// both within range and free.
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if p+10000 > 65535 {
			continue
		}
		if bl, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000))); err == nil {
			_ = bl.Close()
			return p
		}
	}
	t.Fatal(fmt.Errorf("no free port pair for a cluster node"))
	return 0
}
