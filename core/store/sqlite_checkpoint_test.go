package store

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestSQLiteCheckpointsBesideTheWriterAndRewindsTheWAL: with a background
// checkpoint every 10 writes, 500 writes one after another never let the WAL
// grow past a few dozen writes' frames. Each commit writes at least one 4 KiB
// frame, so a WAL that was never rewound would be 2 MB or more; the writer's
// own wal_autocheckpoint (10,000 frames) is never reached, so only the
// background checkpoints and the writer's tail can have kept it small.
func TestSQLiteCheckpointsBesideTheWriterAndRewindsTheWAL(t *testing.T) {
	const writes = 500
	s, a, b := setupSQLite(t, busyTimeoutMS, Options{checkpoint: checkpointLimits{everyWrites: 10, tailFrames: 1}})
	copied := make(chan int, writes)
	done := func(_, n int) {
		select {
		case copied <- n:
		default:
		}
	}
	s.ckpt.onDone.Store(&done)
	ctx := context.Background()
	for i := range writes {
		if _, _, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID,
			ClientMessageID: "c" + strconv.Itoa(i), Content: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-copied:
		if n <= 0 {
			t.Fatalf("a background checkpoint copied %d frames", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no background checkpoint within 5 s")
	}
	fi, err := os.Stat(s.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(writes * 4096 / 2); fi.Size() >= limit {
		t.Fatalf("WAL is %d bytes after %d writes: it was not rewound (a rewound one stays under %d)", fi.Size(), writes, limit)
	}
	got, err := s.Undelivered(ctx, b.ID, "", writes+1)
	if err != nil || len(got) != writes {
		t.Fatalf("pending after the checkpoints: %d messages, %v; want %d", len(got), err, writes)
	}
}

// TestSQLiteWriterFinishesTheCheckpointSoTheWALRewinds: once a background
// checkpoint has left its tail to the writer, the writer copies the rest
// after its next batch and the transaction after that starts the WAL over.
// No background checkpoint runs by itself here (one per 2^30 writes).
func TestSQLiteWriterFinishesTheCheckpointSoTheWALRewinds(t *testing.T) {
	s, a, b := setupSQLite(t, busyTimeoutMS, Options{checkpoint: checkpointLimits{everyWrites: 1 << 30, tailFrames: 1}})
	ctx := context.Background()
	save := func(i int) {
		t.Helper()
		if _, _, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID,
			ClientMessageID: "c" + strconv.Itoa(i), Content: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		save(i)
	}
	s.ckpt.tailDue.Store(true)
	save(50) // the writer copies the tail after this batch
	save(51) // and this one starts the WAL over
	after, _, err := checkpoint(ctx, s.ckpt.db)
	if err != nil {
		t.Fatal(err)
	}
	// Every commit writes at least one frame: 52 of them without a rewind
	// leave at least 52.
	if after >= 50 {
		t.Fatalf("WAL has %d frames two writes after the writer's tail: it was not rewound", after)
	}
}

// TestSQLiteCloseStopsTheCheckpointer: Close returns with a checkpoint
// asked for and the checkpointer's goroutine gone.
func TestSQLiteCloseStopsTheCheckpointer(t *testing.T) {
	s, _, _ := setupSQLite(t, busyTimeoutMS, Options{})
	c := s.ckpt
	c.request()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	default:
		t.Fatal("Close returned before the checkpointer stopped")
	}
}
