package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const goodScript = `# Every kind of step, once.
sandbox db=mem redis=up seed=7 instances=A,B timeout=3s redis-init-timeout=500ms
step 1 "users and sockets"
user alice on A
user bob_2 on B
user root on A admin
connect alice
connect bob_2 to A   # a trailing comment
disconnect bob_2
reconnect alice
move bob_2 to B

step 2 "messages"
send alice to bob_2 "hi \"there\"" as m1
send bob_2 to alice 'plain $$ text'
burst alice 5 to bob_2,root
autoack bob_2 off
ack bob_2
drop delivery-acks bob_2 1
drop message-acks alice 2
expect bob_2 frame MESSAGE messageId=$m1 senderId=$alice content="hi \"there\"" within 2s
expect bob_2 no frame ERROR for 500ms
expect alice received 1 MESSAGE_ACK clientMessageId=$m1.cmid
expect bob_2 closed 4003 within 1s
expect bob_2 has m1 replayed=yes duplicates=0
expect bob_2 lacks m1 for 1s
expect state m1 DELIVERED
expect stored m1 rows=1 delivered=yes content=hi within 2s
expect log A RedisBus chat_message_published messageId=$m1 originInstanceId=A
expect no log B RedisBusHandler admin_kick_ban_applied targetUserId=$bob_2 for 2s

step 3 "faults"
ban bob_2 by root on B
unban bob_2 by root
stop redis
start redis
stop instance B
start instance B
bus latency=50ms drop=0.25
bus ok
xfail "known bug" raw alice '{"type":"NOPE"}' times=3
raw alice "${pad 70000}"
expect raw alice frame ERROR code=BAD_FRAME
expect raw alice closed 1009
wait 100ms
wait until bob_2 connected within 2s
wait until redis down
wait until instance B running
wait until all delivered within 10s
workload users=10 rate=20 duration=5s seed=3 outages=1 outage=1s \
    drop-acks=0.1 lose-acks=0.05 reconnects=0.01 moves=0.01 settle=5s prefix=soak
`

func TestParseGood(t *testing.T) {
	sc, err := ParseString("good.scn", goodScript)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	o := sc.Options
	if o.DB != "mem" || o.RedisDown || o.Seed != 7 || o.Timeout != 3*time.Second ||
		o.RedisInitTimeout != 500*time.Millisecond || strings.Join(o.Instances, ",") != "A,B" {
		t.Errorf("options = %+v", o)
	}
	if len(sc.Gates) != 3 || sc.Gates[1].ID != "2" || sc.Gates[1].Description != "messages" || sc.Gates[1].Line != 13 {
		t.Errorf("gates = %+v", sc.Gates)
	}
	wantKinds := []Kind{
		KindUser, KindUser, KindUser, KindConnect, KindConnect, KindDisconnect, KindReconnect, KindMove,
		KindSend, KindSend, KindBurst, KindAutoAck, KindAck, KindDropAcks, KindDropAcks,
		KindExpectFrame, KindExpectNoFrame, KindExpectReceived, KindExpectClosed, KindExpectHas, KindExpectLacks,
		KindExpectState, KindExpectStored, KindExpectLog, KindExpectNoLog,
		KindBan, KindUnban, KindRedisStop, KindRedisStart, KindInstanceStop, KindInstanceStart, KindBusFault, KindBusFault,
		KindRaw, KindRaw, KindExpectFrame, KindExpectClosed, KindWait, KindWaitUntil, KindWaitUntil, KindWaitUntil,
		KindWaitUntil, KindWorkload,
	}
	if len(sc.Steps) != len(wantKinds) {
		t.Fatalf("got %d steps, want %d", len(sc.Steps), len(wantKinds))
	}
	for i, st := range sc.Steps {
		if st.Kind != wantKinds[i] {
			t.Errorf("step %d (%s): kind %s, want %s", i, st, st.Kind, wantKinds[i])
		}
		if st.act == nil {
			t.Errorf("step %d (%s): no action", i, st)
		}
	}
	first := sc.Steps[0]
	if first.Line != 4 || first.Gate != 0 || first.Text != "user alice on A" || first.File != "good.scn" {
		t.Errorf("first step = %+v", first)
	}

	send := sc.Steps[8].act.(*sendStep)
	if send.from != "alice" || send.to != "bob_2" || send.label != "m1" || send.content.String() != `hi "there"` {
		t.Errorf("send = %+v", send)
	}
	plain := sc.Steps[9].act.(*sendStep)
	if got, _ := plain.content.expand(nil); got != "plain $ text" {
		t.Errorf("single-quoted content = %q", got)
	}
	ef := sc.Steps[15].act.(*expectFrameStep)
	if ef.typ != "MESSAGE" || len(ef.match) != 3 || ef.within != 2*time.Second || ef.match[0].key != "messageId" {
		t.Errorf("expect frame = %+v", ef)
	}
	rcv := sc.Steps[17].act.(*expectFrameStep)
	if rcv.count != 1 || rcv.match[0].value.String() != "$m1.cmid" {
		t.Errorf("expect received = %+v", rcv)
	}
	ban := sc.Steps[25].act.(*banStep)
	if ban.target != "bob_2" || ban.admin != "root" || ban.instance != "B" || ban.unban {
		t.Errorf("ban = %+v", ban)
	}
	xf := sc.Steps[33]
	if xf.XFail != "known bug" || xf.act.(*rawStep).times != 3 || xf.Text != `xfail "known bug" raw alice '{"type":"NOPE"}' times=3` {
		t.Errorf("xfail raw = %+v %+v", xf, xf.act)
	}
	w := sc.Steps[len(sc.Steps)-1]
	wl := w.act.(*workloadStep)
	if w.Line != 50 || wl.users != 10 || wl.rate != 20 || wl.duration != 5*time.Second || wl.seed != 3 ||
		wl.outages != 1 || wl.dropAcks != 0.1 || wl.prefix != "soak" || len(wl.instances) != 2 {
		t.Errorf("workload at line %d = %+v", w.Line, wl)
	}
}

