package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestPprofServesProfilesOnItsOwnListenerAndStops(t *testing.T) {
	p, err := startPprof("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get("http://" + p.Addr() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("index: %d %.200s", code, body)
	}
	if code, _ := get("/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Fatalf("goroutine profile: %d", code)
	}
	if code, _ := get("/api/me"); code != http.StatusNotFound {
		t.Fatalf("the pprof listener served a non-pprof path: %d", code)
	}
	p.stop()
	if _, err := hc.Get("http://" + p.Addr() + "/debug/pprof/"); err == nil {
		t.Fatal("pprof still served after stop")
	}
}

func TestPprofOffWhenNoAddress(t *testing.T) {
	p, err := startPprof("", zap.NewNop())
	if err != nil || p != nil {
		t.Fatalf("startPprof(\"\") = %v, %v; want nothing", p, err)
	}
	p.stop() // a nil server stops as nothing
}
