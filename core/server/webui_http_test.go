package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/config"
)

// Every instance serves the web client at GET /, with the configured
// WebSocket path in it, while unknown /api/ paths keep their JSON 404.
func TestServesWebClient(t *testing.T) {
	e := setup(t, func(c *config.Config) { c.WSPath = "/socket" }, nil)
	res, err := http.Get(e.srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), `<meta name="dmchat-ws-path" content="/socket">`) {
		t.Fatalf("GET /: %d %s, want the client with WS path /socket", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("GET / has no Content-Security-Policy")
	}
	for _, path := range []string{"/api/nope", "/nope"} {
		res, err := http.Get(e.srv.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Error struct{ Code string } `json:"error"`
		}
		err = json.NewDecoder(res.Body).Decode(&b)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || err != nil || b.Error.Code != "NOT_FOUND" {
			t.Fatalf("GET %s: %d, code %q (%v), want the JSON 404", path, res.StatusCode, b.Error.Code, err)
		}
	}
}
