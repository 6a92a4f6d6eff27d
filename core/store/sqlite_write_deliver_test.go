package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
)

// callResult is what one store call returned.
type callResult struct {
	m       chat.Message
	changed bool
	err     error
}

// inOneBatch runs calls concurrently while the writer is held inside a
// batch, so that all of them are queued and then committed together in the
// next one, and returns their results in order.
func inOneBatch(t *testing.T, s *SQLite, calls []func() callResult) []callResult {
	t.Helper()
	queued, _ := watchQueue(s.commit)
	entered, release := make(chan struct{}), make(chan struct{})
	holdDone := make(chan error, 1)
	go func() {
		holdDone <- s.write(context.Background(), func(ctx context.Context, c *sql.Conn) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	results := make([]callResult, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = call() }()
	}
	queued.waitFor(t, int64(1+len(calls)), "queued") // the held write, then the calls
	close(release)
	wg.Wait()
	if err := <-holdDone; err != nil {
		t.Fatal(err)
	}
	return results
}

// TestSQLiteBatchMatchesRowsToCalls puts, in one batch, what the writer
// must tell apart: the same new message twice, a retry of one stored
// before, and one message marked delivered by a stranger, twice by its
// recipient, and an unknown id (the deliveries in one multi-row UPDATE).
func TestSQLiteBatchMatchesRowsToCalls(t *testing.T) {
	s, a, b := setupSQLite(t, busyTimeoutMS, Options{})
	ctx := context.Background()
	old, _, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "old", Content: "o"})
	if err != nil {
		t.Fatal(err)
	}
	save := func(from, to chat.User, cid, content string) func() callResult {
		return func() callResult {
			m, c, err := s.SaveMessage(ctx, NewMessage{SenderID: from.ID, RecipientID: to.ID, ClientMessageID: cid, Content: content})
			return callResult{m, c, err}
		}
	}
	deliver := func(id string, by chat.User) func() callResult {
		return func() callResult {
			m, c, err := s.MarkDelivered(ctx, id, by.ID)
			return callResult{m, c, err}
		}
	}
	r := inOneBatch(t, s, []func() callResult{
		save(a, b, "twice", "t"),
		save(a, b, "twice", "t"),
		save(b, a, "twice", "other sender, same client id"),
		save(a, b, "old", "o"),
		deliver(old.ID, a), // the sender is not the recipient
		deliver(old.ID, b),
		deliver(old.ID, b),
		deliver("999999", b),
	})
	saved := 0
	for _, x := range r[:2] {
		if x.err != nil || x.m.ClientMessageID != "twice" || x.m.Content != "t" {
			t.Fatalf("same message twice: %+v", x)
		}
		if x.changed {
			saved++
		}
	}
	switch {
	case saved != 1 || r[0].m.ID != r[1].m.ID:
		t.Fatalf("same message twice: created %d times, ids %s and %s", saved, r[0].m.ID, r[1].m.ID)
	case r[2].err != nil || !r[2].changed || r[2].m.ID == r[0].m.ID || r[2].m.SenderID != b.ID:
		t.Fatalf("other sender: %+v", r[2])
	case r[3].err != nil || r[3].changed || r[3].m.ID != old.ID:
		t.Fatalf("retry of a stored message: %+v", r[3])
	case !errors.Is(r[4].err, ErrNotRecipient):
		t.Fatalf("stranger's delivery: %+v", r[4])
	case !errors.Is(r[7].err, ErrNotFound):
		t.Fatalf("unknown message: %+v", r[7])
	}
	delivered := 0
	for _, x := range r[5:7] {
		if x.err != nil || x.m.ID != old.ID || x.m.Content != "o" || x.m.SenderID != a.ID || x.m.RecipientID != b.ID || !x.m.Delivered() {
			t.Fatalf("recipient's delivery: %+v", x)
		}
		if x.changed {
			delivered++
		}
	}
	if delivered != 1 {
		t.Fatalf("marked delivered %d times, want once", delivered)
	}
	if !r[5].m.CreatedAt.Equal(old.CreatedAt) {
		t.Fatalf("delivered message created at %v, stored %v", r[5].m.CreatedAt, old.CreatedAt)
	}
}

// TestSQLiteLargeBatch sends more deliveries than one multi-row statement
// holds, so the batch is cut into statements of several sizes, and checks
// every call got its own row.
func TestSQLiteLargeBatch(t *testing.T) {
	s, a, b := setupSQLite(t, busyTimeoutMS, Options{})
	ctx := context.Background()
	const n = maxManyRows + 37
	calls := make([]func() callResult, n)
	for i := range calls {
		calls[i] = func() callResult {
			m, c, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: fmt.Sprint("c", i), Content: fmt.Sprint(i)})
			return callResult{m, c, err}
		}
	}
	saved := inOneBatch(t, s, calls)
	ids := map[string]bool{}
	for i, x := range saved {
		if x.err != nil || !x.changed || x.m.ClientMessageID != fmt.Sprint("c", i) || x.m.Content != fmt.Sprint(i) {
			t.Fatalf("call %d: %+v", i, x)
		}
		got, err := s.MessageByID(ctx, x.m.ID)
		if err != nil || got.ClientMessageID != x.m.ClientMessageID || got.Content != x.m.Content {
			t.Fatalf("call %d: stored %+v, %v; returned %+v", i, got, err, x.m)
		}
		ids[x.m.ID] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct ids for %d messages", len(ids), n)
	}
	for i := range calls {
		calls[i] = func() callResult {
			m, c, err := s.MarkDelivered(ctx, saved[i].m.ID, b.ID)
			return callResult{m, c, err}
		}
	}
	for i, x := range inOneBatch(t, s, calls) {
		if x.err != nil || !x.changed || x.m.ID != saved[i].m.ID || x.m.Content != saved[i].m.Content {
			t.Fatalf("delivery %d: %+v", i, x)
		}
	}
}
