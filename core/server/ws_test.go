package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/store"
)

func TestDirectMessageFullCycle(t *testing.T) {
	e := setup(t, nil, nil)
	aliceID, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)

	send(t, alice, "c1", bobID, "hello bob")
	ack := expectType(t, alice, chat.TypeMessageAck)
	if ack.ClientMessageID != "c1" || ack.MessageID == "" || ack.State != chat.StateSent {
		t.Fatalf("ack %+v", ack.OutFrame)
	}
	if _, err := time.Parse(time.RFC3339, ack.CreatedAt); err != nil || !strings.HasSuffix(ack.CreatedAt, "Z") {
		t.Fatalf("createdAt %q is not RFC 3339 UTC", ack.CreatedAt)
	}
	m := expectType(t, bob, chat.TypeMessage)
	if m.MessageID != ack.MessageID || m.SenderID != aliceID || m.RecipientID != bobID || m.Content != "hello bob" || m.CreatedAt != ack.CreatedAt {
		t.Fatalf("message %+v", m.OutFrame)
	}
	if err := bob.Ack(ctxT(t), m.MessageID); err != nil {
		t.Fatal(err)
	}
	st := expectType(t, alice, chat.TypeMessageState)
	if st.MessageID != m.MessageID || st.State != chat.StateDelivered {
		t.Fatalf("state %+v", st.OutFrame)
	}
	// A second ack changes nothing and sends nothing, to either side.
	if err := bob.Ack(ctxT(t), m.MessageID); err != nil {
		t.Fatal(err)
	}
	barrier(t, bob)
	barrier(t, alice)
	got, err := e.store.MessageByID(ctxT(t), m.MessageID)
	if err != nil || !got.Delivered() {
		t.Fatalf("stored %+v, %v", got, err)
	}
	logtest.AssertNoSecrets(t, e.logs.Records(), "hello bob", testPassword, aliceTok, bobTok, testSecret)
}

func TestRetryStoresNothingNew(t *testing.T) {
	e := setup(t, nil, nil)
	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	send(t, alice, "same", bobID, "once")
	first := expectType(t, alice, chat.TypeMessageAck)
	send(t, alice, "same", bobID, "once")
	second := expectType(t, alice, chat.TypeMessageAck)
	if first.MessageID != second.MessageID || first.CreatedAt != second.CreatedAt {
		t.Fatalf("retry acked %s, first %s", second.MessageID, first.MessageID)
	}
	msgs, _, err := e.api.Messages(ctxT(t), bobTok, mustMe(t, e, aliceTok), "", 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("history has %d rows (%v), want 1", len(msgs), err)
	}
}

func mustMe(t *testing.T, e *env, tok string) string {
	t.Helper()
	me, err := e.api.Me(ctxT(t), tok)
	if err != nil {
		t.Fatal(err)
	}
	return me.ID
}

// TestAckDropGate is the seeds' ack-drop test: the recipient receives but
// never acks, reconnects, gets the same message again, acks it; then one
// row, the same messageId, DELIVERED once, and a second reconnect replays
// nothing.
func TestAckDropGate(t *testing.T) {
	e := setup(t, nil, nil)
	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)

	send(t, alice, "drop-1", bobID, "are you there")
	ack := expectType(t, alice, chat.TypeMessageAck)
	live := expectType(t, bob, chat.TypeMessage)
	bob.Close() // the DELIVERY_ACK is lost

	bob2, replayed := e.dial(bobTok)
	if len(replayed) != 1 || replayed[0].MessageID != ack.MessageID || replayed[0].Content != live.Content {
		t.Fatalf("replay %+v, want message %s once", replayed, ack.MessageID)
	}
	if err := bob2.Ack(ctxT(t), ack.MessageID); err != nil {
		t.Fatal(err)
	}
	expectType(t, alice, chat.TypeMessageState)
	if err := bob2.Ack(ctxT(t), ack.MessageID); err != nil {
		t.Fatal(err)
	}
	barrier(t, alice) // no second MESSAGE_STATE
	bob2.Close()

	_, replayed = e.dial(bobTok)
	if len(replayed) != 0 {
		t.Fatalf("second reconnect replayed %d", len(replayed))
	}
	msgs, _, err := e.api.Messages(ctxT(t), aliceTok, bobID, "", 0)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != ack.MessageID {
		t.Fatalf("rows %+v, %v", msgs, err)
	}
}

