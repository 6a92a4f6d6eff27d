package main

// The shipped systemd unit and environment file: the unit passes
// systemd-analyze verify, its stop timeout is above the server's drain, and
// the environment file alone starts a production server.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	unitPath   = "../../deploy/systemd/dmchat.service"
	envExample = "../../deploy/systemd/dmchat.env.example"
)

// readKeyValues returns the KEY=VALUE lines of a unit or environment
// file, in order, comments and section headers left out.
func readKeyValues(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kv [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=VALUE", path, line)
		}
		kv = append(kv, [2]string{k, v})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kv
}

func valueOf(kv [][2]string, key string) string {
	for _, p := range kv {
		if p[0] == key {
			return p[1]
		}
	}
	return ""
}

func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: the unit is checked where systemd is installed")
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart exists and that EnvironmentFile is
	// readable: point them at this test's binary and the example.
	text := strings.Replace(string(unit), "ExecStart=/usr/local/bin/dmchat-server", "ExecStart="+serverBin, 1)
	abs, err := filepath.Abs(envExample)
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, "EnvironmentFile=/etc/dmchat/dmchat.env", "EnvironmentFile="+abs, 1)
	if text == string(unit) {
		t.Fatal("the unit's ExecStart or EnvironmentFile is not the documented path")
	}
	path := filepath.Join(t.TempDir(), "dmchat.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// An unknown or misspelt key is only a warning: any output fails.
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSystemdStopTimeoutCoversDrain(t *testing.T) {
	t.Parallel()
	unit, env := readKeyValues(t, unitPath), readKeyValues(t, envExample)
	stop, err := time.ParseDuration(valueOf(unit, "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	drain, err := time.ParseDuration(valueOf(env, "SHUTDOWN_TIMEOUT"))
	if err != nil {
		t.Fatalf("SHUTDOWN_TIMEOUT in the example: %v", err)
	}
	if stop <= drain {
		t.Fatalf("TimeoutStopSec %v must be above SHUTDOWN_TIMEOUT %v, or systemd kills a draining server", stop, drain)
	}
	for _, key := range []string{"Restart", "DynamicUser", "StateDirectory", "NoNewPrivileges", "ProtectSystem", "PrivateTmp"} {
		if valueOf(unit, key) == "" {
			t.Errorf("the unit does not set %s", key)
		}
	}
}

// TestEnvExampleStartsProduction runs the server on the example
// environment file alone (only the port and the SQLite path changed): it
// holds every variable production requires.
func TestEnvExampleStartsProduction(t *testing.T) {
	t.Parallel()
	var env []string
	for _, p := range readKeyValues(t, envExample) {
		switch p[0] {
		case "PORT":
			p[1] = strconv.Itoa(freePort(t))
		case "DB_URI":
			p[1] = "sqlite:" + filepath.Join(t.TempDir(), "chat.db")
		}
		env = append(env, p[0]+"="+p[1])
	}
	p := start(t, baseEnv(env...), "")
	api := p.listening()
	if err := api.Healthz(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	if p.contains("Missing required environment variable") {
		t.Fatalf("the example lacks a production variable:\n%s", p.stderr())
	}
}
