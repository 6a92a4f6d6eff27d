package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/store"
)

// failingStore fails the calls a WebSocket's frames make while its switches
// are on, as a database that is down or full would.
type failingStore struct {
	store.Store
	save, deliver, lookup atomic.Bool
	reads                 atomic.Bool // Ping, Conversation and SearchUsers fail
	undelivered           atomic.Bool // the replay's read on connect fails
}

var errDatabaseDown = errors.New("database is down (injected)")

func (s *failingStore) SaveMessage(ctx context.Context, m store.NewMessage) (chat.Message, bool, error) {
	if s.save.Load() {
		return chat.Message{}, false, fmt.Errorf("store: failed to save message: %w", errDatabaseDown)
	}
	return s.Store.SaveMessage(ctx, m)
}

func (s *failingStore) MarkDelivered(ctx context.Context, messageID, recipientID string) (chat.Message, bool, error) {
	if s.deliver.Load() {
		return chat.Message{}, false, fmt.Errorf("store: failed to mark delivered: %w", errDatabaseDown)
	}
	return s.Store.MarkDelivered(ctx, messageID, recipientID)
}

func (s *failingStore) UserByID(ctx context.Context, id string) (chat.User, error) {
	if s.lookup.Load() {
		return chat.User{}, fmt.Errorf("store: failed to get user: %w", errDatabaseDown)
	}
	return s.Store.UserByID(ctx, id)
}

func (s *failingStore) Undelivered(ctx context.Context, recipientID, afterID string, limit int) ([]chat.Message, error) {
	if s.undelivered.Load() {
		return nil, fmt.Errorf("store: failed to read undelivered messages: %w", errDatabaseDown)
	}
	return s.Store.Undelivered(ctx, recipientID, afterID, limit)
}

func (s *failingStore) Ping(ctx context.Context) error {
	if s.reads.Load() {
		return fmt.Errorf("store: ping: %w", errDatabaseDown)
	}
	return s.Store.Ping(ctx)
}

func (s *failingStore) Conversation(ctx context.Context, p store.Page) ([]chat.Message, error) {
	if s.reads.Load() {
		return nil, fmt.Errorf("store: failed to read conversation: %w", errDatabaseDown)
	}
	return s.Store.Conversation(ctx, p)
}

func (s *failingStore) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if s.reads.Load() {
		return nil, fmt.Errorf("store: failed to search users: %w", errDatabaseDown)
	}
	return s.Store.SearchUsers(ctx, prefix, limit)
}

// setupFailingStore starts an instance on a memory store behind a
// failingStore, every switch off.
func setupFailingStore(t *testing.T) (store.Store, *failingStore, *env) {
	t.Helper()
	mem, err := store.Open(context.Background(), "mem", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	st := &failingStore{Store: mem}
	return mem, st, setup(t, nil, st)
}

// The contract's INTERNAL frame: a store failure is answered on the socket,
// which stays open; the cause is logged, never sent, and never with the
// content; nothing half-done is left, and the client's retry after the
// store recovers completes the cycle exactly once.
func TestStoreFailuresAnswerInternalAndRetriesComplete(t *testing.T) {
	mem, st, e := setupFailingStore(t)
	aliceID, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	carolID, _ := e.user("carol")
	alice, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)

	// The message cannot be stored.
	st.save.Store(true)
	send(t, alice, "c1", bobID, "secret content")
	f := expectError(t, alice, chat.CodeInternal)
	if f.ClientMessageID != "c1" || f.Message != "message could not be stored" {
		t.Fatalf("error %+v; want clientMessageId c1 and the contract's message", f.OutFrame)
	}
	if strings.Contains(f.Message, "injected") {
		t.Fatalf("the cause reached the client: %q", f.Message)
	}
	barrier(t, bob) // nothing was pushed to bob
	line := e.logs.WaitFor(t, waitFor, func(r logging.Record) bool { return r.Event == "internal_error" })
	if line.Level != zapcore.ErrorLevel || !strings.Contains(fmt.Sprint(line.Fields["error"]), "injected") {
		t.Fatalf("internal_error line %+v; want the cause at error level", line)
	}
	for _, r := range e.logs.Records() {
		for k, v := range r.Fields {
			if strings.Contains(fmt.Sprint(v), "secret content") {
				t.Fatalf("log %s.%s field %s holds the content", r.Logger, r.Event, k)
			}
		}
	}

	// The store is back: the same socket retries the same client id.
	st.save.Store(false)
	send(t, alice, "c1", bobID, "secret content")
	ack := expectType(t, alice, chat.TypeMessageAck)
	m := expectType(t, bob, chat.TypeMessage)
	if ack.ClientMessageID != "c1" || m.MessageID != ack.MessageID {
		t.Fatalf("ack %+v, message %+v", ack.OutFrame, m.OutFrame)
	}

	// The delivery cannot be recorded: no state goes to the sender, and the
	// message stays undelivered.
	st.deliver.Store(true)
	if err := bob.Ack(ctxT(t), m.MessageID); err != nil {
		t.Fatal(err)
	}
	f = expectError(t, bob, chat.CodeInternal)
	if f.MessageID != m.MessageID || f.Message != "delivery could not be recorded" {
		t.Fatalf("error %+v; want messageId %s and the contract's message", f.OutFrame, m.MessageID)
	}
	barrier(t, alice) // no MESSAGE_STATE
	if got, err := mem.MessageByID(ctxT(t), m.MessageID); err != nil || got.Delivered() {
		t.Fatalf("after a failed delivery: %+v, %v; want the message stored and undelivered", got, err)
	}

	// Back again: the same ack is taken (the failed one was not recorded as
	// seen), DELIVERED once, the state sent once.
	st.deliver.Store(false)
	if err := bob.Ack(ctxT(t), m.MessageID); err != nil {
		t.Fatal(err)
	}
	state := expectType(t, alice, chat.TypeMessageState)
	if state.MessageID != m.MessageID || state.State != chat.StateDelivered {
		t.Fatalf("state %+v", state.OutFrame)
	}
	barrier(t, bob)

	// The recipient cannot be looked up (carol, whom this instance has not
	// seen as a recipient yet).
	st.lookup.Store(true)
	send(t, alice, "c2", carolID, "hello carol")
	f = expectError(t, alice, chat.CodeInternal)
	if f.ClientMessageID != "c2" || f.Message != "recipient lookup failed" {
		t.Fatalf("error %+v; want clientMessageId c2 and the contract's message", f.OutFrame)
	}
	st.lookup.Store(false)
	send(t, alice, "c2", carolID, "hello carol")
	if ack := expectType(t, alice, chat.TypeMessageAck); ack.ClientMessageID != "c2" {
		t.Fatalf("ack %+v", ack.OutFrame)
	}

	// Exactly one row for each message.
	page, err := mem.Conversation(ctxT(t), store.Page{UserA: aliceID, UserB: bobID, Limit: 10})
	if err != nil || len(page) != 1 || !page[0].Delivered() {
		t.Fatalf("alice–bob conversation %+v, %v; want one delivered message", page, err)
	}
	page, err = mem.Conversation(ctxT(t), store.Page{UserA: aliceID, UserB: carolID, Limit: 10})
	if err != nil || len(page) != 1 {
		t.Fatalf("alice–carol conversation %+v, %v; want one message", page, err)
	}
}

