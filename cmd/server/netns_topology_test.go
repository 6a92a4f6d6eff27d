//go:build linux

package main

// The network of TestInstancesOnSeparateHosts: one network namespace per
// "host", joined by a router namespace, made with ip(8) and removed at the
// end of the test.
//
//	root ns (the test: clients, recorder)  10.213.X.2  ── 10.213.X.1  ┐
//	dmchat-<id>-infra (redis, postgres)    10.213.X.6  ── 10.213.X.5  │ dmchat-<id>-r
//	dmchat-<id>-a .. -d (one server each)  10.213.X.10 ── 10.213.X.9  │ (forwarding on,
//	                                       ...            ...         ┘  in that ns only)
//
// Every link is a veth pair on its own /30; each namespace routes through
// the router. <id> is the test process's pid and 4 random hex digits: a
// run whose process is gone is recognised, and its leftovers removed, by
// the next run. The only things made in the root namespace are the test's
// own veth end (dmc<id>) and one route to 10.213.X.0/24 over it; X is
// drawn at random among third octets no existing route uses. Deleting the
// router namespace deletes that veth and its route with it.
//
// A cut is two "blackhole" policy rules in the router, one each way
// between an instance's address and the infra address: forwarded packets
// are dropped silently, so established TCP connections to Redis and
// PostgreSQL stall (no RST, no ICMP), the failure a real partition gives,
// while the instance's clients still reach it. A heal deletes the rules.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// netnsPrefix starts every namespace the test makes; leftovers of a
// crashed run are recognised by it.
const netnsPrefix = "dmchat-"

// netnsName matches the namespaces of this test:
// dmchat-<pid of the test process>-<4 hex>-<role>.
var netnsName = regexp.MustCompile(`^dmchat-(([0-9]+)-[0-9a-f]{4})-(r|infra|a|b|c|d)$`)

// nsHost is one namespace at the end of a veth from the router.
type nsHost struct {
	ns   string // namespace name
	addr string // its address
	gw   string // the router's address on the same link
	pref int    // first rule preference its cut uses
}

// nsTopology is the router, infra and instance namespaces of one test.
type nsTopology struct {
	t      *testing.T
	id     string
	router string
	hostIP string // the root namespace's address
	infra  nsHost
	hosts  map[string]nsHost // by instance name: "A".."D"
}

// ipCmd runs ip(8) with args and returns its combined output.
func ipCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// netnsUnavailable skips (or, with DMCHAT_REQUIRE_SERVICES=1, fails) the
// test when namespaces cannot be made here.
func netnsUnavailable(t *testing.T, why string) {
	t.Helper()
	if requireServices() {
		t.Fatalf("network namespaces unavailable and DMCHAT_REQUIRE_SERVICES=1: %s", why)
	}
	t.Skipf("network namespaces unavailable (needs root and ip netns): %s", why)
}

