package bus

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zapcore"
)

const secret = "the-content-nobody-may-log"

func TestNewRedisOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		wantErr   bool
	}{
		{"empty", "", true},
		{"bad scheme", "http://localhost:6379", true},
		{"bad port keeps password out", "redis://user:hunter2@localhost:notaport/0", true},
		{"bad db", "redis://localhost:6379/notadb", true},
		{"ok", "redis://localhost:6379/0", false},
		{"ok no db", "redis://127.0.0.1:6390", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := NewRedis(RedisOptions{URL: tc.url})
			if tc.wantErr {
				if err == nil {
					_ = b.Close()
					t.Fatalf("NewRedis(%q) succeeded, want error", tc.url)
				}
				if !strings.HasPrefix(err.Error(), "bus: failed to configure redis: ") || strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error = %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRedis(%q) = %v", tc.url, err)
			}
			if b.opts.Channel != DefaultChannel || b.opts.InitTimeout != DefaultInitTimeout || b.opts.PublishTimeout != time.Second {
				t.Errorf("defaults not applied: %+v", b.opts)
			}
			if b.State() != StateDisabled {
				t.Errorf("State before Start = %v", b.State())
			}
			if err := b.Publish(context.Background(), Event{Kind: KindMessage}); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Publish before Start = %v", err)
			}
			if err := b.Close(); err != nil { // Close without Start
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b.Start(context.Background(), nil) // after Close: does nothing
			if b.State() != StateDisabled {
				t.Errorf("State after Close = %v", b.State())
			}
		})
	}
}

// TestRedisTwoInstances: publish on A, B's handler gets it with A's origin;
// log lines carry ids, never content.
func TestRedisTwoInstances(t *testing.T) {
	t.Parallel()
	_, a, b := twoBuses(t)

	ctx := context.Background()
	b.Subscribe("u2") // B holds a socket of u2: its events are routed to B
	if err := b.WaitSubscribed(ctx, "u2"); err != nil {
		t.Fatalf("WaitSubscribed: %v", err)
	}
	msg := Event{
		Kind: KindMessage, OriginInstanceID: "forged", MessageID: "m1", SenderID: "u1",
		RecipientID: "u2", ClientMessageID: "c1", Content: secret, CreatedAt: "2025-01-01T00:00:00.000Z",
	}
	if err := a.Publish(ctx, msg); err != nil {
		t.Fatalf("Publish message: %v", err)
	}
	kick := Event{Kind: KindKick, Action: "ban", TargetUserID: "u2"}
	if err := a.Publish(ctx, kick); err != nil {
		t.Fatalf("Publish kick: %v", err)
	}
	presence := Event{Kind: KindPresence, UserIDs: []string{"u1", "u3"}}
	if err := a.Publish(ctx, presence); err != nil {
		t.Fatalf("Publish presence: %v", err)
	}

	got := b.rec.waitEvent(t, "message at B", isMessage("m1"))
	want := msg
	want.OriginInstanceID = "A"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("B got %+v, want %+v", got, want)
	}
	gotKick := b.rec.waitEvent(t, "kick at B", isKind(KindKick))
	if gotKick.OriginInstanceID != "A" || gotKick.TargetUserID != "u2" || gotKick.Action != "ban" {
		t.Errorf("B got kick %+v", gotKick)
	}
	gotPresence := b.rec.waitEvent(t, "presence at B", isKind(KindPresence))
	if !reflect.DeepEqual(gotPresence.UserIDs, presence.UserIDs) || gotPresence.OriginInstanceID != "A" {
		t.Errorf("B got presence %+v", gotPresence)
	}
	// Own events on the control channel come back too (the handler
	// filters them); the message and kick for u2 do not, since A holds no
	// socket of u2. Redis delivers in publish order on one connection, so
	// by the time the later presence is back nothing else is on its way.
	a.rec.waitEvent(t, "own presence at A", isKind(KindPresence))
	if n := a.rec.count(func(ev Event) bool { return ev.Kind == KindMessage || ev.Kind == KindKick }); n != 0 {
		t.Errorf("A received %d events for u2, whom it holds no socket of", n)
	}

	for _, tb := range []*testBus{a, b} {
		if n := len(tb.entries("bus_connected")); n != 1 {
			t.Errorf("%s: %d bus_connected, want 1", tb.opts.InstanceID, n)
		}
		if n := tb.rec.restoredCount(); n != 0 {
			t.Errorf("%s: BusRestored called %d times on a first connect in time", tb.opts.InstanceID, n)
		}
		if s, _ := tb.rec.lastState(); s != StateConnected {
			t.Errorf("%s: last hooked state %v", tb.opts.InstanceID, s)
		}
	}

	pub := a.entries("chat_message_published")
	if len(pub) != 1 {
		t.Fatalf("%d chat_message_published entries, want 1", len(pub))
	}
	if e := pub[0]; e.Level != zapcore.InfoLevel || !sameFields(e.ContextMap(), map[string]any{
		"messageId": "m1", "recipientId": "u2", "originInstanceId": "A",
	}) {
		t.Errorf("chat_message_published = %v %v", e.Level, e.ContextMap())
	}
	kp := a.entries("admin_kick_published")
	if len(kp) != 1 || !sameFields(kp[0].ContextMap(), map[string]any{
		"action": "ban", "targetUserId": "u2", "originInstanceId": "A",
	}) {
		t.Errorf("admin_kick_published = %v", kp)
	}
	if n := len(b.entries("chat_message_published")); n != 0 {
		t.Errorf("B logged %d publishes, want 0", n)
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(a.entries("stopped")); n != 1 {
		t.Errorf("%d stopped entries, want 1", n)
	}
	if a.State() != StateDisabled {
		t.Errorf("State after Close = %v", a.State())
	}
	if s, _ := a.rec.lastState(); s != StateDisabled {
		t.Errorf("last hooked state after Close = %v", s)
	}
	if err := a.Publish(ctx, msg); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish after Close = %v", err)
	}
	assertNoSecret(t, a.logs, secret)
	assertNoSecret(t, b.logs, secret)
}

