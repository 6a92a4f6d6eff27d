package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	devSecret   = "dev-secret-value"
	prodSecret  = "production-jwt-secret-0123456789abcdef" // 38 bytes
	metricsKey  = "metrics-key-0123456789"
	adminPass   = "adm1n-pa55word"
	pgPassword  = "pg-pa55word"
	redisPasswd = "redis-pa55word"
)

// env builds a getenv over base with overrides; a "-" value deletes the key.
func env(base map[string]string, overrides ...string) func(string) string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(overrides); i += 2 {
		if overrides[i+1] == "-" {
			delete(m, overrides[i])
			continue
		}
		m[overrides[i]] = overrides[i+1]
	}
	return func(k string) string { return m[k] }
}

var devBase = map[string]string{"JWT_SECRET": devSecret}

var prodBase = map[string]string{
	"APP_ENV":        "production",
	"PORT":           "3000",
	"JWT_SECRET":     prodSecret,
	"DB_URI":         "postgres://chat:" + pgPassword + "@db.internal:5432/chat?sslmode=require",
	"COOKIE_DOMAIN":  ".example.com",
	"CORS_ORIGIN":    "https://app.example.com",
	"WS_PATH":        "/ws",
	"METRICS_SECRET": metricsKey,
	"REDIS_URL":      "redis://:" + redisPasswd + "@redis.internal:6379/0",
}

func TestDevelopmentDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(devBase))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := Config{
		Env: EnvDevelopment, Port: 8000, InstanceID: host, JWTSecret: []byte(devSecret),
		DBURI: "sqlite:data/chat.db", RedisInitTimeout: 5 * time.Second, WSPath: "/ws",
		MetricsMode: MetricsOpen, WSRate: 20, WSBurst: 40,
		WSMaxSocketsPerUser: 16, WSQueueBytes: 1 << 20, WSOutboundBudget: 256 << 20, WSPingInterval: 30 * time.Second,
		ShutdownTimeout: 10 * time.Second, TokenTTL: 24 * time.Hour,
		MaxConnections: 10000, MaxConnectionsPerIP: 256,
	}
	if host == "" {
		want.InstanceID = c.InstanceID
	}
	if c.String() != want.String() || string(c.JWTSecret) != devSecret || len(c.Warnings) != 0 || c.Production {
		t.Fatalf("defaults\n got %s warnings %v\nwant %s", c, c.Warnings, want)
	}
	if c.ListenAddr() != ":8000" {
		t.Fatalf("ListenAddr = %q", c.ListenAddr())
	}
}

func TestProductionComplete(t *testing.T) {
	t.Parallel()
	c, err := Load(env(prodBase))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Production || c.Env != EnvProduction || c.Port != 3000 || c.MetricsMode != MetricsSecret ||
		c.MetricsSecret != metricsKey || c.CookieDomain != ".example.com" || c.CORSOrigin != "https://app.example.com" ||
		c.RedisURL != prodBase["REDIS_URL"] || c.DBURI != prodBase["DB_URI"] || string(c.JWTSecret) != prodSecret {
		t.Fatalf("production config %s", c)
	}
	if len(c.Warnings) != 0 {
		t.Fatalf("unexpected warnings %v", c.Warnings)
	}
}

