package webui

import "net/http"

// setSecurityHeaders sets the headers that keep the page from running
// anything but its own files: no inline script or style, no framing, no
// content sniffing, and connections only back to the serving host (the
// API and its WebSocket).
func setSecurityHeaders(h http.Header, host string) {
	h.Set("Content-Security-Policy", contentSecurityPolicy(host))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// contentSecurityPolicy is the page's policy. connect-src names the
// WebSocket schemes of the request's host explicitly, because 'self'
// covers ws: and wss: only in browsers that implement CSP level 3; a Host
// with a character outside a host name's grammar is left out rather than
// copied into the header.
func contentSecurityPolicy(host string) string {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src " + connect + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// validHost reports whether host is a plain host[:port]: letters, digits
// and . - : [ ] (IPv6), nothing that could end a CSP directive.
func validHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}
