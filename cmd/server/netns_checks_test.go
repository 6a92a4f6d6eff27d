//go:build linux

package main

// Figures and store reads of TestInstancesOnSeparateHosts, beside the
// history checker's rules.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmchat/dmchat/core/sandbox/history"
)

// nsRow is one row of the messages table.
type nsRow struct {
	id, sender, recipient, cmid string
	delivered                   bool
}

// readNSRows reads every message row, oldest first, and counts the
// (sender, clientMessageId) pairs stored more than once.
func readNSRows(ctx context.Context, t *testing.T, db *pgx.Conn) (stored []nsRow, dupRows int) {
	t.Helper()
	rows, err := db.Query(ctx, `SELECT id::text, sender_id, recipient_id, convert_from(client_message_id, 'UTF8'),
		delivered_at IS NOT NULL FROM messages ORDER BY id`)
	if err != nil {
		t.Fatalf("read messages: %v", err)
	}
	for rows.Next() {
		var r nsRow
		if err := rows.Scan(&r.id, &r.sender, &r.recipient, &r.cmid, &r.delivered); err != nil {
			t.Fatalf("scan: %v", err)
		}
		stored = append(stored, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read messages: %v", err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY sender_id, client_message_id HAVING count(*) > 1) d`).Scan(&dupRows); err != nil {
		t.Fatalf("count duplicate rows: %v", err)
	}
	return stored, dupRows
}

// healthyDuringCut measures the sends made during the cut between users of
// the instances that were not cut off: how many were acknowledged (before
// healAt), and the longest wait from first write to MESSAGE_ACK.
// PostgreSQL serialises message inserts with an advisory lock, so a
// transaction of the cut instance that held it when the cut fell would
// stall every instance's inserts until the heal, but for the store's
// idle_in_transaction_session_timeout.
func healthyDuringCut(events []history.Event, users map[string]*nsUser, healAt time.Time) (acked, beforeHeal int, longest time.Duration) {
	homeOf := map[string]string{}
	for _, u := range users {
		homeOf[u.id] = u.home
	}
	healthy := map[string]bool{} // user id + clientMessageId
	for _, u := range users {
		u.mu.Lock()
		for cmid, s := range u.sent {
			if s.cutPhase > 0 && u.home != nsCut && homeOf[s.peer] != nsCut {
				healthy[u.id+"\x00"+cmid] = true
			}
		}
		u.mu.Unlock()
	}
	first := map[string]time.Time{}
	for _, e := range events {
		k := e.User + "\x00" + e.ClientMessageID
		if !healthy[k] {
			continue
		}
		switch e.Kind {
		case history.Send:
			if _, ok := first[k]; !ok {
				first[k] = e.Time
			}
		case history.Ack:
			if t0, ok := first[k]; ok {
				delete(first, k)
				acked++
				if e.Time.Before(healAt) {
					beforeHeal++
				}
				longest = max(longest, e.Time.Sub(t0))
			}
		}
	}
	return acked, beforeHeal, longest
}

// orderLockState tells who holds PostgreSQL's advisory locks (the store's
// insert order lock among them) and how many sessions wait for one.
func orderLockState(ctx context.Context, pgURL string, topo *nsTopology) string {
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	db, err := pgx.Connect(qctx, pgURL)
	if err != nil {
		return err.Error()
	}
	defer db.Close(context.Background())
	var holders []string
	var waiting int
	err = db.QueryRow(qctx, `SELECT coalesce(array_agg(DISTINCT host(a.client_addr)) FILTER (WHERE l.granted), '{}'),
		count(*) FILTER (WHERE NOT l.granted)
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'`).Scan(&holders, &waiting)
	if err != nil {
		return err.Error()
	}
	for i, h := range holders {
		for in, host := range topo.hosts {
			if host.addr == h {
				holders[i] = in
			}
		}
	}
	return fmt.Sprintf("held by instance %v, %d sessions waiting", holders, waiting)
}
