package hub

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// countConn is a socket that only counts what is written to it, so the
// benchmarks measure the hub (queue, writer goroutine, dedupe), not a
// network.
type countConn struct {
	frames atomic.Int64
	bytes  atomic.Int64
}

func (c *countConn) Write(_ time.Time, frames [][]byte) error {
	for _, b := range frames {
		c.frames.Add(1)
		c.bytes.Add(int64(len(b)))
	}
	return nil
}

func (c *countConn) Close(int, string) error { return nil }

// BenchmarkDeliverMessage is the fan-out of one live MESSAGE to every
// socket of its recipient (encode once, dedupe, queue, write), followed by
// the DELIVERY_ACK bookkeeping that clears the pending entry.
func BenchmarkDeliverMessage(b *testing.B) {
	for _, sockets := range []int{1, 4} {
		b.Run("sockets="+strconv.Itoa(sockets), func(b *testing.B) {
			h := New(Options{MaxQueueBytes: 1 << 30})
			conns := make([]*countConn, sockets)
			clients := make([]*Socket, sockets)
			for i := range conns {
				conns[i] = &countConn{}
				clients[i] = h.NewSocket("bob", chat.RoleUser, conns[i])
				h.Register(clients[i])
			}
			b.Cleanup(func() {
				for _, c := range clients {
					c.Close(chat.CloseNormal, "")
				}
			})
			m := chat.Message{SenderID: "alice", RecipientID: "bob", ClientMessageID: "c1",
				Content: "k=1;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				m.ID = strconv.Itoa(n)
				if got := h.DeliverMessage(m, nil, nil); got != sockets {
					b.Fatalf("delivered to %d sockets, want %d", got, sockets)
				}
				for _, c := range clients {
					c.Forget(m.ID) // keep the set small, as acks do in practice
				}
			}
			b.StopTimer()
			waitWritten(b, conns, int64(n))
		})
	}
}

// BenchmarkSendState is the MESSAGE_STATE path: the frame encoded once,
// the socket's state dedupe, queue and writer.
func BenchmarkSendState(b *testing.B) {
	// A producer this fast outruns any writer for a while; the queue bound
	// is not what is measured here.
	h := New(Options{MaxQueueBytes: 1 << 30})
	conn := &countConn{}
	c := h.NewSocket("alice", chat.RoleUser, conn)
	h.Register(c)
	b.Cleanup(func() { c.Close(chat.CloseNormal, "") })
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		n++
		if h.SendState("alice", strconv.FormatInt(n, 10), nil) != 1 {
			b.Fatal("not sent")
		}
	}
	b.StopTimer()
	waitWritten(b, []*countConn{conn}, n)
}

// waitWritten waits until every conn has had n frames written, so the
// writer goroutines' work is part of what was measured.
func waitWritten(b *testing.B, conns []*countConn, n int64) {
	b.Helper()
	for _, c := range conns {
		for c.frames.Load() < n {
			// The writer drains in batches; yield until it has caught up.
			select {
			case <-b.Context().Done():
				b.Fatal("interrupted")
			default:
			}
			runtime.Gosched()
		}
	}
}
