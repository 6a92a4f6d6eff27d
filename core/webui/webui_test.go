package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/webui"
)

// serve starts the handler on a loopback server.
func serve(t *testing.T, o webui.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(webui.New(o))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// Every file is served with its own type, revalidation headers and the
// security headers that keep the page to its own scripts.
func TestServesFilesWithHeaders(t *testing.T) {
	srv := serve(t, webui.Options{})
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/app/main.js">`},
		{"/app/main.js", "text/javascript; charset=utf-8", "import"},
		{"/app/socket.js", "text/javascript; charset=utf-8", "WebSocket"},
		{"/app/style.css", "text/css; charset=utf-8", "[hidden]"},
		{"/app/icon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, srv.URL+tc.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			h := res.Header
			if got := h.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			for k, want := range map[string]string{
				"Cache-Control":          "no-cache",
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';",
				"connect-src 'self' ws://" + host + " wss://" + host + ";", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q allows something unsafe", csp)
			}
			if h.Get("ETag") == "" {
				t.Error("no ETag")
			}
		})
	}
}

// A client holding the current ETag gets 304 and no body.
func TestETagRevalidation(t *testing.T) {
	srv := serve(t, webui.Options{})
	res, _ := get(t, srv.URL+"/app/main.js", nil)
	etag := res.Header.Get("ETag")
	res, body := get(t, srv.URL+"/app/main.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("with the ETag: status %d, %d bytes; want 304 and none", res.StatusCode, len(body))
	}
	res, _ = get(t, srv.URL+"/app/main.js", map[string]string{"If-None-Match": `"stale"`})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("with a stale ETag: status %d, want 200", res.StatusCode)
	}
}

// The WebSocket path reaches the page through index.html, escaped, and
// changes the page's ETag.
func TestIndexCarriesWSPath(t *testing.T) {
	def := serve(t, webui.Options{})
	res, body := get(t, def.URL+"/", nil)
	if !strings.Contains(body, `<meta name="dmchat-ws-path" content="/ws">`) {
		t.Fatalf("default index lacks the /ws meta tag")
	}
	custom := serve(t, webui.Options{WSPath: `/chat"><script>x</script>`})
	res2, body2 := get(t, custom.URL+"/", nil)
	if strings.Contains(body2, "<script>x") || !strings.Contains(body2, `content="/chat&#34;&gt;&lt;script&gt;x&lt;/script&gt;"`) {
		t.Fatalf("WS path not escaped into the meta tag")
	}
	if res.Header.Get("ETag") == res2.Header.Get("ETag") {
		t.Fatal("two different pages share an ETag")
	}
}

// Unknown files, other methods and a Host that could break the CSP header.
func TestRefusals(t *testing.T) {
	h := webui.New(webui.Options{})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/app/nope.js", http.StatusNotFound},
		{http.MethodGet, "/app/../doc.go", http.StatusNotFound},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodHead, "/", http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "evil; script-src *"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "evil") || !strings.Contains(csp, "connect-src 'self';") {
		t.Fatalf("CSP with a bad Host: %q", csp)
	}
}