func TestReplayOldestFirstThenLive(t *testing.T) {
	e := setup(t, nil, nil)
	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	var ids []string
	for i := 0; i < 5; i++ {
		send(t, alice, fmt.Sprintf("r%d", i), bobID, fmt.Sprintf("m%d", i))
		ids = append(ids, expectType(t, alice, chat.TypeMessageAck).MessageID)
	}
	bob, replayed := e.dial(bobTok)
	if len(replayed) != 5 {
		t.Fatalf("replayed %d, want 5", len(replayed))
	}
	for i, f := range replayed {
		if f.MessageID != ids[i] {
			t.Fatalf("replay order %d: %s, want %s", i, f.MessageID, ids[i])
		}
	}
	send(t, alice, "live", bobID, "now")
	if f := expectType(t, bob, chat.TypeMessage); f.Content != "now" {
		t.Fatalf("live message %+v", f.OutFrame)
	}
}

func TestTwoTabsBothReceiveAndStateReachesAllSenderTabs(t *testing.T) {
	e := setup(t, nil, nil)
	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice1, _ := e.dial(aliceTok)
	alice2, _ := e.dial(aliceTok)
	bob1, _ := e.dial(bobTok)
	bob2, _ := e.dial(bobTok)
	send(t, alice1, "t1", bobID, "to both tabs")
	expectType(t, alice1, chat.TypeMessageAck)
	m1 := expectType(t, bob1, chat.TypeMessage)
	m2 := expectType(t, bob2, chat.TypeMessage)
	if m1.MessageID != m2.MessageID {
		t.Fatal("tabs got different messages")
	}
	if err := bob2.Ack(ctxT(t), m2.MessageID); err != nil {
		t.Fatal(err)
	}
	expectType(t, alice1, chat.TypeMessageState)
	expectType(t, alice2, chat.TypeMessageState)
}