func TestParseBad(t *testing.T) {
	const head = "user alice on A\nuser bob on B\nuser root on A admin\n"
	tests := []struct {
		name, src string
		line      int
		want      string // substring of the error
	}{
		{"unknown verb", "sned alice", 1, `expected a step (ack, autoack, ban, burst, bus, connect, disconnect, drop, expect, move, raw, reconnect, sandbox, send, start, step, stop, unban, user, wait, workload), got sned`},
		{"undeclared user", head + "connect carol", 4, `expected a user declared earlier with "user NAME on INSTANCE", got carol (declared: alice, bob, root)`},
		{"user before declaration", "connect alice\nuser alice on A", 1, `got alice (no user is declared yet)`},
		{"bad instance", "user alice on C", 1, `expected an instance (A, B), got C`},
		{"duplicate user", head + "user alice on B", 4, `expected a new user name, got alice (declared on line 1)`},
		{"short user name", "user al on A", 1, `expected a user name of 3 to 32 letters`},
		{"reserved user name", "user state on A", 1, `expected a user name that is not a keyword`},
		{"missing on", "user alice A", 1, `expected "on", got A`},
		{"send without content", head + "send alice to bob", 4, `expected the content in quotes, as in: send alice to bob "hello" at the end of the line`},
		{"send missing to", head + "send alice bob \"x\"", 4, `expected "to", got bob`},
		{"label reused", head + "send alice to bob \"a\" as m1\nsend alice to bob \"b\" as m1", 5, `expected a new message label, got m1 (defined on line 4)`},
		{"undefined label", head + "expect state m9 SENT", 4, `expected a message label defined earlier with "send ... as LABEL", got m9`},
		{"bad state", head + "send alice to bob \"a\" as m1\nexpect state m1 READ", 5, `expected "PENDING", "SENT" or "DELIVERED", got READ`},
		{"unknown frame type", head + "expect bob frame MSG", 4, `expected a frame type (MESSAGE_ACK, MESSAGE, MESSAGE_STATE, REPLAY_DONE, ERROR), got MSG`},
		{"unknown frame field", head + "expect bob frame MESSAGE body=x", 4, `expected a field of the frame (messageId, clientMessageId`},
		{"undefined reference", head + "expect bob frame MESSAGE senderId=$carol", 4, `expected $NAME to name a declared user or message label, got $carol`},
		{"cmid of a user", head + "expect bob frame MESSAGE_ACK clientMessageId=$alice.cmid", 4, `expected a message label before .cmid, got $alice.cmid`},
		{"bad duration", head + "expect bob frame MESSAGE within soon", 4, `expected a duration after within (a duration such as 500ms or 5s), got soon`},
		{"for on a positive expectation", head + "expect bob frame MESSAGE for 1s", 4, `expected the end of the line, got for`},
		{"ban by non-admin", head + "ban bob by alice", 4, `expected an admin (declared with "user alice on INSTANCE admin"), got user alice`},
		{"sandbox after steps", head + "sandbox redis=down", 4, `expected sandbox options before the first runnable step`},
		{"bad sandbox option", "sandbox redis=sideways", 1, `expected redis=up or redis=down, got redis=sideways`},
		{"unknown sandbox option", "sandbox colour=blue", 1, `expected a sandbox option (db, redis, redis-init-timeout, seed, instances, timeout), got colour`},
		{"instances after users", head + "", 0, ""},
		{"unterminated string", head + "send alice to bob \"hi", 4, `unterminated string "hi`},
		{"gate without description", "step 5", 1, `expected the gate row's description in quotes, as in: step 5 "DM A to B" at the end of the line`},
		{"xfail without reason", head + "xfail connect alice", 4, `expected the reason in quotes`},
		{"workload missing rate", "workload users=5 duration=1s", 1, `expected rate= in a workload`},
		{"workload outages too long", "workload users=5 rate=1 duration=4s outages=2 outage=2s", 1, `expected outages*outage to fit twice in the duration`},
		{"bad probability", "workload users=5 rate=1 duration=4s drop-acks=2", 1, `expected drop-acks=P with P a probability from 0 to 1, got drop-acks=2`},
		{"burst to unknown", head + "burst alice 3 to bob,dave", 4, `expected declared users separated by commas, got "dave"`},
		{"drop what", head + "drop acks bob 1", 4, `expected "delivery-acks" or "message-acks", got acks`},
		{"stop what", "stop B", 1, `expected "redis" or "instance", got B`},
		{"raw unquoted", head + "raw bob hello", 4, `expected the frame's text in quotes, as in: raw bob 'not json', got hello`},
		{"bad pad", head + "raw bob '${pad lots}'", 4, `${pad N} with 0 < N <= 1048576, got ${pad lots}`},
		{"expect nothing", head + "expect", 4, `expected what to expect`},
		{"wait what", head + "wait until bob online", 4, `expected "connected" or "disconnected", got online`},
		{"extra words", head + "disconnect bob now", 4, `expected the end of the line, got now`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseString("bad.scn", tt.src)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse error = %v, want an ErrorList", err)
			}
			e := list[0]
			if e.File != "bad.scn" || e.Line != tt.line || !strings.Contains(e.Msg, tt.want) {
				t.Errorf("first error = %q (line %d), want line %d containing %q", e.Error(), e.Line, tt.line, tt.want)
			}
			if !strings.HasPrefix(e.Error(), "bad.scn:") {
				t.Errorf("error %q does not start with the file name", e.Error())
			}
		})
	}
}

