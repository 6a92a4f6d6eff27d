package scenario

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/sandbox"
)

// workloadParallel bounds how many users are created or connected at once,
// and how many sends are in flight.
const (
	workloadParallel = 8
	workloadInFlight = 128
)

// outage is one scheduled Redis outage of a workload.
type outage struct {
	at, until time.Duration
}

// schedule places the Redis outages: one in each equal slot of the
// duration, at a seeded random offset, never in the slot's first or last
// tenth.
func (s *workloadStep) schedule(rng *rand.Rand) []outage {
	if s.outages == 0 {
		return nil
	}
	slot := s.duration / time.Duration(s.outages)
	room := time.Duration(float64(slot)*0.8) - s.outage
	out := make([]outage, s.outages)
	for k := range out {
		at := time.Duration(k)*slot + slot/10
		if room > 0 {
			at += time.Duration(rng.Int64N(int64(room)))
		}
		out[k] = outage{at: at, until: at + s.outage}
	}
	return out
}

// workloadStats counts what a workload did.
type workloadStats struct {
	sends, sendErrors, skipped, dropped, lost, reconnects, moves, opErrors atomic.Int64
}

func (s *workloadStep) run(ctx context.Context, x *execution) (string, error) {
	seed := s.seed
	if seed == 0 {
		seed = x.seed
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	users, err := s.setup(ctx, x)
	if err != nil {
		return fmt.Sprintf("seed %d", seed), err
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name()
	}
	plan := s.schedule(rng)
	var st workloadStats
	busy := make([]atomic.Bool, len(users))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workloadInFlight)
	op := func(i int, f func(u *sandbox.SimUser) error) {
		if !busy[i].CompareAndSwap(false, true) {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer busy[i].Store(false)
			if err := f(users[i]); err != nil {
				st.opErrors.Add(1)
			}
		}()
	}

	interval := time.Duration(float64(time.Second) / s.rate)
	ticker := time.NewTicker(interval)
	start := time.Now()
	next := 0 // index in plan of the next change
	down := false
	var outageLog []string
loop:
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
		}
		el := time.Since(start)
		if el >= s.duration {
			break
		}
		// Redis outages, on schedule.
		for next < len(plan) {
			o := plan[next]
			switch {
			case !down && el >= o.at:
				x.c.StopRedis()
				down = true
				outageLog = append(outageLog, fmt.Sprintf("%s-%s", o.at.Round(100*time.Millisecond), o.until.Round(100*time.Millisecond)))
				continue
			case down && el >= o.until:
				if err := x.c.StartRedis(); err != nil {
					st.opErrors.Add(1)
				}
				down = false
				next++
				continue
			}
			break
		}
		// Every draw is made on every tick, in the same order, so the seed
		// alone fixes who does what.
		from := rng.IntN(len(users))
		to := rng.IntN(len(users) - 1)
		if to >= from {
			to++
		}
		dropAt, loseAt := rng.IntN(len(users)), rng.IntN(len(users))
		dropRoll, loseRoll := rng.Float64(), rng.Float64()
		recAt, moveAt := rng.IntN(len(users)), rng.IntN(len(users))
		recRoll, moveRoll := rng.Float64(), rng.Float64()

		if dropRoll < s.dropAcks {
			users[dropAt].DropDeliveryAcks(1)
			st.dropped.Add(1)
		}
		if loseRoll < s.loseAcks {
			users[loseAt].LoseMessageAcks(1)
			st.lost.Add(1)
		}
		if recRoll < s.reconnect {
			st.reconnects.Add(1)
			op(recAt, func(u *sandbox.SimUser) error {
				if err := u.Reconnect(ctx); err != nil {
					return err
				}
				_, err := x.ready(ctx, u)
				return err
			})
		}
		if moveRoll < s.move && len(s.instances) > 1 {
			st.moves.Add(1)
			op(moveAt, func(u *sandbox.SimUser) error {
				dest := s.instances[0]
				for i, n := range s.instances {
					if n == u.Instance() {
						dest = s.instances[(i+1)%len(s.instances)]
					}
				}
				if err := u.Move(ctx, dest); err != nil {
					return err
				}
				_, err := x.ready(ctx, u)
				return err
			})
		}
		if busy[from].Load() {
			st.skipped.Add(1)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			st.skipped.Add(1)
			continue
		}
		st.sends.Add(1)
		u, content := users[from], fmt.Sprintf("soak %d from %s", tick, names[from])
		toName := names[to]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := u.Send(ctx, toName, content); err != nil {
				st.sendErrors.Add(1)
			}
		}()
	}
	ticker.Stop()
	wg.Wait()
	if down {
		if err := x.c.StartRedis(); err != nil {
			return "", fmt.Errorf("restarting Redis after the last outage: %w", err)
		}
	}

	settleStart := time.Now()
	settleErr := s.settleDown(ctx, x, users)
	acked, pending, failed := 0, 0, 0
	for _, u := range users {
		for _, e := range u.Outbox() {
			switch e.State {
			case sandbox.OutSent, sandbox.OutDelivered:
				acked++
			case sandbox.OutPending:
				pending++
			case sandbox.OutFailed:
				failed++
			}
		}
	}
	detail := fmt.Sprintf("seed %d, %d users on %s: %d sends (%d acked, %d refused, %d send errors, %d skipped while busy), "+
		"Redis outages at [%s], %d DELIVERY_ACKs dropped, %d MESSAGE_ACKs lost, %d reconnects, %d moves (%d failed)",
		seed, len(users), strings.Join(s.instances, ","), st.sends.Load(), acked, failed, st.sendErrors.Load(), st.skipped.Load(),
		strings.Join(outageLog, " "), st.dropped.Load(), st.lost.Load(), st.reconnects.Load(), st.moves.Load(), st.opErrors.Load())
	switch {
	case settleErr != nil:
		return detail, settleErr
	case acked == 0:
		return detail, fmt.Errorf("no send was acknowledged")
	case failed > 0:
		return detail, fmt.Errorf("%d sends were refused", failed)
	}
	return detail + fmt.Sprintf("; everything DELIVERED %s after the end", time.Since(settleStart).Round(time.Millisecond)), nil
}

