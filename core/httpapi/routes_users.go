package httpapi

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/dmchat/dmchat/core/auth"
)

// Directory limits of GET /api/users.
const (
	defaultDirectoryLimit = 20
	maxDirectoryLimit     = 50
)

// directoryUserJSON is one directory entry: what anyone may know of a user.
type directoryUserJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// users is the directory: users whose name starts with q, in any case,
// ordered by the lower-cased name. q longer than a username can be matches
// nothing, so it is refused as a mistake rather than searched.
func (a *API) users(w http.ResponseWriter, r *http.Request, _ principal) {
	query := r.URL.Query()
	q := query.Get("q")
	if !utf8.ValidString(q) || len(q) > auth.MaxUsernameLen {
		a.fail(w, r, badRequest("q must be at most 32 characters of valid UTF-8"))
		return
	}
	limit := defaultDirectoryLimit
	if query.Has("limit") {
		n, err := strconv.Atoi(query.Get("limit"))
		if err != nil || n < 1 || n > maxDirectoryLimit {
			a.fail(w, r, badRequest("limit must be an integer from 1 to 50"))
			return
		}
		limit = n
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	found, err := a.store.SearchUsers(ctx, q, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]directoryUserJSON, len(found))
	for i, u := range found {
		out[i] = directoryUserJSON{ID: u.ID, Username: u.Username}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}
