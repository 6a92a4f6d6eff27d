package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/client"
)

// slowloris holds h.Conns connections that never finish a request: half
// send their headers one byte a second, half send full headers of a POST
// and then its body one byte a second. At most 1,000 bytes each.
func (h *hostileRun) slowloris(ctx context.Context, c *counters, engaged func()) {
	host := strings.TrimPrefix(h.Base, "http://")
	var wg sync.WaitGroup
	var opened sync.WaitGroup
	opened.Add(h.Conns)
	for i := range h.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := h.rawConn(ctx, c, addrSlowloris)
			opened.Done()
			if nc == nil {
				return
			}
			kind := "header"
			start := "POST /api/auth/login HTTP/1.1\r\nHost: " + host + "\r\nX-Slow: "
			if i%2 == 1 {
				kind = "body"
				start = "POST /api/auth/login HTTP/1.1\r\nHost: " + host +
					"\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"username\":\""
			}
			go watchClose(ctx, c, nc, kind)
			if _, err := io.WriteString(nc, start); err != nil {
				return
			}
			// Each trickle ticks from its own connect, so the writes of
			// all connections spread over the second.
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for n := 0; n < 1000; n++ {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if _, err := nc.Write([]byte{'a'}); err != nil {
					return
				}
			}
		}()
	}
	opened.Wait()
	engaged()
	wg.Wait()
}

// idleKeepAlives holds h.Conns connections that each made one request
// (GET /healthz) and then stay idle, kept alive, until the phase ends.
func (h *hostileRun) idleKeepAlives(ctx context.Context, c *counters, engaged func()) {
	host := strings.TrimPrefix(h.Base, "http://")
	var wg, opened sync.WaitGroup
	opened.Add(h.Conns)
	for range h.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := h.rawConn(ctx, c, addrIdle)
			defer opened.Done()
			if nc == nil {
				return
			}
			stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
			defer stop()
			_ = nc.SetDeadline(time.Now().Add(attackDialTimeout))
			if _, err := io.WriteString(nc, "GET /healthz HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
				_ = nc.Close()
				return
			}
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
			if err != nil {
				if ctx.Err() == nil {
					c.add("request failed", 1)
				}
				_ = nc.Close()
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			c.add("answered "+strconv.Itoa(resp.StatusCode), 1)
			_ = nc.SetDeadline(time.Time{})
			wg.Add(1)
			go func() { defer wg.Done(); watchClose(ctx, c, &bufferedConn{nc, br}, "idle") }()
		}()
	}
	opened.Wait()
	engaged()
	wg.Wait()
}

// bufferedConn reads through the bufio.Reader that read the response.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.br.Read(p) }

// loginStorm is eight addresses, four workers each, guessing passwords of
// three accounts as fast as the server answers (at most 20,000 attempts).
func (h *hostileRun) loginStorm(ctx context.Context, c *counters, engaged func()) {
	engaged()
	var attempts atomic.Int64
	var wg sync.WaitGroup
	for a := range 8 {
		hc := httpClientFrom(stormIP(a), 4)
		defer hc.CloseIdleConnections()
		api := &client.API{BaseURL: h.Base, HTTP: hc}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hammer(ctx, c, 4, &attempts, 20000, func(n int64) error {
				target := h.StormTargets[int(n)%len(h.StormTargets)]
				_, err := api.Login(ctx, target.Name, fmt.Sprintf("guess-%d-%d", a, n))
				if err == nil {
					c.add("guess accepted (!)", 1)
				}
				return err
			})
		}()
	}
	wg.Wait()
}

// messageIDKey occurs once per message of a history page: counting it
// spares decoding pages the attack only needs to count (work that, with
// the attackers in the tool's process, slowed the legitimate clients it
// times).
var messageIDKey = []byte(`"messageId"`)

// historyFlood is one user reading its history as fast as the server
// answers: eight workers on keep-alive connections from one address, each
// asking for the longest page (200) of the victim's conversation with one
// of its feeders, whose 4 KiB messages the non-reading phase stored (at
// most 20,000 requests). Every request is legitimate on its own; only the
// rate is not.
func (h *hostileRun) historyFlood(ctx context.Context, c *counters, engaged func()) {
	engaged()
	hc := httpClientFrom(attackerIP(addrHistory), 8)
	defer hc.CloseIdleConnections()
	api := &client.API{BaseURL: h.Base, HTTP: hc}
	var requests atomic.Int64
	hammer(ctx, c, 8, &requests, 20000, func(n int64) error {
		with := h.Feeders[int(n)%len(h.Feeders)].ID
		var page []byte
		_, err := api.Do(ctx, client.Request{Path: "/api/messages?limit=200&with=" + url.QueryEscape(with), Token: h.Victim.Token}, &page)
		if err == nil {
			c.add("answered 200", 1)
			c.add("messages read", int64(bytes.Count(page, messageIDKey)))
		}
		return err
	})
}

// hammer runs workers loops that call do as fast as the server answers,
// until ctx ends or requests (shared, so several hammers can share one
// bound) passes limit; do counts its successes, hammer counts the refusals
// by status ("answered 429") and the failures. A worker answered 429, or
// whose request failed, pauses 20 ms (plus its index in ms), to spare the
// tool, not the server.
func hammer(ctx context.Context, c *counters, workers int, requests *atomic.Int64, limit int64, do func(n int64) error) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := requests.Add(1)
				if n > limit {
					return
				}
				err := do(n)
				if ctx.Err() != nil || err == nil {
					continue
				}
				status := client.HTTPStatus(err)
				if status != 0 {
					c.add("answered "+strconv.Itoa(status), 1)
				} else {
					c.add("request failed", 1)
				}
				if status == http.StatusTooManyRequests || status == 0 {
					select {
					case <-ctx.Done():
					case <-time.After(20*time.Millisecond + time.Duration(w)*time.Millisecond):
					}
				}
			}
		}()
	}
	wg.Wait()
}
