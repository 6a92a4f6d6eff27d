package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
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
	var done atomic.Int64
	// gctx ends when Wait returns: the result is judged by ctx.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, conc))
	for i, spec := range specs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			o := dialOptions{Token: spec.Token, ReadBuffer: readBuf}
			if spread && isLoopbackURL(spec.URL) {
				o.LocalIP = net.IPv4(127, 0, 0, byte(1+i%16))
			}
			var c *wsConn
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				dctx, dcancel := context.WithTimeout(gctx, 30*time.Second)
				c, err = dialWS(dctx, spec.URL, o)
				dcancel()
				if err == nil || gctx.Err() != nil {
					break
				}
			}
			if err != nil {
				return fmt.Errorf("bench: socket %d: %w", i, err)
			}
			conns[i] = c
			if d := done.Add(1); progress != nil && d%1000 == 0 {
				progress(int(d))
			}
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		closeAll(conns)
		return nil, err
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
