package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// productionRequired are the variables production refuses to start without,
// in the order they are checked (the first missing one is reported).
// METRICS_SECRET follows them when METRICS_MODE is secret.
var productionRequired = [...]string{"PORT", "JWT_SECRET", "DB_URI", "COOKIE_DOMAIN", "CORS_ORIGIN", "WS_PATH"}

// Load reads the configuration through getenv (os.Getenv when nil).
//
// The mode is APP_ENV, or NODE_ENV when APP_ENV is unset, default
// development. "development" and "production" are the modes; "test" (what
// Node tooling sets under test runners) is read as development; any other
// value is an error rather than a silent fallback, since a typo such as
// "prod" must not start a production deployment with development defaults.
//
// Checks, in order: the mode; in development a missing JWT_SECRET
// (ErrJWTSecretRequired); in production the first missing required variable
// (*MissingError, PORT, JWT_SECRET, DB_URI, COOKIE_DOMAIN, CORS_ORIGIN,
// WS_PATH, then METRICS_SECRET when METRICS_MODE is secret); then every
// value (*VarError). The first problem found is returned.
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	l := loader{getenv: getenv}
	return l.load()
}

type loader struct {
	getenv func(string) string
}

// get returns a variable with surrounding blanks removed; "" means unset.
func (l loader) get(name string) string { return strings.TrimSpace(l.getenv(name)) }

func (l loader) load() (Config, error) {
	var c Config

	// Mode.
	envName, env := "APP_ENV", l.get("APP_ENV")
	if env == "" {
		envName, env = "NODE_ENV", l.get("NODE_ENV")
	}
	switch strings.ToLower(env) {
	case "", "development", "test":
		c.Env = EnvDevelopment
	case "production":
		c.Env, c.Production = EnvProduction, true
	default:
		return Config{}, invalid(envName, env, "want development, production or test")
	}

	// Presence. JWT_SECRET is not trimmed (it is a key), but a blank one is
	// missing.
	jwtSecret := l.getenv("JWT_SECRET")
	if strings.TrimSpace(jwtSecret) == "" {
		jwtSecret = ""
	}
	if !c.Production && jwtSecret == "" {
		return Config{}, ErrJWTSecretRequired
	}
	if c.Production {
		for _, name := range productionRequired {
			if l.get(name) == "" {
				return Config{}, &MissingError{Name: name}
			}
		}
	}
	c.JWTSecret = []byte(jwtSecret)

	// Metrics mode decides whether METRICS_SECRET is required.
	c.MetricsMode = MetricsOpen
	if c.Production {
		c.MetricsMode = MetricsSecret
	}
	if v := l.get("METRICS_MODE"); v != "" {
		switch strings.ToLower(v) {
		case MetricsOpen, MetricsSecret, MetricsOff:
			c.MetricsMode = strings.ToLower(v)
		default:
			return Config{}, invalid("METRICS_MODE", v, "want open, secret or off")
		}
	}
	c.MetricsSecret = l.getenv("METRICS_SECRET")
	if strings.TrimSpace(c.MetricsSecret) == "" {
		c.MetricsSecret = ""
	}
	if c.MetricsMode == MetricsSecret && c.MetricsSecret == "" {
		if c.Production {
			return Config{}, &MissingError{Name: "METRICS_SECRET"}
		}
		return Config{}, invalidSecret("METRICS_SECRET", "must be set when METRICS_MODE=secret")
	}

	// Values.
	steps := []func(*Config) error{
		l.port, l.instanceID, l.dbURI, l.redis, l.cookieDomain, l.corsOrigin, l.wsPath,
		l.metricsFlags, l.wsLimits, l.wsBounds, l.adminBootstrap, l.timeouts, l.pprofAddr,
		l.connLimits, l.trustedProxies,
	}
	for _, step := range steps {
		if err := step(&c); err != nil {
			return Config{}, err
		}
	}
	c.Warnings = warnings(c)
	return c, nil
}

func (l loader) port(c *Config) error {
	c.Port = DefaultPort
	v := l.get("PORT")
	if v == "" {
		return nil
	}
	p, err := strconv.Atoi(v)
	if err != nil {
		return invalid("PORT", v, "want a port number 1-65535")
	}
	if p < 0 || p > 65535 || (p == 0 && c.Production) {
		return invalid("PORT", v, "out of range: want 1-65535 (0, any free port, outside production only)")
	}
	c.Port = p
	return nil
}

