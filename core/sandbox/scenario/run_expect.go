package scenario

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/history"
	"github.com/dmchat/dmchat/core/store"
)

func (s *expectFrameStep) run(ctx context.Context, x *execution) (string, error) {
	want, order, err := x.expandMatchers(s.match)
	if err != nil {
		return "", err
	}
	what := describeWant(s.typ, want, order)
	switch {
	case s.raw:
		return x.expectRawFrame(ctx, s, want, what)
	case s.count >= 0:
		return x.expectReceived(ctx, s, want, what)
	}
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	connID := u.ConnID()
	if x.consumed[connID] == nil {
		x.consumed[connID] = map[string]int{}
	}
	// pred may still be called by the socket's reader after WaitFrame
	// returned: it reads only its own copy of the consumed counts.
	already := make(map[string]int, len(x.consumed[connID]))
	for k, v := range x.consumed[connID] {
		already[k] = v
	}
	var mu sync.Mutex
	seen := map[string]int{}
	pred := func(f client.Frame) bool {
		if !frameMatches(f, s.typ, want) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		seen[string(f.Raw)]++
		return seen[string(f.Raw)] > already[string(f.Raw)]
	}
	d := x.within(s.within)
	if s.absent {
		d = s.within
		if d <= 0 {
			d = DefaultAbsence
		}
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	f, err := u.WaitFrame(wctx, pred)
	if s.absent {
		switch {
		case err == nil:
			return "", fmt.Errorf("%s got %s on %s", s.user, describeFrame(f), connID)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil,
			errors.Is(err, sandbox.ErrConnectionEnded), errors.Is(err, sandbox.ErrNotConnected):
			return fmt.Sprintf("none on %s for %s", connID, d), nil
		}
		return "", err
	}
	if err != nil {
		why := "timed out after " + d.String()
		switch {
		case errors.Is(err, sandbox.ErrConnectionEnded):
			why = "the connection ended"
		case errors.Is(err, sandbox.ErrNotConnected):
			why = s.user + " never connected"
		case !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			why = err.Error()
		}
		return "", fmt.Errorf("no %s on %s: %s; last frames: %s", what, connID, why, lastFrames(u.Frames(), 4))
	}
	x.consumed[connID][string(f.Raw)]++
	return describeFrame(f), nil
}

// lastFrames lists the last n frames.
func lastFrames(fs []client.Frame, n int) string {
	if len(fs) == 0 {
		return "none"
	}
	if len(fs) > n {
		fs = fs[len(fs)-n:]
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = describeFrame(f)
	}
	return strings.Join(parts, " ")
}

// historyFrames rebuilds, from the history, the frames a user received on
// its simulated sockets: every field the history keeps (not content or
// createdAt).
func historyFrames(events []history.Event, userID string) []client.Frame {
	var out []client.Frame
	for _, e := range events {
		if e.User != userID || strings.HasPrefix(e.Conn, rawConnPrefix) {
			continue
		}
		var f chat.OutFrame
		switch e.Kind {
		case history.Receive:
			f = chat.OutFrame{Type: chat.TypeMessage, MessageID: e.MessageID, SenderID: e.Peer, RecipientID: e.User}
		case history.Ack:
			f = chat.OutFrame{Type: chat.TypeMessageAck, ClientMessageID: e.ClientMessageID, MessageID: e.MessageID, State: chat.StateSent}
		case history.StateChange:
			f = chat.OutFrame{Type: chat.TypeMessageState, MessageID: e.MessageID, State: chat.StateDelivered}
		case history.ReplayDone:
			n := e.Count
			f = chat.OutFrame{Type: chat.TypeReplayDone, Count: &n}
		case history.ErrorFrame:
			f = chat.OutFrame{Type: chat.TypeError, Code: e.Code, ClientMessageID: e.ClientMessageID, MessageID: e.MessageID, Message: e.Detail}
		default:
			continue
		}
		out = append(out, client.Frame{OutFrame: f, Raw: f.Encode()})
	}
	return out
}

func (x *execution) expectReceived(ctx context.Context, s *expectFrameStep, want map[string]string, what string) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	count := func() int {
		n := 0
		for _, f := range historyFrames(x.c.History().Events(), u.ID()) {
			if frameMatches(f, s.typ, want) {
				n++
			}
		}
		return n
	}
	n := 0
	err = poll(ctx, x.within(s.within), func() (bool, string, error) {
		n = count()
		if n > s.count {
			return false, "", fmt.Errorf("%s received %d %s, want %d", s.user, n, what, s.count)
		}
		return n == s.count, fmt.Sprintf("%s received %d %s, want %d", s.user, n, what, s.count), nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d received", n), nil
}

func (s *expectClosedStep) run(ctx context.Context, x *execution) (string, error) {
	if s.raw {
		return x.expectRawClosed(ctx, s)
	}
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	err = poll(ctx, x.within(s.within), func() (bool, string, error) {
		code, ok := u.LastClose()
		switch {
		case !ok && u.Connected():
			return false, u.ConnID() + " is still open", nil
		case !ok:
			return false, s.user + " never had a connection end", nil
		case code != s.code:
			return false, fmt.Sprintf("%s closed with %d", u.ConnID(), code), nil
		}
		return true, "", nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s closed with %d", u.ConnID(), s.code), nil
}

func (s *expectStateStep) run(ctx context.Context, x *execution) (string, error) {
	l, ok := x.labels[s.label]
	if !ok {
		return "", fmt.Errorf("%s is not known (its send step failed?)", s.label)
	}
	err := poll(ctx, x.within(s.within), func() (bool, string, error) {
		e, err := x.outbox(l)
		if err != nil {
			return false, "", err
		}
		return e.State == s.state, fmt.Sprintf("%s is %s to %s", s.label, e.State, l.sender), nil
	})
	if err != nil {
		return "", err
	}
	return "", nil
}

// storedRows returns every stored row of (sender, cmid) in the sender's
// conversation with recipient.
func storedRows(ctx context.Context, st store.Store, senderID, recipientID, cmid string) ([]chat.Message, error) {
	var out []chat.Message
	before := ""
	for {
		page, err := st.Conversation(ctx, store.Page{UserA: senderID, UserB: recipientID, BeforeID: before, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if m.SenderID == senderID && m.ClientMessageID == cmid {
				out = append(out, m)
			}
		}
		if len(page) < 200 {
			return out, nil
		}
		before = page[len(page)-1].ID
	}
}

func (s *expectStoredStep) run(ctx context.Context, x *execution) (string, error) {
	l, ok := x.labels[s.label]
	if !ok {
		return "", fmt.Errorf("%s is not known (its send step failed?)", s.label)
	}
	from, err := x.user(l.sender)
	if err != nil {
		return "", err
	}
	to, err := x.user(l.recipient)
	if err != nil {
		return "", err
	}
	var content string
	if s.content != nil {
		if content, err = x.expand(*s.content); err != nil {
			return "", err
		}
	}
	var rows []chat.Message
	err = poll(ctx, x.within(s.within), func() (bool, string, error) {
		var err error
		rows, err = storedRows(ctx, x.c.Store(), from.ID(), to.ID(), l.cmid)
		if err != nil {
			return false, "", err
		}
		if s.rows >= 0 && len(rows) != s.rows {
			return false, fmt.Sprintf("%d row(s) for %s, want %d", len(rows), l.cmid, s.rows), nil
		}
		if len(rows) == 0 {
			return false, "no row for " + l.cmid, nil
		}
		m := rows[0]
		if s.delivered != nil && m.Delivered() != *s.delivered {
			return false, fmt.Sprintf("row %s delivered=%v", m.ID, m.Delivered()), nil
		}
		if s.content != nil && m.Content != content {
			return false, fmt.Sprintf("row %s content %q", m.ID, m.Content), nil
		}
		return true, "", nil
	})
	if err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "no rows", nil
	}
	return fmt.Sprintf("%d row(s); messageId %s, delivered=%v", len(rows), rows[0].ID, rows[0].Delivered()), nil
}

func (s *expectInboxStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	mid, err := x.messageID(s.label)
	if err != nil {
		return "", err
	}
	find := func() (sandbox.InboxEntry, bool) {
		for _, e := range u.Inbox() {
			if e.MessageID == mid {
				return e, true
			}
		}
		return sandbox.InboxEntry{}, false
	}
	if s.absent {
		d := s.within
		if d <= 0 {
			d = DefaultAbsence
		}
		err := poll(ctx, d, func() (bool, string, error) {
			if _, ok := find(); ok {
				return false, "", fmt.Errorf("%s received %s (messageId %s)", s.user, s.label, mid)
			}
			return false, "", nil
		})
		if err != nil && !errors.Is(err, errTimeout) {
			return "", err
		}
		return fmt.Sprintf("not received for %s", d), nil
	}
	var e sandbox.InboxEntry
	err = poll(ctx, x.within(s.within), func() (bool, string, error) {
		var ok bool
		e, ok = find()
		switch {
		case !ok:
			return false, fmt.Sprintf("%s has not received %s (messageId %s)", s.user, s.label, mid), nil
		case s.replayed != nil && e.Replayed != *s.replayed:
			return false, fmt.Sprintf("%s: replayed=%v", s.label, e.Replayed), nil
		case s.duplicates >= 0 && e.Duplicates != s.duplicates:
			return false, fmt.Sprintf("%s arrived %d more time(s)", s.label, e.Duplicates), nil
		}
		return true, "", nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("messageId %s, replayed=%v, duplicates=%d", mid, e.Replayed, e.Duplicates), nil
}

// recordKey identifies a log record for "matched once".
func recordKey(r logging.Record) string {
	return fmt.Sprintf("%d|%s|%s|%s|%v", r.Time.UnixNano(), r.InstanceID, r.Logger, r.Event, r.Fields)
}

func loggerMatches(got, want string) bool {
	return got == want || strings.HasPrefix(got, want+".")
}

func fieldString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	}
	return fmt.Sprint(v)
}

func recordMatches(r logging.Record, inst, logger, event string, want map[string]string) bool {
	if r.Event != event || r.InstanceID != inst || !loggerMatches(r.Logger, logger) {
		return false
	}
	for k, v := range want {
		got, ok := r.Fields[k]
		if !ok || fieldString(got) != v {
			return false
		}
	}
	return true
}

func describeRecord(r logging.Record) string {
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+fieldString(r.Fields[k]))
	}
	return fmt.Sprintf("[%s] [%s] %s {%s}", r.InstanceID, r.Logger, r.Event, strings.Join(parts, " "))
}

func (s *expectLogStep) run(ctx context.Context, x *execution) (string, error) {
	want, _, err := x.expandMatchers(s.match)
	if err != nil {
		return "", err
	}
	already := make(map[string]bool, len(x.logConsumed))
	for k := range x.logConsumed {
		already[k] = true
	}
	pred := func(r logging.Record) bool {
		return recordMatches(r, s.instance, s.logger, s.event, want) && (s.absent || !already[recordKey(r)])
	}
	d := x.within(s.within)
	if s.absent {
		d = s.within
		if d <= 0 {
			d = DefaultAbsence
		}
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	r, err := x.c.Logs().Wait(wctx, pred)
	if s.absent {
		switch {
		case err == nil:
			return "", fmt.Errorf("logged: %s", describeRecord(r))
		case ctx.Err() == nil:
			return fmt.Sprintf("not logged for %s", d), nil
		}
		return "", err
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		// Show what came close: the same event with other fields, or on
		// another instance.
		var near []string
		for _, r := range x.c.Logs().Snapshot() {
			if r.Event == s.event && len(near) < 3 {
				near = append(near, describeRecord(r))
			}
		}
		hint := "no " + s.event + " logged at all"
		if len(near) > 0 {
			hint = "logged instead: " + strings.Join(near, "; ")
		}
		return "", fmt.Errorf("no [%s] [%s] %s with %v within %s; %s", s.instance, s.logger, s.event, want, d, hint)
	}
	x.logConsumed[recordKey(r)] = true
	return describeRecord(r), nil
}
