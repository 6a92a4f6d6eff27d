// Package scenario is the sandbox's scenario language: plain-text files under
// scenarios/ that drive simulated users, admins and faults against a
// sandbox.Cluster, assert what must happen, and check the recorded history
// against the protocol's guarantees at the end.
//
// Parse reads a file and reports every bad line (file, line, what was
// expected) before anything runs; Run runs a Script step by step on a
// cluster it starts from the script's options, or on one it is given (the
// TUI's), calling Hooks before and after each step so a caller can pause,
// step and continue. The Report it returns prints as PASS/FAIL lines and a
// gate table, and encodes as JSON or JUnit XML.
//
// # The language
//
// One step per line. '#' starts a comment; a line ending in '\' continues on
// the next. Words are separated by blanks; "double quotes" take Go escapes,
// 'single quotes' are taken as written. Values may name users and messages:
// $bob is bob's user id, $m1 the messageId of the message sent "as m1",
// $m1.cmid its clientMessageId, ${pad N} N bytes of 'x', $$ a '$'.
//
//	sandbox db=mem redis=down seed=7 instances=A,B timeout=5s redis-init-timeout=1s
//	step 5 "DM A to B: publish on A, deliver on B"     # a row of the gate table
//
//	user alice on A [admin]          # register a user whose home instance is A
//	connect alice [to B]             # open a socket, wait for REPLAY_DONE
//	disconnect alice | reconnect alice | move alice to B
//	send alice to bob "hi" [as m1]   # MESSAGE_SEND; retried with the same cmid until MESSAGE_ACK
//	burst alice 20 to bob,carol
//	autoack bob off | ack bob        # stop acking deliveries; ack all pending now
//	drop delivery-acks bob 1         # bob skips his next DELIVERY_ACK
//	drop message-acks alice 1        # alice loses her next MESSAGE_ACK (and retries)
//	ban bob by root [on A] | unban bob by root [on A]
//	stop redis | start redis | stop instance B | start instance B
//	bus latency=50ms drop=0.1 | bus ok
//	raw bob '{"type":"NOPE"}' [times=N]   # a frame on bob's own raw socket
//
//	expect bob frame MESSAGE messageId=$m1 content="hi" [within 5s]
//	expect bob no frame MESSAGE [for 1s]
//	expect alice received 1 MESSAGE_STATE messageId=$m1   # exactly 1, over every socket
//	expect bob closed 4003 | expect raw bob frame ERROR code=BAD_FRAME | expect raw bob closed 1009
//	expect bob has m1 [replayed=yes] [duplicates=0] | expect bob lacks m1 [for 2s]
//	expect state m1 DELIVERED        # the sender's view: PENDING, SENT or DELIVERED
//	expect stored m1 rows=1 delivered=yes content="hi"
//	expect log A RedisBus chat_message_published messageId=$m1 originInstanceId=A
//	expect no log B RedisBusHandler admin_kick_ban_applied [for 2s]
//	wait 500ms
//	wait until bob connected | redis up | instance B running | all delivered [within 10s]
//	workload users=50 rate=40 duration=30s outages=2 outage=3s drop-acks=0.05 lose-acks=0.02 reconnects=0.01
//	xfail "bug: ..." STEP            # a step known to fail: reported, not counted
//
// "connect", "reconnect" and "move" wait for REPLAY_DONE; a banned user's
// refusal (ERROR BANNED, close 4003) does not fail them, so that
// expectations can check it. "send" waits for the MESSAGE_ACK (retries
// included). A failed expectation or wait is reported and the run goes on;
// a failed action stops it (the remaining steps are SKIP).
//
// A frame expectation matches frames received on the user's current socket
// (since the last connect, reconnect or move) that no earlier expectation
// matched, and "no frame" looks only at frames no earlier expectation
// matched; "received N" counts, from the history, every frame of every
// socket of the user (so it cannot match content or createdAt). A log
// expectation matches a record of that instance whose logger is the name or
// a child of it ("Server" matches "Server.http"), each record matched once;
// "expect no log" looks at every record since the run started and for the
// "for" window after.
//
// Every run records a history (history.Recorder) and checks it with
// history.Check after the last step: a violation fails the run and is
// printed with the events that show it and the seed that reproduces it.
package scenario
