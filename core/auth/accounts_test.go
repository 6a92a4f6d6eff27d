package auth

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
	"golang.org/x/crypto/bcrypt"
)

// fakeUsers is an in-memory UserStore. failLookups makes UserByName fail
// like a database outage.
type fakeUsers struct {
	mu          sync.Mutex // guards all fields
	byName      map[string]chat.User
	nextID      int
	failLookups bool
}

var _ UserStore = (*fakeUsers)(nil)

func newFakeUsers() *fakeUsers { return &fakeUsers{byName: map[string]chat.User{}} }

func (f *fakeUsers) CreateUser(_ context.Context, username string, hash []byte, role chat.Role) (chat.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byName[username]; ok {
		return chat.User{}, store.ErrUsernameTaken
	}
	f.nextID++
	u := chat.User{ID: strconv.Itoa(f.nextID), Username: username, Role: role, PasswordHash: hash}
	f.byName[username] = u
	return u, nil
}

func (f *fakeUsers) UserByName(_ context.Context, username string) (chat.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failLookups {
		return chat.User{}, errors.New("fake: connection refused")
	}
	u, ok := f.byName[username]
	if !ok {
		return chat.User{}, store.ErrNotFound
	}
	return u, nil
}

func (f *fakeUsers) SetRoleAndPassword(_ context.Context, id string, role chat.Role, hash []byte) (chat.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, u := range f.byName {
		if u.ID == id {
			u.Role, u.PasswordHash = role, hash
			f.byName[name] = u
			return u, nil
		}
	}
	return chat.User{}, store.ErrNotFound
}

func (f *fakeUsers) SetBanned(_ context.Context, id string, banned bool) (chat.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, u := range f.byName {
		if u.ID == id {
			u.Banned = banned
			f.byName[name] = u
			return u, nil
		}
	}
	return chat.User{}, store.ErrNotFound
}

func setupAccounts(t *testing.T) (*Accounts, *fakeUsers) {
	t.Helper()
	users := newFakeUsers()
	return &Accounts{Store: users, Hasher: Hasher{Cost: bcrypt.MinCost}, Tokens: NewTokens(testSecret, 0)}, users
}

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, users := setupAccounts(t)

	u, err := a.Register(ctx, "alice", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.Role != chat.RoleUser || u.ID == "" {
		t.Fatalf("registered %+v", u)
	}
	if string(users.byName["alice"].PasswordHash) == "password-1" || !a.Hasher.Check(users.byName["alice"].PasswordHash, "password-1") {
		t.Fatal("stored hash does not verify the password")
	}

	got, token, exp, err := a.Login(ctx, "alice", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Tokens.Parse(token)
	if err != nil || c.UserID != u.ID || c.Role != chat.RoleUser || !c.ExpiresAt.Equal(exp) || got.ID != u.ID {
		t.Fatalf("login gave user %+v claims %+v exp %v err %v", got, c, exp, err)
	}

	if _, err := a.Register(ctx, "alice", "password-2"); !errors.Is(err, store.ErrUsernameTaken) {
		t.Fatalf("second register: %v", err)
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	a, users := setupAccounts(t)
	tests := []struct {
		user, pass string
		want       error
	}{
		{"ab", "password-1", ErrInvalidUsername},
		{"bad name", "password-1", ErrInvalidUsername},
		{"bob", "short", ErrInvalidPassword},
		{"bob", string(make([]byte, 129)), ErrInvalidPassword},
	}
	for _, tt := range tests {
		if _, err := a.Register(context.Background(), tt.user, tt.pass); !errors.Is(err, tt.want) {
			t.Errorf("Register(%q, %d chars) = %v, want %v", tt.user, len(tt.pass), err, tt.want)
		}
	}
	if len(users.byName) != 0 {
		t.Fatalf("invalid registrations stored users: %v", users.byName)
	}
}

func TestLoginBadCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := setupAccounts(t)
	if _, err := a.Register(ctx, "alice", "password-1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pass string }{
		{"alice", "password-2"}, {"alice", ""}, {"nobody", "password-1"}, {"", ""}, {"ALICE", "password-1"},
	} {
		u, token, exp, err := a.Login(ctx, c.user, c.pass)
		if !errors.Is(err, ErrBadCredentials) || err.Error() != ErrBadCredentials.Error() {
			t.Errorf("Login(%q) err = %v, want exactly ErrBadCredentials", c.user, err)
		}
		if token != "" || u.ID != "" || !exp.IsZero() {
			t.Errorf("Login(%q) returned a user or token with an error", c.user)
		}
	}
	if a.dummyHash == nil {
		t.Fatal("an unknown user did not spend a bcrypt compare")
	}
}

func TestLoginStoreFailureIsNotBadCredentials(t *testing.T) {
	t.Parallel()
	a, users := setupAccounts(t)
	users.failLookups = true
	_, _, _, err := a.Login(context.Background(), "alice", "password-1")
	if err == nil || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("store outage gave %v", err)
	}
}

func TestLoginUsesStoredRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := setupAccounts(t)
	if _, err := a.EnsureAdmin(ctx, "root", "admin-pass-1"); err != nil {
		t.Fatal(err)
	}
	_, token, _, err := a.Login(ctx, "root", "admin-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := a.Tokens.Parse(token); err != nil || c.Role != chat.RoleAdmin {
		t.Fatalf("admin token claims %+v %v", c, err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, users := setupAccounts(t)

	// Promote an existing user and replace the password.
	bob, err := a.Register(ctx, "bob", "bob-password")
	if err != nil {
		t.Fatal(err)
	}
	promoted, err := a.EnsureAdmin(ctx, "bob", "new-admin-pass")
	if err != nil {
		t.Fatal(err)
	}
	if promoted.ID != bob.ID || promoted.Role != chat.RoleAdmin {
		t.Fatalf("promoted %+v", promoted)
	}
	if _, _, _, err := a.Login(ctx, "bob", "bob-password"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, _, _, err := a.Login(ctx, "bob", "new-admin-pass"); err != nil {
		t.Fatalf("new password: %v", err)
	}

	// Create a new admin, then run again: idempotent, same id.
	first, err := a.EnsureAdmin(ctx, "root", "admin-pass-1")
	if err != nil || first.Role != chat.RoleAdmin {
		t.Fatalf("create admin: %+v %v", first, err)
	}
	again, err := a.EnsureAdmin(ctx, "root", "admin-pass-1")
	if err != nil || again.ID != first.ID {
		t.Fatalf("second EnsureAdmin: %+v %v", again, err)
	}
	if len(users.byName) != 2 {
		t.Fatalf("users %v", users.byName)
	}

	if _, err := a.EnsureAdmin(ctx, "x", "admin-pass-1"); !errors.Is(err, ErrInvalidUsername) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := a.EnsureAdmin(ctx, "root", "short"); !errors.Is(err, ErrInvalidPassword) {
		t.Fatalf("bad password: %v", err)
	}
	users.failLookups = true
	if _, err := a.EnsureAdmin(ctx, "root", "admin-pass-1"); err == nil {
		t.Fatal("store outage ignored")
	}
}

func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := setupAccounts(t)
	if _, err := a.Register(ctx, "alice", "password-1"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			pass, user := "password-1", "alice"
			if i%2 == 1 {
				user = "ghost" + strconv.Itoa(i)
			}
			_, _, _, err := a.Login(ctx, user, pass)
			if (i%2 == 0) != (err == nil) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected login outcome: %v", err)
	}
}
