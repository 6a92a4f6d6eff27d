package node_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// attachBanned attaches u, requiring node.ErrBanned, and checks the socket
// gets ERROR BANNED as its only frame (no replay) then close 4003.
func attachBanned(t *testing.T, e *env, u chat.User) {
	t.Helper()
	conn := newFakeConn()
	s, err := e.n.Attach(t.Context(), u, time.Time{}, conn)
	if !errors.Is(err, node.ErrBanned) {
		t.Fatalf("Attach of banned %s: err %v, want ErrBanned", u.Username, err)
	}
	p := &peer{user: u, s: s, conn: conn}
	p.expectError(t, chat.CodeBanned)
	p.expectClose(t, chat.CloseBanned)
	if e.n.Hub().Online(u.ID) {
		t.Fatalf("banned %s is registered", u.Username)
	}
}

// TestAttachBannedUser checks that a user banned in the store is refused
// on Attach with ERROR BANNED, close 4003 and ErrBanned, and is not
// replayed the messages waiting for them.
func TestAttachBannedUser(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a := e.connect(t, alice)
	a.do(sendJSON("c1", bob.ID, "pending"))
	a.expect(t, chat.TypeMessageAck)

	bob, err := e.st.SetBanned(t.Context(), bob.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	attachBanned(t, e, bob)
}

// TestBanKicksConnectedUser checks that Node.Ban stores the ban, kicks
// every socket of the user with ERROR BANNED then 4003, leaves other users
// connected, delivers nothing more to the banned user, and refuses their
// next Attach even with a stale (unbanned) user record; Unban lets them
// back in.
func TestBanKicksConnectedUser(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	a, b1, b2 := e.connect(t, alice), e.connect(t, bob), e.connect(t, bob)

	u, err := e.n.Ban(t.Context(), bob.ID)
	if err != nil || !u.Banned {
		t.Fatalf("Ban: %+v, %v", u, err)
	}
	for _, b := range []*peer{b1, b2} {
		b.expectError(t, chat.CodeBanned)
		b.expectClose(t, chat.CloseBanned)
	}
	if ids, _ := e.st.BannedUserIDs(t.Context()); len(ids) != 1 || ids[0] != bob.ID {
		t.Fatalf("banned ids %v, want [%s]", ids, bob.ID)
	}
	if e.n.Hub().Online(bob.ID) || !e.n.Hub().Online(alice.ID) {
		t.Fatal("the ban must remove bob's sockets and only his")
	}

	// Frames bob's read loop still hands over are void.
	b1.do(sendJSON("late", alice.ID, "after the ban"))
	if rows := e.stored(t, alice, bob); len(rows) != 0 {
		t.Fatalf("a banned user's frame stored %d rows", len(rows))
	}

	a.do(sendJSON("c1", bob.ID, "are you there?"))
	a.expect(t, chat.TypeMessageAck)

	attachBanned(t, e, bob) // bob as read before the ban: Banned false

	if _, err := e.n.Unban(t.Context(), bob.ID); err != nil {
		t.Fatal(err)
	}
	bob, _ = e.st.UserByID(t.Context(), bob.ID)
	b3 := e.attach(t, bob)
	b3.expect(t, chat.TypeMessage) // the message sent during the ban
	b3.expectReplayDone(t, 1)
}

// TestBanUnknownUser checks that banning an id that is no user fails with
// store.ErrNotFound.
func TestBanUnknownUser(t *testing.T) {
	e := newEnv(t, node.Options{})
	if _, err := e.n.Ban(t.Context(), "u0000000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Ban of unknown user: %v, want store.ErrNotFound", err)
	}
}

// TestStartLoadsBans checks that a node started on a store with a banned
// user refuses that user even when the caller's record says not banned.
func TestStartLoadsBans(t *testing.T) {
	st := store.NewMemory()
	u, err := st.CreateUser(t.Context(), "mallory", []byte("h"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetBanned(t.Context(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st, node.Options{})
	attachBanned(t, e, u) // u.Banned is false: stale
}

// TestUsersReportsPresence checks that Node.Users lists every user with
// Online and this instance for those with a socket here.
func TestUsersReportsPresence(t *testing.T) {
	e := newEnv(t, node.Options{InstanceID: "i1"})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	e.connect(t, alice)
	users, err := e.n.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].ID != alice.ID || users[1].ID != bob.ID {
		t.Fatalf("users %+v, want alice and bob", users)
	}
	if !users[0].Online || len(users[0].Instances) != 1 || users[0].Instances[0] != "i1" {
		t.Fatalf("alice %+v, want online on i1", users[0])
	}
	if users[1].Online || len(users[1].Instances) != 0 {
		t.Fatalf("bob %+v, want offline", users[1])
	}
}
