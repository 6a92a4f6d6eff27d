package httpapi

import (
	"errors"
	"net/http"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

type adminUserJSON struct {
	ID        string   `json:"id"`
	Username  string   `json:"username"`
	Role      string   `json:"role"`
	Banned    bool     `json:"banned"`
	Online    bool     `json:"online"`
	Instances []string `json:"instances"`
}

func (a *API) adminUsers(w http.ResponseWriter, r *http.Request, _ principal) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	users, err := a.node.Users(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]adminUserJSON, len(users))
	for i, u := range users {
		inst := u.Instances
		if inst == nil {
			inst = []string{}
		}
		out[i] = adminUserJSON{ID: u.ID, Username: u.Username, Role: string(u.Role), Banned: u.Banned,
			Online: u.Online, Instances: inst}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

// ban refuses an admin's ban of themselves: it would lock them out, and if
// they are the last admin, everyone (ADMIN_BOOTSTRAP is then the way back).
func (a *API) ban(w http.ResponseWriter, r *http.Request, p principal) {
	if r.PathValue("id") == p.user.ID {
		a.fail(w, r, errSelfBan)
		return
	}
	a.setBan(w, r, true)
}

func (a *API) unban(w http.ResponseWriter, r *http.Request, _ principal) {
	a.setBan(w, r, false)
}

func (a *API) setBan(w http.ResponseWriter, r *http.Request, banned bool) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	id := r.PathValue("id")
	var u chat.User
	var err error
	if banned {
		u, err = a.node.Ban(ctx, id)
	} else {
		u, err = a.node.Unban(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		err = errNoSuchUser
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": map[string]any{
		"id": u.ID, "username": u.Username, "role": string(u.Role), "banned": u.Banned}})
}