func sameFields(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestRedisDownAtStart: Start gives up after InitTimeout, then the bus
// connects in the background when Redis appears.
func TestRedisDownAtStart(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	a := newTestBus(t, addr, "A")

	began := time.Now()
	a.Start(context.Background(), a.rec)
	took := time.Since(began)
	if took < 300*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("Start took %v, want about the 300 ms init timeout", took)
	}
	if s := a.State(); s != StateDisabled {
		t.Fatalf("State = %v, want disabled", s)
	}
	it := a.entries("init_timeout")
	if len(it) != 1 || it[0].Level != zapcore.WarnLevel || it[0].ContextMap()["timeoutMs"] != int64(300) {
		t.Errorf("init_timeout entries = %v", it)
	}
	bd := a.entries("bus_disabled")
	if len(bd) != 1 || bd[0].Level != zapcore.WarnLevel || bd[0].ContextMap()["reason"] != "Redis unavailable or timeout" {
		t.Errorf("bus_disabled entries = %v", bd)
	}
	if n := len(a.entries("bus_connected")); n != 0 {
		t.Errorf("bus_connected logged while Redis is down")
	}
	began = time.Now()
	if err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "x", Content: secret}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish while disabled = %v", err)
	}
	if d := time.Since(began); d > 50*time.Millisecond {
		t.Errorf("Publish while disabled took %v", d)
	}

	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		t.Fatalf("miniredis on %s: %v", addr, err)
	}
	t.Cleanup(m.Close)
	appeared := time.Now()

	a.rec.wait(t, "BusRestored after late connect", func(r *recorder) bool { return r.restored == 1 })
	if d := time.Since(appeared); d > 2*time.Second {
		t.Errorf("late connect took %v after Redis appeared", d)
	}
	if s := a.State(); s != StateConnected {
		t.Errorf("State = %v, want connected", s)
	}
	if n := len(a.entries("bus_connected")); n != 1 {
		t.Errorf("%d bus_connected, want 1", n)
	}
	// The resync tells other instances to catch up; we receive our own.
	a.rec.waitEvent(t, "own resync", func(ev Event) bool { return ev.Kind == KindResync && ev.OriginInstanceID == "A" })
	if err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "m2"}); err != nil {
		t.Errorf("Publish after late connect = %v", err)
	}
	a.rec.waitEvent(t, "m2", isMessage("m2"))
	if n := a.rec.failedCount(); n != 1 {
		t.Errorf("PublishFailed called %d times, want 1", n)
	}
	assertNoSecret(t, a.logs, secret)
}

