package logging_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/logging"
)

// writeSink records each Write call (a system call on a real output) and
// signals every one.
type writeSink struct {
	mu     sync.Mutex
	writes [][]byte
	syncs  int
	wrote  chan struct{} // receives after every Write
}

func newWriteSink() *writeSink { return &writeSink{wrote: make(chan struct{}, 1024)} }

func (s *writeSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes = append(s.writes, append([]byte(nil), p...))
	s.mu.Unlock()
	s.wrote <- struct{}{}
	return len(p), nil
}

func (s *writeSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return nil
}

// state is the number of writes so far, the lines they held and the syncs.
func (s *writeSink) state() (writes int, lines []string, syncs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.writes {
		for _, l := range bytes.Split(bytes.TrimSuffix(w, []byte("\n")), []byte("\n")) {
			lines = append(lines, string(l))
		}
	}
	return len(s.writes), lines, s.syncs
}

func bufferedLogger(sink *writeSink, interval time.Duration) (*zap.Logger, *logging.BufferedOutput) {
	out := logging.NewBufferedOutput(sink, interval)
	return logging.New(logging.Options{Production: true, InstanceID: "A", Output: out}), out
}

func TestBufferedOutputWritesManyLinesAtOnce(t *testing.T) {
	sink := newWriteSink()
	log, out := bufferedLogger(sink, time.Hour)
	defer out.Stop()
	for i := range 100 {
		log.Info("chat_message_delivered_local", zap.Int("i", i))
	}
	if n, _, _ := sink.state(); n != 0 {
		t.Fatalf("%d writes before any flush; want the lines held", n)
	}
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	n, lines, syncs := sink.state()
	if n != 1 || len(lines) != 100 {
		t.Fatalf("after Flush: %d writes holding %d lines; want 1 write of 100", n, len(lines))
	}
	if syncs != 0 {
		t.Fatalf("Flush synced the output %d times; it must only write", syncs)
	}
}

func TestBufferedOutputWritesWithinTheInterval(t *testing.T) {
	sink := newWriteSink()
	log, out := bufferedLogger(sink, 20*time.Millisecond)
	defer out.Stop()
	log.Info("listening")
	select {
	case <-sink.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("an Info line was not written within 5 s of a 20 ms flush interval")
	}
	if _, lines, syncs := sink.state(); len(lines) != 1 || syncs != 0 {
		t.Fatalf("lines %q, syncs %d; want the one line, written without a sync", lines, syncs)
	}
}

func TestBufferedOutputWritesWarningsAtOnce(t *testing.T) {
	sink := newWriteSink()
	log, out := bufferedLogger(sink, time.Hour)
	defer out.Stop()
	log.Info("one")
	log.Info("two")
	log.Named("Config").Warn("config_warning", zap.String("warning", "w"))
	n, lines, _ := sink.state()
	if n != 1 || len(lines) != 3 {
		t.Fatalf("after a Warn: %d writes holding %q; want the two held lines and the warning in one write", n, lines)
	}
	if !bytes.Contains([]byte(lines[2]), []byte(`"msg":"config_warning"`)) {
		t.Fatalf("last line %q; want the warning", lines[2])
	}
	// A logger made With fields keeps the flush.
	log.With(zap.String("userId", "u1")).Error("replay_failed")
	if n, _, _ := sink.state(); n != 2 {
		t.Fatalf("%d writes after an Error through With; want 2", n)
	}
}

func TestBufferedOutputStopWritesWhatIsLeft(t *testing.T) {
	sink := newWriteSink()
	log, out := bufferedLogger(sink, time.Hour)
	log.Info("stopped")
	if err := out.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, lines, _ := sink.state(); len(lines) != 1 {
		t.Fatalf("after Stop: lines %q; want the held line", lines)
	}
	log.Info("late")
	if n, lines, _ := sink.state(); n != 2 || len(lines) != 2 {
		t.Fatalf("a line after Stop: %d writes, lines %q; want it written at once", n, lines)
	}
	if err := out.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := log.Sync(); err != nil {
		t.Fatalf("Sync after Stop: %v", err)
	}
	if _, _, syncs := sink.state(); syncs != 1 {
		t.Fatalf("Sync reached the output %d times; want once", syncs)
	}
}

func TestBufferedOutputStoppedUnused(t *testing.T) {
	sink := newWriteSink()
	log, out := bufferedLogger(sink, time.Hour)
	if err := out.Stop(); err != nil {
		t.Fatal(err)
	}
	log.Info("after")
	if _, lines, _ := sink.state(); len(lines) != 1 {
		t.Fatalf("a line after stopping an unused output: %q; want it written", lines)
	}
}

// Lines logged by many goroutines while the output stops are each written
// exactly once, whole.
func TestBufferedOutputStopWhileLogging(t *testing.T) {
	sink := newWriteSink()
	sink.wrote = make(chan struct{}, 1<<16)
	log, out := bufferedLogger(sink, time.Millisecond)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	started := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if g == 0 && i == each/2 {
					close(started)
				}
				log.Info("line", zap.String("id", fmt.Sprintf("%d-%d", g, i)))
			}
		}()
	}
	<-started
	if err := out.Stop(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_, lines, _ := sink.state()
	seen := make(map[string]bool, len(lines))
	for _, l := range lines {
		if !bytes.HasPrefix([]byte(l), []byte("{")) || !bytes.HasSuffix([]byte(l), []byte("}")) {
			t.Fatalf("torn line %q", l)
		}
		if seen[l] {
			t.Fatalf("line written twice: %q", l)
		}
		seen[l] = true
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct lines; want %d", len(seen), goroutines*each)
	}
}
