package tui

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"go.uber.org/goleak"

	"github.com/dmchat/dmchat/core/sandbox"
)

// TestQuitLeavesNoGoroutines runs the whole program as cmd/sandbox does,
// drives it through a pipe, quits with q, and checks that the instances,
// Redis, the simulated users, the model's waits and bubbletea itself left
// no goroutine behind.
func TestQuitLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	ctx, cancel := context.WithTimeout(context.Background(), flowWait)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Options{Users: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := New(Options{Cluster: c, AutoConnect: true, Renderer: asciiRenderer()})
	in, keys := io.Pipe()
	out := &screen{}
	outR, outW := io.Pipe()
	drained := make(chan struct{})
	var outBuf lockedBuffer
	go func() {
		defer close(drained)
		_, _ = io.Copy(&outBuf, outR)
	}()
	out.r = &outBuf
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(outW), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() {
		_, err := p.Run()
		done <- err
	}()

	// Work that leaves goroutines around if quitting forgot them: a DM
	// across instances (retry loops, readers), a fault, an open prompt.
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(flowWait)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// press writes keys as one read; it fails instead of blocking when the
	// program stopped reading.
	press := func(k string) {
		t.Helper()
		wrote := make(chan error, 1)
		go func() {
			_, err := io.WriteString(keys, k)
			wrote <- err
		}()
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatalf("writing %q: %v", k, err)
			}
		case <-time.After(5 * time.Second):
			_ = keys.Close()
			t.Fatalf("the program stopped reading keys before %q", k)
		}
		time.Sleep(20 * time.Millisecond) // separate reads, as typed
	}
	wait("users to connect", func() bool { return c.User("user1").Connected() && c.User("user2").Connected() })
	out.waitFor(t, 0, "user1 on A") // the screen shows it: keys act on it
	for _, k := range []string{"s", "h", "i", "\r"} {
		press(k)
	}
	wait("the DM to arrive", func() bool { return len(c.User("user2").Inbox()) == 1 })
	press("R")
	wait("Redis to stop", func() bool { return !c.RedisUp() })
	press("\t")
	press("\t") // the logs pane
	press("/")
	press("q") // typed into the search prompt
	press("\r")
	press("q")

	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(flowWait):
		t.Fatal("q did not end the program")
	}
	_ = keys.Close() // ends bubbletea's input reader
	_ = outW.Close()
	<-drained
	if m.logs.search != "q" {
		t.Errorf("search is %q, want q: the q was not typed into the prompt", m.logs.search)
	}
	if err := m.Err(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := c.StartRedis(); err != sandbox.ErrClosed {
		t.Fatalf("the cluster still runs after q: %v", err)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() == 0 {
		return 0, io.EOF
	}
	return b.buf.Read(p)
}
