package history

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rules the checker enforces, as named in violations.
const (
	// RuleOneRow: exactly one stored row per (sender, clientMessageId), and
	// every MESSAGE_ACK for it carries that row's messageId.
	RuleOneRow = "one-row-per-send"
	// RuleAckedStored: a message acknowledged with MESSAGE_ACK is in the
	// store (the ack means durable).
	RuleAckedStored = "acked-is-stored"
	// RuleDeliveredAfterAck: DELIVERED (MESSAGE_STATE, or the stored flag)
	// only after the recipient's DELIVERY_ACK.
	RuleDeliveredAfterAck = "delivered-after-recipient-ack"
	// RuleDeliveredOnce: MESSAGE_STATE DELIVERED reaches the sender once.
	RuleDeliveredOnce = "delivered-at-most-once"
	// RuleNoRepeat: never the same message twice on one connection while
	// its DELIVERY_ACK is pending.
	RuleNoRepeat = "no-repeat-on-connection"
	// RuleReplayOrder: a replay is oldest first and REPLAY_DONE counts it.
	RuleReplayOrder = "replay-oldest-first"
	// RuleReached: a stored message not yet DELIVERED is replayed to every
	// connection of its recipient opened after it was stored.
	RuleReached = "stored-reaches-recipient"
	// RuleBanned: a banned user receives no message stored after the ban.
	RuleBanned = "banned-receives-nothing"
)

// Defaults of CheckOptions.
const (
	// DefaultBanGrace is how long after a ban another instance may still
	// push to the target (the kick travels over the bus).
	DefaultBanGrace = time.Second
	// DefaultOutageBanGrace is how long after Redis comes back a ban made
	// during the outage may take to reach the other instances (the
	// protocol's 5 s, plus slack).
	DefaultOutageBanGrace = 6 * time.Second
	// DefaultConnectMargin is how long before a Connect event a message
	// must have been acknowledged for the replay of that connection to be
	// required to hold it (Connect is recorded once the upgrade returned,
	// a little after the server may have read the store).
	DefaultConnectMargin = 250 * time.Millisecond
)

// CheckOptions tune Check. The zero value means the defaults above.
type CheckOptions struct {
	// Seed is the seed of the run, printed with violations so that the run
	// can be reproduced.
	Seed int64
	// Names maps user ids to names for readable output.
	Names map[string]string
	// BanGrace, OutageBanGrace and ConnectMargin: see the defaults.
	BanGrace       time.Duration
	OutageBanGrace time.Duration
	ConnectMargin  time.Duration
	// MaxPerRule caps the violations reported per rule; default 5.
	MaxPerRule int
}

// Violation is one broken guarantee, with the few events that show it.
type Violation struct {
	Rule    string  `json:"rule"`
	Message string  `json:"message"`
	Events  []Event `json:"events"`
}

// Result is what Check found.
type Result struct {
	// Events is how many events were checked; Messages how many distinct
	// messages they mention.
	Events   int `json:"events"`
	Messages int `json:"messages"`
	// Snapshot reports whether the history held the store's rows (Stored
	// events); the store-based rules are skipped without them.
	Snapshot   bool        `json:"snapshot"`
	Violations []Violation `json:"violations"`
	// Omitted counts violations left out by MaxPerRule.
	Omitted int   `json:"omitted,omitempty"`
	Seed    int64 `json:"seed"`

	names map[string]string
}

// OK reports whether no guarantee was broken.
func (r *Result) OK() bool { return len(r.Violations) == 0 }

// Check checks a history against the protocol's guarantees. events must be
// in Seq order, as Recorder.Events returns them; the store's rows (Stored
// events, from a final snapshot) enable the store-based rules. It never
// fails: problems are returned as violations.
func Check(events []Event, o CheckOptions) *Result {
	if o.BanGrace <= 0 {
		o.BanGrace = DefaultBanGrace
	}
	if o.OutageBanGrace <= 0 {
		o.OutageBanGrace = DefaultOutageBanGrace
	}
	if o.ConnectMargin <= 0 {
		o.ConnectMargin = DefaultConnectMargin
	}
	if o.MaxPerRule <= 0 {
		o.MaxPerRule = 5
	}
	ck := &checker{o: o, ev: events, res: &Result{Events: len(events), Seed: o.Seed, names: o.Names}}
	ck.index()
	ck.oneRow()
	ck.ackedStored()
	ck.deliveredAfterAck()
	ck.deliveredOnce()
	ck.noRepeat()
	ck.replayOrder()
	ck.reached()
	ck.banned()
	ck.bannedOnlyError()
	ck.senderTold()
	ck.outageCatchUp()
	ck.res.Messages = len(ck.msgs)
	return ck.res
}

