package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
)

// BenchmarkSQLiteBatch is the SQLite writer's own work per DM for batches
// of a fixed size, with no goroutines and no timing in the way: each batch
// holds n SaveMessage calls and the MarkDelivered calls of the n messages
// the previous batch saved, as a server under steady load gives it. One op
// is one DM (a save and a delivery). Batch size is what the load decides
// in a server; fixing it makes instruction counts (callgrind) comparable
// from one build to the next.
func BenchmarkSQLiteBatch(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, err := openSQLite(context.Background(), filepath.Join(b.TempDir(), "chat.db"), Options{}, busyTimeoutMS)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			users := make([]chat.User, 100)
			for i := range users {
				if users[i], err = s.CreateUser(context.Background(), fmt.Sprint("user", i), []byte("h"), chat.RoleUser); err != nil {
					b.Fatal(err)
				}
			}
			// The writer goroutine is idle from here on (nothing is
			// submitted), so this goroutine may run batches itself.
			content := string(make([]byte, 64))
			reqs := make([]*writeReq, 2*n)
			for i := range reqs {
				reqs[i] = &writeReq{}
			}
			prev := make([]*writeReq, 0, n)
			seq := 0
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += n {
				batch := reqs[:0]
				for _, p := range prev {
					r := reqs[len(batch)]
					*r = writeReq{op: opDeliver, recipientID: p.msg.RecipientID}
					r.id, _ = parseMessageID(p.out.ID)
					batch = append(batch, r)
				}
				saves := len(batch)
				for range n {
					seq++
					from, to := users[seq%100], users[(seq*7+1)%100]
					r := reqs[len(batch)]
					*r = writeReq{op: opSave, msg: NewMessage{SenderID: from.ID, RecipientID: to.ID,
						ClientMessageID: "c" + strconv.Itoa(seq), Content: content}}
					batch = append(batch, r)
				}
				s.runBatch(batch)
				for _, r := range batch {
					if r.err != nil || !r.changed {
						b.Fatalf("%+v", r)
					}
				}
				// Swap halves: this batch's saves are delivered in the next.
				prev = prev[:0]
				for _, r := range batch[saves:] {
					c := *r
					prev = append(prev, &c)
				}
			}
		})
	}
}