// TestValues covers every variable's accepted forms.
func TestValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		base  map[string]string
		set   []string
		check func(c Config) bool
	}{
		{"NODE_ENV production", prodBase, []string{"APP_ENV", "-", "NODE_ENV", "production"}, func(c Config) bool { return c.Production }},
		{"APP_ENV wins over NODE_ENV", devBase, []string{"APP_ENV", "development", "NODE_ENV", "production"}, func(c Config) bool { return !c.Production }},
		{"test is development", devBase, []string{"NODE_ENV", "test"}, func(c Config) bool { return c.Env == EnvDevelopment && !c.Production }},
		{"mode case and blanks", prodBase, []string{"APP_ENV", " Production "}, func(c Config) bool { return c.Production }},
		{"PORT", devBase, []string{"PORT", "9001"}, func(c Config) bool { return c.Port == 9001 && c.ListenAddr() == ":9001" }},
		{"PORT 0 in development", devBase, []string{"PORT", "0"}, func(c Config) bool { return c.Port == 0 }},
		{"PORT 65535", devBase, []string{"PORT", "65535"}, func(c Config) bool { return c.Port == 65535 }},
		{"INSTANCE_ID", devBase, []string{"INSTANCE_ID", "node-A.1:x_y"}, func(c Config) bool { return c.InstanceID == "node-A.1:x_y" }},
		{"JWT_SECRET kept verbatim", devBase, []string{"JWT_SECRET", " s p "}, func(c Config) bool { return string(c.JWTSecret) == " s p " }},
		{"DB_URI mem", devBase, []string{"DB_URI", "mem"}, func(c Config) bool { return c.DBURI == "mem" }},
		{"DB_URI sqlite", devBase, []string{"DB_URI", "sqlite:/tmp/x.db"}, func(c Config) bool { return c.DBURI == "sqlite:/tmp/x.db" }},
		{"DB_URI postgresql", devBase, []string{"DB_URI", "postgresql://u@h/db"}, func(c Config) bool { return c.DBURI == "postgresql://u@h/db" }},
		{"DB_URI postgres socket", devBase, []string{"DB_URI", "postgres:///chat?host=/run/pg"}, func(c Config) bool { return c.DBURI == "postgres:///chat?host=/run/pg" }},
		{"REDIS_URL redis", devBase, []string{"REDIS_URL", "redis://127.0.0.1:6379/2"}, func(c Config) bool { return c.RedisURL == "redis://127.0.0.1:6379/2" }},
		{"REDIS_URL cluster", devBase, []string{"REDIS_URL", "redis+cluster://u:p@h1:7000,h2:7001"}, func(c Config) bool { return c.RedisURL == "redis+cluster://u:p@h1:7000,h2:7001" }},
		{"REDIS_URL rediss no port", devBase, []string{"REDIS_URL", "rediss://u:p@cache"}, func(c Config) bool { return c.RedisURL == "rediss://u:p@cache" }},
		{"REDIS_INIT_TIMEOUT", devBase, []string{"REDIS_INIT_TIMEOUT", "250ms"}, func(c Config) bool { return c.RedisInitTimeout == 250*time.Millisecond }},
		{"COOKIE_DOMAIN", devBase, []string{"COOKIE_DOMAIN", ".localhost"}, func(c Config) bool { return c.CookieDomain == ".localhost" }},
		{"CORS_ORIGIN trailing slash", devBase, []string{"CORS_ORIGIN", "http://localhost:3000/"}, func(c Config) bool { return c.CORSOrigin == "http://localhost:3000" }},
		{"WS_PATH", devBase, []string{"WS_PATH", "/chat/ws"}, func(c Config) bool { return c.WSPath == "/chat/ws" }},
		{"METRICS_MODE off", devBase, []string{"METRICS_MODE", "off"}, func(c Config) bool { return c.MetricsMode == MetricsOff }},
		{"METRICS_MODE secret dev", devBase, []string{"METRICS_MODE", "SECRET", "METRICS_SECRET", "k"}, func(c Config) bool { return c.MetricsMode == MetricsSecret && c.MetricsSecret == "k" }},
		{"METRICS_MODE off in production needs no secret", prodBase, []string{"METRICS_MODE", "off", "METRICS_SECRET", "-"}, func(c Config) bool { return c.MetricsMode == MetricsOff }},
		{"open in production allowed", prodBase, []string{"METRICS_MODE", "open", "ALLOW_PUBLIC_METRICS_IN_PROD", "true"}, func(c Config) bool {
			return c.MetricsMode == MetricsOpen && c.AllowPublicMetricsInProd && hasWarning(c, "METRICS_MODE=open")
		}},
		{"METRICS_ENABLE_ADMIN_ROUTE", devBase, []string{"METRICS_ENABLE_ADMIN_ROUTE", "1"}, func(c Config) bool { return c.MetricsEnableAdminRoute }},
		{"WS_RATE and WS_BURST", devBase, []string{"WS_RATE", "2.5", "WS_BURST", "5"}, func(c Config) bool { return c.WSRate == 2.5 && c.WSBurst == 5 }},
		{"WS_MAX_SOCKETS_PER_USER", devBase, []string{"WS_MAX_SOCKETS_PER_USER", "3"}, func(c Config) bool { return c.WSMaxSocketsPerUser == 3 }},
		{"WS_QUEUE_BYTES and WS_OUTBOUND_BUDGET", devBase, []string{"WS_QUEUE_BYTES", "65536", "WS_OUTBOUND_BUDGET", "65536"}, func(c Config) bool {
			return c.WSQueueBytes == 65536 && c.WSOutboundBudget == 65536
		}},
		{"WS_PING_INTERVAL", devBase, []string{"WS_PING_INTERVAL", "45s"}, func(c Config) bool { return c.WSPingInterval == 45*time.Second }},
		{"ADMIN_BOOTSTRAP", devBase, []string{"ADMIN_BOOTSTRAP", "root:" + adminPass + ":with:colons"}, func(c Config) bool {
			return c.AdminBootstrapName == "root" && c.AdminBootstrapPassword == adminPass+":with:colons"
		}},
		{"SHUTDOWN_TIMEOUT", devBase, []string{"SHUTDOWN_TIMEOUT", "1m30s"}, func(c Config) bool { return c.ShutdownTimeout == 90*time.Second }},
		{"TOKEN_TTL", devBase, []string{"TOKEN_TTL", "15m"}, func(c Config) bool { return c.TokenTTL == 15*time.Minute }},
		{"MAX_CONNECTIONS and MAX_CONNECTIONS_PER_IP", devBase, []string{"MAX_CONNECTIONS", "50", "MAX_CONNECTIONS_PER_IP", "7"}, func(c Config) bool {
			return c.MaxConnections == 50 && c.MaxConnectionsPerIP == 7
		}},
		{"TRUSTED_PROXIES", devBase, []string{"TRUSTED_PROXIES", " 10.1.2.3/8, 192.168.1.7 ,fd00::/8,::ffff:172.16.0.0/108"}, func(c Config) bool {
			return fmt.Sprint(c.TrustedProxies) == "[10.0.0.0/8 192.168.1.7/32 fd00::/8 172.16.0.0/12]"
		}},
		{"PPROF_ADDR v4", devBase, []string{"PPROF_ADDR", "127.0.0.1:6060"}, func(c Config) bool { return c.PprofAddr == "127.0.0.1:6060" }},
		{"PPROF_ADDR v6", devBase, []string{"PPROF_ADDR", "[::1]:6060"}, func(c Config) bool { return c.PprofAddr == "[::1]:6060" }},
		{"PPROF_ADDR localhost", devBase, []string{"PPROF_ADDR", "localhost:0"}, func(c Config) bool { return c.PprofAddr == "localhost:0" }},
		{"mem warns", devBase, []string{"DB_URI", "mem"}, func(c Config) bool { return hasWarning(c, "DB_URI=mem") }},
		{"short production secret warns", prodBase, []string{"JWT_SECRET", "short"}, func(c Config) bool { return hasWarning(c, "JWT_SECRET is shorter") }},
		{"short dev secret does not warn", devBase, []string{"JWT_SECRET", "x"}, func(c Config) bool { return len(c.Warnings) == 0 }},
		{"production without redis warns", prodBase, []string{"REDIS_URL", "-"}, func(c Config) bool { return hasWarning(c, "REDIS_URL is unset") }},
		{"short metrics secret warns", prodBase, []string{"METRICS_SECRET", "k"}, func(c Config) bool { return hasWarning(c, "METRICS_SECRET is shorter") }},
		{"blank values are unset", devBase, []string{"PORT", "  ", "WS_PATH", "", "METRICS_MODE", " "}, func(c Config) bool {
			return c.Port == 8000 && c.WSPath == "/ws" && c.MetricsMode == MetricsOpen
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.base, tt.set...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config %s warnings %q", c, c.Warnings)
			}
		})
	}
}