type sendKey struct{ sender, cmid string }

// msgInfo is what the history tells about one messageId.
type msgInfo struct {
	id        string
	sender    string
	recipient string
	cmid      string
	firstSend *Event // first Send attempt of (sender, cmid)
	firstAck  *Event // first MESSAGE_ACK carrying the id
	stored    *Event
}

type checker struct {
	o   CheckOptions
	ev  []Event
	res *Result

	msgs      map[string]*msgInfo
	sends     map[sendKey][]*Event // Send attempts
	acks      map[sendKey][]*Event
	stored    map[sendKey][]*Event
	connects  map[string]*Event // by Conn
	perRule   map[string]int
	anyStored bool
}

func (ck *checker) report(rule, msg string, evs ...*Event) {
	if ck.perRule == nil {
		ck.perRule = map[string]int{}
	}
	ck.perRule[rule]++
	if ck.perRule[rule] > ck.o.MaxPerRule {
		ck.res.Omitted++
		return
	}
	v := Violation{Rule: rule, Message: msg}
	seen := map[int64]bool{}
	for _, e := range evs {
		if e != nil && !seen[e.Seq] {
			seen[e.Seq] = true
			v.Events = append(v.Events, *e)
		}
	}
	sort.Slice(v.Events, func(i, j int) bool { return v.Events[i].Seq < v.Events[j].Seq })
	ck.res.Violations = append(ck.res.Violations, v)
}

func (ck *checker) msg(id string) *msgInfo {
	m := ck.msgs[id]
	if m == nil {
		m = &msgInfo{id: id}
		ck.msgs[id] = m
	}
	return m
}

// index builds the per-message and per-send tables.
func (ck *checker) index() {
	ck.msgs = map[string]*msgInfo{}
	ck.sends = map[sendKey][]*Event{}
	ck.acks = map[sendKey][]*Event{}
	ck.stored = map[sendKey][]*Event{}
	ck.connects = map[string]*Event{}
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case Send:
			k := sendKey{e.User, e.ClientMessageID}
			ck.sends[k] = append(ck.sends[k], e)
		case Ack:
			k := sendKey{e.User, e.ClientMessageID}
			ck.acks[k] = append(ck.acks[k], e)
			if e.MessageID != "" {
				m := ck.msg(e.MessageID)
				m.sender, m.cmid = e.User, e.ClientMessageID
				if m.firstAck == nil {
					m.firstAck = e
				}
			}
		case Stored:
			ck.anyStored = true
			k := sendKey{e.User, e.ClientMessageID}
			ck.stored[k] = append(ck.stored[k], e)
			m := ck.msg(e.MessageID)
			m.sender, m.recipient, m.cmid, m.stored = e.User, e.Peer, e.ClientMessageID, e
		case Connect:
			if _, dup := ck.connects[e.Conn]; !dup {
				ck.connects[e.Conn] = e
			}
		case Receive:
			m := ck.msg(e.MessageID)
			if m.recipient == "" {
				m.recipient = e.User
			}
			if m.sender == "" {
				m.sender = e.Peer
			}
		}
	}
	ck.res.Snapshot = ck.anyStored
	for _, m := range ck.msgs {
		if m.cmid == "" {
			continue
		}
		k := sendKey{m.sender, m.cmid}
		if s := ck.sends[k]; len(s) > 0 {
			m.firstSend = s[0]
			if m.recipient == "" {
				m.recipient = s[0].Peer
			}
		}
	}
}

func (ck *checker) name(id string) string {
	if n, ok := ck.o.Names[id]; ok && n != "" {
		return n
	}
	if id == "" {
		return "?"
	}
	return id
}

