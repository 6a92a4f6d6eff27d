package chat

import "time"

// Role is a user's role. The zero value is not valid; use RoleUser.
type Role string

// Roles a user may have. Admins are made by the operator, never over the API.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// User is a registered account. ID is assigned by the server at registration
// and never changes; Username is unique.
type User struct {
	ID           string
	Username     string
	Role         Role
	Banned       bool
	PasswordHash []byte
	CreatedAt    time.Time
}

// Message states as they appear on the wire.
const (
	StateSent      = "SENT"
	StateDelivered = "DELIVERED"
)

// Message is one stored direct message. ID is assigned by the store when the
// row is first written and never changes; IDs of one store increase with
// insertion order, so ordering by ID is ordering by age.
type Message struct {
	ID              string
	SenderID        string
	RecipientID     string
	ClientMessageID string
	Content         string
	CreatedAt       time.Time
	// DeliveredAt is zero until the recipient's DELIVERY_ACK is recorded.
	DeliveredAt time.Time
}

// Delivered reports whether the recipient has acknowledged the message.
func (m Message) Delivered() bool { return !m.DeliveredAt.IsZero() }

// TimeFormat is the wire form of every timestamp: RFC 3339 in UTC with
// milliseconds, which sorts as text and parses with time.RFC3339.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders t in the wire form.
func FormatTime(t time.Time) string {
	var buf [len("2006-01-02T15:04:05.000Z")]byte
	if b, ok := appendTime(buf[:0], t); ok {
		return string(b)
	}
	return t.UTC().Format(TimeFormat)
}
