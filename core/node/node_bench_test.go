package node_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/internal/cputime"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// Benchmarks of the engine's hot path without a network: one full DM
// cycle is MESSAGE_SEND (decode, persist, MESSAGE_ACK), the live MESSAGE to
// the recipient, its DELIVERY_ACK (persist) and MESSAGE_STATE back to the
// sender. The sockets are in-memory, so what is measured is the node, the
// hub and the store. Run with -benchmem.

// chanConn hands the messageId of every MESSAGE and the arrival of every
// MESSAGE_STATE to the benchmark.
type chanConn struct {
	messages chan string
	states   chan struct{}
}

var (
	typeMessage = []byte(`{"type":"MESSAGE",`)
	typeState   = []byte(`{"type":"MESSAGE_STATE",`)
	keyID       = []byte(`"messageId":"`)
)

func newChanConn() *chanConn {
	return &chanConn{messages: make(chan string, 1024), states: make(chan struct{}, 1024)}
}

func (c *chanConn) Write(_ time.Time, frames [][]byte) error {
	for _, b := range frames {
		c.write(b)
	}
	return nil
}

func (c *chanConn) write(b []byte) {
	switch {
	case bytes.HasPrefix(b, typeMessage):
		i := bytes.Index(b, keyID) + len(keyID)
		j := bytes.IndexByte(b[i:], '"')
		c.messages <- string(b[i : i+j])
	case bytes.HasPrefix(b, typeState):
		c.states <- struct{}{}
	}
}

func (c *chanConn) Close(int, string) error { return nil }

// pair is a sender and a recipient attached to one node.
type pair struct {
	send, recv         *node.Session
	sendConn, recvConn *chanConn
	recipientID        string
	seq                int
	prefix             string
}

func (p *pair) cycle(b *testing.B, ctx context.Context) {
	p.seq++
	frame := []byte(`{"type":"MESSAGE_SEND","clientMessageId":"` + p.prefix + strconv.Itoa(p.seq) +
		`","recipientId":"` + p.recipientID + `","content":"k=1;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
	p.send.HandleFrame(ctx, frame)
	var id string
	select {
	case id = <-p.recvConn.messages:
	case <-b.Context().Done(): // no timer per cycle: it would count in -benchmem
		b.Fatal("no MESSAGE delivered")
	}
	p.recv.HandleFrame(ctx, []byte(`{"type":"DELIVERY_ACK","messageId":"`+id+`"}`))
	select {
	case <-p.sendConn.states:
	case <-b.Context().Done():
		b.Fatal("no MESSAGE_STATE")
	}
}

// setupNode starts a node on st with n attached pairs.
func setupNode(b *testing.B, st store.Store, n int) []*pair {
	b.Helper()
	ctx := context.Background()
	nd, err := node.New(node.Options{InstanceID: "bench", Store: st, Rate: 1e9, Burst: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	if err := nd.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = nd.Shutdown(sctx)
	})
	pairs := make([]*pair, n)
	for i := range pairs {
		p := &pair{sendConn: newChanConn(), recvConn: newChanConn(), prefix: "p" + strconv.Itoa(i) + "-"}
		a, err := st.CreateUser(ctx, "s"+strconv.Itoa(i), []byte("h"), chat.RoleUser)
		if err != nil {
			b.Fatal(err)
		}
		r, err := st.CreateUser(ctx, "r"+strconv.Itoa(i), []byte("h"), chat.RoleUser)
		if err != nil {
			b.Fatal(err)
		}
		p.recipientID = r.ID
		if p.send, err = nd.Attach(ctx, a, time.Time{}, p.sendConn); err != nil {
			b.Fatal(err)
		}
		if p.recv, err = nd.Attach(ctx, r, time.Time{}, p.recvConn); err != nil {
			b.Fatal(err)
		}
		pairs[i] = p
	}
	return pairs
}

func openSQLite(b *testing.B) store.Store {
	b.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkDMCycle runs full cycles one at a time: the cost of one DM
// (memory store), or its latency (SQLite: two commits with fsync each).
func BenchmarkDMCycle(b *testing.B) {
	for _, bc := range []struct {
		name string
		open func(*testing.B) store.Store
	}{
		{"mem", func(*testing.B) store.Store { return store.NewMemory() }},
		{"sqlite", openSQLite},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := setupNode(b, bc.open(b), 1)[0]
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				p.cycle(b, ctx)
			}
		})
	}
}

// BenchmarkDMCycleParallel runs 64 pairs at once on SQLite, so group commit
// fills its batches as it does under load: the throughput of the engine
// and store together.
func BenchmarkDMCycleParallel(b *testing.B) {
	const pairs = 64
	ps := setupNode(b, openSQLite(b), pairs)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism((pairs + 1) / 2) // × GOMAXPROCS goroutines; each takes a pair
	var mu sync.Mutex
	start, cpu0 := time.Now(), cputime.Self()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		i := int(next.Add(1)-1) % pairs
		mu.Unlock()
		ctx := context.Background()
		for pb.Next() {
			ps[i].cycle(b, ctx)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "DMs/s")
	// Engine and store without sockets: what a DM costs before the network.
	b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/float64(b.N), "cpu-µs/DM")
}
