package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prodEnv is a complete production environment (as the runbook's Step 2
// table, plus METRICS_SECRET) with modeVar (APP_ENV or NODE_ENV) set to
// production, minus the variables in drop.
func prodEnv(modeVar string, port int, drop ...string) map[string]string {
	env := map[string]string{
		modeVar:          "production",
		"PORT":           strconv.Itoa(port),
		"JWT_SECRET":     "config-test-jwt-secret",
		"DB_URI":         "mem",
		"COOKIE_DOMAIN":  ".localhost",
		"CORS_ORIGIN":    "http://localhost:3000",
		"WS_PATH":        "/ws",
		"METRICS_SECRET": "config-test-metrics",
	}
	for _, k := range drop {
		delete(env, k)
	}
	return env
}

func envList(m map[string]string) []string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	return baseEnv(kv...)
}

// expectRefusal runs the server with env and checks that it writes exactly
// want (or, when exact is false, one line containing want) to standard
// error, exits 1, and leaves nothing listening on port.
func expectRefusal(t *testing.T, env []string, port int, want string, exact bool) {
	t.Helper()
	p := start(t, env, "")
	if code := p.wait(10 * time.Second); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	got := strings.TrimRight(p.stderr(), "\n")
	switch {
	case exact && got != want:
		t.Errorf("stderr = %q, want exactly %q", got, want)
	case !exact && (strings.Contains(got, "\n") || !strings.Contains(got, want)):
		t.Errorf("stderr = %q, want one line containing %q", got, want)
	}
	if out := p.stdoutLines(); len(out) != 0 {
		t.Errorf("stdout = %q, want nothing", out)
	}
	if port != 0 && !refused(port) {
		t.Errorf("something accepts connections on port %d", port)
	}
}

func TestProductionRequiresEveryVariable(t *testing.T) {
	t.Parallel()
	required := []string{"PORT", "JWT_SECRET", "DB_URI", "COOKIE_DOMAIN", "CORS_ORIGIN", "WS_PATH", "METRICS_SECRET"}
	for _, modeVar := range []string{"APP_ENV", "NODE_ENV"} {
		for _, name := range required {
			for _, how := range []string{"unset", "empty"} {
				t.Run(modeVar+"/"+name+"/"+how, func(t *testing.T) {
					t.Parallel()
					port := freePort(t)
					env := prodEnv(modeVar, port, name)
					if how == "empty" {
						env[name] = ""
					}
					if name == "METRICS_SECRET" && modeVar == "NODE_ENV" {
						// Secret is the production default; say it explicitly once.
						env["METRICS_MODE"] = "secret"
					}
					expectRefusal(t, envList(env), port,
						"Missing required environment variable for production: "+name, true)
				})
			}
		}
	}
}

// TestProductionStartsWhenComplete is the control of the table above: the
// same environment, complete, starts; and METRICS_SECRET is only required
// when METRICS_MODE is secret.
func TestProductionStartsWhenComplete(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		modeVar string
		drop    []string
		extra   map[string]string
	}{
		{name: "APP_ENV", modeVar: "APP_ENV"},
		{name: "NODE_ENV/metrics-off-without-secret", modeVar: "NODE_ENV", drop: []string{"METRICS_SECRET"},
			extra: map[string]string{"METRICS_MODE": "off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			env := prodEnv(tc.modeVar, port, tc.drop...)
			for k, v := range tc.extra {
				env[k] = v
			}
			p := start(t, envList(env), "")
			api := p.listening()
			if err := api.Healthz(testCtx(t, 10*time.Second)); err != nil {
				t.Fatalf("healthz: %v", err)
			}
			if refused(port) {
				t.Fatalf("nothing listens on PORT=%d", port)
			}
			p.signal(syscall.SIGTERM)
			if code := p.wait(10 * time.Second); code != 0 {
				t.Errorf("exit code after SIGTERM = %d, want 0", code)
			}
		})
	}
}

// TestAppEnvWinsOverNodeEnv: NODE_ENV is read only when APP_ENV is unset.
func TestAppEnvWinsOverNodeEnv(t *testing.T) {
	t.Parallel()
	p := start(t, baseEnv("APP_ENV=development", "NODE_ENV=production", "JWT_SECRET=x", "PORT=0", "DB_URI=mem"), "")
	p.listening()
	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestDevelopmentRequiresJWTSecret(t *testing.T) {
	t.Parallel()
	for name, env := range map[string][]string{
		"unset":       baseEnv("PORT=0", "DB_URI=mem"),
		"empty":       baseEnv("PORT=0", "DB_URI=mem", "JWT_SECRET="),
		"blank":       baseEnv("PORT=0", "DB_URI=mem", "JWT_SECRET=   "),
		"explicit":    baseEnv("APP_ENV=development", "PORT=0", "DB_URI=mem"),
		"node-env-ts": baseEnv("NODE_ENV=test", "PORT=0", "DB_URI=mem"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			expectRefusal(t, env, 0, "JWT_SECRET is required and must be a non-empty string.", true)
		})
	}
}

func TestBadValuesAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		mustNotShow string // a secret value the error must not echo
	}{
		{name: "PORT", value: "abc"},
		{name: "METRICS_MODE", value: "bogus"},
		{name: "DB_URI", value: "bogus:x", mustNotShow: "bogus:x"},
		{name: "APP_ENV", value: "prod"},
	} {
		for _, mode := range []string{"development", "production"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				port := freePort(t)
				var env map[string]string
				if mode == "production" {
					env = prodEnv("APP_ENV", port)
				} else {
					env = map[string]string{"JWT_SECRET": "x", "PORT": strconv.Itoa(port), "DB_URI": "mem"}
				}
				env[tc.name] = tc.value
				p := start(t, envList(env), "")
				if code := p.wait(10 * time.Second); code != 1 {
					t.Errorf("exit code = %d, want 1", code)
				}
				got := strings.TrimRight(p.stderr(), "\n")
				if got == "" || strings.Contains(got, "\n") || !strings.Contains(got, tc.name) {
					t.Errorf("stderr = %q, want one line naming %s", got, tc.name)
				}
				if strings.Contains(got, "Missing required") {
					t.Errorf("stderr = %q: a bad value is not a missing variable", got)
				}
				if tc.mustNotShow != "" && strings.Contains(got, tc.mustNotShow) {
					t.Errorf("stderr = %q echoes the secret value %q", got, tc.mustNotShow)
				}
				if !refused(port) {
					t.Errorf("something accepts connections on port %d", port)
				}
			})
		}
	}
}
