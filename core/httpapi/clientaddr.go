package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// proxies are the peers whose forwarding headers are believed
// (TRUSTED_PROXIES). The zero value trusts no one.
type proxies []netip.Prefix

func (p proxies) trusted(a netip.Addr) bool {
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address every per-address limit is keyed by: the TCP
// peer, or, when the peer is a trusted proxy, the first address of
// X-Forwarded-For counted from the right that is not a trusted proxy
// (entries left of it were written by the client and prove nothing). If
// every hop is trusted, the leftmost is the client; an unreadable entry
// ends the walk at the hop that wrote it.
func (p proxies) clientAddr(r *http.Request) string {
	peer, ok := peerAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if !p.trusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !p.trusted(a) {
			break
		}
	}
	return client.String()
}

// scheme is the request's scheme as the browser saw it: X-Forwarded-Proto
// counts only from a trusted proxy.
func (p proxies) scheme(r *http.Request) string {
	if peer, ok := peerAddr(r); ok && p.trusted(peer) {
		if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
			first, _, _ := strings.Cut(v, ",")
			return strings.ToLower(strings.TrimSpace(first))
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// forwardedFor returns the X-Forwarded-For hops in order, over every
// header line (proxies may add a line rather than extend one).
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}