func hasWarning(c Config, prefix string) bool {
	for _, w := range c.Warnings {
		if strings.HasPrefix(w, prefix) {
			return true
		}
	}
	return false
}

// TestErrors covers every error: exact texts where the contract fixes them,
// otherwise the variable named in a one-line *VarError.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		base    map[string]string
		set     []string
		exact   string // exact error text, when the contract fixes it
		varName string // else: the *VarError's variable
		value   string // and the value it must show ("" = must not show one)
	}{
		{"dev JWT_SECRET missing", devBase, []string{"JWT_SECRET", "-"}, "JWT_SECRET is required and must be a non-empty string.", "", ""},
		{"dev JWT_SECRET blank", devBase, []string{"JWT_SECRET", "  "}, "JWT_SECRET is required and must be a non-empty string.", "", ""},
		{"dev JWT_SECRET checked before values", devBase, []string{"JWT_SECRET", "-", "PORT", "abc"}, "JWT_SECRET is required and must be a non-empty string.", "", ""},
		{"test mode JWT_SECRET missing", devBase, []string{"JWT_SECRET", "-", "NODE_ENV", "test"}, "JWT_SECRET is required and must be a non-empty string.", "", ""},
		{"unknown APP_ENV", devBase, []string{"APP_ENV", "prod"}, "", "APP_ENV", "prod"},
		{"unknown NODE_ENV", devBase, []string{"NODE_ENV", "staging"}, "", "NODE_ENV", "staging"},

		{"prod nothing set", map[string]string{"NODE_ENV": "production"}, nil, "Missing required environment variable for production: PORT", "", ""},
		{"prod PORT", prodBase, []string{"PORT", "-"}, "Missing required environment variable for production: PORT", "", ""},
		{"prod JWT_SECRET", prodBase, []string{"JWT_SECRET", "-"}, "Missing required environment variable for production: JWT_SECRET", "", ""},
		{"prod JWT_SECRET blank", prodBase, []string{"JWT_SECRET", " "}, "Missing required environment variable for production: JWT_SECRET", "", ""},
		{"prod DB_URI", prodBase, []string{"DB_URI", "-"}, "Missing required environment variable for production: DB_URI", "", ""},
		{"prod COOKIE_DOMAIN", prodBase, []string{"COOKIE_DOMAIN", "-"}, "Missing required environment variable for production: COOKIE_DOMAIN", "", ""},
		{"prod CORS_ORIGIN", prodBase, []string{"CORS_ORIGIN", "-"}, "Missing required environment variable for production: CORS_ORIGIN", "", ""},
		{"prod WS_PATH", prodBase, []string{"WS_PATH", "-"}, "Missing required environment variable for production: WS_PATH", "", ""},
		{"prod order: first missing wins", prodBase, []string{"WS_PATH", "-", "DB_URI", "-", "JWT_SECRET", "-"}, "Missing required environment variable for production: JWT_SECRET", "", ""},
		{"prod missing before bad values", prodBase, []string{"CORS_ORIGIN", "-", "PORT", "abc"}, "Missing required environment variable for production: CORS_ORIGIN", "", ""},
		{"prod METRICS_SECRET default mode", prodBase, []string{"METRICS_SECRET", "-"}, "Missing required environment variable for production: METRICS_SECRET", "", ""},
		{"prod METRICS_SECRET explicit secret", prodBase, []string{"METRICS_SECRET", "-", "METRICS_MODE", "secret"}, "Missing required environment variable for production: METRICS_SECRET", "", ""},
		{"prod open without allow", prodBase, []string{"METRICS_MODE", "open"}, "", "METRICS_MODE", "open"},
		{"prod open with allow=false", prodBase, []string{"METRICS_MODE", "open", "ALLOW_PUBLIC_METRICS_IN_PROD", "false"}, "", "METRICS_MODE", "open"},
		{"prod PORT 0", prodBase, []string{"PORT", "0"}, "", "PORT", "0"},
		{"MAX_CONNECTIONS zero", devBase, []string{"MAX_CONNECTIONS", "0"}, "", "MAX_CONNECTIONS", "0"},
		{"MAX_CONNECTIONS_PER_IP not a number", devBase, []string{"MAX_CONNECTIONS_PER_IP", "many"}, "", "MAX_CONNECTIONS_PER_IP", "many"},
		{"TRUSTED_PROXIES bad CIDR", devBase, []string{"TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.0/33"}, "", "TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.0/33"},
		{"TRUSTED_PROXIES host name", devBase, []string{"TRUSTED_PROXIES", "proxy.internal"}, "", "TRUSTED_PROXIES", "proxy.internal"},
		{"dev secret mode without secret", devBase, []string{"METRICS_MODE", "secret"}, "", "METRICS_SECRET", ""},

		{"PORT abc", devBase, []string{"PORT", "abc"}, "", "PORT", "abc"},
		{"PORT negative", devBase, []string{"PORT", "-1"}, "", "PORT", "-1"},
		{"PORT too big", devBase, []string{"PORT", "65536"}, "", "PORT", "65536"},
		{"PORT fraction", devBase, []string{"PORT", "80.5"}, "", "PORT", "80.5"},
		{"INSTANCE_ID blank inside", devBase, []string{"INSTANCE_ID", "node 1"}, "", "INSTANCE_ID", "node 1"},
		{"INSTANCE_ID too long", devBase, []string{"INSTANCE_ID", strings.Repeat("a", 65)}, "", "INSTANCE_ID", strings.Repeat("a", 65)},
		{"METRICS_MODE unknown", devBase, []string{"METRICS_MODE", "public"}, "", "METRICS_MODE", "public"},
		{"DB_URI sqlite no path", devBase, []string{"DB_URI", "sqlite:"}, "", "DB_URI", "sqlite:"},
		{"DB_URI mysql", devBase, []string{"DB_URI", "mysql://u:" + pgPassword + "@h/db"}, "", "DB_URI", ""},
		{"DB_URI mongodb", prodBase, []string{"DB_URI", "mongodb://u:" + pgPassword + "@h/db"}, "", "DB_URI", ""},
		{"DB_URI placeholder", prodBase, []string{"DB_URI", "placeholder-or-real-uri"}, "", "DB_URI", ""},
		{"DB_URI bad postgres URL", devBase, []string{"DB_URI", "postgres://u:" + pgPassword + "@h:port/db"}, "", "DB_URI", ""},
		{"DB_URI bare password", devBase, []string{"DB_URI", pgPassword}, "", "DB_URI", ""},
		{"REDIS_URL http", devBase, []string{"REDIS_URL", "http://:" + redisPasswd + "@h:6379"}, "", "REDIS_URL", ""},
		{"REDIS_URL host only", devBase, []string{"REDIS_URL", "localhost:6379"}, "", "REDIS_URL", ""},
		{"REDIS_URL no host", devBase, []string{"REDIS_URL", "redis://"}, "", "REDIS_URL", ""},
		{"REDIS_URL bad port", devBase, []string{"REDIS_URL", "redis://:" + redisPasswd + "@h:99999"}, "", "REDIS_URL", ""},
		{"REDIS_URL bad db", devBase, []string{"REDIS_URL", "redis://h:6379/zero"}, "", "REDIS_URL", ""},
		{"REDIS_URL cluster no port", devBase, []string{"REDIS_URL", "redis+cluster://:" + redisPasswd + "@h1:7000,h2"}, "", "REDIS_URL", ""},
		{"REDIS_URL cluster db", devBase, []string{"REDIS_URL", "redis+cluster://h1:7000/2"}, "", "REDIS_URL", ""},
		{"REDIS_URL cluster no host", devBase, []string{"REDIS_URL", "redis+cluster://"}, "", "REDIS_URL", ""},
		{"REDIS_URL malformed", devBase, []string{"REDIS_URL", "redis://:" + redisPasswd + "@h:6379/%zz"}, "", "REDIS_URL", ""},
		{"REDIS_INIT_TIMEOUT bare number", devBase, []string{"REDIS_INIT_TIMEOUT", "5000"}, "", "REDIS_INIT_TIMEOUT", "5000"},
		{"REDIS_INIT_TIMEOUT zero", devBase, []string{"REDIS_INIT_TIMEOUT", "0s"}, "", "REDIS_INIT_TIMEOUT", "0s"},
		{"REDIS_INIT_TIMEOUT negative", devBase, []string{"REDIS_INIT_TIMEOUT", "-1s"}, "", "REDIS_INIT_TIMEOUT", "-1s"},
		{"COOKIE_DOMAIN injection", devBase, []string{"COOKIE_DOMAIN", "a.com; Secure"}, "", "COOKIE_DOMAIN", "a.com; Secure"},
		{"CORS_ORIGIN star", devBase, []string{"CORS_ORIGIN", "*"}, "", "CORS_ORIGIN", "*"},
		{"CORS_ORIGIN no scheme", prodBase, []string{"CORS_ORIGIN", "app.example.com"}, "", "CORS_ORIGIN", "app.example.com"},
		{"CORS_ORIGIN with path", devBase, []string{"CORS_ORIGIN", "https://a.com/app"}, "", "CORS_ORIGIN", "https://a.com/app"},
		{"CORS_ORIGIN ftp", devBase, []string{"CORS_ORIGIN", "ftp://a.com"}, "", "CORS_ORIGIN", "ftp://a.com"},
		{"WS_PATH relative", devBase, []string{"WS_PATH", "ws"}, "", "WS_PATH", "ws"},
		{"WS_PATH query", prodBase, []string{"WS_PATH", "/ws?x=1"}, "", "WS_PATH", "/ws?x=1"},
		{"ALLOW_PUBLIC_METRICS_IN_PROD bad", devBase, []string{"ALLOW_PUBLIC_METRICS_IN_PROD", "yes"}, "", "ALLOW_PUBLIC_METRICS_IN_PROD", "yes"},
		{"METRICS_ENABLE_ADMIN_ROUTE bad", devBase, []string{"METRICS_ENABLE_ADMIN_ROUTE", "on"}, "", "METRICS_ENABLE_ADMIN_ROUTE", "on"},
		{"WS_RATE zero", devBase, []string{"WS_RATE", "0"}, "", "WS_RATE", "0"},
		{"WS_RATE negative", devBase, []string{"WS_RATE", "-3"}, "", "WS_RATE", "-3"},
		{"WS_RATE text", devBase, []string{"WS_RATE", "fast"}, "", "WS_RATE", "fast"},
		{"WS_RATE NaN", devBase, []string{"WS_RATE", "NaN"}, "", "WS_RATE", "NaN"},
		{"WS_RATE Inf", devBase, []string{"WS_RATE", "+Inf"}, "", "WS_RATE", "+Inf"},
		{"WS_BURST zero", devBase, []string{"WS_BURST", "0"}, "", "WS_BURST", "0"},
		{"WS_BURST fraction", devBase, []string{"WS_BURST", "1.5"}, "", "WS_BURST", "1.5"},
		{"WS_MAX_SOCKETS_PER_USER zero", devBase, []string{"WS_MAX_SOCKETS_PER_USER", "0"}, "", "WS_MAX_SOCKETS_PER_USER", "0"},
		{"WS_MAX_SOCKETS_PER_USER text", devBase, []string{"WS_MAX_SOCKETS_PER_USER", "many"}, "", "WS_MAX_SOCKETS_PER_USER", "many"},
		{"WS_QUEUE_BYTES too small", devBase, []string{"WS_QUEUE_BYTES", "1024"}, "", "WS_QUEUE_BYTES", "1024"},
		{"WS_QUEUE_BYTES with unit", devBase, []string{"WS_QUEUE_BYTES", "1MiB"}, "", "WS_QUEUE_BYTES", "1MiB"},
		{"WS_OUTBOUND_BUDGET under the queue", devBase, []string{"WS_OUTBOUND_BUDGET", "100000"}, "", "WS_OUTBOUND_BUDGET", "100000"},
		{"WS_PING_INTERVAL bare number", devBase, []string{"WS_PING_INTERVAL", "30"}, "", "WS_PING_INTERVAL", "30"},
		{"ADMIN_BOOTSTRAP no colon", devBase, []string{"ADMIN_BOOTSTRAP", "root" + adminPass}, "", "ADMIN_BOOTSTRAP", ""},
		{"ADMIN_BOOTSTRAP empty name", devBase, []string{"ADMIN_BOOTSTRAP", ":" + adminPass}, "", "ADMIN_BOOTSTRAP", ""},
		{"ADMIN_BOOTSTRAP empty password", devBase, []string{"ADMIN_BOOTSTRAP", "root:"}, "", "ADMIN_BOOTSTRAP", ""},
		{"SHUTDOWN_TIMEOUT bad", devBase, []string{"SHUTDOWN_TIMEOUT", "soon"}, "", "SHUTDOWN_TIMEOUT", "soon"},
		{"SHUTDOWN_TIMEOUT zero", devBase, []string{"SHUTDOWN_TIMEOUT", "0"}, "", "SHUTDOWN_TIMEOUT", "0"},
		{"TOKEN_TTL bare number", devBase, []string{"TOKEN_TTL", "86400"}, "", "TOKEN_TTL", "86400"},
		{"TOKEN_TTL negative", devBase, []string{"TOKEN_TTL", "-24h"}, "", "TOKEN_TTL", "-24h"},
		{"PPROF_ADDR public", devBase, []string{"PPROF_ADDR", "0.0.0.0:6060"}, "", "PPROF_ADDR", "0.0.0.0:6060"},
		{"PPROF_ADDR all interfaces", devBase, []string{"PPROF_ADDR", ":6060"}, "", "PPROF_ADDR", ":6060"},
		{"PPROF_ADDR host name", devBase, []string{"PPROF_ADDR", "example.com:6060"}, "", "PPROF_ADDR", "example.com:6060"},
		{"PPROF_ADDR no port", devBase, []string{"PPROF_ADDR", "127.0.0.1"}, "", "PPROF_ADDR", "127.0.0.1"},
		{"PPROF_ADDR bad port", devBase, []string{"PPROF_ADDR", "127.0.0.1:http"}, "", "PPROF_ADDR", "127.0.0.1:http"},
	}
	secrets := []string{devSecret, prodSecret, metricsKey, adminPass, pgPassword, redisPasswd}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.base, tt.set...))
			if err == nil {
				t.Fatalf("Load succeeded: %s", c)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error echoes a secret: %q", msg)
				}
			}
			if tt.exact != "" {
				if msg != tt.exact {
					t.Fatalf("error\n got %q\nwant %q", msg, tt.exact)
				}
				return
			}
			var ve *VarError
			if !errors.As(err, &ve) {
				t.Fatalf("want *VarError, got %T: %v", err, err)
			}
			if ve.Name != tt.varName || ve.Value != tt.value {
				t.Fatalf("VarError{Name:%q Value:%q}, want {%q %q}: %v", ve.Name, ve.Value, tt.varName, tt.value, err)
			}
			if !strings.HasPrefix(msg, "config: invalid "+tt.varName) {
				t.Fatalf("error %q does not start by naming %s", msg, tt.varName)
			}
			if tt.value != "" && !strings.Contains(msg, fmt.Sprintf("%q", tt.value)) {
				t.Fatalf("error %q does not show the value %q", msg, tt.value)
			}
		})
	}
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	_, err := Load(env(devBase, "JWT_SECRET", "-"))
	if !errors.Is(err, ErrJWTSecretRequired) {
		t.Fatalf("want ErrJWTSecretRequired, got %v", err)
	}
	_, err = Load(env(prodBase, "DB_URI", "-"))
	var me *MissingError
	if !errors.As(err, &me) || me.Name != "DB_URI" {
		t.Fatalf("want *MissingError DB_URI, got %v", err)
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	t.Parallel()
	c, err := Load(env(prodBase, "ADMIN_BOOTSTRAP", "root:"+adminPass))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		for _, secret := range []string{prodSecret, metricsKey, adminPass, pgPassword, redisPasswd} {
			if strings.Contains(s, secret) {
				t.Fatalf("String leaks %q: %s", secret, s)
			}
		}
		if !strings.Contains(s, `AdminBootstrapName:"root"`) || !strings.Contains(s, "postgres://<redacted>") {
			t.Fatalf("String lost non-secret detail: %s", s)
		}
	}
}

func TestNilGetenvReadsProcess(t *testing.T) {
	// Not parallel: it sets process variables. Empty means unset to Load.
	for _, k := range []string{"NODE_ENV", "INSTANCE_ID", "DB_URI", "REDIS_URL", "REDIS_INIT_TIMEOUT", "COOKIE_DOMAIN",
		"CORS_ORIGIN", "WS_PATH", "METRICS_MODE", "METRICS_SECRET", "ALLOW_PUBLIC_METRICS_IN_PROD",
		"METRICS_ENABLE_ADMIN_ROUTE", "WS_RATE", "WS_BURST", "WS_MAX_SOCKETS_PER_USER", "WS_QUEUE_BYTES",
		"WS_OUTBOUND_BUDGET", "WS_PING_INTERVAL", "ADMIN_BOOTSTRAP", "SHUTDOWN_TIMEOUT", "TOKEN_TTL", "PPROF_ADDR"} {
		t.Setenv(k, "")
	}
	t.Setenv("APP_ENV", "development")
	t.Setenv("JWT_SECRET", "from-process")
	t.Setenv("PORT", "8123")
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.JWTSecret) != "from-process" || c.Port != 8123 {
		t.Fatalf("got %s", c)
	}
}
