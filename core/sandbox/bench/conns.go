package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// dialSpec is one socket to open.
type dialSpec struct {
	URL   string // ws://host:port/path
	Token string
}

// connectAll opens every socket with at most conc handshakes at a time.
// With spread, sockets to a loopback host take source addresses 127.0.0.1
// to 127.0.0.16 in turn, multiplying the ephemeral ports available (needed
// past about 28,000 sockets). progress, if set, is called now and then with
// the number open.
func connectAll(ctx context.Context, specs []dialSpec, conc int, readBuf int, spread bool, progress func(int)) ([]*wsConn, error) {
	conns := make([]*wsConn, len(specs))
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(conc, len(specs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(specs) || ctx.Err() != nil {
					return
				}
				o := dialOptions{Token: specs[i].Token, ReadBuffer: readBuf}
				if spread && isLoopbackURL(specs[i].URL) {
					o.LocalIP = net.IPv4(127, 0, 0, byte(1+i%16))
				}
				var c *wsConn
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
					c, err = dialWS(dctx, specs[i].URL, o)
					dcancel()
					if err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("bench: socket %d: %w", i, err); cancel() })
					return
				}
				conns[i] = c
				if d := done.Add(1); progress != nil && d%1000 == 0 {
					progress(int(d))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		closeAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

// closeAll closes every open socket.
func closeAll(conns []*wsConn) {
	for _, c := range conns {
		if c != nil {
			_ = c.CloseNow()
		}
	}
}

func isLoopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback() && ip.To4() != nil
}

// wsURL returns the WebSocket URL of an instance's base URL.
func wsURL(base, path string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	if path == "" {
		path = "/ws"
	}
	u.Path = path
	return u.String()
}
