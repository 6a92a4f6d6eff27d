package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/crypto/bcrypt"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
)

// relistenTimeout bounds how long a restarted instance waits for its old
// port to be free again.
const relistenTimeout = 5 * time.Second

// Instance is one server instance of the cluster. It keeps its address
// across a stop and restart. Safe for concurrent use.
type Instance struct {
	c    *Cluster
	name string

	// op serialises start and stop of this instance; it is held across
	// their I/O, and nothing called under it takes op again.
	op sync.Mutex

	// mu guards addr and srv; held only to read or write them.
	mu   sync.Mutex
	addr string         // host:port, fixed by the first start
	srv  *server.Server // nil while stopped
}

// Name is the instance's name (its INSTANCE_ID).
func (i *Instance) Name() string { return i.name }

// Addr is the instance's loopback host:port (kept across restarts).
func (i *Instance) Addr() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.addr
}

// URL is the base HTTP URL, e.g. http://127.0.0.1:40123.
func (i *Instance) URL() string { return "http://" + i.Addr() }

// WSURL is the WebSocket URL, e.g. ws://127.0.0.1:40123/ws.
func (i *Instance) WSURL() string { return "ws://" + i.Addr() + config.DefaultWSPath }

// Running reports whether the instance is started and serving.
func (i *Instance) Running() bool { return i.Server() != nil }

// Server is the running server, or nil while the instance is stopped.
func (i *Instance) Server() *server.Server {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.srv
}

// config builds the instance's configuration the way config.Load would in
// development mode, programmatically.
func (i *Instance) config() config.Config {
	o := i.c.opts
	return config.Config{
		Env:              config.EnvDevelopment,
		InstanceID:       i.name,
		JWTSecret:        i.c.secret,
		DBURI:            o.DBURI,
		RedisURL:         "redis://" + i.c.redisAddr,
		RedisInitTimeout: o.RedisInitTimeout,
		WSPath:           config.DefaultWSPath,
		MetricsMode:      config.MetricsOpen,
		WSRate:           config.DefaultWSRate,
		WSBurst:          config.DefaultWSBurst,
		ShutdownTimeout:  5 * time.Second,
		TokenTTL:         config.DefaultTokenTTL,
	}
}

// start builds and starts the server on the instance's address (a fresh
// loopback port the first time).
func (i *Instance) start(ctx context.Context) error {
	i.op.Lock()
	defer i.op.Unlock()
	if i.Running() {
		return ErrInstanceRunning
	}
	l, err := i.listen(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: failed to listen for %s: %w", i.name, err)
	}
	srv, err := server.New(ctx, server.Options{
		Config:    i.config(),
		Store:     i.c.store,
		WrapBus:   func(b bus.Bus) bus.Bus { return newFaultBus(b, i.c, i.name) },
		LogCores:  i.c.logCores(),
		LogOutput: zapcore.AddSync(i.c.opts.LogOutput),
		Listener:  l,
		Hasher:    auth.Hasher{Cost: bcrypt.MinCost},
		AuthRate:  1e6,
		AuthBurst: 1e6,
	})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("sandbox: failed to build %s: %w", i.name, err)
	}
	if err := srv.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
		_ = l.Close()
		return fmt.Errorf("sandbox: failed to start %s: %w", i.name, err)
	}
	i.mu.Lock()
	i.srv = srv
	i.mu.Unlock()
	i.c.notify()
	return nil
}

// listen opens the instance's listener: the port Options.Ports gives it
// (else a fresh one) the first time, the same address afterwards
// (retrying while the old socket is still being released).
func (i *Instance) listen(ctx context.Context) (net.Listener, error) {
	addr := i.Addr()
	if addr == "" {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(i.c.opts.Ports[i.name])))
		if err != nil {
			return nil, err
		}
		i.mu.Lock()
		i.addr = l.Addr().String()
		i.mu.Unlock()
		return l, nil
	}
	deadline := time.Now().Add(relistenTimeout)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop shuts the server down; its sockets are closed with 1001.
func (i *Instance) stop(ctx context.Context) error {
	i.op.Lock()
	defer i.op.Unlock()
	i.mu.Lock()
	srv := i.srv
	i.srv = nil
	i.mu.Unlock()
	if srv == nil {
		return ErrInstanceStopped
	}
	err := srv.Shutdown(ctx)
	i.c.notify()
	if err != nil {
		return fmt.Errorf("sandbox: failed to stop %s: %w", i.name, err)
	}
	return nil
}