func (l loader) instanceID(c *Config) error {
	v := l.get("INSTANCE_ID")
	if v == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "pid-" + strconv.Itoa(os.Getpid())
		}
		c.InstanceID = h
		return nil
	}
	if len(v) > 64 {
		return invalid("INSTANCE_ID", v, "longer than 64 characters")
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return invalid("INSTANCE_ID", v, "want letters, digits and . _ : - only")
		}
	}
	c.InstanceID = v
	return nil
}

func (l loader) dbURI(c *Config) error {
	v := l.get("DB_URI")
	if v == "" {
		v = DefaultDBURI
	}
	const want = `want "mem", "sqlite:PATH" or a postgres:// (postgresql://) URL`
	bad := func() error {
		if s := schemeOf(v); s != "" {
			return invalidSecret("DB_URI", fmt.Sprintf("scheme %q: %s", s, want))
		}
		return invalidSecret("DB_URI", want)
	}
	switch {
	case v == "mem":
	case strings.HasPrefix(v, "sqlite:"):
		if strings.TrimPrefix(v, "sqlite:") == "" {
			return invalid("DB_URI", v, "sqlite: needs a file path, e.g. sqlite:data/chat.db")
		}
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		if _, err := url.Parse(v); err != nil {
			// The parse error quotes the URL: do not pass it on.
			return invalidSecret("DB_URI", "malformed postgres URL")
		}
	default:
		return bad()
	}
	c.DBURI = v
	return nil
}

func (l loader) redis(c *Config) error {
	if v := l.get("REDIS_URL"); v != "" && strings.HasPrefix(v, clusterScheme) {
		if msg := checkClusterURL(v); msg != "" {
			return invalidSecret("REDIS_URL", msg)
		}
		c.RedisURL = v
	} else if v != "" {
		const want = "want redis://[user:password@]host[:port][/db], rediss://... or " + clusterScheme + "host1:port1,host2:port2"
		u, err := url.Parse(v)
		if err != nil {
			return invalidSecret("REDIS_URL", "malformed URL: "+want)
		}
		if u.Scheme != "redis" && u.Scheme != "rediss" {
			if s := schemeOf(v); s != "" {
				return invalidSecret("REDIS_URL", fmt.Sprintf("scheme %q: %s", s, want))
			}
			return invalidSecret("REDIS_URL", want)
		}
		if u.Hostname() == "" {
			return invalidSecret("REDIS_URL", "no host: "+want)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return invalidSecret("REDIS_URL", "bad port: "+want)
			}
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				return invalidSecret("REDIS_URL", "database must be a number: "+want)
			}
		}
		c.RedisURL = v
	}
	var err error
	c.RedisInitTimeout, err = l.duration("REDIS_INIT_TIMEOUT", DefaultRedisInitTimeout)
	return err
}

func (l loader) cookieDomain(c *Config) error {
	v := l.get("COOKIE_DOMAIN")
	if strings.ContainsAny(v, " \t;,=\"") {
		return invalid("COOKIE_DOMAIN", v, "a cookie domain cannot contain blanks, ; , = or quotes")
	}
	c.CookieDomain = v
	return nil
}

func (l loader) corsOrigin(c *Config) error {
	v := l.get("CORS_ORIGIN")
	if v == "" {
		return nil
	}
	const want = "want one origin, scheme://host[:port], e.g. https://app.example.com"
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return invalid("CORS_ORIGIN", v, want)
	}
	// Browsers send Origin without a trailing slash.
	c.CORSOrigin = strings.TrimSuffix(v, "/")
	return nil
}

func (l loader) wsPath(c *Config) error {
	v := l.get("WS_PATH")
	if v == "" {
		c.WSPath = DefaultWSPath
		return nil
	}
	if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, " \t?#") {
		return invalid("WS_PATH", v, `want a path starting with "/" and no blanks, ? or #, e.g. /ws`)
	}
	c.WSPath = v
	return nil
}

func (l loader) boolean(name string) (bool, error) {
	v := l.get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(name, v, "want true or false")
	}
	return b, nil
}

