package sandbox

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// testTimeout bounds every wait of one test.
const testTimeout = 15 * time.Second

// setup starts a cluster with o (3 users, quick retries unless set) and
// closes it at the end of the test.
func setup(t *testing.T, o Options) (*Cluster, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	if o.Users == 0 {
		o.Users = 3
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = 300 * time.Millisecond
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	c, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c, ctx
}

// connect connects u to instance and waits for its REPLAY_DONE.
func connect(t *testing.T, ctx context.Context, u *SimUser, instance string) {
	t.Helper()
	if err := u.Connect(ctx, instance); err != nil {
		t.Fatalf("%s Connect %s: %v", u.Name(), instance, err)
	}
	if err := u.WaitReady(ctx); err != nil {
		t.Fatalf("%s WaitReady: %v", u.Name(), err)
	}
}

// waitMessage waits for a MESSAGE frame with messageID mid (any, when "").
func waitMessage(t *testing.T, ctx context.Context, u *SimUser, mid string) client.Frame {
	t.Helper()
	f, err := u.WaitFrame(ctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessage && (mid == "" || f.MessageID == mid)
	})
	if err != nil {
		t.Fatalf("%s waiting for MESSAGE %s: %v", u.Name(), mid, err)
	}
	return f
}

// sendAcked sends and waits for the MESSAGE_ACK, returning the messageId.
func sendAcked(t *testing.T, ctx context.Context, from *SimUser, to, content string) (cmid, mid string) {
	t.Helper()
	cmid, err := from.Send(ctx, to, content)
	if err != nil {
		t.Fatalf("%s Send: %v", from.Name(), err)
	}
	f, err := from.WaitFrame(ctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessageAck && f.ClientMessageID == cmid
	})
	if err != nil {
		t.Fatalf("%s waiting for MESSAGE_ACK: %v", from.Name(), err)
	}
	return cmid, f.MessageID
}

// waitLog waits for a log record of event on instance with messageId mid
// (any when "").
func waitLog(t *testing.T, ctx context.Context, c *Cluster, since int64, instance, logger, event, mid string) logging.Record {
	t.Helper()
	match := EventFrom(instance, logger, event)
	r, err := c.Logs().WaitSince(ctx, since, func(r logging.Record) bool {
		return match(r) && (mid == "" || r.String("messageId") == mid)
	})
	if err != nil {
		t.Fatalf("waiting for %s %s/%s %s: %v", instance, logger, event, mid, err)
	}
	return r
}

// waitEnded waits until u's current connection has ended.
func waitEnded(t *testing.T, ctx context.Context, u *SimUser) int {
	t.Helper()
	if _, err := u.WaitFrame(ctx, func(client.Frame) bool { return false }); !errors.Is(err, ErrConnectionEnded) {
		t.Fatalf("%s: waiting for the connection to end: %v", u.Name(), err)
	}
	code, ok := u.LastClose()
	if !ok {
		t.Fatalf("%s: LastClose not set after the end", u.Name())
	}
	return code
}

// historyOf returns the events of kind about messageID (any when "").
func historyOf(c *Cluster, kind history.Kind, messageID string) []history.Event {
	var out []history.Event
	for _, ev := range c.History().Events() {
		if ev.Kind == kind && (messageID == "" || ev.MessageID == messageID) {
			out = append(out, ev)
		}
	}
	return out
}

