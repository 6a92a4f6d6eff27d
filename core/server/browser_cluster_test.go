package server_test

// The seeds' two-instance checklist (steps 5 to 7) driven through the web
// client in real Chromium: user1's page on A, user2's on B, the admin's on
// A, over one miniredis.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dmchat/dmchat/core/bus"
)

// Steps 5 and 6: a DM from user1 on A appears on user2's page on B without
// a refresh and turns DELIVERED on user1's page; the admin on A bans
// user2, whose page on B shows "banned" and does not reconnect.
func TestBrowserClusterDirectMessageAndBan(t *testing.T) {
	c := newCluster(t, "mem", false)
	a, b := c.pair(nil)
	u1ID, _ := a.user("user1")
	u2ID, _ := a.user("user2")
	br := newBrowser(t)

	p1 := br.page("user1-on-A", a.srv.URL())
	p1.login("user1", testPassword)
	p2 := br.page("user2-on-B", b.srv.URL())
	p2.login("user2", testPassword)
	p2.openWith("user1", u1ID)
	p1.openWith("user2", u2ID)
	p2.waitJS("page names instance B", `document.getElementById('instance').textContent === 'instance B'`)

	// Step 5.
	const content = "hello user2, from A"
	p1.sendMessage(content)
	id := p1.messageByContent(content)
	if got := p2.messageByContent(content); got != id {
		t.Fatalf("user2's page shows message %s, user1's %s", got, id)
	}
	p1.waitState(id, "DELIVERED")
	p1.shot("step5-delivered")
	p2.shot("step5-received")
	a.logs.WaitFor(t, waitFor, fieldsMatch("RedisBus", "chat_message_published",
		map[string]string{"messageId": id, "recipientId": u2ID, "originInstanceId": "A"}))
	b.logs.WaitFor(t, waitFor, fieldsMatch("RedisBusHandler", "chat_message_delivered",
		map[string]string{"messageId": id, "recipientId": u2ID, "originInstanceId": "A"}))

	// Step 6: the admin sees user2 online on B, bans, and watches the kick.
	adm := br.page("admin-on-A", a.srv.URL())
	adm.login("root", "rootpassword")
	row := fmt.Sprintf(`#admin-users tr[data-user-id=%q]`, u2ID)
	adm.waitJS("user2 online on B", fmt.Sprintf(`(r => r && r.dataset.online === 'true' && r.querySelector('.instances').textContent === 'B')(document.querySelector(%q))`, row))
	adm.shot("step6-before-ban")
	adm.do(chromedp.Click(chromedp.CSS(row + ` button[aria-label="ban"]`)))

	p2.view("banned")
	p2.shot("step6-banned")
	b.logs.WaitFor(t, waitFor, fieldsMatch("RedisBusHandler", "admin_kick_ban_applied",
		map[string]string{"targetUserId": u2ID, "originInstanceId": "A"}))
	adm.waitJS("user2 banned and offline", fmt.Sprintf(`(r => r.dataset.banned === 'true' && r.dataset.online === 'false')(document.querySelector(%q))`, row))
	adm.waitJS("unban offered", fmt.Sprintf(`!!document.querySelector(%q)`, row+` button[aria-label="unban"]`))
	adm.shot("step6-after-ban")
	// No reconnect loop: the socket stopped for good after 4003, having
	// connected once, and nothing is scheduled.
	if got := eval[string](p2, `(s => [s.stopped, s.connects, s.ws === null].join())(window.dmchatSocket)`); got != "true,1,true" {
		t.Fatalf("user2's socket after the ban: stopped,connects,closed = %s, want true,1,true", got)
	}
	if n := b.srv.Node().UserSockets(u2ID); n != 0 {
		t.Fatalf("user2 still has %d sockets on B", n)
	}

	// Unban from the list; user2 can then log in again on B.
	adm.do(chromedp.Click(chromedp.CSS(row + ` button[aria-label="unban"]`)))
	adm.waitJS("user2 unbanned", fmt.Sprintf(`document.querySelector(%q).dataset.banned === 'false'`, row))
	p2.do(chromedp.Reload())
	p2.view("chat")
	p2.waitLive()
}

// Step 7: with Redis stopped, a DM between two users of A is still live in
// both pages; a DM from A to B waits, and reaches user2's open page and
// turns DELIVERED on user1's once Redis is back, with no reload.
func TestBrowserClusterRedisOutage(t *testing.T) {
	c := newCluster(t, "mem", false)
	a, b := c.pair(nil)
	u1ID, _ := a.user("user1")
	u2ID, _ := a.user("user2")
	u3ID, _ := a.user("user3")
	br := newBrowser(t)

	p1 := br.page("user1-on-A", a.srv.URL())
	p1.login("user1", testPassword)
	p3 := br.page("user3-on-A", a.srv.URL())
	p3.login("user3", testPassword)
	p3.openWith("user1", u1ID)
	p2 := br.page("user2-on-B", b.srv.URL())
	p2.login("user2", testPassword)
	p2.openWith("user1", u1ID)

	c.redisDown()
	waitBus(t, a, bus.StateLost, waitFor)

	p1.openWith("user3", u3ID)
	const local = "same instance, Redis down"
	p1.sendMessage(local)
	id := p1.messageByContent(local)
	if got := p3.messageByContent(local); got != id {
		t.Fatalf("user3's page shows %s, want %s", got, id)
	}
	p1.waitState(id, "DELIVERED")
	p1.shot("step7-local-delivered")

	p1.openWith("user2", u2ID)
	const cross = "across instances, after Redis returns"
	p1.sendMessage(cross)
	crossID := p1.messageByContent(cross)
	p1.waitState(crossID, "SENT")
	p1.shot("step7-cross-waiting")

	c.redisUp()
	// Within the node's catch-up after the bus returns.
	p2.waitJSFor("cross-instance message after Redis returns",
		fmt.Sprintf(`!!document.querySelector('#messages li[data-message-id=%q]')`, crossID), 3*waitFor)
	p1.waitJSFor("DELIVERED after Redis returns",
		fmt.Sprintf(`document.querySelector('#messages li[data-message-id=%q]')?.dataset.state === 'DELIVERED'`, crossID), 3*waitFor)
	p2.shot("step7-cross-received")
	p1.shot("step7-cross-delivered")
	for _, p := range []*page{p1, p2} {
		if n := eval[int](p, `window.dmchatSocket.connects`); n != 1 {
			t.Errorf("page %s connected %d times, want 1 (no reload, no reconnect)", p.name, n)
		}
	}
	if got := strings.Join(p2.shownIDs(), ","); got != crossID {
		t.Errorf("user2's conversation shows %s, want only %s", got, crossID)
	}
}
