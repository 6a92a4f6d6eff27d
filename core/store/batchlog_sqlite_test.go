//go:build !(sqlite_mattn && cgo) && unix

package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/dmchat/dmchat/core/logging/logtest"
)

// TestSQLiteFailedBatchesLoggedOncePerOutage: while the disk refuses the
// WAL's writes every batch fails, and its caller gets the error, but the
// log says so once, with the cause, and once more when a batch commits
// again, with how many failed: a full disk at load would otherwise write
// an error line per batch, hundreds a second.
func TestSQLiteFailedBatchesLoggedOncePerOutage(t *testing.T) {
	rec := logtest.New(t)
	s, a, b := setupSQLite(t, 0, Options{Logger: rec.Logger()})
	save := func(cmid string) error {
		_, _, err := s.SaveMessage(context.Background(), NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: cmid, Content: "hello"})
		return err
	}
	if err := save("before"); err != nil {
		t.Fatal(err)
	}
	failLargePwrites(t)
	const failing = 3
	for i := range failing {
		if err := save(fmt.Sprint("during", i)); err == nil {
			t.Fatalf("save %d committed with the WAL's writes failing", i)
		}
	}
	if got := rec.Events("", "store_batch_failed"); len(got) != 1 || got[0].Fields["backend"] != "sqlite" || got[0].Fields["error"] == nil {
		t.Fatalf("store_batch_failed lines %+v for one outage; want one with the backend and the cause\n%s", got, logtest.Format(rec.Records()))
	}
	restorePwrite()
	if err := save("after"); err != nil {
		t.Fatal(err)
	}
	got := rec.Events("", "store_batch_recovered")
	if len(got) != 1 || got[0].Fields["failedBatches"] != int64(failing) {
		t.Fatalf("store_batch_recovered lines %+v; want one with failedBatches %d", got, failing)
	}
	if err := save("after2"); err != nil {
		t.Fatal(err)
	}
	if got := rec.Events("", "store_batch_recovered"); len(got) != 1 {
		t.Fatalf("%d store_batch_recovered lines after a second good batch, want still 1", len(got))
	}
}
