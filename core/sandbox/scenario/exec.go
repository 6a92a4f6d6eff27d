package scenario

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox"
)

// action is what a parsed step does when it runs: it returns a short
// description of what happened, or why it failed.
type action interface {
	run(ctx context.Context, x *execution) (detail string, err error)
}

// pollEvery is how often conditions without a notification are looked at.
const pollEvery = 10 * time.Millisecond

// execution is the state of one run: the cluster, the script's users and
// message labels, and which frames and log records expectations have
// already matched. Steps run one at a time on the run's goroutine; the
// workload and raw sockets' readers are the only other goroutines, and
// they touch only their own state or x.mu-guarded fields.
type execution struct {
	c       *sandbox.Cluster
	sc      *Script
	seed    int64
	timeout time.Duration

	users  map[string]*sandbox.SimUser // by script name
	home   map[string]string           // script name -> home instance
	labels map[string]label
	// consumed counts, per connection id and raw frame, the frames earlier
	// expectations matched.
	consumed    map[string]map[string]int
	logConsumed map[string]bool

	mu   sync.Mutex // guards raws
	raws map[string]*rawConn
}

// label is a message named by "send ... as LABEL".
type label struct {
	sender, recipient string // script names
	cmid              string
}

func newExecution(c *sandbox.Cluster, sc *Script, seed int64) *execution {
	return &execution{
		c: c, sc: sc, seed: seed, timeout: sc.Options.timeout(),
		users: map[string]*sandbox.SimUser{}, home: map[string]string{}, labels: map[string]label{},
		consumed: map[string]map[string]int{}, logConsumed: map[string]bool{},
		raws: map[string]*rawConn{},
	}
}

// user returns the simulated user a script name stands for.
func (x *execution) user(name string) (*sandbox.SimUser, error) {
	if u := x.users[name]; u != nil {
		return u, nil
	}
	return nil, fmt.Errorf("user %s was not created (its user step failed?)", name)
}

// resolve gives the value of $name or $name.cmid.
func (x *execution) resolve(name, attr string) (string, error) {
	if u := x.users[name]; u != nil {
		return u.ID(), nil
	}
	l, ok := x.labels[name]
	if !ok {
		return "", fmt.Errorf("$%s is not known yet (its send step failed?)", name)
	}
	if attr == "cmid" {
		return l.cmid, nil
	}
	e, err := x.outbox(l)
	if err != nil {
		return "", err
	}
	if e.MessageID == "" {
		return "", fmt.Errorf("$%s has no messageId: %s got no MESSAGE_ACK for it (state %s)", name, l.sender, e.State)
	}
	return e.MessageID, nil
}

func (x *execution) outbox(l label) (sandbox.OutboxEntry, error) {
	u, err := x.user(l.sender)
	if err != nil {
		return sandbox.OutboxEntry{}, err
	}
	e, ok := u.OutboxEntry(l.cmid)
	if !ok {
		return e, fmt.Errorf("%s has no send with clientMessageId %s", l.sender, l.cmid)
	}
	return e, nil
}

// messageID is the messageId of a label.
func (x *execution) messageID(name string) (string, error) { return x.resolve(name, "") }

// expand renders a template.
func (x *execution) expand(t template) (string, error) { return t.expand(x.resolve) }

// expandMatchers renders field=value matchers.
func (x *execution) expandMatchers(ms []matcher) (map[string]string, []string, error) {
	out := map[string]string{}
	var order []string
	for _, m := range ms {
		v, err := x.expand(m.value)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := out[m.key]; !dup {
			order = append(order, m.key)
		}
		out[m.key] = v
	}
	return out, order, nil
}

// within returns d, or the script's default deadline.
func (x *execution) within(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return x.timeout
}

// names maps every user id the cluster knows to its name.
func (x *execution) names() map[string]string {
	out := map[string]string{}
	for _, u := range x.c.Users() {
		out[u.ID()] = u.Name()
	}
	return out
}

// instanceOf is the instance a user's next socket goes to: its current or
// last one, else its home.
func (x *execution) instanceOf(name string) string {
	if u := x.users[name]; u != nil && u.Instance() != "" {
		return u.Instance()
	}
	if h := x.home[name]; h != "" {
		return h
	}
	return x.c.InstanceNames()[0]
}

// errTimeout is wrapped by every wait that ran out of time.
var errTimeout = errors.New("timed out")

// poll calls cond every pollEvery until it reports done, fails, or d
// passes; the error then says what cond last reported (its "why").
func poll(ctx context.Context, d time.Duration, cond func() (done bool, why string, err error)) error {
	return pollWith(ctx, d, pollEvery, cond)
}

// pollWith is poll with its own period.
func pollWith(ctx context.Context, d, every time.Duration, cond func() (done bool, why string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		done, why, err := cond()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			if why == "" {
				return fmt.Errorf("%w after %s", errTimeout, d)
			}
			return fmt.Errorf("%w after %s: %s", errTimeout, d, why)
		case <-t.C:
		}
	}
}

// clientFrame is a received frame.
type clientFrame = client.Frame

// frameField returns a frame's field by its JSON key.
func frameField(f client.Frame, key string) string {
	switch key {
	case "type":
		return f.Type
	case "messageId":
		return f.MessageID
	case "clientMessageId":
		return f.ClientMessageID
	case "senderId":
		return f.SenderID
	case "recipientId":
		return f.RecipientID
	case "content":
		return f.Content
	case "state":
		return f.State
	case "createdAt":
		return f.CreatedAt
	case "count":
		if f.Count == nil {
			return ""
		}
		return strconv.Itoa(*f.Count)
	case "code":
		return f.Code
	case "message":
		return f.Message
	}
	return ""
}

// frameMatches reports whether f is of type typ with every field given.
func frameMatches(f client.Frame, typ string, want map[string]string) bool {
	if f.Type != typ {
		return false
	}
	for k, v := range want {
		if frameField(f, k) != v {
			return false
		}
	}
	return true
}

// describeFrame shortens a frame for messages.
func describeFrame(f client.Frame) string {
	s := string(f.Raw)
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// describeWant renders "TYPE k=v ..." in the step's order.
func describeWant(typ string, want map[string]string, order []string) string {
	s := typ
	for _, k := range order {
		v := want[k]
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		s += " " + k + "=" + strconv.Quote(v)
	}
	return s
}
