// Package netlimit bounds the connections a listener hands out: a cap on
// all of them (golang.org/x/net/netutil.LimitListener: over it, new
// connections wait in the kernel's listen backlog) and a cap per peer IP
// address (over it, the new connection is closed at once, so a client that
// opens hundreds of idle connections holds no more than its share of the
// global cap).
//
// The per-address count is keyed by the TCP peer, never by a header:
// behind a reverse proxy every client is the proxy, so there the
// per-address cap must be at least the proxy's connection count (or the
// proxy must do its own per-client limiting).
package netlimit
