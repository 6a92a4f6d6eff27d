package config

import (
	"strconv"
)

// minWSQueueBytes keeps WS_QUEUE_BYTES above a replay page of the largest
// frames, so a socket that reads is never taken for a slow one.
const minWSQueueBytes = 64 << 10

// wsBounds reads the memory and connection bounds of the WebSockets.
func (l loader) wsBounds(c *Config) error {
	var err error
	if c.WSMaxSocketsPerUser, err = l.intAtLeast("WS_MAX_SOCKETS_PER_USER", DefaultWSMaxSocketsPerUser, 1,
		"want a positive whole number of sockets"); err != nil {
		return err
	}
	if c.WSQueueBytes, err = l.intAtLeast("WS_QUEUE_BYTES", DefaultWSQueueBytes, minWSQueueBytes,
		"want a whole number of bytes, at least 65536"); err != nil {
		return err
	}
	budget, err := l.intAtLeast("WS_OUTBOUND_BUDGET", DefaultWSOutboundBudget, c.WSQueueBytes,
		"want a whole number of bytes, at least WS_QUEUE_BYTES")
	if err != nil {
		return err
	}
	c.WSOutboundBudget = int64(budget)
	if c.WSPingInterval, err = l.duration("WS_PING_INTERVAL", DefaultWSPingInterval); err != nil {
		return err
	}
	return nil
}

// intAtLeast reads name as a whole number no less than least (def when
// unset); want is the error's hint.
func (l loader) intAtLeast(name string, def, least int, want string) (int, error) {
	v := l.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, invalid(name, v, want)
	}
	return n, nil
}