func TestDMAcrossInstances(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")

	cmid, mid := sendAcked(t, ctx, alice, "user2", "hello bob")
	f := waitMessage(t, ctx, bob, mid)
	if f.Content != "hello bob" || f.SenderID != alice.ID() {
		t.Fatalf("bob got %+v", f.OutFrame)
	}
	waitLog(t, ctx, c, 0, "A", "RedisBus", "chat_message_published", mid)
	waitLog(t, ctx, c, 0, "B", "RedisBusHandler", "chat_message_delivered", mid)
	if _, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessageState && f.MessageID == mid
	}); err != nil {
		t.Fatalf("alice waiting for MESSAGE_STATE: %v", err)
	}

	out, ok := alice.OutboxEntry(cmid)
	if !ok || out.State != OutDelivered || out.MessageID != mid || out.To != "user2" || out.Attempts != 1 {
		t.Fatalf("alice outbox %+v", out)
	}
	in := bob.Inbox()
	if len(in) != 1 || in[0].MessageID != mid || in[0].From != "user1" || in[0].Replayed || !in[0].Acked {
		t.Fatalf("bob inbox %+v", in)
	}
	// History: Send first; Receive, DeliveryAck, StateChange in that order;
	// Ack (alice's reader) anywhere after Send.
	var kinds []history.Kind
	for _, ev := range c.History().Events() {
		if ev.ClientMessageID == cmid || ev.MessageID == mid {
			kinds = append(kinds, ev.Kind)
		}
	}
	others := slices.DeleteFunc(slices.Clone(kinds), func(k history.Kind) bool { return k == history.Ack })
	if len(kinds) != 5 || kinds[0] != history.Send ||
		!slices.Equal(others, []history.Kind{history.Send, history.Receive, history.DeliveryAck, history.StateChange}) {
		t.Fatalf("history kinds %v", kinds)
	}
	conns := historyOf(c, history.Connect, "")
	if len(conns) != 2 || conns[0].Conn != "user1#1" || conns[1].Conn != "user2#1" || conns[1].Instance != "B" {
		t.Fatalf("connect events %+v", conns)
	}

	st := c.Status()
	if len(st) != 2 || st[0].Name != "A" || !st[0].Listening || st[0].Bus != "connected" || st[0].Sockets != 1 ||
		st[0].Stored != 1 || st[1].Delivered != 1 {
		t.Fatalf("status %+v", st)
	}
	if f := c.Faults(); len(f) != 0 {
		t.Fatalf("faults %v", f)
	}
}

func TestBanFromAKicksOnB(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	admin, bob := c.User(DefaultAdminName), c.User("user2")
	if !admin.IsAdmin() || bob.IsAdmin() {
		t.Fatalf("roles: admin %v, bob %v", admin.IsAdmin(), bob.IsAdmin())
	}
	connect(t, ctx, bob, "B")
	if err := c.User("user1").Ban(ctx, "A", "user2"); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("ban by a user: %v", err)
	}

	if err := admin.Ban(ctx, "A", "user2"); err != nil {
		t.Fatalf("Ban: %v", err)
	}
	if _, err := bob.WaitFrame(ctx, client.ErrorFor(chat.CodeBanned)); err != nil {
		t.Fatalf("waiting for ERROR BANNED: %v", err)
	}
	if code := waitEnded(t, ctx, bob); code != chat.CloseBanned {
		t.Fatalf("close code %d, want 4003", code)
	}
	bans := historyOf(c, history.Ban, "")
	if len(bans) != 1 || bans[0].User != bob.ID() || bans[0].Instance != "A" {
		t.Fatalf("ban events %+v", bans)
	}
	discs := historyOf(c, history.Disconnect, "")
	if len(discs) != 1 || discs[0].CloseCode != chat.CloseBanned || discs[0].Conn != "user2#1" {
		t.Fatalf("disconnect events %+v", discs)
	}
	users, err := c.UserList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(users, func(u node.UserStatus) bool { return u.Username == "user2" }); i < 0 || !users[i].Banned {
		t.Fatalf("user list %+v", users)
	}

	// Reconnecting while banned: ERROR BANNED first, then 4003.
	if err := bob.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.WaitReady(ctx); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Fatalf("WaitReady of a banned user: %v", err)
	}
	if code := waitEnded(t, ctx, bob); code != chat.CloseBanned {
		t.Fatalf("close code %d, want 4003", code)
	}

	// Unban from B; the user connects on A again.
	if err := admin.Unban(ctx, "B", "user2"); err != nil {
		t.Fatal(err)
	}
	connect(t, ctx, bob, "A")
	if n := len(historyOf(c, history.Unban, "")); n != 1 {
		t.Fatalf("%d unban events", n)
	}
}

