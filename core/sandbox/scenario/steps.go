package scenario

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Step kinds.
const (
	KindUser           Kind = "user"
	KindConnect        Kind = "connect"
	KindDisconnect     Kind = "disconnect"
	KindReconnect      Kind = "reconnect"
	KindMove           Kind = "move"
	KindSend           Kind = "send"
	KindBurst          Kind = "burst"
	KindAutoAck        Kind = "autoack"
	KindDropAcks       Kind = "drop-acks"
	KindAck            Kind = "ack"
	KindBan            Kind = "ban"
	KindUnban          Kind = "unban"
	KindRedisStop      Kind = "redis-stop"
	KindRedisStart     Kind = "redis-start"
	KindInstanceStop   Kind = "instance-stop"
	KindInstanceStart  Kind = "instance-start"
	KindBusFault       Kind = "bus"
	KindRaw            Kind = "raw"
	KindExpectFrame    Kind = "expect-frame"
	KindExpectNoFrame  Kind = "expect-no-frame"
	KindExpectReceived Kind = "expect-received"
	KindExpectClosed   Kind = "expect-closed"
	KindExpectState    Kind = "expect-state"
	KindExpectStored   Kind = "expect-stored"
	KindExpectHas      Kind = "expect-has"
	KindExpectLacks    Kind = "expect-lacks"
	KindExpectLog      Kind = "expect-log"
	KindExpectNoLog    Kind = "expect-no-log"
	KindWait           Kind = "wait"
	KindWaitUntil      Kind = "wait-until"
	KindWorkload       Kind = "workload"
)

// Limits on numbers in steps.
const (
	maxUsers      = 1000
	maxCount      = 100000
	maxBurst      = 10000
	maxRawRepeats = 1000
)

// frameTypes are the server-to-client frame types an expectation can name.
var frameTypes = []string{chat.TypeMessageAck, chat.TypeMessage, chat.TypeMessageState, chat.TypeReplayDone, chat.TypeError}

// frameFields are the JSON keys of server frames.
var frameFields = []string{"messageId", "clientMessageId", "senderId", "recipientId", "content", "state",
	"createdAt", "count", "code", "message"}

// historyFrameFields are the fields "received N" can count by.
var historyFrameFields = []string{"messageId", "clientMessageId", "senderId", "recipientId", "state", "count", "code", "message"}

// stepDefs maps a line's first word to its parser.
var stepDefs map[string]func(*lineParser) (Kind, action)

func init() {
	stepDefs = map[string]func(*lineParser) (Kind, action){
		"user":       parseUser,
		"connect":    parseConnect,
		"disconnect": parseUserOnly(KindDisconnect, func(u string) action { return &disconnectStep{user: u} }),
		"reconnect":  parseUserOnly(KindReconnect, func(u string) action { return &reconnectStep{user: u} }),
		"ack":        parseUserOnly(KindAck, func(u string) action { return &ackStep{user: u} }),
		"move":       parseMove,
		"send":       parseSend,
		"burst":      parseBurst,
		"autoack":    parseAutoAck,
		"drop":       parseDrop,
		"ban":        parseBan(false),
		"unban":      parseBan(true),
		"stop":       parseStopStart(false),
		"start":      parseStopStart(true),
		"bus":        parseBus,
		"raw":        parseRaw,
		"expect":     parseExpect,
		"wait":       parseWait,
		"workload":   parseWorkload,
	}
}

func verbList() string {
	verbs := make([]string, 0, len(stepDefs)+2)
	for v := range stepDefs {
		verbs = append(verbs, v)
	}
	verbs = append(verbs, "sandbox", "step")
	slices.Sort(verbs)
	return strings.Join(verbs, ", ")
}

// user NAME on INSTANCE [admin]
type userStep struct {
	name, instance string
	admin          bool
}

