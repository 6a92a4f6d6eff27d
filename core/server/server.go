// Package server is the assembly point of one instance: from a
// config.Config it builds the store, bus, metrics, logger, node and HTTP
// API, listens, and shuts everything down in order. cmd/server and the
// sandbox both run instances through it, so they run the same code.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/httpapi"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/metrics"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// Options configure a Server. Only Config is required.
type Options struct {
	Config config.Config
	// Store, if set, is used instead of opening Config.DBURI, and is not
	// closed by Shutdown (in-process instances share one store).
	Store store.Store
	// WrapBus, if set, wraps the bus built from the config (the sandbox's
	// fault injection).
	WrapBus func(bus.Bus) bus.Bus
	// LogCores are extra zap cores every log line is also written to.
	LogCores []zapcore.Core
	// LogOutput replaces standard error as the log destination. In
	// production either is buffered (logging.BufferedOutput): lines are
	// written in batches at most logging.DefaultFlushInterval apart, a
	// warning or error at once, "listening" as soon as it is logged and
	// everything left at Shutdown.
	LogOutput zapcore.WriteSyncer
	// LogFlushInterval is the longest a production log line waits in the
	// buffer; 0 means logging.DefaultFlushInterval.
	LogFlushInterval time.Duration
	// Listener, if set, is served instead of listening on Config.Port.
	Listener net.Listener
	// Hasher hashes passwords; the zero value is bcrypt's default cost.
	Hasher auth.Hasher
	// HashGate bounds concurrent hashing; nil means auth's default
	// (GOMAXPROCS running, 8 × that waiting).
	HashGate *auth.HashGate
	// AuthRate and AuthBurst limit login/register per address; 0 means
	// httpapi's defaults.
	AuthRate  float64
	AuthBurst int
	// UserRate and UserBurst limit the authenticated HTTP routes per user;
	// 0 means httpapi's defaults.
	UserRate  float64
	UserBurst int
	// Timeouts bound client connections; zero fields mean the defaults
	// (see edge.go).
	Timeouts Timeouts
}

// Server is one running instance.
type Server struct {
	cfg       config.Config
	log       *zap.Logger
	logBuf    *logging.BufferedOutput // nil unless production
	store     store.Store
	ownsStore bool
	metrics   *metrics.Metrics
	node      *node.Node
	api       *httpapi.API
	accounts  *auth.Accounts
	listener  net.Listener
	timeouts  Timeouts
	http      *http.Server
	pprof     *pprofServer // see pprof.go; nil unless Config.PprofAddr

	serveDone    chan struct{}
	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds an instance without starting it.
func New(ctx context.Context, opts Options) (*Server, error) {
	cfg := opts.Config
	logOpts := logging.Options{InstanceID: cfg.InstanceID, Production: cfg.Production, Extra: opts.LogCores}
	if opts.LogOutput != nil {
		logOpts.Output = opts.LogOutput
	}
	var logBuf *logging.BufferedOutput
	if cfg.Production {
		// A production server logs a line per delivered message: written
		// one by one, they cost a system call each (docs/PERFORMANCE.md).
		out := logOpts.Output
		if out == nil {
			out = zapcore.Lock(os.Stderr)
		}
		logBuf = logging.NewBufferedOutput(out, opts.LogFlushInterval)
		logOpts.Output = logBuf
	}
	log := logging.New(logOpts)
	for _, w := range cfg.Warnings {
		log.Named("Config").Warn("config_warning", zap.String("warning", w))
	}

	s := &Server{cfg: cfg, log: log, logBuf: logBuf, store: opts.Store, serveDone: make(chan struct{})}
	if s.store == nil {
		st, err := store.Open(ctx, cfg.DBURI, store.Options{Logger: log.Named("Store")})
		if err != nil {
			s.stopLog()
			return nil, fmt.Errorf("server: failed to open store: %w", err)
		}
		s.store, s.ownsStore = st, true
	}
	s.metrics = metrics.New(cfg.InstanceID)

	var b bus.Bus
	if cfg.RedisURL == "" {
		b = bus.NewDisabled(log)
	} else {
		rb, err := bus.NewRedis(bus.RedisOptions{
			URL: cfg.RedisURL, InstanceID: cfg.InstanceID, InitTimeout: cfg.RedisInitTimeout, Logger: log, SkipOwn: true,
			Hooks: busHooks(s.metrics),
		})
		if err != nil {
			s.closeStore()
			s.stopLog()
			return nil, fmt.Errorf("server: failed to configure bus: %w", err)
		}
		b = rb
	}
	if opts.WrapBus != nil {
		b = opts.WrapBus(b)
	}

	n, err := node.New(node.Options{
		InstanceID: cfg.InstanceID, Store: s.store, Bus: b, Standalone: cfg.RedisURL == "", Logger: log, Metrics: s.metrics,
		Rate: cfg.WSRate, Burst: cfg.WSBurst,
		Hub: hub.Options{MaxQueueBytes: cfg.WSQueueBytes, OutboundBudget: cfg.WSOutboundBudget,
			MaxSocketsPerUser: cfg.WSMaxSocketsPerUser},
	})
	if err != nil {
		s.closeStore()
		s.stopLog()
		return nil, err
	}
	s.node = n
	s.accounts = &auth.Accounts{Store: s.store, Hasher: opts.Hasher, Gate: opts.HashGate, Tokens: auth.NewTokens(cfg.JWTSecret, cfg.TokenTTL)}
	s.api = httpapi.New(httpapi.Options{
		Node: n, Store: s.store, Accounts: s.accounts, Logger: log, Production: cfg.Production,
		WSPath: cfg.WSPath, CookieDomain: cfg.CookieDomain, CORSOrigin: cfg.CORSOrigin,
		MetricsMode: cfg.MetricsMode, MetricsSecret: cfg.MetricsSecret, MetricsAdminRoute: cfg.MetricsEnableAdminRoute,
		AuthRate: opts.AuthRate, AuthBurst: opts.AuthBurst, UserRate: opts.UserRate, UserBurst: opts.UserBurst,
		TrustedProxies: cfg.TrustedProxies,
		PingInterval:   cfg.WSPingInterval,
	})
	s.listener = opts.Listener
	s.timeouts = opts.Timeouts
	return s, nil
}

// Start bootstraps the admin, starts the node (waiting at most the Redis
// init timeout for the bus), listens and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	if s.cfg.AdminBootstrapName != "" {
		if _, err := s.accounts.EnsureAdmin(ctx, s.cfg.AdminBootstrapName, s.cfg.AdminBootstrapPassword); err != nil {
			return fmt.Errorf("server: failed to bootstrap admin: %w", err)
		}
		s.log.Named("Server").Info("admin_bootstrapped", zap.String("username", s.cfg.AdminBootstrapName))
	}
	if err := s.node.Start(ctx); err != nil {
		return err
	}
	pp, err := startPprof(s.cfg.PprofAddr, s.log.Named("Server")) // see pprof.go
	if err != nil {
		return err
	}
	s.pprof = pp
	if s.listener == nil {
		l, err := net.Listen("tcp", ":"+strconv.Itoa(s.cfg.Port))
		if err != nil {
			return fmt.Errorf("server: failed to listen: %w", err)
		}
		s.listener = l
	}
	s.listener = s.limitListener(s.listener)
	s.http = s.newHTTPServer(s.api, s.timeouts)
	s.log.Named("Server").Info("listening", zap.String("addr", s.listener.Addr().String()),
		zap.String("instanceId", s.cfg.InstanceID))
	s.flushLog() // supervisors and scripts wait for this line
	go func() {
		defer close(s.serveDone)
		if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Named("Server").Error("serve_failed", zap.Error(err))
		}
	}()
	return nil
}

