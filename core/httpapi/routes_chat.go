package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// History paging limits.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

type messageJSON struct {
	Type        string `json:"type"`
	MessageID   string `json:"messageId"`
	SenderID    string `json:"senderId"`
	RecipientID string `json:"recipientId"`
	Content     string `json:"content"`
	CreatedAt   string `json:"createdAt"`
	State       string `json:"state"`
}

func (a *API) messages(w http.ResponseWriter, r *http.Request, p principal) {
	q := r.URL.Query()
	with := q.Get("with")
	if with == "" {
		a.fail(w, r, badRequest("query parameter with is required"))
		return
	}
	limit := defaultPageLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			a.fail(w, r, badRequest("limit must be an integer from 1 to 200"))
			return
		}
		limit = n
	}
	before := q.Get("before")
	if before != "" {
		if _, err := strconv.ParseUint(before, 10, 63); err != nil {
			a.fail(w, r, badRequest("before must be a messageId"))
			return
		}
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	// One extra row tells whether another page follows.
	msgs, err := a.store.Conversation(ctx, store.Page{UserA: p.user.ID, UserB: with, BeforeID: before, Limit: limit + 1})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	var next *string
	if len(msgs) > limit {
		msgs = msgs[:limit]
		id := msgs[limit-1].ID
		next = &id
	}
	out := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		state := chat.StateSent
		if m.Delivered() {
			state = chat.StateDelivered
		}
		out[i] = messageJSON{Type: chat.TypeMessage, MessageID: m.ID, SenderID: m.SenderID, RecipientID: m.RecipientID,
			Content: m.Content, CreatedAt: chat.FormatTime(m.CreatedAt), State: state}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out, "nextBefore": next})
}
