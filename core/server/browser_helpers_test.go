package server_test

// Helpers of the browser tests: one headless Chromium per test (Debian's
// chromium, never a downloaded one), and pages that each live in their own
// browser context, so each has its own cookie jar, like two browsers.
// Cookies are per host, not per port: without that, user1's login on A
// would replace user2's on B.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserWait bounds every wait on the page.
const browserWait = 10 * time.Second

// browser is one Chromium process.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string // the directory screenshots are saved to
}

// newBrowser starts Chromium from DMCHAT_CHROMIUM. Without it the test is
// skipped, unless DMCHAT_REQUIRE_SERVICES is set (make test): then a
// missing browser fails, like a missing database.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := os.Getenv("DMCHAT_CHROMIUM")
	if path == "" {
		if os.Getenv("DMCHAT_REQUIRE_SERVICES") != "" {
			t.Fatal("DMCHAT_CHROMIUM is not set: run eval \"$(bash .ci/services.sh)\" (installs chromium)")
		}
		t.Skip("DMCHAT_CHROMIUM is not set; eval \"$(bash .ci/services.sh)\" to run the browser tests")
	}
	profile, err := os.MkdirTemp("", "dmchat-chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Every page of a test is a background tab but one: their timers
		// (the socket's backoff, the admin's poll) must run at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return &browser{t: t, ctx: bctx, shots: screenshotDir(t)}
}

// screenshotDir is where the test's screenshots go: DMCHAT_SCREENSHOTS
// when set (kept), else a temporary directory kept and printed only when
// the test fails.
func screenshotDir(t *testing.T) string {
	t.Helper()
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_")
	if root := os.Getenv("DMCHAT_SCREENSHOTS"); root != "" {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir, err := os.MkdirTemp("", "dmchat-browser-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots of %s: %s", t.Name(), dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// page is one tab in its own browser context (its own cookies).
type page struct {
	t    *testing.T
	b    *browser
	name string
	base string
	ctx  context.Context

	// mu guards problems, appended by the console reader's goroutine.
	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
}

// page opens a tab named name on the instance at base (http://host:port).
// An uncaught exception or a Content-Security-Policy violation on it fails
// the test.
func (b *browser) page(name, base string) *page {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	return b.open(ctx, cancel, name, base)
}

// tab opens another tab named name in p's browser context: same cookies,
// as a second tab of one browser.
func (p *page) tab(name string) *page {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	return p.b.open(ctx, cancel, name, p.base)
}

func (b *browser) open(ctx context.Context, cancel context.CancelFunc, name, base string) *page {
	b.t.Helper()
	p := &page{t: b.t, b: b, name: name, base: base, ctx: ctx}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				p.mu.Lock()
				p.problems = append(p.problems, m.String())
				p.mu.Unlock()
			}
		}
	}()
	b.t.Cleanup(func() {
		p.mu.Lock()
		for _, pr := range p.problems {
			b.t.Errorf("page %s: %s", name, pr)
		}
		p.mu.Unlock()
		cancel()
		<-done
	})
	p.do(chromedp.Navigate(base + "/"))
	return p
}

// do runs the steps, failing the test (with a screenshot) on error.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed")
		p.t.Fatalf("page %s: %v", p.name, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into out.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("page %s: eval %s: %v", p.name, expr, err)
	}
	return v
}

// waitJS waits until the JavaScript expression is truthy, failing after
// browserWait with what, and a screenshot.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	p.waitJSFor(what, expr, browserWait)
}

func (p *page) waitJSFor(what, expr string, d time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, d+time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		p.shot("failed")
		p.t.Fatalf("page %s: not within %v: %s: %v", p.name, d, what, err)
	}
}

// shot saves a screenshot of the page as NAME-label.png.
func (p *page) shot(label string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("page %s: screenshot: %v", p.name, err)
		return
	}
	path := filepath.Join(p.b.shots, fmt.Sprintf("%s-%s.png", p.name, label))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("page %s: save screenshot: %v", p.name, err)
	}
}

// view waits until the page shows view ("login", "chat", "banned").
func (p *page) view(view string) {
	p.t.Helper()
	p.waitJS("view "+view, fmt.Sprintf(`document.getElementById('app').dataset.view === %q`, view))
}

// login logs name in through the form and waits for the live socket.
func (p *page) login(name, password string) {
	p.t.Helper()
	p.view("login")
	p.do(
		chromedp.SetValue(chromedp.CSS(`input[aria-label="username"]`), name),
		chromedp.SetValue(chromedp.CSS(`input[aria-label="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[aria-label="log in"]`)),
	)
	p.view("chat")
	p.waitLive()
}

// waitLive waits until the socket finished its replay.
func (p *page) waitLive() {
	p.t.Helper()
	p.waitJS("socket live", `document.getElementById('conn-status').dataset.conn === 'live'`)
}

// openWith opens the conversation with the user name (id) the way a user
// does: searching people (GET /api/users) and clicking the result.
func (p *page) openWith(name, id string) {
	p.t.Helper()
	sel := fmt.Sprintf(`#people-results button[data-user-id=%q]`, id)
	p.do(
		chromedp.SetValue(chromedp.CSS(`input[aria-label="search people"]`), name),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('people-search').dispatchEvent(new Event('input'))`),
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
	)
	p.waitJS("conversation open", fmt.Sprintf(`location.hash === %q && !document.getElementById('compose').hidden`, "#with="+id))
	p.waitJS("conversation titled", fmt.Sprintf(`document.getElementById('conversation-title').textContent === %q`, "Conversation with "+name))
}

// sendMessage types content and presses send.
func (p *page) sendMessage(content string) {
	p.t.Helper()
	p.do(
		chromedp.SetValue(chromedp.CSS(`textarea[aria-label="message"]`), content),
		chromedp.Click(chromedp.CSS(`button[aria-label="send"]`)),
	)
}

// messageByContent waits for the message element showing content and
// returns its data-message-id once it has one.
func (p *page) messageByContent(content string) string {
	p.t.Helper()
	expr := fmt.Sprintf(`[...document.querySelectorAll('#messages li')].find(li => li.querySelector('.content').textContent === %q && li.dataset.messageId)?.dataset.messageId`, content)
	p.waitJS("message "+content, expr)
	return eval[string](p, expr)
}

// waitState waits until the message id shows state.
func (p *page) waitState(id, state string) {
	p.t.Helper()
	p.waitJS("message "+id+" "+state, fmt.Sprintf(`document.querySelector('#messages li[data-message-id=%q]')?.dataset.state === %q`, id, state))
}

// shownIDs is the data-message-id of every message element, in order.
func (p *page) shownIDs() []string {
	p.t.Helper()
	return eval[[]string](p, `[...document.querySelectorAll('#messages li')].map(li => li.dataset.messageId)`)
}
