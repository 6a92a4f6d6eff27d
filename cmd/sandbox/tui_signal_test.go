//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tuiChildEnv makes the test binary run the terminal UI itself (see
// TestMain), so a test can signal it as a user's shell would.
const tuiChildEnv = "DMCHAT_SANDBOX_TUI_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(tuiChildEnv) == "1" {
		os.Exit(dispatch([]string{"--users", "2"}, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestTUIInterruptStopsCleanly: a SIGINT from outside (in the UI ^C is a
// key) stops the instances and exits 130 with one plain line, not as a
// failure of the program.
func TestTUIInterruptStopsCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), tuiChildEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// The UI reads keys from a terminal: a pseudo-terminal's far end.
	ptmx, tty := openPTY(t)
	defer ptmx.Close()
	defer tty.Close()
	cmd.Stdin = tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // the UI's terminal queries
	// stop ends the child, so that its stderr may be read.
	stop := func(msg string, args ...any) {
		t.Helper()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf(msg+"; stderr %q", append(args, stderr.String())...)
	}
	// The UI listens for signals from a goroutine it starts before its
	// first frame: wait for a frame that shows the instances running.
	drawn := make(chan error, 1)
	go func() {
		drawn <- waitFor(stdout, "listening")
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err := <-drawn:
		if err != nil {
			stop("the UI drew no instance: %v", err)
		}
	case <-time.After(30 * time.Second):
		stop("the UI did not start within 30 s")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited // Wait, once, in that goroutine
		t.Fatalf("the UI did not stop within 30 s of SIGINT; stderr %q", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit: %v, want code 130; stderr %q", err, stderr.String())
	}
	if got := stderr.String(); !strings.Contains(got, "sandbox: interrupted; instances A and B stopped") || strings.Contains(got, "killed") {
		t.Fatalf("stderr %q", got)
	}
}

// openPTY opens a pseudo-terminal pair: the controlling end and the
// terminal a child reads from.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		t.Fatal(err)
	}
	return ptmx, tty
}

// waitFor reads r until it has seen text.
func waitFor(r io.Reader, text string) error {
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		seen = append(seen, buf[:n]...)
		if bytes.Contains(seen, []byte(text)) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
