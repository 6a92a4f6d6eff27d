package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// static holds the client's files; index.html is a template (see render).
//
//go:embed static
var static embed.FS

// AssetPrefix is the URL path under which the client's files (other than
// index.html, served at "/") are served.
const AssetPrefix = "/app/"

// Options configure the handler. The zero value serves a client that
// connects to the WebSocket at "/ws".
type Options struct {
	// WSPath is the server's WebSocket path (WS_PATH). Default "/ws".
	WSPath string
}

// Handler serves the embedded client: "/" is index.html, AssetPrefix+NAME
// the file NAME. Everything is prepared by New, so it is safe for
// concurrent use and allocates little per request.
type Handler struct {
	files map[string]file // by URL path
}

// file is one prepared response body.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// New prepares every embedded file (rendering index.html with o).
func New(o Options) *Handler {
	if o.WSPath == "" {
		o.WSPath = "/ws"
	}
	h := &Handler{files: map[string]file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		urlPath := AssetPrefix + name
		if name == "index.html" {
			if body, err = render(body, o); err != nil {
				return err
			}
			urlPath = "/"
		}
		h.files[urlPath] = newFile(name, body)
		return nil
	})
	if err != nil {
		// The files are compiled in: a failure here is a bug in this
		// package, caught by its tests, never a run-time condition.
		panic(fmt.Sprintf("webui: failed to prepare the embedded client: %v", err))
	}
	return h
}

// render fills index.html's template with the options; html/template
// escapes the values, so a WS_PATH cannot inject markup.
func render(tmpl []byte, o Options) ([]byte, error) {
	t, err := template.New("index.html").Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, o); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func newFile(name string, body []byte) file {
	sum := sha256.Sum256(body)
	return file{body: body, contentType: contentType(name), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// contentType is explicit for the few kinds of file the client has, so it
// does not depend on the host's mime.types.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	default:
		return "application/octet-stream"
	}
}

// ServeHTTP serves GET and HEAD of "/" and the assets; anything else is a
// plain 404 (the API keeps its JSON 404 for the routes it owns).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := h.files[r.URL.Path]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	setSecurityHeaders(hd, r.Host)
	hd.Set("Content-Type", f.contentType)
	hd.Set("ETag", f.etag)
	// The file names carry no content hash, so every use revalidates: a
	// new binary's client is picked up at once, an unchanged one costs a
	// 304.
	hd.Set("Cache-Control", "no-cache")
	// ServeContent answers If-None-Match with 304 and HEAD without a body.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
