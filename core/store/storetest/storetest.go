// Package storetest is the conformance suite every store.Store
// implementation must pass. Each backend's tests call Run with a function
// that opens a fresh, empty store:
//
//	func TestMemory(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
//	}
//
// The suite covers every method and error of the interface, idempotent
// retries, the exactly-once guarantees under concurrency, paging and Close.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// OpenFunc opens a fresh, empty store for one test. It should register the
// store's Close with t.Cleanup; Close is idempotent, so the suite may also
// close it.
type OpenFunc func(t *testing.T) store.Store

// Run runs the whole suite, each case on its own store and in parallel.
func Run(t *testing.T, open OpenFunc) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateUser", testCreateUser},
		{"UserLookups", testUserLookups},
		{"ListUsers", testListUsers},
		{"UsernamesIgnoreCase", testUsernamesIgnoreCase},
		{"SearchUsers", testSearchUsers},
		{"SearchUsersLiteral", testSearchUsersLiteral},
		{"RevokeToken", testRevokeToken},
		{"RevokePurgesExpired", testRevokePurgesExpired},
		{"SetBanned", testSetBanned},
		{"SetRoleAndPassword", testSetRoleAndPassword},
		{"SaveMessage", testSaveMessage},
		{"SaveMessageRetry", testSaveMessageRetry},
		{"SaveMessageUnknownUser", testSaveMessageUnknownUser},
		{"SaveMessageCanceled", testSaveMessageCanceled},
		{"MessageByID", testMessageByID},
		{"MarkDelivered", testMarkDelivered},
		{"MarkDeliveredErrors", testMarkDeliveredErrors},
		{"Undelivered", testUndelivered},
		{"Conversation", testConversation},
		{"Limits", testLimits},
		{"ConcurrentMarkDelivered", testConcurrentMarkDelivered},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"ConcurrentDistinct", testConcurrentDistinct},
		{"Ping", testPing},
		{"Close", testClose},
		{"CloseWhileWriting", testCloseWhileWriting},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			c.fn(t, s)
		})
	}
}

// OpenPairFunc opens two stores on one fresh database, as two processes
// would. Both should be closed by t.Cleanup.
type OpenPairFunc func(t *testing.T) (store.Store, store.Store)

// RunShared checks that two stores sharing one database (two processes on
// one SQLite file, two instances on one PostgreSQL database) keep the
// guarantees: concurrent writes through both succeed, a (sender,
// clientMessageId) pair gets one row whichever store saves it, a message is
// marked delivered once, and each store sees the other's writes.
func RunShared(t *testing.T, open OpenPairFunc) {
	t.Helper()
	t.Run("Shared", func(t *testing.T) {
		s1, s2 := open(t)
		testShared(t, s1, s2)
	})
}

func testShared(t *testing.T, s1, s2 store.Store) {
	c := ctx(t)
	a := mkUser(t, s1, "alice")
	b := mkUser(t, s2, "bob")
	for _, name := range []string{"bob", "BOB"} {
		if _, err := s1.CreateUser(c, name, []byte("h"), chat.RoleUser); !errors.Is(err, store.ErrUsernameTaken) {
			t.Fatalf("CreateUser(%q) with bob taken through the other store: %v", name, err)
		}
	}
	if err := s2.RevokeToken(c, "jti-shared", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if revoked, err := s1.TokenRevoked(c, "jti-shared"); err != nil || !revoked {
		t.Fatalf("token revoked through the other store: revoked %v, %v", revoked, err)
	}
	if got, err := s1.RevokedSince(c, time.Now().Add(-time.Minute)); err != nil || fmt.Sprint(got) != "[jti-shared]" {
		t.Fatalf("RevokedSince through the other store = %v, %v", got, err)
	}
	if u, err := s1.UserByID(c, b.ID); err != nil || u.Username != "bob" {
		t.Fatalf("user created through the other store: %+v, %v", u, err)
	}
	const workers, each, shared = 8, 40, 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		idOf    = map[string]string{} // clientMessageId -> id
		changes = map[string]int{}    // id -> MarkDelivered calls that changed it
	)
	record := func(cmid, id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			errs = append(errs, err)
		case idOf[cmid] != "" && idOf[cmid] != id:
			errs = append(errs, fmt.Errorf("%s stored as %s and %s", cmid, idOf[cmid], id))
		default:
			idOf[cmid] = id
		}
	}
	for w := range workers {
		s := []store.Store{s1, s2}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				cmid := fmt.Sprintf("w%d-%d", w, i)
				if i < shared { // the same keys through both stores at once
					cmid = fmt.Sprintf("shared-%d", i)
				}
				m, _, err := s.SaveMessage(context.Background(), store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: cmid, Content: cmid})
				record(cmid, m.ID, err)
				if err != nil {
					continue
				}
				if i < shared || i%3 == 0 { // shared ones are acked by every worker
					d, changed, err := s.MarkDelivered(context.Background(), m.ID, b.ID)
					record(cmid, d.ID, err)
					if err == nil && !d.Delivered() {
						record(cmid, d.ID, fmt.Errorf("MarkDelivered(%s) returned an undelivered row", m.ID))
					}
					if changed {
						mu.Lock()
						changes[m.ID]++
						mu.Unlock()
					}
				}
				if _, err := s.UserByID(context.Background(), a.ID); err != nil {
					record(cmid, m.ID, err)
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	want := workers*(each-shared) + shared
	if len(idOf) != want {
		t.Fatalf("%d distinct messages, want %d", len(idOf), want)
	}
	for id, n := range changes {
		if n != 1 {
			t.Fatalf("message %s marked delivered by %d calls", id, n)
		}
	}
	for _, s := range []store.Store{s1, s2} {
		conv, err := s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, Limit: 1000})
		if err != nil || len(conv) != want {
			t.Fatalf("conversation holds %d rows (%v), want %d", len(conv), err, want)
		}
		for _, m := range conv {
			if idOf[m.ClientMessageID] != m.ID || m.Content != m.ClientMessageID {
				t.Fatalf("row %+v; callers were told id %s", m, idOf[m.ClientMessageID])
			}
		}
	}
}