// setup creates (or reuses) and connects the workload's users, spread over
// the instances in turn.
func (s *workloadStep) setup(ctx context.Context, x *execution) ([]*sandbox.SimUser, error) {
	users := make([]*sandbox.SimUser, s.users)
	errs := make([]error, s.users)
	sem := make(chan struct{}, workloadParallel)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("%s%03d", s.prefix, i+1)
			u := x.c.User(name)
			if u == nil {
				var err error
				if u, err = x.c.CreateUser(ctx, name, false); err != nil {
					errs[i] = err
					return
				}
			}
			users[i] = u
			if u.Connected() {
				return
			}
			if err := u.Connect(ctx, s.instances[i%len(s.instances)]); err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = x.ready(ctx, u)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("setting up the workload's users: %w", err)
		}
	}
	return users, nil
}

// settle waits, within s.settle, until every send of the workload is
// acknowledged and every message to its users DELIVERED: toggles are reset,
// users whose socket a fault ended connect again, and received messages
// whose DELIVERY_ACK was dropped are acked. Nothing is replayed by force:
// a message the server never delivered stays undelivered and fails the
// step.
func (s *workloadStep) settleDown(ctx context.Context, x *execution, users []*sandbox.SimUser) error {
	for i, u := range users {
		u.DropDeliveryAcks(0)
		u.LoseMessageAcks(0)
		if !u.Connected() {
			inst := u.Instance()
			if inst == "" {
				inst = s.instances[i%len(s.instances)]
			}
			if err := u.Connect(ctx, inst); err != nil {
				return fmt.Errorf("reconnecting %s after the workload: %w", u.Name(), err)
			}
			if _, err := x.ready(ctx, u); err != nil {
				return fmt.Errorf("reconnecting %s after the workload: %w", u.Name(), err)
			}
		}
	}
	return pollWith(ctx, s.settle, 250*time.Millisecond, func() (bool, string, error) {
		pending := 0
		for _, u := range users {
			for _, e := range u.Outbox() {
				if e.State == sandbox.OutPending {
					pending++
				}
			}
			if u.Connected() {
				_ = u.AckPending(ctx)
			}
		}
		var left []string
		for _, u := range users {
			msgs, err := x.c.Store().Undelivered(ctx, u.ID(), "", 5)
			if err != nil {
				return false, err.Error(), nil
			}
			for _, m := range msgs {
				if len(left) < 10 {
					left = append(left, m.ID+" to "+u.Name())
				}
			}
		}
		if pending == 0 && len(left) == 0 {
			return true, "", nil
		}
		return false, fmt.Sprintf("%d sends without MESSAGE_ACK; not DELIVERED: %s", pending, strings.Join(left, ", ")), nil
	})
}