func TestRedisStopSameInstance(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "A")

	c.StopRedis()
	if c.RedisUp() || !slices.Contains(c.Faults(), "redis down") {
		t.Fatalf("RedisUp %v, faults %v", c.RedisUp(), c.Faults())
	}
	waitLog(t, ctx, c, 0, "A", "RedisBus", "bus_lost", "")
	_, mid := sendAcked(t, ctx, alice, "user2", "still here")
	waitMessage(t, ctx, bob, mid)
	if faults := historyOf(c, history.Fault, ""); len(faults) != 1 || faults[0].Detail != "redis_stop" {
		t.Fatalf("fault events %+v", faults)
	}
}

func TestRedisOutageCrossInstance(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")

	c.StopRedis()
	waitLog(t, ctx, c, 0, "A", "RedisBus", "bus_lost", "")
	waitLog(t, ctx, c, 0, "B", "RedisBus", "bus_lost", "")
	_, mid := sendAcked(t, ctx, alice, "user2", "sent during the outage")

	mark := c.Logs().Total()
	addr := c.RedisAddr()
	if err := c.StartRedis(); err != nil {
		t.Fatal(err)
	}
	if c.RedisAddr() != addr || !c.RedisUp() {
		t.Fatalf("redis restarted at %s (was %s), up %v", c.RedisAddr(), addr, c.RedisUp())
	}
	waitLog(t, ctx, c, mark, "B", "RedisBus", "bus_restored", "")
	// Delivered on the connection open since before the outage.
	f := waitMessage(t, ctx, bob, mid)
	if f.Content != "sent during the outage" || bob.ConnID() != "user2#1" {
		t.Fatalf("got %+v on %s", f.OutFrame, bob.ConnID())
	}
	// Not checked: alice's MESSAGE_STATE. Bob acks as soon as B's catch-up
	// pushes the message, possibly before A's bus is back, and nothing
	// re-sends a state the bus lost (the contract does not promise it).
}

func TestAckDropReplay(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")
	bob.DropDeliveryAcks(1)
	if got := bob.Toggles(); got != "drops next 1 acks" {
		t.Fatalf("toggles %q", got)
	}
	if !slices.Contains(c.Faults(), "user2 drops next 1 acks") {
		t.Fatalf("faults %v", c.Faults())
	}

	cmid, mid := sendAcked(t, ctx, alice, "user2", "drop my ack")
	waitMessage(t, ctx, bob, mid)
	if n := len(historyOf(c, history.AckDropped, mid)); n != 1 {
		t.Fatalf("%d AckDropped events", n)
	}
	if bob.Toggles() != "" {
		t.Fatalf("toggles after the drop: %q", bob.Toggles())
	}

	if err := bob.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	f := waitMessage(t, ctx, bob, mid) // the replay, on the new connection
	if _, err := bob.WaitFrame(ctx, client.OfType(chat.TypeReplayDone)); err != nil {
		t.Fatal(err)
	}
	if f.Content != "drop my ack" {
		t.Fatalf("replayed %+v", f.OutFrame)
	}
	if _, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessageState && f.MessageID == mid
	}); err != nil {
		t.Fatalf("alice waiting for MESSAGE_STATE: %v", err)
	}
	// A second message, acked normally, is a fence: by its MESSAGE_STATE,
	// any repeated state of the first would have arrived.
	_, mid2 := sendAcked(t, ctx, alice, "user2", "fence")
	if _, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessageState && f.MessageID == mid2
	}); err != nil {
		t.Fatal(err)
	}

	if n := len(historyOf(c, history.StateChange, mid)); n != 1 {
		t.Fatalf("%d MESSAGE_STATE for the dropped ack's message, want 1", n)
	}
	if n := len(historyOf(c, history.DuplicateDrop, mid)); n != 1 {
		t.Fatalf("%d duplicate drops", n)
	}
	recv := historyOf(c, history.Receive, mid)
	if len(recv) != 2 || recv[0].Replay || !recv[1].Replay || recv[1].Conn != "user2#2" {
		t.Fatalf("receive events %+v", recv)
	}
	in := bob.Inbox()
	if len(in) != 2 || in[0].MessageID != mid || in[0].Duplicates != 1 || !in[0].Acked {
		t.Fatalf("bob inbox %+v", in)
	}
	if out, _ := alice.OutboxEntry(cmid); out.State != OutDelivered {
		t.Fatalf("alice outbox %+v", out)
	}
	m, err := c.Store().MessageByID(ctx, mid)
	if err != nil || !m.Delivered() {
		t.Fatalf("stored %+v %v", m, err)
	}
}

