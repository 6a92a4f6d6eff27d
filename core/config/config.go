// Package config reads the standalone server's configuration from the
// environment, fills in the development defaults, and refuses a production
// start that lacks what production needs.
//
// Load takes the lookup function instead of reading the process environment,
// so tests and the sandbox can run several configurations in one process:
//
//	cfg, err := config.Load(os.Getenv)
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // e.g. "Missing required environment variable for production: PORT"
//		os.Exit(1)
//	}
//	for _, w := range cfg.Warnings {
//		log.Warn("config_warning", zap.String("warning", w))
//	}
//
// The variables, their defaults and their checks are those of the wire
// contract's "Running the standalone server" and the production runbook.
// An empty variable is treated as unset. Errors name the variable and, unless
// the variable holds a secret (JWT_SECRET, METRICS_SECRET, DB_URI,
// REDIS_URL, ADMIN_BOOTSTRAP), its value.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Metrics modes (METRICS_MODE).
const (
	MetricsOpen   = "open"   // anyone may read /metrics
	MetricsSecret = "secret" // /metrics needs header x-metrics-key: METRICS_SECRET
	MetricsOff    = "off"    // no /metrics route
)

// Modes (Config.Env).
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Defaults of development mode (and of production where it has one).
const (
	DefaultPort             = 8000
	DefaultDBURI            = "sqlite:data/chat.db"
	DefaultRedisInitTimeout = 5 * time.Second
	DefaultWSPath           = "/ws"
	DefaultWSRate           = 20
	DefaultWSBurst          = 40
	// DefaultWSMaxSocketsPerUser is the contract's WS_MAX_SOCKETS_PER_USER.
	DefaultWSMaxSocketsPerUser = 16
	// DefaultWSQueueBytes, DefaultWSOutboundBudget and DefaultWSPingInterval
	// are this project's extensions (see docs/protocol.md).
	DefaultWSQueueBytes     = 1 << 20
	DefaultWSOutboundBudget = 256 << 20
	DefaultWSPingInterval   = 30 * time.Second
	DefaultShutdownTimeout  = 10 * time.Second
	DefaultTokenTTL         = 24 * time.Hour
)

// MinProductionSecretLen is the JWT_SECRET length under which production
// start warns (HS256 wants at least as many bytes as its output).
const MinProductionSecretLen = 32

// Config is the whole configuration of one server instance. Load returns it
// complete: every field holds either the given value or its default.
type Config struct {
	// Env is EnvDevelopment or EnvProduction ("test" is read as
	// development); Production is Env == EnvProduction.
	Env        string
	Production bool

	// Port is the HTTP and WebSocket listen port (PORT, default 8000). 0
	// means any free port, allowed only outside production.
	Port int
	// InstanceID names this instance in logs, metrics and bus messages
	// (INSTANCE_ID, default the host name).
	InstanceID string
	// JWTSecret is the HS256 key (JWT_SECRET, required in every mode).
	JWTSecret []byte

	// DBURI picks the store (DB_URI, default "sqlite:data/chat.db"): "mem",
	// "sqlite:PATH" or a postgres:// (postgresql://) URL.
	DBURI string
	// RedisURL is the bus between instances (REDIS_URL, default "": bus
	// disabled); redis:// or rediss:// for one Redis, or
	// redis+cluster://[user:password@]host1:port1,host2:port2 for Redis
	// Cluster (7+, sharded pub/sub).
	RedisURL string
	// RedisInitTimeout is how long start waits for Redis before giving up
	// on the bus (REDIS_INIT_TIMEOUT, default 5s).
	RedisInitTimeout time.Duration

	// CookieDomain is the Domain of the token cookie (COOKIE_DOMAIN, default
	// "": host-only cookie).
	CookieDomain string
	// CORSOrigin is the one browser origin allowed (CORS_ORIGIN, default "":
	// any origin, development only).
	CORSOrigin string
	// WSPath is the WebSocket route (WS_PATH, default "/ws").
	WSPath string

	// MetricsMode is MetricsOpen, MetricsSecret or MetricsOff (METRICS_MODE,
	// default open in development, secret in production).
	MetricsMode string
	// MetricsSecret is the x-metrics-key value in secret mode
	// (METRICS_SECRET).
	MetricsSecret string
	// AllowPublicMetricsInProd must be true for METRICS_MODE=open in
	// production (ALLOW_PUBLIC_METRICS_IN_PROD).
	AllowPublicMetricsInProd bool
	// MetricsEnableAdminRoute enables GET /api/metrics for admins
	// (METRICS_ENABLE_ADMIN_ROUTE).
	MetricsEnableAdminRoute bool

	// WSRate and WSBurst are the per-connection frame rate limit (WS_RATE,
	// default 20 frames/s; WS_BURST, default 40).
	WSRate  float64
	WSBurst int
	// WSMaxSocketsPerUser caps one user's sockets on this instance
	// (WS_MAX_SOCKETS_PER_USER, default 16).
	WSMaxSocketsPerUser int
	// WSQueueBytes bounds one socket's outbound bytes before it is closed
	// 1013 as a slow consumer (WS_QUEUE_BYTES, default 1 MiB); at least
	// 64 KiB.
	WSQueueBytes int
	// WSOutboundBudget bounds the outbound bytes of all sockets together
	// (WS_OUTBOUND_BUDGET, default 256 MiB); at least WSQueueBytes.
	WSOutboundBudget int64
	// WSPingInterval is how often an idle socket is pinged; one that does
	// not answer within the ping deadline is closed (WS_PING_INTERVAL,
	// default 30s).
	WSPingInterval time.Duration

	// MaxConnections caps the connections served at once (MAX_CONNECTIONS,
	// default 10000); MaxConnectionsPerIP caps those of one TCP peer
	// address (MAX_CONNECTIONS_PER_IP, default 256). The address is the TCP
	// peer's; peers in TrustedProxies carry many clients and are exempt.
	MaxConnections, MaxConnectionsPerIP int
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES, comma-separated CIDRs, default none).
	TrustedProxies []netip.Prefix

	// AdminBootstrapName and AdminBootstrapPassword come from
	// ADMIN_BOOTSTRAP=name:password (the name ends at the first ':'); both
	// empty when unset.
	AdminBootstrapName, AdminBootstrapPassword string

	// ShutdownTimeout bounds a graceful stop (SHUTDOWN_TIMEOUT, default 10s).
	ShutdownTimeout time.Duration
	// TokenTTL is the lifetime of issued tokens (TOKEN_TTL, default 24h).
	TokenTTL time.Duration
	// PprofAddr, when set, is a loopback host:port for net/http/pprof
	// (PPROF_ADDR, default "": off).
	PprofAddr string

	// Warnings are non-fatal remarks to log at start. They never contain a
	// secret.
	Warnings []string
}

