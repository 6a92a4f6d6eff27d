package server_test

// The web client's own duties, on one instance in real Chromium:
// reconnecting after the server drops the socket, history paging,
// untrusted content, errors next to the message, and logging out.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/store"
)

// storedWith counts the stored messages between a and b with content.
func storedWith(t *testing.T, st store.Store, a, b, content string) int {
	t.Helper()
	msgs, err := st.Conversation(ctxT(t), store.Page{UserA: a, UserB: b, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Content == content {
			n++
		}
	}
	return n
}

// After the server drops the page's socket (1001, as at a shutdown), the
// page reconnects by itself: what was sent to it meanwhile arrives by
// replay, nothing is shown twice, and a message typed while it was
// disconnected is sent on the new socket and stored once.
func TestBrowserReconnectAfterServerDrop(t *testing.T) {
	e := setup(t, nil, nil)
	u1ID, _ := e.user("user1")
	u2ID, u2Tok := e.user("user2")
	u2, _ := e.dial(u2Tok)
	br := newBrowser(t)
	p := br.page("user1", e.srv.URL())
	p.login("user1", testPassword)
	p.openWith("user2", u2ID)

	for i := range 3 {
		send(t, u2, fmt.Sprintf("before-%d", i), u1ID, fmt.Sprintf("before the drop %d", i))
		p.messageByContent(fmt.Sprintf("before the drop %d", i))
	}

	if n := e.srv.Node().Disconnect(u1ID, chat.CloseGoingAway, "test drops the socket"); n != 1 {
		t.Fatalf("user1 had %d sockets, want 1", n)
	}
	// Type a message the moment the page knows it is disconnected: in one
	// turn of the page's event loop, so no reconnect can come between.
	const typed = "typed while disconnected"
	p.waitJS("message typed while reconnecting", fmt.Sprintf(`(() => {
		if (document.getElementById('conn-status').dataset.conn !== 'reconnecting') return false;
		document.getElementById('message').value = %q;
		document.querySelector('button[aria-label="send"]').click();
		return document.querySelector('#messages li[data-state="sending"]') !== null;
	})()`, typed))
	p.shot("reconnecting")
	for i := range 3 {
		send(t, u2, fmt.Sprintf("after-%d", i), u1ID, fmt.Sprintf("after the drop %d", i))
	}
	for i := range 3 {
		p.messageByContent(fmt.Sprintf("after the drop %d", i))
	}
	typedID := p.messageByContent(typed)
	p.shot("reconnected")

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	m, err := u2.WaitFor(ctx, func(f client.Frame) bool { return f.Type == chat.TypeMessage && f.Content == typed })
	if err != nil {
		t.Fatalf("user2 never got the message typed while disconnected: %v", err)
	}
	if err := u2.Ack(ctxT(t), m.MessageID); err != nil {
		t.Fatal(err)
	}
	p.waitState(typedID, "DELIVERED")
	if n := storedWith(t, e.store, u1ID, u2ID, typed); n != 1 {
		t.Fatalf("the message typed while disconnected is stored %d times, want once", n)
	}

	ids := p.shownIDs()
	if len(ids) != 7 || !slices.IsSortedFunc(ids, compareMessageIDs) || len(slices.Compact(slices.Clone(ids))) != 7 {
		t.Fatalf("shown after the reconnect: %v, want 7 distinct ids in order", ids)
	}
	if n := eval[int](p, `window.dmchatSocket.connects`); n != 2 {
		t.Fatalf("the page opened %d sockets, want 2", n)
	}

	// A repeat of a shown message (as after a lost ack) and of a state are
	// dropped by messageId; frames arrive in order, so once the next new
	// message is shown the repeats were handled.
	first, err := e.store.MessageByID(ctxT(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	clients := e.srv.Node().Hub().Sockets(u1ID)
	if len(clients) != 1 {
		t.Fatalf("user1 has %d sockets after the reconnect, want 1", len(clients))
	}
	clients[0].SendFrame(chat.MessageFrame(first))
	clients[0].SendFrame(chat.StateFrame(typedID))
	send(t, u2, "after-repeat", u1ID, "after the repeats")
	p.messageByContent("after the repeats")
	if ids = p.shownIDs(); len(ids) != 8 || !slices.IsSortedFunc(ids, compareMessageIDs) || len(slices.Compact(slices.Clone(ids))) != 8 {
		t.Fatalf("after a repeated MESSAGE: shown %v, want 8 distinct", ids)
	}
	// Every message the page showed was acked: none is left to replay.
	undelivered, err := e.store.Undelivered(ctxT(t), u1ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(undelivered) != 0 {
		t.Fatalf("%d messages to user1 are not DELIVERED after the page showed them", len(undelivered))
	}
}

// compareMessageIDs orders decimal message ids numerically.
func compareMessageIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// The conversation opens on its newest page and loads older pages as the
// user scrolls up, keeping the messages in view where they were, until
// the start of the conversation: every message once, in order.
func TestBrowserHistoryPaging(t *testing.T) {
	e := setup(t, nil, nil)
	u1ID, _ := e.user("user1")
	u2ID, _ := e.user("user2")
	const total = 120 // the client's page is 50: three pages
	var want []string
	for i := range total {
		m, _, err := e.store.SaveMessage(ctxT(t), store.NewMessage{SenderID: u1ID, RecipientID: u2ID,
			ClientMessageID: fmt.Sprintf("seed-%d", i), Content: fmt.Sprintf("history %03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	br := newBrowser(t)
	p := br.page("user1", e.srv.URL())
	p.login("user1", testPassword)
	p.openWith("user2", u2ID)
	p.waitJS("newest page", `document.querySelectorAll('#messages li').length === 50`)
	if got := p.shownIDs(); !slices.Equal(got, want[total-50:]) {
		t.Fatalf("first page shows %v..., want the newest 50", got[:3])
	}
	p.shot("newest-page")

	for _, n := range []int{100, 120} {
		top := eval[string](p, `document.querySelector('#messages li').dataset.messageId`)
		p.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('history').scrollTop = 0`))
		p.waitJS(fmt.Sprintf("%d messages", n), fmt.Sprintf(`document.querySelectorAll('#messages li').length === %d`, n))
		// The message that was at the top is still in view.
		inView := eval[bool](p, fmt.Sprintf(`(() => {
			const li = document.querySelector('#messages li[data-message-id=%q]').getBoundingClientRect();
			const h = document.getElementById('history').getBoundingClientRect();
			return li.bottom > h.top && li.top < h.bottom;
		})()`, top))
		if !inView {
			t.Errorf("after loading to %d messages, message %s jumped out of view", n, top)
		}
	}
	p.waitJS("start of the conversation", `document.getElementById('history-status').textContent === 'Start of the conversation'`)
	p.shot("oldest-page")
	if got := p.shownIDs(); !slices.Equal(got, want) {
		t.Fatalf("after paging, %d shown, want all %d in order", len(got), total)
	}
}

// Content is untrusted: markup in it is shown as text, creates no element
// and runs nothing. A message over 4096 bytes shows TOO_LARGE next to it;
// a send over the rate limit shows RATE_LIMITED and is sent again, with
// the same clientMessageId, by its retry button.
func TestBrowserUntrustedContentAndErrors(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSRate, c.WSBurst = 5, 2 }, nil)
	u1ID, _ := e.user("user1")
	u2ID, u2Tok := e.user("user2")
	u2, _ := e.dial(u2Tok)
	br := newBrowser(t)
	p := br.page("user1", e.srv.URL())
	p.login("user1", testPassword)
	p.openWith("user2", u2ID)

	const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>`
	send(t, u2, "xss", u1ID, payload)
	id := p.messageByContent(payload)
	got := eval[string](p, fmt.Sprintf(`(() => {
		const li = document.querySelector('#messages li[data-message-id=%q]');
		return [li.querySelector('.content').childElementCount, document.querySelectorAll('#messages img, #messages script, #messages b').length, typeof window.__xss].join();
	})()`, id))
	if got != "0,0,undefined" {
		t.Fatalf("payload rendering: child elements, injected elements, window.__xss = %s, want 0,0,undefined", got)
	}
	p.shot("untrusted-content")

	big := strings.Repeat("x", chat.MaxContentBytes+1)
	p.sendMessage(big)
	p.waitJS("TOO_LARGE next to the message", `(li => li && li.dataset.state === 'failed' && li.querySelector('.msg-error').textContent.startsWith('TOO_LARGE') && li.querySelector('button[aria-label="retry"]').hidden)([...document.querySelectorAll('#messages li')].find(li => li.querySelector('.content').textContent.length > 4096))`)

	// Burst 2: of five sends in one go, some are refused.
	p.do(chromedp.Evaluate[chromedp.Void](`for (let i = 0; i < 5; i++) {
		document.getElementById('message').value = 'burst ' + i;
		document.querySelector('button[aria-label="send"]').click();
	}`))
	limited := `[...document.querySelectorAll('#messages li[data-state="failed"]')].filter(li => li.querySelector('.msg-error').textContent.startsWith('RATE_LIMITED'))`
	p.waitJS("RATE_LIMITED next to a message", limited+`.length > 0`)
	p.shot("errors")
	content := eval[string](p, limited+`[0].querySelector('.content').textContent`)
	// Retry until the limiter lets it through (5/s refill); the polling is
	// slow enough to stay far below the flood threshold.
	p.waitJS("retried message SENT", fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll('#messages li')].find(li => li.querySelector('.content').textContent === %q);
		if (li.dataset.state === 'failed') li.querySelector('button[aria-label="retry"]').click();
		return li.dataset.messageId !== '' && (li.dataset.state === 'SENT' || li.dataset.state === 'DELIVERED');
	})()`, content))
	if n := storedWith(t, e.store, u1ID, u2ID, content); n != 1 {
		t.Fatalf("the retried message is stored %d times, want once", n)
	}
	if n := storedWith(t, e.store, u1ID, u2ID, big); n != 0 {
		t.Fatalf("the TOO_LARGE message was stored")
	}
}

// Logging out shows the login and forgets the conversation; going back in
// the history, or reloading the conversation's address, still shows the
// login. A token expiring while connected (close 4001) also leads there.
func TestBrowserLogoutThenBack(t *testing.T) {
	e := setup(t, nil, nil)
	e.user("user1")
	u2ID, _ := e.user("user2")
	br := newBrowser(t)
	p := br.page("user1", e.srv.URL())
	p.login("user1", testPassword)
	p.openWith("user2", u2ID)
	p.sendMessage("before logout")
	p.messageByContent("before logout")

	p.do(chromedp.Click(chromedp.CSS(`button[aria-label="log out"]`)))
	p.view("login")
	p.shot("logged-out")
	p.do(chromedp.NavigateBack())
	p.view("login")
	if n := eval[int](p, `document.querySelectorAll('#messages li').length`); n != 0 {
		t.Fatalf("after logout and back, %d messages are still in the page", n)
	}
	p.do(chromedp.Navigate(e.srv.URL() + "/#with=" + u2ID))
	p.view("login")
	p.shot("back-and-reload")
}

// A token that expires while the page is connected: the server closes
// with 4001 and the page goes back to the login, without reconnecting.
func TestBrowserExpiredTokenBackToLogin(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.TokenTTL = 3 * time.Second }, nil)
	e.user("user1")
	br := newBrowser(t)
	p := br.page("user1", e.srv.URL())
	p.login("user1", testPassword)
	p.waitJSFor("login after the token expired", `document.getElementById('app').dataset.view === 'login'`, 4*waitFor)
	if got := eval[string](p, `(s => [s.stopped, s.connects, s.lastClose].join())(window.dmchatSocket)`); got != "true,1,4001" {
		t.Fatalf("socket after the token expired: stopped,connects,close = %s, want true,1,4001", got)
	}
}

// Logging out in one tab revokes the token: the other tab of the same
// browser, connected with it, is closed with 4001 and shows the login.
func TestBrowserLogoutInAnotherTab(t *testing.T) {
	e := setup(t, nil, nil)
	e.user("user1")
	br := newBrowser(t)
	first := br.page("user1-tab1", e.srv.URL())
	first.login("user1", testPassword)
	second := first.tab("user1-tab2")
	second.view("chat") // logged in by the shared cookie
	second.waitLive()

	first.do(chromedp.Click(chromedp.CSS(`button[aria-label="log out"]`)))
	first.view("login")
	second.view("login")
	second.shot("closed-by-logout-elsewhere")
	if got := eval[string](second, `(s => [s.stopped, s.connects, s.lastClose].join())(window.dmchatSocket)`); got != "true,1,4001" {
		t.Fatalf("second tab's socket after the logout: stopped,connects,close = %s, want true,1,4001", got)
	}
}