func TestLoseMessageAcks(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")
	alice.LoseMessageAcks(1)

	cmid, err := alice.Send(ctx, "user2", "retry me")
	if err != nil {
		t.Fatal(err)
	}
	// The first MESSAGE_ACK is ignored; the retry gets a second one.
	acks := 0
	f, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
		if f.Type == chat.TypeMessageAck && f.ClientMessageID == cmid {
			acks++
		}
		return acks == 2
	})
	if err != nil {
		t.Fatalf("waiting for the retry's MESSAGE_ACK: %v", err)
	}
	out, _ := alice.OutboxEntry(cmid)
	if out.Attempts < 2 || out.State == OutPending || out.MessageID != f.MessageID {
		t.Fatalf("outbox %+v", out)
	}
	sends := historyOf(c, history.Send, "")
	if len(sends) < 2 || sends[1].ClientMessageID != cmid || sends[1].Attempt != 2 {
		t.Fatalf("send events %+v", sends)
	}
	if lost := historyOf(c, history.Ack, ""); len(lost) < 2 || !lost[0].LostOnPurpose || lost[1].LostOnPurpose {
		t.Fatalf("ack events %+v", lost)
	}
	waitMessage(t, ctx, bob, f.MessageID)

	msgs, err := c.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ClientMessageID != cmid || msgs[0].ID != f.MessageID {
		t.Fatalf("store rows %+v", msgs)
	}
	if len(bob.Inbox()) != 1 {
		t.Fatalf("bob inbox %+v", bob.Inbox())
	}
}

