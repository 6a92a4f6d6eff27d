package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
	"golang.org/x/crypto/bcrypt"
)

// setupMemoryAccounts is Accounts on a real (memory) store.
func setupMemoryAccounts(t *testing.T) (*Accounts, *store.Memory) {
	t.Helper()
	st := store.NewMemory()
	t.Cleanup(func() { _ = st.Close() })
	return &Accounts{Store: st, Hasher: Hasher{Cost: bcrypt.MinCost}, Tokens: NewTokens(testSecret, 0)}, st
}

// TestEnsureAdminLiftsBan: the bootstrap is the way back in when the last
// admin was banned, so it clears the ban along with the role and password.
func TestEnsureAdminLiftsBan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, st := setupMemoryAccounts(t)
	root, err := a.EnsureAdmin(ctx, "root", "admin-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetBanned(ctx, root.ID, true); err != nil {
		t.Fatal(err)
	}
	again, err := a.EnsureAdmin(ctx, "root", "admin-pass-2")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.UserByID(ctx, root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Banned || stored.Banned || stored.Role != chat.RoleAdmin {
		t.Fatalf("after EnsureAdmin: returned %+v, stored %+v; want an unbanned admin", again, stored)
	}
}

// TestUsernamesIgnoreCaseInAccounts: Alice and alice are one name for
// registration, login and the admin bootstrap, and the registered spelling
// is what is shown.
func TestUsernamesIgnoreCaseInAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := setupMemoryAccounts(t)
	alice, err := a.Register(ctx, "Alice", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Register(ctx, "alice", "password-2"); !errors.Is(err, store.ErrUsernameTaken) {
		t.Fatalf("Register(alice) with Alice taken: %v", err)
	}
	for _, name := range []string{"ALICE", "alice", "Alice"} {
		u, _, _, err := a.Login(ctx, name, "password-1")
		if err != nil || u.ID != alice.ID || u.Username != "Alice" {
			t.Fatalf("Login(%s) = %+v, %v; want Alice", name, u, err)
		}
	}
	admin, err := a.EnsureAdmin(ctx, "aLiCe", "admin-pass-1")
	if err != nil || admin.ID != alice.ID || admin.Username != "Alice" || admin.Role != chat.RoleAdmin {
		t.Fatalf("EnsureAdmin(aLiCe) = %+v, %v; want Alice promoted, not a second account", admin, err)
	}
}
