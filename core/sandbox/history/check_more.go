package history

import (
	"fmt"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Rules that close the checker's blind spots: what a banned user's socket
// gets, what the sender is told, and what an outage holds back.
const (
	// RuleBannedOnlyError: a banned user who connects gets ERROR BANNED as
	// its first and only frame: no replay, no REPLAY_DONE, nothing else.
	RuleBannedOnlyError = "banned-connect-gets-only-error"
	// RuleSenderTold: a sender connected when its recipient acked is told
	// DELIVERED (MESSAGE_STATE) on some connection, whatever the instances.
	RuleSenderTold = "sender-told-delivered"
	// RuleOutageCatchUp: a message stored while Redis was down reaches a
	// recipient who stayed connected, once the outage ends, without the
	// recipient reconnecting.
	RuleOutageCatchUp = "outage-catch-up"
)

// Graces of the rules above: how long the history must go on after the
// event for the rule to apply (a run may end right after an ack).
const (
	// DefaultStateGrace is how long after a DELIVERY_ACK the sender's
	// MESSAGE_STATE may take.
	DefaultStateGrace = 500 * time.Millisecond
	// DefaultCatchUpGrace is how long after Redis comes back a recipient
	// connected throughout may wait for what the outage held back.
	DefaultCatchUpGrace = 3 * time.Second
)

// frameKinds are the events that record a frame received on a connection.
var frameKinds = map[Kind]bool{Receive: true, ReplayDone: true, StateChange: true, Ack: true, ErrorFrame: true, DuplicateDrop: true}

// endTime is the time of the history's last event (zero when empty).
func (ck *checker) endTime() time.Time {
	if len(ck.ev) == 0 {
		return time.Time{}
	}
	return ck.ev[len(ck.ev)-1].Time
}

// bannedOnlyError: every connection a banned user opened after the ban
// (and before an unban) receives ERROR BANNED first, and no message and no
// REPLAY_DONE at all.
func (ck *checker) bannedOnlyError() {
	banned := map[string]*Event{} // user -> the ban in force
	type connState struct {
		ban   *Event
		first *Event
		bad   *Event
	}
	conns := map[string]*connState{}
	var order []string
	for i := range ck.ev {
		e := &ck.ev[i]
		switch {
		case e.Kind == Ban:
			banned[e.User] = e
		case e.Kind == Unban:
			delete(banned, e.User)
		case e.Kind == Connect:
			if b := banned[e.User]; b != nil && conns[e.Conn] == nil {
				conns[e.Conn] = &connState{ban: b}
				order = append(order, e.Conn)
			}
		case frameKinds[e.Kind]:
			c := conns[e.Conn]
			if c == nil {
				continue
			}
			if c.first == nil {
				c.first = e
			}
			if c.bad == nil && (e.Kind == Receive || e.Kind == ReplayDone || e != c.first) {
				c.bad = e
			}
		}
	}
	for _, id := range order {
		c := conns[id]
		switch {
		case c.first == nil:
			// Nothing received (yet): the close code says the rest.
		case c.first.Kind != ErrorFrame || c.first.Code != chat.CodeBanned:
			ck.report(RuleBannedOnlyError, fmt.Sprintf("%s, banned via %s, connected as %s and first got %s, not ERROR BANNED",
				ck.name(c.ban.User), c.ban.Instance, id, c.first.Kind), c.ban, ck.connects[id], c.first)
		case c.bad != nil:
			ck.report(RuleBannedOnlyError, fmt.Sprintf("%s, banned via %s, got %s on %s besides ERROR BANNED",
				ck.name(c.ban.User), c.ban.Instance, c.bad.Kind, id), c.ban, ck.connects[id], c.first, c.bad)
		}
	}
}

// senderTold: with a snapshot, every message stored as DELIVERED whose
// sender had a connection open at the recipient's first DELIVERY_ACK and
// kept it to the end of the history (a grace after the ack) reached the
// sender as MESSAGE_STATE on some connection. Skipped while Redis is down
// at the end (a state may be held for after the outage).
func (ck *checker) senderTold() {
	if !ck.anyStored || ck.redisDownAtEnd() {
		return
	}
	end := ck.endTime()
	firstAck := map[string]*Event{}
	told := map[string]bool{}
	open := openConns{}
	openAtAck := map[string]*Event{} // messageId -> a sender connection open at the ack
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case Connect:
			open.connect(e)
		case Disconnect:
			open.disconnect(e)
			for mid, c := range openAtAck {
				if c.Conn == e.Conn {
					delete(openAtAck, mid) // that socket went: the state may be lost with it
				}
			}
		case DeliveryAck:
			m := ck.msgs[e.MessageID]
			if m == nil || firstAck[e.MessageID] != nil || (m.recipient != "" && m.recipient != e.User) {
				continue
			}
			firstAck[e.MessageID] = e
			for _, c := range open[m.sender] {
				openAtAck[e.MessageID] = c
				break
			}
		case StateChange:
			told[e.MessageID] = true
		}
	}
	for _, id := range ck.sortedIDs() {
		m, a, c := ck.msgs[id], firstAck[id], openAtAck[id]
		if m.stored == nil || !m.stored.Delivered || a == nil || c == nil || told[id] || end.Sub(a.Time) < DefaultStateGrace {
			continue
		}
		ck.report(RuleSenderTold, fmt.Sprintf("message %s was acked by %s but %s, connected as %s throughout, was never told DELIVERED",
			id, ck.name(m.recipient), ck.name(m.sender), c.Conn), m.firstAck, a, c, m.stored)
	}
}