func parseUser(lp *lineParser) (Kind, action) {
	t, ok := lp.word("a new user name")
	if !ok {
		return KindUser, nil
	}
	p := lp.p
	switch {
	case t.Quoted || !isName(t.Text) || len(t.Text) < 3 || len(t.Text) > 32:
		lp.failAt(t.Col, "a user name of 3 to 32 letters, digits or '_', got %s", t)
		return KindUser, nil
	case reserved[t.Text]:
		lp.failAt(t.Col, "a user name that is not a keyword, got %s", t)
		return KindUser, nil
	case p.users[t.Text] != (userDecl{}):
		lp.failAt(t.Col, "a new user name, got %s (declared on line %d)", t, p.users[t.Text].line)
		return KindUser, nil
	case p.labels[t.Text] != (labelDecl{}):
		lp.failAt(t.Col, "a user name that is not a message label, got %s", t)
		return KindUser, nil
	}
	if _, ok := lp.keyword("on"); !ok {
		return KindUser, nil
	}
	inst, ok := lp.instance()
	if !ok {
		return KindUser, nil
	}
	admin := lp.optKeyword("admin")
	lp.end()
	if len(lp.errs) > 0 {
		return KindUser, nil
	}
	p.users[t.Text] = userDecl{line: lp.n, admin: admin, instance: inst}
	return KindUser, &userStep{name: t.Text, instance: inst, admin: admin}
}

// connect USER [to INSTANCE]
type connectStep struct{ user, instance string }

func parseConnect(lp *lineParser) (Kind, action) {
	u, ok := lp.user()
	if !ok {
		return KindConnect, nil
	}
	inst := ""
	if lp.optKeyword("to") {
		inst, _ = lp.instance()
	}
	lp.end()
	return KindConnect, &connectStep{user: u, instance: inst}
}

type disconnectStep struct{ user string }
type reconnectStep struct{ user string }
type ackStep struct{ user string }

func parseUserOnly(k Kind, mk func(string) action) func(*lineParser) (Kind, action) {
	return func(lp *lineParser) (Kind, action) {
		u, ok := lp.user()
		if !ok {
			return k, nil
		}
		lp.end()
		return k, mk(u)
	}
}

// move USER to INSTANCE
type moveStep struct{ user, instance string }

func parseMove(lp *lineParser) (Kind, action) {
	u, ok := lp.user()
	if !ok {
		return KindMove, nil
	}
	if _, ok := lp.keyword("to"); !ok {
		return KindMove, nil
	}
	inst, _ := lp.instance()
	lp.end()
	return KindMove, &moveStep{user: u, instance: inst}
}

// send USER to USER "CONTENT" [as LABEL]
type sendStep struct {
	from, to string
	content  template
	label    string
}

func parseSend(lp *lineParser) (Kind, action) {
	from, ok := lp.user()
	if !ok {
		return KindSend, nil
	}
	if _, ok := lp.keyword("to"); !ok {
		return KindSend, nil
	}
	to, ok := lp.user()
	if !ok {
		return KindSend, nil
	}
	ct, ok := lp.next()
	if !ok || ct.Key != "" && !ct.Quoted || ct.Text == "" {
		lp.fail(ct, ok, `the content in quotes, as in: send %s to %s "hello"`, from, to)
		return KindSend, nil
	}
	content, ok := lp.tmpl(ct, ct.Text)
	if !ok {
		return KindSend, nil
	}
	label := ""
	if lp.optKeyword("as") {
		t, ok := lp.word("a label for the message")
		if !ok {
			return KindSend, nil
		}
		switch {
		case t.Quoted || !isName(t.Text) || reserved[t.Text]:
			lp.failAt(t.Col, "a message label of letters, digits or '_', got %s", t)
		case lp.p.labels[t.Text] != (labelDecl{}):
			lp.failAt(t.Col, "a new message label, got %s (defined on line %d)", t, lp.p.labels[t.Text].line)
		case lp.p.users[t.Text] != (userDecl{}):
			lp.failAt(t.Col, "a message label that is not a user name, got %s", t)
		}
		label = t.Text
	}
	lp.end()
	if len(lp.errs) > 0 {
		return KindSend, nil
	}
	if label != "" {
		lp.p.labels[label] = labelDecl{line: lp.n, sender: from}
	}
	return KindSend, &sendStep{from: from, to: to, content: content, label: label}
}

// burst USER N to USER[,USER...]
type burstStep struct {
	from string
	n    int
	to   []string
}

func parseBurst(lp *lineParser) (Kind, action) {
	from, ok := lp.user()
	if !ok {
		return KindBurst, nil
	}
	n, ok := lp.intArg("the number of messages", maxBurst)
	if !ok {
		return KindBurst, nil
	}
	if _, ok := lp.keyword("to"); !ok {
		return KindBurst, nil
	}
	t, ok := lp.word("recipients, as in: bob,carol")
	if !ok {
		return KindBurst, nil
	}
	var to []string
	for _, name := range strings.Split(t.Text, ",") {
		if _, declared := lp.p.users[name]; !declared {
			lp.failAt(t.Col, "declared users separated by commas, got %q%s", name, lp.p.knownUsers())
			return KindBurst, nil
		}
		to = append(to, name)
	}
	lp.end()
	return KindBurst, &burstStep{from: from, n: n, to: to}
}

