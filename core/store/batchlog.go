package store

import (
	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/logging"
)

// batchLog logs a backend's failed write batches once per outage: a
// database that is down (a full disk, a lost server) fails every batch,
// which at load is hundreds a second, and each caller's failure is already
// logged by its own layer at a bounded rate (HTTP internal_error, the
// session's internal_error). The first failure of an outage carries the
// cause, store_batch_recovered says when a batch commits again and how
// many failed meanwhile. Only the writer goroutine calls it.
type batchLog struct {
	log     *zap.Logger
	backend string
	failed  logging.Outage // failed batches
	retried logging.Outage // retries of a batch (PostgreSQL's transient errors)
}

// fail logs a batch of writes that failed with err, if it starts an outage.
func (b *batchLog) fail(writes int, err error) {
	if b.failed.Failed() {
		b.log.Error("store_batch_failed", zap.String("backend", b.backend), zap.Int("writes", writes), zap.Error(err))
	}
}

// retry logs a batch of writes tried again after err, if it is the first
// retry since a batch last committed.
func (b *batchLog) retry(writes int, err error) {
	if b.retried.Failed() {
		b.log.Warn("store_batch_retry", zap.String("backend", b.backend), zap.Int("writes", writes), zap.Error(err))
	}
}

// committed ends an outage: a batch committed.
func (b *batchLog) committed() {
	retries := b.retried.Succeeded()
	if failed := b.failed.Succeeded(); failed > 0 {
		b.log.Info("store_batch_recovered", zap.String("backend", b.backend), zap.Int("failedBatches", failed), zap.Int("retries", retries))
	}
}
