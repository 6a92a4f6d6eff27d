package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddrWalksForwardedForFromTheRight(t *testing.T) {
	trusted := proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name   string
		peer   string
		xff    []string
		want   string
		scheme string
		xfp    string
	}{
		{name: "no proxy", peer: "198.51.100.7:5000", want: "198.51.100.7", scheme: "http"},
		{name: "untrusted peer's header ignored", peer: "198.51.100.7:5000", xff: []string{"203.0.113.1"}, want: "198.51.100.7", xfp: "https", scheme: "http"},
		{name: "trusted peer", peer: "10.0.0.2:5000", xff: []string{"203.0.113.1"}, want: "203.0.113.1", xfp: "HTTPS", scheme: "https"},
		{name: "client-written entries left of the client", peer: "10.0.0.2:5000", xff: []string{"1.2.3.4, 203.0.113.1"}, want: "203.0.113.1"},
		{name: "chain of trusted proxies", peer: "10.0.0.2:5000", xff: []string{"203.0.113.1, 10.9.9.9", "10.0.0.3"}, want: "203.0.113.1"},
		{name: "all hops trusted", peer: "10.0.0.2:5000", xff: []string{"10.1.1.1, 10.0.0.3"}, want: "10.1.1.1"},
		{name: "garbage ends the walk", peer: "10.0.0.2:5000", xff: []string{"203.0.113.1, not-an-ip, 10.0.0.3"}, want: "10.0.0.3"},
		{name: "ports and brackets", peer: "[fd00::1]:5000", xff: []string{"[2001:db8::5]:443"}, want: "2001:db8::5"},
		{name: "mapped IPv4 peer", peer: "[::ffff:10.0.0.2]:5000", xff: []string{"203.0.113.1:80"}, want: "203.0.113.1"},
		{name: "trusted peer, no header", peer: "10.0.0.2:5000", want: "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.xfp != "" {
				r.Header.Set("X-Forwarded-Proto", tc.xfp)
			}
			if got := trusted.clientAddr(r); got != tc.want {
				t.Errorf("clientAddr = %s, want %s", got, tc.want)
			}
			if tc.scheme != "" {
				if got := trusted.scheme(r); got != tc.scheme {
					t.Errorf("scheme = %s, want %s", got, tc.scheme)
				}
			}
		})
	}
}
