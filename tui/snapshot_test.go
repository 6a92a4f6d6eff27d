package tui

import "testing"

// The second instance is named localhost, so one browser can keep a login
// on each (cookies are per host, not per port).
func TestWebURL(t *testing.T) {
	for _, tc := range []struct {
		i          int
		addr, want string
	}{
		{0, "127.0.0.1:8000", "http://127.0.0.1:8000"},
		{1, "127.0.0.1:8001", "http://localhost:8001"},
		{2, "127.0.0.1:8002", "http://127.0.0.1:8002"},
		{1, "", "http://"},
	} {
		if got := webURL(tc.i, tc.addr); got != tc.want {
			t.Errorf("webURL(%d, %q) = %q, want %q", tc.i, tc.addr, got, tc.want)
		}
	}
}
