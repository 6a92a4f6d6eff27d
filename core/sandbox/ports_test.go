package sandbox

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// freePort is a loopback port nothing listens on (just now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Options.Ports puts each instance on the port asked for, kept across a
// restart, and each serves the web client there.
func TestFixedPorts(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	c, ctx := setup(t, Options{Ports: map[string]int{"A": pa, "B": pb}})
	for name, port := range map[string]int{"A": pa, "B": pb} {
		want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if got := c.Instance(name).Addr(); got != want {
			t.Fatalf("instance %s on %s, want %s", name, got, want)
		}
		res, err := http.Get(c.Instance(name).URL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `<script type="module" src="/app/main.js">`) {
			t.Fatalf("instance %s GET /: %d, want the web client", name, res.StatusCode)
		}
	}
	if err := c.StopInstance(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartInstance(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Instance("B").Addr(), net.JoinHostPort("127.0.0.1", strconv.Itoa(pb)); got != want {
		t.Fatalf("B restarted on %s, want %s", got, want)
	}
}

// A port for an instance that does not exist, or out of range, is refused.
func TestFixedPortsRefused(t *testing.T) {
	for _, ports := range []map[string]int{{"C": 8000}, {"A": 70000}, {"A": -1}} {
		c, err := Start(context.Background(), Options{Ports: ports})
		if err == nil {
			c.Close()
			t.Fatalf("Start with ports %v succeeded", ports)
		}
	}
}
