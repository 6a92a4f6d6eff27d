package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
)

// sandboxInstance is the InstanceID of the sandbox's own log lines.
const sandboxInstance = "sandbox"

// logFilter selects log records: by instance ("" any), lowest level, logger
// (case-insensitive substring, "" any) and event (case-insensitive
// substring, "" any).
type logFilter struct {
	Instance string
	MinLevel zapcore.Level
	Logger   string
	Event    string
}

// match reports whether r passes the filter.
func (f logFilter) match(r logging.Record) bool {
	if r.Level < f.MinLevel {
		return false
	}
	if f.Instance != "" && r.InstanceID != f.Instance {
		return false
	}
	if f.Logger != "" && !containsFold(r.Logger, f.Logger) {
		return false
	}
	if f.Event != "" && !containsFold(r.Event, f.Event) {
		return false
	}
	return true
}

// String describes the filter for the pane's header.
func (f logFilter) String() string {
	inst := f.Instance
	if inst == "" {
		inst = "all"
	}
	s := fmt.Sprintf("inst:%s level≥%s", inst, f.MinLevel.CapitalString())
	if f.Logger != "" {
		s += " logger:" + f.Logger
	}
	if f.Event != "" {
		s += " event:" + f.Event
	}
	return s
}

// nextLevel cycles debug, info, warn, error.
func nextLevel(l zapcore.Level) zapcore.Level {
	if l >= zapcore.ErrorLevel {
		return zapcore.DebugLevel
	}
	return l + 1
}

// containsFold reports whether sub is in s, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// levelTag is a level's 3-letter tag.
func levelTag(l zapcore.Level) string {
	switch l {
	case zapcore.DebugLevel:
		return "DBG"
	case zapcore.InfoLevel:
		return "INF"
	case zapcore.WarnLevel:
		return "WRN"
	case zapcore.ErrorLevel:
		return "ERR"
	default:
		return strings.ToUpper(l.String())[:3]
	}
}

// instanceTag is the instance column of a record.
func instanceTag(r logging.Record) string {
	switch r.InstanceID {
	case "":
		return "-"
	case sandboxInstance:
		return "sbx"
	}
	return r.InstanceID
}

// fieldKeys are r's field keys in order, instanceId left out.
func fieldKeys(r logging.Record) []string {
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		if k != "instanceId" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// fieldValue formats one field value for display.
func fieldValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, " \t\"=") {
			return fmt.Sprintf("%q", x)
		}
		return x
	case time.Duration:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}

// fieldTokens are r's fields as "k=v" tokens, in key order; a value that
// is a known user id is followed by the user's name, e.g.
// "recipientId=u12ab(user2)".
func fieldTokens(r logging.Record, names map[string]string) []string {
	keys := fieldKeys(r)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fieldValue(r.Fields[k])
		if s, ok := r.Fields[k].(string); ok && names[s] != "" {
			parts[i] += "(" + names[s] + ")"
		}
	}
	return parts
}

// eventGloss tells apart, on screen, log events whose names read like
// something they are not: chat_message_delivered means pushed to a
// socket (the message is still SENT), not the DELIVERED state.
func eventGloss(event string) string {
	if event == "chat_message_delivered" {
		return "(pushed)"
	}
	return ""
}

// fitTokens is head followed by as many whole tokens as fit in w cells,
// then "…" when some did not: a value is never cut in the middle
// (messageId=3… for 31).
func fitTokens(head string, tokens []string, w int) string {
	s := head
	for i, t := range tokens {
		more := i < len(tokens)-1
		room := w
		if more {
			room-- // keep a cell for the ellipsis
		}
		if width(s)+1+width(t) > room {
			if width(s)+2 <= w {
				return s + " …"
			}
			return trunc(s, w)
		}
		s += " " + t
	}
	return trunc(s, w)
}

// plainLine is r as one line of plain text: time, instance, level,
// logger, event, fields; w > 0 fits it in w cells by whole fields.
func plainLine(r logging.Record, loggerW int, names map[string]string) string {
	return plainLineW(r, loggerW, names, 0)
}

// plainLineW is plainLine fitted in w cells (no limit when w <= 0).
func plainLineW(r logging.Record, loggerW int, names map[string]string, w int) string {
	head := fmt.Sprintf("%s %-3s %s ", r.Time.Format("15:04:05.000"), instanceTag(r), levelTag(r.Level))
	if loggerW > 0 {
		head += fit(r.Logger, loggerW) + " "
	}
	head += r.Event
	tokens := fieldTokens(r, names)
	if g := eventGloss(r.Event); g != "" {
		tokens = append([]string{g}, tokens...)
	}
	if w <= 0 {
		return strings.Join(append([]string{head}, tokens...), " ")
	}
	return fitTokens(head, tokens, w)
}
