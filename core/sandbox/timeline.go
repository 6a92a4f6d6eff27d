package sandbox

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// TimelineEntry is one moment of a message's life: a log line of an
// instance or an event the simulated users recorded.
type TimelineEntry struct {
	Time time.Time
	// Where is the instance that logged it, or the user's connection that
	// saw it ("alice#2 on A").
	Where string
	// What is the event and its ids, one line, never the content.
	What string
}

// Timeline is the whole life of message mid across every instance, in time
// order: send, persist, ack, publish, delivery, delivery ack, DELIVERED,
// state, replays, from the history's events and the instances' log lines
// that name it. Names maps user ids to names for reading.
func Timeline(mid string, events []history.Event, logs []logging.Record, names map[string]string) []TimelineEntry {
	var out []TimelineEntry
	cmid, sender := "", ""
	for _, e := range events {
		if e.MessageID == mid && e.ClientMessageID != "" {
			cmid, sender = e.ClientMessageID, e.User
		}
	}
	for _, e := range events {
		own := e.MessageID == mid || (cmid != "" && e.ClientMessageID == cmid && e.User == sender)
		if !own {
			continue
		}
		if e.Kind == history.Stored {
			out = append(out, TimelineEntry{Time: e.Time, Where: "store", What: fmt.Sprintf("row at the end: delivered=%v", e.Delivered)})
			continue
		}
		where := e.Conn
		if e.Instance != "" {
			where += " on " + e.Instance
		}
		out = append(out, TimelineEntry{Time: e.Time, Where: strings.TrimSpace(where), What: eventText(e, names)})
	}
	for _, r := range logs {
		if r.Fields["messageId"] != mid {
			continue
		}
		var kv []string
		for k, v := range r.Fields {
			if k == "messageId" || k == logging.InstanceIDKey {
				continue
			}
			s := fmt.Sprint(v)
			if n := names[s]; n != "" {
				s += "(" + n + ")"
			}
			kv = append(kv, k+"="+s)
		}
		sort.Strings(kv)
		what := r.Logger + " " + r.Event
		if len(kv) > 0 {
			what += " " + strings.Join(kv, " ")
		}
		out = append(out, TimelineEntry{Time: r.Time, Where: "log " + r.InstanceID, What: what})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// eventText words a history event for the timeline.
func eventText(e history.Event, names map[string]string) string {
	name := func(id string) string {
		if n := names[id]; n != "" {
			return n
		}
		return id
	}
	switch e.Kind {
	case history.Send:
		return fmt.Sprintf("%s sends MESSAGE_SEND cmid=%s to %s (attempt %d)", name(e.User), e.ClientMessageID, name(e.Peer), e.Attempt)
	case history.Ack:
		if e.LostOnPurpose {
			return fmt.Sprintf("%s gets MESSAGE_ACK messageId=%s and loses it on purpose", name(e.User), e.MessageID)
		}
		return fmt.Sprintf("%s gets MESSAGE_ACK messageId=%s", name(e.User), e.MessageID)
	case history.Receive:
		if e.Replay {
			return fmt.Sprintf("%s gets MESSAGE (replay) from %s", name(e.User), name(e.Peer))
		}
		return fmt.Sprintf("%s gets MESSAGE from %s", name(e.User), name(e.Peer))
	case history.DeliveryAck:
		return fmt.Sprintf("%s sends DELIVERY_ACK", name(e.User))
	case history.AckDropped:
		return fmt.Sprintf("%s drops its DELIVERY_ACK on purpose", name(e.User))
	case history.StateChange:
		return fmt.Sprintf("%s gets MESSAGE_STATE DELIVERED", name(e.User))
	case history.DuplicateDrop:
		return fmt.Sprintf("%s drops a repeat MESSAGE", name(e.User))
	case history.ErrorFrame:
		return fmt.Sprintf("%s gets ERROR %s", name(e.User), e.Code)
	}
	return history.FormatEvent(e, names)
}

// FormatTimeline renders entries one per line: time, where, what.
func FormatTimeline(entries []TimelineEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s  %-12s %s\n", e.Time.Format("15:04:05.000000"), e.Where, e.What)
	}
	return b.String()
}

// Names maps every user id the cluster knows to its name.
func (c *Cluster) Names() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.idNames))
	for id, n := range c.idNames {
		out[id] = n
	}
	return out
}
