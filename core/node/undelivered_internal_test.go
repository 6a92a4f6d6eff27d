package node

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// TestPushUndeliveredPages: the one paging loop of replay and catch-up
// reads a page at a time, oldest first, stops when a page is short, when
// the pusher says so, or at the first error, and counts what was pushed.
func TestPushUndeliveredPages(t *testing.T) {
	errPush := errors.New("socket gone")
	for _, tc := range []struct {
		name    string
		stored  int
		stopAt  int   // page index after which push says stop; -1 never
		failAt  int   // page index whose push fails; -1 never
		pages   []int // sizes of the pages pushed
		pushed  int
		wantErr error
	}{
		{"nothing", 0, -1, -1, []int{0}, 0, nil},
		{"short last page", 5, -1, -1, []int{2, 2, 1}, 5, nil},
		{"exact pages", 4, -1, -1, []int{2, 2, 0}, 4, nil},
		{"stopped", 5, 0, -1, []int{2}, 2, nil},
		{"failed", 5, -1, 1, []int{2, 2}, 4, errPush},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := store.NewMemory()
			n, err := New(Options{Store: st, ReplayBatch: 2})
			if err != nil {
				t.Fatal(err)
			}
			var ids [3]string
			for i, name := range []string{"sender", "recipient", "other"} {
				u, err := st.CreateUser(ctx, name, []byte("hash"), chat.RoleUser)
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = u.ID
			}
			sender, recipient, other := ids[0], ids[1], ids[2]
			var want []string
			for i := range tc.stored {
				m, _, err := st.SaveMessage(ctx, store.NewMessage{SenderID: sender, RecipientID: recipient,
					ClientMessageID: fmt.Sprint("c", i), Content: "x"})
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, m.ID)
			}
			// A message of someone else is never paged.
			if _, _, err := st.SaveMessage(ctx, store.NewMessage{SenderID: sender, RecipientID: other,
				ClientMessageID: "o", Content: "x"}); err != nil {
				t.Fatal(err)
			}
			var pages []int
			var got []string
			total, err := n.pushUndelivered(ctx, recipient, func(_ context.Context, msgs []chat.Message) (int, bool, error) {
				page := len(pages)
				pages = append(pages, len(msgs))
				for _, m := range msgs {
					got = append(got, m.ID)
				}
				if page == tc.failAt {
					return len(msgs), true, errPush
				}
				return len(msgs), page != tc.stopAt, nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if total != tc.pushed {
				t.Fatalf("pushed %d, want %d", total, tc.pushed)
			}
			if !reflect.DeepEqual(pages, tc.pages) {
				t.Fatalf("pages %v, want %v", pages, tc.pages)
			}
			if len(got) > 0 && !reflect.DeepEqual(got, want[:len(got)]) {
				t.Fatalf("pushed ids %v, want a prefix of %v (oldest first)", got, want)
			}
		})
	}
}
