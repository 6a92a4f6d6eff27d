package netlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// Options configure Listen. Zero fields mean no cap of that kind.
type Options struct {
	// MaxConnections caps the connections open at once.
	MaxConnections int
	// MaxPerIP caps the connections open at once from one peer IP.
	MaxPerIP int
	// Exempt, if set, names peers MaxPerIP does not apply to (a trusted
	// reverse proxy carries every client's connections). It is called on
	// every accept and must be cheap.
	Exempt func(addr netip.Addr) bool
	// Refused, if set, is called (without locks held) with the peer of each
	// connection closed for being over MaxPerIP. It must not block.
	Refused func(addr netip.Addr)
}

// Listen wraps l with the caps of opts. The per-address cap is applied
// first, so a refused connection never holds a slot of the global cap.
// The returned listener is safe for concurrent use, like l.
//
// The global cap works as golang.org/x/net/netutil.LimitListener does (a
// slot is taken before Accept, so over the cap new connections wait in the
// kernel's backlog), but its connections keep SyscallConn and CloseWrite:
// netutil's wrapper hides them, and the WebSocket's non-blocking writes
// (httpapi's corkConn) need the raw connection.
func Listen(l net.Listener, opts Options) net.Listener {
	if opts.MaxPerIP > 0 {
		l = &perIPListener{Listener: l, max: opts.MaxPerIP, exempt: opts.Exempt, refused: opts.Refused, open: make(map[netip.Addr]int)}
	}
	if opts.MaxConnections > 0 {
		l = &capListener{Listener: l, slots: make(chan struct{}, opts.MaxConnections), done: make(chan struct{})}
	}
	return l
}

// capListener holds at most cap(slots) connections open at once.
type capListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{} // closed by Close: a waiting Accept gives up
	closeOnce sync.Once
}

func (l *capListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	// A connection the per-address cap already wrapped carries this slot
	// too: one wrapper per connection, not one per cap.
	if rc, ok := c.(*releasingConn); ok && rc.slots == nil {
		rc.slots = l.slots
		return rc, nil
	}
	return &releasingConn{Conn: c, slots: l.slots}, nil
}

func (l *capListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// perIPListener counts open connections per peer address. mu guards open;
// an address's entry is deleted when its count drops to zero, so the map
// holds only addresses with open connections.
type perIPListener struct {
	net.Listener
	max     int
	exempt  func(netip.Addr) bool
	refused func(netip.Addr)

	mu   sync.Mutex
	open map[netip.Addr]int
}

// Accept returns the next connection whose address is under the cap,
// closing the others as they come.
func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, ok := peerAddr(c)
		if !ok || (l.exempt != nil && l.exempt(addr)) {
			// Exempt, or not TCP (nothing to key by).
			return c, nil
		}
		if l.take(addr) {
			return &releasingConn{Conn: c, perIP: l, addr: addr}, nil
		}
		_ = c.Close()
		if l.refused != nil {
			l.refused(addr)
		}
	}
}

func (l *perIPListener) take(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] >= l.max {
		return false
	}
	l.open[addr]++
	return true
}

func (l *perIPListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] <= 1 {
		delete(l.open, addr)
		return
	}
	l.open[addr]--
}

func peerAddr(c net.Conn) (netip.Addr, bool) {
	ta, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(ta.IP)
	return a.Unmap(), ok
}

// releasingConn gives back what it holds once, on the first Close: its
// peer's count in perIP (if set) and a slot of slots (if set). Both caps
// share one wrapper and it holds no closure, so a connection costs one
// small allocation here however many caps apply (an idle WebSocket keeps
// it for its whole life). It keeps the raw connection's SyscallConn and
// CloseWrite reachable.
type releasingConn struct {
	net.Conn
	once  sync.Once
	perIP *perIPListener
	addr  netip.Addr
	slots chan struct{}
}

func (c *releasingConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func (c *releasingConn) release() {
	if c.perIP != nil {
		c.perIP.release(c.addr)
	}
	if c.slots != nil {
		<-c.slots
	}
}

var errNoRawConn = errors.New("netlimit: connection has no raw file descriptor")

// SyscallConn is the wrapped connection's, for non-blocking writes.
func (c *releasingConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoRawConn
}

// CloseWrite half-closes the wrapped connection when it can, so net/http
// can send an answer before closing a connection whose body it refused.
func (c *releasingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