// autoack USER on|off
type autoAckStep struct {
	user string
	on   bool
}

func parseAutoAck(lp *lineParser) (Kind, action) {
	u, ok := lp.user()
	if !ok {
		return KindAutoAck, nil
	}
	w, ok := lp.keyword("on", "off")
	if !ok {
		return KindAutoAck, nil
	}
	lp.end()
	return KindAutoAck, &autoAckStep{user: u, on: w == "on"}
}

// drop delivery-acks USER N | drop message-acks USER N
type dropAcksStep struct {
	user    string
	n       int
	message bool // MESSAGE_ACKs the user loses, instead of DELIVERY_ACKs it skips
}

func parseDrop(lp *lineParser) (Kind, action) {
	which, ok := lp.keyword("delivery-acks", "message-acks")
	if !ok {
		return KindDropAcks, nil
	}
	u, ok := lp.user()
	if !ok {
		return KindDropAcks, nil
	}
	n, ok := lp.intArg("how many acks to drop", maxCount)
	if !ok {
		return KindDropAcks, nil
	}
	lp.end()
	return KindDropAcks, &dropAcksStep{user: u, n: n, message: which == "message-acks"}
}

// ban USER by ADMIN [on INSTANCE] | unban ...
type banStep struct {
	target, admin, instance string
	unban                   bool
}

func parseBan(unban bool) func(*lineParser) (Kind, action) {
	k := KindBan
	if unban {
		k = KindUnban
	}
	return func(lp *lineParser) (Kind, action) {
		target, ok := lp.user()
		if !ok {
			return k, nil
		}
		if _, ok := lp.keyword("by"); !ok {
			return k, nil
		}
		admin, ok := lp.admin()
		if !ok {
			return k, nil
		}
		inst := ""
		if lp.optKeyword("on") {
			inst, _ = lp.instance()
		}
		lp.end()
		return k, &banStep{target: target, admin: admin, instance: inst, unban: unban}
	}
}

// stop redis | start redis | stop instance INST | start instance INST
type redisStep struct{ start bool }
type instanceStep struct {
	name  string
	start bool
}

func parseStopStart(start bool) func(*lineParser) (Kind, action) {
	return func(lp *lineParser) (Kind, action) {
		what, ok := lp.keyword("redis", "instance")
		if !ok {
			return KindRedisStop, nil
		}
		if what == "redis" {
			lp.end()
			if start {
				return KindRedisStart, &redisStep{start: true}
			}
			return KindRedisStop, &redisStep{}
		}
		inst, _ := lp.instance()
		lp.end()
		if start {
			return KindInstanceStart, &instanceStep{name: inst, start: true}
		}
		return KindInstanceStop, &instanceStep{name: inst}
	}
}

// bus latency=D drop=P | bus ok
type busStep struct {
	latency time.Duration
	drop    float64
}

func parseBus(lp *lineParser) (Kind, action) {
	if lp.optKeyword("ok") {
		lp.end()
		return KindBusFault, &busStep{}
	}
	st := &busStep{}
	if lp.done() {
		lp.failAt(0, "bus ok, or bus latency=DURATION drop=PROBABILITY")
	}
	for !lp.done() {
		t, _ := lp.next()
		switch t.Key {
		case "latency":
			st.latency = lp.durationValue(t)
		case "drop":
			st.drop = lp.probValue(t)
		default:
			lp.failAt(t.Col, "latency=DURATION or drop=PROBABILITY, got %s", t)
		}
	}
	return KindBusFault, st
}

// raw USER 'TEXT' [times=N]
type rawStep struct {
	user  string
	text  template
	times int
}

func parseRaw(lp *lineParser) (Kind, action) {
	u, ok := lp.user()
	if !ok {
		return KindRaw, nil
	}
	t, ok := lp.next()
	if !ok || !t.Quoted {
		lp.fail(t, ok, `the frame's text in quotes, as in: raw %s 'not json'`, u)
		return KindRaw, nil
	}
	text, ok := lp.tmpl(t, t.Text)
	if !ok {
		return KindRaw, nil
	}
	st := &rawStep{user: u, text: text, times: 1}
	for !lp.done() {
		t, _ := lp.next()
		if t.Key != "times" {
			lp.failAt(t.Col, "times=N or the end of the line, got %s", t)
			continue
		}
		st.times = lp.intValue(t, maxRawRepeats)
		if st.times == 0 {
			lp.failAt(t.Col, "times=N with N at least 1")
		}
	}
	return KindRaw, st
}

