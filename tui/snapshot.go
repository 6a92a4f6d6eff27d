package tui

import (
	"context"
	"net"
	"slices"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/sandbox"
)

// Snapshot is everything the panes show about a cluster at one moment,
// copied out of it so rendering never calls into the cluster. Tests feed
// fixed Snapshots to the panes.
type Snapshot struct {
	// Instances are the instances' figures, in instance order.
	Instances []InstanceView
	// RedisUp and RedisAddr describe miniredis.
	RedisUp   bool
	RedisAddr string
	// Faults are the faults on now, in words (Cluster.Faults).
	Faults []string
	// Users are the simulated users in creation order, then users known
	// only to the store.
	Users []UserView
	// UserListOK is false when the admin user list could not be read (no
	// instance running): Banned and OnlineOn are then stale.
	UserListOK bool
}

// InstanceView is one instance in the status bar.
type InstanceView struct {
	sandbox.InstanceStatus
	// WSURL is where a browser or wscat can connect.
	WSURL string
	// WebURL is where a browser opens the instance's web client.
	WebURL string
}

// UserView is one user in the users pane, with its messages.
type UserView struct {
	Name  string
	ID    string
	Admin bool
	// Simulated is false for users that exist only in the store (a
	// durable store reused from an earlier run): they cannot act.
	Simulated bool
	// Connected and Instance are the simulated user's own socket: open or
	// not, and the instance of the current or last connection.
	Connected bool
	Instance  string
	// Banned and OnlineOn are the admin user list's view.
	Banned   bool
	OnlineOn []string
	// AutoAck and Toggles are the user's toggles ("" when all default).
	AutoAck bool
	Toggles string
	// LastClose is the close code of the last connection that ended; 0
	// while connected or before any.
	LastClose int
	// Socket are the ERROR frames and closes the user's sockets received
	// (what the socket got, where Banned is the store's state).
	Socket []sandbox.SocketEvent
	Inbox  []sandbox.InboxEntry
	Outbox []sandbox.OutboxEntry
}

// takeSnapshot reads the cluster. It runs outside the program's goroutine
// (in a command) since the admin user list reads the store.
func takeSnapshot(ctx context.Context, c *sandbox.Cluster) Snapshot {
	var s Snapshot
	for i, st := range c.Status() {
		v := InstanceView{InstanceStatus: st}
		if inst := c.Instance(st.Name); inst != nil {
			v.WSURL = inst.WSURL()
			v.WebURL = webURL(i, inst.Addr())
		}
		s.Instances = append(s.Instances, v)
	}
	s.RedisUp, s.RedisAddr = c.RedisUp(), c.RedisAddr()
	s.Faults = c.Faults()

	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	list, err := c.UserList(lctx)
	cancel()
	s.UserListOK = err == nil
	type adminView struct {
		id       string
		admin    bool
		banned   bool
		onlineOn []string
	}
	byName := map[string]adminView{}
	var order []string
	for _, u := range list {
		byName[u.Username] = adminView{id: u.ID, admin: u.Role == chat.RoleAdmin, banned: u.Banned, onlineOn: slices.Clone(u.Instances)}
		order = append(order, u.Username)
	}
	seen := map[string]bool{}
	for _, u := range c.Users() {
		v := UserView{
			Name: u.Name(), ID: u.ID(), Admin: u.IsAdmin(), Simulated: true,
			Connected: u.Connected(), Instance: u.Instance(),
			AutoAck: u.AutoAck(), Toggles: u.Toggles(),
			Inbox: u.Inbox(), Outbox: u.Outbox(), Socket: u.SocketEvents(),
		}
		if code, ok := u.LastClose(); ok {
			v.LastClose = code
		}
		if a, ok := byName[v.Name]; ok {
			v.Banned, v.OnlineOn = a.banned, a.onlineOn
		}
		seen[v.Name] = true
		s.Users = append(s.Users, v)
	}
	for _, n := range order {
		if seen[n] {
			continue
		}
		a := byName[n]
		s.Users = append(s.Users, UserView{Name: n, ID: a.id, Admin: a.admin, Banned: a.banned, OnlineOn: a.onlineOn, AutoAck: true})
	}
	return s
}

// merge keeps the admin view of prev where s could not read it.
func (s *Snapshot) merge(prev Snapshot) {
	if s.UserListOK {
		return
	}
	old := map[string]UserView{}
	for _, u := range prev.Users {
		old[u.Name] = u
	}
	for i := range s.Users {
		if o, ok := old[s.Users[i].Name]; ok {
			s.Users[i].Banned, s.Users[i].OnlineOn = o.Banned, o.OnlineOn
		}
	}
}

// user returns the user called name.
func (s *Snapshot) user(name string) (UserView, bool) {
	for _, u := range s.Users {
		if u.Name == name {
			return u, true
		}
	}
	return UserView{}, false
}

// instanceNames are the instances' names, in order.
func (s *Snapshot) instanceNames() []string {
	out := make([]string, len(s.Instances))
	for i, in := range s.Instances {
		out[i] = in.Name
	}
	return out
}

// webURL is the web client's address of the i-th instance listening on
// addr (127.0.0.1:port). Every other instance is named "localhost": a
// browser keeps cookies per host, not per port, so two tabs of one browser
// can then stay logged in as two users, one on A and one on B.
func webURL(i int, addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && i%2 == 1 {
		return "http://" + net.JoinHostPort("localhost", port)
	}
	return "http://" + addr
}
