package server_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
)

func mustPrefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func loginBody(name, password string) string {
	return fmt.Sprintf(`{"username":%q,"password":%q}`, name, password)
}

var jsonHdr = http.Header{"Content-Type": {"application/json"}}

// retryAfter fails unless resp is 429 RATE_LIMITED with a Retry-After of
// whole seconds >= 1, and returns it.
func retryAfter(t *testing.T, resp *http.Response, code string) int {
	t.Helper()
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || code != chat.CodeRateLimited || err != nil || ra < 1 {
		t.Fatalf("got %d %s Retry-After %q, want 429 RATE_LIMITED with Retry-After >= 1",
			resp.StatusCode, code, resp.Header.Get("Retry-After"))
	}
	return ra
}

// Two clients behind one proxy are limited apart only when the proxy is
// trusted; an untrusted peer's X-Forwarded-For is ignored.
func TestXForwardedForOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name       string
		trusted    []string
		apartLimit bool
	}{
		{"untrusted peer", nil, false},
		{"trusted peer", []string{"127.0.0.0/8"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setupWith(t, func(c *config.Config) {
				c.TrustedProxies = mustPrefixes(t, tc.trusted...)
				c.AdminBootstrapName = "" // its login would spend the loopback bucket
			}, nil,
				func(o *server.Options) { o.AuthRate, o.AuthBurst = 0.001, 2 })
			from := func(client string) (*http.Response, string) {
				// An invalid username: answered 400 after the limit, with no bcrypt.
				return rawPost(t, e, "/api/auth/register", with(jsonHdr, "X-Forwarded-For", "203.0.113.99, "+client), `{}`)
			}
			for range 2 {
				if resp, code := from("198.51.100.1"); resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("within the limit: %d %s", resp.StatusCode, code)
				}
			}
			resp, code := from("198.51.100.1")
			retryAfter(t, resp, code)
			resp, code = from("198.51.100.2")
			if got := resp.StatusCode == http.StatusBadRequest; got != tc.apartLimit {
				t.Fatalf("a second client address: %d %s (limited apart: %t, want %t)", resp.StatusCode, code, got, tc.apartLimit)
			}
		})
	}
}

// After 5 wrong passwords an account gets 429 with Retry-After, without
// bcrypt; other accounts log in as usual.
func TestFailedLoginsThrottleTheAccount(t *testing.T) {
	e := setup(t, nil, nil)
	e.user("alice")
	e.user("bob")
	for i := range 5 {
		if resp, code := rawPost(t, e, "/api/auth/login", jsonHdr, loginBody("alice", "wrong-password")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s, want 401", i+1, resp.StatusCode, code)
		}
	}
	resp, code := rawPost(t, e, "/api/auth/login", jsonHdr, loginBody("alice", "wrong-password"))
	if ra := retryAfter(t, resp, code); ra > 60 {
		t.Fatalf("Retry-After %d s, want at most the 60 s refill", ra)
	}
	// The account's name in another case is the same account.
	resp, code = rawPost(t, e, "/api/auth/login", jsonHdr, loginBody("ALICE", testPassword))
	retryAfter(t, resp, code)

	if resp, code := rawPost(t, e, "/api/auth/login", jsonHdr, loginBody("bob", testPassword)); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob while alice is throttled: %d %s, want 200", resp.StatusCode, code)
	}
}

// A successful login clears the account's failures.
func TestSuccessfulLoginClearsFailures(t *testing.T) {
	e := setup(t, nil, nil)
	e.user("alice")
	for range 2 {
		for range 4 {
			rawPost(t, e, "/api/auth/login", jsonHdr, loginBody("alice", "wrong-password"))
		}
		if resp, code := rawPost(t, e, "/api/auth/login", jsonHdr, loginBody("alice", testPassword)); resp.StatusCode != http.StatusOK {
			t.Fatalf("right password after 4 failures: %d %s, want 200", resp.StatusCode, code)
		}
	}
}

// With the hashing bound full (one slot, held; one waiting), a further
// login is answered 429 at once instead of piling up.
func TestHashingBoundAnswers429WhenFull(t *testing.T) {
	gate := auth.NewHashGate(1, 1)
	e := setupWith(t, nil, nil, func(o *server.Options) { o.HashGate = gate })
	e.user("alice")
	e.user("bob")

	held, release := make(chan struct{}), make(chan struct{})
	holderDone := make(chan struct{})
	go func() {
		defer close(holderDone)
		_ = gate.Do(ctxT(t), func() { close(held); <-release })
	}()
	<-held

	type result struct {
		status int
		resp   *http.Response
		code   string
	}
	results := make(chan result, 2)
	var wg sync.WaitGroup
	for _, name := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, code := rawPost(t, e, "/api/auth/login", jsonHdr, loginBody(name, testPassword))
			results <- result{resp.StatusCode, resp, code}
		}()
	}
	// One login waits for the slot, so the first answer is the refused one.
	first := <-results
	retryAfter(t, first.resp, first.code)
	close(release)
	<-holderDone
	wg.Wait()
	if second := <-results; second.status != http.StatusOK {
		t.Fatalf("the queued login: %d %s, want 200", second.status, second.code)
	}
}