// TestRedisStartCtxCancelled: Start returns when its ctx ends, before the
// init timeout.
func TestRedisStartCtxCancelled(t *testing.T) {
	t.Parallel()
	a := newTestBus(t, freeAddr(t), "A", func(o *RedisOptions) { o.InitTimeout = 10 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	a.Start(ctx, a.rec)
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Start took %v with a 100 ms ctx", d)
	}
	if n := len(a.entries("bus_disabled")); n != 1 {
		t.Errorf("%d bus_disabled entries, want 1", n)
	}
}

// TestRedisCloseDuringStart: Close ends a Start that is still waiting.
func TestRedisCloseDuringStart(t *testing.T) {
	t.Parallel()
	a := newTestBus(t, freeAddr(t), "A", func(o *RedisOptions) { o.InitTimeout = 10 * time.Second })
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Start(context.Background(), a.rec)
	}()
	eventually(t, "Start to begin", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.started
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Start did not return after Close")
	}
	if n := len(a.entries("init_timeout")); n != 0 {
		t.Errorf("init_timeout logged on Close")
	}
}

// TestRedisOutageMiniredis: Redis goes away mid-run and comes back on the
// same address.
func TestRedisOutageMiniredis(t *testing.T) {
	t.Parallel()
	m, a, b := twoBuses(t)
	checkOutage(t, a, b, m.Close, func() {
		if err := m.Restart(); err != nil {
			t.Fatalf("miniredis restart: %v", err)
		}
	})
}

// checkOutage runs the outage scenario: stop Redis, publish a lot, start
// it again on the same address.
func checkOutage(t *testing.T, a, b *testBus, stop, restart func()) {
	t.Helper()
	ctx := context.Background()
	// A holds u9's channel across the outage: the new connection must
	// subscribe it again by itself.
	a.Subscribe("u9")
	if err := a.WaitSubscribed(ctx, "u9"); err != nil {
		t.Fatalf("WaitSubscribed: %v", err)
	}
	if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "before"}); err != nil {
		t.Fatalf("Publish before outage: %v", err)
	}
	b.rec.waitEvent(t, "message before outage", isMessage("before"))

	stop()

	// Publishes racing with the loss: each fails, none hangs.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			began := time.Now()
			err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "during", Content: secret})
			if d := time.Since(began); d > a.opts.PublishTimeout+500*time.Millisecond {
				err = errors.Join(err, errors.New("publish blocked"))
			}
			if i%50 == 0 && err == nil {
				err = errors.New("publish succeeded during outage") // reported below unless unavailable
			}
			if err != nil && !errors.Is(err, ErrUnavailable) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("publish during outage: %v", err)
	}

	for _, tb := range []*testBus{a, b} {
		eventually(t, tb.opts.InstanceID+" lost", func() bool { return tb.State() == StateLost })
	}
	// Once lost, Publish fails at once.
	began := time.Now()
	for range 1000 {
		if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "lost", Content: secret}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Publish while lost = %v", err)
		}
	}
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("1000 publishes while lost took %v", d)
	}
	for _, tb := range []*testBus{a, b} {
		tb.rec.wait(t, tb.opts.InstanceID+" lost hook", func(r *recorder) bool {
			return len(r.states) > 0 && r.states[len(r.states)-1] == StateLost
		})
	}

	restart()

	for _, tb := range []*testBus{a, b} {
		tb.rec.wait(t, tb.opts.InstanceID+" BusRestored", func(r *recorder) bool { return r.restored == 1 })
		if s := tb.State(); s != StateConnected {
			t.Errorf("%s: State after restore = %v", tb.opts.InstanceID, s)
		}
		if n := len(tb.entries("bus_lost")); n != 1 {
			t.Errorf("%s: %d bus_lost entries, want exactly 1", tb.opts.InstanceID, n)
		}
		if n := len(tb.entries("bus_restored")); n != 1 {
			t.Errorf("%s: %d bus_restored entries, want 1", tb.opts.InstanceID, n)
		}
		if e := tb.entries("bus_lost"); len(e) > 0 && e[0].Level != zapcore.WarnLevel {
			t.Errorf("bus_lost level %v", e[0].Level)
		}
		own := tb.opts.InstanceID
		tb.rec.waitEvent(t, own+" own resync", func(ev Event) bool { return ev.Kind == KindResync && ev.OriginInstanceID == own })
	}
	// Whichever instance came back last published its resync to a live
	// subscription of the other one.
	eventually(t, "a resync crossing instances", func() bool {
		return a.rec.count(func(ev Event) bool { return ev.Kind == KindResync && ev.OriginInstanceID == "B" })+
			b.rec.count(func(ev Event) bool { return ev.Kind == KindResync && ev.OriginInstanceID == "A" }) > 0
	})

	if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "after", Content: secret}); err != nil {
		t.Fatalf("Publish after restore: %v", err)
	}
	got := b.rec.waitEvent(t, "message after restore", isMessage("after"))
	if got.OriginInstanceID != "A" || got.Content != secret {
		t.Errorf("B got %+v", got)
	}
	if err := b.Publish(ctx, Event{Kind: KindKick, Action: "ban", TargetUserID: "u9"}); err != nil {
		t.Fatalf("Publish from B after restore: %v", err)
	}
	a.rec.waitEvent(t, "kick at A", isKind(KindKick))
	if n := a.rec.count(isMessage("during")) + a.rec.count(isMessage("lost")); n != 0 {
		t.Errorf("%d events published during the outage were delivered", n)
	}
	if n := a.rec.failedCount(); n < 1000 {
		t.Errorf("PublishFailed called %d times, want at least 1000", n)
	}
	for _, tb := range []*testBus{a, b} {
		if n := len(tb.entries("bus_lost")); n != 1 {
			t.Errorf("%s: %d bus_lost entries at the end, want 1", tb.opts.InstanceID, n)
		}
		assertNoSecret(t, tb.logs, secret)
	}
}

