package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// clusterScheme starts a Redis Cluster REDIS_URL (see bus.ClusterScheme).
const clusterScheme = "redis+cluster://"

// checkClusterURL returns what is wrong with a redis+cluster:// URL, or
// "". The message never quotes the URL: it may hold a password.
func checkClusterURL(v string) string {
	const want = "want " + clusterScheme + "[user:password@]host1:port1,host2:port2[?options]"
	rest := strings.TrimPrefix(v, clusterScheme)
	rest, query, _ := strings.Cut(rest, "?")
	if _, err := url.ParseQuery(query); err != nil {
		return "malformed options: " + want
	}
	rest, path, _ := strings.Cut(rest, "/")
	if path != "" && path != "0" {
		return "a cluster has only database 0: " + want
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	hosts := 0
	for _, h := range strings.Split(rest, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(h))
		if err != nil || host == "" {
			return "each host needs host:port: " + want
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "bad port: " + want
		}
		hosts++
	}
	if hosts == 0 {
		return "no host: " + want
	}
	return ""
}
