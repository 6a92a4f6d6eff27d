package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/testsvc"
)

func TestPostgresBatchIsolatesFailures(t *testing.T) {
	url := testsvc.NewPostgres(t)
	ctx := context.Background()
	p, err := OpenPostgres(ctx, url, Options{ReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	a, _ := p.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	b, _ := p.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)
	first, _, err := p.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "first", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	save := func(from, to, cmid string) *writeReq {
		return &writeReq{op: opSave, msg: NewMessage{SenderID: from, RecipientID: to, ClientMessageID: cmid, Content: "c-" + cmid}}
	}
	deliver := func(id, to string) *writeReq {
		n, _ := parseMessageID(id)
		return &writeReq{op: opDeliver, id: n, recipientID: to}
	}
	batch := []*writeReq{
		save(a.ID, b.ID, "ok1"),
		save(a.ID, "u0000000000000000", "bad1"), // foreign key violation
		deliver("999999", b.ID),                 // unknown
		save(a.ID, b.ID, "ok1"),                 // the same key again, in the same batch
		deliver(first.ID, a.ID),                 // not the recipient
		save("u0000000000000000", b.ID, "bad2"), // foreign key violation
		deliver(first.ID, b.ID),                 // ok
		save(b.ID, a.ID, "ok2"),
	}
	// The writer goroutine is idle: no submit is in flight.
	p.runBatch(batch)
	r := batch
	switch {
	case r[0].err != nil || !r[0].changed:
		t.Fatalf("ok1: %+v", r[0])
	case !errors.Is(r[1].err, ErrNotFound):
		t.Fatalf("unknown recipient: %v", r[1].err)
	case !errors.Is(r[2].err, ErrNotFound):
		t.Fatalf("unknown message: %v", r[2].err)
	case r[3].err != nil || r[3].changed || r[3].out.ID != r[0].out.ID || r[3].out.Content != "c-ok1":
		t.Fatalf("retry in the same batch: %+v (first was %+v)", r[3], r[0])
	case !errors.Is(r[4].err, ErrNotRecipient):
		t.Fatalf("not the recipient: %v", r[4].err)
	case !errors.Is(r[5].err, ErrNotFound):
		t.Fatalf("unknown sender: %v", r[5].err)
	case r[6].err != nil || !r[6].changed || !r[6].out.Delivered():
		t.Fatalf("deliver: %+v", r[6])
	case r[7].err != nil || !r[7].changed:
		t.Fatalf("ok2: %+v", r[7])
	}
	for _, i := range []int{0, 7} {
		got, err := p.MessageByID(ctx, r[i].out.ID)
		if err != nil || got.ClientMessageID != r[i].msg.ClientMessageID {
			t.Fatalf("committed message %d: %+v, %v", i, got, err)
		}
	}
	if m, _ := p.MessageByID(ctx, first.ID); !m.Delivered() {
		t.Fatal("delivery in the batch not committed")
	}
}

// TestPostgresEndsSilentTransactions: the store's connections carry
// idle_in_transaction_session_timeout, so a transaction whose client went
// silent (cut off mid-batch, holding the order lock) is ended by the
// server; a URL that sets the parameter keeps its own value.
func TestPostgresEndsSilentTransactions(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ query, want string }{
		{"", "5s"},
		{"idle_in_transaction_session_timeout=12000", "12s"},
	} {
		url := testsvc.NewPostgres(t)
		if c.query != "" {
			sep := "?"
			if strings.Contains(url, "?") {
				sep = "&"
			}
			url += sep + c.query
		}
		p, err := OpenPostgres(ctx, url, Options{ReadConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := p.pool.QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&got); err != nil {
			t.Fatal(err)
		}
		_ = p.Close()
		if got != c.want {
			t.Errorf("URL query %q: idle_in_transaction_session_timeout = %q, want %q", c.query, got, c.want)
		}
	}
}
