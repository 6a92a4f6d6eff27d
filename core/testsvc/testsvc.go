// Package testsvc starts the real services that tests run against: a
// single redis-server (StartRedis), a Redis Cluster (StartCluster) and a
// fresh PostgreSQL database on the throw-away server of .ci/services.sh
// (NewPostgres). It is for tests only; no program imports it.
//
// It is not under core/internal, so that cmd/server's tests can import it
// as well as core's (Go allows an internal package to be imported only from
// below its parent directory, and the top level of the module is fixed).
//
// The environment is the one .ci/services.sh prints:
//
//	DMCHAT_REDIS_SERVER      redis-server binary (else PATH)
//	DMCHAT_REDIS_CLI         redis-cli binary (else next to redis-server, else PATH)
//	DMCHAT_TEST_POSTGRES     postgres:// URL of a server where databases may be created
//	DMCHAT_REQUIRE_SERVICES  "1": a missing service fails the test instead of skipping it
//
// Every helper registers its own cleanup with the test; processes are
// killed and databases dropped when it ends.
package testsvc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Environment variables read by this package (see .ci/services.sh).
const (
	EnvRedisServer     = "DMCHAT_REDIS_SERVER"
	EnvRedisCLI        = "DMCHAT_REDIS_CLI"
	EnvPostgres        = "DMCHAT_TEST_POSTGRES"
	EnvRequireServices = "DMCHAT_REQUIRE_SERVICES"
)

// RequireServices reports DMCHAT_REQUIRE_SERVICES=1: a missing service
// fails the test instead of skipping it, so CI cannot pass by skipping.
func RequireServices() bool { return os.Getenv(EnvRequireServices) == "1" }

// missing skips tb because what is not available, or fails it when
// services are required.
func missing(tb testing.TB, what string, err error) {
	tb.Helper()
	if RequireServices() {
		tb.Fatalf("%s not available and %s=1 (run `eval \"$(bash .ci/services.sh)\"`): %v", what, EnvRequireServices, err)
	}
	tb.Skipf("%s not available: %v", what, err)
}

// redisServerBin finds redis-server: DMCHAT_REDIS_SERVER, then PATH.
func redisServerBin(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv(EnvRedisServer); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(tb, "redis-server (set "+EnvRedisServer+")", err)
	}
	return bin
}

// redisCLIBin finds redis-cli: DMCHAT_REDIS_CLI, then beside server, then
// PATH.
func redisCLIBin(tb testing.TB, server string) string {
	tb.Helper()
	if cli := os.Getenv(EnvRedisCLI); cli != "" {
		return cli
	}
	if c := filepath.Join(filepath.Dir(server), "redis-cli"); isExec(c) {
		return c
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		missing(tb, "redis-cli (set "+EnvRedisCLI+")", err)
	}
	return cli
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
