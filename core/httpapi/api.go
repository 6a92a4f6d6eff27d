package httpapi

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/gate"
	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/webui"
)

// Options configure the API. Node, Store and Accounts are required.
type Options struct {
	Node *node.Node
	// Store answers the few reads the routes make themselves; the node
	// does everything else.
	Store    Reads
	Accounts *auth.Accounts
	Logger   *zap.Logger

	// Production turns on the Origin check for WebSockets and Secure cookies.
	Production bool
	// WSPath is where the WebSocket is served. Default "/ws".
	WSPath string
	// CookieDomain is the Domain of the token cookie; empty for host-only.
	CookieDomain string
	// CORSOrigin is the browser origin allowed for CORS and, in production,
	// for WebSockets. Empty allows any origin in development.
	CORSOrigin string

	// MetricsMode is "open" (default), "secret" or "off".
	MetricsMode   string
	MetricsSecret string
	// MetricsAdminRoute enables GET /api/metrics for admins.
	MetricsAdminRoute bool

	// AuthRate and AuthBurst limit login and register per client address
	// (requests/s). Defaults 5 and 20.
	AuthRate  float64
	AuthBurst int
	// LoginFailures and LoginFailureEvery throttle failed logins per
	// account: after LoginFailures failures (default 5) an account gets one
	// more try per LoginFailureEvery (default 1m); a successful login
	// clears the count. Throttled attempts get 429 without any bcrypt work.
	LoginFailures     int
	LoginFailureEvery time.Duration
	// UserRate and UserBurst limit the authenticated routes per user
	// (requests/s, counted by the token's user before any store read).
	// Defaults 20 and 40, those of a socket's frames (WS_RATE, WS_BURST):
	// the web client makes a few requests per screen, and one user reading
	// the longest history page as fast as answered otherwise took a core
	// (docs/PERFORMANCE.md, "history flood").
	UserRate  float64
	UserBurst int
	// TrustedProxies are the peers whose X-Forwarded-For (client address)
	// and X-Forwarded-Proto (own origin) are believed. Default none.
	TrustedProxies []netip.Prefix

	// PingInterval is how often each WebSocket is pinged, and PingTimeout
	// how long its pong may take before the socket is closed as dead.
	// Defaults 30 s (DefaultPingInterval) and 10 s (DefaultPingTimeout,
	// never more than PingInterval).
	PingInterval, PingTimeout time.Duration
}

// API is the HTTP handler of one instance. Safe for concurrent use.
type API struct {
	opts    Options
	node    *node.Node
	store   Reads
	acc     *auth.Accounts
	log     *zap.Logger
	mux     *http.ServeMux
	proxies proxies
	limiter *keyedLimiter // per client address: login and register
	perUser *keyedLimiter // per user id: the authenticated routes
	reads   *gate.Gate    // the routes that read much at once (newReadGate)
	pings   *pingWheel    // every socket's pings, on one timer
	// loginFailures is per lower-cased username (names are unique without
	// regard to case).
	loginFailures *keyedLimiter
	internal      *logging.Bounded // the causes of 500s (newInternalLog)
	sockets       sync.WaitGroup
}

// New builds the handler.
func New(opts Options) *API {
	if opts.WSPath == "" {
		opts.WSPath = "/ws"
	}
	if opts.MetricsMode == "" {
		opts.MetricsMode = "open"
	}
	if opts.AuthRate <= 0 {
		opts.AuthRate = 5
	}
	if opts.AuthBurst <= 0 {
		opts.AuthBurst = 20
	}
	if opts.UserRate <= 0 {
		opts.UserRate = 20
	}
	if opts.UserBurst <= 0 {
		opts.UserBurst = 40
	}
	if opts.LoginFailures <= 0 {
		opts.LoginFailures = 5
	}
	if opts.LoginFailureEvery <= 0 {
		opts.LoginFailureEvery = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = DefaultPingTimeout
	}
	opts.PingTimeout = min(opts.PingTimeout, opts.PingInterval)
	a := &API{
		opts:    opts,
		node:    opts.Node,
		store:   opts.Store,
		acc:     opts.Accounts,
		log:     opts.Logger.Named("HTTP"),
		mux:     http.NewServeMux(),
		proxies: proxies(opts.TrustedProxies),
		limiter: newKeyedLimiter(rate.Limit(opts.AuthRate), opts.AuthBurst),
		perUser: newKeyedLimiter(rate.Limit(opts.UserRate), opts.UserBurst),
		reads:   newReadGate(),
		pings:   newPingWheel(opts.PingInterval),

		loginFailures: newKeyedLimiter(rate.Every(opts.LoginFailureEvery), opts.LoginFailures),
	}
	a.internal = newInternalLog(a.log)
	a.routes()
	return a
}

func (a *API) routes() {
	m := a.mux
	m.HandleFunc("GET "+a.opts.WSPath, a.serveWS)
	m.HandleFunc("POST /api/auth/register", a.limited(a.register))
	m.HandleFunc("POST /api/auth/login", a.limited(a.login))
	m.HandleFunc("POST /api/auth/logout", a.user(a.logout, allowBanned))
	m.HandleFunc("GET /api/me", a.user(a.me, allowBanned))
	m.HandleFunc("GET /api/messages", a.user(a.gated(a.messages), refuseBanned))
	m.HandleFunc("GET /api/users", a.user(a.gated(a.users), refuseBanned))
	m.HandleFunc("GET /api/admin/users", a.admin(a.adminUsers))
	m.HandleFunc("POST /api/admin/users/{id}/ban", a.admin(a.ban))
	m.HandleFunc("POST /api/admin/users/{id}/unban", a.admin(a.unban))
	m.HandleFunc("GET /healthz", a.healthz)
	m.HandleFunc("GET /readyz", a.readyz)
	m.HandleFunc("GET /metrics", a.metrics)
	m.HandleFunc("GET /api/metrics", a.admin(a.adminMetrics))
	web := webui.New(webui.Options{WSPath: a.opts.WSPath}) // the web client: GET / and its files
	m.Handle("GET /{$}", web)
	m.Handle("GET "+webui.AssetPrefix, web)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, errNoRoute)
	})
}

// ServeHTTP serves the API, adding CORS headers for the allowed origin and
// refusing POSTs that break the CSRF rule (see csrf.go).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && a.corsAnswered(origin) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Vary", "Origin")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if a.refuseUnsafePost(w, r) {
		return
	}
	a.mux.ServeHTTP(w, r)
}

// corsAnswered reports whether a browser page of origin may call the API
// across origins: CORS_ORIGIN, or, in development with CORS_ORIGIN empty,
// every origin (the contract's default, so a frontend served by a dev
// server on another port works).
func (a *API) corsAnswered(origin string) bool {
	if a.opts.CORSOrigin == "" {
		return !a.opts.Production
	}
	return origin == a.opts.CORSOrigin
}

// WaitSockets blocks until every WebSocket handler has returned (after the
// node closed the sockets at shutdown).
func (a *API) WaitSockets() { a.sockets.Wait() }