func TestStopStartInstance(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")
	addr := c.Instance("B").Addr()

	if err := c.StopInstance(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if code := waitEnded(t, ctx, bob); code != chat.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
	if c.Instance("B").Running() || c.Instance("B").Server() != nil || !slices.Contains(c.Faults(), "B stopped") {
		t.Fatalf("B running %v, faults %v", c.Instance("B").Running(), c.Faults())
	}
	if st := c.Status(); st[1].Listening || st[1].Bus != "stopped" {
		t.Fatalf("status %+v", st)
	}
	if err := bob.Connect(ctx, "B"); !errors.Is(err, ErrInstanceStopped) {
		t.Fatalf("connect to a stopped instance: %v", err)
	}
	_, mid := sendAcked(t, ctx, alice, "user2", "while B was down")

	if err := c.StartInstance(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if c.Instance("B").Addr() != addr {
		t.Fatalf("B restarted on %s, was %s", c.Instance("B").Addr(), addr)
	}
	if err := c.StartInstance(ctx, "B"); !errors.Is(err, ErrInstanceRunning) {
		t.Fatalf("second start: %v", err)
	}
	if err := bob.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	f := waitMessage(t, ctx, bob, mid)
	if f.Content != "while B was down" {
		t.Fatalf("got %+v", f.OutFrame)
	}
	if len(c.Faults()) != 0 {
		t.Fatalf("faults %v", c.Faults())
	}
	var details []string
	for _, ev := range historyOf(c, history.Fault, "") {
		details = append(details, ev.Detail)
	}
	if !slices.Equal(details, []string{"instance_stop B", "instance_start B"}) {
		t.Fatalf("fault events %v", details)
	}
}

func TestRedisDownAtStart(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{RedisDown: true, RedisInitTimeout: 200 * time.Millisecond})
	for _, inst := range c.InstanceNames() {
		waitLog(t, ctx, c, 0, inst, "RedisBus", "init_timeout", "")
		waitLog(t, ctx, c, 0, inst, "RedisBus", "bus_disabled", "")
	}
	if !slices.Contains(c.Faults(), "redis down") {
		t.Fatalf("faults %v", c.Faults())
	}
	if st := c.Status(); st[0].Bus != "disabled" {
		t.Fatalf("status %+v", st)
	}
	mark := c.Logs().Total()
	if err := c.StartRedis(); err != nil {
		t.Fatal(err)
	}
	for _, inst := range c.InstanceNames() {
		waitLog(t, ctx, c, mark, inst, "RedisBus", "bus_connected", "")
	}
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")
	_, mid := sendAcked(t, ctx, alice, "user2", "bus is back")
	waitMessage(t, ctx, bob, mid)
	// Over the bus (B may push it by its own catch-up first, in which case
	// it logs no chat_message_delivered: only the publish is certain).
	waitLog(t, ctx, c, mark, "A", "RedisBus", "chat_message_published", mid)
}

func TestManualAckAndSnapshot(t *testing.T) {
	t.Parallel()
	logFile := t.TempDir() + "/sandbox.log"
	c, ctx := setup(t, Options{LogFile: logFile, Instances: []string{"X"}})
	if got := c.InstanceNames(); !slices.Equal(got, []string{"X"}) || c.Instance("A") != nil {
		t.Fatalf("instances %v", got)
	}
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "X")
	connect(t, ctx, bob, "X")
	bob.SetAutoAck(false)
	if bob.Toggles() != "auto-ack off" {
		t.Fatalf("toggles %q", bob.Toggles())
	}
	_, mid := sendAcked(t, ctx, alice, "user2", "ack me by hand")
	waitMessage(t, ctx, bob, mid)
	if in := bob.Inbox(); len(in) != 1 || in[0].Acked {
		t.Fatalf("inbox %+v", in)
	}
	if err := bob.AckPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessageState && f.MessageID == mid
	}); err != nil {
		t.Fatal(err)
	}
	if err := alice.Burst(ctx, 5, []string{"user2", "user3"}); err != nil {
		t.Fatal(err)
	}
	// Every burst send is acked.
	for _, out := range alice.Outbox() {
		if _, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
			return f.Type == chat.TypeMessageAck && f.ClientMessageID == out.ClientMessageID
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SnapshotStore(ctx); err != nil {
		t.Fatal(err)
	}
	stored := historyOf(c, history.Stored, "")
	if len(stored) != 6 || stored[0].MessageID != mid || !stored[0].Delivered || stored[0].User != alice.ID() {
		t.Fatalf("stored events %+v", stored)
	}

	if _, err := alice.Send(ctx, "nobody", "x"); !errors.Is(err, ErrUnknownUser) {
		t.Fatalf("send to an unknown user: %v", err)
	}
	alice.Disconnect()
	if _, err := alice.Send(ctx, "user2", "x"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send while disconnected: %v", err)
	}
	if _, err := c.CreateUser(ctx, "user1", false); !errors.Is(err, ErrUserExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"msg":"listening"`) || !strings.Contains(string(data), `"instanceId":"X"`) ||
		strings.Contains(string(data), "ack me by hand") {
		t.Fatalf("log file:\n%s", data)
	}
}

func TestMoveAndPacedBurst(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob, carol := c.User("user1"), c.User("user2"), c.User("user3")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "A")
	connect(t, ctx, carol, "B")
	if err := bob.Move(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := bob.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if bob.Instance() != "B" || bob.ConnID() != "user2#2" || !bob.Connected() {
		t.Fatalf("after Move: %s %s %v", bob.Instance(), bob.ConnID(), bob.Connected())
	}
	if code, ok := bob.LastClose(); ok {
		t.Fatalf("LastClose while connected: %d", code)
	}
	discs := historyOf(c, history.Disconnect, "")
	if len(discs) != 1 || discs[0].Detail != "client closed" || discs[0].CloseCode != 0 || discs[0].Instance != "A" {
		t.Fatalf("disconnect events %+v", discs)
	}

	// More than the server's burst of 40 in one go: the user's own pacing
	// keeps every send under the limit, so none is RATE_LIMITED.
	const n = 60
	if err := alice.Burst(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	outbox := alice.Outbox()
	if len(outbox) != n {
		t.Fatalf("%d outbox entries", len(outbox))
	}
	for _, out := range outbox {
		if out.To != "user2" && out.To != "user3" {
			t.Fatalf("burst to %q", out.To)
		}
		if _, err := alice.WaitFrame(ctx, func(f client.Frame) bool {
			return f.Type == chat.TypeMessageAck && f.ClientMessageID == out.ClientMessageID
		}); err != nil {
			t.Fatal(err)
		}
	}
	if errs := historyOf(c, history.ErrorFrame, ""); len(errs) != 0 {
		t.Fatalf("errors during the burst: %+v", errs)
	}
	got := len(bob.Inbox()) + len(carol.Inbox())
	for got < n {
		// Deliveries trail the acks; wait for the rest by frames.
		who := bob
		if len(carol.Inbox()) < countTo(outbox, "user3") {
			who = carol
		}
		if _, err := who.WaitFrame(ctx, func(client.Frame) bool {
			return len(bob.Inbox())+len(carol.Inbox()) > got
		}); err != nil {
			t.Fatal(err)
		}
		got = len(bob.Inbox()) + len(carol.Inbox())
	}
	if len(alice.Frames()) > FramesKept {
		t.Fatalf("Frames kept %d", len(alice.Frames()))
	}
}

func countTo(out []OutboxEntry, name string) int {
	n := 0
	for _, e := range out {
		if e.To == name {
			n++
		}
	}
	return n
}

func TestDurableStoreReused(t *testing.T) {
	t.Parallel()
	uri := "sqlite:" + t.TempDir() + "/sandbox.db"
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Start(ctx, Options{DBURI: uri, Users: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	alice := c.User("user1")
	connect(t, ctx, alice, "A")
	_, _ = sendAcked(t, ctx, alice, "user2", "kept")
	id := alice.ID()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// A second run on the same file logs the same users in again and
	// finds the message waiting.
	c2, err := Start(ctx, Options{DBURI: uri, Users: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c2.Close(); err != nil {
			t.Error(err)
		}
	}()
	if c2.User("user1").ID() != id {
		t.Fatalf("user1 is %s, was %s", c2.User("user1").ID(), id)
	}
	bob := c2.User("user2")
	connect(t, ctx, bob, "B")
	if in := bob.Inbox(); len(in) != 1 || !in[0].Replayed || in[0].Content != "kept" {
		t.Fatalf("inbox %+v", in)
	}
}

func TestBusFaults(t *testing.T) {
	t.Parallel()
	c, ctx := setup(t, Options{})
	alice, bob := c.User("user1"), c.User("user2")
	connect(t, ctx, alice, "A")
	connect(t, ctx, bob, "B")

	// Latency: the message still arrives live, later.
	c.SetBusFault(BusFault{Latency: 100 * time.Millisecond})
	if !slices.Contains(c.Faults(), "bus latency 100ms") {
		t.Fatalf("faults %v", c.Faults())
	}
	_, mid := sendAcked(t, ctx, alice, "user2", "slow")
	f := waitMessage(t, ctx, bob, mid)
	if f.Content != "slow" || bob.ConnID() != "user2#1" {
		t.Fatalf("got %+v", f.OutFrame)
	}

	// Total loss: the message only reaches bob by replay.
	c.SetBusFault(BusFault{DropRate: 1})
	_, mid2 := sendAcked(t, ctx, alice, "user2", "lost on the bus")
	c.SetBusFault(BusFault{})
	if len(c.Faults()) != 0 {
		t.Fatalf("faults %v", c.Faults())
	}
	if err := bob.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, ctx, bob, mid2)
	recv := historyOf(c, history.Receive, mid2)
	if len(recv) != 1 || !recv[0].Replay || recv[0].Conn != "user2#2" {
		t.Fatalf("receive events %+v", recv)
	}
	var details []string
	for _, ev := range historyOf(c, history.Fault, "") {
		details = append(details, ev.Detail)
	}
	if !slices.Equal(details, []string{"bus latency 100ms", "bus drop 100%", "bus_ok"}) {
		t.Fatalf("fault events %v", details)
	}
}