// ctx returns a context that ends with the test (or after a minute).
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// mkUser creates a user or fails the test.
func mkUser(t *testing.T, s store.Store, name string) chat.User {
	t.Helper()
	u, err := s.CreateUser(ctx(t), name, []byte("hash-of-"+name), chat.RoleUser)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

// send saves a message or fails the test.
func send(t *testing.T, s store.Store, from, to chat.User, cmid, content string) chat.Message {
	t.Helper()
	m, created, err := s.SaveMessage(ctx(t), store.NewMessage{SenderID: from.ID, RecipientID: to.ID, ClientMessageID: cmid, Content: content})
	if err != nil {
		t.Fatalf("SaveMessage(%s): %v", cmid, err)
	}
	if !created {
		t.Fatalf("SaveMessage(%s): created = false for a new message", cmid)
	}
	return m
}

// idNum parses a message id, failing the test if it is not a decimal integer.
func idNum(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		t.Fatalf("message id %q is not a positive decimal integer", id)
	}
	return n
}

// ids lists the ids of msgs.
func ids(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// sameIDs fails the test unless got lists exactly want, in order.
func sameIDs(t *testing.T, what string, got []chat.Message, want ...chat.Message) {
	t.Helper()
	g, w := ids(got), ids(want)
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("%s: got ids %v, want %v", what, g, w)
	}
}