// expectFrameStep is "expect [raw] USER frame TYPE ...", "expect USER no
// frame TYPE ..." and "expect USER received N TYPE ...".
type expectFrameStep struct {
	user   string
	raw    bool
	typ    string
	match  []matcher
	within time.Duration
	absent bool
	count  int // expected number for "received N"; -1 otherwise
}

type expectClosedStep struct {
	user   string
	raw    bool
	code   int
	within time.Duration
}

type expectStateStep struct {
	label, state string
	within       time.Duration
}

type expectStoredStep struct {
	label     string
	rows      int // -1: not checked
	delivered *bool
	content   *template
	within    time.Duration
}

type expectInboxStep struct {
	user, label string
	absent      bool
	replayed    *bool
	duplicates  int // -1: not checked
	within      time.Duration
}

type expectLogStep struct {
	instance, logger, event string
	match                   []matcher
	within                  time.Duration
	absent                  bool
}

func parseExpect(lp *lineParser) (Kind, action) {
	t, ok := lp.peek()
	if !ok {
		lp.failAt(0, "what to expect (USER frame|no frame|received|closed|has|lacks, raw USER, state, stored, log, no log) at the end of the line")
		return KindExpectFrame, nil
	}
	if !t.Quoted && t.Key == "" {
		switch t.Text {
		case "state":
			lp.pos++
			return parseExpectState(lp)
		case "stored":
			lp.pos++
			return parseExpectStored(lp)
		case "log":
			lp.pos++
			return parseExpectLog(lp, false)
		case "no":
			lp.pos++
			if _, ok := lp.keyword("log"); !ok {
				return KindExpectNoLog, nil
			}
			return parseExpectLog(lp, true)
		case "raw":
			lp.pos++
			u, ok := lp.user()
			if !ok {
				return KindExpectFrame, nil
			}
			w, ok := lp.keyword("frame", "closed")
			if !ok {
				return KindExpectFrame, nil
			}
			if w == "closed" {
				return parseExpectClosed(lp, u, true)
			}
			return parseExpectFrame(lp, u, true, false, -1)
		}
	}
	u, ok := lp.user()
	if !ok {
		return KindExpectFrame, nil
	}
	w, ok := lp.keyword("frame", "no", "received", "closed", "has", "lacks")
	if !ok {
		return KindExpectFrame, nil
	}
	switch w {
	case "frame":
		return parseExpectFrame(lp, u, false, false, -1)
	case "no":
		if _, ok := lp.keyword("frame"); !ok {
			return KindExpectNoFrame, nil
		}
		return parseExpectFrame(lp, u, false, true, -1)
	case "received":
		n, ok := lp.intArg("how many frames", maxCount)
		if !ok {
			return KindExpectReceived, nil
		}
		return parseExpectFrame(lp, u, false, false, n)
	case "closed":
		return parseExpectClosed(lp, u, false)
	case "has":
		return parseExpectInbox(lp, u, false)
	default:
		return parseExpectInbox(lp, u, true)
	}
}

func parseExpectFrame(lp *lineParser, u string, raw, absent bool, count int) (Kind, action) {
	k := KindExpectFrame
	switch {
	case absent:
		k = KindExpectNoFrame
	case count >= 0:
		k = KindExpectReceived
	}
	t, ok := lp.word("a frame type")
	if !ok {
		return k, nil
	}
	if t.Quoted || !slices.Contains(frameTypes, t.Text) {
		lp.failAt(t.Col, "a frame type (%s), got %s", strings.Join(frameTypes, ", "), t)
		return k, nil
	}
	st := &expectFrameStep{user: u, raw: raw, typ: t.Text, absent: absent, count: count}
	fields := frameFields
	if count >= 0 {
		// Counted from the history, which keeps no content or times.
		fields = historyFrameFields
	}
	st.match = lp.matchers(fields)
	st.within = lp.deadline(absent)
	lp.end()
	return k, st
}

