package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// counters is a phase's named attack counts. Safe for concurrent use.
type counters struct {
	mu     *sync.Mutex // guards m
	m      map[string]int64
	prefix string // of every key added through this view
}

func newCounters() *counters { return &counters{mu: &sync.Mutex{}, m: map[string]int64{}} }

// with is a view of c whose keys start with prefix.
func (c *counters) with(prefix string) *counters {
	return &counters{mu: c.mu, m: c.m, prefix: c.prefix + prefix}
}

func (c *counters) add(key string, n int64) {
	c.mu.Lock()
	c.m[c.prefix+key] += n
	c.mu.Unlock()
}

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// serverPeaks are the highest figures of a phase's samples.
type serverPeaks struct {
	RSS                      int64
	FDs, Goroutines, Sockets int
	Samples                  int
}

// sample polls the server's stats every 200 ms until ctx ends, passing each
// to watch; the returned function stops it and returns the peaks.
func (h *hostileRun) sample(ctx context.Context, watch func(ServerStats)) func() serverPeaks {
	ctx, cancel := context.WithCancel(ctx)
	var peak serverPeaks
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			s, ok, err := h.e.srv.Stats(ctx, false)
			if err == nil && ok {
				watch(s)
				peak.RSS, peak.FDs = max(peak.RSS, s.RSS), max(peak.FDs, s.FDs)
				peak.Goroutines, peak.Sockets = max(peak.Goroutines, s.Goroutines), max(peak.Sockets, s.Sockets)
				peak.Samples++
				if s.Goroutines < 0 {
					peak.Goroutines = -1
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() serverPeaks { cancel(); <-done; return peak }
}

// settle waits (at most 15 s) until the server holds only the pairs'
// sockets again, so one phase's leftovers do not count in the next.
func (h *hostileRun) settle(ctx context.Context) {
	want := 2 * len(h.pairs.senders)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s, ok, err := h.e.srv.Stats(ctx, false)
		if err != nil || !ok || s.Sockets <= want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logCounter counts the lines appended to a log file since it was made.
type logCounter struct {
	path   string
	offset int64 // -1: not a readable file
}

func newLogCounter(path string) *logCounter {
	l := &logCounter{path: path, offset: -1}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		l.offset = fi.Size()
	}
	return l
}

// lines returns the number of lines appended since newLogCounter, or -1.
func (l *logCounter) lines() int64 {
	if l.offset < 0 {
		return -1
	}
	f, err := os.Open(l.path)
	if err != nil {
		return -1
	}
	defer f.Close()
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return -1
	}
	var n int64
	buf := make([]byte, 64<<10)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err != nil {
			return n
		}
	}
}

// countOver counts the recorded latencies above d.
func countOver(l *latency, d time.Duration) int64 {
	limit := int64(d / time.Microsecond)
	var n int64
	for _, b := range l.Merged().Distribution() {
		if b.From > limit {
			n += b.Count
		}
	}
	return n
}

// formatCounts renders counts as "a 1, b 2" in key order.
func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
