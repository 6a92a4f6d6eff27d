package bus

import (
	"context"
	"sync"

	"go.uber.org/zap"
)

// Disabled is the Bus used when no Redis is configured: a single instance
// needs no bus. Publish always returns ErrUnavailable (without logging), State
// is always StateDisabled, Start returns at once and never calls its Handler.
//
// The zero value is ready to use and logs nothing; NewDisabled gives it a
// logger. All methods are safe for concurrent use.
type Disabled struct {
	log       *zap.Logger
	startOnce sync.Once
	closeOnce sync.Once
}

var _ Bus = (*Disabled)(nil)

// NewDisabled returns a Disabled bus logging under the name "RedisBus" on
// logger (nil means zap.NewNop()).
func NewDisabled(logger *zap.Logger) *Disabled {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Disabled{log: logger.Named("RedisBus")}
}

func (d *Disabled) logger() *zap.Logger {
	if d.log == nil {
		return zap.NewNop()
	}
	return d.log
}

// Publish returns ErrUnavailable: other instances, if any, catch up from the
// store.
func (d *Disabled) Publish(context.Context, Event) error { return ErrUnavailable }

// State returns StateDisabled.
func (d *Disabled) State() State { return StateDisabled }

// Start logs "bus_disabled" once, with reason "Redis not configured", and
// returns at once. h is never called.
func (d *Disabled) Start(context.Context, Handler) {
	d.startOnce.Do(func() {
		d.logger().Info("bus_disabled", zap.String("reason", "Redis not configured"))
	})
}

// Close logs "stopped" the first time it is called; it never fails.
func (d *Disabled) Close() error {
	d.closeOnce.Do(func() { d.logger().Info("stopped") })
	return nil
}

// Subscribe does nothing: with no bus there is nothing to subscribe to.
func (d *Disabled) Subscribe(string) {}

// Unsubscribe does nothing.
func (d *Disabled) Unsubscribe(string) {}

// WaitSubscribed returns nil at once: no event can be missed on a bus that
// carries none.
func (d *Disabled) WaitSubscribed(context.Context, string) error { return nil }

// SetPresence does nothing: alone, an instance's presence is its hub.
func (d *Disabled) SetPresence(context.Context, []string) error { return nil }

// Presence returns no instance: there is no other.
func (d *Disabled) Presence(context.Context) (map[string][]string, error) { return nil, nil }