func parseExpectClosed(lp *lineParser, u string, raw bool) (Kind, action) {
	code, ok := lp.intArg("a close code such as 4003", 4999)
	if !ok {
		return KindExpectClosed, nil
	}
	st := &expectClosedStep{user: u, raw: raw, code: code}
	st.within = lp.deadline(false)
	lp.end()
	return KindExpectClosed, st
}

func parseExpectState(lp *lineParser) (Kind, action) {
	l, ok := lp.label()
	if !ok {
		return KindExpectState, nil
	}
	s, ok := lp.keyword("PENDING", chat.StateSent, chat.StateDelivered)
	if !ok {
		return KindExpectState, nil
	}
	st := &expectStateStep{label: l, state: s}
	st.within = lp.deadline(false)
	lp.end()
	return KindExpectState, st
}

func parseExpectStored(lp *lineParser) (Kind, action) {
	l, ok := lp.label()
	if !ok {
		return KindExpectStored, nil
	}
	st := &expectStoredStep{label: l, rows: -1}
	for !lp.done() {
		t, _ := lp.peek()
		if t.Key == "" && (t.Text == "within") {
			break
		}
		lp.pos++
		switch t.Key {
		case "rows":
			st.rows = lp.intValue(t, maxCount)
		case "delivered":
			b := lp.boolValue(t)
			st.delivered = &b
		case "content":
			if tm, ok := lp.tmpl(t, t.Value); ok {
				st.content = &tm
			}
		default:
			lp.failAt(t.Col, "rows=N, delivered=yes|no or content=TEXT, got %s", t)
		}
	}
	st.within = lp.deadline(false)
	lp.end()
	return KindExpectStored, st
}

func parseExpectInbox(lp *lineParser, u string, absent bool) (Kind, action) {
	k := KindExpectHas
	if absent {
		k = KindExpectLacks
	}
	l, ok := lp.label()
	if !ok {
		return k, nil
	}
	st := &expectInboxStep{user: u, label: l, absent: absent, duplicates: -1}
	for !absent && !lp.done() {
		t, _ := lp.peek()
		if t.Key == "" {
			break
		}
		lp.pos++
		switch t.Key {
		case "replayed":
			b := lp.boolValue(t)
			st.replayed = &b
		case "duplicates":
			st.duplicates = lp.intValue(t, maxCount)
		default:
			lp.failAt(t.Col, "replayed=yes|no or duplicates=N, got %s", t)
		}
	}
	st.within = lp.deadline(absent)
	lp.end()
	return k, st
}

func parseExpectLog(lp *lineParser, absent bool) (Kind, action) {
	k := KindExpectLog
	if absent {
		k = KindExpectNoLog
	}
	inst, ok := lp.instance()
	if !ok {
		return k, nil
	}
	logger, ok := lp.word("a logger name such as RedisBus")
	if !ok {
		return k, nil
	}
	event, ok := lp.word("an event name such as chat_message_published")
	if !ok {
		return k, nil
	}
	st := &expectLogStep{instance: inst, logger: logger.Text, event: event.Text, absent: absent}
	st.match = lp.matchers(nil)
	st.within = lp.deadline(absent)
	lp.end()
	return k, st
}

// wait DURATION | wait until CONDITION [within D]
type waitStep struct{ d time.Duration }

type waitUntilStep struct {
	cond     string // "connected", "disconnected", "redis-up", "redis-down", "running", "stopped", "delivered"
	user     string
	instance string
	within   time.Duration
}

func parseWait(lp *lineParser) (Kind, action) {
	if !lp.optKeyword("until") {
		d, ok := lp.durationArg("a duration, or until CONDITION")
		if !ok {
			return KindWait, nil
		}
		lp.end()
		return KindWait, &waitStep{d: d}
	}
	st := &waitUntilStep{}
	t, ok := lp.peek()
	if !ok {
		lp.failAt(0, "a condition (USER connected|disconnected, redis up|down, instance INST running|stopped, all delivered) at the end of the line")
		return KindWaitUntil, nil
	}
	switch {
	case t.Text == "redis" && !t.Quoted:
		lp.pos++
		w, ok := lp.keyword("up", "down")
		if !ok {
			return KindWaitUntil, nil
		}
		st.cond = "redis-" + w
	case t.Text == "instance" && !t.Quoted:
		lp.pos++
		inst, ok := lp.instance()
		if !ok {
			return KindWaitUntil, nil
		}
		w, ok := lp.keyword("running", "stopped")
		if !ok {
			return KindWaitUntil, nil
		}
		st.cond, st.instance = w, inst
	case t.Text == "all" && !t.Quoted:
		lp.pos++
		if _, ok := lp.keyword("delivered"); !ok {
			return KindWaitUntil, nil
		}
		st.cond = "delivered"
	default:
		u, ok := lp.user()
		if !ok {
			return KindWaitUntil, nil
		}
		w, ok := lp.keyword("connected", "disconnected")
		if !ok {
			return KindWaitUntil, nil
		}
		st.cond, st.user = w, u
	}
	st.within = lp.deadline(false)
	lp.end()
	return KindWaitUntil, st
}

