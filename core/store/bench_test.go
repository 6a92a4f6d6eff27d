package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/internal/cputime"
	"github.com/dmchat/dmchat/core/store"
)

// benchParallelism is goroutines per GOMAXPROCS in the parallel benchmarks
// (128 unless DMCHAT_BENCH_PARALLELISM says otherwise): a server has many
// connections waiting for their acks at once, which is what lets group
// commit fill its batches.
func benchParallelism() int {
	if n, err := strconv.Atoi(os.Getenv("DMCHAT_BENCH_PARALLELISM")); err == nil && n > 0 {
		return n
	}
	return 128
}

// benchStores lists the backends to benchmark: memory, SQLite on a file in
// a temporary directory, and PostgreSQL when DMCHAT_TEST_POSTGRES is set.
func benchStores(b *testing.B) []struct {
	name string
	open func(b *testing.B) store.Store
} {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"mem", func(b *testing.B) store.Store { return store.NewMemory() }},
		{"sqlite", func(b *testing.B) store.Store {
			dir := os.Getenv("DMCHAT_BENCH_DIR") // e.g. a real disk instead of tmpfs
			if dir == "" {
				dir = b.TempDir()
			} else {
				var err error
				if dir, err = os.MkdirTemp(dir, "bench"); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { os.RemoveAll(dir) })
			}
			s, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "chat.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	if os.Getenv(envPostgres) != "" {
		stores = append(stores, struct {
			name string
			open func(b *testing.B) store.Store
		}{"postgres", func(b *testing.B) store.Store { return openPostgres(b) }})
	}
	return stores
}

// benchUsers creates n users.
func benchUsers(b *testing.B, s store.Store, n int) []chat.User {
	b.Helper()
	users := make([]chat.User, n)
	for i := range users {
		u, err := s.CreateUser(context.Background(), fmt.Sprintf("user%d", i), []byte("hash"), chat.RoleUser)
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u
	}
	return users
}

// reportRate adds an operations-per-second metric.
func reportRate(b *testing.B, start time.Time, unit string) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
}

func BenchmarkSaveMessageParallel(b *testing.B) {
	for _, bs := range benchStores(b) {
		b.Run(bs.name, func(b *testing.B) {
			s := bs.open(b)
			defer s.Close()
			users := benchUsers(b, s, 100)
			content := string(make([]byte, 100))
			var seq atomic.Int64
			b.SetParallelism(benchParallelism())
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cputime.Self()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					n := seq.Add(1)
					from, to := users[n%100], users[(n+1)%100]
					if _, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: from.ID, RecipientID: to.ID,
						ClientMessageID: fmt.Sprintf("c%d", n), Content: content}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b, start, "msgs/s")
			reportCPU(b, cpu0, "cpu-µs/msg")
		})
	}
}

func BenchmarkMarkDeliveredParallel(b *testing.B) {
	for _, bs := range benchStores(b) {
		b.Run(bs.name, func(b *testing.B) {
			s := bs.open(b)
			defer s.Close()
			users := benchUsers(b, s, 100)
			type target struct{ id, recipient string }
			targets := make([]target, b.N)
			var seq atomic.Int64
			fill := func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1) - 1
					from, to := users[n%100], users[(n+1)%100]
					m, _, err := s.SaveMessage(context.Background(), store.NewMessage{SenderID: from.ID, RecipientID: to.ID,
						ClientMessageID: fmt.Sprintf("c%d", n), Content: "hello"})
					if err != nil {
						b.Error(err)
						return
					}
					targets[n] = target{m.ID, to.ID}
				}
			}
			b.SetParallelism(benchParallelism())
			b.RunParallel(fill) // b.N messages, untimed below
			seq.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					t := targets[seq.Add(1)-1]
					if _, changed, err := s.MarkDelivered(ctx, t.id, t.recipient); err != nil || !changed {
						b.Errorf("MarkDelivered = %v, %v", changed, err)
						return
					}
				}
			})
			reportRate(b, start, "acks/s")
		})
	}
}

// BenchmarkDMParallel is one direct message end to end as the server
// stores it: SaveMessage, then the recipient's MarkDelivered.
func BenchmarkDMParallel(b *testing.B) {
	for _, bs := range benchStores(b) {
		b.Run(bs.name, func(b *testing.B) {
			s := bs.open(b)
			defer s.Close()
			users := benchUsers(b, s, 100)
			content := string(make([]byte, 100))
			var seq atomic.Int64
			b.SetParallelism(benchParallelism())
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cputime.Self()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					n := seq.Add(1)
					from, to := users[n%100], users[(n+1)%100]
					m, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: from.ID, RecipientID: to.ID,
						ClientMessageID: fmt.Sprintf("c%d", n), Content: content})
					if err == nil {
						_, _, err = s.MarkDelivered(ctx, m.ID, to.ID)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b, start, "DMs/s")
			// The two durable writes of a DM cost this much CPU with no
			// network at all (PostgreSQL's own processes not included).
			reportCPU(b, cpu0, "cpu-µs/DM")
		})
	}
}

// reportCPU adds the process CPU time since cpu0 per operation, in µs.
func reportCPU(b *testing.B, cpu0 time.Duration, unit string) {
	b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/float64(b.N), unit)
}
