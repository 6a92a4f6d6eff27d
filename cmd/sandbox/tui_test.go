package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox"
)

func TestTUIFlags(t *testing.T) {
	var errb bytes.Buffer
	f, err := parseTUIFlags(nil, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if f != (tuiFlags{db: "mem", users: 4}) {
		t.Errorf("defaults %+v", f)
	}
	f, err = parseTUIFlags([]string{"--db", "sqlite:/tmp/x.db", "--redis-down", "--users", "2", "--log-file", "l.json",
		"--scenario", "s.scn", "--no-connect", "--port-a", "8000", "--port-b", "8001"}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	want := tuiFlags{db: "sqlite:/tmp/x.db", redisDown: true, users: 2, logFile: "l.json", scenario: "s.scn", noConnect: true,
		portA: 8000, portB: 8001}
	if f != want {
		t.Errorf("parsed %+v, want %+v", f, want)
	}
	for _, bad := range [][]string{{"--users", "-1"}, {"--nope"}, {"extra"},
		{"--port-a", "70000"}, {"--port-b", "-1"}, {"--port-a", "8000", "--port-b", "8000"}} {
		if _, err := parseTUIFlags(bad, &errb); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Every refusal says why on standard error, and nothing starts.
func TestRunTUIRefusesBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		why  string
	}{
		{[]string{"--users", "x"}, `invalid value "x" for flag -users`},
		{[]string{"--users", "-1"}, "--users must be 0 or more"},
		{[]string{"--port-a", "70000"}, "must be ports"},
		{[]string{"--port-a", "8000", "--port-b", "8000"}, "must differ"},
		{[]string{"bogus"}, `unexpected argument "bogus"`},
		{[]string{"--scenario", "/no/such/file.scn"}, "no such file"},
	} {
		var out, errb bytes.Buffer
		if code := runTUI(tc.args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errb.String(), tc.why) || out.Len() != 0 {
			t.Errorf("%q: stdout %q, stderr %q; want stderr to say %q", tc.args, out.String(), errb.String(), tc.why)
		}
	}
	var out, errb bytes.Buffer
	if code := runTUI([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "--redis-down") {
		t.Errorf("-h: exit %d, stderr %q", code, errb.String())
	}
}

// TestTokenFromOutside: "sandbox token URL USER" prints a token that the
// instance accepts as a Bearer token (login returns it only in a cookie).
func TestTokenFromOutside(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Options{Users: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	url := c.Instance("A").URL()
	var out, errb bytes.Buffer
	if code := dispatch([]string{"token", url, "user1"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	token := strings.TrimSpace(out.String())
	me, err := (&client.API{BaseURL: url}).Me(ctx, token)
	if err != nil || me.Username != "user1" {
		t.Fatalf("the printed token does not work: %+v, %v", me, err)
	}
	out.Reset()
	if code := dispatch([]string{"token", "--password", "wrong", url, "user1"}, &out, &errb); code != 1 || out.Len() != 0 {
		t.Errorf("a wrong password: exit %d, output %q", code, out.String())
	}
}
