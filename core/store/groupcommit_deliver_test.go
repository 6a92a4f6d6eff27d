package store

import (
	"context"
	"testing"
	"time"
)

// enqueue queues a request of kind op without waiting for its commit; its
// done channel says when it is committed.
func enqueue(c *committer, op writeOp) *writeReq {
	r := c.get()
	r.op = op
	c.queue <- r
	return r
}

// TestCommitterDeliveryWaitsForASave: a batch of deliveries alone is not
// committed at once; the next save shares its commit. The delivery linger
// is long here so the test does not depend on timing.
func TestCommitterDeliveryWaitsForASave(t *testing.T) {
	batches := make(chan []writeOp, 4)
	c := newCommitterLingers(16, 0, time.Hour, func(batch []*writeReq) {
		ops := make([]writeOp, len(batch))
		for i, r := range batch {
			ops[i] = r.op
		}
		batches <- ops
	})
	defer c.stop()
	_, taken := watchQueue(c)
	d := enqueue(c, opDeliver)
	taken.waitFor(t, 1, "taken") // the writer holds the delivery
	s := enqueue(c, opSave)
	for _, r := range []*writeReq{d, s} {
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Fatal("writes not committed")
		}
	}
	got := <-batches
	if len(got) != 2 || got[0] != opDeliver || got[1] != opSave {
		t.Fatalf("first batch %v, want [delivery save] in one commit", got)
	}
}

// TestCommitterDeliveryAloneIsCommittedAfterTheLinger: with no other
// write coming, a delivery is committed once the linger passes, and its
// caller hears of it only then.
func TestCommitterDeliveryAloneIsCommittedAfterTheLinger(t *testing.T) {
	const linger = 20 * time.Millisecond
	committed := make(chan time.Time, 1)
	c := newCommitterLingers(16, 0, linger, func([]*writeReq) { committed <- time.Now() })
	defer c.stop()
	r := c.get()
	r.op = opDeliver
	start := time.Now()
	if err := c.submit(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	at := <-committed
	if at.Sub(start) < linger {
		t.Fatalf("delivery committed %v after submit, before the %v linger", at.Sub(start), linger)
	}
	if returned.Before(at) {
		t.Fatal("MarkDelivered's caller woken before the commit")
	}
}

// TestCommitterDeliveryCommittedOnStop: a delivery held for the linger is
// still committed when the store closes.
func TestCommitterDeliveryCommittedOnStop(t *testing.T) {
	n := 0
	c := newCommitterLingers(16, 0, time.Hour, func(batch []*writeReq) { n += len(batch) })
	_, taken := watchQueue(c)
	r := enqueue(c, opDeliver)
	taken.waitFor(t, 1, "taken")
	c.stop()
	<-r.done
	if n != 1 {
		t.Fatalf("%d writes committed on stop, want 1", n)
	}
}