// oneRow: one stored row per (sender, cmid); every ack of it carries one id.
func (ck *checker) oneRow() {
	keys := make([]sendKey, 0, len(ck.acks)+len(ck.stored))
	seen := map[sendKey]bool{}
	for k := range ck.acks {
		keys, seen[k] = append(keys, k), true
	}
	for k := range ck.stored {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].sender != keys[j].sender {
			return keys[i].sender < keys[j].sender
		}
		return keys[i].cmid < keys[j].cmid
	})
	for _, k := range keys {
		rows := ck.stored[k]
		if len(rows) > 1 {
			ck.report(RuleOneRow, fmt.Sprintf("%d stored rows for sender %s clientMessageId %s",
				len(rows), ck.name(k.sender), k.cmid), rows...)
			continue
		}
		acks := ck.acks[k]
		var first *Event
		for _, a := range acks {
			if a.MessageID == "" {
				continue
			}
			if first == nil {
				first = a
				continue
			}
			if a.MessageID != first.MessageID {
				ck.report(RuleOneRow, fmt.Sprintf("clientMessageId %s of %s acknowledged with messageId %s, then %s",
					k.cmid, ck.name(k.sender), first.MessageID, a.MessageID), first, a)
				first = nil
				break
			}
		}
		if first != nil && len(rows) == 1 && rows[0].MessageID != first.MessageID {
			ck.report(RuleOneRow, fmt.Sprintf("clientMessageId %s of %s acknowledged as messageId %s but stored as %s",
				k.cmid, ck.name(k.sender), first.MessageID, rows[0].MessageID), first, rows[0])
		}
	}
}

// ackedStored: with a snapshot, every acknowledged message is stored.
func (ck *checker) ackedStored() {
	if !ck.anyStored {
		return
	}
	for _, id := range ck.sortedIDs() {
		m := ck.msgs[id]
		if m.firstAck != nil && m.stored == nil {
			ck.report(RuleAckedStored, fmt.Sprintf("message %s was acknowledged to %s but is not in the store",
				id, ck.name(m.sender)), m.firstSend, m.firstAck)
		}
	}
}

// deliveredAfterAck: every MESSAGE_STATE, and every row stored as
// DELIVERED, follows a DELIVERY_ACK by the message's recipient.
func (ck *checker) deliveredAfterAck() {
	firstAckBy := map[string]*Event{} // messageId -> first DELIVERY_ACK by its recipient
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case DeliveryAck:
			m := ck.msgs[e.MessageID]
			if m == nil || firstAckBy[e.MessageID] != nil {
				continue
			}
			if m.recipient == "" || m.recipient == e.User {
				firstAckBy[e.MessageID] = e
			}
		case StateChange:
			if firstAckBy[e.MessageID] == nil {
				m := ck.msg(e.MessageID)
				ck.report(RuleDeliveredAfterAck, fmt.Sprintf("%s was told message %s is DELIVERED before %s acknowledged it",
					ck.name(e.User), e.MessageID, ck.name(m.recipient)), m.firstSend, m.firstAck, e)
			}
		case Stored:
			if e.Delivered && firstAckBy[e.MessageID] == nil {
				m := ck.msg(e.MessageID)
				ck.report(RuleDeliveredAfterAck, fmt.Sprintf("message %s is stored as DELIVERED but %s never acknowledged it",
					e.MessageID, ck.name(e.Peer)), m.firstSend, m.firstAck, ck.lastReceive(e.MessageID, e.Peer), e)
			}
		}
	}
}

func (ck *checker) lastReceive(mid, user string) *Event {
	var last *Event
	for i := range ck.ev {
		e := &ck.ev[i]
		if e.Kind == Receive && e.MessageID == mid && e.User == user {
			last = e
		}
	}
	return last
}

