package httpapi

import (
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/webui"
)

// Options configure the API. Node and Accounts are required.
type Options struct {
	Node     *node.Node
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
}

// API is the HTTP handler of one instance. Safe for concurrent use.
type API struct {
	opts    Options
	node    *node.Node
	acc     *auth.Accounts
	log     *zap.Logger
	mux     *http.ServeMux
	limiter *addrLimiter
	sockets sync.WaitGroup
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
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	a := &API{
		opts:    opts,
		node:    opts.Node,
		acc:     opts.Accounts,
		log:     opts.Logger.Named("HTTP"),
		mux:     http.NewServeMux(),
		limiter: newAddrLimiter(opts.AuthRate, opts.AuthBurst),
	}
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
	m.HandleFunc("GET /api/messages", a.user(a.messages, refuseBanned))
	m.HandleFunc("GET /api/users", a.user(a.users, refuseBanned))
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
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such route")
	})
}

// ServeHTTP serves the API, adding CORS headers for the allowed origin.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && a.opts.CORSOrigin != "" && origin == a.opts.CORSOrigin {
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
	a.mux.ServeHTTP(w, r)
}

// WaitSockets blocks until every WebSocket handler has returned (after the
// node closed the sockets at shutdown).
func (a *API) WaitSockets() { a.sockets.Wait() }