func TestParseReportsEveryBadLine(t *testing.T) {
	src := "user alice on A\nconnect bob\nsend alice to alice \"ok\"\nexpect alice frame NOPE\nwait forever\n"
	_, err := ParseString("many.scn", src)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Line)
	}
	if len(lines) != 3 || lines[0] != 2 || lines[1] != 4 || lines[2] != 5 {
		t.Errorf("error lines = %v, want [2 4 5]; errors:\n%v", lines, err)
	}
	if !strings.Contains(err.Error(), "many.scn:5:6: expected a duration, or until CONDITION (a duration such as 500ms or 5s), got forever") {
		t.Errorf("error text:\n%v", err)
	}
}

func TestParseInstancesOption(t *testing.T) {
	sc, err := ParseString("x.scn", "sandbox instances=N1,N2,N3\nuser alice on N3\nworkload users=4 rate=1 duration=1s")
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Steps[1].act.(*workloadStep).instances; len(got) != 3 {
		t.Errorf("workload instances = %v", got)
	}
	_, err = ParseString("x.scn", "sandbox instances=A,A")
	if err == nil || !strings.Contains(err.Error(), "distinct names") {
		t.Errorf("duplicate instances: %v", err)
	}
}

func TestLexer(t *testing.T) {
	toks, err := lexLine(`send a to b "x y" content="p q" k='{"a":1}' # c "d`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.Text+"|"+tk.Key+"|"+tk.Value)
	}
	want := []string{"send||", "a||", "to||", "b||", "x y||", "content=p q|content|p q", `k={"a":1}|k|{"a":1}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tokens:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !toks[4].Quoted || toks[5].Quoted {
		t.Errorf("quoted flags: %+v", toks)
	}
	// A quoted word is never key=value.
	toks, _ = lexLine(`"a=b"`)
	if toks[0].Key != "" || toks[0].Text != "a=b" {
		t.Errorf("quoted a=b = %+v", toks[0])
	}
}

func TestTemplate(t *testing.T) {
	tm, err := parseTemplate("to $bob: $m1/$m1.cmid ${pad 3} $$5 ${bob}!")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.expand(func(name, attr string) (string, error) {
		return "<" + name + ":" + attr + ">", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "to <bob:>: <m1:>/<m1:cmid> xxx $5 <bob:>!"; got != want {
		t.Errorf("expand = %q, want %q", got, want)
	}
	for _, bad := range []string{"$", "${bob", "$m1.id", "${pad 0}", "$-x"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("parseTemplate(%q) succeeded", bad)
		}
	}
}