func TestBadFramesKeepTheConnection(t *testing.T) {
	e := setup(t, nil, nil)
	_, tok := e.user("alice")
	bobID, _ := e.user("bob")
	c, _ := e.dial(tok)
	cases := []struct {
		frame, code, cmid string
	}{
		{`not json`, chat.CodeBadFrame, ""},
		{`{"type":"NOPE"}`, chat.CodeBadFrame, ""},
		{`{"type":"MESSAGE_SEND","clientMessageId":"x1","content":"hi"}`, chat.CodeBadFrame, "x1"},
		{`{"type":"DELIVERY_ACK"}`, chat.CodeBadFrame, ""},
		{`{"type":"MESSAGE_SEND","clientMessageId":"big","recipientId":"` + bobID + `","content":"` + strings.Repeat("a", 4097) + `"}`, chat.CodeTooLarge, "big"},
		{`{"type":"MESSAGE_SEND","clientMessageId":"nobody","recipientId":"u-does-not-exist","content":"hi"}`, chat.CodeUnknownRecipient, "nobody"},
	}
	for _, tc := range cases {
		if err := c.Send(ctxT(t), []byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		f := expectError(t, c, tc.code)
		if f.ClientMessageID != tc.cmid {
			t.Fatalf("%s: clientMessageId %q, want %q", tc.code, f.ClientMessageID, tc.cmid)
		}
	}
	// Still open, and a TOO_LARGE send stored nothing.
	send(t, c, "ok", bobID, "fine")
	expectType(t, c, chat.TypeMessageAck)
	msgs, _, _ := e.api.Messages(ctxT(t), tok, bobID, "", 0)
	if len(msgs) != 1 {
		t.Fatalf("%d rows, want 1", len(msgs))
	}
}

func TestDeliveryAckForbidden(t *testing.T) {
	e := setup(t, nil, nil)
	_, aliceTok := e.user("alice")
	bobID, _ := e.user("bob")
	_, carolTok := e.user("carol")
	alice, _ := e.dial(aliceTok)
	carol, _ := e.dial(carolTok)
	send(t, alice, "f1", bobID, "private")
	ack := expectType(t, alice, chat.TypeMessageAck)
	for _, tc := range []struct {
		who *client.Conn
		id  string
	}{{alice, ack.MessageID}, {carol, ack.MessageID}, {carol, "999999"}, {carol, "not-a-number"}} {
		if err := tc.who.Ack(ctxT(t), tc.id); err != nil {
			t.Fatal(err)
		}
		if f := expectError(t, tc.who, chat.CodeForbidden); f.MessageID != tc.id {
			t.Fatalf("FORBIDDEN for %q names %q", tc.id, f.MessageID)
		}
	}
	if m, _ := e.store.MessageByID(ctxT(t), ack.MessageID); m.Delivered() {
		t.Fatal("a forbidden ack marked the message delivered")
	}
}

func TestRateLimitThenFloodClose(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSRate = 1; c.WSBurst = 2 }, nil)
	_, tok := e.user("alice")
	bobID, _ := e.user("bob")
	c, _ := e.dial(tok)
	for i := 0; i < 3; i++ {
		send(t, c, fmt.Sprintf("rl%d", i), bobID, "x")
	}
	expectType(t, c, chat.TypeMessageAck)
	expectType(t, c, chat.TypeMessageAck)
	if f := expectError(t, c, chat.CodeRateLimited); f.ClientMessageID != "rl2" {
		t.Fatalf("RATE_LIMITED names %q", f.ClientMessageID)
	}
	// The dropped send stored nothing.
	if _, err := e.store.MessageByID(ctxT(t), "3"); err == nil {
		t.Fatal("a rate-limited send was stored")
	}
	for i := 0; i < 120; i++ {
		if err := c.Send(ctxT(t), []byte(`junk`)); err != nil {
			break // closed under us: fine
		}
	}
	expectClose(t, c, chat.ClosePolicy)
	// One line for the close, however many frames were on their way.
	e.logs.WaitFor(t, waitFor, logtest.Event("Node", "rate_limited_repeated"))
	if n := len(e.logs.Events("Node", "flood_closed")); n != 1 {
		t.Fatalf("%d flood_closed lines, want 1", n)
	}
}

func TestDeliveryAckOfDeliveredMessageIsNeverLimited(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSRate = 0.001; c.WSBurst = 1 }, nil)
	bobID, bobTok := e.user("bob")
	var ids []string
	for i := 0; i < 5; i++ {
		// A sender per send: a fresh bucket (the limit is per user too).
		_, tok := e.user(fmt.Sprintf("sender%d", i))
		sender, _ := e.dial(tok)
		send(t, sender, fmt.Sprintf("n%d", i), bobID, "x")
		ids = append(ids, expectType(t, sender, chat.TypeMessageAck).MessageID)
		sender.Close()
	}
	bob, replayed := e.dial(bobTok)
	if len(replayed) != 5 {
		t.Fatalf("replayed %d", len(replayed))
	}
	for _, id := range ids {
		if err := bob.Ack(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
	}
	// The bucket of one was never touched by the acks: a frame still passes.
	if err := bob.Send(ctxT(t), []byte(`junk`)); err != nil {
		t.Fatal(err)
	}
	expectError(t, bob, chat.CodeBadFrame)
	for _, id := range ids {
		if m, _ := e.store.MessageByID(ctxT(t), id); !m.Delivered() {
			t.Fatalf("%s not delivered", id)
		}
	}
}

func TestFrameOverReadLimitCloses1009(t *testing.T) {
	e := setup(t, nil, nil)
	_, tok := e.user("alice")
	c, _ := e.dial(tok)
	if err := c.Send(ctxT(t), []byte(`{"type":"MESSAGE_SEND","content":"`+strings.Repeat("a", 70<<10)+`"}`)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, chat.CloseTooLarge)
	e.logs.WaitFor(t, 5*time.Second, logtest.Event("HTTP", "frame_too_large"))
}

func TestTokenExpiryCloses4001(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.TokenTTL = 2 * time.Second }, nil)
	_, tok := e.user("alice")
	c, _ := e.dial(tok)
	expectCloseWithin(t, c, chat.CloseTokenExpired, 10*time.Second)
}