// Run starts the server and serves until ctx ends, then shuts down within
// the configured shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		s.stopLog()
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}

// Shutdown stops accepting, closes every socket with 1001, waits for the
// handlers, stops the bus and closes the store it opened. Idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		var httpErr error
		httpDone := make(chan struct{})
		if s.http != nil {
			go func() { httpErr = s.http.Shutdown(ctx); close(httpDone) }()
		} else {
			close(httpDone)
		}
		nodeErr := s.node.Shutdown(ctx)
		sockets := make(chan struct{})
		go func() { s.api.WaitSockets(); close(sockets) }()
		select {
		case <-sockets:
		case <-ctx.Done():
		}
		<-httpDone
		s.logIncomplete(httpErr, nodeErr, sockets)
		s.pprof.stop()
		s.closeStore()
		s.log.Named("Server").Info("stopped")
		_ = s.log.Sync()
		s.stopLog()
		s.shutdownErr = errors.Join(httpErr, nodeErr)
	})
	return s.shutdownErr
}

// logIncomplete names what a shutdown that ran out of time was still
// waiting for, so an operator knows which drain to look at.
func (s *Server) logIncomplete(httpErr, nodeErr error, sockets <-chan struct{}) {
	var waiting []string
	if httpErr != nil {
		waiting = append(waiting, "http requests")
	}
	if nodeErr != nil {
		waiting = append(waiting, "node background work")
	}
	select {
	case <-sockets:
	default:
		waiting = append(waiting, "websocket handlers")
	}
	if len(waiting) > 0 {
		s.log.Named("Server").Warn("shutdown_incomplete", zap.Strings("waiting", waiting))
	}
}

// flushLog writes the buffered log lines now.
func (s *Server) flushLog() {
	if s.logBuf != nil {
		_ = s.logBuf.Flush()
	}
}

// stopLog writes the buffered log lines and ends the buffer's goroutine;
// lines logged later are written unbuffered.
func (s *Server) stopLog() {
	if s.logBuf != nil {
		_ = s.logBuf.Stop()
	}
}

func (s *Server) closeStore() {
	if s.ownsStore {
		_ = s.store.Close()
	}
}

// Addr is the listening address (after Start).
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the base HTTP URL, e.g. http://127.0.0.1:8000.
func (s *Server) URL() string { return "http://" + s.Addr() }

// WSURL is the WebSocket URL.
func (s *Server) WSURL() string { return "ws://" + s.Addr() + s.cfg.WSPath }

// Node is the instance's engine.
func (s *Server) Node() *node.Node { return s.node }

// Accounts is the instance's account service (register, login, tokens).
func (s *Server) Accounts() *auth.Accounts { return s.accounts }

// Logger is the instance's logger.
func (s *Server) Logger() *zap.Logger { return s.log }

// Config is the configuration the instance runs with.
func (s *Server) Config() config.Config { return s.cfg }