func (l loader) metricsFlags(c *Config) error {
	var err error
	if c.AllowPublicMetricsInProd, err = l.boolean("ALLOW_PUBLIC_METRICS_IN_PROD"); err != nil {
		return err
	}
	if c.MetricsEnableAdminRoute, err = l.boolean("METRICS_ENABLE_ADMIN_ROUTE"); err != nil {
		return err
	}
	if c.Production && c.MetricsMode == MetricsOpen && !c.AllowPublicMetricsInProd {
		return invalid("METRICS_MODE", MetricsOpen,
			"public metrics in production need ALLOW_PUBLIC_METRICS_IN_PROD=true (or use METRICS_MODE=secret)")
	}
	return nil
}

func (l loader) wsLimits(c *Config) error {
	c.WSRate, c.WSBurst = DefaultWSRate, DefaultWSBurst
	if v := l.get("WS_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 {
			return invalid("WS_RATE", v, "want a positive number of frames per second")
		}
		c.WSRate = r
	}
	if v := l.get("WS_BURST"); v != "" {
		b, err := strconv.Atoi(v)
		if err != nil || b <= 0 {
			return invalid("WS_BURST", v, "want a positive whole number of frames")
		}
		c.WSBurst = b
	}
	return nil
}

func (l loader) adminBootstrap(c *Config) error {
	v := l.getenv("ADMIN_BOOTSTRAP")
	if strings.TrimSpace(v) == "" {
		return nil
	}
	// The value holds a password: never echo it.
	name, password, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return invalidSecret("ADMIN_BOOTSTRAP", "want name:password (no ':' found)")
	case name == "":
		return invalidSecret("ADMIN_BOOTSTRAP", "want name:password (empty name)")
	case password == "":
		return invalidSecret("ADMIN_BOOTSTRAP", "want name:password (empty password)")
	}
	c.AdminBootstrapName, c.AdminBootstrapPassword = name, password
	return nil
}

func (l loader) timeouts(c *Config) error {
	var err error
	if c.ShutdownTimeout, err = l.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout); err != nil {
		return err
	}
	c.TokenTTL, err = l.duration("TOKEN_TTL", DefaultTokenTTL)
	return err
}

// duration parses a positive Go duration ("5s", "1m30s", "24h"). A bare
// number is refused: it is ambiguous between seconds and milliseconds.
func (l loader) duration(name string, def time.Duration) (time.Duration, error) {
	v := l.get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, invalid(name, v, "want a duration with a unit, e.g. 500ms, 5s, 2m or 24h")
	}
	if d <= 0 {
		return 0, invalid(name, v, "must be positive")
	}
	return d, nil
}

func (l loader) pprofAddr(c *Config) error {
	v := l.get("PPROF_ADDR")
	if v == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return invalid("PPROF_ADDR", v, "want a loopback host:port, e.g. 127.0.0.1:6060")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return invalid("PPROF_ADDR", v, "bad port: want a loopback host:port, e.g. 127.0.0.1:6060")
	}
	if !isLoopbackHost(host) {
		return invalid("PPROF_ADDR", v, "must be a loopback address (localhost, 127.0.0.1 or [::1]): pprof must never be public")
	}
	c.PprofAddr = v
	return nil
}

// warnings returns the remarks about a valid but doubtful configuration.
func warnings(c Config) []string {
	var w []string
	if c.DBURI == "mem" {
		w = append(w, "DB_URI=mem: the store is in memory and everything is lost when the process stops")
	}
	if c.Production && len(c.JWTSecret) < MinProductionSecretLen {
		w = append(w, fmt.Sprintf("JWT_SECRET is shorter than %d bytes: use a long random secret in production", MinProductionSecretLen))
	}
	if c.Production && c.MetricsMode == MetricsOpen {
		w = append(w, "METRICS_MODE=open in production: anyone who can reach /metrics can read it")
	}
	if c.Production && c.MetricsMode == MetricsSecret && len(c.MetricsSecret) < 16 {
		w = append(w, "METRICS_SECRET is shorter than 16 bytes: use a long random secret")
	}
	if c.Production && c.RedisURL == "" {
		w = append(w, "REDIS_URL is unset: the bus is disabled, so instances do not see each other's users")
	}
	return w
}
