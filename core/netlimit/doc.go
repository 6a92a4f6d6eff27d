// Package netlimit bounds the connections a listener hands out: a cap on
// all of them (as golang.org/x/net/netutil.LimitListener does: over it, new
// connections wait in the kernel's listen backlog) and a cap per peer IP
// address (over it, the new connection is closed at once, so a client that
// opens hundreds of idle connections holds no more than its share of the
// global cap).
//
// The per-address count is keyed by the TCP peer, never by a header (a
// header arrives only after the connection is taken): behind a reverse
// proxy every client is the proxy, so the proxy is exempted
// (Options.Exempt) and per-client connection limits are the proxy's job.
package netlimit