// deliveredOnce: one MESSAGE_STATE per message per connection; and on a
// connection of the sender opened after the first MESSAGE_STATE, none that
// a later DELIVERY_ACK of the message could have caused (a second marking).
// A state that travelled late over the bus (held during an outage,
// published when it ended) reaches a socket the sender opened meanwhile:
// that repeats the one marking and is not counted.
func (ck *checker) deliveredOnce() {
	first := map[string]*Event{}   // messageId+user -> first StateChange
	perConn := map[string]*Event{} // messageId+conn -> StateChange
	lastAck := map[string]*Event{} // messageId -> latest DELIVERY_ACK
	for i := range ck.ev {
		e := &ck.ev[i]
		if e.Kind == DeliveryAck {
			lastAck[e.MessageID] = e
			continue
		}
		if e.Kind != StateChange {
			continue
		}
		if prev := perConn[e.MessageID+"\x00"+e.Conn]; prev != nil {
			ck.report(RuleDeliveredOnce, fmt.Sprintf("message %s: MESSAGE_STATE DELIVERED twice on connection %s",
				e.MessageID, e.Conn), prev, e)
			continue
		}
		perConn[e.MessageID+"\x00"+e.Conn] = e
		k := e.MessageID + "\x00" + e.User
		prev := first[k]
		if prev == nil {
			first[k] = e
			continue
		}
		// A second socket of the sender is told too, if it was open then.
		c := ck.connects[e.Conn]
		ack := lastAck[e.MessageID]
		if c != nil && c.Seq > prev.Seq && ack != nil && ack.Seq > prev.Seq {
			ck.report(RuleDeliveredOnce, fmt.Sprintf("message %s: DELIVERED again on %s after a later DELIVERY_ACK, on a connection opened after the first MESSAGE_STATE",
				e.MessageID, e.Conn), prev, ack, c, e)
		}
	}
}

// noRepeat: no MESSAGE twice on one connection while its ack is pending.
func (ck *checker) noRepeat() {
	type key struct{ conn, mid string }
	pending := map[key]*Event{} // the Receive awaiting its ack
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case Receive:
			k := key{e.Conn, e.MessageID}
			if prev := pending[k]; prev != nil {
				ck.report(RuleNoRepeat, fmt.Sprintf("message %s sent twice on connection %s with no DELIVERY_ACK in between",
					e.MessageID, e.Conn), prev, e)
			}
			pending[k] = e
		case DeliveryAck:
			delete(pending, key{e.Conn, e.MessageID})
		}
	}
}

// replayOrder: replayed messages arrive oldest first, and REPLAY_DONE's
// count is the number replayed.
func (ck *checker) replayOrder() {
	last := map[string]*Event{}
	count := map[string]int{}
	done := map[string]bool{}
	for i := range ck.ev {
		e := &ck.ev[i]
		switch {
		case e.Kind == Receive && e.Replay && !done[e.Conn]:
			if prev := last[e.Conn]; prev != nil && !idLess(prev.MessageID, e.MessageID) {
				ck.report(RuleReplayOrder, fmt.Sprintf("replay on %s sent message %s after %s", e.Conn, e.MessageID, prev.MessageID), prev, e)
			}
			last[e.Conn] = e
			count[e.Conn]++
		case e.Kind == ReplayDone && !done[e.Conn]:
			done[e.Conn] = true
			if e.Count != count[e.Conn] {
				ck.report(RuleReplayOrder, fmt.Sprintf("REPLAY_DONE on %s counts %d but %d messages were replayed",
					e.Conn, e.Count, count[e.Conn]), last[e.Conn], e)
			}
		}
	}
}

// reached: a stored message still not DELIVERED is held by every replay of
// its recipient that started after it was acknowledged.
func (ck *checker) reached() {
	if !ck.anyStored {
		return
	}
	type connInfo struct {
		connect *Event
		done    *Event
		got     map[string]bool
	}
	conns := map[string]*connInfo{}
	var order []string
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case Connect:
			if conns[e.Conn] == nil {
				conns[e.Conn] = &connInfo{connect: e, got: map[string]bool{}}
				order = append(order, e.Conn)
			}
		case Receive:
			if c := conns[e.Conn]; c != nil {
				c.got[e.MessageID] = true
			}
		case ReplayDone:
			if c := conns[e.Conn]; c != nil && c.done == nil {
				c.done = e
			}
		}
	}
	for _, id := range ck.sortedIDs() {
		m := ck.msgs[id]
		if m.stored == nil || m.stored.Delivered || m.firstAck == nil {
			continue
		}
		for _, cid := range order {
			c := conns[cid]
			if c.connect.User != m.recipient || c.done == nil || c.got[id] {
				continue
			}
			if c.connect.Seq < m.firstAck.Seq || c.connect.Time.Sub(m.firstAck.Time) < ck.o.ConnectMargin {
				continue
			}
			ck.report(RuleReached, fmt.Sprintf("message %s to %s, stored and not DELIVERED, was not replayed on %s",
				id, ck.name(m.recipient), cid), m.firstAck, c.connect, c.done, m.stored)
			break
		}
	}
}

