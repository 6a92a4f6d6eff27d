package main

import (
	"strings"
	"testing"
	"time"
)

// Help and a mistyped command answer before the configuration is read:
// with no environment at all, help is the usage (exit 0) and an unknown
// command names itself and the usage (exit 2), not a missing JWT_SECRET.
func TestCommandsAnswerBeforeTheConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: server | server users add NAME [--admin] | server backup DEST"},
		{[]string{"help"}, 0, "usage: server |"},
		{[]string{"users"}, 2, `unknown command "users"; usage: server |`},
		{[]string{"serve", "now"}, 2, `unknown command "serve now"; usage: server |`},
	} {
		p := start(t, baseEnv(), "", tc.args...)
		if code := p.wait(10 * time.Second); code != tc.code {
			t.Errorf("%q: exit %d, want %d", tc.args, code, tc.code)
		}
		if got := p.stderr(); !strings.Contains(got, tc.want) || strings.Contains(got, "JWT_SECRET") {
			t.Errorf("%q: stderr %q; want it to contain %q and not ask for JWT_SECRET", tc.args, got, tc.want)
		}
	}
}