// TestRedisMalformedPayload: junk on the channel is logged and skipped.
func TestRedisMalformedPayload(t *testing.T) {
	t.Parallel()
	m, a, b := twoBuses(t)

	raw := redis.NewClient(&redis.Options{Addr: m.Addr(), Protocol: 2, DisableIdentity: true})
	defer func() { _ = raw.Close() }()
	ctx := context.Background()
	junk := []string{"{not json " + secret, `{"content":"` + secret + `"}`, `[1,2,3]`, `"` + secret + `"`, ""}
	for _, p := range junk {
		if err := raw.Publish(ctx, DefaultChannel, p).Err(); err != nil {
			t.Fatalf("raw publish: %v", err)
		}
	}
	if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "good"}); err != nil {
		t.Fatal(err)
	}
	b.rec.waitEvent(t, "good message after junk", isMessage("good"))
	if n := b.rec.count(func(Event) bool { return true }); n != 1 {
		t.Errorf("B's handler got %d events, want only the good one", n)
	}
	bad := b.entries("bus_event_malformed")
	if len(bad) != len(junk) {
		t.Errorf("%d bus_event_malformed entries, want %d", len(bad), len(junk))
	}
	if n := b.rec.malformedCount(); n != len(junk) {
		t.Errorf("EventMalformed called %d times, want %d", n, len(junk))
	}
	for _, e := range bad {
		if e.Level != zapcore.WarnLevel {
			t.Errorf("bus_event_malformed level %v", e.Level)
		}
	}
	if b.State() != StateConnected {
		t.Errorf("State = %v", b.State())
	}
	assertNoSecret(t, b.logs, secret)
	assertNoSecret(t, b.logs, "not json")
}

// TestRedisCustomChannel: instances on different channels do not hear each
// other.
func TestRedisCustomChannel(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	a := newTestBus(t, m.Addr(), "A", func(o *RedisOptions) { o.Channel = "other" })
	b := newTestBus(t, m.Addr(), "B")
	a.start(t)
	b.start(t)
	ctx := context.Background()
	if err := a.Publish(ctx, Event{Kind: KindMessage, MessageID: "x"}); err != nil {
		t.Fatal(err)
	}
	a.rec.waitEvent(t, "own event on custom channel", isMessage("x"))
	if err := b.Publish(ctx, Event{Kind: KindMessage, MessageID: "y"}); err != nil {
		t.Fatal(err)
	}
	b.rec.waitEvent(t, "own event on default channel", isMessage("y"))
	if n := b.rec.count(isMessage("x")) + a.rec.count(isMessage("y")); n != 0 {
		t.Errorf("events crossed channels")
	}
}
