package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunReportsParseErrorsBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.scn", "user alice on A\n")
	bad := writeFile(t, dir, "bad.scn", "user alice on A\nconnect bob\n")
	var out, errb bytes.Buffer
	if code := runScenarios([]string{good, bad}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), bad+":2:9: expected a user declared earlier") || !strings.Contains(errb.String(), "nothing was run") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("something ran:\n%s", out.String())
	}
}

func TestRunWritesReportsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	pass := writeFile(t, dir, "pass.scn", "step 1 \"DM\"\nuser alice on A\nuser bob on B\nconnect alice\nconnect bob\nsend alice to bob \"hi\" as m1\nexpect state m1 DELIVERED\n")
	fail := writeFile(t, dir, "fail.scn", "sandbox timeout=200ms\nuser alice on A\nconnect alice\nexpect alice frame ERROR\n")
	jsonPath, junitPath, histPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "h.json")

	var out, errb bytes.Buffer
	if code := runScenarios([]string{pass, "--json", jsonPath, "--junit", junitPath, "--history", histPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"PASS  " + pass + ":2  user alice on A", "| 1 | DM | **PASS** |", "1 of 1 scenario file(s) passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	var rep struct {
		Passed bool `json:"passed"`
	}
	data, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(data, &rep); err != nil || !rep.Passed {
		t.Errorf("json report %v: %s", err, data)
	}
	if data, _ := os.ReadFile(junitPath); !bytes.Contains(data, []byte(`<testsuites tests="7" failures="0">`)) {
		t.Errorf("junit report:\n%s", data)
	}
	out.Reset()
	if code := runScenarios([]string{"--check-history", histPath}, &out, &errb); code != 0 || !strings.Contains(out.String(), "every guarantee holds") {
		t.Errorf("check-history exit %d:\n%s", code, out.String())
	}

	out.Reset()
	if code := runScenarios([]string{"-q", pass, fail}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	s := out.String()
	if strings.Contains(s, "PASS  "+pass) || !strings.Contains(s, "FAIL  "+fail+":4  expect alice frame ERROR") ||
		!strings.Contains(s, "## Summary") || !strings.Contains(s, "1 of 2 scenario file(s) passed") {
		t.Errorf("quiet output:\n%s", s)
	}
}

// TestRunFailurePrintsReplayCommand: a failed run prints the command that
// replays it (seed and store), and that command reproduces the failure;
// --db sqlite gives each run its own fresh SQLite file.
func TestRunFailurePrintsReplayCommand(t *testing.T) {
	dir := t.TempDir()
	fail := writeFile(t, dir, "fail.scn", "sandbox timeout=200ms seed=77\nuser alice on A\nconnect alice\nexpect alice frame ERROR\n")
	var out, errb bytes.Buffer
	if code := runScenarios([]string{"--db", "sqlite", fail}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out.String(), errb.String())
	}
	want := "replay it: go run ./cmd/sandbox run --seed 77 --db sqlite " + fail
	if !strings.Contains(out.String(), want) {
		t.Fatalf("stdout lacks %q:\n%s", want, out.String())
	}
	// The printed command's arguments fail the same way.
	out.Reset()
	args := strings.Fields(strings.TrimPrefix(want, "replay it: go run ./cmd/sandbox run "))
	if code := runScenarios(args, &out, &errb); code != 1 || !strings.Contains(out.String(), "FAIL  "+fail+":4") {
		t.Errorf("replaying %q: exit %d\n%s", args, code, out.String())
	}
}

// TestRunTrace: --trace MSGID prints the message's timeline across both
// instances after the run, send to state.
func TestRunTrace(t *testing.T) {
	dir := t.TempDir()
	pass := writeFile(t, dir, "pass.scn", "user alice on A\nuser bob on B\nconnect alice\nconnect bob\nsend alice to bob \"hi\" as m1\nexpect state m1 DELIVERED\n")
	var out, errb bytes.Buffer
	if code := runScenarios([]string{"-q", "--trace", "1", pass}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	order := []string{"## Timeline of message 1", "alice sends MESSAGE_SEND", "log A", "chat_message_published",
		"log B", "chat_message_delivered", "bob gets MESSAGE from alice", "bob sends DELIVERY_ACK", "alice gets MESSAGE_STATE DELIVERED"}
	at := 0
	for _, w := range order {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Fatalf("the timeline lacks %q after position %d:\n%s", w, at, s)
		}
		at += i
	}
}
