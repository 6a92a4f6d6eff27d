package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// TestUsersAddAdminLiftsBan: `server users add NAME --admin` does what
// ADMIN_BOOTSTRAP does: it finds the admin whatever the case of NAME and
// lifts its ban, keeping the registered spelling; plain `users add` of a
// name taken in another case fails.
func TestUsersAddAdminLiftsBan(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	env := devEnv("DB_URI=sqlite:" + path)
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		p := start(t, env, stdin, args...)
		code := p.wait(20 * time.Second)
		return code, strings.Join(p.stdoutLines(), "\n") + "\n" + p.stderr()
	}
	if code, out := run("rootpassword\n", "users", "add", "Root", "--admin"); code != 0 {
		t.Fatalf("users add Root --admin: exit %d, output %q", code, out)
	}
	if code, out := run("otherpassword\n", "users", "add", "root"); code != 1 {
		t.Fatalf("users add root with Root taken: exit %d, output %q, want 1", code, out)
	}

	ctx := testCtx(t, 30*time.Second)
	ban := func(banned bool) chat.User {
		t.Helper()
		st, err := store.Open(ctx, "sqlite:"+path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		u, err := st.UserByName(ctx, "root")
		if err == nil && banned {
			u, err = st.SetBanned(ctx, u.ID, true)
		}
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	before := ban(true)

	if code, out := run("newrootpassword\n", "users", "add", "ROOT", "--admin"); code != 0 || !strings.Contains(out, "user Root ") {
		t.Fatalf("users add ROOT --admin: exit %d, output %q; want Root promoted again", code, out)
	}
	after := ban(false)
	if after.ID != before.ID || after.Banned || after.Role != chat.RoleAdmin || after.Username != "Root" {
		t.Fatalf("after users add --admin: %+v; want Root (%s), an unbanned admin", after, before.ID)
	}
}