// workload users=N rate=R duration=D [...]
type workloadStep struct {
	users     int
	rate      float64 // sends per second, all users together
	duration  time.Duration
	seed      int64 // 0: the run's seed
	instances []string
	outages   int           // Redis outages spread over the duration
	outage    time.Duration // length of each outage
	dropAcks  float64       // chance per send that the recipient skips its next DELIVERY_ACK
	loseAcks  float64       // chance per send that the sender loses its MESSAGE_ACK
	reconnect float64       // chance per send that a random user reconnects
	move      float64       // chance per send that a random user moves instance
	settle    time.Duration // how long everything may take to be delivered afterwards
	prefix    string
}

func parseWorkload(lp *lineParser) (Kind, action) {
	st := &workloadStep{outage: 2 * time.Second, settle: 20 * time.Second, prefix: "w"}
	seen := map[string]bool{}
	for !lp.done() {
		t, _ := lp.next()
		if t.Key == "" {
			lp.failAt(t.Col, "a workload setting key=value, got %s", t)
			continue
		}
		seen[t.Key] = true
		switch t.Key {
		case "users":
			st.users = lp.intValue(t, maxUsers)
		case "rate":
			f, err := strconv.ParseFloat(t.Value, 64)
			if err != nil || f <= 0 || f > 10000 {
				lp.failAt(t.Col, "rate=R sends per second, 0 < R <= 10000, got %s", t)
			}
			st.rate = f
		case "duration":
			st.duration = lp.durationValue(t)
		case "seed":
			n, err := strconv.ParseInt(t.Value, 10, 64)
			if err != nil || n == 0 {
				lp.failAt(t.Col, "seed=N with a non-zero integer N, got %s", t)
			}
			st.seed = n
		case "instances":
			for _, n := range strings.Split(t.Value, ",") {
				if !slices.Contains(lp.p.sc.Options.InstanceNames(), n) {
					lp.failAt(t.Col, "instances among %s, got %s", strings.Join(lp.p.sc.Options.InstanceNames(), ","), t)
					break
				}
				st.instances = append(st.instances, n)
			}
		case "outages":
			st.outages = lp.intValue(t, 100)
		case "outage":
			st.outage = lp.durationValue(t)
		case "drop-acks":
			st.dropAcks = lp.probValue(t)
		case "lose-acks":
			st.loseAcks = lp.probValue(t)
		case "reconnects":
			st.reconnect = lp.probValue(t)
		case "moves":
			st.move = lp.probValue(t)
		case "settle":
			st.settle = lp.durationValue(t)
		case "prefix":
			if !isName(t.Value) || len(t.Value) > 20 {
				lp.failAt(t.Col, "prefix=NAME of letters, digits or '_', got %s", t)
			}
			st.prefix = t.Value
		default:
			lp.failAt(t.Col, "a workload setting (users, rate, duration, seed, instances, outages, outage, drop-acks, lose-acks, reconnects, moves, settle, prefix), got %s", t.Key)
		}
	}
	for _, k := range []string{"users", "rate", "duration"} {
		if !seen[k] {
			lp.failAt(0, "%s= in a workload (users=N rate=R duration=D are required)", k)
		}
	}
	if seen["users"] && st.users < 2 {
		lp.failAt(0, "users=N with N at least 2")
	}
	if st.outages > 0 && st.duration > 0 && time.Duration(st.outages)*st.outage*2 > st.duration {
		lp.failAt(0, "outages*outage to fit twice in the duration (outages=%d outage=%s duration=%s)", st.outages, st.outage, st.duration)
	}
	if len(st.instances) == 0 {
		st.instances = lp.p.sc.Options.InstanceNames()
	}
	return KindWorkload, st
}