// sameMessage fails the test unless a and b are the same stored row.
func sameMessage(t *testing.T, what string, got, want chat.Message) {
	t.Helper()
	if got.ID != want.ID || got.SenderID != want.SenderID || got.RecipientID != want.RecipientID ||
		got.ClientMessageID != want.ClientMessageID || got.Content != want.Content ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.DeliveredAt.Equal(want.DeliveredAt) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

// sameUser fails the test unless got and want hold the same fields.
func sameUser(t *testing.T, what string, got, want chat.User) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.Role != want.Role || got.Banned != want.Banned ||
		!bytes.Equal(got.PasswordHash, want.PasswordHash) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

// recent fails the test unless ts is a UTC time within the last minute.
func recent(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if ts.Location() != time.UTC {
		t.Fatalf("%s: %v is not in UTC", what, ts)
	}
	if d := time.Since(ts); d < -time.Second || d > time.Minute {
		t.Fatalf("%s: %v is not now (off by %v)", what, ts, d)
	}
}

var userIDPattern = regexp.MustCompile(`^u[0-9a-f]{16}$`)

func testCreateUser(t *testing.T, s store.Store) {
	c := ctx(t)
	hash := []byte("$argon2id$hash")
	u, err := s.CreateUser(c, "alice", hash, chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if !userIDPattern.MatchString(u.ID) || u.Username != "alice" || u.Role != chat.RoleUser || u.Banned ||
		!bytes.Equal(u.PasswordHash, hash) {
		t.Fatalf("CreateUser returned %+v", u)
	}
	recent(t, "CreatedAt", u.CreatedAt)
	hash[0] = 'X' // the store must have kept its own copy
	u.PasswordHash[1] = 'Y'
	got, err := s.UserByID(c, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.PasswordHash) != "$argon2id$hash" {
		t.Fatalf("stored hash changed through a caller's slice: %q", got.PasswordHash)
	}

	admin, err := s.CreateUser(c, "root", []byte("h"), chat.RoleAdmin)
	if err != nil || admin.Role != chat.RoleAdmin || admin.ID == u.ID {
		t.Fatalf("CreateUser(admin) = %+v, %v", admin, err)
	}
	if _, err := s.CreateUser(c, "alice", []byte("other"), chat.RoleAdmin); !errors.Is(err, store.ErrUsernameTaken) {
		t.Fatalf("CreateUser(taken name) error = %v, want ErrUsernameTaken", err)
	}
	if _, err := s.CreateUser(c, "carol", []byte("h"), chat.Role("god")); err == nil {
		t.Fatal("CreateUser with an invalid role succeeded")
	}
	if _, err := s.UserByName(c, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user with invalid role was stored: %v", err)
	}
}

func testUserLookups(t *testing.T, s store.Store) {
	c := ctx(t)
	u := mkUser(t, s, "alice")
	mkUser(t, s, "bob")
	byID, err := s.UserByID(c, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "UserByID", byID, u)
	byName, err := s.UserByName(c, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "UserByName", byName, u)
	for _, id := range []string{"", "u0000000000000000", "alice", u.ID + "x"} {
		if _, err := s.UserByID(c, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByID(%q) error = %v, want ErrNotFound", id, err)
		}
	}
	for _, name := range []string{"Alice", "ALICE", "aLiCe"} {
		got, err := s.UserByName(c, name)
		if err != nil {
			t.Fatalf("UserByName(%q): %v; want alice, names are found in any case", name, err)
		}
		sameUser(t, "UserByName in another case", got, u)
	}
	for _, name := range []string{"", "alice ", "alic", "alicee", u.ID} {
		if _, err := s.UserByName(c, name); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByName(%q) error = %v, want ErrNotFound", name, err)
		}
	}
}

func testListUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	empty, err := s.ListUsers(c)
	if err != nil || len(empty) != 0 {
		t.Fatalf("ListUsers on an empty store = %v, %v", empty, err)
	}
	names := []string{"mallory", "bob", "Zed", "alice", "bob2", "_x"}
	byName := map[string]chat.User{}
	for _, n := range names {
		byName[n] = mkUser(t, s, n)
	}
	list, err := s.ListUsers(c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range list {
		got = append(got, u.Username)
		sameUser(t, "ListUsers entry", u, byName[u.Username])
	}
	// Byte order, as the interface promises "ordered by username".
	want := []string{"Zed", "_x", "alice", "bob", "bob2", "mallory"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ListUsers order = %v, want %v", got, want)
	}
}

func testUsernamesIgnoreCase(t *testing.T, s store.Store) {
	c := ctx(t)
	u := mkUser(t, s, "Alice")
	if u.Username != "Alice" {
		t.Fatalf("CreateUser(Alice) stored the name as %q; the case given is kept", u.Username)
	}
	for _, name := range []string{"alice", "ALICE", "Alice", "aLICE"} {
		if _, err := s.CreateUser(c, name, []byte("h"), chat.RoleUser); !errors.Is(err, store.ErrUsernameTaken) {
			t.Fatalf("CreateUser(%q) with Alice taken: %v, want ErrUsernameTaken", name, err)
		}
	}
	got, err := s.UserByName(c, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "UserByName(alice)", got, u)
	list, err := s.ListUsers(c)
	if err != nil || len(list) != 1 || list[0].Username != "Alice" {
		t.Fatalf("ListUsers = %+v, %v; want only Alice, as registered", list, err)
	}
	// Folding is ASCII only: the stores agree on exactly which names collide.
	other := mkUser(t, s, "alice2")
	if other.ID == u.ID {
		t.Fatal("alice2 got Alice's id")
	}
}

// usernames lists the usernames of users.
func usernames(users []chat.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Username
	}
	return out
}

func testSearchUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	byName := map[string]chat.User{}
	for _, n := range []string{"bob", "Alice", "alfred", "ALBERT", "al.x", "carol", "Bobby", "zed"} {
		byName[n] = mkUser(t, s, n)
	}
	for _, tt := range []struct {
		prefix string
		limit  int
		want   string
	}{
		{"al", 10, "[al.x ALBERT alfred Alice]"},
		{"AL", 10, "[al.x ALBERT alfred Alice]"},
		{"aLi", 10, "[Alice]"},
		{"al", 2, "[al.x ALBERT]"},
		{"", 3, "[al.x ALBERT alfred]"},
		{"", 50, "[al.x ALBERT alfred Alice bob Bobby carol zed]"},
		{"bob", 10, "[bob Bobby]"},
		{"bobby", 10, "[Bobby]"},
		{"bobbyx", 10, "[]"},
		{"y", 10, "[]"},
		{"zed", 1, "[zed]"},
	} {
		got, err := s.SearchUsers(c, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q, %d): %v", tt.prefix, tt.limit, err)
		}
		if g := fmt.Sprint(usernames(got)); g != tt.want {
			t.Fatalf("SearchUsers(%q, %d) = %s, want %s", tt.prefix, tt.limit, g, tt.want)
		}
		for _, u := range got {
			sameUser(t, "SearchUsers entry", u, byName[u.Username])
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.SearchUsers(c, "a", limit); err == nil {
			t.Fatalf("SearchUsers with limit %d succeeded", limit)
		}
	}
}

