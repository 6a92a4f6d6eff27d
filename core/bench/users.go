package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dmchat/dmchat/core/client"
)

// benchUser is an account the tool made (or found) and signed in.
type benchUser struct {
	Name  string
	ID    string
	Token string
}

// benchPassword is the password of every account the tool creates.
const benchPassword = "bench-password-1"

// newHTTPClient returns a client that keeps enough idle connections for
// the setup's concurrency, so thousands of logins reuse a few sockets.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// setupUsers registers (or, if the name is taken, reuses) n accounts named
// prefix0..prefix(n-1) and logs each in, spreading the calls over apis.
// progress, if set, is called with the number done so far.
func setupUsers(ctx context.Context, apis []*client.API, prefix string, n int, progress func(int)) ([]benchUser, error) {
	users := make([]benchUser, n)
	var done atomic.Int64
	// gctx ends when Wait returns: the result is judged by ctx.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error {
			u, err := setupUser(gctx, apis[i%len(apis)], prefix+strconv.Itoa(i))
			if err != nil {
				return err
			}
			users[i] = u
			if d := done.Add(1); progress != nil && d%500 == 0 {
				progress(int(d))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return users, ctx.Err()
}

// setupUser registers and logs in one account, waiting out rate limits.
func setupUser(ctx context.Context, api *client.API, name string) (benchUser, error) {
	u := benchUser{Name: name}
	err := retryLimited(ctx, func() error {
		info, err := api.Register(ctx, name, benchPassword)
		if err == nil {
			u.ID = info.ID
		}
		if client.ErrorCode(err) == "USERNAME_TAKEN" {
			return nil
		}
		return err
	})
	if err != nil {
		return u, fmt.Errorf("bench: failed to register %s: %w", name, err)
	}
	err = retryLimited(ctx, func() error {
		var err error
		u.Token, err = api.Login(ctx, name, benchPassword)
		return err
	})
	if err != nil {
		return u, fmt.Errorf("bench: failed to log in %s: %w", name, err)
	}
	if u.ID == "" {
		err = retryLimited(ctx, func() error {
			me, err := api.Me(ctx, u.Token)
			u.ID = me.ID
			return err
		})
		if err != nil {
			return u, fmt.Errorf("bench: failed to read the id of %s: %w", name, err)
		}
	}
	return u, nil
}

// retryLimited runs f again while it fails with HTTP 429, backing off.
func retryLimited(ctx context.Context, f func() error) error {
	delay := 50 * time.Millisecond
	for {
		err := f()
		if err == nil || client.HTTPStatus(err) != http.StatusTooManyRequests {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}
