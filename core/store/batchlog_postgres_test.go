package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/testsvc"
)

// TestPostgresFailedBatchesLoggedOncePerOutage: while the server refuses
// every insert with a serialization failure (a transient error, so each
// batch is retried before it fails), the callers get the error, but the
// log has one retry line and one failure line for the whole outage, not a
// line per batch and per retry, and one store_batch_recovered when a batch
// commits again.
func TestPostgresFailedBatchesLoggedOncePerOutage(t *testing.T) {
	url := testsvc.NewPostgres(t)
	ctx := context.Background()
	rec := logtest.New(t)
	p, err := OpenPostgres(ctx, url, Options{ReadConns: 2, Logger: rec.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	a, _ := p.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	b, _ := p.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	if _, err := admin.Exec(ctx, `
		CREATE TABLE refuse_inserts (on_ boolean NOT NULL);
		CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM refuse_inserts) THEN
				RAISE EXCEPTION 'refused (injected)' USING ERRCODE = '40001';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_insert();`); err != nil {
		t.Fatal(err)
	}
	save := func(cmid string) error {
		_, _, err := p.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: cmid, Content: "hello"})
		return err
	}
	if _, err := admin.Exec(ctx, `INSERT INTO refuse_inserts VALUES (true)`); err != nil {
		t.Fatal(err)
	}
	const failing = 3
	for i := range failing {
		if err := save(fmt.Sprint("during", i)); err == nil {
			t.Fatalf("save %d committed while refused", i)
		}
	}
	if got := rec.Events("", "store_batch_retry"); len(got) != 1 {
		t.Fatalf("%d store_batch_retry lines for %d batches retried %d times each; want 1\n%s",
			len(got), failing, maxFatalAttempts, logtest.Format(rec.Records()))
	}
	if got := rec.Events("", "store_batch_failed"); len(got) != 1 || got[0].Fields["backend"] != "postgres" {
		t.Fatalf("store_batch_failed lines %+v for one outage; want one naming the backend", got)
	}
	if _, err := admin.Exec(ctx, `DELETE FROM refuse_inserts`); err != nil {
		t.Fatal(err)
	}
	if err := save("after"); err != nil {
		t.Fatal(err)
	}
	got := rec.Events("", "store_batch_recovered")
	if len(got) != 1 || got[0].Fields["failedBatches"] != int64(failing) || got[0].Fields["retries"] != int64(failing*maxFatalAttempts) {
		t.Fatalf("store_batch_recovered lines %+v; want one with failedBatches %d and retries %d", got, failing, failing*maxFatalAttempts)
	}
}
