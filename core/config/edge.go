package config

import (
	"net/netip"
	"strconv"
	"strings"
)

// Defaults of the connection caps (project extensions of the contract).
const (
	// DefaultMaxConnections bounds the connections one instance serves at
	// once; more wait in the listen backlog.
	DefaultMaxConnections = 10000
	// DefaultMaxConnectionsPerIP bounds the connections of one TCP peer
	// address; more are closed at once.
	DefaultMaxConnectionsPerIP = 256
)

// connLimits reads MAX_CONNECTIONS and MAX_CONNECTIONS_PER_IP.
func (l loader) connLimits(c *Config) error {
	var err error
	if c.MaxConnections, err = l.positiveInt("MAX_CONNECTIONS", DefaultMaxConnections); err != nil {
		return err
	}
	c.MaxConnectionsPerIP, err = l.positiveInt("MAX_CONNECTIONS_PER_IP", DefaultMaxConnectionsPerIP)
	return err
}

func (l loader) positiveInt(name string, def int) (int, error) {
	v := l.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, invalid(name, v, "want a positive whole number")
	}
	return n, nil
}

// trustedProxies reads TRUSTED_PROXIES: comma-separated CIDRs, or bare
// addresses meaning one host (/32, /128).
func (l loader) trustedProxies(c *Config) error {
	v := l.get("TRUSTED_PROXIES")
	if v == "" {
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := parsePrefix(part)
		if err != nil {
			return invalid("TRUSTED_PROXIES", v, "bad entry "+strconv.Quote(part)+
				": want comma-separated CIDRs, e.g. 10.0.0.0/8,192.168.1.7/32,fd00::/8")
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	return nil
}

// parsePrefix accepts a CIDR or a single address, with host bits cleared
// so "10.1.2.3/8" means 10.0.0.0/8, as a reader would expect.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
