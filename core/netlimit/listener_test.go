package netlimit_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/netlimit"
)

const waitFor = 5 * time.Second

// setup listens on loopback with opts and hands out accepted connections
// on a channel.
func setup(t *testing.T, opts netlimit.Options) (addr string, accepted <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := netlimit.Listen(l, opts)
	ch := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ll.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	t.Cleanup(func() { _ = ll.Close(); <-done })
	return l.Addr().String(), ch
}

// dialFrom connects from the loopback address from (Linux routes all of
// 127/8 to lo, so each is a distinct client address).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitFor}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func acceptOne(t *testing.T, accepted <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-accepted:
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(waitFor):
		t.Fatal("no connection accepted")
		return nil
	}
}

// closedByServer reports whether the server closed c (a read ends with EOF
// or a reset instead of the deadline).
func closedByServer(c net.Conn, within time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestPerIPCapClosesTheExtraConnectionAtOnce(t *testing.T) {
	refused := make(chan netip.Addr, 4)
	addr, accepted := setup(t, netlimit.Options{MaxPerIP: 2, Refused: func(a netip.Addr) { refused <- a }})

	first := dialFrom(t, "127.0.0.2", addr)
	held := acceptOne(t, accepted)
	dialFrom(t, "127.0.0.2", addr)
	acceptOne(t, accepted)

	extra := dialFrom(t, "127.0.0.2", addr)
	if !closedByServer(extra, waitFor) {
		t.Fatal("the third connection from one address was not closed")
	}
	if a := <-refused; a != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("refused %v, want 127.0.0.2", a)
	}

	// Another address has its own count.
	dialFrom(t, "127.0.0.3", addr)
	acceptOne(t, accepted)

	// A closed connection gives its slot back (once, even closed twice).
	_ = first.Close()
	_ = held.Close()
	_ = held.Close()
	again := dialFrom(t, "127.0.0.2", addr)
	acceptOne(t, accepted)
	if closedByServer(again, 100*time.Millisecond) {
		t.Fatal("a connection under the cap was closed")
	}
	if got := len(refused); got != 0 {
		t.Fatalf("%d more refusals, want none", got)
	}
}

func TestMaxConnectionsHoldsNewConnectionsBack(t *testing.T) {
	addr, accepted := setup(t, netlimit.Options{MaxConnections: 2, MaxPerIP: 10})
	dialFrom(t, "127.0.0.2", addr)
	a := acceptOne(t, accepted)
	dialFrom(t, "127.0.0.3", addr)
	acceptOne(t, accepted)

	waiting := dialFrom(t, "127.0.0.4", addr)
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted over MaxConnections 2")
	case <-time.After(100 * time.Millisecond):
	}
	_ = a.Close()
	c := acceptOne(t, accepted)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	_ = waiting.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadFull(waiting, buf); err != nil {
		t.Fatalf("the waiting connection was not served after a slot freed: %v", err)
	}
}

func TestExemptPeersAreNotCappedPerIP(t *testing.T) {
	proxy := netip.MustParseAddr("127.0.0.5")
	addr, accepted := setup(t, netlimit.Options{MaxPerIP: 1, Exempt: func(a netip.Addr) bool { return a == proxy }})
	for range 3 {
		c := dialFrom(t, "127.0.0.5", addr)
		acceptOne(t, accepted)
		if closedByServer(c, 50*time.Millisecond) {
			t.Fatal("a connection of the exempt peer was closed")
		}
	}
	dialFrom(t, "127.0.0.6", addr)
	acceptOne(t, accepted)
	if !closedByServer(dialFrom(t, "127.0.0.6", addr), waitFor) {
		t.Fatal("a second connection of a capped peer was kept")
	}
}

// A capped connection keeps the raw file descriptor reachable (the
// WebSocket's non-blocking writes use it) and can still half-close.
func TestCappedConnectionsKeepTheRawConn(t *testing.T) {
	addr, accepted := setup(t, netlimit.Options{MaxConnections: 4, MaxPerIP: 2})
	dialFrom(t, "127.0.0.1", addr)
	c := acceptOne(t, accepted)
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T does not implement syscall.Conn", c)
	}
	if _, err := sc.SyscallConn(); err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
	if _, ok := c.(interface{ CloseWrite() error }); !ok {
		t.Fatalf("%T has no CloseWrite", c)
	}
}

// Close ends an Accept that waits for a slot.
func TestCloseEndsAWaitingAccept(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := netlimit.Listen(l, netlimit.Options{MaxConnections: 1})
	dialFrom(t, "127.0.0.1", l.Addr().String())
	first, err := ll.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	errc := make(chan error, 1)
	go func() { _, err := ll.Accept(); errc <- err }() // waits: the one slot is taken
	_ = ll.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Accept still waiting after Close")
	}
}

// Both caps share one wrapper per connection: its Close must give back the
// address's count and the global slot alike.
func TestCloseReleasesBothCaps(t *testing.T) {
	addr, accepted := setup(t, netlimit.Options{MaxConnections: 1, MaxPerIP: 1})
	for i := range 3 {
		c := dialFrom(t, "127.0.0.2", addr)
		s := acceptOne(t, accepted)
		if closedByServer(c, 50*time.Millisecond) {
			t.Fatalf("connection %d, under both caps once the last closed, was closed", i)
		}
		_ = s.Close()
		_ = c.Close()
	}
}