// outageCatchUp: a message acknowledged while Redis was down, whose
// recipient had a connection open from before the ack to the end of the
// history (at least the grace after Redis came back), was received on that
// connection. A recipient banned at any point is left out.
func (ck *checker) outageCatchUp() {
	end := ck.endTime()
	down := false
	bannedEver := map[string]bool{} // a banned recipient is sent nothing
	downAt := map[string]bool{}     // messageId -> acked while Redis was down
	restartOf := map[string]*Event{}
	open := openConns{}
	candidates := map[string][]*Event{} // messageId -> recipient connections open at the ack
	got := map[string]bool{}            // messageId+conn received
	closed := map[string]bool{}         // conn ended
	for i := range ck.ev {
		e := &ck.ev[i]
		switch e.Kind {
		case Fault:
			switch e.Detail {
			case "redis_stop":
				down = true
			case "redis_start":
				if down {
					for id := range downAt {
						if restartOf[id] == nil {
							restartOf[id] = e
						}
					}
				}
				down = false
			}
		case Connect:
			open.connect(e)
		case Disconnect:
			open.disconnect(e)
			closed[e.Conn] = true
		case Ack:
			m := ck.msgs[e.MessageID]
			if !down || m == nil || m.firstAck != e || m.recipient == "" {
				continue
			}
			downAt[e.MessageID] = true
			for _, c := range open[m.recipient] {
				candidates[e.MessageID] = append(candidates[e.MessageID], c)
			}
		case Receive:
			got[e.MessageID+"\x00"+e.Conn] = true
		case Ban:
			bannedEver[e.User] = true
		}
	}
	for _, id := range ck.sortedIDs() {
		r := restartOf[id]
		if r == nil || end.Sub(r.Time) < DefaultCatchUpGrace || bannedEver[ck.msgs[id].recipient] {
			continue
		}
		for _, c := range candidates[id] {
			if closed[c.Conn] || got[id+"\x00"+c.Conn] {
				continue
			}
			m := ck.msgs[id]
			ck.report(RuleOutageCatchUp, fmt.Sprintf("message %s, stored while Redis was down, never reached %s, connected as %s throughout and after Redis came back",
				id, ck.name(m.recipient), c.Conn), m.firstAck, c, r)
			break
		}
	}
}

// redisDownAtEnd reports whether the history ends with Redis stopped.
func (ck *checker) redisDownAtEnd() bool {
	down := false
	for i := range ck.ev {
		if e := &ck.ev[i]; e.Kind == Fault {
			switch e.Detail {
			case "redis_stop":
				down = true
			case "redis_start":
				down = false
			}
		}
	}
	return down
}

// openConns is the connections open at a point of the history: user ->
// conn -> its Connect event.
type openConns map[string]map[string]*Event

func (o openConns) connect(e *Event) {
	if o[e.User] == nil {
		o[e.User] = map[string]*Event{}
	}
	o[e.User][e.Conn] = e
}

func (o openConns) disconnect(e *Event) { delete(o[e.User], e.Conn) }