// removeLeftoverNetns deletes the namespaces of earlier runs that died
// before their cleanup (a killed test binary): a group is stale only when
// the test process named in it is gone, so a run in progress is left
// alone. What still runs in a stale group (the dead run's servers, orphaned)
// is killed first.
func removeLeftoverNetns(t *testing.T) {
	t.Helper()
	out, err := ipCmd("netns", "list")
	if err != nil {
		return
	}
	groups := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := netnsName.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		if owner, err := strconv.Atoi(m[2]); err != nil || owner == os.Getpid() || syscall.Kill(owner, 0) != syscall.ESRCH {
			continue // its run is alive (or unknown)
		}
		groups[m[1]] = append(groups[m[1]], f[0])
	}
	for id, names := range groups {
		for _, n := range names {
			pids, _ := ipCmd("netns", "pids", n)
			for _, p := range strings.Fields(pids) {
				if pid, err := strconv.Atoi(p); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		for _, n := range names {
			if _, err := ipCmd("netns", "del", n); err == nil {
				t.Logf("removed leftover namespace %s (run %s)", n, id)
			}
		}
	}
}

// freeOctet picks a third octet for 10.213.X.0/24 that no route of the
// root namespace mentions.
func freeOctet(t *testing.T) int {
	t.Helper()
	out, _ := ipCmd("-4", "route", "show", "table", "all")
	for range 64 {
		var b [1]byte
		_, _ = rand.Read(b[:])
		x := int(b[0])
		if x == 0 || x == 255 {
			continue
		}
		if !strings.Contains(out, "10.213."+strconv.Itoa(x)+".") {
			return x
		}
	}
	t.Fatal("no free 10.213.X.0/24 range")
	return 0
}

// newTopology makes the namespaces of instances (names "A".."D", at most
// four), skipping the test when it cannot. Everything is removed in
// t.Cleanup, also when the test fails half-way.
func newTopology(t *testing.T, instances ...string) *nsTopology {
	t.Helper()
	if os.Geteuid() != 0 {
		netnsUnavailable(t, "not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		netnsUnavailable(t, "ip(8) not found")
	}
	removeLeftoverNetns(t)
	var b [2]byte
	_, _ = rand.Read(b[:])
	id := strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	x := freeOctet(t)
	sub := func(n int) string { return "10.213." + strconv.Itoa(x) + "." + strconv.Itoa(n) }
	topo := &nsTopology{t: t, id: id, router: netnsPrefix + id + "-r", hostIP: sub(2), hosts: map[string]nsHost{}}

	var made []string
	t.Cleanup(func() {
		// Deleting a namespace deletes the veth ends in it, and so the
		// pairs; the router goes last, taking the root's veth and route.
		for i := len(made) - 1; i >= 0; i-- {
			if _, err := ipCmd("netns", "del", made[i]); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	mk := func(ns string) {
		if _, err := ipCmd("netns", "add", ns); err != nil {
			netnsUnavailable(t, err.Error())
		}
		made = append(made, ns)
		must(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	mk(topo.router)
	must(t, "ip", "netns", "exec", topo.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")

	// The root namespace's leg: its end is created in the router and
	// moved out, so a name clash in the root namespace fails loudly here.
	rootLeg := "dmc" + id
	must(t, "ip", "-n", topo.router, "link", "add", "host", "type", "veth", "peer", "name", rootLeg, "netns", strconv.Itoa(os.Getpid()))
	must(t, "ip", "-n", topo.router, "addr", "add", sub(1)+"/30", "dev", "host")
	must(t, "ip", "-n", topo.router, "link", "set", "host", "up")
	must(t, "ip", "addr", "add", sub(2)+"/30", "dev", rootLeg)
	must(t, "ip", "link", "set", rootLeg, "up")
	must(t, "ip", "route", "add", "10.213."+strconv.Itoa(x)+".0/24", "via", sub(1), "dev", rootLeg)

	leg := func(k int, role string) nsHost {
		h := nsHost{ns: netnsPrefix + id + "-" + role, addr: sub(4*k + 2), gw: sub(4*k + 1), pref: 100 + 2*k}
		mk(h.ns)
		dev := "to-" + role // not the bare role: ip reads "a" as a keyword
		must(t, "ip", "-n", topo.router, "link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		must(t, "ip", "-n", topo.router, "addr", "add", h.gw+"/30", "dev", dev)
		must(t, "ip", "-n", topo.router, "link", "set", dev, "up")
		must(t, "ip", "-n", h.ns, "addr", "add", h.addr+"/30", "dev", "eth0")
		must(t, "ip", "-n", h.ns, "link", "set", "eth0", "up")
		must(t, "ip", "-n", h.ns, "route", "add", "default", "via", h.gw)
		return h
	}
	topo.infra = leg(1, "infra")
	for i, name := range instances {
		topo.hosts[name] = leg(2+i, strings.ToLower(name))
	}
	t.Logf("topology %s: router %s, infra %s, root %s", id, topo.router, topo.infra.addr, topo.hostIP)
	return topo
}

// must runs a command that has to succeed, failing the test otherwise.
func must(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

// cut drops, in the router, every packet between instance's namespace and
// infra, both ways.
func (n *nsTopology) cut(instance string) {
	n.t.Helper()
	h := n.hosts[instance]
	must(n.t, "ip", "-n", n.router, "rule", "add", "pref", strconv.Itoa(h.pref), "from", h.addr, "to", n.infra.addr, "blackhole")
	must(n.t, "ip", "-n", n.router, "rule", "add", "pref", strconv.Itoa(h.pref+1), "from", n.infra.addr, "to", h.addr, "blackhole")
}

// heal removes the rules of cut.
func (n *nsTopology) heal(instance string) {
	n.t.Helper()
	h := n.hosts[instance]
	must(n.t, "ip", "-n", n.router, "rule", "del", "pref", strconv.Itoa(h.pref))
	must(n.t, "ip", "-n", n.router, "rule", "del", "pref", strconv.Itoa(h.pref+1))
}

// inNetns runs f with the calling goroutine's OS thread in namespace ns,
// so that processes f starts (fork happens on the calling thread) live
// there. f must not leave goroutines that expect the namespace. If the
// thread cannot be put back, it stays locked and dies with the goroutine.
func inNetns(t *testing.T, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("open own netns: %v", err)
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("open netns %s: %v", ns, err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("setns %s: %v", ns, err)
	}
	defer func() {
		if err := setns(self); err != nil {
			t.Fatalf("setns back from %s: %v", ns, err) // the thread stays locked and is discarded
		}
		runtime.UnlockOSThread()
	}()
	f()
}

// setns moves the calling thread into the network namespace open as f.
func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// hostPort joins an address and a port.
func hostPort(addr string, port int) string { return net.JoinHostPort(addr, strconv.Itoa(port)) }
