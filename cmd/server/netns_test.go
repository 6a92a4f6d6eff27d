//go:build linux

package main

// TestInstancesOnSeparateHosts (issue 13, "instances on separate hosts"):
// four server processes A..D, each in a network namespace of its own, with
// redis-server and PostgreSQL in a fifth (netns_topology_test.go draws the
// network). The test process is the clients' host: simulated users
// (netns_user_test.go) connect to the instances over the namespaces'
// private addresses and record a history.
//
// The run: every user sends DMs to users homed on other instances, acks
// everything it receives, reconnects now and then, and resends unacked
// sends with the same clientMessageId. Then B is cut off from Redis and
// PostgreSQL (not from its clients) by blackhole rules in the router; the
// cut counts as having happened only once B itself logs bus_lost and its
// /readyz reports the store unreachable. During the cut the admin bans a
// user connected to B, through A. Then the cut is healed (B logs
// bus_restored, /readyz is ready again), the banned user must be kicked by
// B within the protocol's 5 s (plus slack for the shared machine) and
// refused on every instance; sending goes on, then stops, every send is
// resent until acknowledged, everyone reconnects on another instance and
// drains its replay.
//
// Required: history.Check finds no violation (the cut is recorded as a
// redis_stop/redis_start fault: for B it is exactly that, and it gives a
// ban made during it the outage grace); no two rows share (sender,
// clientMessageId) in PostgreSQL; every send was acknowledged and has one
// row; every message to a user not banned is DELIVERED, including those
// sent to and from B's users during the cut (there must be some); no
// connection was told DELIVERED twice for one message. Skipped where
// network namespaces cannot be made, unless DMCHAT_REQUIRE_SERVICES=1.
//
// Required too: the other instances' users can send during the cut. When
// the cut falls inside one of B's insert transactions, B's PostgreSQL
// session holds the store's order lock (an advisory transaction lock) and
// every instance's inserts wait, until PostgreSQL ends the transaction
// (the store sets idle_in_transaction_session_timeout); the test logs who
// held the lock and the longest wait for an ack.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// nsInstances are the instances of the test; nsCut is the one cut off.
var nsInstances = []string{"A", "B", "C", "D"}

const (
	nsCut         = "B"
	nsPort        = 8000 // every instance has a namespace, and so a port 8000, of its own
	nsUsersPerIns = 3
	nsTick        = 250 * time.Millisecond // a user's pace: one send per tick
)

