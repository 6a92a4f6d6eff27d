package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/store"
)

// TestBackupWhileRunning is docs/deploy.md's backup: `server backup DEST`
// with the server's own environment, while it serves, copies every
// acknowledged message.
func TestBackupWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbURI := "sqlite:" + filepath.Join(dir, "chat.db")
	const password = "backuppass1"
	seedStore(t, dbURI, "adminpass1", password, "alice", "bob")
	env := baseEnv("APP_ENV=development", "JWT_SECRET=backup-secret", "DB_URI="+dbURI, "PORT="+strconv.Itoa(freePort(t)))
	p := start(t, env, "")
	api := p.listening()
	ctx := testCtx(t, 60*time.Second)
	alice, bob := login(ctx, t, api, "alice", password), login(ctx, t, api, "bob", password)
	c, _, _ := dial(ctx, t, api, "", alice.token, client.DialOptions{})
	if err := c.SendMessage(ctx, "before-backup", bob.info.ID, "kept by the backup"); err != nil {
		t.Fatal(err)
	}
	ack := waitFrame(ctx, t, c, chat.TypeMessageAck)

	dest := filepath.Join(dir, "backup.db")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(serverBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("backup", dest); err != nil {
		t.Fatalf("server backup: %v\n%s", err, out)
	}
	if out, err := run("backup", dest); err == nil {
		t.Fatalf("a backup over an existing file succeeded:\n%s", out)
	}
	if err := api.Healthz(ctx); err != nil {
		t.Fatalf("the server after the backup: %v", err)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup: %v, want mode 0600", err)
	}
	st, err := store.Open(ctx, "sqlite:"+dest, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.MessageByID(ctx, ack.MessageID)
	if err != nil || m.Content != "kept by the backup" {
		t.Fatalf("message %s in the backup: %+v, %v", ack.MessageID, m, err)
	}

	pgEnv := baseEnv("APP_ENV=development", "JWT_SECRET=backup-secret", "DB_URI=postgres://nobody@127.0.0.1:1/x")
	cmd := exec.Command(serverBin, "backup", filepath.Join(dir, "pg.db"))
	cmd.Env = pgEnv
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pg_dump") {
		t.Fatalf("backup of a PostgreSQL store: %v %s, want an error naming pg_dump", err, out)
	}
}
