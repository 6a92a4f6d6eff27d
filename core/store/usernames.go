package store

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dmchat/dmchat/core/chat"
)

// usernameKey is the form in which usernames are unique and looked up: the
// name with ASCII letters lower-cased and every other byte kept. Only ASCII
// is folded because that is all a valid username holds, and because it is
// exactly what SQLite's built-in lower() does, so the migration of an
// existing SQLite file computes the same keys as this function (PostgreSQL's
// migration uses translate() on A-Z for the same reason: its lower()
// depends on the database's locale).
func usernameKey(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, name)
}

// likeEscape is the escape character of likePrefix patterns.
const likeEscape = `\`

// likePrefix returns a LIKE pattern (with ESCAPE '\') that matches the
// strings starting with prefix, taken literally: % and _ in prefix are
// not wildcards.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(prefix) + "%"
}

// collisionError is the error of a migration that finds existing usernames
// differing only in case; groups lists each set of colliding names.
func collisionError(groups []string) error {
	return fmt.Errorf("usernames that differ only in case cannot both be kept now that names are unique without regard "+
		"to case: %s; rename all but one of each group (for example UPDATE users SET username = 'alice2' WHERE id = '…') and start again",
		strings.Join(groups, "; "))
}

// sortByKey orders users as SearchUsers promises: by usernameKey, then
// bytewise (names differing only in case cannot both exist, but the order
// must not depend on that).
func sortByKey(users []chat.User) {
	sort.Slice(users, func(i, j int) bool {
		ki, kj := usernameKey(users[i].Username), usernameKey(users[j].Username)
		if ki != kj {
			return ki < kj
		}
		return users[i].Username < users[j].Username
	})
}