// ListenAddr returns the address to listen on: ":PORT".
func (c Config) ListenAddr() string { return ":" + strconv.Itoa(c.Port) }

// String renders the configuration with every secret replaced by its
// length, so printing a Config never leaks one.
func (c Config) String() string {
	redact := func(s string) string {
		if s == "" {
			return `""`
		}
		return fmt.Sprintf("<%d bytes>", len(s))
	}
	return fmt.Sprintf("Config{Env:%s Port:%d InstanceID:%q JWTSecret:%s DBURI:%s RedisURL:%s RedisInitTimeout:%v "+
		"CookieDomain:%q CORSOrigin:%q WSPath:%q MetricsMode:%s MetricsSecret:%s AllowPublicMetricsInProd:%t "+
		"MetricsEnableAdminRoute:%t WSRate:%g WSBurst:%d "+
		"WSMaxSocketsPerUser:%d WSQueueBytes:%d WSOutboundBudget:%d WSPingInterval:%v "+
		"AdminBootstrapName:%q AdminBootstrapPassword:%s "+
		"ShutdownTimeout:%v TokenTTL:%v PprofAddr:%q MaxConnections:%d MaxConnectionsPerIP:%d TrustedProxies:%v}",
		c.Env, c.Port, c.InstanceID, redact(string(c.JWTSecret)), redactURI(c.DBURI), redactURI(c.RedisURL), c.RedisInitTimeout,
		c.CookieDomain, c.CORSOrigin, c.WSPath, c.MetricsMode, redact(c.MetricsSecret), c.AllowPublicMetricsInProd,
		c.MetricsEnableAdminRoute, c.WSRate, c.WSBurst,
		c.WSMaxSocketsPerUser, c.WSQueueBytes, c.WSOutboundBudget, c.WSPingInterval,
		c.AdminBootstrapName, redact(c.AdminBootstrapPassword),
		c.ShutdownTimeout, c.TokenTTL, c.PprofAddr, c.MaxConnections, c.MaxConnectionsPerIP, c.TrustedProxies)
}

// GoString is String, so %#v does not leak secrets either.
func (c Config) GoString() string { return c.String() }

// isLoopbackHost reports whether host names this machine only.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// schemeOf returns the scheme-looking prefix of a URI (before the first ':')
// when it is short and plain, else "": enough to name a bad URI without
// echoing credentials it may hold.
func schemeOf(s string) string {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i > 16 {
		return ""
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return ""
		}
	}
	return s[:i]
}

// redactURI shows only a URI's scheme (and a sqlite path, which holds no
// credentials).
func redactURI(s string) string {
	switch {
	case s == "":
		return `""`
	case s == "mem" || strings.HasPrefix(s, "sqlite:"):
		return s
	case schemeOf(s) != "":
		return schemeOf(s) + "://<redacted>"
	}
	return "<redacted>"
}
