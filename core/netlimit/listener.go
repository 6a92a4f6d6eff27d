package netlimit

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/netutil"
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
func Listen(l net.Listener, opts Options) net.Listener {
	if opts.MaxPerIP > 0 {
		l = &perIPListener{Listener: l, max: opts.MaxPerIP, exempt: opts.Exempt, refused: opts.Refused, open: make(map[netip.Addr]int)}
	}
	if opts.MaxConnections > 0 {
		l = netutil.LimitListener(l, opts.MaxConnections)
	}
	return l
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
			return &countedConn{Conn: c, release: func() { l.release(addr) }}, nil
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

// countedConn gives its slot back once, on the first Close (net/http and
// hijackers may both close a connection).
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