// On HTTP a failing store is a 500 INTERNAL whose body names no cause, the
// readiness probe says the store is unreachable while liveness stays up,
// and the same requests succeed once the store is back.
func TestStoreFailuresAnswerHTTPInternalAndNotReady(t *testing.T) {
	_, st, e := setupFailingStore(t)
	_, aliceTok := e.user("alice")
	bobID, _ := e.user("bob")

	st.reads.Store(true)
	internal := func(what string, err error) {
		t.Helper()
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 500 || ae.Code != chat.CodeInternal || ae.Message != "internal error" {
			t.Fatalf("%s with the store down: %v; want 500 INTERNAL \"internal error\"", what, err)
		}
	}
	_, _, err := e.api.Messages(ctxT(t), aliceTok, bobID, "", 0)
	internal("GET /api/messages", err)
	_, err = e.api.Users(ctxT(t), aliceTok, "b", 0)
	internal("GET /api/users", err)
	report, err := e.api.Readyz(ctxT(t))
	if client.HTTPStatus(err) != 503 || report["store"] != "unreachable" || report["bus"] != "disabled" {
		t.Fatalf("readyz with the store down: %v, %v; want 503, store unreachable, the bus reported", report, err)
	}
	if err := e.api.Healthz(ctxT(t)); err != nil {
		t.Fatalf("healthz with the store down: %v; liveness does not depend on the store", err)
	}
	for _, route := range []string{"GET /api/messages", "GET /api/users"} {
		line := e.logs.WaitFor(t, waitFor, func(r logging.Record) bool {
			return r.Event == "internal_error" && r.Fields["route"] == route
		})
		if line.Level != zapcore.ErrorLevel || !strings.HasSuffix(line.Logger, "HTTP") ||
			!strings.Contains(fmt.Sprint(line.Fields["error"]), "injected") {
			t.Fatalf("internal_error line %+v; want the cause at error level from the HTTP logger", line)
		}
	}

	st.reads.Store(false)
	if _, _, err := e.api.Messages(ctxT(t), aliceTok, bobID, "", 0); err != nil {
		t.Fatalf("GET /api/messages after recovery: %v", err)
	}
	if users, err := e.api.Users(ctxT(t), aliceTok, "b", 0); err != nil || len(users) != 1 {
		t.Fatalf("GET /api/users after recovery: %v, %v", users, err)
	}
	if _, err := e.api.Readyz(ctxT(t)); err != nil {
		t.Fatalf("readyz after recovery: %v", err)
	}
}

// The contract's 1011: a connect whose replay cannot be read from the store
// is closed with 1011 "replay failed" (the client reconnects later), logged
// once however many connects fail, and nothing missed is lost: once the
// store reads again the next connect replays it.
func TestReplayReadFailureClosesWith1011AndLosesNothing(t *testing.T) {
	_, st, e := setupFailingStore(t)
	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	send(t, alice, "c1", bobID, "while bob was away")
	sent := expectType(t, alice, chat.TypeMessageAck)

	st.undelivered.Store(true)
	for range 3 {
		expectClose(t, e.dialRaw(bobTok), chat.CloseInternalError)
	}
	if got := e.logs.Events("Node", "replay_failed"); len(got) != 1 {
		t.Fatalf("%d replay_failed lines for 3 failed connects, want 1", len(got))
	}

	st.undelivered.Store(false)
	_, replayed := e.dial(bobTok)
	if len(replayed) != 1 || replayed[0].MessageID != sent.MessageID {
		t.Fatalf("replayed %+v after the store came back; want the one message %s", replayed, sent.MessageID)
	}
	line := e.logs.WaitFor(t, waitFor, logtest.Event("Node", "replay_recovered"))
	if line.Fields["failedReplays"] != int64(3) {
		t.Fatalf("replay_recovered %+v; want failedReplays 3", line.Fields)
	}
}
