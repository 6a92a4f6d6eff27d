package auth

import (
	"context"
	"runtime"

	"github.com/dmchat/dmchat/core/gate"
)

// ErrBusy is returned when too many password checks are already waiting
// for the hashing bound: the caller should answer "try again shortly"
// (HTTP 429 with Retry-After) rather than queue more work. It is
// gate.ErrBusy.
var ErrBusy = gate.ErrBusy

// HashGate bounds the password hashing (bcrypt) running at once, so a
// storm of logins costs at most a fixed share of the CPU and a legitimate
// login waits behind a short queue instead of a pile.
type HashGate = gate.Gate

// NewHashGate returns a gate letting concurrency hashes run at once and
// queue more wait for a slot; beyond that, logins and registrations fail
// with ErrBusy at once. concurrency <= 0 means runtime.GOMAXPROCS(0);
// queue <= 0 means 8 × concurrency (about eight bcrypt times of waiting
// at most).
func NewHashGate(concurrency, queue int) *HashGate {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = 8 * concurrency
	}
	return gate.New(concurrency, queue)
}

// gate returns a.Gate, or the default gate made on first use.
func (a *Accounts) gate() *HashGate {
	a.gateOnce.Do(func() {
		if a.Gate == nil {
			a.Gate = NewHashGate(0, 0)
		}
	})
	return a.Gate
}

// hash is Hasher.Hash behind the gate.
func (a *Accounts) hash(ctx context.Context, password string) (hash []byte, err error) {
	if gerr := a.gate().Do(ctx, func() { hash, err = a.Hasher.Hash(password) }); gerr != nil {
		return nil, gerr
	}
	return hash, err
}

// check is Hasher.Check behind the gate.
func (a *Accounts) check(ctx context.Context, hash []byte, password string) (ok bool, err error) {
	err = a.gate().Do(ctx, func() { ok = a.Hasher.Check(hash, password) })
	return ok, err
}