// banned: no Receive by a banned user of a message first sent after the
// ban, except on another instance within the grace the kick needs to
// travel (longer when the ban was made during a Redis outage).
func (ck *checker) banned() {
	type banInfo struct {
		ban       *Event
		end       int64 // Seq of the Unban, or max
		redisDown bool  // Redis was stopped when the ban was made
		restart   *Event
	}
	var bans []*banInfo
	redisDown := false
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case Fault:
			switch e.Detail {
			case "redis_stop":
				redisDown = true
			case "redis_start":
				if redisDown {
					for _, b := range bans {
						if b.redisDown && b.restart == nil {
							b.restart = e
						}
					}
				}
				redisDown = false
			}
		case Ban:
			bans = append(bans, &banInfo{ban: e, end: 1<<63 - 1, redisDown: redisDown})
		case Unban:
			for _, b := range bans {
				if b.ban.User == e.User && b.end > e.Seq && b.ban.Seq < e.Seq {
					b.end = e.Seq
				}
			}
		}
	}
	if len(bans) == 0 {
		return
	}
	for i := range ck.ev {
		r := &ck.ev[i]
		if r.Kind != Receive {
			continue
		}
		m := ck.msgs[r.MessageID]
		if m == nil || m.firstSend == nil {
			continue
		}
		for _, b := range bans {
			if b.ban.User != r.User || r.Seq < b.ban.Seq || r.Seq > b.end || m.firstSend.Seq < b.ban.Seq {
				continue
			}
			if r.Instance != b.ban.Instance {
				if r.Time.Sub(b.ban.Time) < ck.o.BanGrace {
					continue
				}
				if b.redisDown && (b.restart == nil || r.Time.Sub(b.restart.Time) < ck.o.OutageBanGrace) {
					continue
				}
			}
			ck.report(RuleBanned, fmt.Sprintf("%s, banned via %s, received message %s first sent after the ban",
				ck.name(r.User), b.ban.Instance, r.MessageID), b.ban, m.firstSend, r, b.restart)
			break
		}
	}
}

func (ck *checker) sortedIDs() []string {
	ids := make([]string, 0, len(ck.msgs))
	for id := range ck.msgs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	return ids
}

// idLess orders message ids by age: numerically when both are decimal
// integers (the stores' ids), else shorter first, then as text.
func idLess(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// String renders the result: a summary line, then each violation with its
// events and the seed that reproduces the run.
func (r *Result) String() string {
	var b strings.Builder
	if r.OK() {
		fmt.Fprintf(&b, "history: %d events, %d messages: every guarantee holds", r.Events, r.Messages)
		if !r.Snapshot {
			b.WriteString(" (no store snapshot: store rules skipped)")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "history: %d events, %d messages: %d violation(s)", r.Events, r.Messages, len(r.Violations)+r.Omitted)
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n  VIOLATION %s: %s", v.Rule, v.Message)
		for _, e := range v.Events {
			b.WriteString("\n      " + FormatEvent(e, r.names))
		}
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "\n  (%d more not shown)", r.Omitted)
	}
	fmt.Fprintf(&b, "\n  reproduce with seed %d", r.Seed)
	return b.String()
}

// FormatEvent renders one event on one line, naming users by names when
// known.
func FormatEvent(e Event, names map[string]string) string {
	name := func(id string) string {
		if n, ok := names[id]; ok && n != "" {
			return n
		}
		return id
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", e.Seq, e.Time.Format("15:04:05.000"), e.Kind)
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	add("instance", e.Instance)
	add("user", name(e.User))
	add("conn", e.Conn)
	add("cmid", e.ClientMessageID)
	add("messageId", e.MessageID)
	add("peer", name(e.Peer))
	if e.Attempt > 0 {
		add("attempt", strconv.Itoa(e.Attempt))
	}
	if e.Replay {
		b.WriteString(" replay")
	}
	if e.Kind == ReplayDone {
		add("count", strconv.Itoa(e.Count))
	}
	add("code", e.Code)
	if e.CloseCode != 0 {
		add("close", strconv.Itoa(e.CloseCode))
	}
	if e.LostOnPurpose {
		b.WriteString(" lost-on-purpose")
	}
	if e.Kind == Stored {
		fmt.Fprintf(&b, " delivered=%v", e.Delivered)
	}
	add("detail", e.Detail)
	return b.String()
}
