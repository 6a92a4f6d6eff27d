package scenario

import (
	"context"

	"github.com/dmchat/dmchat/core/sandbox"
)

// StartCluster starts the fresh cluster a run of sc needs: the script's
// store, instances, Redis state and seed over base (which carries what the
// caller decides: log level, log file, console output). Run uses it when it
// is given no cluster; a UI uses it to give every run a cluster of its own,
// so a run never meets users or faults left by an earlier one.
func StartCluster(ctx context.Context, sc *Script, base sandbox.Options) (*sandbox.Cluster, error) {
	o := base
	if o.DBURI == "" {
		o.DBURI = sc.Options.DB
	}
	o.RedisDown = sc.Options.RedisDown
	o.Instances = sc.Options.InstanceNames()
	o.RedisInitTimeout = sc.Options.RedisInitTimeout
	if o.Seed == 0 {
		o.Seed = sc.Options.Seed
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return sandbox.Start(ctx, o)
}
