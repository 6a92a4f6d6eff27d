package server_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// phoneLayout measures the chat view: whether anything is wider than the
// screen, how wide the open conversation is (a fraction of the screen),
// and whether each pane starts below the one before it (one column).
const phoneLayout = `(() => {
	const box = id => document.getElementById(id).getBoundingClientRect();
	const nav = document.querySelector('#chat-view .sidebar').getBoundingClientRect();
	const conv = box('conversation'), admin = box('admin-view');
	return {
		overflow: document.documentElement.scrollWidth > window.innerWidth,
		conversationShare: conv.width / window.innerWidth,
		stacked: nav.bottom <= conv.top + 1 && (document.getElementById('admin-view').hidden || conv.bottom <= admin.top + 1),
		adminShare: document.getElementById('admin-view').hidden ? 1 : admin.width / window.innerWidth,
	};
})()`

type phoneLayoutResult struct {
	Overflow          bool    `json:"overflow"`
	ConversationShare float64 `json:"conversationShare"`
	Stacked           bool    `json:"stacked"`
	AdminShare        float64 `json:"adminShare"`
}

// On a phone's screen (390 × 844 CSS pixels) the web client is one column:
// people and conversations above the open conversation, which takes the
// screen's width, and for an admin the users list below it; nothing is
// wider than the screen.
func TestBrowserPhoneLayout(t *testing.T) {
	e := setup(t, nil, nil)
	e.user("user1")
	u2ID, _ := e.user("user2")
	br := newBrowser(t)

	for _, who := range []struct{ name, password string }{{"user1", testPassword}, {"root", "rootpassword"}} {
		p := br.page(who.name+"-phone", e.srv.URL())
		p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		p.login(who.name, who.password)
		p.openWith("user2", u2ID)
		p.sendMessage("hello from a phone, long enough to wrap onto a second line of the screen")
		p.messageByContent("hello from a phone, long enough to wrap onto a second line of the screen")
		if who.name == "root" {
			p.waitJS("the admin users list", `document.querySelectorAll('#admin-users tbody tr').length >= 3`)
		}
		p.shot("conversation")
		got := eval[phoneLayoutResult](p, phoneLayout)
		if got.Overflow || got.ConversationShare < 0.9 || !got.Stacked || got.AdminShare < 0.9 {
			t.Errorf("%s on a phone: %+v; want no overflow, the conversation and the admin list ≥ 90%% of the width, one column",
				who.name, got)
		}
	}
}
