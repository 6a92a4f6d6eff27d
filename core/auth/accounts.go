package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// UserStore is the slice of store.Store that accounts need.
type UserStore interface {
	CreateUser(ctx context.Context, username string, passwordHash []byte, role chat.Role) (chat.User, error)
	UserByName(ctx context.Context, username string) (chat.User, error)
	SetRoleAndPassword(ctx context.Context, id string, role chat.Role, passwordHash []byte) (chat.User, error)
	SetBanned(ctx context.Context, id string, banned bool) (chat.User, error)
}

var _ UserStore = store.Store(nil)

// Accounts registers users, logs them in and bootstraps admins. Set the
// fields before first use and do not copy it afterwards; its methods are
// safe for concurrent use.
type Accounts struct {
	// Store holds the users.
	Store UserStore
	// Hasher hashes passwords; the zero value uses bcrypt.DefaultCost.
	Hasher Hasher
	// Tokens issues the login tokens.
	Tokens *Tokens

	dummyOnce sync.Once
	dummyHash []byte // a hash to compare against for unknown users
	dummyErr  error
}

// Register creates a user with role user. It returns ErrInvalidUsername or
// ErrInvalidPassword for values outside the rules, and wraps the store's
// errors (store.ErrUsernameTaken for a name in use).
func (a *Accounts) Register(ctx context.Context, username, password string) (chat.User, error) {
	if !ValidUsername(username) {
		return chat.User{}, ErrInvalidUsername
	}
	if !ValidPassword(password) {
		return chat.User{}, ErrInvalidPassword
	}
	hash, err := a.Hasher.Hash(password)
	if err != nil {
		return chat.User{}, err
	}
	u, err := a.Store.CreateUser(ctx, username, hash, chat.RoleUser)
	if err != nil {
		return chat.User{}, fmt.Errorf("auth: failed to register user: %w", err)
	}
	return u, nil
}

// Login checks a username and password and issues a token carrying the
// user's stored role. An unknown user and a wrong password both give
// ErrBadCredentials, after the same bcrypt work, so neither the answer nor
// its timing reveals which names exist. A banned user can log in (the
// caller shows them they are banned); store failures are returned wrapped.
func (a *Accounts) Login(ctx context.Context, username, password string) (chat.User, string, time.Time, error) {
	u, err := a.Store.UserByName(ctx, username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.spendCompare(password)
		return chat.User{}, "", time.Time{}, ErrBadCredentials
	case err != nil:
		return chat.User{}, "", time.Time{}, fmt.Errorf("auth: failed to look up user: %w", err)
	}
	if !a.Hasher.Check(u.PasswordHash, password) {
		return chat.User{}, "", time.Time{}, ErrBadCredentials
	}
	role := u.Role
	if !role.Valid() {
		role = chat.RoleUser
	}
	token, exp, err := a.Tokens.Issue(u.ID, role)
	if err != nil {
		return chat.User{}, "", time.Time{}, err
	}
	return u, token, exp, nil
}

// spendCompare does the bcrypt work of a real check against a hash of the
// Hasher's cost, so an unknown name costs what a wrong password costs.
func (a *Accounts) spendCompare(password string) {
	a.dummyOnce.Do(func() {
		var random [32]byte
		_, _ = rand.Read(random[:]) // never fails (crypto/rand docs)
		a.dummyHash, a.dummyErr = a.Hasher.Hash(string(random[:]))
	})
	if a.dummyErr == nil {
		a.Hasher.Check(a.dummyHash, password)
	}
}

// EnsureAdmin makes username an admin with password: it creates the user, or
// promotes an existing one, replaces its password and lifts its ban (the
// way back in when the last admin was banned). It is what ADMIN_BOOTSTRAP
// and `server users add --admin` do, and is idempotent. The name is
// matched in any case; the stored spelling is kept.
func (a *Accounts) EnsureAdmin(ctx context.Context, username, password string) (chat.User, error) {
	if !ValidUsername(username) {
		return chat.User{}, ErrInvalidUsername
	}
	if !ValidPassword(password) {
		return chat.User{}, ErrInvalidPassword
	}
	hash, err := a.Hasher.Hash(password)
	if err != nil {
		return chat.User{}, err
	}
	// Two tries: a concurrent creation of the same name between the lookup
	// and the insert makes the second lookup find it.
	for range 2 {
		u, err := a.Store.UserByName(ctx, username)
		if err == nil {
			u, err = a.Store.SetRoleAndPassword(ctx, u.ID, chat.RoleAdmin, hash)
			if err != nil {
				return chat.User{}, fmt.Errorf("auth: failed to promote admin: %w", err)
			}
			if u.Banned {
				if u, err = a.Store.SetBanned(ctx, u.ID, false); err != nil {
					return chat.User{}, fmt.Errorf("auth: failed to lift the admin's ban: %w", err)
				}
			}
			return u, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return chat.User{}, fmt.Errorf("auth: failed to look up admin: %w", err)
		}
		u, err = a.Store.CreateUser(ctx, username, hash, chat.RoleAdmin)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrUsernameTaken) {
			return chat.User{}, fmt.Errorf("auth: failed to create admin: %w", err)
		}
	}
	return chat.User{}, fmt.Errorf("auth: failed to create admin: %w", store.ErrUsernameTaken)
}