func TestInstancesOnSeparateHosts(t *testing.T) {
	begin := time.Now()
	step := func(format string, args ...any) {
		t.Logf("%6.2fs: %s", time.Since(begin).Seconds(), fmt.Sprintf(format, args...))
	}
	topo := newTopology(t, nsInstances...)
	redisURL := startInfraRedis(t, topo)
	pgURL := startInfraPostgres(t, topo)
	step("namespaces, redis-server and postgres up")

	const (
		secret    = "netns-test-secret-0123456789abcdef"
		adminPass = "adminpass1"
		password  = "netnspass1"
		victim    = "victim"
	)
	var names []string
	home := map[string]string{}
	for _, in := range nsInstances {
		for i := 1; i <= nsUsersPerIns; i++ {
			n := "user" + strings.ToLower(in) + fmt.Sprint(i)
			names = append(names, n)
			home[n] = in
		}
	}
	names = append(names, victim)
	home[victim] = nsCut
	seedStore(t, pgURL, adminPass, password, names...)

	procs := map[string]*proc{}
	apis := map[string]*client.API{}
	for _, in := range nsInstances {
		env := baseEnv("APP_ENV=development", "JWT_SECRET="+secret, "DB_URI="+pgURL, "REDIS_URL="+redisURL,
			"REDIS_INIT_TIMEOUT=10s", "INSTANCE_ID="+in, fmt.Sprintf("PORT=%d", nsPort))
		inNetns(t, topo.hosts[in].ns, func() { procs[in] = start(t, env, "") })
		apis[in] = &client.API{BaseURL: fmt.Sprintf("http://%s", hostPort(topo.hosts[in].addr, nsPort))}
	}
	for _, in := range nsInstances {
		procs[in].waitLog(30*time.Second, in+" listening", event("Server", "listening"))
		procs[in].waitLog(15*time.Second, in+" bus_connected", event("RedisBus", "bus_connected"))
	}
	step("4 instances listening, buses connected")
	ctx := testCtx(t, 150*time.Second)

	rec := history.NewRecorder()
	idName := map[string]string{}
	users := map[string]*nsUser{}
	for _, n := range names {
		u := login(ctx, t, apis[home[n]], n, password)
		users[n] = newNSUser(n, u.info.ID, u.token, home[n], rec)
		idName[u.info.ID] = n
	}
	adminTok := login(ctx, t, apis["A"], "admin", adminPass).token
	for _, n := range names {
		u := users[n]
		if err := u.connect(ctx, u.home, apis[u.home]); err != nil {
			t.Fatalf("connect %s to %s: %v", n, u.home, err)
		}
	}
	for _, n := range names {
		u := users[n]
		if !u.waitFor(ctx, func() bool { u.mu.Lock(); defer u.mu.Unlock(); return !u.replaying }) {
			t.Fatalf("%s: no REPLAY_DONE", n)
		}
	}
	step("%d users connected", len(names))

	// The workload: one goroutine per user, until stop.
	seed := time.Now().UnixNano()
	t.Logf("workload seed %d", seed)
	var (
		// phase is 0 outside the cut, 1 in it before the ban, 2 after.
		phase  atomic.Int32
		stop   = make(chan struct{})
		drives sync.WaitGroup
	)
	ackCount := func() int {
		n := 0
		for _, u := range users {
			u.mu.Lock()
			n += len(u.acked)
			u.mu.Unlock()
		}
		return n
	}
	for i, n := range names {
		u := users[n]
		var peers []string
		for _, p := range names {
			if home[p] != u.home {
				peers = append(peers, users[p].id)
			}
		}
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		drives.Add(1)
		go func() {
			defer drives.Done()
			tick := time.NewTicker(nsTick)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if u.isBanned() {
					continue
				}
				if !u.connected() {
					_ = u.connect(ctx, u.home, apis[u.home]) // fails while its instance is cut off: tried again next tick
					continue
				}
				// Churn: now and then a user drops its socket and comes
				// back. Not the victim (it must be on B at its ban), nor B's
				// users during the cut: B cannot admit them then (it
				// checks the store at connect), and the cut must see
				// their sends.
				churn := n != victim && (u.home != nsCut || phase.Load() == 0)
				if churn && rng.IntN(30) == 0 {
					u.disconnect(ctx)
					continue
				}
				if n != victim { // the victim only receives: its sends would race its ban
					u.send(peers[rng.IntN(len(peers))], int(phase.Load()))
				}
				u.resendPending(false)
			}
		}()
	}
	stopDrivers := sync.OnceFunc(func() { close(stop); drives.Wait() })
	t.Cleanup(stopDrivers)

	// waitUntil polls cond with a deadline: for conditions spread over
	// many users and processes, where there is no single event to wait on.
	waitUntil := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, timeout)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
	ready := func(in string) bool {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := apis[in].Readyz(rctx)
		return err == nil
	}

	warm := ackCount() + 40
	waitUntil("40 acks before the cut", 30*time.Second, func() bool { return ackCount() >= warm })
	step("warm: %d acks", ackCount())

	// The cut.
	rec.Record(history.Event{Kind: history.Fault, Detail: "netns_cut " + nsCut})
	rec.Record(history.Event{Kind: history.Fault, Detail: "redis_stop"})
	topo.cut(nsCut)
	cutAt := time.Now()
	phase.Store(1)
	procs[nsCut].waitLog(10*time.Second, nsCut+" bus_lost after the cut", event("RedisBus", "bus_lost"))
	waitUntil(nsCut+" /readyz reporting the store unreachable", 20*time.Second, func() bool { return !ready(nsCut) })
	step("cut confirmed: %s logged bus_lost and is not ready (%.1fs after the cut)", nsCut, time.Since(cutAt).Seconds())
	for _, in := range nsInstances {
		if in != nsCut && !ready(in) {
			t.Fatalf("%s not ready while only %s is cut off", in, nsCut)
		}
	}

	// The ban, made through A while B (holding the victim's socket) is
	// cut off.
	if !users[victim].connected() {
		t.Fatalf("%s is not connected to %s at its ban", victim, nsCut)
	}
	if err := apis["A"].Ban(ctx, adminTok, users[victim].id); err != nil {
		t.Fatalf("ban: %v", err)
	}
	banAt := time.Now()
	phase.Store(2)
	rec.Record(history.Event{Kind: history.Ban, Instance: "A", User: users[victim].id, Detail: "by admin"})
	step("banned %s through A", victim)

	// Hold the cut until, after the ban, traffic both ways crossed it.
	cutSends := func(fromCut bool, ph int) int {
		n := 0
		for _, u := range users {
			u.mu.Lock()
			for _, s := range u.sent {
				if s.cutPhase >= ph && (u.home == nsCut) == fromCut && (fromCut || home[idName[s.peer]] == nsCut) {
					n++
				}
			}
			u.mu.Unlock()
		}
		return n
	}
	// The other instances must keep storing meanwhile: if the cut fell
	// inside one of B's transactions, PostgreSQL ends it after the store's
	// idle-in-transaction timeout (5 s) and its order lock is free again.
	healthyAcked := func() int { _, n, _ := healthyDuringCut(rec.Events(), users, time.Now()); return n }
	waitUntil("sends to and from "+nsCut+"'s users during the cut, and sends between the others acknowledged", 30*time.Second, func() bool {
		return cutSends(true, 2) >= 10 && cutSends(false, 2) >= 20 && healthyAcked() >= 5
	})
	stillOn := users[victim].connected()
	step("order lock in PostgreSQL before the heal: %s", orderLockState(ctx, pgURL, topo))
	rec.Record(history.Event{Kind: history.Fault, Detail: "netns_heal " + nsCut})
	rec.Record(history.Event{Kind: history.Fault, Detail: "redis_start"})
	topo.heal(nsCut)
	healAt := time.Now()
	phase.Store(0)
	step("healed after %.1fs of cut (%d sends from %s's users, %d to them; victim still connected to %s: %v)",
		healAt.Sub(cutAt).Seconds(), cutSends(true, 1), nsCut, cutSends(false, 1), nsCut, stillOn)
	procs[nsCut].waitLog(20*time.Second, nsCut+" bus_restored after the heal", event("RedisBus", "bus_restored"))
	waitUntil(nsCut+" ready after the heal", 20*time.Second, func() bool { return ready(nsCut) })

	// Bans hold: B kicks the victim once it hears of the ban again.
	v := users[victim]
	kctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	kicked := v.waitFor(kctx, func() bool { v.mu.Lock(); defer v.mu.Unlock(); return v.banned && v.conn == nil })
	cancel()
	if !kicked {
		t.Fatalf("%s still connected to %s %v after the heal (ban made during the cut)", victim, nsCut, time.Since(healAt))
	}
	kickAfter := time.Since(healAt)
	step("%s kicked by %s %.2fs after the heal (%.1fs after the ban)", victim, nsCut, kickAfter.Seconds(), time.Since(banAt).Seconds())
	if kickAfter > 7*time.Second {
		t.Errorf("the ban made during the cut took %v after the heal to reach %s, want within 5 s (+2 s slack)", kickAfter, nsCut)
	}
	for _, in := range []string{"C", nsCut} {
		if err := v.connect(ctx, in, apis[in]); err != nil {
			t.Fatalf("banned %s connecting to %s: %v", victim, in, err)
		}
		if !v.waitFor(ctx, func() bool { return !v.connected() }) {
			t.Fatalf("banned %s not closed by %s", victim, in)
		}
	}

	after := ackCount() + 30
	waitUntil("30 acks after the heal", 30*time.Second, func() bool { return ackCount() >= after })
	stopDrivers()
	step("workload stopped: %d acks", ackCount())

	// Every send is resent until acknowledged; then everyone but the
	// victim reconnects on the next instance and drains its replay.
	waitUntil("every send acknowledged", 30*time.Second, func() bool {
		left := 0
		for n, u := range users {
			if n == victim {
				continue
			}
			if !u.connected() {
				_ = u.connect(ctx, u.home, apis[u.home])
			}
			u.resendPending(false)
			left += u.pendingCount()
		}
		return left == 0
	})
	for i, n := range names {
		u := users[n]
		if n == victim {
			continue
		}
		u.disconnect(ctx)
		next := nsInstances[(slices.Index(nsInstances, u.home)+1+i%3)%len(nsInstances)]
		if err := u.connect(ctx, next, apis[next]); err != nil {
			t.Fatalf("reconnect %s to %s: %v", n, next, err)
		}
	}
	for _, n := range names {
		u := users[n]
		if n != victim && !u.waitFor(ctx, func() bool { u.mu.Lock(); defer u.mu.Unlock(); return !u.replaying }) {
			t.Fatalf("%s: no REPLAY_DONE at the end", n)
		}
	}
	step("everyone reconnected and drained the replay")

	db, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	waitUntil("every message to a user not banned DELIVERED in PostgreSQL", 30*time.Second, func() bool {
		var n int
		err := db.QueryRow(ctx, `SELECT count(*) FROM messages WHERE delivered_at IS NULL AND recipient_id <> $1`, v.id).Scan(&n)
		return err == nil && n == 0
	})
	// The sender's MESSAGE_STATE follows the last DELIVERY_ACK by a
	// moment: give the history the checker's state grace after it.
	quietSince := time.Now()
	for {
		var last time.Time
		for _, e := range rec.Events() {
			if e.Kind == history.DeliveryAck {
				last = e.Time
			}
		}
		if time.Since(last) > history.DefaultStateGrace+200*time.Millisecond {
			break
		}
		if time.Since(quietSince) > 10*time.Second {
			t.Fatal("DELIVERY_ACKs still flowing 10 s after everything was delivered")
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}

	// The store, read directly.
	stored, dupRows := readNSRows(ctx, t, db)
	for _, n := range names {
		users[n].disconnect(ctx)
	}
	for _, r := range stored {
		rec.Record(history.Event{Kind: history.Stored, MessageID: r.id, User: r.sender, Peer: r.recipient,
			ClientMessageID: r.cmid, Delivered: r.delivered})
	}

	// Direct checks, beside the checker's.
	byKey := map[string]nsRow{}
	for _, r := range stored {
		byKey[r.sender+"\x00"+r.cmid] = r
	}
	var sends, lost, cutFrom, cutTo, cutUndelivered int
	for _, n := range names {
		u := users[n]
		u.mu.Lock()
		for cmid, s := range u.sent {
			if n == victim && u.acked[cmid] == "" {
				continue // banned before its ack: may or may not be stored
			}
			sends++
			r, ok := byKey[u.id+"\x00"+cmid]
			if !ok || u.acked[cmid] != r.id {
				lost++
				t.Errorf("%s %s: acked as %q, stored %v (row %q)", n, cmid, u.acked[cmid], ok, r.id)
				continue
			}
			if s.cutPhase == 0 || s.peer == v.id || (u.home != nsCut && home[idName[s.peer]] != nsCut) {
				continue
			}
			if u.home == nsCut {
				cutFrom++
			} else {
				cutTo++
			}
			if !r.delivered {
				cutUndelivered++
			}
		}
		u.mu.Unlock()
	}
	told := map[string]int{}
	resends, errCodes := 0, map[string]int{}
	for _, e := range rec.Events() {
		switch {
		case e.Kind == history.StateChange:
			told[e.MessageID+"\x00"+e.Conn]++
		case e.Kind == history.Send && e.Attempt > 1:
			resends++
		case e.Kind == history.ErrorFrame:
			errCodes[e.Code]++
		}
	}
	doubleTold := 0
	for _, c := range told {
		if c > 1 {
			doubleTold++
		}
	}
	res := history.Check(rec.Events(), history.CheckOptions{Seed: seed, Names: idName})
	step("%d resends; ERROR frames by code %v", resends, errCodes)
	healthyN, healthyBefore, healthyLongest := healthyDuringCut(rec.Events(), users, healAt)
	step("sends between the other instances' users during the cut: %d of %d acked before the heal, longest wait for MESSAGE_ACK %v",
		healthyBefore, healthyN, healthyLongest.Round(time.Millisecond))
	step("checked %d events, %d messages: %d violations; %d rows, %d sends, %d lost, %d duplicate rows, %d double DELIVERED; during the cut %d sends from %s's users and %d to them, %d not delivered",
		res.Events, res.Messages, len(res.Violations), len(stored), sends, lost, dupRows, doubleTold, cutFrom, nsCut, cutTo, cutUndelivered)
	if !res.OK() {
		t.Errorf("history check:\n%s", res)
	}
	if !res.Snapshot {
		t.Error("the checker saw no store snapshot")
	}
	if dupRows != 0 || lost != 0 || doubleTold != 0 || cutUndelivered != 0 {
		t.Errorf("%d duplicate rows, %d lost sends, %d connections told DELIVERED twice, %d messages of the cut not delivered; want 0",
			dupRows, lost, doubleTold, cutUndelivered)
	}
	if len(stored) != sends {
		t.Errorf("%d rows for %d acknowledged sends", len(stored), sends)
	}
	if cutFrom == 0 || cutTo == 0 {
		t.Errorf("during the cut %d sends from %s's users and %d to them: the cut tested nothing", cutFrom, nsCut, cutTo)
	}

	for _, in := range nsInstances {
		procs[in].signal(syscall.SIGTERM)
	}
	for _, in := range nsInstances {
		if code := procs[in].wait(20 * time.Second); code != 0 {
			t.Errorf("%s exit code after SIGTERM = %d, want 0", in, code)
		}
		for _, l := range procs[in].logs() {
			for _, s := range []string{"netns-content", password, adminPass, secret, adminTok} {
				if strings.Contains(l.Raw, s) {
					t.Errorf("%s logged content, a password, the secret or a token: %s", in, l.Raw)
				}
			}
		}
	}
	step("done")
}