func testSearchUsersLiteral(t *testing.T, s store.Store) {
	c := ctx(t)
	// LIKE's wildcards and its escape character must match only themselves.
	for _, n := range []string{"a_b", "axb", "a%c", "abc", `a\d`, "aed", "a"} {
		mkUser(t, s, n)
	}
	for _, tt := range []struct{ prefix, want string }{
		{"a_", "[a_b]"},
		{"A_B", "[a_b]"},
		{"a%", "[a%c]"},
		{"%", "[]"},
		{"_", "[]"},
		{`a\`, `[a\d]`},
		{`a\%`, "[]"},
		{"a", `[a a%c a\d a_b abc aed axb]`},
	} {
		got, err := s.SearchUsers(c, tt.prefix, 20)
		if err != nil {
			t.Fatalf("SearchUsers(%q): %v", tt.prefix, err)
		}
		if g := fmt.Sprint(usernames(got)); g != tt.want {
			t.Fatalf("SearchUsers(%q) = %s, want %s", tt.prefix, g, tt.want)
		}
	}
}

func testRevokeToken(t *testing.T, s store.Store) {
	c := ctx(t)
	before := time.Now().Add(-time.Second)
	if revoked, err := s.TokenRevoked(c, "j1"); err != nil || revoked {
		t.Fatalf("TokenRevoked before any revocation = %v, %v", revoked, err)
	}
	exp := time.Now().Add(time.Hour)
	for _, id := range []string{"j1", "j2", "j1"} { // j1 twice: idempotent
		if err := s.RevokeToken(c, id, exp); err != nil {
			t.Fatalf("RevokeToken(%s): %v", id, err)
		}
	}
	for id, want := range map[string]bool{"j1": true, "j2": true, "j3": false, "": false, "J1": false} {
		if revoked, err := s.TokenRevoked(c, id); err != nil || revoked != want {
			t.Fatalf("TokenRevoked(%q) = %v, %v; want %v", id, revoked, err, want)
		}
	}
	got, err := s.RevokedSince(c, before)
	if err != nil || fmt.Sprint(got) != "[j1 j2]" {
		t.Fatalf("RevokedSince(before) = %v, %v; want [j1 j2] (oldest first, once each)", got, err)
	}
	later, err := s.RevokedSince(c, time.Now().Add(time.Second))
	if err != nil || len(later) != 0 {
		t.Fatalf("RevokedSince(future) = %v, %v; want none", later, err)
	}
}

func testRevokePurgesExpired(t *testing.T, s store.Store) {
	c := ctx(t)
	if err := s.RevokeToken(c, "long-expired", time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(c, "just-expired", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(c, "live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A token past its expiry by more than the grace minute can no longer be
	// presented anywhere, so its record is dropped; a recent one is kept.
	for id, want := range map[string]bool{"long-expired": false, "just-expired": true, "live": true} {
		if revoked, err := s.TokenRevoked(c, id); err != nil || revoked != want {
			t.Fatalf("TokenRevoked(%q) = %v, %v; want %v", id, revoked, err, want)
		}
	}
}

func testSetBanned(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b, d := mkUser(t, s, "alice"), mkUser(t, s, "bob"), mkUser(t, s, "dave")
	if got, err := s.BannedUserIDs(c); err != nil || len(got) != 0 {
		t.Fatalf("BannedUserIDs = %v, %v; want none", got, err)
	}
	u, err := s.SetBanned(c, b.ID, true)
	if err != nil || !u.Banned || u.ID != b.ID || u.Username != "bob" {
		t.Fatalf("SetBanned(true) = %+v, %v", u, err)
	}
	if _, err := s.SetBanned(c, d.ID, true); err != nil {
		t.Fatal(err)
	}
	if again, err := s.SetBanned(c, d.ID, true); err != nil || !again.Banned {
		t.Fatalf("SetBanned twice = %+v, %v", again, err)
	}
	got, err := s.UserByID(c, b.ID)
	if err != nil || !got.Banned {
		t.Fatalf("UserByID after ban = %+v, %v", got, err)
	}
	banned, err := s.BannedUserIDs(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(banned) != 2 || !(banned[0] == b.ID && banned[1] == d.ID || banned[0] == d.ID && banned[1] == b.ID) {
		t.Fatalf("BannedUserIDs = %v, want %s and %s", banned, b.ID, d.ID)
	}
	if u, err := s.SetBanned(c, b.ID, false); err != nil || u.Banned {
		t.Fatalf("SetBanned(false) = %+v, %v", u, err)
	}
	if banned, _ := s.BannedUserIDs(c); len(banned) != 1 || banned[0] != d.ID {
		t.Fatalf("BannedUserIDs after unban = %v, want [%s]", banned, d.ID)
	}
	if got, _ := s.UserByName(c, "alice"); got.Banned || got.ID != a.ID {
		t.Fatalf("an unrelated user changed: %+v", got)
	}
	if _, err := s.SetBanned(c, "u0000000000000000", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetBanned(unknown) error = %v, want ErrNotFound", err)
	}
}

func testSetRoleAndPassword(t *testing.T, s store.Store) {
	c := ctx(t)
	a := mkUser(t, s, "alice")
	u, err := s.SetRoleAndPassword(c, a.ID, chat.RoleAdmin, []byte("new-hash"))
	if err != nil || u.Role != chat.RoleAdmin || string(u.PasswordHash) != "new-hash" || u.ID != a.ID || u.Username != "alice" {
		t.Fatalf("SetRoleAndPassword = %+v, %v", u, err)
	}
	if !u.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("CreatedAt changed: %v -> %v", a.CreatedAt, u.CreatedAt)
	}
	got, err := s.UserByName(c, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "after SetRoleAndPassword", got, u)
	if _, err := s.SetRoleAndPassword(c, "u0000000000000000", chat.RoleAdmin, []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetRoleAndPassword(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.SetRoleAndPassword(c, a.ID, chat.Role(""), []byte("x")); err == nil {
		t.Fatal("SetRoleAndPassword with an invalid role succeeded")
	}
}

func testSaveMessage(t *testing.T, s store.Store) {
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	content := "héllo, wörld \U0001F600 'quotes' \"double\" ; DROP TABLE messages; --"
	m := send(t, s, a, b, "c-1", content)
	if m.SenderID != a.ID || m.RecipientID != b.ID || m.ClientMessageID != "c-1" || m.Content != content || m.Delivered() {
		t.Fatalf("SaveMessage returned %+v", m)
	}
	recent(t, "CreatedAt", m.CreatedAt)
	first := idNum(t, m.ID)
	// Ids grow with insertion order, whoever sends.
	prev := first
	for i := range 5 {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		n := send(t, s, from, to, fmt.Sprintf("c-%d", i+2), "x")
		if id := idNum(t, n.ID); id <= prev {
			t.Fatalf("id %d after %d: ids must increase", id, prev)
		} else {
			prev = id
		}
		if n.CreatedAt.Before(m.CreatedAt) {
			t.Fatalf("CreatedAt went back: %v then %v", m.CreatedAt, n.CreatedAt)
		}
	}
	// The same client id from another sender is another message.
	other := send(t, s, b, a, "c-1", "from bob")
	if other.ID == m.ID {
		t.Fatal("same clientMessageId from two senders got one id")
	}
	// U+0000 is valid UTF-8, so valid in a message and its client id.
	nul := send(t, s, a, b, "nul\x00id", "a\x00b")
	if got, err := s.MessageByID(ctx(t), nul.ID); err != nil || got.Content != "a\x00b" || got.ClientMessageID != "nul\x00id" {
		t.Fatalf("message with NUL bytes read back as %+v, %v", got, err)
	}
	big := string(bytes.Repeat([]byte("é"), chat.MaxContentBytes/2))
	long := send(t, s, a, b, string(bytes.Repeat([]byte("k"), chat.MaxClientMessageIDLen)), big)
	got, err := s.MessageByID(ctx(t), long.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameMessage(t, "4096-byte message read back", got, long)
}

func testSaveMessageRetry(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b, d := mkUser(t, s, "alice"), mkUser(t, s, "bob"), mkUser(t, s, "dave")
	m := send(t, s, a, b, "retry-me", "original")
	send(t, s, a, b, "between", "x")
	for i, nm := range []store.NewMessage{
		{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "retry-me", Content: "original"},
		{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "retry-me", Content: "changed content"},
		{SenderID: a.ID, RecipientID: d.ID, ClientMessageID: "retry-me", Content: "other recipient"},
	} {
		again, created, err := s.SaveMessage(c, nm)
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if created {
			t.Fatalf("retry %d: created = true", i)
		}
		sameMessage(t, fmt.Sprintf("retry %d", i), again, m)
	}
	// A retry after delivery returns the row as it now is.
	dm, changed, err := s.MarkDelivered(c, m.ID, b.ID)
	if err != nil || !changed {
		t.Fatalf("MarkDelivered = %v, %v", changed, err)
	}
	again, created, err := s.SaveMessage(c, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "retry-me", Content: "x"})
	if err != nil || created {
		t.Fatalf("retry after delivery: created=%v err=%v", created, err)
	}
	sameMessage(t, "retry after delivery", again, dm)
	conv, err := s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, Limit: 100})
	if err != nil || len(conv) != 2 {
		t.Fatalf("retries stored rows: conversation has %d messages (%v), want 2", len(conv), err)
	}
}

func testSaveMessageUnknownUser(t *testing.T, s store.Store) {
	c := ctx(t)
	a := mkUser(t, s, "alice")
	for _, nm := range []store.NewMessage{
		{SenderID: a.ID, RecipientID: "u0000000000000000", ClientMessageID: "x", Content: "hi"},
		{SenderID: "u0000000000000000", RecipientID: a.ID, ClientMessageID: "y", Content: "hi"},
	} {
		if _, _, err := s.SaveMessage(c, nm); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SaveMessage(%+v) error = %v, want ErrNotFound", nm, err)
		}
	}
	// A failed write does not spoil the next ones.
	b := mkUser(t, s, "bob")
	send(t, s, a, b, "x", "now it works")
}

func testSaveMessageCanceled(t *testing.T, s store.Store) {
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	c, cancel := context.WithCancel(context.Background())
	cancel()
	nm := store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "c", Content: "hi"}
	if _, _, err := s.SaveMessage(c, nm); !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveMessage with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, created, err := s.SaveMessage(ctx(t), nm); err != nil || !created {
		t.Fatalf("SaveMessage after a canceled one: created=%v err=%v (the canceled call must store nothing)", created, err)
	}
}

func testMessageByID(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	m := send(t, s, a, b, "c", "hi")
	got, err := s.MessageByID(c, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameMessage(t, "MessageByID", got, m)
	n := idNum(t, m.ID)
	for _, id := range []string{"", "0", "-1", "abc", "1e3", " " + m.ID, m.ID + " ", "0" + m.ID, "+" + m.ID,
		strconv.FormatInt(n+1000, 10), "99999999999999999999999", "9223372036854775807"} {
		if _, err := s.MessageByID(c, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("MessageByID(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}

func testMarkDelivered(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	m := send(t, s, a, b, "c", "hi")
	d, changed, err := s.MarkDelivered(c, m.ID, b.ID)
	if err != nil || !changed {
		t.Fatalf("MarkDelivered = %v, %v", changed, err)
	}
	if !d.Delivered() || d.ID != m.ID || d.Content != "hi" {
		t.Fatalf("MarkDelivered returned %+v", d)
	}
	recent(t, "DeliveredAt", d.DeliveredAt)
	if d.DeliveredAt.Before(m.CreatedAt) {
		t.Fatalf("DeliveredAt %v before CreatedAt %v", d.DeliveredAt, m.CreatedAt)
	}
	got, err := s.MessageByID(c, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameMessage(t, "MessageByID after delivery", got, d)
	again, changed, err := s.MarkDelivered(c, m.ID, b.ID)
	if err != nil || changed {
		t.Fatalf("second MarkDelivered = %v, %v; want false, nil", changed, err)
	}
	sameMessage(t, "second MarkDelivered", again, d)
}

func testMarkDeliveredErrors(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b, e := mkUser(t, s, "alice"), mkUser(t, s, "bob"), mkUser(t, s, "eve")
	m := send(t, s, a, b, "c", "hi")
	for _, who := range []chat.User{a, e} {
		if _, changed, err := s.MarkDelivered(c, m.ID, who.ID); !errors.Is(err, store.ErrNotRecipient) || changed {
			t.Fatalf("MarkDelivered by %s = %v, %v; want ErrNotRecipient", who.Username, changed, err)
		}
	}
	if _, changed, err := s.MarkDelivered(c, m.ID, "u0000000000000000"); !errors.Is(err, store.ErrNotRecipient) || changed {
		t.Fatalf("MarkDelivered by unknown user = %v, %v; want ErrNotRecipient", changed, err)
	}
	n := idNum(t, m.ID)
	for _, id := range []string{"", "0", "abc", "-" + m.ID, "0" + m.ID, strconv.FormatInt(n+1000, 10), "99999999999999999999999"} {
		if _, changed, err := s.MarkDelivered(c, id, b.ID); !errors.Is(err, store.ErrNotFound) || changed {
			t.Fatalf("MarkDelivered(%q) = %v, %v; want ErrNotFound", id, changed, err)
		}
	}
	got, err := s.MessageByID(c, m.ID)
	if err != nil || got.Delivered() {
		t.Fatalf("refused acks changed the message: %+v, %v", got, err)
	}
	// After delivery, a stranger still gets ErrNotRecipient, not "already done".
	if _, _, err := s.MarkDelivered(c, m.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MarkDelivered(c, m.ID, e.ID); !errors.Is(err, store.ErrNotRecipient) {
		t.Fatalf("MarkDelivered by eve after delivery: %v, want ErrNotRecipient", err)
	}
}

func testUndelivered(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b, d := mkUser(t, s, "alice"), mkUser(t, s, "bob"), mkUser(t, s, "dave")
	if got, err := s.Undelivered(c, b.ID, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("Undelivered with nothing stored = %v, %v", got, err)
	}
	var toBob []chat.Message
	for i := range 7 {
		from := a
		if i%3 == 2 {
			from = d
		}
		toBob = append(toBob, send(t, s, from, b, fmt.Sprintf("b%d", i), fmt.Sprintf("m%d", i)))
		send(t, s, b, a, fmt.Sprintf("a%d", i), "to alice") // not for bob
		send(t, s, a, d, fmt.Sprintf("d%d", i), "to dave")  // not for bob
	}
	all, err := s.Undelivered(c, b.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "all undelivered, oldest first", all, toBob...)
	for i := range all {
		sameMessage(t, "Undelivered row", all[i], toBob[i])
	}
	// Deliver two; they drop out.
	for _, i := range []int{1, 4} {
		if _, _, err := s.MarkDelivered(c, toBob[i].ID, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	want := []chat.Message{toBob[0], toBob[2], toBob[3], toBob[5], toBob[6]}
	all, err = s.Undelivered(c, b.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "undelivered after two acks", all, want...)
	// Page by afterID, two at a time.
	var paged []chat.Message
	after := ""
	for range 10 {
		page, err := s.Undelivered(c, b.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	sameIDs(t, "paged undelivered", paged, want...)
	// afterID may name a delivered message or another user's message.
	page, err := s.Undelivered(c, b.ID, toBob[4].ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "after a delivered id", page, toBob[5], toBob[6])
	// A malformed afterID matches nothing and is not an error.
	for _, bad := range []string{"abc", "-1", "01"} {
		if page, err := s.Undelivered(c, b.ID, bad, 100); err != nil || len(page) != 0 {
			t.Fatalf("Undelivered after %q = %v, %v; want nothing", bad, ids(page), err)
		}
	}
	if page, err := s.Undelivered(c, "u0000000000000000", "", 100); err != nil || len(page) != 0 {
		t.Fatalf("Undelivered for an unknown user = %v, %v", ids(page), err)
	}
}

func testConversation(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b, d := mkUser(t, s, "alice"), mkUser(t, s, "bob"), mkUser(t, s, "dave")
	var ab []chat.Message // oldest first
	for i := range 9 {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		ab = append(ab, send(t, s, from, to, fmt.Sprintf("ab%d", i), fmt.Sprintf("m%d", i)))
		send(t, s, a, d, fmt.Sprintf("ad%d", i), "other conversation")
		send(t, s, d, b, fmt.Sprintf("db%d", i), "other conversation")
	}
	newestFirst := make([]chat.Message, len(ab))
	for i, m := range ab {
		newestFirst[len(ab)-1-i] = m
	}
	for _, p := range []store.Page{{UserA: a.ID, UserB: b.ID, Limit: 50}, {UserA: b.ID, UserB: a.ID, Limit: 50}} {
		got, err := s.Conversation(c, p)
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "whole conversation, newest first", got, newestFirst...)
		for i := range got {
			sameMessage(t, "Conversation row", got[i], newestFirst[i])
		}
	}
	// Page back with BeforeID, 4 at a time, alternating the pair's order.
	var paged []chat.Message
	before := ""
	for i := range 10 {
		p := store.Page{UserA: a.ID, UserB: b.ID, BeforeID: before, Limit: 4}
		if i%2 == 1 {
			p.UserA, p.UserB = b.ID, a.ID
		}
		page, err := s.Conversation(c, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 4 {
			t.Fatalf("page of %d, limit 4", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[len(page)-1].ID
	}
	sameIDs(t, "paged conversation", paged, newestFirst...)
	// BeforeID is exclusive and may be any id, even from another conversation.
	page, err := s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, BeforeID: ab[3].ID, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "before ab[3]", page, ab[2], ab[1])
	page, err = s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, BeforeID: ab[0].ID, Limit: 10})
	if err != nil || len(page) != 0 {
		t.Fatalf("before the first message = %v, %v", ids(page), err)
	}
	// Delivery does not change membership; the row shows its state.
	dm, _, err := s.MarkDelivered(c, ab[8].ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err = s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, Limit: 1})
	if err != nil || len(page) != 1 {
		t.Fatalf("newest = %v, %v", ids(page), err)
	}
	sameMessage(t, "newest after delivery", page[0], dm)
	for _, bad := range []string{"abc", "-5", "007"} {
		if page, err := s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, BeforeID: bad, Limit: 10}); err != nil || len(page) != 0 {
			t.Fatalf("Conversation before %q = %v, %v; want nothing", bad, ids(page), err)
		}
	}
	if page, err := s.Conversation(c, store.Page{UserA: a.ID, UserB: "u0000000000000000", Limit: 10}); err != nil || len(page) != 0 {
		t.Fatalf("Conversation with an unknown user = %v, %v", ids(page), err)
	}
}

func testLimits(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	send(t, s, a, b, "c", "hi")
	for _, limit := range []int{0, -1} {
		if _, err := s.Undelivered(c, b.ID, "", limit); err == nil {
			t.Fatalf("Undelivered with limit %d succeeded", limit)
		}
		if _, err := s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, Limit: limit}); err == nil {
			t.Fatalf("Conversation with limit %d succeeded", limit)
		}
	}
}

func testConcurrentMarkDelivered(t *testing.T, s store.Store) {
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	const workers = 50
	var msgs []chat.Message
	for i := range 5 {
		msgs = append(msgs, send(t, s, a, b, fmt.Sprintf("c%d", i), "hi"))
	}
	for _, m := range msgs {
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			changes int
			errs    []error
			times   = map[int64]bool{}
		)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				d, changed, err := s.MarkDelivered(context.Background(), m.ID, b.ID)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if changed {
					changes++
				}
				times[d.DeliveredAt.UnixMicro()] = true
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("concurrent MarkDelivered errors: %v", errs)
		}
		if changes != 1 {
			t.Fatalf("message %s: %d calls reported changed, want exactly 1", m.ID, changes)
		}
		got, err := s.MessageByID(context.Background(), m.ID)
		if err != nil || !got.Delivered() {
			t.Fatalf("after concurrent acks: %+v, %v", got, err)
		}
		if !times[got.DeliveredAt.UnixMicro()] || len(times) != 1 {
			t.Fatalf("calls saw delivery times %v, stored %v; every call must see the one stored time", times, got.DeliveredAt)
		}
	}
}

func testConcurrentSameKey(t *testing.T, s store.Store) {
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	const workers, pairs = 50, 20
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		created int
		idOf    = map[string]string{} // clientMessageId -> id
		errs    []error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range pairs {
				p := (i + w) % pairs // vary the order between workers
				cmid := fmt.Sprintf("pair-%d", p)
				m, c, err := s.SaveMessage(context.Background(), store.NewMessage{
					SenderID: a.ID, RecipientID: b.ID, ClientMessageID: cmid, Content: fmt.Sprintf("worker %d", w)})
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case idOf[cmid] != "" && idOf[cmid] != m.ID:
					errs = append(errs, fmt.Errorf("%s got ids %s and %s", cmid, idOf[cmid], m.ID))
				default:
					idOf[cmid] = m.ID
					if c {
						created++
					}
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent SaveMessage: %v", errs)
	}
	if created != pairs || len(idOf) != pairs {
		t.Fatalf("created=%d distinct=%d, want %d each", created, len(idOf), pairs)
	}
	conv, err := s.Conversation(context.Background(), store.Page{UserA: a.ID, UserB: b.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(conv) != pairs {
		t.Fatalf("%d rows stored, want %d", len(conv), pairs)
	}
	for _, m := range conv {
		if idOf[m.ClientMessageID] != m.ID {
			t.Fatalf("row %s for %s, callers were told %s", m.ID, m.ClientMessageID, idOf[m.ClientMessageID])
		}
	}
}

func testConcurrentDistinct(t *testing.T, s store.Store) {
	users := []chat.User{mkUser(t, s, "u1"), mkUser(t, s, "u2"), mkUser(t, s, "u3")}
	const workers, each = 20, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]chat.Message{}
		errs []error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				from, to := users[w%3], users[(w+1+i%2)%3]
				m, _, err := s.SaveMessage(context.Background(), store.NewMessage{
					SenderID: from.ID, RecipientID: to.ID, ClientMessageID: fmt.Sprintf("w%d-%d", w, i), Content: "x"})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if _, dup := seen[m.ID]; dup {
					errs = append(errs, fmt.Errorf("id %s given twice", m.ID))
				} else {
					seen[m.ID] = m
				}
				mu.Unlock()
				if err == nil && i%5 == 0 {
					if _, _, err := s.MarkDelivered(context.Background(), m.ID, to.ID); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent writes: %v", errs[0])
	}
	if len(seen) != workers*each {
		t.Fatalf("%d messages stored, want %d", len(seen), workers*each)
	}
	for id, m := range seen {
		got, err := s.MessageByID(context.Background(), id)
		if err != nil || got.ClientMessageID != m.ClientMessageID {
			t.Fatalf("MessageByID(%s) = %+v, %v", id, got, err)
		}
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func testClose(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	m := send(t, s, a, b, "c", "hi")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("%s after Close: error = %v, want ErrClosed", name, err)
		}
	}
	_, err := s.CreateUser(c, "carol", []byte("h"), chat.RoleUser)
	check("CreateUser", err)
	_, err = s.UserByID(c, a.ID)
	check("UserByID", err)
	_, err = s.UserByName(c, "alice")
	check("UserByName", err)
	_, err = s.ListUsers(c)
	check("ListUsers", err)
	_, err = s.SetBanned(c, a.ID, true)
	check("SetBanned", err)
	_, err = s.SetRoleAndPassword(c, a.ID, chat.RoleAdmin, []byte("h"))
	check("SetRoleAndPassword", err)
	_, err = s.BannedUserIDs(c)
	check("BannedUserIDs", err)
	_, err = s.SearchUsers(c, "a", 10)
	check("SearchUsers", err)
	check("RevokeToken", s.RevokeToken(c, "j", time.Now().Add(time.Hour)))
	_, err = s.TokenRevoked(c, "j")
	check("TokenRevoked", err)
	_, err = s.RevokedSince(c, time.Time{})
	check("RevokedSince", err)
	_, _, err = s.SaveMessage(c, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "d", Content: "x"})
	check("SaveMessage", err)
	_, _, err = s.MarkDelivered(c, m.ID, b.ID)
	check("MarkDelivered", err)
	_, err = s.Undelivered(c, b.ID, "", 10)
	check("Undelivered", err)
	_, err = s.Conversation(c, store.Page{UserA: a.ID, UserB: b.ID, Limit: 10})
	check("Conversation", err)
	_, err = s.MessageByID(c, m.ID)
	check("MessageByID", err)
	check("Ping", s.Ping(c))
}

func testCloseWhileWriting(t *testing.T, s store.Store) {
	a, b := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	const workers = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		bad     []error
		stored  int
		started = make(chan struct{}, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				_, _, err := s.SaveMessage(context.Background(), store.NewMessage{
					SenderID: a.ID, RecipientID: b.ID, ClientMessageID: fmt.Sprintf("w%d-%d", w, i), Content: "x"})
				if i == 0 {
					started <- struct{}{}
				}
				mu.Lock()
				switch {
				case errors.Is(err, store.ErrClosed):
					mu.Unlock()
					return
				case err != nil:
					bad = append(bad, err)
					mu.Unlock()
					return
				}
				stored++
				mu.Unlock()
			}
		}()
	}
	for range workers {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close under load: %v", err)
	}
	wg.Wait() // every writer must be answered: no hang
	if len(bad) > 0 {
		t.Fatalf("writes racing Close failed with %v; want success or ErrClosed", bad[0])
	}
	if stored < workers {
		t.Fatalf("only %d writes succeeded", stored)
	}
}