func expectCloseWithin(t *testing.T, c *client.Conn, code int, d time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(d):
		t.Fatalf("not closed within %v", d)
	}
	expectClose(t, c, code)
}

func TestBannedUserGetsErrorThen4003(t *testing.T) {
	e := setup(t, nil, nil)
	aliceID, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice1, _ := e.dial(aliceTok)
	alice2, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)
	if err := e.api.Ban(ctxT(t), e.admin, aliceID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice1, alice2} {
		expectError(t, c, chat.CodeBanned)
		expectClose(t, c, chat.CloseBanned)
	}
	// Reconnecting: upgraded, ERROR BANNED as the only frame, 4003, no replay.
	send(t, bob, "to-banned", aliceID, "you will not see this yet")
	expectType(t, bob, chat.TypeMessageAck)
	again := e.dialRaw(aliceTok)
	expectError(t, again, chat.CodeBanned)
	expectClose(t, again, chat.CloseBanned)
	// Banned users get 200 on /api/me and 403 BANNED elsewhere.
	me, err := e.api.Me(ctxT(t), aliceTok)
	if err != nil || !me.Banned {
		t.Fatalf("me %+v %v", me, err)
	}
	if _, _, err := e.api.Messages(ctxT(t), aliceTok, bobID, "", 0); client.ErrorCode(err) != chat.CodeBanned || client.HTTPStatus(err) != 403 {
		t.Fatalf("messages for banned: %v", err)
	}
	// Unban: the message waits in the store and is replayed.
	if err := e.api.Unban(ctxT(t), e.admin, aliceID); err != nil {
		t.Fatal(err)
	}
	_, replayed := e.dial(aliceTok)
	if len(replayed) != 1 {
		t.Fatalf("after unban replayed %d, want 1", len(replayed))
	}
}

func TestUnauthorizedUpgradeRefused(t *testing.T) {
	e := setup(t, nil, nil)
	for _, tok := range []string{"", "garbage", forge(t, "HS512")} {
		_, _, err := client.Dial(ctxT(t), e.api.WSURL("/ws"), client.DialOptions{Token: tok})
		var de *client.DialError
		if !asDialError(err, &de) || de.Status != 401 {
			t.Fatalf("token %q: %v, want 401", tok, err)
		}
	}
}

func TestShutdownCloses1001(t *testing.T) {
	e := setup(t, nil, nil)
	_, tok := e.user("alice")
	c, _ := e.dial(tok)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, chat.CloseGoingAway)
}

// TestConcurrentRetriesOneRowEach: 50 clients send the same 10
// clientMessageIds at once, each several times; one row per id.
func TestConcurrentRetriesOneRowEach(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSRate = 1000; c.WSBurst = 1000; c.WSMaxSocketsPerUser = 50 }, nil)
	aliceID, aliceTok := e.user("alice")
	bobID, _ := e.user("bob")
	var wg sync.WaitGroup
	acks := make(chan client.Frame, 50*10*2)
	for i := 0; i < 50; i++ {
		c, _ := e.dial(aliceTok)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 2; round++ {
				for k := 0; k < 10; k++ {
					_ = c.SendMessage(context.Background(), fmt.Sprintf("same-%d", k), bobID, "x")
				}
			}
			for k := 0; k < 20; k++ {
				f, err := c.WaitFor(ctxT(t), client.OfType(chat.TypeMessageAck))
				if err != nil {
					t.Error(err)
					return
				}
				acks <- f
			}
		}()
	}
	wg.Wait()
	close(acks)
	ids := map[string]string{}
	for f := range acks {
		if prev, ok := ids[f.ClientMessageID]; ok && prev != f.MessageID {
			t.Fatalf("%s acked as %s and %s", f.ClientMessageID, prev, f.MessageID)
		}
		ids[f.ClientMessageID] = f.MessageID
	}
	msgs, err := e.store.Conversation(ctxT(t), store.Page{UserA: aliceID, UserB: bobID, Limit: 1000})
	if err != nil || len(msgs) != 10 || len(ids) != 10 {
		t.Fatalf("%d rows, %d ids (%v), want 10", len(msgs), len(ids), err)
	}
}
